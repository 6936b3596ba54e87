// Cluster page: Connect version and Kafka cluster id, state totals, workers (from task
// worker_ids) with their connectors, tasks and JVM heap/CPU, active alerts, problems with traces.
import { h, replace, num, pct, ago } from '../dom.js';
import { icon } from '../icons.js';
import { badge, errorBox, autoRefresh, section, kv, traceBlock, pageHead, effectiveState } from '../ui.js';

export function clusterPage(ctx) {
  const { app, life, el, api } = ctx;
  const cl = ctx.params[0];
  const body = h('div', h('div.loading', h('span.spinner'), 'Loading cluster…'));
  let alertsAvailable = true;
  const ar = autoRefresh(life, load, 10000);
  replace(el, pageHead(h('span', 'Cluster ', h('span', { 'data-testid': 'cluster-name' }, cl)), null, [ar.el]), body);

  async function load() {
    const [root, summary, list, alerts] = await Promise.allSettled([
      api.root(), api.summary(), api.list(), alertsAvailable ? api.alerts() : Promise.reject(Object.assign(new Error('off'), { status: 404 })),
    ]);
    if (!life.alive) return;
    if (alerts.status === 'rejected' && alerts.reason && alerts.reason.status === 404) alertsAvailable = false;
    const r = root.status === 'fulfilled' ? root.value : null;
    const s = summary.status === 'fulfilled' ? summary.value : null;
    const m = list.status === 'fulfilled' ? list.value || {} : null;
    const info = app.clusters.find((c) => c.name === cl) || {};

    // workers from the status of every connector and task
    const workers = new Map();
    const W = (id) => { if (!workers.has(id)) workers.set(id, { id, connectors: [], tasks: [] }); return workers.get(id); };
    const problems = [];
    const totals = { connectors: 0, RUNNING: 0, DEGRADED: 0, FAILED: 0, PAUSED: 0, STOPPED: 0, UNASSIGNED: 0 };
    if (m) for (const [name, v] of Object.entries(m)) {
      const st = (v && v.status) || {};
      const tasks = st.tasks || [];
      const cs = st.connector || {};
      totals.connectors++;
      const eff = effectiveState(cs.state, { failed: tasks.filter((t) => t.state === 'FAILED').length });
      totals[eff] = (totals[eff] || 0) + 1;
      if (cs.worker_id) W(cs.worker_id).connectors.push({ name, state: cs.state });
      if (cs.state === 'FAILED') problems.push({ name, what: 'connector', trace: cs.trace, worker: cs.worker_id });
      for (const t of tasks) {
        if (t.worker_id) W(t.worker_id).tasks.push({ name, id: t.id, state: t.state });
        if (t.state === 'FAILED') problems.push({ name, what: `task #${t.id}`, trace: t.trace, worker: t.worker_id });
      }
    }
    if (s) for (const w of s.workers || []) Object.assign(W(w.workerId), { jmx: w });
    const T = s && s.totals ? { connectors: s.totals.connectors, RUNNING: s.totals.running, DEGRADED: s.totals.degraded, FAILED: s.totals.failed, PAUSED: s.totals.paused, STOPPED: s.totals.stopped } : totals;
    const href = (n, tab = 'overview') => app.href('clusters', cl, 'connectors', n, tab);
    const tile = (label, v, cls, state) => h('a.tile', { href: app.href('clusters', cl, 'connectors') + (state ? `?state=${state}` : ''), style: { color: 'inherit', textDecoration: 'none' } },
      h('div.tile-label', label), h('div.tile-value', { class: v && cls ? cls : '' }, num(v || 0, 0)));

    replace(body,
      root.status === 'rejected' ? errorBox(root.reason, 'Kafka Connect did not answer') : null,
      h('div.tiles', { 'data-testid': 'cluster-totals' }, tile('Connectors', T.connectors), tile('Running', T.RUNNING, 't-ok', 'RUNNING'), tile('Degraded', T.DEGRADED, 't-warn', 'DEGRADED'),
        tile('Failed', T.FAILED, 't-bad', 'FAILED'), tile('Paused', T.PAUSED, '', 'PAUSED'), tile('Stopped', T.STOPPED, '', 'STOPPED')),
      h('div.grid2',
        section('Kafka Connect', kv([
          ['Version', h('span', { 'data-testid': 'connect-version' }, r ? r.version : info.version || '—')],
          ['Commit', h('code', r ? r.commit : info.commit || '—')],
          ['Kafka cluster id', h('code', { 'data-testid': 'kafka-cluster-id' }, r ? r.kafka_cluster_id || '—' : info.kafkaClusterId || '—')],
          ['Reachable', info.reachable === false ? h('span.t-bad', 'no — ' + (info.error || '')) : h('span.t-ok', 'yes')],
          ['Gateway latency', info.latencyMs != null ? `${num(info.latencyMs, 1)} ms` : '—'],
          ['Metrics collected', s ? `${ago(s.lastUpdated)} in ${num((s.collectionDuration || 0) / 1e6, 1)} ms${s.stale ? ' (stale)' : ''}` : summary.status === 'rejected' ? h('span.muted', summary.reason.message) : '—'],
        ])),
        alertsAvailable && alerts.status === 'fulfilled' ? section(`Active alerts (${(alerts.value.active || []).length})`,
          (alerts.value.active || []).length ? h('table.tbl', h('thead', h('tr', h('th', 'Severity'), h('th', 'Connector'), h('th', 'Rule'), h('th', 'Since'))),
            h('tbody', alerts.value.active.map((a) => h('tr', h('td', badge(a.severity === 'critical' ? 'FAILED' : 'PAUSED', a.severity), ' ', a.severity), h('td', a.connector ? h('a', { href: href(a.connector) }, a.connector) : '—'),
              h('td', h('div', a.rule), h('div.hint', a.message)), h('td.nowrap', ago(a.since)))))) : h('p.muted', 'No active alerts.'))
          : section('Problems', problems.length ? h('p.t-bad', `${problems.length} failed connector(s)/task(s) — see below.`) : h('p.t-ok', icon('check', 14), ' No failed connectors or tasks.'))),
      section(`Workers (${workers.size})`, workers.size ? h('div.workers', { 'data-testid': 'workers' }, [...workers.values()].sort((a, b) => a.id.localeCompare(b.id)).map((w) => workerCard(w, href)))
        : h('p.muted', 'No worker runs a connector or task yet.')),
      section(h('span', `Problems (${problems.length})`), problems.length ? h('div', { 'data-testid': 'problems' }, problems.slice(0, 200).map((p) => h('div', { style: { marginBottom: '10px' } },
        h('div.row', badge('FAILED'), h('a', { href: href(p.name) }, p.name), h('span.muted', `${p.what} on ${p.worker || '?'}`)), traceBlock(p.trace || 'no trace reported'))),
      problems.length > 200 ? h('p.muted', `… and ${problems.length - 200} more`) : null) : h('p.muted', 'Nothing failed.')),
      list.status === 'rejected' ? errorBox(list.reason, 'Connector states unavailable') : null);
  }
}

