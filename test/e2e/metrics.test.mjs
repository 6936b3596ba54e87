// The MetricsCard against the real gateway + simulator: numbers change between refreshes,
// trend arrows follow the data, and "Metrics Unavailable" appears when Jolokia goes down and
// goes away when it comes back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, newPage, shot, connectorPath, runningConnectors, setFault, waitFor, OPTIONAL_404 } from './harness.mjs';

let stack, browser, page, errors, name;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  // poll fast when the stream is not used, so a few samples arrive within seconds
  ({ page, errors } = await newPage(browser, { allow: OPTIONAL_404, init: () => localStorage.setItem('kc.metricsRefresh', '1000') }));
  name = (await runningConnectors(stack))[0];
  assert.ok(name, 'a running connector');
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

/** Reads the card: sample time and, per box, raw value and trend. */
const readCard = () => page.evaluate(() => {
  const card = document.querySelector('[data-testid=metrics-card]');
  const out = { updated: card && card.dataset.updated, boxes: {} };
  for (const b of document.querySelectorAll('.mbox[data-metric]')) {
    const v = b.querySelector('.mbox-value');
    const t = b.querySelector('.trend');
    out.boxes[b.dataset.metric] = { value: v && v.dataset.value !== '' ? Number(v.dataset.value) : null, text: v && v.textContent,
      trend: t && t.dataset.trend, dir: t && t.dataset.direction, prev: t && t.dataset.prev !== undefined ? Number(t.dataset.prev) : null,
      symbol: t && t.textContent, status: b.dataset.status };
  }
  return out;
});

/** Same rule as the card: relative change above 2 % is a direction. */
function expectedDir(cur, prev) {
  const d = cur - prev;
  const base = Math.max(Math.abs(prev), Math.abs(cur), 1e-9);
  if (Math.abs(d) / base > 0.02 && Math.abs(d) > 1e-9) return d > 0 ? 'up' : 'down';
  return 'flat';
}

test('metrics change between refreshes and trend arrows follow the data', async () => {
  await page.goto(stack.base + connectorPath(name, 'metrics'));
  await page.waitForSelector('[data-metric=recordsPerSecond] .mbox-value');
  const samples = [];
  const end = Date.now() + 15000;
  while (Date.now() < end && samples.length < 5) {
    const s = await readCard();
    if (s.updated && (!samples.length || samples[samples.length - 1].updated !== s.updated)) samples.push(s);
    await page.waitForTimeout(150);
  }
  assert.ok(samples.length >= 3, `at least 3 distinct samples (got ${samples.length})`);
  await shot(page, '30-metrics-live');

  const totals = samples.map((s) => s.boxes.recordsPerSecond && s.boxes.recordsPerSecond.value);
  const texts = new Set(samples.map((s) => JSON.stringify(Object.values(s.boxes).map((b) => b.text))));
  assert.ok(texts.size > 1, 'displayed numbers change between refreshes');
  assert.ok(totals.every((v) => typeof v === 'number' && Number.isFinite(v)), 'records/s is a number');

  // every sample after the first: the arrow matches the change of the value vs the previous
  // sample (the one the card compared with, which is the one we saw before unless we missed one)
  let checked = 0;
  let contiguous = 0;
  for (let i = 1; i < samples.length; i++) {
    for (const [key, higherIsBetter] of [['recordsPerSecond', true], ['bytesPerSecond', true], ['errorRate', false]]) {
      const cur = samples[i].boxes[key], seen = samples[i - 1].boxes[key];
      if (!cur || cur.value == null || cur.prev == null || Number.isNaN(cur.prev)) continue;
      if (seen && seen.value === cur.prev) contiguous++;
      const dir = expectedDir(cur.value, cur.prev);
      assert.equal(cur.dir, dir, `${key}: ${cur.prev} → ${cur.value} should be ${dir}`);
      const symbol = dir === 'flat' ? '→' : (dir === 'up') === higherIsBetter ? '↗' : '↘';
      assert.equal(cur.symbol, symbol, `${key} arrow for ${dir}`);
      checked++;
    }
  }
  assert.ok(checked >= 4, 'trend arrows were checked on several samples');
  assert.ok(contiguous >= 2, 'the card compares with the sample shown before it');
});

test('"Metrics Unavailable" appears when Jolokia is down and clears when it is back', async () => {
  await page.goto(stack.base + connectorPath(name, 'metrics'));
  await page.waitForSelector('[data-metric=recordsPerSecond] .mbox-value');
  assert.equal(await page.$('[data-testid=metrics-unavailable]'), null, 'no warning while Jolokia is up');
  const r = await setFault(stack, { target: 'jolokia', fault: 'down' });
  assert.ok(r.status < 300, `fault accepted (${r.status})`);
  try {
    await page.waitForSelector('[data-testid=metrics-unavailable]', { timeout: 15000 });
    const text = await page.textContent('[data-testid=metrics-unavailable]');
    assert.match(text, /Metrics Unavailable/);
    assert.match(text, /Jolokia not configured/);
    assert.match(text, /Network connectivity/);
    // task states still come from Connect
    await page.waitForSelector('[data-testid=metrics-tasks] tr[data-task] [data-state=RUNNING]');
    await shot(page, '31-metrics-jolokia-down');
  } finally {
    await setFault(stack, { target: 'jolokia', fault: 'none' });
  }
  await page.waitForSelector('[data-testid=metrics-unavailable]', { state: 'detached', timeout: 15000 });
  await waitFor(async () => (await readCard()).boxes.recordsPerSecond.value > 0, { timeout: 15000, what: 'throughput back after Jolokia recovers' });
});

test('health page shows Jolokia down', async () => {
  await setFault(stack, { target: 'jolokia', fault: 'down' });
  try {
    await page.goto(`${stack.base}/gateway`);
    await page.waitForSelector('[data-testid=health-default] tr[data-component=jolokia] [data-reachable=false]', { timeout: 15000 });
    await shot(page, '32-health-jolokia-down');
  } finally {
    await setFault(stack, { target: 'jolokia', fault: 'none' });
  }
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
