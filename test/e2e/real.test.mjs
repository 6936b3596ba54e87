// The browser suite once against real Kafka Connect (test/real/stack.py: a KRaft broker, two
// distributed workers with the real Jolokia agent): the list with real states, numbers that move
// on the metrics page, and a FileStream connector created from the UI's template reaching RUNNING.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, appendFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRealStack, launchBrowser, newPage, shot, connectorPath, json, waitFor, rowSel, OPTIONAL_404 } from './harness.mjs';

// Connect needs a few seconds to start tasks and a loaded 2-core machine more: generous, bounded.
const SETTLE = 60000;
const CREATED = 'ui-file-source';
let stack, browser, page, errors, tmp;

before(async () => {
  // KC_E2E_REAL_GATEWAY + KC_E2E_REAL_CONNECT: reuse a running one (e.g. deploy/demo.sh --real)
  stack = process.env.KC_E2E_REAL_GATEWAY
    ? { base: process.env.KC_E2E_REAL_GATEWAY, connect: process.env.KC_E2E_REAL_CONNECT, stop: async () => {} }
    : await startRealStack();
  browser = await launchBrowser();
  // poll the metrics every second when the stream is not used, so samples arrive within seconds
  // Real Connect writes a new connector's status asynchronously: right after the create its
  // GET …/status may answer 404 for a moment (the page shows "starting" meanwhile).
  const allow = [...OPTIONAL_404, new RegExp(`status of 404 .*/api/default/connectors/(${CREATED}|files-2)/status$`)];
  ({ page, errors } = await newPage(browser, { allow, init: () => { try { localStorage.setItem('kc.metricsRefresh', '1000'); } catch { /* about:blank */ } } }));
  page.setDefaultTimeout(SETTLE);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'kc-e2e-real-'));
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const connectStatus = async (name) => (await json(`${stack.connect}/connectors/${encodeURIComponent(name)}/status`)).body;

/** Records of a connector as its metrics page shows them: the sum of the task table. */
const shownRecords = () => page.$$eval('[data-testid=metrics-tasks] tr[data-task]', (rows) =>
  rows.reduce((sum, r) => sum + Number(r.children[3].textContent.replace(/[^\d]/g, '') || 0), 0));

test('the list shows the real connectors with their states', async () => {
  const real = (await json(`${stack.connect}/connectors?expand=status`)).body;
  const names = Object.keys(real).sort();
  for (const n of ['files', 'files-2', 'cdc:orders,eu', 'files-sink', 'broken-sink', 'errors-sink']) assert.ok(names.includes(n), `Connect has ${n}`);
  assert.equal(real['broken-sink'].status.tasks[0].state, 'FAILED', 'broken-sink has a FAILED task in Connect');

  await page.goto(`${stack.base}/`);
  await page.waitForURL(/\/clusters\/default\/connectors/);
  for (const n of names) await page.waitForSelector(rowSel(n));
  assert.match(await page.textContent('[data-testid=count]'), new RegExp(`of ${names.length} connectors`));

  // broken-sink: the connector RUNS but its only task FAILED, which the list calls DEGRADED
  const broken = rowSel('broken-sink');
  await page.waitForSelector(`${broken} .badge[data-state=DEGRADED]`);
  // columns: select, name, state, type, tasks (5), records/s (6), errors, error rate, lag
  const cell = (n, i) => page.textContent(`${rowSel(n)} > div:nth-child(${i})`).then((t) => t.trim());
  assert.equal(await cell('broken-sink', 5), '0/1', 'its failed task is counted');
  assert.ok(await page.$(`${broken} > div:nth-child(5).t-bad`), 'in red');
  // the rest run every task; files-sink has two
  for (const n of names.filter((x) => x !== 'broken-sink')) await page.waitForSelector(`${rowSel(n)} .badge[data-state=RUNNING]`);
  assert.equal(await cell('files-sink', 5), '2/2');
  // the sources move records: records/s turns non-zero once the summary has two samples
  await waitFor(async () => {
    const t = await cell('files', 6);
    return t !== '—' && Number.parseFloat(t) > 0;
  }, { timeout: SETTLE, what: 'records/s of files above 0 in the list' });
  await shot(page, 'real-01-list');

  // the state filter finds it among the degraded
  await page.click('.chip[data-state-filter=DEGRADED]');
  await page.waitForFunction(() => [...document.querySelectorAll('.grid-row[data-name]')].map((r) => r.dataset.name).join() === 'broken-sink');
});