function workerCard(w, href) {
  const j = w.jmx;
  const heap = j && j.heapMaxMB ? j.heapUsedMB / j.heapMaxMB : null;
  const failed = w.tasks.filter((t) => t.state === 'FAILED').length;
  const MAX = 12;
  return h('div.panel.worker', { id: 'worker-' + w.id, 'data-worker': w.id },
    h('h4', icon('server', 14), w.id, h('span.spacer'), j ? (j.jolokia && j.jolokia.reachable === false ? h('span.badge.badge-warn', { title: j.jolokia.error || '' }, 'no JMX') : h('span.badge.badge-ok', 'JMX')) : null),
    j && !(j.jolokia && j.jolokia.reachable === false) ? [
      h('div.row.hint', `Heap ${num(j.heapUsedMB, 0)} / ${num(j.heapMaxMB, 0)} MiB`, h('span.spacer'), `CPU ${pct(j.cpuPercent, 1)}`, ' · ', `${num(j.threadCount, 0)} threads`),
      h('div.bar', { class: heap >= 0.9 ? 'bad' : heap >= 0.75 ? 'warn' : '' }, h('span', { style: { width: `${Math.min(100, (heap || 0) * 100)}%` } }))]
      : j && j.jolokia ? h('p.hint', `Jolokia: ${j.jolokia.error || 'unreachable'}`) : null,
    h('div.hint', `${w.connectors.length} connector instance(s), ${w.tasks.length} task(s)`, failed ? h('span.t-bad', ` · ${failed} failed`) : null),
    h('details', h('summary.hint', 'Connectors and tasks'),
      h('ul', { style: { margin: '4px 0', paddingLeft: '18px' } },
        w.connectors.slice(0, MAX).map((c) => h('li', h('a', { href: href(c.name) }, c.name), ' ', badge(c.state))),
        w.tasks.slice(0, MAX).map((t) => h('li', h('a', { href: href(t.name, 'tasks') }, `${t.name} #${t.id}`), ' ', badge(t.state))),
        w.connectors.length + w.tasks.length > 2 * MAX ? h('li.muted', '…') : null)));
}

