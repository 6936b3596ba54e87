// Audit page: every change made through the gateway (allowed, refused or failed), newest
// first, from GET /api/audit — filters by user and connector kept in the URL; admins only.
import { h, replace, ago, debounce } from '../dom.js';
import { icon } from '../icons.js';
import * as api from '../api.js';
import { errorBox, pageHead, autoRefresh, loading, callout } from '../ui.js';

const OUTCOME = { ok: 'ok', failed: 'bad', forbidden: 'warn', read_only: 'warn', abandoned: 'muted' };

export function auditPage(ctx) {
  const { app, life, el, query } = ctx;
  const view = { user: query.get('user') || '', connector: query.get('connector') || '' };
  const input = (key, label) => {
    const i = h('input', { type: 'search', placeholder: label, value: view[key], 'aria-label': label, 'data-testid': `audit-${key}` });
    i.addEventListener('input', debounce(() => { view[key] = i.value.trim(); sync(); ar.run(); }, 250));
    return i;
  };
  const body = h('div', loading());
  const source = h('span.muted');
  const ar = autoRefresh(life, load, 10000);
  replace(el, pageHead('Audit', h('span', 'Every change made through this gateway: who, where, what, and what was answered. ', source), [ar.el]),
    h('div.toolbar', h('label.search', icon('search', 14), input('user', 'User')), h('label.search', icon('plug', 14), input('connector', 'Connector'))),
    body);

  function sync() {
    const p = new URLSearchParams();
    if (view.user) p.set('user', view.user);
    if (view.connector) p.set('connector', view.connector);
    const s = p.toString();
    history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
  }

  async function load() {
    let doc;
    try { doc = await api.audit({ user: view.user, connector: view.connector, limit: 500 }); } catch (e) {
      if (!life.alive) return;
      replace(body, e.status === 403 ? callout('warn', 'Admins only', ' — ', e.message) : errorBox(e, 'Could not read the audit trail'));
      return;
    }
    if (!life.alive) return;
    source.textContent = doc.source === 'fleet' ? '(the whole fleet, from Redis)' : '(this replica)';
    const rows = doc.records || [];
    if (!rows.length) { replace(body, h('div.empty', { 'data-testid': 'audit-empty' }, h('p', 'No changes recorded yet.'))); return; }
    replace(body, h('table.tbl', { 'data-testid': 'audit-table' },
      h('thead', h('tr', ['When', 'User', 'Role', 'Cluster', 'Action', 'Connector', 'Answer', 'Message'].map((t) => h('th', t)))),
      h('tbody', rows.map((r) => h('tr', { 'data-route': r.route, 'data-user': r.user, 'data-outcome': r.outcome },
        h('td.nowrap', { title: r.at }, ago(r.at)),
        h('td', h('strong', r.user), h('div.hint', `${r.auth} from ${r.peer}`)),
        h('td', r.role),
        h('td', r.cluster),
        h('td', h('code', r.method), ' ', r.route.replace(/_/g, ' ')),
        h('td.wrap', r.connector ? h('a', { href: app.href('clusters', r.cluster, 'connectors', r.connector) }, r.connector) : '—'),
        h('td.nowrap', h('span', { class: `badge badge-${OUTCOME[r.outcome] || 'muted'}`, 'data-testid': 'audit-outcome' }, r.outcome), ' ', r.status ?? '—'),
        h('td.wrap', r.error || ''))))));
  }
}
