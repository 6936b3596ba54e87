// The seed's MetricsCard: metric boxes with icons and green/yellow/red status, trend arrows
// against the previous sample, per-task table, "Metrics Unavailable" guidance; live through the
// browser's one shared stream (live.js: every tab on one connection) with polling as fallback;
// uPlot charts of the last hour from the history endpoint. A tab hidden longer than the TTL
// leaves the stream; shown again, it catches up from the current document and the history.
// The colours of error rate, lag and records/s follow the gateway's alert rules when it has
// them (red above a rule's threshold, yellow above half of it).
import { h, replace, num, compact, bytes, pct, ago } from '../dom.js';
import { icon } from '../icons.js';
import { badge, errorText, section } from '../ui.js';
import { onThemeChange } from '../theme.js';
import { alertThresholds, errorRateLevel, lagLevel } from '../alerts.js';
import { ApiError } from '../api.js';
import * as live from '../live.js';

const HOUR = 3600 * 1000;
const TREND_EPS = 0.02; // relative change below 2 % counts as stable

/**
 * Trend of `cur` against `prev`. higherIsBetter decides whether a rise is ↗ (improving) or ↘.
 * Returns { dir: 'up'|'down'|'flat', mood: 'improving'|'degrading'|'stable', symbol }.
 */
export function trend(cur, prev, higherIsBetter) {
  if (cur == null || prev == null || !Number.isFinite(cur) || !Number.isFinite(prev)) return null;
  const d = cur - prev;
  const base = Math.max(Math.abs(prev), Math.abs(cur), 1e-9);
  let dir = 'flat';
  if (Math.abs(d) / base > TREND_EPS && Math.abs(d) > 1e-9) dir = d > 0 ? 'up' : 'down';
  if (dir === 'flat') return { dir, mood: 'stable', symbol: '→', prev };
  const good = (dir === 'up') === higherIsBetter;
  return { dir, mood: good ? 'improving' : 'degrading', symbol: good ? '↗' : '↘', prev };
}

export const GUIDANCE = [
  ['Jolokia not configured', ': install the Jolokia JVM agent on every Connect worker (KAFKA_JMX_OPTS="-javaagent:/opt/jolokia-jvm-agent.jar=port=8778,host=0.0.0.0") and set JOLOKIA_URL on the gateway, e.g. http://{host}:8778/jolokia.'],
  ['Network connectivity', ': make sure the gateway can reach the Jolokia URL of each worker (curl http://WORKER:8778/jolokia/version).'],
  ['Permissions', ': JMX/Jolokia may require authentication in production; give the gateway the Jolokia credentials.'],
];

const lagOf = (d) => (d.lag == null ? null : typeof d.lag === 'number' ? d.lag : d.lag.recordsLagMax ?? null);

function isJolokiaWarning(w) { return /jolokia|jmx|bean/i.test(String(w)); }

/**
 * MetricsCard({ connectorName, refreshInterval = 5000, alertRules }) plus the page's api and
 * life. alertRules: the gateway's rules (settings.alertRules); without them the built-in
 * thresholds apply.
 */
