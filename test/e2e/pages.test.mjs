// Every page of the console renders against the real gateway + simulator, with no console
// errors; a screenshot of each is saved in test/e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, newPage, shot, connectorPath, runningConnectors, json, OPTIONAL_404, rowSel } from './harness.mjs';

let stack, browser, page, errors, names;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  ({ page, errors } = await newPage(browser, {
    allow: [...OPTIONAL_404, /status of 404.*no-such-connector/],
  }));
  names = await runningConnectors(stack);
  assert.ok(names.length > 0, 'the simulator has running connectors');
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('the gateway serves the app with caching headers and deep links', async () => {
  const r = await fetch(`${stack.base}/`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  const etag = r.headers.get('etag');
  assert.ok(etag, 'index.html has an ETag');
  const again = await fetch(`${stack.base}/`, { headers: { 'If-None-Match': etag, 'Accept-Encoding': 'gzip' } });
  assert.equal(again.status, 304);
  const js = await fetch(`${stack.base}/app/main.js`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.match(js.headers.get('cache-control'), /max-age=3600/);
  const deep = await fetch(`${stack.base}/clusters/default/connectors/x%2Fy/metrics`);
  assert.equal(deep.status, 200);
  assert.match(await deep.text(), /<script type="module" src="\/app\/main.js">/);
  const missing = await fetch(`${stack.base}/app/nope.js`);
  assert.equal(missing.status, 404);
  const uplot = await fetch(`${stack.base}/vendor/uplot/uPlot.esm.js`);
  assert.equal(uplot.status, 200, 'uPlot is embedded (npm run vendor before the build)');
});

test('connector list', async () => {
  await page.goto(`${stack.base}/`);
  await page.waitForURL(/\/clusters\/default\/connectors/);
  await page.waitForSelector('.grid-row[data-name]');
  const count = await page.textContent('[data-testid=count]');
  assert.match(count, /of \d+ connectors/);
  assert.ok(await page.isVisible(rowSel(names[0])) || (await page.$$('.grid-row')).length > 0);
  await shot(page, '01-connector-list');
  // filter by text goes into the URL
  await page.fill('[data-testid=filter]', names[0]);
  await page.waitForFunction((n) => new URL(location.href).searchParams.get('q') === n, names[0]);
  await page.waitForSelector(rowSel(names[0]));
  // sort by records/s, descending, in the URL
  await page.fill('[data-testid=filter]', '');
  await page.click('button.sort[data-sort=rps]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('sort') === 'rps');
  // a shared URL restores the view
  await page.goto(`${stack.base}/clusters/default/connectors?state=RUNNING&sort=name&dir=desc`);
  await page.waitForSelector('.chip.on[data-state-filter=RUNNING]');
  const shown = await page.$$eval('.grid-row[data-name]', (rows) => rows.map((r) => r.dataset.name));
  assert.ok(shown.length > 0);
  assert.deepEqual(shown, [...shown].sort().reverse(), 'sorted by name, descending');
});

test('connector detail tabs', async () => {
  const n = names[0];
  await page.goto(stack.base + connectorPath(n, 'overview'));
  await page.waitForSelector('[data-testid=connector-state] .badge');
  assert.equal(await page.textContent('[data-testid=connector-name]'), n);
  await page.waitForSelector('tr[data-task]');
  await shot(page, '02-detail-overview');

  await page.click('.tabs a[data-tab=config]');
  await page.waitForSelector('[data-testid=config-view] tr[data-key="connector.class"]');
  await shot(page, '03-detail-config');
  await page.click('[data-action=edit-config]');
  await page.waitForSelector('[data-testid=config-form]');
  await page.waitForSelector('[data-testid=smt-editor]');
  await shot(page, '04-detail-config-edit');

  await page.click('.tabs a[data-tab=tasks]');
  await page.waitForSelector('[data-testid=tasks-table] tr[data-task]');
  await shot(page, '05-detail-tasks');

  await page.click('.tabs a[data-tab=metrics]');
  await page.waitForSelector('[data-metric=recordsPerSecond] .mbox-value');
  await page.waitForSelector('[data-testid=metrics-tasks] tr[data-task]');
  await page.waitForSelector('[data-testid=metrics-charts] .uplot', { timeout: 20000 });
  await shot(page, '06-detail-metrics');

  await page.click('.tabs a[data-tab=offsets]');
  await page.waitForSelector('[data-testid=offsets-table], .callout, .empty, p.muted');
  await shot(page, '07-detail-offsets');
});

test('create connector page with templates', async () => {
  await page.goto(`${stack.base}/clusters/default/create`);
  await page.waitForSelector('[data-testid=templates] .card');
  const enabled = await page.$$eval('[data-testid=templates] .card:not([disabled])', (c) => c.map((x) => x.dataset.template));
  const disabled = await page.$$eval('[data-testid=templates] .card[disabled]', (c) => c.map((x) => x.dataset.template));
  assert.ok(enabled.includes('datagen'), 'datagen is installed in the simulator');
  assert.ok(disabled.length > 0, 'templates of missing plugins are disabled');
  await page.click('[data-template=datagen]');
  await page.waitForSelector('[data-testid=config-form]');
  await shot(page, '08-create');
});

test('cluster, plugins, health, settings, clusters pages', async () => {
  await page.goto(`${stack.base}/clusters/default/overview`);
  await page.waitForSelector('[data-testid=workers] [data-worker]');
  const root = (await json(`${stack.connect}/`)).body;
  assert.equal(await page.textContent('[data-testid=connect-version]'), root.version);
  assert.equal(await page.textContent('[data-testid=kafka-cluster-id]'), root.kafka_cluster_id);
  await shot(page, '09-cluster');

  await page.goto(`${stack.base}/clusters/default/plugins`);
  await page.waitForSelector('[data-plugin-type=source] details.plugin');
  await page.click('[data-plugin-type=source] details.plugin summary');
  await page.waitForSelector('[data-plugin-type=source] details.plugin[open] table, [data-plugin-type=source] details.plugin[open] p.muted');
  await shot(page, '10-plugins');

  await page.goto(`${stack.base}/gateway`);
  await page.waitForSelector('[data-testid=health-default] tr[data-component=connect] [data-reachable=true]');
  await page.waitForSelector('[data-testid=health-default] tr[data-component=jolokia]');
  await shot(page, '11-health');

  await page.goto(`${stack.base}/settings`);
  await page.waitForSelector('select[aria-label=Theme]');
  await shot(page, '12-settings');

  await page.goto(`${stack.base}/clusters`);
  await page.waitForSelector('[data-testid=clusters] tr[data-cluster=default]');
  await shot(page, '13-clusters');
});

test('unknown connector page and dark theme', async () => {
  await page.goto(stack.base + connectorPath('no-such-connector', 'overview'));
  await page.waitForSelector('[data-testid=unknown-connector]');
  await shot(page, '14-unknown-connector');

  const dark = await newPage(browser, { colorScheme: 'dark', allow: OPTIONAL_404 });
  await dark.page.goto(stack.base + connectorPath(names[0], 'metrics'));
  await dark.page.waitForSelector('[data-metric=recordsPerSecond] .mbox-value');
  assert.equal(await dark.page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await dark.page.waitForTimeout(500);
  await shot(dark.page, '15-metrics-dark');
  await dark.page.goto(`${stack.base}/clusters/default/connectors`);
  await dark.page.waitForSelector('.grid-row[data-name]');
  await shot(dark.page, '16-list-dark');
  assert.deepEqual(dark.errors, [], 'no console errors (dark)');
  await dark.context.close();
});

test('keyboard: / focuses the filter, Tab reaches a connector link', async () => {
  await page.goto(`${stack.base}/clusters/default/connectors`);
  await page.waitForSelector('.grid-row[data-name]');
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'filter');
});

test('no console errors on any page', () => {
  assert.deepEqual(errors, []);
});
