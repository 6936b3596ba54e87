// e2e harness: starts the real connect-sim and kconnect-console from KC_BUILD_DIR on port 0,
// waits for their "listening on" lines (with deadlines), drives Debian's chromium through
// playwright-core, collects console errors, saves screenshots, and stops children TERM→KILL.
// startRealStack() puts the gateway in front of real Kafka Connect instead (test/real/stack.py).
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.join(here, 'artifacts');
const BUILD = process.env.KC_BUILD_DIR || path.resolve(here, '../../build');
const CHROMIUM = process.env.KC_CHROMIUM || '/usr/bin/chromium';

const children = new Set();
const realStacks = new Set(); // children running test/real/stack.py (own process groups)
process.on('exit', () => {
  for (const c of children) {
    // a real stack gets TERM (its stack.py then stops its JVMs); everything else KILL
    if (realStacks.has(c)) termRealStack(c);
    else { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  }
});

/**
 * Spawns a binary and resolves once `want(lines)` returns a value (or rejects at the deadline).
 * extra: { detached, onStart(child), stop(child) } for children that need their own stop.
 */
function startProcess(name, file, args, env, want, deadlineMs, extra = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: !!extra.detached });
    children.add(child);
    if (extra.onStart) extra.onStart(child);
    const log = [];
    let done = false;
    const timer = setTimeout(() => finish(new Error(`${name}: no readiness line within ${deadlineMs} ms\n${log.slice(-40).join('\n')}`)), deadlineMs);
    function finish(err, value) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) { (extra.stop || stopChild)(child); reject(err); } else resolve({ child, log, value });
    }
    const onData = (buf) => {
      for (const line of buf.toString().split('\n')) {
        if (!line) continue;
        log.push(line);
        if (log.length > 5000) log.splice(0, 1000);
        if (!done) { const v = want(log); if (v) finish(null, v); }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => finish(new Error(`${name}: ${e.message} (${file})`)));
    child.on('exit', (code, sig) => { children.delete(child); finish(new Error(`${name} exited early (code ${code}, signal ${sig})\n${log.slice(-40).join('\n')}`)); });
  });
}

function stopChild(child, graceMs = 3000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, graceMs);
    child.once('exit', () => { clearTimeout(t); children.delete(child); resolve(); });
    try { child.kill('SIGTERM'); } catch { clearTimeout(t); resolve(); }
  });
}

/** Starts kconnect-console with env; resolves with its process once it prints `listening on`. */
function startGateway(env) {
  return startProcess('kconnect-console', path.join(BUILD, 'kconnect-console'), [], env, (lines) => {
    for (const l of lines) { const m = /listening on (\d+\.\d+\.\d+\.\d+):(\d+)/.exec(l); if (m) return { host: m[1], port: Number(m[2]) }; }
    return null;
  }, 20000);
}

/**
 * Starts connect-sim + kconnect-console. opts: { connectors, workers, seed, env, simArgs }.
 * Returns { base, control, connect, jolokiaPort, stop(), gatewayLog, simLog }.
 */
