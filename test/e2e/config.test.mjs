// Config tab against the real gateway + connect-sim: per-field validation errors from Connect's
// validate (shown next to the field, saving refused until fixed), saving a form edit with masked
// secrets left untouched (the simulator keeps the real values), and the transforms (SMT) editor
// (add, parameters, reorder, diff, save, remove).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, newPage, shot, connectorPath, json, waitFor, OPTIONAL_404 } from './harness.mjs';

// connect-sim answers GET /connector-plugins/{plugin}/config for connector classes only (real
// Connect ≥ 3.2 answers it for transformations too); the SMT editor then falls back to free-form
// parameters. That 404 is expected, not a UI error.
const SMT_DEFS_404 = /status of 404.*\/connector-plugins\/[^/]*transforms[^/]*\/config\b/;

const PG = 'my conn.v2'; // PostgresConnector: database.hostname is required, database.password secret
const FILE = 'eu:orders'; // FileStreamSourceConnector with two secrets
const INSERT = 'org.apache.kafka.connect.transforms.InsertField$Value';
const ROUTER = 'org.apache.kafka.connect.transforms.RegexRouter';

let stack, browser, page, errors;
const simConfig = async (n) => (await json(`${stack.connect}/connectors/${encodeURIComponent(n)}/config`)).body;
const field = (k) => `[data-testid=config-form] [data-field=${JSON.stringify(k)}]`;
const smt = (alias) => `[data-testid=smt-editor] .smt[data-alias=${JSON.stringify(alias)}]`;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  ({ page, errors } = await newPage(browser, { allow: [...OPTIONAL_404, SMT_DEFS_404] }));
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

async function openEditor(name) {
  await page.goto(stack.base + connectorPath(name, 'config'));
  await page.waitForSelector('[data-testid=config-view]');
  await page.click('[data-action=edit-config]');
  await page.waitForSelector('[data-testid=config-form]');
  await page.waitForSelector('[data-testid=smt-editor]');
  // the transformation classes offered come from the plugin list
  await page.waitForFunction(() => document.querySelectorAll('#smt-types option').length > 0);
}

async function reviewAndSave() {
  await page.click('[data-action=review]');
  await page.waitForSelector('dialog[open] [data-action=save-config]:not([disabled])');
  await page.click('dialog[open] [data-action=save-config]');
  await page.waitForSelector('[data-testid=config-view]');
}

test('a field Connect rejects shows its error next to it; saving is refused until fixed', async () => {
  const before = await simConfig(PG);
  await openEditor(PG);
  // the secret is shown masked, never in clear
  assert.equal(await page.inputValue(`${field('database.password')} input`), '********');
  assert.equal(await page.getAttribute(`${field('database.password')} input`, 'type'), 'password');
  // typing into a masked secret replaces the mask, it never appends to it; the exact mask again keeps the secret
  await page.click(`${field('database.password')} input`);
  await page.keyboard.type('x');
  assert.equal(await page.inputValue(`${field('database.password')} input`), 'x');
  await page.fill(`${field('database.password')} input`, '********');

  await page.fill(`${field('database.hostname')} input`, '');
  await page.fill(`${field('tasks.max')} input`, 'many');
  await page.click('[data-action=validate]');
  await page.waitForSelector(`${field('database.hostname')} .ferr`);
  assert.match(await page.textContent(`${field('database.hostname')} .ferr`), /Missing required configuration "database\.hostname"/);
  assert.match(await page.textContent(`${field('tasks.max')} .ferr`), /Invalid value many for configuration tasks\.max/);
  assert.ok(await page.$eval(`${field('database.hostname')} input`, (e) => e.classList.contains('invalid')));
  // other fields carry no error
  assert.equal(await page.$(`${field('database.dbname')} .ferr`), null);
  await shot(page, '70-config-field-errors');

  // review: Connect would refuse this, so the dialog says so and Save stays disabled
  await page.click('[data-action=review]');
  await page.waitForSelector('dialog[open] [data-action=save-config]');
  assert.match(await page.textContent('dialog[open] .dialog-body'), /2 validation error/);
  assert.equal(await page.isDisabled('dialog[open] [data-action=save-config]'), true);
  await shot(page, '71-config-save-refused');
  await page.click('dialog[open] footer button[value=cancel]');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  assert.deepEqual(await simConfig(PG), before, 'nothing was written');

  // fix both fields: no errors any more
  await page.fill(`${field('database.hostname')} input`, 'pg2.internal');
  await page.fill(`${field('tasks.max')} input`, '1');
  await page.click('[data-action=validate]');
  await page.waitForFunction(() => !document.querySelector('[data-testid=config-form] .ferr'));
  assert.equal(await page.$(`${field('database.hostname')} input.invalid`), null);
  await page.waitForSelector('text=Connect accepts this configuration');
  await shot(page, '72-config-fixed');
});

