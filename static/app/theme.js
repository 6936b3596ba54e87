// Light / dark / system theme, remembered in localStorage and following the OS when "system".
import { h } from './dom.js';
import { icon } from './icons.js';

const KEY = 'kc.theme';
const mq = matchMedia('(prefers-color-scheme: dark)');
const listeners = new Set();

export function themeSetting() { return localStorage.getItem(KEY) || 'system'; }
export function resolvedTheme() {
  const t = themeSetting();
  return t === 'system' ? (mq.matches ? 'dark' : 'light') : t;
}
export function applyTheme() {
  document.documentElement.dataset.theme = resolvedTheme();
  for (const fn of listeners) fn(resolvedTheme());
}
export function setTheme(t) { localStorage.setItem(KEY, t); applyTheme(); }
export function onThemeChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }
mq.addEventListener('change', () => { if (themeSetting() === 'system') applyTheme(); });

const ORDER = ['system', 'light', 'dark'];
const ICON = { system: 'monitor', light: 'sun', dark: 'moon' };

export function themeButton() {
  const b = h('button.icon-btn.theme-btn', { type: 'button' });
  const paint = () => {
    const t = themeSetting();
    b.replaceChildren(icon(ICON[t], 16));
    b.title = `Theme: ${t} (click to change)`;
    b.setAttribute('aria-label', b.title);
  };
  b.addEventListener('click', () => { setTheme(ORDER[(ORDER.indexOf(themeSetting()) + 1) % 3]); paint(); });
  paint();
  return b;
}
