// Roles in the console (config key `auth`): a viewer sees the actions disabled with the reason
// as their tooltip, an operator restarts a connector, an admin finds that restart on the Audit
// page; without a token the console says how to sign in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStack, launchBrowser, newPage, shot, connectorPath, runningConnectors, json, waitFor, OPTIONAL_404 } from './harness.mjs';

const TOKENS = { viewer: 'e2e-viewer-71', operator: 'e2e-operator-72', admin: 'e2e-admin-73' };
const sha = (t) => createHash('sha256').update(t).digest('hex');
let stack, browser, name;
const pages = [];

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kc-roles-'));
  const file = path.join(dir, 'kc.json');
  writeFileSync(file, JSON.stringify({ auth: {
    tokens: Object.entries(TOKENS).map(([role, t]) => ({ name: `${role}-bot`, sha256: sha(t), roles: { '*': role } })),
    // not the browser's loopback: the console must offer both ways to sign in
    trustedProxies: ['10.0.0.0/8'],
  } }));
  stack = await startStack({ env: { KC_CONFIG: file } });
  browser = await launchBrowser();
  [name] = await runningConnectors(stack);
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

async function pageAs(role, allow = []) {
  const init = role ? `localStorage.setItem('kc-api-token', ${JSON.stringify(TOKENS[role])})` : undefined;
  const p = await newPage(browser, { allow: [...OPTIONAL_404, ...allow], init });
  pages.push(p);
  return p.page;
}

test('a viewer sees every action disabled, with the reason as its tooltip', async () => {
  const page = await pageAs('viewer');
  await page.goto(stack.base + connectorPath(name, 'overview'));
  await page.waitForSelector('[data-testid=connector-state] .badge');
  for (const [action, what, need] of [['pause', 'pause connectors', 'operator'], ['restart', 'restart connectors', 'operator'],
    ['stop', 'stop connectors', 'operator'], ['delete', 'delete connectors', 'admin']]) {
    const b = await page.$(`[data-action=${action}]`);
    assert.ok(b, `${action} is shown, not hidden`);
    assert.ok(await b.evaluate((e) => e.disabled), `${action} is disabled`);
    assert.equal(await b.getAttribute('title'), `Role viewer may not ${what} on cluster default (needs ${need})`);
  }
  assert.match(await page.textContent('[data-testid=whoami]'), /viewer-bot · viewer/);
  assert.equal(await page.$('[data-testid=nav-audit]'), null, 'no Audit page for a viewer');
  await shot(page, '60-viewer-disabled');
  await page.goto(`${stack.base}/clusters/default/connectors`);
  await page.waitForSelector('.grid-row[data-name]');
  const nc = await page.$('[data-testid=new-connector]');
  assert.ok(await nc.evaluate((e) => e.disabled));
  assert.equal(await nc.getAttribute('title'), 'Role viewer may not create connectors on cluster default (needs admin)');
  // the gateway refuses the call the button would make, and never forwards it
  const before = (await json(`${stack.control}/counters`)).body.connect.total;
  const r = await json(`${stack.base}/api/default/connectors/${encodeURIComponent(name)}/restart`,
    { method: 'POST', headers: { Authorization: `Bearer ${TOKENS.viewer}` } });
  assert.equal(r.status, 403);
  assert.equal(r.body.message, 'role viewer may not restart connectors on cluster default');
  assert.equal((await json(`${stack.control}/counters`)).body.connect.total, before);
});

test('an operator restarts a connector; delete stays an admin\'s', async () => {
  const page = await pageAs('operator');
  await page.goto(stack.base + connectorPath(name, 'overview'));
  await page.waitForSelector('[data-action=restart]:not([disabled])');
  assert.equal(await page.getAttribute('[data-action=delete]', 'title'), 'Role operator may not delete connectors on cluster default (needs admin)');
  const restarts = async () => (await json(`${stack.control}/counters`)).body.connect.routes['POST /connectors/{name}/restart'] || 0;
  const n0 = await restarts();
  await page.click('[data-action=restart]');
  await page.waitForSelector('.toast-ok');
  await waitFor(async () => (await restarts()) > n0, { what: 'the restart reached Connect' });
});

test('the Audit page lists the restart, who made it and the refused one', async () => {
  const page = await pageAs('admin');
  await page.goto(`${stack.base}/clusters/default/connectors`);
  await page.waitForSelector('[data-testid=nav-audit]');
  await page.click('[data-testid=nav-audit]');
  await page.waitForSelector('[data-testid=audit-table]');
  const ok = page.locator('tr[data-route=connector_restart][data-user=operator-bot][data-outcome=ok]');
  await ok.first().waitFor();
  assert.match(await ok.first().textContent(), new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.equal(await page.locator('tr[data-route=connector_restart][data-user=viewer-bot][data-outcome=forbidden]').count(), 1);
  await shot(page, '61-audit');
  // the filter goes to the URL and to the gateway
  await page.fill('[data-testid=audit-user]', 'viewer-bot');
  await page.waitForFunction(() => [...document.querySelectorAll('tr[data-user]')].every((r) => r.dataset.user === 'viewer-bot'));
  assert.match(page.url(), /user=viewer-bot/);
});

test('without a token the console says how to sign in', async () => {
  const page = await pageAs(null, [/status of 401/]);
  page.on('dialog', (d) => d.dismiss());
  await page.goto(`${stack.base}/clusters/default/connectors`);
  await page.waitForSelector('[data-testid=signin-banner]');
  const text = await page.textContent('[data-testid=signin-banner]');
  assert.match(text, /Not signed in/);
  assert.match(text, /Sign in through your proxy/);
  assert.match(text, /API token/);
  assert.ok(await page.$('[data-action=enter-token]'));
  await shot(page, '62-sign-in');
});

test('no console errors', () => {
  for (const p of pages) assert.deepEqual(p.errors, []);
});
