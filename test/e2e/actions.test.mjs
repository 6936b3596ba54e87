// Actions in the console change the simulator's state: pause/resume/stop/restart from the
// detail page, bulk pause/resume/delete from the list, create from a template, config edit
// (masked secrets kept), offsets reset when stopped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, newPage, shot, connectorPath, runningConnectors, simStatus, json, waitFor, OPTIONAL_404, rowSel } from './harness.mjs';

let stack, browser, page, errors, names;
const state = async (n) => { const s = await simStatus(stack, n); return s && s.connector ? s.connector.state : null; };

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  ({ page, errors } = await newPage(browser, { allow: OPTIONAL_404 }));
  names = await runningConnectors(stack);
  assert.ok(names.length >= 4, 'at least four running connectors in the simulator');
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

async function clickAction(action) {
  await page.click(`[data-action=${action}]:not([disabled])`);
}
async function confirmDialog() {
  await page.click('dialog[open] footer button[value=ok]');
}

test('pause, resume, stop, restart from the detail page', async () => {
  const n = names[0];
  await page.goto(stack.base + connectorPath(n, 'overview'));
  await page.waitForSelector('[data-testid=connector-state] [data-state=RUNNING]');

  await clickAction('pause');
  await waitFor(async () => (await state(n)) === 'PAUSED', { what: `${n} PAUSED in the simulator` });
  await page.waitForSelector('[data-testid=connector-state] [data-state=PAUSED]');
  await shot(page, '20-detail-paused');

  await clickAction('resume');
  await waitFor(async () => (await state(n)) === 'RUNNING', { what: `${n} RUNNING again` });
  await page.waitForSelector('[data-testid=connector-state] [data-state=RUNNING]');

  await clickAction('stop');
  await confirmDialog();
  await waitFor(async () => (await state(n)) === 'STOPPED', { what: `${n} STOPPED` });
  await page.waitForSelector('[data-testid=connector-state] [data-state=STOPPED]');

  // offsets can be reset only while stopped
  await page.click('.tabs a[data-tab=offsets]');
  await page.waitForSelector('[data-action=reset-offsets]:not([disabled])');
  await shot(page, '21-offsets-stopped');
  await clickAction('reset-offsets');
  await confirmDialog();
  await waitFor(async () => {
    const r = await json(`${stack.connect}/connectors/${encodeURIComponent(n)}/offsets`);
    return r.status === 200 && Array.isArray(r.body.offsets) && r.body.offsets.length === 0;
  }, { what: 'offsets reset in the simulator' });

  await clickAction('resume');
  await waitFor(async () => (await state(n)) === 'RUNNING', { what: `${n} resumed from STOPPED` });

  await clickAction('restart');
  await waitFor(async () => ['RUNNING', 'RESTARTING'].includes(await state(n)), { what: 'restart accepted' });
});

test('bulk pause and resume from the list, with per-connector results', async () => {
  const picked = names.slice(1, 3);
  await page.goto(`${stack.base}/clusters/default/connectors?sort=name`);
  for (const n of picked) {
    await page.fill('[data-testid=filter]', n);
    await page.waitForSelector(rowSel(n));
    await page.check(`${rowSel(n)} input[type=checkbox]`);
  }
  await page.fill('[data-testid=filter]', '');
  await page.waitForSelector('[data-testid=bulkbar]:not([hidden])');
  await shot(page, '22-bulk-selected');
  await page.click('[data-testid=bulkbar] button:has-text("Pause")');
  await confirmDialog();
  await page.waitForSelector('[data-testid=bulk-results]');
  await shot(page, '23-bulk-results');
  for (const n of picked) await waitFor(async () => (await state(n)) === 'PAUSED', { what: `${n} PAUSED` });
  await page.click('dialog[open] footer button');

  await page.click('[data-testid=bulkbar] button:has-text("Resume")');
  await confirmDialog();
  await page.waitForSelector('[data-testid=bulk-results]');
  for (const n of picked) await waitFor(async () => (await state(n)) === 'RUNNING', { what: `${n} RUNNING` });
  await page.click('dialog[open] footer button');
});

test('create a connector from a template, edit its config, delete it', async () => {
  const name = 'e2e file/source ü';
  await page.goto(`${stack.base}/clusters/default/create`);
  await page.click('[data-template=file-source]:not([disabled])');
  await page.waitForSelector('[data-testid=config-form]');
  await page.fill('[data-testid=connector-name-input]', name);
  await page.click('[data-action=create]');
  await page.waitForURL(/\/overview$/);
  await waitFor(async () => (await json(`${stack.connect}/connectors/${encodeURIComponent(name)}`)).status === 200, { what: 'connector created in the simulator' });
  await page.waitForSelector('[data-testid=connector-name]');
  assert.equal(await page.textContent('[data-testid=connector-name]'), name);

  // edit: change tasks.max through the JSON editor and save (review → diff → save)
  await page.click('.tabs a[data-tab=config]');
  await page.click('[data-action=edit-json]');
  const cfg = JSON.parse(await page.inputValue('[data-testid=config-json]'));
  cfg.topic = 'e2e-renamed';
  await page.fill('[data-testid=config-json]', JSON.stringify(cfg, null, 2));
  await page.click('[data-action=review]');
  await page.waitForSelector('[data-testid=config-diff]');
  await shot(page, '24-config-diff');
  await page.click('[data-action=save-config]:not([disabled])');
  await waitFor(async () => (await json(`${stack.connect}/connectors/${encodeURIComponent(name)}/config`)).body.topic === 'e2e-renamed', { what: 'config saved in the simulator' });

  await page.click('[data-action=delete]');
  await confirmDialog();
  await page.waitForURL(/\/connectors$/);
  await waitFor(async () => (await json(`${stack.connect}/connectors/${encodeURIComponent(name)}`)).status === 404, { what: 'connector deleted' });
});

test('restart a failed task from the tasks tab', async () => {
  const n = names[3];
  await page.goto(stack.base + connectorPath(n, 'tasks'));
  await page.waitForSelector('[data-testid=tasks-table] [data-action=restart-task]');
  await page.click('[data-testid=tasks-table] [data-action=restart-task]');
  await page.waitForSelector('.toast');
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