test('broken-sink shows its failed task with the real trace', async () => {
  await page.goto(stack.base + connectorPath('broken-sink', 'overview'));
  await page.waitForSelector('[data-testid=connector-state] .badge[data-state=DEGRADED]');
  const trace = await page.textContent('details.trace .trace-first');
  const real = (await connectStatus('broken-sink')).tasks[0].trace.split('\n')[0];
  assert.equal(trace.trim(), real.trim(), 'the first line of Connect\'s trace');
  await shot(page, 'real-02-broken-sink');
});

test('the metrics page shows numbers that move (files, fed 20 lines/s)', async () => {
  await page.goto(stack.base + connectorPath('files', 'metrics'));
  await page.waitForSelector('[data-testid=metrics-tasks] tr[data-task] [data-state=RUNNING]');
  const first = await waitFor(async () => { const n = await shownRecords(); return n > 0 && n; }, { timeout: SETTLE, what: 'records of files above 0' });
  const later = await waitFor(async () => { const n = await shownRecords(); return n > first && n; }, { timeout: SETTLE, what: `records of files above ${first}` });
  assert.ok(later > first);
  await waitFor(async () => Number(await page.getAttribute('[data-metric=recordsPerSecond] .mbox-value', 'data-value')) > 0, { timeout: SETTLE, what: 'records/s above 0' });
  await waitFor(async () => Number(await page.getAttribute('[data-metric=bytesPerSecond] .mbox-value', 'data-value')) > 0, { timeout: SETTLE, what: 'bytes/s above 0' });
  // the task's worker is the real worker_id (127.0.0.N:PORT)
  const worker = (await page.textContent('[data-testid=metrics-tasks] tr[data-task] td.mono')).trim();
  assert.equal(worker, (await connectStatus('files')).tasks[0].worker_id);
  assert.equal(await page.$('[data-testid=metrics-unavailable]'), null, 'the real Jolokia agents answer');
  await page.waitForSelector('[data-testid=metrics-charts] .uplot', { timeout: SETTLE });
  await shot(page, 'real-03-metrics-files');

  // a name that needs ObjectName quoting moves too
  await page.goto(stack.base + connectorPath('cdc:orders,eu', 'metrics'));
  const c0 = await waitFor(async () => { const n = await shownRecords(); return n > 0 && n; }, { timeout: SETTLE, what: 'records of cdc:orders,eu above 0' });
  await waitFor(async () => (await shownRecords()) > c0, { timeout: SETTLE, what: `records of cdc:orders,eu above ${c0}` });

  // a sink: files-sink reads both topics with two tasks, and has a real consumer lag
  await page.goto(stack.base + connectorPath('files-sink', 'metrics'));
  await page.waitForSelector('[data-testid=metrics-tasks] tr[data-task="1"]');
  const s0 = await waitFor(async () => { const n = await shownRecords(); return n > 0 && n; }, { timeout: SETTLE, what: 'records of files-sink above 0' });
  await waitFor(async () => (await shownRecords()) > s0, { timeout: SETTLE, what: `records of files-sink above ${s0}` });
  await waitFor(async () => (await page.getAttribute('[data-metric=lag] .mbox-value', 'data-value')) !== '', { timeout: SETTLE, what: 'a lag value for files-sink' });
  await shot(page, 'real-04-metrics-files-sink');
});

