// Plugins page: installed plugins by type; each opens its config definitions.
import { h, replace, debounce } from '../dom.js';
import { icon } from '../icons.js';
import { errorBox, pageHead, loading, section, errorText } from '../ui.js';

const ORDER = ['source', 'sink', 'transformation', 'predicate', 'converter', 'header_converter'];
const LABEL = { source: 'Source connectors', sink: 'Sink connectors', transformation: 'Transformations (SMTs)', predicate: 'Predicates', converter: 'Converters', header_converter: 'Header converters' };

export async function pluginsPage(ctx) {
  const { life, el, api } = ctx;
  const cl = ctx.params[0];
  const filter = h('input', { type: 'search', placeholder: 'Filter plugins', 'aria-label': 'Filter plugins', 'data-hotkey': '/' });
  const body = h('div', loading());
  replace(el, pageHead('Plugins', h('span', 'Installed on cluster ', h('strong', cl))), h('div.toolbar', h('label.search', icon('search', 14), filter)), body);
  let plugins;
  try { plugins = await api.plugins(true); } catch (e) { replace(body, errorBox(e, 'Could not list the plugins')); return; }
  if (!life.alive) return;
  const paint = () => {
    const q = filter.value.trim().toLowerCase();
    const types = [...new Set([...ORDER, ...plugins.map((p) => p.type)])];
    replace(body, types.map((t) => {
      const list = plugins.filter((p) => p.type === t && (!q || p.class.toLowerCase().includes(q))).sort((a, b) => a.class.localeCompare(b.class));
      if (!list.length) return null;
      return section(`${LABEL[t] || t} (${list.length})`, h('div', { 'data-plugin-type': t }, list.map((p) => plugin(p))));
    }), plugins.length ? null : h('p.empty', 'No plugins reported.'));
  };
  function plugin(p) {
    const inner = h('div.plugin-body', loading());
    const d = h('details.plugin', { 'data-plugin': p.class }, h('summary', icon('chevronRight', 14, 'chev'), h('code', p.class), h('span.spacer'), h('span.muted', p.version || '')), inner);
    let loaded = false;
    d.addEventListener('toggle', async () => {
      if (!d.open || loaded) return;
      loaded = true;
      try {
        const defs = await api.pluginConfig(p.class);
        replace(inner, (defs || []).length ? h('table.tbl', h('thead', h('tr', h('th', 'Name'), h('th', 'Type'), h('th', 'Default'), h('th', 'Importance'), h('th', 'Documentation'))),
          h('tbody', defs.map((c) => h('tr', h('td.mono', c.name, c.required ? h('span.t-bad', ' *') : null), h('td', c.type), h('td.mono.wrap', c.default_value ?? '—'), h('td', c.importance), h('td', c.documentation || '')))))
          : h('p.muted', 'This plugin declares no configuration.'));
      } catch (e) { replace(inner, h('p.muted', `Definitions unavailable: ${errorText(e)} (needs Kafka Connect 3.2+).`)); }
    });
    return d;
  }
  filter.addEventListener('input', debounce(paint, 120));
  paint();
}
