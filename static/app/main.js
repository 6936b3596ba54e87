// Entry point: loads gateway settings and clusters, draws the top bar, routes the URL to a page
// and disposes the previous page (its timers, streams) on every navigation.
import { h, replace } from './dom.js';
import { icon } from './icons.js';
import * as api from './api.js';
import { Life, errorBox, callout } from './ui.js';
import { applyTheme, themeButton } from './theme.js';
import { listPage } from './pages/list.js';
import { detailPage } from './pages/detail.js';
import { createPage } from './pages/create.js';
import { clusterPage } from './pages/cluster.js';
import { pluginsPage } from './pages/plugins.js';
import { healthPage } from './pages/health.js';
import { clustersPage } from './pages/clusters.js';
import { settingsPage } from './pages/settings.js';
import { notFoundPage } from './pages/notfound.js';
import { auditPage } from './pages/audit.js';

const app = {
  settings: { version: '', readOnly: false, metricsCacheTtlMs: 5000 },
  clusters: [],
  cluster: null,
  me: null, // GET /api/whoami: who this is and the role on every cluster
  may,
  navigate,
  refreshClusters,
  href: (...parts) => '/' + parts.map((p) => encodeURIComponent(p)).join('/'),
};
window.__kc = app; // handy from the devtools console

const ROUTES = [
  [/^\/?$/, () => redirectHome()],
  [/^\/clusters\/?$/, clustersPage],
  [/^\/clusters\/([^/]+)\/?$/, (ctx) => navigate(app.href('clusters', ctx.params[0], 'connectors'), true)],
  [/^\/clusters\/([^/]+)\/connectors\/?$/, listPage],
  [/^\/clusters\/([^/]+)\/create\/?$/, createPage],
  [/^\/clusters\/([^/]+)\/connectors\/([^/]+)(?:\/([a-z]+))?\/?$/, detailPage],
  [/^\/clusters\/([^/]+)\/overview\/?$/, clusterPage],
  [/^\/clusters\/([^/]+)\/plugins\/?$/, pluginsPage],
  [/^\/gateway\/?$/, healthPage],
  [/^\/settings\/?$/, settingsPage],
  [/^\/audit\/?$/, auditPage],
];

const RANK = { none: 0, viewer: 1, operator: 2, admin: 3 };

/** null when the caller's role allows the route `label` on `cluster`; else why not (the
 * tooltip of a disabled action). The gateway decides anyway: this only explains. */
function may(label, cluster = app.cluster) {
  const me = app.me;
  const r = me && me.routes && me.routes[label];
  if (!r) return null;
  const roles = me.roles || {};
  const have = r.perCluster ? (roles[cluster] || 'none')
    : Object.values(roles).reduce((a, b) => (RANK[b] > RANK[a] ? b : a), 'none');
  if (RANK[have] >= RANK[r.role]) return null;
  return `Role ${have} may not ${r.what}${r.perCluster ? ` on cluster ${cluster}` : ''} (needs ${r.role})`;
}

let life = null;
const pageEl = document.getElementById('page');

function redirectHome() {
  const saved = localStorage.getItem('kc.cluster');
  const known = app.clusters.map((c) => c.name);
  const name = known.includes(saved) ? saved : (known[0] || 'default');
  navigate(app.href('clusters', name, 'connectors'), true);
}

export function navigate(url, replaceState = false) {
  if (replaceState) history.replaceState(null, '', url); else history.pushState(null, '', url);
  route();
}

function route() {
  if (life) life.dispose();
  life = new Life();
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  for (const [re, page] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    let params;
    try { params = m.slice(1).map((p) => (p === undefined ? undefined : decodeURIComponent(p))); } catch { break; }
    const clusterName = path.startsWith('/clusters/') && params[0] ? params[0] : app.cluster;
    if (clusterName && clusterName !== app.cluster) {
      app.cluster = clusterName;
      localStorage.setItem('kc.cluster', clusterName);
    }
    const ctx = { app, params, query, life, path, el: pageEl, cluster: app.cluster, api: api.cluster(app.cluster || 'default') };
    renderTopbar(path);
    renderBanner();
    replace(pageEl);
    pageEl.className = '';
    try {
      const out = page(ctx);
      if (out && typeof out.then === 'function') out.catch((e) => { console.error(e); replace(pageEl, errorBox(e, 'This page failed to load')); });
    } catch (e) {
      console.error(e);
      replace(pageEl, errorBox(e, 'This page failed to load'));
    }
    return;
  }
  renderTopbar(path);
  replace(pageEl);
  notFoundPage({ app, el: pageEl, path, life });
}

// ---- top bar ----
const NAV = [
  ['connectors', 'Connectors', 'list'],
  ['overview', 'Cluster', 'server'],
  ['plugins', 'Plugins', 'puzzle'],
];