export function MetricsCard({ connectorName, cluster = 'default', refreshInterval = 5000, alertRules, api, life }) {
  const th = alertThresholds(alertRules);
  let prev = null;
  let cur = null;
  let lastError = null;
  let mode = 'connecting'; // 'live' | 'polling' | 'connecting' | 'paused'
  let unsub = null;
  let pollTimer = null;
  let nextPoll = 0;
  let lastEventAt = 0;
  const listeners = [];
  const resumers = [];

  const warnEl = h('div', { 'data-testid': 'metrics-warning-host' });
  const modeEl = h('span.live');
  const updatedEl = h('span.hint');
  const boxesEl = h('div.mboxes', { 'data-testid': 'metric-boxes' });
  const tasksEl = h('div');
  const el = h('div.metrics-card', { 'data-testid': 'metrics-card' },
    h('div.metrics-head', h('h2', 'Metrics'), modeEl, h('span.spacer'), updatedEl),
    warnEl, boxesEl, tasksEl);

  function setMode(m) {
    mode = m;
    paintMode();
  }
  function paintMode() {
    if (mode === 'live') replace(modeEl, h('span.dot.ok'), h('span', { 'data-testid': 'metrics-mode' }, 'Live'));
    else if (mode === 'polling') {
      const s = Math.max(0, Math.ceil((nextPoll - Date.now()) / 1000));
      replace(modeEl, h('span.dot'), h('span', { 'data-testid': 'metrics-mode' }, `Polling every ${num(refreshInterval / 1000, 1)} s · next in ${s}s`));
    } else if (mode === 'paused') replace(modeEl, h('span.dot'), h('span', { 'data-testid': 'metrics-mode' }, 'Paused while this tab is hidden'));
    else replace(modeEl, h('span.spinner'), h('span', 'Connecting…'));
    if (cur) updatedEl.textContent = `Updated ${ago(cur.lastUpdated)} · collected in ${num((cur.collectionDuration || 0) / 1e6, 1)} ms${cur.stale ? ' · stale' : ''}`;
  }

  function accept(doc) {
    if (!life.alive || !doc) return;
    lastError = null;
    if (cur && cur.lastUpdated === doc.lastUpdated) { paint(); return; } // same cached sample
    prev = cur;
    cur = doc;
    el.dataset.updated = doc.lastUpdated || '';
    paint();
    for (const fn of listeners) fn(doc);
  }

  function fail(e) {
    if (!life.alive) return;
    lastError = e;
    paint();
  }

  // ---- transport: the browser's shared stream first, polling as fallback ----
  function stopStream() { if (unsub) { unsub(); unsub = null; } }

  function startStream() {
    unsub = live.subscribe(cluster, connectorName, {
      onEvent(event, data) {
        if (!life.alive) return;
        lastEventAt = Date.now();
        if (data.status === 200) {
          stopPolling();
          if (mode !== 'live') setMode('live');
          accept(data.doc);
          return;
        }
        fail(new ApiError(data.status, data.doc, '', ''));
        // A connector the gateway no longer knows has left the stream: keep asking by polling.
        if (data.status === 404) { stopStream(); startPolling(); }
      },
      onState(isLive) { if (!isLive && mode === 'live') setMode('connecting'); },
      onAway() { if (life.alive) setMode('paused'); },
      onResume() {
        if (!life.alive) return;
        setMode(pollTimer ? 'polling' : 'connecting');
        poll(); // the numbers at once; the stream follows
        for (const fn of resumers) fn();
      },
    });
    if (!unsub) return startPolling();
    life.on(stopStream);
    // A stream that opens but never speaks is no better than none: poll until it does.
    life.timeout(() => { if (!lastEventAt && life.alive) startPolling(); }, Math.max(8000, refreshInterval * 2));
  }

  async function poll() {
    try { accept(await api.metrics(connectorName)); } catch (e) { fail(e); }
    nextPoll = Date.now() + refreshInterval;
    paintMode();
  }

  function startPolling() {
    if (pollTimer || !life.alive) return;
    setMode('polling');
    poll();
    // hidden tabs do not poll; shown again, they ask at once
    pollTimer = life.interval(() => {
      if (document.visibilityState === 'hidden') return;
      if (Date.now() >= nextPoll) poll(); else paintMode();
    }, 500);
  }

  function stopPolling() {
    if (!pollTimer) return;
    clearInterval(pollTimer);
    pollTimer = null;
  }

  // A first sample at once (the stream may take a moment), then the live transport.
  poll().then(() => { if (life.alive) { mode = 'connecting'; startStream(); } });
  life.interval(() => { if (mode === 'live') paintMode(); }, 1000);

  // ---- painting ----
  function paint() {
    paintWarning();
    paintMode();
    if (!cur) { if (lastError) replace(boxesEl); return; }
    paintBoxes();
    paintTasks();
  }

  function paintWarning() {
    const jw = cur && !lastError ? (cur.warnings || []).filter(isJolokiaWarning) : [];
    const other = cur && !lastError ? (cur.warnings || []).filter((w) => !isJolokiaWarning(w)) : [];
    if (!lastError && !jw.length) {
      replace(warnEl, other.length ? h('div.callout.callout-info', icon('info', 18), h('div', h('strong', 'Collection notes'), h('ul', other.map((w) => h('li', w))))) : null);
      return;
    }
    const title = 'Metrics Unavailable';
    const why = lastError
      ? h('p.errmsg', { 'data-testid': 'metrics-error' }, lastError.status === 404 ? `The connector was not found (${errorText(lastError)}).` : errorText(lastError))
      : h('div', h('p', { style: { margin: '4px 0' } }, 'JMX metrics could not be collected through Jolokia; throughput and resources show zero. Task states still come from Kafka Connect.'),
        h('ul', { 'data-testid': 'metrics-warnings' }, jw.map((w) => h('li', h('code', w)))));
    replace(warnEl, h('div.callout.callout-warn', { role: 'alert', 'data-testid': 'metrics-unavailable' }, icon('alert', 18),
      h('div', h('strong', title), why,
        h('div', { style: { marginTop: '6px' } }, 'Common causes:'),
        h('ol', GUIDANCE.map(([b, t]) => h('li', h('strong', b), t))),
        h('div.hint', 'See the ', h('a', { href: '/gateway' }, 'gateway health page'), ' for each Jolokia agent’s reachability.'))));
  }

  function box(key, ic, label, value, { sub, status = 'muted', tr, raw, title } = {}) {
    return h('div.mbox', { class: `s-${status}`, 'data-metric': key, 'data-status': status, title: title || null },
      h('div.mbox-icon', icon(ic, 18)),
      h('div.mbox-label', label),
      tr ? h('span.trend', { class: tr.mood === 'improving' ? 'good' : tr.mood === 'degrading' ? 'bad' : 'flat', 'data-trend': tr.mood, 'data-direction': tr.dir, 'data-prev': tr.prev,
        title: `${tr.mood} vs previous sample`, 'aria-label': `${tr.mood} vs previous sample` }, tr.symbol) : h('span.trend.flat', { 'data-trend': 'none' }, ''),
      h('div.mbox-value', { 'data-value': raw ?? '' }, value),
      sub ? h('div.mbox-sub', sub) : null);
  }

  function paintBoxes() {
    const t = cur.throughput || {}, e = cur.errors || {}, r = cur.resources || {};
    const pt = (prev && prev.throughput) || {}, pe = (prev && prev.errors) || {};
    const tasks = cur.tasks || [];
    const running = tasks.filter((x) => x.state === 'RUNNING').length;
    const failed = tasks.filter((x) => x.state === 'FAILED').length;
    const st = cur.state || (tasks.length && running === tasks.length ? 'RUNNING' : '');
    const flowing = (t.recordsPerSecond || 0) > 0;
    // with a zero_throughput rule: yellow at or below its threshold (default 0) while RUNNING
    const stalled = th.zeroThroughput != null ? (t.recordsPerSecond || 0) <= th.zeroThroughput : !flowing;
    const tpStatus = st && st !== 'RUNNING' ? 'muted' : stalled ? 'warn' : 'ok';
    const rateStatus = errorRateLevel(e.errorRate, th);
    const recentStatus = e.recentErrorCount > 10 ? 'bad' : e.recentErrorCount > 0 ? 'warn' : 'ok';
    const memRatio = r.memoryTotalMB ? r.memoryUsedMB / r.memoryTotalMB : null;
    const lagV = lagOf(cur);
    const plag = prev ? lagOf(prev) : null;
    const noJmx = (cur.warnings || []).some(isJolokiaWarning);
    // a sample without JMX data is missing data, not a trend: no arrows across such samples
    const comparable = !noJmx && prev && !(prev.warnings || []).some(isJolokiaWarning);
    const tr = (a, b, hib) => (comparable ? trend(a, b, hib) : null);
    const q = (st) => (noJmx ? 'muted' : st);
    replace(boxesEl,
      box('recordsPerSecond', 'zap', 'Records / s', compact(t.recordsPerSecond), { raw: t.recordsPerSecond, status: noJmx ? 'warn' : tpStatus, tr: tr(t.recordsPerSecond, pt.recordsPerSecond, true), sub: `${compact(t.totalRecords)} records total` }),
      box('bytesPerSecond', 'database', 'Bytes / s', bytes(t.bytesPerSecond) + '/s', { raw: t.bytesPerSecond, status: noJmx ? 'warn' : tpStatus, tr: tr(t.bytesPerSecond, pt.bytesPerSecond, true), sub: `${bytes(t.totalBytes)} total` }),
      box('totalErrors', 'bug', 'Errors', compact(e.totalErrors), { raw: e.totalErrors, status: q(recentStatus), tr: tr(e.recentErrorCount, pe.recentErrorCount, false), sub: `${num(e.recentErrorCount, 0)} in the last window`, title: 'Arrow compares the errors of this collection window with the previous one' }),
      box('errorRate', 'percent', 'Error rate', pct(e.errorRate, 4), { raw: e.errorRate, status: q(rateStatus), tr: tr(e.errorRate, pe.errorRate, false),
        sub: th.errorRate != null ? `errors ÷ records · alert above ${pct(th.errorRate, 4)}` : 'errors ÷ records' }),
      box('lag', 'hourglass', 'Consumer lag', lagV == null ? 'n/a' : compact(lagV), { raw: lagV, status: lagV == null ? 'muted' : q(lagLevel(lagV, th)), tr: lagV == null ? null : tr(lagV, plag, false), sub: lagV == null ? (cur.type === 'source' ? 'sources have no lag metric' : 'not reported') : 'max records behind, over tasks' }),
      box('tasks', 'layers', 'Tasks running', `${running} / ${tasks.length}`, { raw: running, status: failed ? 'bad' : running === tasks.length && tasks.length ? 'ok' : 'warn', sub: failed ? `${failed} failed` : st ? `connector ${st}` : '' }),
      box('cpuPercent', 'cpu', 'CPU (worker)', noJmx && !r.cpuPercent ? '—' : pct(r.cpuPercent, 1), { raw: r.cpuPercent, status: noJmx ? 'muted' : r.cpuPercent >= 90 ? 'bad' : r.cpuPercent >= 70 ? 'warn' : 'ok', sub: 'highest of its workers' }),
      box('memory', 'memory', 'Heap used', noJmx && !r.memoryTotalMB ? '—' : `${num(r.memoryUsedMB, 0)} MiB`, { raw: r.memoryUsedMB, status: memRatio == null ? 'muted' : memRatio >= 0.9 ? 'bad' : memRatio >= 0.75 ? 'warn' : 'ok', sub: memRatio == null ? 'no data' : `${pct(memRatio * 100, 0)} of ${num(r.memoryTotalMB, 0)} MiB` }),
      box('threadCount', 'threads', 'Threads', noJmx && !r.threadCount ? '—' : num(r.threadCount, 0), { raw: r.threadCount, status: noJmx ? 'muted' : 'ok', sub: 'JVM threads of its workers' }));
  }

  function paintTasks() {
    const tasks = cur.tasks || [];
    const prevTasks = new Map(((prev && prev.tasks) || []).map((t) => [t.taskId, t]));
    replace(tasksEl, section(`Tasks (${tasks.length})`, tasks.length ? h('table.tbl', { 'data-testid': 'metrics-tasks' },
      h('thead', h('tr', h('th', 'Task'), h('th', 'State'), h('th', 'Worker'), h('th.num', 'Records'), h('th.num', 'Bytes'), h('th.num', 'Errors'), h('th.num', 'Δ records'))),
      h('tbody', tasks.map((t) => {
        const p = prevTasks.get(t.taskId);
        // a drop is a restart (counters reset) or missing JMX data, not negative work
        const d = p && t.recordsProcessed >= p.recordsProcessed ? t.recordsProcessed - p.recordsProcessed : null;
        return h('tr', { 'data-task': t.taskId },
          h('td', '#' + t.taskId), h('td', badge(t.state)), h('td.mono', t.workerId || '—'),
          h('td.num', num(t.recordsProcessed, 0)), h('td.num', bytes(t.bytesProcessed)),
          h('td.num', { class: t.errorCount ? 't-warn' : '' }, num(t.errorCount, 0)),
          h('td.num.muted', d == null ? '—' : (d >= 0 ? '+' : '') + num(d, 0)));
      }))) : h('p.muted', 'No tasks.')));
  }

  paint();
  return { el, onSample: (fn) => listeners.push(fn), onResume: (fn) => resumers.push(fn), get current() { return cur; } };
}

