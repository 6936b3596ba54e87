// The MetricsCard against the real gateway + simulator: numbers change between refreshes,
// trend arrows follow the data, and "Metrics Unavailable" appears when Jolokia goes down and
// goes away when it comes back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, newPage, shot, connectorPath, runningConnectors, setFault, waitFor, json, simStatus, OPTIONAL_404 } from './harness.mjs';

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

/** Opens a connector's metrics tab and waits for its charts with `minSamples` samples drawn:
 * chart key → the labels of its y axis (the chart's data-y-labels: uPlot draws on a canvas). */
async function chartsOf(connector, minSamples = 3) {
  await page.goto(stack.base + connectorPath(connector, 'metrics'));
  await waitFor(() => page.evaluate((n) => {
    const g = document.querySelector('[data-testid=metrics-charts]');
    const first = document.querySelector('[data-chart=recordsPerSecond]');
    return g && Number(g.dataset.samples) >= n && first && first.dataset.yLabels;
  }, minSamples), { timeout: 20000, what: `charts of ${connector} with ${minSamples} samples` });
  await page.waitForTimeout(300); // the other charts draw in the same pass; a chart without data has no labels (null)
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map((c) => [c.dataset.chart, c.dataset.yLabels ? JSON.parse(c.dataset.yLabels) : null])));
}

const typeOf = async (connector) => (await simStatus(stack, connector)).type;

test('a source connector has no lag chart, a sink has one', async () => {
  assert.equal(await typeOf('orders-src'), 'source');
  assert.equal(await typeOf('orders-sink'), 'sink');
  const src = await chartsOf('orders-src');
  assert.deepEqual(Object.keys(src).sort(), ['bytesPerSecond', 'recordsPerSecond', 'totalErrors'], 'source: no lag chart');
  // still none after further samples (the type may also come with a sample)
  await page.waitForTimeout(2500);
  assert.equal(await page.$('[data-chart=lag]'), null, 'source: no lag chart after more samples');
  assert.match(await page.textContent('[data-metric=lag]'), /sources have no lag metric/);
  const sink = await chartsOf('orders-sink');
  assert.deepEqual(Object.keys(sink).sort(), ['bytesPerSecond', 'lag', 'recordsPerSecond', 'totalErrors'], 'sink: lag chart');
  await shot(page, '33-metrics-sink-charts');
});

test('a flat series gets a readable y axis: distinct labels on every chart', async () => {
  // inventory-datagen is PAUSED in the simulator: records/s and bytes/s stay 0, errors constant
  const paused = 'inventory-datagen';
  const st = await simStatus(stack, paused);
  assert.equal(st.connector.state, 'PAUSED', `${paused} is paused`);
  const checked = [];
  for (const connector of ['orders-sink', paused, 'payments-jdbc', 'orders-src']) {
    const charts = await chartsOf(connector);
    for (const [key, labels] of Object.entries(charts)) {
      assert.ok(labels && labels.length >= 2, `${connector} ${key}: at least two y labels (${JSON.stringify(labels)})`);
      assert.equal(new Set(labels).size, labels.length, `${connector} ${key}: distinct y labels ${JSON.stringify(labels)}`);
      checked.push(`${connector}/${key}`);
    }
    if (connector === paused) {
      const h = (await json(`${stack.base}/api/default/connectors/${encodeURIComponent(paused)}/metrics/history?since=0`)).body;
      assert.ok(h.t.length >= 3 && new Set(h.recordsPerSecond).size === 1 && new Set(h.totalErrors).size === 1,
        `the paused connector's records/s and errors are flat (${JSON.stringify([h.recordsPerSecond, h.totalErrors])})`);
      await shot(page, '34-metrics-flat-charts');
    }
  }
  assert.equal(checked.length, 13, `checked ${checked.length} charts`);
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
