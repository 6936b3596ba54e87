// Config editing shared by the Config tab and the Create page: a form built from Connect's
// validate answer (per-field help and errors), a key/value editor for keys it does not define,
// the transforms (SMT) editor, and the diff shown before saving. Masked secrets stay "********".
import { h, replace } from './dom.js';
import { icon } from './icons.js';
import { button } from './ui.js';

export const MASK = '********';

/** Masked secrets of `before` whose edited value still holds the mask without being it (typed onto the mask). */
export const partlyMasked = (before, after) => Object.keys(after).filter((k) => before[k] === MASK && typeof after[k] === 'string' && after[k] !== MASK && after[k].includes(MASK));

/** Keys owned by the transforms editor rather than the main form. */
export const isTransformKey = (k) => k === 'transforms' || k === 'predicates' || k.startsWith('transforms.') || k.startsWith('predicates.');

/** Map of key → [errors] from a validate answer, plus the total. */
export function validationErrors(result) {
  const map = {};
  let count = 0;
  for (const c of (result && result.configs) || []) {
    const errs = (c.value && c.value.errors) || [];
    if (errs.length) { map[c.value.name || c.definition.name] = errs; count += errs.length; }
  }
  return { map, count: result ? result.error_count ?? count : 0 };
}

function inputFor(def, value, recommended, onInput) {
  const type = (def && def.type) || 'STRING';
  const ph = def && def.default_value != null && def.default_value !== '' ? `default: ${def.default_value}` : '';
  const name = def ? def.name : '';
  if (type === 'BOOLEAN') {
    const sel = h('select', { 'data-key': name, onChange: (e) => onInput(e.target.value) },
      h('option', { value: '' }, ph || '(not set)'), h('option', { value: 'true', selected: value === 'true' }, 'true'), h('option', { value: 'false', selected: value === 'false' }, 'false'));
    return sel;
  }
  if (recommended && recommended.length && type !== 'LIST') {
    const opts = [...new Set([...(value && !recommended.includes(value) ? [value] : []), ...recommended])];
    return h('select', { 'data-key': name, onChange: (e) => onInput(e.target.value) },
      h('option', { value: '' }, ph || '(not set)'), opts.map((o) => h('option', { value: o, selected: o === value }, o)));
  }
  const masked = value === MASK;
  const inp = h('input', {
    type: type === 'PASSWORD' || masked ? 'password' : 'text', value: value ?? '', placeholder: ph, 'data-key': name,
    inputmode: /INT|LONG|SHORT|DOUBLE/.test(type) ? 'decimal' : null, autocomplete: type === 'PASSWORD' ? 'new-password' : 'off', spellcheck: 'false',
    onInput: (e) => onInput(e.target.value),
    // a masked secret is replaced as a whole: typing must never append to the mask
    onFocus: masked ? (e) => { if (e.target.value === MASK) e.target.select(); } : null,
  });
  return inp;
}

/**
 * A form over `draft` (mutated in place) from a validate answer.
 * opts: { showAll, onChange, keep: (key) => bool (always show), hideKeys: Set }
 */
