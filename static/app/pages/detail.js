// Connector detail: header with state and actions, tabs Overview / Config / Tasks / Metrics /
// Offsets (deep-linkable), the banner of the connector's active alerts (from the cluster's
// GET /api/{c}/alerts, refreshed with the page), and the "unknown connector" page.
import { h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { badge, typeTag, errorBox, autoRefresh, button, confirm, toast, errorText, tabs, kv, section, traceBlock, loading, callout, setBusy } from '../ui.js';
import { alertsByConnector, alertBanner } from '../alerts.js';
import { configTab } from './config.js';
import { metricsTab } from './metrics.js';

const TABS = [
  ['overview', 'Overview'], ['config', 'Config'], ['tasks', 'Tasks'], ['metrics', 'Metrics'], ['offsets', 'Offsets'],
];
// Seconds a connector may have a config but no status before the header reports the 404.
const STATUS_PENDING_TRIES = 30;

export function detailPage(ctx) {
  const { app, life, el, api } = ctx;
  const [cl, name, tabParam] = ctx.params;
  const tab = TABS.some(([k]) => k === tabParam) ? tabParam : 'overview';
  if (tabParam !== tab) history.replaceState(null, '', app.href('clusters', cl, 'connectors', name, tab));
  const ro = app.settings.readOnly;
  // an action the caller's role may not do stays visible, disabled, with the reason as tooltip
  const why = (label) => app.may(label, cl);
  const gate = (label, disabled, title) => ({ disabled: disabled || !!why(label), title: why(label) || title });
  const conn = { name, status: null, info: null, topics: null };
  const headEl = h('div');
  const alertEl = h('div', { 'data-testid': 'alert-banner-host' });
  let alertsOn = true; // off after a `rules: 0` answer or a 404
  let lastAlertKey = '';
  const body = h('div', { 'data-testid': `tab-${tab}` });
  let tabRefresh = null; // set by tabs that want the status refresh too
  let bodyBuilt = false;
  let lastKey = '';
  let pendingTries = 0;

  replace(el, h('div.crumbs', h('a', { href: app.href('clusters', cl, 'connectors') }, 'Connectors'), ' / ', name), alertEl, headEl, body);
  body.appendChild(loading());

  const ar = autoRefresh(life, load, Number(localStorage.getItem('kc.refresh')) || 5000);

  async function load() {
    const [st, inf, al] = await Promise.allSettled([api.status(name), api.info(name), alertsOn ? api.alerts() : Promise.resolve(null)]);
    if (!life.alive) return;
    paintAlerts(al);
    if (st.status === 'rejected' && inf.status === 'rejected') {
      const e = inf.reason;
      if (e.status === 404 || st.reason.status === 404) return notFound(e);
      replace(headEl, header(null));
      replace(body, errorBox(e, 'Could not load the connector'));
      bodyBuilt = false;
      return;
    }
    // Real Connect writes a new connector's status through its status topic: for a moment
    // after the create its config is there and GET …/status answers 404. That is "starting",
    // not an error; ask again every second (for at most STATUS_PENDING_TRIES).
    const pending = st.status === 'rejected' && st.reason.status === 404 && inf.status === 'fulfilled' && !conn.status;
    if (pending && pendingTries < STATUS_PENDING_TRIES) { pendingTries++; life.timeout(() => ar.run(), 1000); }
    const statusErr = st.status === 'rejected' && !(pending && pendingTries < STATUS_PENDING_TRIES) ? st.reason : null;
    conn.status = st.status === 'fulfilled' ? st.value : conn.status;
    conn.info = inf.status === 'fulfilled' ? inf.value : conn.info;
    if (conn.topics === null && (tab === 'overview')) {
      conn.topics = [];
      api.topics(name).then((t) => { conn.topics = (t && t[name] && t[name].topics) || []; if (tab === 'overview' && life.alive) buildBody(); }).catch((e) => { conn.topics = { error: errorText(e) }; });
    }
    // Re-render only on change, so open traces, focus and selections survive the refresh.
    const key = JSON.stringify([conn.status, conn.info, conn.topics, st.status, !!statusErr]);
    if (key === lastKey && bodyBuilt) return;
    lastKey = key;
    replace(headEl, header(statusErr, pending && !statusErr));
    if (!bodyBuilt) buildBody();
    else if (tabRefresh) tabRefresh();
  }

  function paintAlerts(al) {
    if (!alertsOn) return;
    let list;
    if (al.status === 'fulfilled') {
      if (!al.value || !al.value.rules) { alertsOn = false; list = []; } else list = alertsByConnector(al.value).get(name) || [];
    } else if (al.reason && al.reason.status === 404) { alertsOn = false; list = []; } else return; // keep the last banner
    const key = JSON.stringify(list.map((a) => [a.rule, a.severity, a.message, a.since]));
    // the "since" text ages, so repaint when it may have changed too
    if (key === lastAlertKey && !list.length) return;
    lastAlertKey = key;
    replace(alertEl, alertBanner(list));
  }

  function notFound(e) {
    ar.el.remove();
    replace(el, h('div.crumbs', h('a', { href: app.href('clusters', cl, 'connectors') }, 'Connectors'), ' / ', name),
      h('div.empty', { 'data-testid': 'unknown-connector' },
        icon('plug', 40),
        h('h1', 'Connector not found'),
        h('p', 'There is no connector named ', h('code', name), ' in cluster ', h('strong', cl), '. It may have been deleted or renamed.'),
        h('p.hint', errorText(e)),
        h('p', h('a.btn', { href: app.href('clusters', cl, 'connectors') }, 'Back to connectors'),
          ro || why('connector_create') ? null : [' ', h('a.btn', { href: app.href('clusters', cl, 'create') }, icon('plus', 14), 'Create a connector')])));
    life.dispose();
  }

  function state() { return conn.status && conn.status.connector ? conn.status.connector.state : 'UNKNOWN'; }
  function failedTasks() { return ((conn.status && conn.status.tasks) || []).filter((t) => t.state === 'FAILED'); }

  async function act(btn, label, fn, after) {
    setBusy(btn, true);
    try {
      await fn();
      toast(`${label}: request accepted for ${name}`);
      if (after) after(); else await ar.run();
    } catch (e) {
      toast(`${label} failed — ${errorText(e)}`, 'bad');
    } finally { setBusy(btn, false); }
  }

  function header(statusErr, starting) {
    const s = state();
    const type = (conn.status && conn.status.type) || (conn.info && conn.info.type);
    const cls = conn.info && conn.info.config ? conn.info.config['connector.class'] : '';
    const nFailed = failedTasks().length;
    const actions = ro ? [] : [
      button('Pause', { icon: 'pause', ...gate('connector_pause', s !== 'RUNNING'), attrs: { 'data-action': 'pause' }, onClick: (e) => act(e.currentTarget, 'Pause', () => api.pause(name)) }),
      button('Resume', { icon: 'play', ...gate('connector_resume', !(s === 'PAUSED' || s === 'STOPPED')), attrs: { 'data-action': 'resume' }, onClick: (e) => act(e.currentTarget, 'Resume', () => api.resume(name)) }),
      button('Stop', { icon: 'stop', ...gate('connector_stop', s === 'STOPPED', 'Stop the connector and its tasks (Kafka 3.5+); required to edit offsets'), attrs: { 'data-action': 'stop' },
        onClick: async (e) => { const b = e.currentTarget; if (await confirm({ title: `Stop ${name}?`, message: 'The connector and all its tasks shut down until resumed. Its configuration is kept.', confirmLabel: 'Stop' })) act(b, 'Stop', () => api.stop(name)); } }),
      h('span.btn-group',
        button('Restart', { icon: 'restart', ...gate('connector_restart', false, 'Restart the connector and all its tasks'), attrs: { 'data-action': 'restart' }, onClick: (e) => act(e.currentTarget, 'Restart', () => api.restart(name, true, false)) }),
        button(`Restart failed${nFailed ? ` (${nFailed})` : ''}`, { ...gate('connector_restart', !nFailed && s !== 'FAILED', 'Restart only the failed instances'), attrs: { 'data-action': 'restart-failed' }, onClick: (e) => act(e.currentTarget, 'Restart failed', () => api.restart(name, true, true)) })),
      button('Delete', { icon: 'trash', kind: 'danger', ...gate('connector_delete', false), attrs: { 'data-action': 'delete' }, onClick: async (e) => {
        const b = e.currentTarget;
        if (await confirm({ title: `Delete ${name}?`, message: `The connector and its configuration are removed from cluster “${cl}”. This cannot be undone.`, confirmLabel: 'Delete', danger: true })) {
          act(b, 'Delete', () => api.remove(name), () => app.navigate(app.href('clusters', cl, 'connectors')));
        }
      } }),
    ];
    return h('div',
      h('div.page-head',
        h('div.page-title', h('h1', { 'data-testid': 'connector-name' }, name),
          h('div.page-sub', starting ? null : h('span', { 'data-testid': 'connector-state' }, badge(nFailed && s === 'RUNNING' ? 'DEGRADED' : s)), nFailed && s === 'RUNNING' ? h('span.t-bad', `${nFailed} failed task${nFailed > 1 ? 's' : ''}`) : null,
            starting ? h('span.muted', { 'data-testid': 'status-pending' }, h('span.spinner'), 'starting — Connect has not reported its status yet') : null,
            typeTag(type), cls ? h('code.muted', cls) : null)),
        h('div.page-actions', actions, ar.el)),
      statusErr ? errorBox(statusErr, 'Status unavailable') : null,
      tabs(TABS.map(([k, label]) => ({ key: k, label, href: app.href('clusters', cl, 'connectors', name, k) })), tab));
  }

  function buildBody() {
    bodyBuilt = true;
    tabRefresh = null;
    const sub = { app, life, api, cl, name, conn, ro, why, gate, reload: () => ar.run(), setRefresh: (fn) => { tabRefresh = fn; } };
    if (tab === 'overview') { replace(body, overview(sub)); tabRefresh = () => replace(body, overview(sub)); }
    else if (tab === 'tasks') { const t = tasksTab(sub); replace(body, t.el); tabRefresh = t.refresh; }
    else if (tab === 'config') replace(body, configTab(sub));
    else if (tab === 'metrics') replace(body, metricsTab(sub));
    else if (tab === 'offsets') replace(body, offsetsTab(sub));
  }
}

function workerLink(app, cl, w) {
  return w ? h('a.mono', { href: app.href('clusters', cl, 'overview') + '#worker-' + encodeURIComponent(w), title: 'Worker' }, w) : '—';
}

function overview({ app, cl, name, conn }) {
  const st = conn.status || {};
  const info = conn.info || {};
  const tasks = st.tasks || [];
  const cfg = info.config || {};
  const topics = conn.topics;
  const failed = tasks.filter((t) => t.state === 'FAILED');
  const connTrace = st.connector && st.connector.trace;
  return h('div.stack',
    h('div.grid2',
      section('Summary', kv([
        ['State', badge(st.connector && st.connector.state)],
        ['Type', typeTag(st.type || info.type)],
        ['Class', h('code', cfg['connector.class'] || '—')],
        ['Connector worker', workerLink(app, cl, st.connector && st.connector.worker_id)],
        ['Tasks', `${tasks.filter((t) => t.state === 'RUNNING').length} running of ${tasks.length} (tasks.max ${cfg['tasks.max'] || '—'})`],
        ['Topics', Array.isArray(topics) ? (topics.length ? h('div.taglist', { 'data-testid': 'topics' }, topics.map((t) => h('span.tag', t))) : h('span.muted', 'none recorded yet'))
          : topics && topics.error ? h('span.muted', topics.error) : '…'],
        cfg.topics || cfg['topics.regex'] ? ['Configured topics', h('code', cfg.topics || cfg['topics.regex'])] : null,
      ])),
      section('Tasks', tasks.length ? h('table.tbl', h('thead', h('tr', h('th', 'Task'), h('th', 'State'), h('th', 'Worker'))),
        h('tbody', tasks.map((t) => h('tr', { 'data-task': t.id }, h('td', '#' + t.id), h('td', badge(t.state)), h('td', workerLink(app, cl, t.worker_id))))))
        : h('p.muted', 'No tasks (yet). Tasks are created asynchronously after the connector starts.'))),
    connTrace || failed.length ? section(h('span.t-bad', icon('alert', 15), ' Failures'),
      connTrace ? h('div', h('strong', 'Connector'), traceBlock(connTrace)) : null,
      failed.map((t) => h('div', { style: { marginTop: '8px' } }, h('strong', `Task #${t.id}`), h('span.muted', ` on ${t.worker_id || '?'}`), traceBlock(t.trace)))) : null,
    section('Configuration', h('p.muted', `${Object.keys(cfg).length} keys. `, h('a', { href: app.href('clusters', cl, 'connectors', name, 'config') }, 'View and edit'), ' · ',
      h('a', { href: app.href('clusters', cl, 'connectors', name, 'metrics') }, 'Metrics'))));
}

function tasksTab({ app, api, cl, name, conn, ro, gate }) {
  const el = h('div');
  let taskConfigs = null;
  api.tasks(name).then((t) => { taskConfigs = t; refresh(); }).catch(() => { taskConfigs = []; });
  function refresh() {
    const tasks = (conn.status && conn.status.tasks) || [];
    replace(el, section(`Tasks (${tasks.length})`, tasks.length ? h('table.tbl', { 'data-testid': 'tasks-table' },
      h('thead', h('tr', h('th', 'Task'), h('th', 'State'), h('th', 'Worker'), h('th', 'Details'), h('th', ''))),
      h('tbody', tasks.map((t) => {
        const tc = taskConfigs && taskConfigs.find((x) => x.id && x.id.task === t.id);
        return h('tr', { 'data-task': t.id },
          h('td.nowrap', '#' + t.id), h('td', badge(t.state)), h('td', workerLink(app, cl, t.worker_id)),
          h('td', { style: { width: '60%' } }, t.trace ? traceBlock(t.trace) : null,
            tc ? h('details', h('summary.hint', 'Task configuration'), h('pre', JSON.stringify(tc.config, null, 2))) : null),
          h('td', ro ? null : button('Restart', { icon: 'restart', kind: 'small', ...gate('task_restart', false), attrs: { 'data-action': 'restart-task' }, onClick: async (e) => {
            const b = e.currentTarget; setBusy(b, true);
            try { await api.restartTask(name, t.id); toast(`Task #${t.id} restart requested`); } catch (err) { toast(`Task restart failed — ${errorText(err)}`, 'bad'); }
            setBusy(b, false);
          } })));
      }))) : h('p.muted', 'This connector has no tasks.')));
  }
  refresh();
  return { el, refresh };
}

function offsetsTab({ api, name, conn, ro, life, setRefresh, gate }) {
  const el = h('div', loading());
  const isStopped = () => !!(conn.status && conn.status.connector && conn.status.connector.state === 'STOPPED');
  let shownStopped = null;
  setRefresh(() => { if (shownStopped !== null && isStopped() !== shownStopped) load(); });
  async function load() {
    let data;
    try { data = await api.offsets(name); } catch (e) {
      replace(el, errorBox(e, 'Offsets unavailable'), callout('info', null, 'Reading offsets needs Kafka Connect 3.5 or later; altering or resetting them needs 3.6.'));
      return;
    }
    if (!life.alive) return;
    const offs = (data && data.offsets) || [];
    const editor = h('textarea', { rows: Math.min(20, 4 + offs.length * 3), 'aria-label': 'Offsets JSON', 'data-testid': 'offsets-json' }, JSON.stringify({ offsets: offs }, null, 2));
    const stopped = isStopped();
    shownStopped = stopped;
    replace(el,
      stopped || ro ? null : callout('info', 'Read only while running', ' — stop the connector (Stop in the header) to alter or reset its offsets.'),
      section(h('span', `Offsets (${offs.length})`, h('span.spacer'), button('Reload', { icon: 'refresh', kind: 'small', onClick: load })),
        offs.length ? h('table.tbl', { 'data-testid': 'offsets-table' }, h('thead', h('tr', h('th', 'Partition'), h('th', 'Offset'))),
          h('tbody', offs.map((o) => h('tr', h('td', h('code', JSON.stringify(o.partition))), h('td', h('code', JSON.stringify(o.offset)))))))
          : h('p.muted', 'No offsets committed yet.')),
      ro ? null : section('Alter or reset',
        h('p.hint', 'Edit the JSON and apply to alter (PATCH); reset deletes every committed offset. Both need the connector STOPPED.'),
        editor,
        h('div.row', { style: { marginTop: '8px' } },
          button('Apply changes', { icon: 'check', kind: 'primary', ...gate('connector_offsets_alter', !stopped), attrs: { 'data-action': 'alter-offsets' }, onClick: async (e) => {
            let body;
            try { body = JSON.parse(editor.value); } catch (err) { toast('Invalid JSON: ' + err.message, 'bad'); return; }
            const b = e.currentTarget; setBusy(b, true);
            try { const r = await api.alterOffsets(name, body); toast((r && r.message) || 'Offsets altered'); load(); } catch (err) { toast(errorText(err), 'bad'); }
            setBusy(b, false);
          } }),
          button('Reset all offsets', { icon: 'trash', kind: 'danger', ...gate('connector_offsets_reset', !stopped), attrs: { 'data-action': 'reset-offsets' }, onClick: async (e) => {
            const b = e.currentTarget;
            if (!await confirm({ title: `Reset offsets of ${name}?`, message: 'Every committed offset of this connector is deleted; on resume it starts from scratch (per its configuration).', confirmLabel: 'Reset offsets', danger: true })) return;
            setBusy(b, true);
            try { const r = await api.resetOffsets(name); toast((r && r.message) || 'Offsets reset'); load(); } catch (err) { toast(errorText(err), 'bad'); }
            setBusy(b, false);
          } }))));
  }
  load();
  return el;
}
