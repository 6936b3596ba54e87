// Shared UI pieces: state badges, toasts, confirm/result dialogs, error boxes, the auto-refresh
// countdown, stack traces, and the per-page lifetime that stops timers when the page is left.
import { h, replace, copyText } from './dom.js';
import { icon } from './icons.js';
import { ApiError } from './api.js';

/** A page's lifetime: timers, sockets and listeners registered here end when the page does. */
export class Life {
  constructor() { this.alive = true; this.fns = []; }
  on(fn) { if (this.alive) this.fns.push(fn); else fn(); return fn; }
  interval(fn, ms) { const t = setInterval(fn, ms); this.on(() => clearInterval(t)); return t; }
  timeout(fn, ms) { const t = setTimeout(fn, ms); this.on(() => clearTimeout(t)); return t; }
  listen(target, ev, fn, opt) { target.addEventListener(ev, fn, opt); this.on(() => target.removeEventListener(ev, fn, opt)); }
  dispose() { this.alive = false; const f = this.fns; this.fns = []; for (const fn of f) { try { fn(); } catch (e) { console.warn(e); } } }
}

const STATE_CLASS = {
  RUNNING: 'ok', PAUSED: 'warn', STOPPED: 'muted', FAILED: 'bad', UNASSIGNED: 'muted',
  RESTARTING: 'info', DEGRADED: 'warn-bad', UNKNOWN: 'muted',
};

export function badge(state, extra) {
  const s = (state || 'UNKNOWN').toUpperCase();
  return h('span', { class: `badge badge-${STATE_CLASS[s] || 'muted'}`, 'data-state': s, title: extra || s }, s);
}

export function typeTag(type) {
  return h('span', { class: `type type-${type || 'unknown'}` }, type || 'unknown');
}

/** A connector whose own instance runs but has failed tasks is shown as DEGRADED. */
export function effectiveState(state, tasks) {
  if (state === 'RUNNING' && tasks && tasks.failed > 0) return 'DEGRADED';
  return state || 'UNKNOWN';
}

export function errorText(e) {
  if (e instanceof ApiError) return e.readable;
  return (e && e.message) || String(e);
}

export function errorBox(e, title = 'Request failed') {
  return h('div.callout.callout-bad', { role: 'alert' },
    icon('alert', 18),
    h('div', h('strong', title), h('pre.errmsg', errorText(e))));
}

export function callout(kind, title, ...body) {
  return h(`div.callout.callout-${kind}`, { role: kind === 'bad' ? 'alert' : 'status' },
    icon(kind === 'bad' || kind === 'warn' ? 'alert' : 'info', 18), h('div', title ? h('strong', title) : null, ...body));
}

export function loading(text = 'Loading…') { return h('div.loading', { 'aria-busy': 'true' }, h('span.spinner'), text); }
export function empty(text, ...more) { return h('div.empty', h('p', text), ...more); }

export function button(label, opts = {}) {
  const { icon: ic, kind = '', onClick, title, disabled, type = 'button', attrs = {} } = opts;
  return h('button', { type, class: `btn ${kind}`, onClick, title, disabled, ...attrs }, ic ? icon(ic, 15) : null, label ? h('span', label) : null);
}

// ---- toasts ----
let toastHost;
export function toast(msg, kind = 'ok', ms = 4500) {
  if (!toastHost) { toastHost = h('div.toasts', { role: 'status', 'aria-live': 'polite' }); document.body.appendChild(toastHost); }
  const t = h(`div.toast.toast-${kind}`, icon(kind === 'bad' ? 'alert' : kind === 'warn' ? 'alert' : 'check', 16), h('span', msg),
    h('button.icon-btn', { type: 'button', 'aria-label': 'Dismiss', onClick: () => t.remove() }, icon('x', 14)));
  toastHost.appendChild(t);
  setTimeout(() => t.remove(), kind === 'bad' ? ms * 2 : ms);
}

// ---- dialogs (native <dialog>: focus handling and Esc come for free) ----
export function dialog({ title, body, actions, wide, onClose }) {
  const d = h('dialog.dialog', { class: wide ? 'wide' : '', 'aria-label': title },
    h('form', { method: 'dialog', class: 'dialog-inner' },
      h('header.dialog-head', h('h2', title), h('button.icon-btn', { type: 'submit', value: 'cancel', 'aria-label': 'Close' }, icon('x', 16))),
      h('div.dialog-body', body),
      h('footer.dialog-foot', actions || [])));
  d.addEventListener('close', () => { d.remove(); if (onClose) onClose(d.returnValue); });
  document.body.appendChild(d);
  d.showModal();
  return d;
}

