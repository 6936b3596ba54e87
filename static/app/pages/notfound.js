// Page for URLs the console does not know.
import { h, replace } from '../dom.js';

export function notFoundPage({ el, path }) {
  replace(el, h('div.empty', { 'data-testid': 'not-found' }, h('h1', 'Page not found'), h('p', h('code', path), ' is not a page of this console.'), h('p', h('a.btn', { href: '/' }, 'Go to connectors'))));
}
