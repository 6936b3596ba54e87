// Alerts in the console against the real gateway + simulator, with rules from a KC_CONFIG file:
// list badges (one GET …/alerts per refresh) and the "Alerting" filter, the detail banner, and
// MetricsCard colours following the rules' thresholds. A stack without rules shows none of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, launchBrowser, newPage, shot, connectorPath, rowSel, json, waitFor, OPTIONAL_404 } from './harness.mjs';

const FAILING = 'payments-jdbc'; // has a FAILED task in the simulator
const ERROR_THRESHOLD = 0.00001; // percent: every connector with any error is above it

let stack, browser, tmp;

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'kc-alerts-e2e-'));
  const cfg = path.join(tmp, 'config.json');
  // the `default` cluster still comes from KAFKA_CONNECT_URL / JOLOKIA_URL (set by the harness)
  writeFileSync(cfg, JSON.stringify({ alerts: { rules: [
    { name: 'failed', kind: 'task_failed' },
    { name: 'errors', kind: 'error_rate', threshold: ERROR_THRESHOLD },
  ] } }));
  stack = await startStack({ env: { KC_CONFIG: cfg, METRICS_CACHE_TTL: '1s' } });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Active alerts by connector, straight from the gateway. */
async function activeAlerts() {
  const { status, body } = await json(`${stack.base}/api/default/alerts`);
  assert.equal(status, 200);
  assert.equal(body.rules, 2);
  const m = new Map();
  for (const a of body.active) { if (!m.has(a.connector)) m.set(a.connector, []); m.get(a.connector).push(a); }
  return m;
}

test('the list shows alert badges from one alerts request per refresh, and filters on them', async () => {
  const byConn = await waitFor(async () => { const m = await activeAlerts(); return m.has(FAILING) && m.get(FAILING).some((a) => a.kind === 'task_failed') ? m : null; },
    { what: `a task_failed alert of ${FAILING}` });
  const { page, errors } = await newPage(browser);
  let alertCalls = 0, summaryCalls = 0;
  const perConnector = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/default/alerts') alertCalls++;
    if (u.pathname === '/api/default/metrics') summaryCalls++;
    if (/^\/api\/default\/connectors\/.+\/(alerts|metrics|status)/.test(u.pathname)) perConnector.push(u.pathname);
  });
  await page.goto(stack.base + '/clusters/default/connectors');
  const badge = page.locator(`${rowSel(FAILING)} [data-testid=alert-badge]`);
  await badge.waitFor();
  assert.equal(await badge.getAttribute('data-severity'), 'critical', 'task_failed makes the badge critical');
  const count = Number(await badge.getAttribute('data-count'));
  assert.equal(count, byConn.get(FAILING).length, 'badge counts the connector’s active alerts');
  assert.equal((await badge.textContent()).trim(), String(count));
  assert.match(await badge.getAttribute('class'), /badge-bad/);
  const tip = await badge.getAttribute('title');
  assert.match(tip, /failed: .*FAILED/, 'tooltip carries the task_failed message');
  assert.match(tip, /errors: error rate/, 'tooltip carries the error_rate message');

  // a connector without alerts has no badge (PAUSED connectors still count errors, so find one)
  const names = await page.$$eval('.grid-row', (rows) => rows.map((r) => r.dataset.name));
  const quiet = names.filter((n) => !byConn.has(n));
  for (const n of quiet) assert.equal(await page.locator(`${rowSel(n)} [data-testid=alert-badge]`).count(), 0, `${n} has no badge`);

  // ONE alerts request per refresh alongside the summary, never one per connector
  await waitFor(() => summaryCalls >= 2, { timeout: 12000, what: 'a second refresh' });
  await page.waitForTimeout(300);
  assert.deepEqual(perConnector, [], 'no per-connector requests');
  assert.equal(alertCalls, summaryCalls, `one alerts request per summary (${alertCalls} vs ${summaryCalls})`);
  await page.mouse.move(0, 0);
  await badge.hover();
  await shot(page, '60-alerts-list');

  // "Alerting" chip: only connectors with active alerts, kept in the URL
  const chip = page.locator('[data-testid=alerting-filter]');
  assert.equal(Number((await chip.locator('.count').textContent()).trim()), names.filter((n) => byConn.has(n)).length);
  await chip.click();
  await page.waitForFunction(() => location.search.includes('alerting=1'));
  const shown = await page.$$eval('.grid-row', (rows) => rows.map((r) => r.dataset.name));
  assert.ok(shown.includes(FAILING));
  for (const n of shown) assert.ok(byConn.has(n) || (await activeAlerts()).has(n), `${n} is alerting`);
  assert.equal(await page.locator('.grid-row:not(:has([data-testid=alert-badge]))').count(), 0, 'every shown row has a badge');
  await shot(page, '61-alerts-filter');
  await chip.click();
  await page.waitForFunction(() => !location.search.includes('alerting=1'));
  assert.deepEqual(errors, [], 'no console errors');
  await page.context().close();
});

