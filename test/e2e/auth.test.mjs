// KC_AUTH_TOKEN: the console asks for the token once, then the list and the live metrics
// stream work with it (bearer header for fetches, access_token for the EventSource).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, newPage, connectorPath, runningConnectors, json, OPTIONAL_404 } from './harness.mjs';

const TOKEN = 'e2e-token-42';
let stack, browser, page, errors;

before(async () => {
  stack = await startStack({ env: { KC_AUTH_TOKEN: TOKEN } });
  browser = await launchBrowser();
  // the first 401 (before the token is typed) is expected
  ({ page, errors } = await newPage(browser, { allow: [...OPTIONAL_404, /status of 401/] }));
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('the console asks for the API token and then works', async () => {
  let asked = 0;
  page.on('dialog', async (d) => { asked += 1; await d.accept(TOKEN); });
  await page.goto(`${stack.base}/clusters/default/connectors`);
  await page.waitForSelector('.grid-row[data-name]');
  assert.ok(asked >= 1, 'a token prompt was shown');
  const stored = await page.evaluate(() => localStorage.getItem('kc-api-token'));
  assert.equal(stored, TOKEN);
  const [name] = await runningConnectors(stack);
  await page.goto(stack.base + connectorPath(name, 'metrics'));
  await page.waitForFunction(() => document.querySelector('[data-testid=metrics-mode]')?.textContent === 'Live', null, { timeout: 15000 });
  const r = await json(`${stack.base}/api/default/connectors`);
  assert.equal(r.status, 401, 'the API itself still refuses requests without the token');
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
