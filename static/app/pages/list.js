// Connector list of one cluster: ONE request per refresh (GET /api/{c}/metrics) plus, when the
// gateway has alert rules, ONE GET /api/{c}/alerts alongside it (badges, "Alerting" filter);
// filters and sort kept in the URL, virtualised rows (5,000 connectors scroll smoothly), bulk
// actions.
import { h, replace, num, compact, pct, ago, debounce, pool } from '../dom.js';
import { icon } from '../icons.js';
import { alertThresholds, alertsByConnector, alertBadge, errorRateLevel } from '../alerts.js';
import { badge, typeTag, effectiveState, errorBox, autoRefresh, button, confirm, dialog, toast, errorText, callout, pageHead } from '../ui.js';

const ROW_H = 32;
const OVERSCAN = 8;

// Problems first: the order of the state filter and of the default sort.
const STATE_ORDER = ['FAILED', 'DEGRADED', 'RESTARTING', 'UNASSIGNED', 'PAUSED', 'STOPPED', 'RUNNING', 'UNKNOWN'];
const STATE_LABEL = { FAILED: 'Failed', DEGRADED: 'Degraded', RESTARTING: 'Restarting', UNASSIGNED: 'Unassigned', PAUSED: 'Paused', STOPPED: 'Stopped', RUNNING: 'Running', UNKNOWN: 'Unknown' };
/** Lag arrives as a number or as {recordsLagMax}; null for sources. */
const lagOf = (r) => (r.lag == null ? null : typeof r.lag === 'number' ? r.lag : r.lag.recordsLagMax ?? null);
const rank = (s) => { const i = STATE_ORDER.indexOf(s); return i < 0 ? STATE_ORDER.length : i; };

const COLUMNS = [
  { key: 'name', label: 'Name', get: (r) => r.name.toLowerCase() },
  { key: 'state', label: 'State', get: (r) => rank(r.eff) },
  { key: 'type', label: 'Type', get: (r) => r.type || '' },
  { key: 'tasks', label: 'Tasks', num: true, get: (r) => (r.tasks.failed || 0) * 1e6 + (r.tasks.total || 0) - (r.tasks.running || 0) },
  { key: 'rps', label: 'Records/s', num: true, get: (r) => r.recordsPerSecond ?? -1 },
  { key: 'errors', label: 'Errors', num: true, get: (r) => r.totalErrors ?? -1 },
  { key: 'errorRate', label: 'Error rate', num: true, get: (r) => r.errorRate ?? -1 },
  { key: 'lag', label: 'Lag', num: true, get: (r) => lagOf(r) ?? -1 },
];

/** Rows from the connectors?expand=status&expand=info map, when the metrics summary is absent. */
function rowsFromExpand(map) {
  return Object.entries(map || {}).map(([name, v]) => {
    const st = (v && v.status) || {};
    const tasks = st.tasks || [];
    const cnt = (s) => tasks.filter((t) => t.state === s).length;
    return {
      name, type: st.type || (v.info && v.info.type), state: st.connector && st.connector.state,
      class: v.info && v.info.config ? v.info.config['connector.class'] : '',
      tasks: { total: tasks.length, running: cnt('RUNNING'), failed: cnt('FAILED'), paused: cnt('PAUSED'), unassigned: cnt('UNASSIGNED'), restarting: cnt('RESTARTING') },
      recordsPerSecond: null, totalErrors: null, errorRate: null, lag: null,
    };
  });
}