test('saving a form edit keeps masked secrets and writes the changed key', async () => {
  // continues in the editor of the previous test: database.hostname = pg2.internal
  await page.click('[data-action=review]');
  await page.waitForSelector('dialog[open] [data-testid=config-diff]');
  const diff = await page.textContent('dialog[open] [data-testid=config-diff]');
  assert.match(diff, /database\.hostname: "pg\.internal" → "pg2\.internal"/);
  assert.doesNotMatch(diff, /password/, 'untouched secrets are not a change');
  await shot(page, '73-config-diff');
  await page.click('dialog[open] [data-action=save-config]:not([disabled])');
  await page.waitForSelector('[data-testid=config-view]');

  const cfg = await waitFor(async () => { const c = await simConfig(PG); return c['database.hostname'] === 'pg2.internal' ? c : null; }, { what: 'hostname saved in the simulator' });
  assert.equal(cfg['database.hostname'], 'pg2.internal');
  assert.equal(cfg['database.password'], 'dbz-pw-9', 'the real password is kept');
  assert.ok(!Object.values(cfg).includes('********'), 'the mask is never written');
  // the view shows the secret as hidden
  await page.waitForSelector('[data-testid=config-view] tr[data-key="database.password"] .masked');
  assert.equal(await page.textContent('[data-testid=config-view] tr[data-key="database.hostname"] td:nth-child(2)'), 'pg2.internal');
});

test('transforms editor: add two, set parameters, reorder, diff, save, remove one', async () => {
  const secretsBefore = await simConfig(FILE);
  assert.equal(secretsBefore.transforms, undefined);
  await openEditor(FILE);

  async function addTransform(alias, type, params) {
    await page.fill('[data-testid=smt-new-alias]', alias);
    await page.fill('[data-testid=smt-new-type]', type);
    await page.click('[data-action=add-transform]');
    await page.waitForSelector(smt(alias));
    for (const [k, v] of Object.entries(params)) {
      await page.fill(`${smt(alias)} input[aria-label="New parameter name"]`, k);
      await page.fill(`${smt(alias)} input[aria-label="New parameter value"]`, v);
      await page.click(`${smt(alias)} button:has-text("Add")`);
      await page.waitForSelector(`${smt(alias)} input[aria-label=${JSON.stringify('Value of ' + k)}]`);
    }
  }
  await addTransform('addSource', INSERT, { 'static.field': 'source', 'static.value': 'console e2e' });
  await addTransform('route', ROUTER, { regex: '(.*)', replacement: 'eu-$1' });
  const order = () => page.$$eval('[data-testid=smt-editor] .smt', (els) => els.map((e) => e.dataset.alias));
  assert.deepEqual(await order(), ['addSource', 'route']);

  await page.click(`${smt('route')} button[aria-label="Move route up"]`);
  await waitFor(async () => (await order()).join() === 'route,addSource', { what: 'route moved up' });
  await shot(page, '74-smt-editor');

  await page.click('[data-action=review]');
  await page.waitForSelector('dialog[open] [data-testid=config-diff]');
  const diff = await page.textContent('dialog[open] [data-testid=config-diff]');
  for (const line of ['+ transforms = "route,addSource"', `+ transforms.route.type = "${ROUTER}"`, '+ transforms.route.regex = "(.*)"',
    '+ transforms.route.replacement = "eu-$1"', `+ transforms.addSource.type = "${INSERT}"`, '+ transforms.addSource.static.field = "source"',
    '+ transforms.addSource.static.value = "console e2e"']) assert.ok(diff.includes(line), `diff shows ${line}\n${diff}`);
  await shot(page, '75-smt-diff');
  await page.click('dialog[open] [data-action=save-config]:not([disabled])');
  await page.waitForSelector('[data-testid=config-view]');

  let cfg = await waitFor(async () => { const c = await simConfig(FILE); return c.transforms ? c : null; }, { what: 'transforms saved' });
  assert.equal(cfg.transforms, 'route,addSource');
  assert.equal(cfg['transforms.route.type'], ROUTER);
  assert.equal(cfg['transforms.route.regex'], '(.*)');
  assert.equal(cfg['transforms.route.replacement'], 'eu-$1');
  assert.equal(cfg['transforms.addSource.type'], INSERT);
  assert.equal(cfg['transforms.addSource.static.field'], 'source');
  assert.equal(cfg['transforms.addSource.static.value'], 'console e2e');
  assert.equal(cfg['producer.override.ssl.truststore.password'], secretsBefore['producer.override.ssl.truststore.password']);
  assert.equal(cfg['producer.override.sasl.jaas.config'], secretsBefore['producer.override.sasl.jaas.config']);

  // the editor reads the saved transforms back in order; remove one
  await page.click('[data-action=edit-config]');
  await page.waitForSelector(smt('route'));
  assert.deepEqual(await order(), ['route', 'addSource']);
  assert.equal(await page.inputValue(`${smt('route')} input[aria-label="Value of replacement"]`), 'eu-$1');
  await page.click(`${smt('route')} button[aria-label="Remove route"]`);
  await page.waitForSelector(smt('route'), { state: 'detached' });
  await page.click('[data-action=review]');
  await page.waitForSelector('dialog[open] [data-testid=config-diff]');
  const diff2 = await page.textContent('dialog[open] [data-testid=config-diff]');
  assert.ok(diff2.includes('~ transforms: "route,addSource" → "addSource"'), diff2);
  assert.ok(diff2.includes('- transforms.route.type'), diff2);
  await page.click('dialog[open] [data-action=save-config]:not([disabled])');
  await page.waitForSelector('[data-testid=config-view]');
  cfg = await waitFor(async () => { const c = await simConfig(FILE); return c.transforms === 'addSource' ? c : null; }, { what: 'transform removed' });
  assert.deepEqual(Object.keys(cfg).filter((k) => k.startsWith('transforms.route')), []);
  assert.equal(cfg['transforms.addSource.static.value'], 'console e2e');
  assert.equal(cfg['producer.override.ssl.truststore.password'], secretsBefore['producer.override.ssl.truststore.password']);
  await shot(page, '76-smt-removed');
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
