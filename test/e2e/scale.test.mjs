// The list stays usable with 5,000 connectors: one summary request, virtualised rows, filter,
// sort and scroll to the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, newPage, shot, OPTIONAL_404, rowSel } from './harness.mjs';

let stack, browser, page, errors;
const N = 5000;

before(async () => {
  stack = await startStack({ connectors: N });
  browser = await launchBrowser();
  ({ page, errors } = await newPage(browser, { allow: OPTIONAL_404 }));
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test(`list of ${N} connectors loads with one request per refresh and scrolls`, async () => {
  const apiCalls = [];
  page.on('request', (r) => { const u = new URL(r.url()); if (u.pathname.startsWith('/api/default/')) apiCalls.push(u.pathname + u.search); });
  const t0 = Date.now();
  await page.goto(`${stack.base}/clusters/default/connectors`);
  await page.waitForFunction((n) => /of ([\d,.\s\u202f]+) connectors/.test(document.querySelector('[data-testid=count]')?.textContent || '')
    && Number(document.querySelector('[data-testid=count]').textContent.match(/of ([\d,.\s\u202f]+) connectors/)[1].replace(/\D/g, '')) >= n, N, { timeout: 30000 });
  const loadMs = Date.now() - t0;
  await shot(page, '40-list-5000');
  const rendered = await page.$$eval('.grid-row', (r) => r.length);
  assert.ok(rendered < 200, `only visible rows are in the DOM (${rendered})`);
  assert.ok(apiCalls.filter((c) => c.startsWith('/api/default/metrics')).length <= 2, 'the list uses the summary');
  assert.ok(!apiCalls.some((c) => /\/connectors\/[^/?]+\/(status|metrics)/.test(c)), `no per-connector requests: ${apiCalls.slice(0, 5)}`);

  // scroll to the end, smoothly: each step renders quickly
  const steps = await page.evaluate(async () => {
    const body = document.querySelector('[data-testid=grid-body]');
    const times = [];
    for (let i = 0; i < 40; i++) {
      const t = performance.now();
      body.scrollTop = (body.scrollHeight * (i + 1)) / 40;
      body.dispatchEvent(new Event('scroll'));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      times.push(performance.now() - t);
    }
    return times;
  });
  steps.sort((a, b) => a - b);
  const p90 = steps[Math.floor(steps.length * 0.9)];
  assert.ok(p90 < 250, `scroll frames stay fast (p90 ${p90.toFixed(1)} ms)`);
  const lastRow = await page.$$eval('.grid-row[data-name]', (rows) => rows.length && rows[rows.length - 1].getBoundingClientRect().bottom);
  assert.ok(lastRow > 0, 'rows are rendered at the end of the list');
  await shot(page, '41-list-5000-scrolled');

  // filter narrows 5,000 rows at once
  const pick = await page.$$eval('.grid-row[data-name]', (rows) => rows[rows.length - 1].dataset.name);
  await page.fill('[data-testid=filter]', pick);
  await page.waitForFunction(() => /^\s*[1-9][\d,.\s\u202f]* of/.test(document.querySelector('[data-testid=count]').textContent));
  await page.waitForSelector(rowSel(pick));
  console.log(`# list of ${N}: loaded in ${loadMs} ms, scroll p90 ${p90.toFixed(1)} ms`);
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