export function listPage(ctx) {
  const { app, life, el, api } = ctx;
  const cl = ctx.params[0];
  const ro = app.settings.readOnly;
  // actions the caller's role may not do stay visible, disabled, with the reason as tooltip
  const why = (label) => app.may(label, cl);
  const q = ctx.query;
  const view = {
    q: q.get('q') || '',
    state: q.get('state') || '',
    type: q.get('type') || '',
    sort: COLUMNS.some((c) => c.key === q.get('sort')) ? q.get('sort') : 'state',
    dir: q.get('dir') === 'desc' ? 'desc' : 'asc',
    alerting: q.get('alerting') === '1',
  };
  const th = alertThresholds(app.settings.alertRules);
  // Alerts: asked for while the gateway has rules (a `rules: 0` answer or a 404 turns them off)
  let alertsOn = true;
  let alertMap = new Map();
  let all = [];
  let shown = [];
  let summary = null;
  const selected = new Set();
  let loadedOnce = false;
  let loadFailed = false;

  // ---- URL sync ----
  function syncUrl() {
    const p = new URLSearchParams();
    if (view.q) p.set('q', view.q);
    if (view.state) p.set('state', view.state);
    if (view.type) p.set('type', view.type);
    if (view.sort !== 'state') p.set('sort', view.sort);
    if (view.dir !== 'asc') p.set('dir', view.dir);
    if (view.alerting) p.set('alerting', '1');
    const s = p.toString();
    history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
  }

  // ---- layout ----
  const ar = autoRefresh(life, load, Number(localStorage.getItem('kc.refresh')) || 5000);
  const search = h('input', { type: 'search', placeholder: 'Filter by name or class', value: view.q, 'aria-label': 'Filter connectors', 'data-hotkey': '/', 'data-testid': 'filter' });
  const typeSel = h('select', { 'aria-label': 'Type filter', 'data-testid': 'type-filter' },
    h('option', { value: '' }, 'All types'), h('option', { value: 'source', selected: view.type === 'source' }, 'Source'), h('option', { value: 'sink', selected: view.type === 'sink' }, 'Sink'));
  const chips = h('div.chips', { role: 'group', 'aria-label': 'State filter' });
  const tiles = h('div.tiles');
  const notes = h('div');
  const bulkbar = h('div.bulkbar', { hidden: true, 'data-testid': 'bulkbar' });
  const head = h('div.grid-head.grid-cols', { role: 'row' });
  const spacer = h('div.grid-spacer');
  const body = h('div.grid-body', { role: 'rowgroup', tabindex: '-1', 'data-testid': 'grid-body' }, spacer);
  const foot = h('div.grid-foot');
  const grid = h('div.grid', { role: 'table', 'aria-label': 'Connectors', 'data-testid': 'connector-grid' }, head, body, foot);

  replace(el,
    pageHead('Connectors', h('span', 'Cluster ', h('strong', cl)), [
      ar.el,
      ro ? null : why('connector_create') ? button('New connector', { icon: 'plus', kind: 'primary', disabled: true, title: why('connector_create'), attrs: { 'data-testid': 'new-connector' } })
        : h('a.btn.primary', { href: app.href('clusters', cl, 'create'), 'data-testid': 'new-connector' }, icon('plus', 15), 'New connector'),
    ]),
    tiles, notes,
    h('div.toolbar', h('label.search', icon('search', 14), search), typeSel, chips, h('span.spacer'), h('span.hint', 'Press ', h('kbd', '/'), ' to filter')),
    bulkbar, grid);

  search.addEventListener('input', debounce(() => { view.q = search.value.trim(); syncUrl(); applyView(); }, 120));
  typeSel.addEventListener('change', () => { view.type = typeSel.value; syncUrl(); applyView(); });
  let framePending = false;
  life.listen(body, 'scroll', () => {
    if (framePending) return;
    framePending = true;
    requestAnimationFrame(() => { framePending = false; keepFocus(paintRows); });
  }, { passive: true });
  life.listen(window, 'resize', () => requestAnimationFrame(paintRows));
  spacer.appendChild(h('div.loading', h('span.spinner'), 'Loading connectors…'));

  function paintHead() {
    const allSel = shown.length > 0 && shown.every((r) => selected.has(r.name));
    const cb = h('input', { type: 'checkbox', 'aria-label': 'Select all shown', checked: allSel, disabled: ro || !shown.length, 'data-testid': 'select-all',
      onChange: (e) => { for (const r of shown) { if (e.target.checked) selected.add(r.name); else selected.delete(r.name); } paintBulk(); paintRows(); paintHead(); } });
    replace(head, h('div', cb), COLUMNS.map((c) => {
      const on = view.sort === c.key;
      return h('div', { class: c.num ? 'num' : '', role: 'columnheader', 'aria-sort': on ? (view.dir === 'asc' ? 'ascending' : 'descending') : 'none' },
        h('button.sort', { type: 'button', class: on ? 'on' : '', 'data-sort': c.key, onClick: () => {
          if (view.sort === c.key) view.dir = view.dir === 'asc' ? 'desc' : 'asc';
          else { view.sort = c.key; view.dir = c.num ? 'desc' : 'asc'; }
          syncUrl(); applyView();
        } }, c.label, on ? icon(view.dir === 'asc' ? 'up' : 'down', 12) : null));
    }));
  }

  function paintChips() {
    const counts = {};
    for (const r of all) counts[r.eff] = (counts[r.eff] || 0) + 1;
    const chip = (key, label, n) => h('button.chip', { type: 'button', class: view.state === key ? 'on' : '', 'aria-pressed': String(view.state === key), 'data-state-filter': key || 'ALL',
      onClick: () => { view.state = view.state === key ? '' : key; syncUrl(); applyView(); } }, label, h('span.count', num(n, 0)));
    const alerting = alertsOn ? all.filter((r) => alertMap.has(r.name)).length : 0;
    replace(chips, chip('', 'All', all.length),
      STATE_ORDER.filter((s) => counts[s] || s === 'FAILED' || s === view.state).map((s) => chip(s, STATE_LABEL[s], counts[s] || 0)),
      alertsOn || view.alerting ? h('button.chip.chip-alerting', { type: 'button', class: view.alerting ? 'on' : '', 'aria-pressed': String(view.alerting), 'data-state-filter': 'ALERTING',
        'data-testid': 'alerting-filter', title: 'Connectors with active alerts',
        onClick: () => { view.alerting = !view.alerting; syncUrl(); applyView(); } }, icon('alert', 12), 'Alerting', h('span.count', num(alerting, 0))) : null);
  }

  function paintTiles() {
    const t = (summary && summary.totals) || null;
    const rps = all.reduce((a, r) => a + (r.recordsPerSecond || 0), 0);
    const tile = (label, value, cls, state) => {
      const inner = [h('div.tile-label', label), h('div.tile-value', { class: cls || '' }, value)];
      return state === undefined ? h('div.tile', inner)
        : h('button.tile', { type: 'button', class: view.state === state ? 'on' : '', title: `Show ${label.toLowerCase()}`, onClick: () => { view.state = view.state === state ? '' : state; syncUrl(); applyView(); } }, inner);
    };
    const cnt = (s) => all.filter((r) => r.eff === s).length;
    replace(tiles,
      tile('Connectors', num(t ? t.connectors : all.length, 0), '', ''),
      tile('Running', num(t ? t.running : cnt('RUNNING'), 0), 't-ok', 'RUNNING'),
      tile('Degraded', num(t ? t.degraded : cnt('DEGRADED'), 0), (t ? t.degraded : cnt('DEGRADED')) ? 't-warn' : '', 'DEGRADED'),
      tile('Failed', num(t ? t.failed : cnt('FAILED'), 0), (t ? t.failed : cnt('FAILED')) ? 't-bad' : '', 'FAILED'),
      tile('Paused', num(t ? t.paused : cnt('PAUSED'), 0), '', 'PAUSED'),
      tile('Stopped', num(t ? t.stopped : cnt('STOPPED'), 0), '', 'STOPPED'),
      tile('Records/s', summary ? compact(rps) : '—'),
      tile('Updated', summary ? ago(summary.lastUpdated) : '—'));
  }

  function applyView() {
    const needle = view.q.toLowerCase();
    shown = all.filter((r) => (!view.state || r.eff === view.state) && (!view.type || r.type === view.type) &&
      (!view.alerting || alertMap.has(r.name)) &&
      (!needle || r.name.toLowerCase().includes(needle) || (r.class || '').toLowerCase().includes(needle)));
    const col = COLUMNS.find((c) => c.key === view.sort);
    const sgn = view.dir === 'asc' ? 1 : -1;
    shown.sort((a, b) => {
      const x = col.get(a), y = col.get(b);
      if (x < y) return -sgn;
      if (x > y) return sgn;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
    spacer.style.height = shown.length * ROW_H + 'px';
    keepFocus(() => { paintHead(); paintChips(); paintTiles(); paintRows(); paintFoot(); });
  }

  // Refreshes rebuild rows and controls; keep keyboard focus on the "same" element.
  function keepFocus(fn) {
    const a = document.activeElement;
    const row = a && a.closest && a.closest('.grid-row');
    const key = !a || a === document.body ? null
      : a.dataset.sort ? `[data-sort="${a.dataset.sort}"]`
        : a.dataset.stateFilter ? `[data-state-filter="${a.dataset.stateFilter}"]`
          : row ? `.grid-row[data-name="${CSS.escape(row.dataset.name)}"] ${a.tagName === 'A' ? 'a' : 'input'}`
            : a.dataset.testid === 'select-all' ? '[data-testid=select-all]' : null;
    fn();
    if (key && !document.activeElement.closest('body *')) {
      const again = el.querySelector(key);
      if (again) again.focus({ preventScroll: true });
    }
  }

  function rowEl(r, i) {
    const st = r.eff;
    const t = r.tasks || {};
    const href = app.href('clusters', cl, 'connectors', r.name, 'overview');
    const sel = selected.has(r.name);
    return h('div.grid-row.grid-cols', { role: 'row', class: sel ? 'sel' : '', style: { top: i * ROW_H + 'px' }, 'data-name': r.name },
      h('div', h('input', { type: 'checkbox', checked: sel, disabled: ro, 'aria-label': `Select ${r.name}`, onChange: (e) => { if (e.target.checked) selected.add(r.name); else selected.delete(r.name); e.target.closest('.grid-row').classList.toggle('sel', e.target.checked); paintBulk(); paintHead(); } })),
      h('div.name', { title: r.class ? `${r.name}\n${r.class}` : r.name }, h('a', { href }, r.name), alertsOn ? alertBadge(alertMap.get(r.name)) : null, r.class ? h('span.cls', r.class.split('.').pop()) : null),
      h('div', badge(st, st === 'DEGRADED' ? `Connector RUNNING, ${t.failed} task(s) FAILED` : undefined)),
      h('div', typeTag(r.type)),
      h('div.num', { class: t.failed ? 't-bad' : '' }, `${t.running ?? 0}/${t.total ?? 0}`),
      h('div.num', r.recordsPerSecond == null ? '—' : compact(r.recordsPerSecond)),
      h('div.num', { class: r.totalErrors ? 't-warn' : '' }, r.totalErrors == null ? '—' : compact(r.totalErrors)),
      h('div.num', { class: r.errorRate == null ? '' : { bad: 't-bad', warn: 't-warn', ok: '' }[errorRateLevel(r.errorRate, th)] }, r.errorRate == null ? '—' : pct(r.errorRate)),
      h('div.num', lagOf(r) != null ? compact(lagOf(r)) : '—'));
  }

  function paintRows() {
    if (!life.alive) return;
    const top = body.scrollTop;
    const hgt = body.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(shown.length, Math.ceil((top + hgt) / ROW_H) + OVERSCAN);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) frag.appendChild(rowEl(shown[i], i));
    spacer.replaceChildren(frag);
    if (loadedOnce && !shown.length) spacer.appendChild(h('div.empty', all.length ? 'No connector matches the filters.' : loadFailed ? 'Connectors unavailable.' : 'No connectors in this cluster yet.'));
  }

  function paintFoot() {
    replace(foot, h('span', { 'data-testid': 'count' }, `${num(shown.length, 0)} of ${num(all.length, 0)} connectors`),
      summary && summary.collectionDuration ? h('span', `collected in ${num(summary.collectionDuration / 1e6, 1)} ms`) : null,
      selected.size ? h('span', `${num(selected.size, 0)} selected`) : null);
  }

  function paintBulk() {
    const names = new Set(all.map((r) => r.name));
    for (const n of [...selected]) if (!names.has(n)) selected.delete(n);
    bulkbar.hidden = ro || selected.size === 0;
    replace(bulkbar, h('strong', `${num(selected.size, 0)} selected`),
      button('Pause', { icon: 'pause', kind: 'small', disabled: !!why('connector_pause'), title: why('connector_pause'), onClick: () => bulk('pause') }),
      button('Resume', { icon: 'play', kind: 'small', disabled: !!why('connector_resume'), title: why('connector_resume'), onClick: () => bulk('resume') }),
      button('Restart failed', { icon: 'restart', kind: 'small', disabled: !!why('connector_restart'), title: why('connector_restart'), onClick: () => bulk('restartFailed') }),
      button('Delete', { icon: 'trash', kind: 'small danger', disabled: !!why('connector_delete'), title: why('connector_delete'), onClick: () => bulk('delete') }),
      h('span.spacer'),
      button('Clear selection', { kind: 'small', onClick: () => { selected.clear(); paintBulk(); paintRows(); paintHead(); paintFoot(); } }));
    paintFoot();
  }

  const ACTIONS = {
    pause: { verb: 'Pause', run: (n) => api.pause(n) },
    resume: { verb: 'Resume', run: (n) => api.resume(n) },
    restartFailed: { verb: 'Restart failed tasks of', run: (n) => api.restart(n, true, true) },
    delete: { verb: 'Delete', run: (n) => api.remove(n), danger: true },
  };

  async function bulk(kind) {
    const a = ACTIONS[kind];
    const names = [...selected].sort();
    const ok = await confirm({
      title: `${a.verb} ${names.length} connector${names.length > 1 ? 's' : ''}?`,
      message: kind === 'delete' ? 'Deleting removes the connectors and their configuration from the cluster. This cannot be undone.' : `This sends one request per connector to cluster “${cl}”.`,
      details: h('ul.namelist', names.slice(0, 200).map((n) => h('li', n)), names.length > 200 ? h('li', `… and ${names.length - 200} more`) : null),
      confirmLabel: `${a.verb.split(' ')[0]} ${names.length}`,
      danger: !!a.danger,
    });
    if (!ok) return;
    const results = await pool(names, 6, async (n) => {
      try { await a.run(n); return { n, ok: true }; } catch (e) { return { n, ok: false, msg: errorText(e) }; }
    });
    const failed = results.filter((r) => !r.ok);
    if (kind === 'delete') for (const r of results) if (r.ok) selected.delete(r.n);
    toast(`${a.verb} — ${results.length - failed.length} succeeded${failed.length ? `, ${failed.length} failed` : ''}`, failed.length ? 'bad' : 'ok');
    dialog({
      title: `${a.verb}: results`, wide: true,
      body: h('table.tbl', { 'data-testid': 'bulk-results' }, h('thead', h('tr', h('th', 'Connector'), h('th', 'Result'))),
        h('tbody', results.map((r) => h('tr', h('td.wrap', r.n), h('td', r.ok ? h('span.t-ok', icon('check', 14), ' done') : h('span.t-bad', r.msg)))))),
      actions: [h('button.btn.primary', { type: 'submit', value: 'ok' }, 'Close')],
    });
    ar.run();
  }

  // The alerts of the whole cluster in one request; its failure never fails the list.
  async function loadAlerts() {
    if (!alertsOn) return;
    try {
      const doc = await api.alerts();
      if (!doc || !doc.rules) { alertsOn = false; alertMap = new Map(); return; }
      alertMap = alertsByConnector(doc);
    } catch (e) {
      if (e.status === 404) { alertsOn = false; alertMap = new Map(); }
      // otherwise keep the last known alerts until the next refresh
    }
  }

  async function load() {
    let rows;
    loadFailed = false;
    const alertsDone = loadAlerts();
    try {
      summary = await api.summary();
      rows = (summary.connectors || []).map((r) => ({ ...r, tasks: r.tasks || {} }));
      replace(notes,
        summary.stale ? callout('warn', 'Stale data', ' — the gateway could not refresh these numbers and shows the last ones it had.') : null,
        summary.warnings && summary.warnings.length ? h('details.callout.callout-warn', h('summary', icon('alert', 16), ` ${summary.warnings.length} collection warning(s)`), h('ul', summary.warnings.slice(0, 50).map((w) => h('li', w)))) : null);
    } catch (e) {
      if (e.status === 404 && e.body && e.body.error === 'unknown_cluster') { replace(notes, errorBox(e, `Unknown cluster “${cl}”`)); all = []; loadedOnce = true; applyView(); return; }
      // Metrics summary missing or failing: fall back to Connect's own list (still one request).
      try {
        const map = await api.list();
        summary = null;
        rows = rowsFromExpand(map);
        replace(notes, callout('warn', 'Metrics unavailable', ` — ${errorText(e)}. Showing states from Kafka Connect only.`));
      } catch (e2) {
        replace(notes, errorBox(e2, 'Could not load connectors'));
        loadFailed = true;
        if (e2.status === 0 || e2.status >= 500) app.refreshClusters();
        loadedOnce = true;
        if (!all.length) applyView();
        return;
      }
    }
    for (const r of rows) r.eff = effectiveState(r.state, r.tasks);
    await alertsDone;
    if (!life.alive) return;
    all = rows;
    loadedOnce = true;
    applyView();
    paintBulk();
  }
}