export async function startStack(opts = {}) {
  const workers = opts.workers ?? 3;
  const simArgs = ['--connect-port', '0', '--jolokia-port', '0', '--control-port', '0', '--workers', String(workers), '--seed', String(opts.seed ?? 7)];
  if (opts.connectors) simArgs.push('--connectors', String(opts.connectors));
  if (opts.simArgs) simArgs.push(...opts.simArgs);
  const re = /listening on (\S+):(\d+) \((connect|control|jolokia worker=(\d+))\)/;
  const sim = await startProcess('connect-sim', path.join(BUILD, 'connect-sim'), simArgs, {}, (lines) => {
    const found = { jolokia: [] };
    for (const l of lines) {
      const m = re.exec(l);
      if (!m) continue;
      const hp = { host: m[1], port: Number(m[2]) };
      if (m[3] === 'connect') found.connect = hp;
      else if (m[3] === 'control') found.control = hp;
      else found.jolokia[Number(m[4])] = hp;
    }
    return found.connect && found.control && found.jolokia.filter(Boolean).length >= workers ? found : null;
  }, 20000);
  const s = sim.value;
  const connect = `http://${s.connect.host}:${s.connect.port}`;
  const control = `http://${s.control.host}:${s.control.port}`;
  const jolokiaPort = s.jolokia.find(Boolean).port;
  const env = {
    LISTEN_ADDR: '127.0.0.1:0',
    KAFKA_CONNECT_URL: connect,
    JOLOKIA_URL: `http://{host}:${jolokiaPort}/jolokia`,
    METRICS_CACHE_TTL: '1s',
    ...(opts.env || {}),
  };
  let gw;
  try { gw = await startGateway(env); } catch (e) { await stopChild(sim.child); throw e; }
  const base = `http://${gw.value.host}:${gw.value.port}`;
  return {
    base, control, connect, jolokiaPort,
    gatewayLog: gw.log, simLog: sim.log,
    async stop() { await stopChild(gw.child); await stopChild(sim.child); },
  };
}

// ---- HTTP helpers (node's fetch) ----
export async function json(url, init) {
  const r = await fetch(url, { ...init, headers: { 'Content-Type': 'application/json', ...(init && init.headers) } });
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  return { status: r.status, body, headers: r.headers };
}
export const setFault = (stack, body) => json(`${stack.control}/faults`, { method: 'PUT', body: JSON.stringify(body) });
export const simStatus = async (stack, name) => (await json(`${stack.connect}/connectors/${encodeURIComponent(name)}/status`)).body;

/** Names of connectors whose connector instance and tasks all run. */
export async function runningConnectors(stack) {
  const { body } = await json(`${stack.connect}/connectors?expand=status`);
  return Object.entries(body || {}).filter(([, v]) => v.status && v.status.connector.state === 'RUNNING' && v.status.tasks.length && v.status.tasks.every((t) => t.state === 'RUNNING')).map(([n]) => n).sort();
}

