// Many tabs, one connection: ten tabs of one browser on ten connectors' metrics pages all go
// live through ONE stream to the gateway (a browser allows six connections per origin, so a
// stream per tab would leave the seventh tab waiting for ever); closed tabs' connectors stop
// being collected within two TTLs; a hidden tab's connector stops being collected and, shown
// again, its numbers and chart are back within a second; the list page does not poll while
// hidden; without SharedWorker a leader tab holds the one stream (and hands it over when it
// closes), without BroadcastChannel either the page polls; a tab that crashes (no pagehide, no
// goodbye) leaves the stream at once, through the Web Lock it holds while it lives. Collection is read from
// connect-sim's per-connector request counters.
//
// Headless Chromium reports every page as visible (microsoft/playwright#2286: no API hides a
// page), so "hiding" a tab here sets document.visibilityState and fires visibilitychange —
// exactly the signal the console acts on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, json, shot, connectorPath, runningConnectors, waitFor, OPTIONAL_404 } from './harness.mjs';

const TABS = 10;
const TTL_MS = 1000; // the harness's METRICS_CACHE_TTL, and so the hidden-tab TTL
let stack, browser, context, names;
const pages = [];
const errors = [];

before(async () => {
  stack = await startStack({ connectors: 14 });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => {
    // a test hook: hide/show this tab as the Page Visibility API would
    let state = 'visible';
    Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => state });
    Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => state === 'hidden' });
    window.__kcSetVisibility = (s) => { state = s; document.dispatchEvent(new Event('visibilitychange')); };
  });
  names = (await runningConnectors(stack)).slice(0, TABS);
  assert.equal(names.length, TABS, 'ten running connectors');
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

async function openTab(url) {
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const s = `${m.text()} @ ${m.location() && m.location().url}`;
    if (!OPTIONAL_404.some((re) => re.test(s))) errors.push(s);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return page;
}

async function gauges() {
  const r = await fetch(`${stack.base}/metrics`);
  const text = await r.text();
  const g = (n) => Number((new RegExp(`^${n} (\\d+)$`, 'm').exec(text) || [])[1]);
  return { connections: g('kconnect_stream_connections'), subscribers: g('kconnect_stream_subscribers') };
}

const perConnector = async () => (await json(`${stack.control}/counters`)).body.connect.connectors;
const updated = (page) => page.evaluate(() => document.querySelector('[data-testid=metrics-card]')?.dataset.updated || '');
const modeText = (page) => page.evaluate(() => document.querySelector('[data-testid=metrics-mode]')?.textContent || '');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The page shows live numbers that move: "Live", and two new samples. */
async function assertLive(page, what) {
  await waitFor(async () => (await modeText(page)) === 'Live', { timeout: 15000, what: `${what} live` });
  const seen = new Set([await updated(page)]);
  await waitFor(async () => { seen.add(await updated(page)); return seen.size >= 3; }, { timeout: 15000, interval: 100, what: `${what}: numbers moving` });
}

test('ten tabs on ten connectors: all live through ONE stream connection', async () => {
  for (const name of names) pages.push(await openTab(stack.base + connectorPath(name, 'metrics')));
  assert.equal(pages.length, TABS, 'the seventh tab and after load too');
  for (let i = 0; i < TABS; i++) await assertLive(pages[i], names[i]);
  for (let i = 0; i < TABS; i++) {
    const rps = await pages[i].evaluate(() => document.querySelector('[data-metric=recordsPerSecond] .mbox-value')?.dataset.value);
    assert.ok(Number.isFinite(Number(rps)), `${names[i]}: records/s is a number`);
  }
  const g = await gauges();
  assert.equal(g.connections, 1, 'one stream connection for the whole browser');
  assert.equal(g.subscribers, TABS, 'carrying the ten connectors');
  await shot(pages[TABS - 1], '60-tab-10-live');
});

test('closing five tabs stops collecting their connectors within two TTLs', async () => {
  const closed = names.slice(0, 5);
  const open = names.slice(5);
  for (const p of pages.splice(0, 5)) await p.close();
  await sleep(2 * TTL_MS);
  const a = await perConnector();
  await sleep(3 * TTL_MS);
  const b = await perConnector();
  for (const n of closed) assert.equal(b[n] || 0, a[n] || 0, `${n} is no longer collected`);
  for (const n of open) assert.ok((b[n] || 0) >= (a[n] || 0) + 2, `${n} is still collected (${a[n]} → ${b[n]})`);
  const g = await gauges();
  assert.deepEqual(g, { connections: 1, subscribers: 5 });
  for (let i = 0; i < pages.length; i++) await assertLive(pages[i], open[i]);
});

