// Clusters picker: every configured cluster with its reachability and version.
import { h, replace, num } from '../dom.js';
import { icon } from '../icons.js';
import { pageHead, section, badge } from '../ui.js';

export async function clustersPage(ctx) {
  const { app, el } = ctx;
  await app.refreshClusters();
  replace(el, pageHead('Clusters', 'Kafka Connect clusters configured on this gateway'),
    section(null, h('table.tbl', { 'data-testid': 'clusters' }, h('thead', h('tr', h('th', 'Cluster'), h('th', 'Status'), h('th', 'Version'), h('th', 'Kafka cluster id'), h('th.num', 'Latency'), h('th', ''))),
      h('tbody', app.clusters.map((c) => h('tr', { 'data-cluster': c.name },
        h('td', h('a', { href: app.href('clusters', c.name, 'connectors') }, icon('database', 14), ' ', c.name)),
        h('td', c.reachable ? badge('RUNNING', 'reachable') : h('span', badge('FAILED', 'unreachable'), ' ', h('span.muted', c.error || ''))),
        h('td', c.version || '—'), h('td.mono', c.kafkaClusterId || '—'), h('td.num', c.latencyMs != null ? `${num(c.latencyMs, 1)} ms` : '—'),
        h('td', h('a', { href: app.href('clusters', c.name, 'overview') }, 'Details'))))))));
}
