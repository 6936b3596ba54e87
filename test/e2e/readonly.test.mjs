// KC_READ_ONLY=true: the console hides every action and the gateway refuses changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, newPage, shot, connectorPath, runningConnectors, json, OPTIONAL_404 } from './harness.mjs';

let stack, browser, page, errors;

before(async () => {
  stack = await startStack({ env: { KC_READ_ONLY: 'true' } });
  browser = await launchBrowser();
  ({ page, errors } = await newPage(browser, { allow: OPTIONAL_404 }));
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('read-only gateway: no actions in the UI, mutations refused', async () => {
  const [name] = await runningConnectors(stack);
  await page.goto(`${stack.base}/clusters/default/connectors`);
  await page.waitForSelector('.grid-row[data-name]');
  assert.equal(await page.$('[data-testid=new-connector]'), null, 'no New connector button');
  assert.ok(await page.$eval('.grid-row input[type=checkbox]', (c) => c.disabled), 'row selection disabled');
  await page.goto(stack.base + connectorPath(name, 'overview'));
  await page.waitForSelector('[data-testid=connector-state] .badge');
  assert.equal(await page.$('[data-action=pause]'), null, 'no pause button');
  assert.equal(await page.$('[data-action=delete]'), null, 'no delete button');
  await shot(page, '50-read-only');
  const r = await json(`${stack.base}/api/default/connectors/${encodeURIComponent(name)}/pause`, { method: 'PUT' });
  assert.equal(r.status, 403);
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