test('a hidden tab stops watching; shown again, numbers and chart are back within a second', async () => {
  const page = pages[0];
  const name = names[5];
  await page.waitForSelector('[data-testid=metrics-charts][data-samples]');
  await page.evaluate(() => window.__kcSetVisibility('hidden'));
  await waitFor(async () => (await modeText(page)).startsWith('Paused'), { timeout: 3 * TTL_MS, what: 'the card paused' });
  await sleep(TTL_MS);
  const a = await perConnector();
  await sleep(3 * TTL_MS);
  const b = await perConnector();
  assert.equal(b[name] || 0, a[name] || 0, `${name} is not collected for a hidden tab`);
  assert.ok((b[names[6]] || 0) > (a[names[6]] || 0), 'the shown tabs still are');
  assert.equal((await gauges()).subscribers, 4);

  const before = { updated: await updated(page), last: Number(await page.getAttribute('[data-testid=metrics-charts]', 'data-last')) };
  const shownAt = Date.now();
  await page.evaluate(() => window.__kcSetVisibility('visible'));
  await waitFor(async () => (await updated(page)) > before.updated, { timeout: 1000, interval: 50, what: 'numbers back within a second' });
  await waitFor(async () => Number(await page.getAttribute('[data-testid=metrics-charts]', 'data-last')) > before.last,
    { timeout: Math.max(0, 1000 - (Date.now() - shownAt)) + 50, interval: 50, what: 'the chart back within a second' });
  await assertLive(page, name);
  assert.equal((await gauges()).subscribers, 5);
  assert.equal((await gauges()).connections, 1);
});

/** Ends a tab's renderer as a crash or a killed process would: no pagehide, no 'bye'. */
async function crash(page) {
  const cdp = await page.context().newCDPSession(page);
  const crashed = new Promise((resolve) => page.once('crash', resolve));
  cdp.send('Page.crash').catch(() => {}); // never answers: the renderer is gone
  await crashed;
}

test('a tab that goes without a word (crashed) stops its connector\'s collection at once', async () => {
  const name = names[0]; // its tab was closed above: not collected now
  const page = await openTab(stack.base + connectorPath(name, 'metrics'));
  await assertLive(page, name);
  assert.equal((await gauges()).subscribers, 6);
  await crash(page);
  // the hub learns it from the tab's Web Lock, long before its 35 s keepalive would
  await waitFor(async () => (await gauges()).subscribers === 5, { timeout: 2 * TTL_MS, interval: 50, what: 'the crashed tab\'s item left the stream' });
  await sleep(TTL_MS);
  const a = await perConnector();
  await sleep(3 * TTL_MS);
  const b = await perConnector();
  assert.equal(b[name] || 0, a[name] || 0, `${name} is no longer collected`);
  assert.equal((await gauges()).connections, 1);
  await page.close().catch(() => {});
});

test('the connector list does not poll while hidden and refreshes at once when shown', async () => {
  const page = pages[1];
  await page.goto(`${stack.base}/clusters/default/connectors`);
  await page.waitForSelector('.grid-row');
  const calls = [];
  page.on('request', (r) => { const u = new URL(r.url()); if (u.pathname === '/api/default/metrics') calls.push(Date.now()); });
  await page.evaluate(() => window.__kcSetVisibility('hidden'));
  await sleep(7000); // beyond the 5 s refresh
  assert.equal(calls.length, 0, 'no refresh while hidden');
  const shownAt = Date.now();
  await page.evaluate(() => window.__kcSetVisibility('visible'));
  await waitFor(() => calls.length >= 1, { timeout: 1000, interval: 50, what: 'a refresh at once' });
  assert.ok(calls[0] - shownAt < 1000);
});

test('without SharedWorker: a leader tab holds the one stream for three tabs; without BroadcastChannel either: polling', async () => {
  await Promise.all(pages.splice(0).map((p) => p.close()));
  await waitFor(async () => (await gauges()).connections === 0, { timeout: 5000, what: 'the first browser\'s stream closed' });
  const ctx = await browser.newContext();
  await ctx.addInitScript(() => { delete window.SharedWorker; });
  const tabs = [];
  for (const name of names.slice(0, 3)) {
    const p = await ctx.newPage();
    p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await p.goto(stack.base + connectorPath(name, 'metrics'));
    tabs.push(p);
  }
  for (let i = 0; i < 3; i++) await assertLive(tabs[i], names[i]);
  assert.equal(await tabs[0].evaluate(() => import('/app/live.js').then((m) => m.transportKind())), 'leader');
  assert.deepEqual(await gauges(), { connections: 1, subscribers: 3 });
  // a fourth tab crashes: the leader learns it from the tab's Web Lock, at once
  const doomed = await ctx.newPage();
  await doomed.goto(stack.base + connectorPath(names[3], 'metrics'));
  await assertLive(doomed, names[3]);
  assert.deepEqual(await gauges(), { connections: 1, subscribers: 4 });
  await crash(doomed);
  await waitFor(async () => (await gauges()).subscribers === 3, { timeout: 2 * TTL_MS, interval: 50, what: 'the crashed tab\'s item left the leader\'s stream' });
  // the leader goes: another tab takes over the stream, the others stay live
  await tabs.shift().close();
  for (let i = 0; i < 2; i++) await assertLive(tabs[i], names[i + 1]);
  await waitFor(async () => { const g = await gauges(); return g.connections === 1 && g.subscribers === 2; }, { timeout: 5000, what: 'one stream of two items' });
  await ctx.close();

  const old = await browser.newContext();
  await old.addInitScript(() => { delete window.SharedWorker; delete window.BroadcastChannel; });
  const p = await old.newPage();
  await p.goto(stack.base + connectorPath(names[0], 'metrics'));
  await waitFor(async () => (await modeText(p)).startsWith('Polling'), { timeout: 5000, what: 'polling' });
  assert.equal((await gauges()).connections, 0, 'no stream per tab');
  await old.close();
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