// ---- charts (uPlot, loaded on demand from the vendored copy) ----
let uplotPromise = null;
function loadUplot() {
  if (!uplotPromise) {
    if (!document.querySelector('link[data-uplot]')) document.head.appendChild(h('link', { rel: 'stylesheet', href: '/vendor/uplot/uPlot.min.css', 'data-uplot': '1' }));
    uplotPromise = import('/vendor/uplot/uPlot.esm.js').then((m) => m.default);
  }
  return uplotPromise;
}

const CHARTS = [
  { key: 'recordsPerSecond', title: 'Records / s', fmt: compact, axisFmt: (vals, d) => compactAxis(vals, d), color: '--accent' },
  { key: 'bytesPerSecond', title: 'Bytes / s', fmt: (v) => bytes(v) + '/s', axisFmt: (vals, d) => bytesAxis(vals, d), color: '--ok' },
  { key: 'totalErrors', title: 'Errors (total)', fmt: compact, axisFmt: (vals, d) => compactAxis(vals, d), color: '--bad' },
  { key: 'lag', title: 'Consumer lag (max records)', fmt: compact, axisFmt: (vals, d) => compactAxis(vals, d), color: '--warn' },
];

// Sources have no consumer lag (Connect reports none for them): no lag chart.
const chartsFor = (type) => CHARTS.filter((c) => !(c.key === 'lag' && type === 'source'));