test('a FileStream source created from the template reaches RUNNING', async (t) => {
  const input = path.join(tmp, 'ui-input.txt');
  appendFileSync(input, Array.from({ length: 25 }, (_, i) => `ui line ${i}\n`).join(''));

  await page.goto(`${stack.base}/clusters/default/create`);
  await page.waitForSelector('[data-testid=templates] .card[data-template=file-source]:not([disabled])');
  await page.click('[data-template=file-source]');
  await page.waitForSelector('[data-testid=config-form] [data-key=file]');
  await page.fill('[data-testid=connector-name-input]', CREATED);
  await page.fill('[data-testid=config-form] [data-key=file]', input);
  await page.fill('[data-testid=config-form] [data-key=topic]', 'ui-lines');
  await shot(page, 'real-05-create-form');
  // what the header shows from the create until RUNNING (the app navigates without reloading)
  await page.evaluate(() => {
    window.kcSeen = new Set();
    new MutationObserver(() => {
      for (const b of document.querySelectorAll('[data-testid=connector-state] .badge')) window.kcSeen.add(b.dataset.state);
      for (const c of document.querySelectorAll('.callout-bad strong')) window.kcSeen.add('error: ' + c.textContent);
      if (document.querySelector('[data-testid=status-pending]')) window.kcSeen.add('starting');
    }).observe(document.body, { childList: true, subtree: true });
  });
  await page.click('[data-action=create]');

  await page.waitForURL((u) => u.pathname === connectorPath(CREATED, 'overview'));
  await page.waitForSelector('[data-testid=connector-state] .badge[data-state=RUNNING]');
  await page.waitForSelector('tr[data-task="0"] .badge[data-state=RUNNING]');
  await shot(page, 'real-06-created-running');
  const seen = await page.evaluate(() => [...window.kcSeen]);
  t.diagnostic(`header on the way: ${seen.join(', ')}`);
  assert.deepEqual(seen.filter((x) => x.startsWith('error') || x === 'UNKNOWN'), [], `no error and no UNKNOWN state on the way (saw ${seen})`);

  // Connect itself agrees, with the configuration the form sent
  const st = await waitFor(async () => { const s = await connectStatus(CREATED); return s && s.connector && s.connector.state === 'RUNNING' && s.tasks.length === 1 && s.tasks[0].state === 'RUNNING' && s; },
    { timeout: SETTLE, what: `${CREATED} RUNNING in Connect` });
  assert.match(st.tasks[0].worker_id, /^127\.0\.0\.[12]:\d+$/);
  const cfg = (await json(`${stack.connect}/connectors/${CREATED}/config`)).body;
  assert.equal(cfg['connector.class'], 'org.apache.kafka.connect.file.FileStreamSourceConnector');
  assert.equal(cfg.file, input);
  assert.equal(cfg.topic, 'ui-lines');

  // and it moves the file's lines: the metrics page counts them
  await page.click('.tabs a[data-tab=metrics]');
  await waitFor(async () => (await shownRecords()) >= 25, { timeout: SETTLE, what: `the 25 lines counted for ${CREATED}` });
  appendFileSync(input, 'one more\n');
  await waitFor(async () => (await shownRecords()) >= 26, { timeout: SETTLE, what: `the 26th line counted for ${CREATED}` });
  await shot(page, 'real-07-created-metrics');

  // gone again (a reused stack, KC_E2E_REAL_*, starts clean next time)
  await page.goto('about:blank');
  assert.equal((await json(`${stack.connect}/connectors/${CREATED}`, { method: 'DELETE' })).status, 204);
});

test('a connector whose status Connect has not written yet is "starting", then shows its state', async () => {
  // What real Connect answers in the moment after a create, made deterministic: the first
  // three status reads of files-2 get Connect's own 404.
  let left = 3;
  const url = `${stack.base}/api/default/connectors/files-2/status`;
  await page.route(url, (route) => (left-- > 0
    ? route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ error_code: 404, message: 'No status found for connector files-2' }) })
    : route.continue()));
  try {
    await page.goto(stack.base + connectorPath('files-2', 'overview'));
    await page.waitForSelector('[data-testid=status-pending]');
    assert.equal(await page.$('.callout-bad'), null, 'no error while starting');
    assert.equal(await page.$('[data-testid=unknown-connector]'), null);
    await page.waitForSelector('[data-testid=connector-state] .badge[data-state=RUNNING]');
    assert.equal(await page.$('[data-testid=status-pending]'), null);
    assert.ok(left < 0, 'the page asked again by itself');
  } finally {
    await page.unroute(url);
  }
});

test('cluster and health pages see both real workers and their agents', async () => {
  const root = (await json(`${stack.connect}/`)).body;
  const workers = [...new Set(Object.values((await json(`${stack.connect}/connectors?expand=status`)).body)
    .flatMap((v) => v.status.tasks.map((t) => t.worker_id)))].sort();
  await page.goto(`${stack.base}/clusters/default/overview`);
  for (const w of workers) await page.waitForSelector(`[data-testid=workers] [data-worker="${w}"]`);
  assert.equal(await page.textContent('[data-testid=connect-version]'), root.version);
  assert.equal(await page.textContent('[data-testid=kafka-cluster-id]'), root.kafka_cluster_id);
  await page.waitForSelector('[data-testid=problems] a:text("broken-sink")');
  await shot(page, 'real-08-cluster');

  await page.goto(`${stack.base}/gateway`);
  await page.waitForSelector('[data-testid=health-default] tr[data-component=connect] [data-reachable=true]');
  await waitFor(async () => (await page.$$('[data-testid=health-default] tr[data-component=jolokia] [data-reachable=true]')).length === 2,
    { timeout: SETTLE, what: 'both Jolokia agents reachable on the health page' });
  await shot(page, 'real-09-health');
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