/** Resolves true when the user confirms. */
export function confirm({ title, message, confirmLabel = 'Confirm', danger = false, details }) {
  return new Promise((resolve) => {
    let ok = false;
    const yes = h('button', { type: 'submit', value: 'ok', class: `btn ${danger ? 'danger' : 'primary'}`, onClick: () => { ok = true; } }, confirmLabel);
    const d = dialog({
      title,
      body: [h('p', message), details || null],
      actions: [h('button.btn', { type: 'submit', value: 'cancel' }, 'Cancel'), yes],
      onClose: () => resolve(ok),
    });
    (danger ? d.querySelector('button[value=cancel].btn') : yes).focus();
  });
}

// ---- stack traces ----
export function traceBlock(trace, label = 'Stack trace') {
  if (!trace) return null;
  const first = trace.split('\n')[0];
  const det = h('details.trace',
    h('summary', icon('chevronRight', 14, 'chev'), h('span.trace-first', first)),
    h('div.trace-body',
      h('div.trace-tools', button('Copy', { icon: 'copy', kind: 'small', onClick: async (e) => { e.preventDefault(); toast(await copyText(trace) ? 'Trace copied' : 'Copy failed', 'ok', 2000); } })),
      h('pre', trace)));
  det.setAttribute('aria-label', label);
  return det;
}

// ---- auto-refresh with a visible countdown and an off switch ----
const AR_KEY = 'kc.autorefresh';
export function autoRefreshEnabled() { return localStorage.getItem(AR_KEY) !== 'off'; }

/**
 * Calls `tick()` now and every `intervalMs` while on; shows "Refresh in Ns" and a switch.
 * The countdown starts again after each tick finishes, so slow answers never pile up. A hidden
 * tab does not refresh; shown again, it refreshes at once.
 */
export function autoRefresh(life, tick, intervalMs = 5000) {
  let on = autoRefreshEnabled();
  let due = 0;
  let busy = false;
  const label = h('span.ar-label', { 'aria-live': 'off' });
  const sw = h('input', { type: 'checkbox', checked: on, 'aria-label': 'Auto-refresh', class: 'switch' });
  const now = h('button.icon-btn', { type: 'button', title: 'Refresh now', 'aria-label': 'Refresh now' }, icon('refresh', 15));
  const el = h('div.autorefresh', h('label.ar-switch', sw, h('span', 'Auto-refresh')), label, now);
  async function run() {
    if (busy || !life.alive) return;
    busy = true;
    el.classList.add('busy');
    try { await tick(); } catch (e) { console.warn(e); }
    busy = false;
    el.classList.remove('busy');
    due = Date.now() + intervalMs;
    render();
  }
  function render() {
    if (!on) { label.textContent = 'off'; return; }
    if (document.visibilityState === 'hidden') { label.textContent = 'paused'; return; }
    if (busy) { label.textContent = 'refreshing…'; return; }
    const s = Math.max(0, Math.ceil((due - Date.now()) / 1000));
    label.textContent = `in ${s}s`;
  }
  sw.addEventListener('change', () => {
    on = sw.checked;
    localStorage.setItem(AR_KEY, on ? 'on' : 'off');
    if (on) due = Date.now() + intervalMs;
    render();
  });
  now.addEventListener('click', run);
  life.interval(() => {
    if (on && !busy && Date.now() >= due && document.visibilityState !== 'hidden') run(); else render();
  }, 250);
  life.listen(document, 'visibilitychange', () => { if (document.visibilityState !== 'hidden' && on) run(); });
  run();
  return { el, run };
}

/** Tabs as links (deep-linkable); `current` is the active key. */
export function tabs(items, current) {
  return h('nav.tabs', { role: 'tablist' }, items.map((t) =>
    h('a', { href: t.href, role: 'tab', 'aria-selected': String(t.key === current), class: t.key === current ? 'active' : '', 'data-tab': t.key }, t.label)));
}

export function kv(rows) {
  return h('dl.kv', rows.filter(Boolean).map(([k, v]) => [h('dt', k), h('dd', v ?? '—')]));
}

export function section(title, ...children) {
  return h('section.panel', title ? h('h3.panel-title', title) : null, ...children);
}

export function pageHead(title, sub, actions) {
  return h('div.page-head', h('div.page-title', h('h1', title), sub ? h('div.page-sub', sub) : null), actions ? h('div.page-actions', actions) : null);
}

export function setBusy(el, busy) { if (el) { el.disabled = busy; el.classList.toggle('busy', busy); } }

export { replace };