function renderTopbar(path) {
  const bar = document.getElementById('topbar');
  const c = app.cluster || (app.clusters[0] && app.clusters[0].name) || 'default';
  const sel = h('select.cluster-select', { 'aria-label': 'Cluster', title: 'Cluster', onChange: (e) => {
    const sub = /^\/clusters\/[^/]+\/(overview|plugins)/.exec(location.pathname);
    navigate(app.href('clusters', e.target.value, sub ? sub[1] : 'connectors'));
  } }, app.clusters.map((cl) => h('option', { value: cl.name, selected: cl.name === c }, cl.name + (cl.reachable === false ? ' (unreachable)' : ''))));
  if (!app.clusters.length) sel.appendChild(h('option', { value: c }, c));
  const seg = path.split('/');
  const active = seg[1] === 'clusters' ? (seg[3] === 'create' ? 'connectors' : seg[3] || 'connectors') : seg[1];
  replace(bar,
    h('a.brand', { href: '/' }, h('img', { src: '/favicon.svg', alt: '', width: 20, height: 20 }), h('span', 'kconnect-console')),
    h('div.cluster-pick', icon('database', 14), sel),
    h('nav.mainnav', { 'aria-label': 'Main' },
      NAV.map(([k, label, ic]) => h('a', { href: app.href('clusters', c, k), class: active === k ? 'active' : '', 'aria-current': active === k ? 'page' : null }, icon(ic, 15), label)),
      h('a', { href: '/gateway', class: active === 'gateway' ? 'active' : '' }, icon('heart', 15), 'Health'),
      h('a', { href: '/settings', class: active === 'settings' ? 'active' : '' }, icon('gear', 15), 'Settings'),
      app.me && app.me.admin ? h('a', { href: '/audit', class: active === 'audit' ? 'active' : '', 'data-testid': 'nav-audit' }, icon('clock', 15), 'Audit') : null),
    h('div.spacer'),
    whoBadge(c),
    app.settings.readOnly ? h('span.badge.badge-warn', { title: 'The gateway refuses every change (KC_READ_ONLY)' }, icon('lock', 12), ' read-only') : null,
    h('span.version', app.settings.version ? 'v' + app.settings.version : ''),
    themeButton());
}

/** Who you are and your role on the current cluster; every cluster's role in the tooltip. */
function whoBadge(cluster) {
  const me = app.me;
  if (!me || !me.authConfigured) return null;
  const role = (me.roles || {})[cluster] || 'none';
  const all = Object.entries(me.roles || {}).map(([c, r]) => `${c}: ${r}`).join(', ');
  return h('span.whoami', { 'data-testid': 'whoami', 'data-role': role,
    title: `Signed in as ${me.user} (${me.auth}${me.groups && me.groups.length ? `, groups ${me.groups.join(', ')}` : ''}). Roles — ${all}` },
  icon('lock', 12), h('strong', me.user), ` · ${role}`);
}

// A 401: say how to sign in, instead of pages that fail one by one.
let signedOut = false;
function showSignIn(how, message) {
  signedOut = true;
  const el = document.getElementById('banner');
  const token = how.includes('token');
  const proxy = how.includes('proxy');
  replace(el, h('div.banner.banner-bad', { role: 'alert', 'data-testid': 'signin-banner' }, icon('lock', 16),
    h('span', h('strong', 'Not signed in. '),
      proxy ? 'Sign in through your proxy (this gateway accepts identities only from its trusted proxies)' : '',
      proxy && token ? ', or ' : '',
      token ? (proxy ? 'use an API token' : 'This gateway needs an API token') : '',
      message && /not valid/.test(message) ? ` — ${message}` : '', '. '),
    token ? h('button.btn.small', { type: 'button', 'data-action': 'enter-token', onClick: () => { if (api.askForToken(false, proxy)) location.reload(); } }, 'Enter token') : null,
    proxy ? h('button.btn.small', { type: 'button', onClick: () => location.reload() }, 'Reload') : null));
}

function renderBanner() {
  if (signedOut) return; // the sign-in message stays until a reload
  const el = document.getElementById('banner');
  const cur = app.clusters.find((c) => c.name === app.cluster);
  if (cur && cur.reachable === false) {
    replace(el, h('div.banner.banner-bad', { role: 'alert', 'data-testid': 'unreachable-banner' }, icon('alert', 16),
      h('span', h('strong', `Kafka Connect of cluster “${cur.name}” is unreachable`), cur.error ? ` — ${cur.error}` : '', '. Data may be missing or stale. '),
      h('a', { href: '/gateway' }, 'Open gateway health')));
  } else {
    replace(el);
  }
}

async function refreshClusters() {
  try {
    const r = await api.clusters();
    app.clusters = (r && r.clusters) || [];
  } catch (e) {
    console.warn('clusters', e);
  }
  renderBanner();
  const sel = document.querySelector('.cluster-select');
  if (sel) for (const o of sel.options) {
    const cl = app.clusters.find((c) => c.name === o.value);
    if (cl) o.textContent = cl.name + (cl.reachable === false ? ' (unreachable)' : '');
  }
}

// ---- links and keyboard ----
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  e.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search + url.hash);
});
window.addEventListener('popstate', route);
document.addEventListener('keydown', (e) => {
  const t = e.target;
  const typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  if (e.key === '/' && !typing) {
    const f = document.querySelector('[data-hotkey="/"]');
    if (f) { e.preventDefault(); f.focus(); f.select && f.select(); }
  }
});

async function boot() {
  applyTheme();
  api.signIn.onUnauthorized = showSignIn;
  const [s, , me] = await Promise.allSettled([api.settings(), refreshClusters(), api.whoami()]);
  if (me.status === 'fulfilled') app.me = me.value;
  if (s.status === 'fulfilled' && s.value) Object.assign(app.settings, s.value);
  else if (!(s.reason && s.reason.status === 401)) replace(document.getElementById('banner'), callout('warn', 'Gateway settings unavailable', ' — ', s.reason ? String(s.reason.message) : ''));
  // The cluster switcher's reachability: every 15 s while the tab is shown, at once when shown.
  setInterval(() => { if (document.visibilityState !== 'hidden') refreshClusters(); }, 15000);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') refreshClusters(); });
  route();
}
boot();