// ---- y axis of a (nearly) flat series ----
const fixedNf = new Map();
function fixed(v, d) {
  if (!fixedNf.has(d)) fixedNf.set(d, new Intl.NumberFormat(undefined, { minimumFractionDigits: d, maximumFractionDigits: d }));
  return fixedNf.get(d).format(v);
}
// The axis's values with `d` fraction digits in ONE unit, the one of the largest value.
function compactAxis(vals, d) {
  const a = Math.max(...vals.map((v) => Math.abs(v)));
  const [div, unit] = a >= 1e9 ? [1e9, ' G'] : a >= 1e6 ? [1e6, ' M'] : a >= 1e4 ? [1e3, ' k'] : [1, ''];
  return vals.map((v) => fixed(v / div, d) + unit);
}
function bytesAxis(vals, d) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  for (let a = Math.max(...vals.map((v) => Math.abs(v))); a >= 1024 && i < u.length - 1; a /= 1024) i++;
  return vals.map((v) => fixed(v / 1024 ** i, d) + ' ' + u[i] + '/s');
}
/**
 * Labels of the y axis that tell the ticks apart: the chart's own format, and where a narrow
 * range (a series that barely moves: 1.26 MiB/s ± 0.5 %, 14,2xx errors) prints neighbouring
 * ticks alike, the same unit for every tick with as many more digits as it takes (up to 6).
 */
