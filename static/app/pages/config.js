// Config tab: masked view, edit as form (from Connect's validate definitions) or raw JSON,
// transforms (SMT) editor, validation with per-field errors, diff before save.
import { h, replace, append } from '../dom.js';
import { icon } from '../icons.js';
import { button, section, errorBox, toast, errorText, dialog, loading, callout, setBusy } from '../ui.js';
import { MASK, partlyMasked, fieldsForm, transformsEditor, smtTypeOptions, validationErrors, configDiff, diffView } from '../configform.js';

export function configTab({ api, name, conn, ro, gate, reload, life }) {
  const el = h('div', loading());
  let original = null; // as read from the gateway (secrets masked)
  let draft = null;
  let mode = 'view';
  let result = null; // last validate answer
  let showAll = false;
  let plugins = null;
  const smtCtx = { api, plugins: null, errors: {}, onChange: () => {} };

  async function load() {
    try {
      original = await api.config(name);
    } catch (e) { replace(el, errorBox(e, 'Could not read the configuration')); return; }
    if (!life.alive) return;
    draft = { ...original };
    paint();
  }

  async function validate() {
    const cls = draft['connector.class'];
    if (!cls) { toast('connector.class is required', 'bad'); return null; }
    try {
      result = await api.validate(cls, draft);
    } catch (e) { toast(`Validation failed — ${errorText(e)}`, 'bad'); return null; }
    smtCtx.errors = validationErrors(result).map;
    return result;
  }

  function viewMode() {
    const keys = Object.keys(original).sort();
    return section(h('span', 'Configuration', h('span.spacer'),
      ro ? null : button('Edit', { icon: 'edit', kind: 'small', ...gate('connector_config_put', false), attrs: { 'data-action': 'edit-config' }, onClick: () => enter('form') }),
      ro ? null : button('Edit JSON', { kind: 'small', ...gate('connector_config_put', false), attrs: { 'data-action': 'edit-json' }, onClick: () => enter('json') })),
    h('table.tbl', { 'data-testid': 'config-view' }, h('thead', h('tr', h('th', 'Key'), h('th', 'Value'))),
      h('tbody', keys.map((k) => h('tr', { 'data-key': k }, h('td.mono.wrap', { style: { width: '34%' } }, k),
        h('td.mono.wrap', original[k] === MASK ? h('span.masked', { title: 'Secret: masked by the gateway' }, icon('lock', 12), 'hidden') : original[k]))))));
  }

  async function enter(m) {
    mode = m;
    draft = { ...original };
    if (m === 'form' && !result) { replace(el, loading('Loading definitions…')); await validate(); }
    if (plugins === null) {
      plugins = [];
      // fill the class list in place: a repaint here would drop what is being typed
      api.plugins(true).then((p) => { plugins = p || []; smtCtx.plugins = plugins; const dl = el.querySelector('#smt-types'); if (dl) replace(dl, smtTypeOptions(plugins)); }).catch(() => {});
    }
    paint();
  }

  function editMode() {
    const errs = validationErrors(result);
    const body = h('div');
    let json;
    let shown = new Set();
    if (mode === 'json') {
      json = h('textarea', { rows: 22, 'aria-label': 'Configuration JSON', 'data-testid': 'config-json', spellcheck: 'false' }, JSON.stringify(draft, null, 2));
      json.addEventListener('input', () => {
        try { const v = JSON.parse(json.value); if (v && typeof v === 'object' && !Array.isArray(v)) { draft = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x == null ? x : String(x)])); json.classList.remove('invalid'); } } catch { json.classList.add('invalid'); }
      });
      append(body, [h('p.hint', 'All values are strings. Secrets shown as ', h('code', MASK), ' keep their current value when saved unchanged.'), json]);
    } else {
      const f = fieldsForm(result, draft, { showAll, onChange: (k, structural) => { if (structural) paint(); } });
      shown = new Set([...f.el.querySelectorAll('[data-field]')].map((x) => x.dataset.field));
      append(body, [f.el, f.hidden ? h('p', button(showAll ? 'Show fewer fields' : `Show all fields (${f.hidden} more)`, { kind: 'small', onClick: () => { showAll = !showAll; paint(); } })) : null]);
    }
    const unknownErrs = Object.entries(errs.map).filter(([k]) => mode === 'json' || (!shown.has(k) && !k.startsWith('transforms.')));
    return [
      errs.count ? callout('bad', `${errs.count} validation error${errs.count > 1 ? 's' : ''}`, ' — fix the highlighted fields.', unknownErrs.length ? h('ul', { 'data-testid': 'validation-errors' }, unknownErrs.map(([k, v]) => h('li', h('code', k), ': ', v.join('; ')))) : null)
        : result ? callout('info', 'Connect accepts this configuration', ' (last validation).') : null,
      section(h('span', `Edit configuration`, h('span.spacer'),
        h('span.btn-group', button('Form', { kind: `small ${mode === 'form' ? 'on' : ''}`, onClick: async () => { if (mode !== 'form') { if (!result) await validate(); mode = 'form'; paint(); } } }),
          button('JSON', { kind: `small ${mode === 'json' ? 'on' : ''}`, onClick: () => { mode = 'json'; paint(); } }))), body),
      mode === 'form' ? section('Transforms (SMTs)', h('p.hint', 'Applied in order to every record. Reorder with the arrows; parameters are validated with the connector.'), transformsEditor(draft, smtCtx).el) : null,
      h('div.row', { style: { marginTop: '12px' } },
        button('Validate', { icon: 'check', attrs: { 'data-action': 'validate' }, onClick: async (e) => { const b = e.currentTarget; setBusy(b, true); const r = await validate(); setBusy(b, false); if (r) { paint(); toast(r.error_count ? `${r.error_count} validation error(s)` : 'Configuration is valid', r.error_count ? 'warn' : 'ok'); } } }),
        button('Review & save', { icon: 'edit', kind: 'primary', attrs: { 'data-action': 'review' }, onClick: review }),
        button('Cancel', { onClick: () => { mode = 'view'; result = null; smtCtx.errors = {}; draft = { ...original }; paint(); } })),
    ];
  }

  async function review() {
    if (draft.name !== undefined && draft.name !== name) { toast(`The name key must stay “${name}”`, 'bad'); return; }
    const spoilt = partlyMasked(original, draft);
    if (spoilt.length) { toast(`${spoilt.join(', ')}: type the whole new secret, or leave ${MASK} as is to keep the current one`, 'bad'); return; }
    const r = await validate();
    if (!r) return;
    paint();
    const changes = configDiff(original, draft);
    const nErr = validationErrors(r).count;
    dialog({
      title: `Save configuration of ${name}?`, wide: true,
      body: [nErr ? callout('bad', `${nErr} validation error(s)`, ' — Connect would refuse this configuration: fix them before saving.') : callout('info', 'Validated', ' — Connect accepts it.'),
        h('h3', { style: { margin: '6px 0' } }, `${changes.length} change${changes.length === 1 ? '' : 's'}`), diffView(changes),
        Object.values(draft).includes(MASK) ? h('p.hint', { style: { marginTop: '8px' } }, icon('lock', 12), ' Masked secrets are sent as ', h('code', MASK), '; the gateway keeps their real values.') : null],
      actions: [h('button.btn', { type: 'submit', value: 'cancel' }, 'Back'),
        h('button.btn.primary', { type: 'button', disabled: !changes.length || nErr > 0, 'data-action': 'save-config', onClick: async (e) => {
          const b = e.currentTarget; setBusy(b, true);
          try {
            await api.putConfig(name, draft);
            toast('Configuration saved');
            b.closest('dialog').close();
            result = null; smtCtx.errors = {}; mode = 'view';
            await load();
            reload();
          } catch (err) { toast(`Save failed — ${errorText(err)}`, 'bad'); setBusy(b, false); }
        } }, 'Save')],
    });
  }

  function paint() {
    if (!life.alive || !original) return;
    replace(el, mode === 'view' ? viewMode() : editMode());
  }

  load();
  return el;
}