/** Polls fn until it returns truthy or the deadline passes. */
export async function waitFor(fn, { timeout = 10000, interval = 200, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? ': ' + last.message : ''}`);
}

// ---- browser ----
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/**
 * A page that records console errors and page errors into `errors`. `allow` is a list of
 * RegExps matched against "text @ url" for errors a test provokes on purpose (e.g. a 404 of
 * an unknown connector).
 */
export async function newPage(browser, { colorScheme = 'light', allow = [], init } = {}) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const where = m.location() && m.location().url ? m.location().url : '';
    const s = `${m.text()} @ ${where}`;
    if (!allow.some((re) => re.test(s))) errors.push(s);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.setDefaultTimeout(15000);
  return { page, context, errors };
}

export async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** CSS selector of a list row (names may hold quotes, spaces, slashes). */
export const rowSel = (name) => `.grid-row[data-name=${JSON.stringify(name)}]`;

/** URL of a connector page in the console. */
export const connectorPath = (name, tab = 'overview', cluster = 'default') =>
  `/clusters/${encodeURIComponent(cluster)}/connectors/${encodeURIComponent(name)}/${tab}`;

// Optional resources the gateway may not offer (yet); their 404s are not UI errors.
// 404s the console expects and handles: alerts on a gateway without rules, and Connect's
// "No status found" for a connector created a moment ago (real Connect writes the status record
// asynchronously; connect-sim models it) — the detail page shows "starting" and asks again.
export const OPTIONAL_404 = [/status of 404.*\/api\/[^/]+\/alerts\b/,
  /status of 404.*\/api\/[^/]+\/connectors\/[^/]+\/status$/];

// ---- the real stack (test/real/stack.py: a KRaft broker, two Connect workers, Jolokia) ----
const SOURCE = process.env.KC_SOURCE_DIR || path.resolve(here, '../..');
const REAL_DEADLINE_MS = Number(process.env.KC_REAL_DEADLINE_MS) || 180000;

/** TERM to the stack's process group: stack.py stops its JVMs and removes its folder itself. */
function termRealStack(child) {
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
}
/** TERM, then KILL of the group after 70 s: stack.py stops two workers and the broker, each
 * TERM then KILL after 20 s. */
async function stopRealStack(child) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    termRealStack(child);
    const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 70000);
    await exited;
    clearTimeout(t);
  }
  realStacks.delete(child);
  children.delete(child);
}
function onRealSignal(sig) {
  for (const c of realStacks) termRealStack(c);
  process.exit(sig === 'SIGINT' ? 130 : 143);
}

/** pids of processes whose command line holds `needle` (the stack's JVMs name its run folder). */
function pidsWith(needle) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d)); } catch { /* gone */ }
  }
  return out;
}

/** Runs `python3 test/real/stack.py fetch` (Maven; instant once build/real is filled). */
function fetchRealJars(deadlineMs = 600000) {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [path.join(SOURCE, 'test/real/stack.py'), 'fetch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, deadlineMs);
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`real stack: python3: ${e.message}`)); });
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(out.trim().split('\n').pop() || `real stack: fetch failed (exit ${code})`));
    });
  });
}

/**
 * Starts the real stack (`python3 test/real/stack.py up`, in its own process group) and
 * kconnect-console in front of both workers. opts: { jolokia: 2|1, env }.
 * Returns { base, connect, connectUrls, jolokiaPort, runDir, stop(), gatewayLog, stackLog }.
 * A test run that ends or is interrupted TERMs the stack, which then removes everything.
 */
export async function startRealStack(opts = {}) {
  await fetchRealJars();
  if (!realStacks.size) { process.once('SIGINT', onRealSignal); process.once('SIGTERM', onRealSignal); }
  const re = /listening on (\S+):(\d+) \((connect|jolokia worker=(\d+))\)/;
  const args = [path.join(SOURCE, 'test/real/stack.py'), 'up', '--jolokia', String(opts.jolokia ?? 2)];
  const stack = await startProcess('real stack', 'python3', args, {}, (lines) => {
    const found = { jolokia: [] };
    for (const l of lines) {
      const m = re.exec(l);
      if (m && m[3] === 'connect') found.connect = { host: m[1], port: Number(m[2]) };
      else if (m) found.jolokia[Number(m[4])] = { host: m[1], port: Number(m[2]) };
      const r = /^real stack: .* logs in (\S+)/.exec(l);
      if (r) found.runDir = r[1];
    }
    return found.connect && found.runDir && found.jolokia.filter(Boolean).length >= 2 ? found : null;
  }, REAL_DEADLINE_MS, { detached: true, onStart: (c) => realStacks.add(c), stop: stopRealStack });
  const s = stack.value;
  const connectUrls = s.jolokia.map((j) => `http://${j.host}:${s.connect.port}`);
  const jolokiaPort = s.jolokia[0].port;
  const stopStack = async () => {
    await stopRealStack(stack.child);
    // Only when stack.py itself had to be killed: its JVMs (own sessions) name its run folder.
    for (const pid of pidsWith(s.runDir)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  };
  const env = {
    LISTEN_ADDR: '127.0.0.1:0',
    KAFKA_CONNECT_URL: connectUrls.join(','),
    JOLOKIA_URL: `http://{host}:${jolokiaPort}/jolokia`,
    METRICS_CACHE_TTL: '1s',
    ...(opts.env || {}),
  };
  let gw;
  try { gw = await startGateway(env); } catch (e) { await stopStack(); throw e; }
  return {
    base: `http://${gw.value.host}:${gw.value.port}`,
    connect: connectUrls[0], connectUrls, jolokiaPort, runDir: s.runDir,
    gatewayLog: gw.log, stackLog: stack.log,
    async stop() { await stopChild(gw.child); await stopStack(); },
  };
}