function axisLabels(vals, fmt, axisFmt) {
  const ticks = vals.filter((v) => v != null && Number.isFinite(v));
  const plain = vals.map((v) => fmt(v));
  if (new Set(plain).size === plain.length || ticks.length !== vals.length) return plain;
  for (let d = 0; d <= 6; d++) {
    const l = axisFmt(vals, d);
    if (new Set(l).size === l.length) return l;
  }
  return plain;
}
/**
 * y range: uPlot's own, except for a series flat within 0.1 % of its value (equal samples, or
 * float noise on a constant), which gets the range uPlot gives a constant — zero to about
 * twice the value, or 0–100 at zero — instead of a sliver around it.
 */
function yRange(lib, min, max) {
  if (min == null || max == null) return [0, 100];
  const flat = max - min <= Math.max(Math.abs(min) * 1e-3, Math.abs(max) * 1e-3, 1e-9);
  return flat ? lib.rangeNum(max, max, 0.1, true) : lib.rangeNum(min, max, 0.1, true);
}

/**
 * y ticks: uPlot's, at the increment it found, unless fewer than two fall inside the range —
 * which happens when its second layout pass (with the x axis' height known) picks a coarser
 * increment, e.g. one tick at 1.3 MB/s for a series between 1.26 and 1.34 MB/s. Then the
 * increment is halved until two or more do.
 */