export function fieldsForm(result, draft, opts = {}) {
  const { showAll = false, onChange = () => {}, hideKeys = new Set(), keep = () => false } = opts;
  const { map: errors } = validationErrors(result);
  const configs = ((result && result.configs) || []).filter((c) => c.definition && !hideKeys.has(c.definition.name) && !isTransformKey(c.definition.name));
  const groups = [...((result && result.groups) || [])];
  for (const c of configs) if (!groups.includes(c.definition.group)) groups.push(c.definition.group);
  const grid = h('div.form-grid', { 'data-testid': 'config-form' });
  const defined = new Set(configs.map((c) => c.definition.name));
  const IMP = { HIGH: 0, MEDIUM: 1, LOW: 2 };
  let hidden = 0;
  for (const g of groups) {
    const items = configs.filter((c) => c.definition.group === g)
      .sort((a, b) => (a.definition.order ?? 0) - (b.definition.order ?? 0) || (IMP[a.definition.importance] ?? 3) - (IMP[b.definition.importance] ?? 3));
    const visible = items.filter((c) => {
      const d = c.definition, k = d.name;
      const show = showAll || keep(k) || k in draft || errors[k] || (d.required && d.default_value == null) || d.importance === 'HIGH';
      if (!show) hidden++;
      return show && (c.value ? c.value.visible !== false || k in draft : true);
    });
    if (!visible.length) continue;
    grid.appendChild(h('div.group-title', g || 'Other'));
    for (const c of visible) {
      const d = c.definition, k = d.name;
      const errs = errors[k];
      const input = inputFor(d, draft[k], c.value && c.value.recommended_values, (v) => { if (v === '') delete draft[k]; else draft[k] = v; onChange(k); });
      if (errs) input.classList.add('invalid');
      input.id = 'f-' + k;
      grid.append(
        h('label', { for: input.id }, d.display_name || k, d.required && d.default_value == null ? h('span.t-bad', { title: 'required' }, ' *') : null,
          d.display_name && d.display_name !== k ? h('div.mono.muted', { style: { fontWeight: 400, fontSize: '11px' } }, k) : null),
        h('div.field', { 'data-field': k }, input,
          draft[k] === MASK ? h('div.fmask', icon('lock', 11), ' Masked by the gateway; leave it as is to keep the current secret.') : null,
          errs ? errs.map((e) => h('div.ferr', { role: 'alert' }, e)) : null,
          d.documentation ? h('div.help', d.documentation) : null));
    }
  }
  // keys the plugin does not define (or Connect did not echo), editable as plain text
  const extra = Object.keys(draft).filter((k) => !defined.has(k) && !hideKeys.has(k) && !isTransformKey(k)).sort();
  if (extra.length) {
    grid.appendChild(h('div.group-title', 'Other settings'));
    for (const k of extra) {
      const input = inputFor({ name: k, type: /password|secret/i.test(k) ? 'PASSWORD' : 'STRING' }, draft[k], null, (v) => { draft[k] = v; onChange(k); });
      input.id = 'f-' + k;
      if (errors[k]) input.classList.add('invalid');
      grid.append(h('label.mono', { for: input.id }, k),
        h('div.field', { 'data-field': k }, h('div.row', { style: { flexWrap: 'nowrap' } }, input,
          h('button.icon-btn', { type: 'button', title: `Remove ${k}`, 'aria-label': `Remove ${k}`, onClick: () => { delete draft[k]; onChange(k, true); } }, icon('trash', 14))),
          draft[k] === MASK ? h('div.fmask', icon('lock', 11), ' Masked; left as is the current secret is kept.') : null,
          errors[k] ? errors[k].map((e) => h('div.ferr', e)) : null));
    }
  }
  const newKey = h('input', { type: 'text', placeholder: 'key', 'aria-label': 'New setting key', spellcheck: 'false' });
  const newVal = h('input', { type: 'text', placeholder: 'value', 'aria-label': 'New setting value', spellcheck: 'false' });
  grid.append(h('div.group-title', 'Add a setting'), h('div', newKey), h('div.field', h('div.row', { style: { flexWrap: 'nowrap' } }, newVal,
    button('Add', { icon: 'plus', kind: 'small', onClick: () => { const k = newKey.value.trim(); if (!k) return; draft[k] = newVal.value; onChange(k, true); } }))));
  return { el: grid, hidden };
}

// ---- transforms ----

/** [{alias, type, params: {k: v}}] from a flat config. */
export function parseTransforms(cfg) {
  const aliases = (cfg.transforms || '').split(',').map((s) => s.trim()).filter(Boolean);
  return aliases.map((alias) => {
    const pre = `transforms.${alias}.`;
    const params = {};
    for (const [k, v] of Object.entries(cfg)) if (k.startsWith(pre) && k !== pre + 'type') params[k.slice(pre.length)] = v;
    return { alias, type: cfg[pre + 'type'] || '', params };
  });
}