test('the detail page shows a banner with the connector’s active alerts', async () => {
  const { page, errors } = await newPage(browser);
  await page.goto(stack.base + connectorPath(FAILING));
  const banner = page.locator('[data-testid=alert-banner]');
  await banner.waitFor();
  assert.equal(await banner.getAttribute('data-severity'), 'critical');
  assert.match(await banner.getAttribute('class'), /callout-bad/);
  const failed = banner.locator('li[data-rule=failed]');
  assert.equal(await failed.count(), 1, 'task_failed alert listed');
  assert.match(await failed.textContent(), /FAILED/);
  assert.match(await failed.textContent(), /since /);
  assert.equal(await banner.locator('li[data-rule=errors]').count(), 1, 'error_rate alert listed');
  // it stays through a refresh (the page refreshes every 5 s)
  await page.waitForTimeout(5500);
  assert.equal(await page.locator('[data-testid=alert-banner] li[data-rule=failed]').count(), 1);
  await shot(page, '62-alerts-detail-banner');

  // a connector without alerts has no banner
  const quiet = [...(await (async () => {
    const { body } = await json(`${stack.base}/api/default/connectors`);
    const m = await activeAlerts();
    return body.filter((n) => !m.has(n));
  })())];
  if (quiet.length) {
    await page.goto(stack.base + connectorPath(quiet[0]));
    await page.waitForSelector('[data-testid=connector-state]');
    await page.waitForTimeout(500);
    assert.equal(await page.locator('[data-testid=alert-banner]').count(), 0, `${quiet[0]} has no banner`);
  }
  assert.deepEqual(errors, [], 'no console errors');
  await page.context().close();
});

test('MetricsCard colours follow the alert rules', async () => {
  const { body } = await json(`${stack.base}/api/default/metrics`);
  const target = body.connectors.find((c) => c.state === 'RUNNING' && c.errorRate > ERROR_THRESHOLD && c.errorRate < 1);
  assert.ok(target, 'a running connector with a small error rate (below the built-in 1 % warning)');
  const { page, errors } = await newPage(browser, { init: () => localStorage.setItem('kc.metricsRefresh', '1000') });
  await page.goto(stack.base + connectorPath(target.name, 'metrics'));
  const box = page.locator('.mbox[data-metric=errorRate]');
  await box.locator('.mbox-value').waitFor();
  await waitFor(async () => Number(await box.locator('.mbox-value').getAttribute('data-value')) > ERROR_THRESHOLD, { what: 'an error rate above the threshold' });
  assert.match(await box.getAttribute('class'), /\bs-bad\b/, 'error rate above the rule’s threshold is red');
  assert.equal(await box.getAttribute('data-status'), 'bad');
  assert.match(await box.locator('.mbox-sub').textContent(), /alert above/);
  await shot(page, '63-alerts-metrics-card');
  assert.deepEqual(errors, [], 'no console errors');
  await page.context().close();
});

test('a fresh install (no alerts in the config) shows a failed task as an alert', async () => {
  const fresh = await startStack();
  try {
    const { body } = await json(`${fresh.base}/api/default/alerts`);
    assert.equal(body.rules, 2);
    const { page, errors } = await newPage(browser, { allow: OPTIONAL_404 });
    await page.goto(fresh.base + '/clusters/default/connectors');
    await page.waitForSelector(`${rowSel(FAILING)} [data-testid=alert-badge]`);
    await page.goto(fresh.base + connectorPath(FAILING));
    await page.waitForSelector('[data-testid=alert-banner]');
    assert.match(await page.locator('[data-testid=alert-banner]').textContent(), /task-failed/);
    assert.deepEqual(errors, [], 'no console errors');
    await page.context().close();
  } finally { await fresh.stop(); }
});

test('with "rules": [] the alerts endpoint answers rules: 0 and the UI shows no alert UI', async () => {
  const off = path.join(tmp, 'no-rules.json');
  writeFileSync(off, JSON.stringify({ alerts: { rules: [] } }));
  const plain = await startStack({ env: { KC_CONFIG: off } });
  try {
    const { body } = await json(`${plain.base}/api/default/alerts`);
    assert.equal(body.rules, 0);
    const { page, errors } = await newPage(browser, { allow: OPTIONAL_404 });
    await page.goto(plain.base + '/clusters/default/connectors');
    await page.waitForSelector(rowSel(FAILING));
    await page.waitForTimeout(500);
    assert.equal(await page.locator('[data-testid=alert-badge]').count(), 0);
    assert.equal(await page.locator('[data-testid=alerting-filter]').count(), 0);
    await page.goto(plain.base + connectorPath(FAILING));
    await page.waitForSelector('[data-testid=connector-state]');
    await page.waitForTimeout(500);
    assert.equal(await page.locator('[data-testid=alert-banner]').count(), 0);
    // default thresholds: a tiny error rate is not red
    const { body: m } = await json(`${plain.base}/api/default/metrics`);
    const t = m.connectors.find((c) => c.state === 'RUNNING' && c.errorRate > 0 && c.errorRate < 0.5);
    if (t) {
      await page.goto(plain.base + connectorPath(t.name, 'metrics'));
      const box = page.locator('.mbox[data-metric=errorRate]');
      await box.locator('.mbox-value').waitFor();
      assert.equal(await box.getAttribute('data-status'), 'ok');
    }
    assert.deepEqual(errors, [], 'no console errors');
    await page.context().close();
  } finally { await plain.stop(); }
});