function ySplits(u, axisIdx, min, max, incr) {
  for (let step = incr, i = 0; i < 4; i++, step /= 2) {
    const ticks = [];
    for (let k = Math.ceil(min / step); k * step <= max; k++) ticks.push(+(k * step).toPrecision(12));
    if (ticks.length >= 2) return ticks;
  }
  return [min, max];
}

function MetricsCharts({ api, life, connectorName, card, type }) {
  const note = h('div.hint');
  const grid = h('div.charts', { 'data-testid': 'metrics-charts' });
  const el = h('div', { style: { marginTop: '16px' } }, h('div.metrics-head', h('h2', 'Last hour'), note), grid);
  const data = { t: [], recordsPerSecond: [], bytesPerSecond: [], totalErrors: [], lag: [] };
  const plots = [];
  let uPlot = null;
  // the connector's type decides the charts; until Connect or a sample tells, all of them
  let knownType = type || (card.current && card.current.type) || null;
  let shown = chartsFor(knownType);

  function css(v) { return getComputedStyle(document.documentElement).getPropertyValue(v).trim() || '#888'; }

  function build() {
    for (const p of plots) p.plot.destroy();
    plots.length = 0;
    replace(grid);
    const axis = { stroke: css('--text-3'), grid: { stroke: css('--border'), width: 1 }, ticks: { stroke: css('--border'), width: 1 }, font: '11px system-ui, sans-serif' };
    shown = chartsFor(knownType);
    const hosts = shown.map((c) => {
      const host = h('div.chart', { 'data-chart': c.key }, h('h4', c.title));
      grid.appendChild(host);
      return host;
    });
    // measure after every host is laid out, so the grid decides the widths, not the canvases
    shown.forEach((c, i) => {
      const host = hosts[i];
      const opts = {
        width: chartWidth(host), height: 170, legend: { show: false }, cursor: { drag: { x: true, y: false } },
        // always the last hour, so one sample does not stretch the axis over years
        scales: { x: { time: true, range: () => { const now = Date.now() / 1000; return [now - HOUR / 1000, now]; } }, y: { range: (u, min, max) => yRange(uPlot, min, max) } },
        series: [{}, { label: c.title, stroke: css(c.color), width: 1.5, fill: css(c.color) + '22', value: (u, v) => (v == null ? '—' : c.fmt(v)), spanGaps: false }],
        axes: [{ ...axis }, { ...axis, size: c.key === 'bytesPerSecond' ? 78 : 56, splits: ySplits, values: (u, vals) => {
          const l = axisLabels(vals, c.fmt, c.axisFmt);
          host.dataset.yLabels = JSON.stringify(l); // what the axis shows (the canvas hides it from tests)
          return l;
        } }],
      };
      plots.push({ c, host, plot: new uPlot(opts, [data.t.map((x) => x / 1000), data[c.key]], host) });
    });
  }

  function chartWidth(host) { return Math.max(260, (host.clientWidth || 400) - 22); }

  function refreshPlots() {
    for (const p of plots) p.plot.setData([data.t.map((x) => x / 1000), data[p.c.key]]);
    grid.dataset.samples = String(data.t.length);
    grid.dataset.last = String(data.t.length ? data.t[data.t.length - 1] : '');
  }

  function resize() {
    for (const p of plots) p.plot.setSize({ width: chartWidth(p.host), height: 170 });
  }

  // Back from a hidden spell: the samples collected meanwhile (by other readers, or none),
  // merged in time order, then live again.
  card.onResume(async () => {
    const last = data.t.length ? data.t[data.t.length - 1] : Date.now() - HOUR;
    let hist;
    try { hist = await api.history(connectorName, last + 1); } catch { return; }
    if (!life.alive || !hist || !Array.isArray(hist.t)) return;
    const rows = hist.t.map((t, i) => [t, i]).filter(([t]) => !data.t.length || t > data.t[data.t.length - 1]);
    if (!rows.length) return;
    // live samples may have arrived while the history was asked for: merge by time
    const merged = new Map(data.t.map((t, i) => [t, Object.keys(data).map((k) => data[k][i])]));
    for (const [t, i] of rows) if (!merged.has(t)) merged.set(t, Object.keys(data).map((k) => (k === 't' ? t : Array.isArray(hist[k]) ? hist[k][i] : null)));
    const ts = [...merged.keys()].sort((a, b) => a - b);
    const keys = Object.keys(data);
    for (const k of keys) data[k] = ts.map((t) => merged.get(t)[keys.indexOf(k)]);
    if (uPlot) refreshPlots();
  });

  card.onSample((doc) => {
    if (!knownType && doc.type) {
      knownType = doc.type;
      if (plots.length && chartsFor(knownType).length !== shown.length) build();
    }
    const t = Date.parse(doc.lastUpdated) || Date.now();
    if (data.t.length && t <= data.t[data.t.length - 1]) return;
    data.t.push(t);
    data.recordsPerSecond.push(doc.throughput ? doc.throughput.recordsPerSecond : null);
    data.bytesPerSecond.push(doc.throughput ? doc.throughput.bytesPerSecond : null);
    data.totalErrors.push(doc.errors ? doc.errors.totalErrors : null);
    data.lag.push(lagOf(doc));
    while (data.t.length && data.t[0] < Date.now() - HOUR) for (const k of Object.keys(data)) data[k].shift();
    if (uPlot) refreshPlots();
  });

  (async () => {
    try { uPlot = await loadUplot(); } catch (e) {
      note.textContent = 'Charts unavailable: the uPlot library is not in the build (run npm run vendor).';
      return;
    }
    try {
      const hist = await api.history(connectorName, Date.now() - HOUR);
      if (hist && Array.isArray(hist.t)) {
        const seen = { ...data };
        for (const k of Object.keys(data)) data[k] = Array.isArray(hist[k]) ? hist[k].slice() : hist.t.map(() => null);
        // keep samples seen live that are newer than the history
        const last = data.t.length ? data.t[data.t.length - 1] : 0;
        seen.t.forEach((t, i) => { if (t > last) for (const k of Object.keys(data)) data[k].push(seen[k][i]); });
        note.textContent = `${num(data.t.length, 0)} sample${data.t.length === 1 ? '' : 's'} from the gateway’s history, then live`;
      }
    } catch (e) {
      note.textContent = `History unavailable (${errorText(e)}); plotting samples seen since this page opened.`;
    }
    if (!life.alive) return;
    build();
    refreshPlots();
    life.on(onThemeChange(() => build()));
    life.listen(window, 'resize', resize);
    life.on(() => { for (const p of plots) p.plot.destroy(); });
  })();
  return el;
}

export function metricsTab({ app, api, life, name, conn }) {
  const interval = Number(localStorage.getItem('kc.metricsRefresh')) || 5000;
  live.setHiddenTtl(app && app.settings ? app.settings.metricsCacheTtlMs : 0);
  const card = MetricsCard({ connectorName: name, cluster: (app && app.cluster) || 'default', refreshInterval: interval, alertRules: app && app.settings ? app.settings.alertRules : null, api, life });
  const type = (conn && ((conn.status && conn.status.type) || (conn.info && conn.info.type))) || null;
  return h('div', card.el, MetricsCharts({ api, life, connectorName: name, card, type }));
}