/** Writes the transforms list back into cfg (mutates), removing keys of dropped aliases. */
export function writeTransforms(cfg, list) {
  for (const k of Object.keys(cfg)) if (k === 'transforms' || k.startsWith('transforms.')) delete cfg[k];
  if (!list.length) return cfg;
  cfg.transforms = list.map((t) => t.alias).join(',');
  for (const t of list) {
    cfg[`transforms.${t.alias}.type`] = t.type;
    for (const [k, v] of Object.entries(t.params)) if (k) cfg[`transforms.${t.alias}.${k}`] = v;
  }
  return cfg;
}

/** <option>s of the transformation classes among `plugins` (for the editor's datalist). */
export const smtTypeOptions = (plugins) => (plugins || []).filter((p) => p.type === 'transformation').map((p) => h('option', { value: p.class }));

/**
 * SMT editor over draft. ctx: { api, plugins (list, may be null), errors (key → [msg]), onChange }.
 */
export function transformsEditor(draft, ctx) {
  const el = h('div', { 'data-testid': 'smt-editor' });
  const defsCache = ctx.defsCache || (ctx.defsCache = new Map());
  const list = parseTransforms(draft);
  const dlId = 'smt-types';

  function commit() { writeTransforms(draft, list); ctx.onChange && ctx.onChange(); paint(); }

  function paramDefs(type, then) {
    if (!type || !ctx.api) return null;
    if (defsCache.has(type)) return defsCache.get(type);
    defsCache.set(type, null);
    ctx.api.pluginConfig(type).then((d) => { defsCache.set(type, d || []); then(); }).catch(() => defsCache.set(type, []));
    return null;
  }

  function paint() {
    const errors = ctx.errors || {};
    const items = list.map((t, i) => {
      const pre = `transforms.${t.alias}.`;
      const defs = paramDefs(t.type, paint) || [];
      const known = new Set(defs.map((d) => d.name));
      const typeInput = h('input.smt-type', { type: 'text', value: t.type, list: dlId, placeholder: 'transformation class', 'aria-label': `Type of ${t.alias}`, spellcheck: 'false', class: errors[pre + 'type'] ? 'invalid' : '',
        onChange: (e) => { t.type = e.target.value.trim(); commit(); } });
      const aliasInput = h('input.alias', { type: 'text', value: t.alias, 'aria-label': 'Alias', spellcheck: 'false',
        onChange: (e) => { const v = e.target.value.trim().replace(/[,\s]/g, ''); if (v && !list.some((x, j) => j !== i && x.alias === v)) t.alias = v; commit(); } });
      const rows = [];
      for (const d of defs) {
        const k = d.name;
        const errs = errors[pre + k];
        rows.push(h('label.mono', { title: d.documentation || '' }, k, d.required && d.default_value == null ? h('span.t-bad', ' *') : null),
          h('div.field', inputFor(d, t.params[k], d.recommended_values || null, (v) => { if (v === '') delete t.params[k]; else t.params[k] = v; writeTransforms(draft, list); ctx.onChange && ctx.onChange(); }),
            errs ? errs.map((e) => h('div.ferr', e)) : null, d.documentation ? h('div.help', d.documentation) : null));
      }
      for (const [k, v] of Object.entries(t.params)) {
        if (known.has(k)) continue;
        const errs = errors[pre + k];
        rows.push(h('input', { type: 'text', value: k, 'aria-label': 'Parameter name', spellcheck: 'false', onChange: (e) => { const nk = e.target.value.trim(); delete t.params[k]; if (nk) t.params[nk] = v; commit(); } }),
          h('div.field', h('div.row', { style: { flexWrap: 'nowrap' } },
            h('input', { type: 'text', value: v, 'aria-label': `Value of ${k}`, spellcheck: 'false', onInput: (e) => { t.params[k] = e.target.value; writeTransforms(draft, list); ctx.onChange && ctx.onChange(); } }),
            h('button.icon-btn', { type: 'button', title: 'Remove parameter', 'aria-label': `Remove parameter ${k}`, onClick: () => { delete t.params[k]; commit(); } }, icon('x', 14))),
          errs ? errs.map((e) => h('div.ferr', e)) : null));
      }
      const pk = h('input', { type: 'text', placeholder: 'parameter', 'aria-label': 'New parameter name', spellcheck: 'false' });
      const pv = h('input', { type: 'text', placeholder: 'value', 'aria-label': 'New parameter value', spellcheck: 'false' });
      rows.push(pk, h('div.row', { style: { flexWrap: 'nowrap' } }, pv, button('Add', { icon: 'plus', kind: 'small', onClick: () => { const k = pk.value.trim(); if (k) { t.params[k] = pv.value; commit(); } } })));
      return h('div.smt', { 'data-alias': t.alias },
        h('div.smt-head', h('span.muted', `${i + 1}.`), aliasInput, typeInput,
          h('button.icon-btn', { type: 'button', title: 'Move up', 'aria-label': `Move ${t.alias} up`, disabled: i === 0, onClick: () => { [list[i - 1], list[i]] = [list[i], list[i - 1]]; commit(); } }, icon('up', 14)),
          h('button.icon-btn', { type: 'button', title: 'Move down', 'aria-label': `Move ${t.alias} down`, disabled: i === list.length - 1, onClick: () => { [list[i + 1], list[i]] = [list[i], list[i + 1]]; commit(); } }, icon('down', 14)),
          h('button.icon-btn', { type: 'button', title: 'Remove transform', 'aria-label': `Remove ${t.alias}`, onClick: () => { list.splice(i, 1); commit(); } }, icon('trash', 14))),
        errors[pre + 'type'] ? errors[pre + 'type'].map((e) => h('div.ferr', e)) : null,
        h('div.form-grid', rows));
    });
    const alias = h('input', { type: 'text', placeholder: 'alias, e.g. route', 'aria-label': 'New transform alias', spellcheck: 'false', 'data-testid': 'smt-new-alias' });
    const type = h('input', { type: 'text', list: dlId, placeholder: 'class, e.g. org.apache.kafka.connect.transforms.RegexRouter', 'aria-label': 'New transform class', spellcheck: 'false', style: { flex: 1 }, 'data-testid': 'smt-new-type' });
    replace(el,
      h('datalist', { id: dlId }, smtTypeOptions(ctx.plugins)),
      items.length ? items : h('p.muted', 'No transforms. Records pass through unchanged.'),
      h('div.row', { style: { marginTop: '6px' } }, alias, type, button('Add transform', { icon: 'plus', attrs: { 'data-action': 'add-transform' }, onClick: () => {
        const a = alias.value.trim().replace(/[,\s]/g, '');
        if (!a || list.some((x) => x.alias === a)) { alias.classList.add('invalid'); alias.focus(); return; }
        list.push({ alias: a, type: type.value.trim(), params: {} });
        commit();
      } })));
  }
  paint();
  return { el, repaint: paint };
}

// ---- diff ----
export function configDiff(before, after) {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out = [];
  for (const k of keys) {
    const a = before[k], b = after[k];
    if (a === b) continue;
    if (a === undefined) out.push({ op: 'add', k, b });
    else if (b === undefined) out.push({ op: 'del', k, a });
    else out.push({ op: 'chg', k, a, b });
  }
  return out;
}

export function diffView(changes) {
  if (!changes.length) return h('p.muted', 'No changes.');
  const show = (v) => (v === MASK ? '•••••••• (unchanged secret)' : JSON.stringify(v));
  return h('div.diff', { 'data-testid': 'config-diff' }, changes.map((c) =>
    c.op === 'add' ? h('div.add', `+ ${c.k} = ${show(c.b)}`)
      : c.op === 'del' ? h('div.del', `- ${c.k} = ${show(c.a)}`)
        : h('div.chg', `~ ${c.k}: ${show(c.a)} → ${show(c.b)}`)));
}
