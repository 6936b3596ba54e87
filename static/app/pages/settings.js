// Settings: theme and refresh intervals (kept in this browser), and the gateway's own settings.
import { h, replace, num } from '../dom.js';
import { pageHead, section, kv, toast } from '../ui.js';
import { themeSetting, setTheme } from '../theme.js';

export function settingsPage(ctx) {
  const { app, el } = ctx;
  const choice = (key, options, current, onPick, label) => h('select', { 'aria-label': label, onChange: (e) => { onPick(e.target.value); toast('Saved in this browser', 'ok', 1500); } },
    options.map(([v, l]) => h('option', { value: v, selected: String(current) === String(v) }, l)));
  const s = app.settings;
  replace(el, pageHead('Settings'),
    section('This browser', h('div.form-grid',
      h('label', 'Theme'), choice('theme', [['system', 'System'], ['light', 'Light'], ['dark', 'Dark']], themeSetting(), (v) => setTheme(v), 'Theme'),
      h('label', 'List and detail refresh'), choice('refresh', [[2000, '2 s'], [5000, '5 s'], [10000, '10 s'], [30000, '30 s'], [60000, '60 s']], localStorage.getItem('kc.refresh') || 5000, (v) => localStorage.setItem('kc.refresh', v), 'Refresh interval'),
      h('label', 'Metrics refresh (polling)'), choice('mrefresh', [[1000, '1 s'], [2000, '2 s'], [5000, '5 s (default)'], [10000, '10 s'], [30000, '30 s']], localStorage.getItem('kc.metricsRefresh') || 5000, (v) => localStorage.setItem('kc.metricsRefresh', v), 'Metrics refresh interval'),
      h('label', 'Auto-refresh'), choice('ar', [['on', 'On'], ['off', 'Off']], localStorage.getItem('kc.autorefresh') === 'off' ? 'off' : 'on', (v) => localStorage.setItem('kc.autorefresh', v), 'Auto-refresh'))),
    section('Gateway', kv([
      ['Version', s.version || '—'], ['Read-only', s.readOnly ? 'yes — changes are refused (KC_READ_ONLY)' : 'no'],
      ['Authentication', s.authRequired ? 'required' : 'none'],
      app.me ? ['Signed in as', `${app.me.user} (${app.me.auth}${app.me.groups && app.me.groups.length ? `; groups ${app.me.groups.join(', ')}` : ''})`] : null,
      app.me ? ['Roles', h('span', { 'data-testid': 'my-roles' }, Object.entries(app.me.roles || {}).map(([c, r]) => `${c}: ${r}`).join(', ') || '—')] : null, ['Metrics cache TTL', s.metricsCacheTtlMs != null ? `${num(s.metricsCacheTtlMs, 0)} ms` : '—'],
      ['Clusters', app.clusters.map((c) => c.name).join(', ') || '—'],
    ])),
    section('Keyboard', kv([['/', 'Focus the filter of the current list'], ['Tab / Shift+Tab', 'Move between controls; Enter opens links, Space toggles checkboxes'], ['Esc', 'Close a dialog']])));
}
