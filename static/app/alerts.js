// Alerts in the UI: the rules of the config file (GET /api/settings → alertRules) decide the
// colours of the metric boxes and list cells; active alerts (GET /api/{c}/alerts) become list
// badges and the detail banner. Without rules everything keeps its built-in defaults.
import { h, ago } from './dom.js';
import { icon } from './icons.js';

const SEVERITY_RANK = { critical: 2, warning: 1 };
export const severityRank = (s) => SEVERITY_RANK[s] || 0;

/** The lowest threshold of the rules of `kind` (the first to fire), or null when none. */
function ruleThreshold(rules, kind) {
  let t = null;
  for (const r of rules || []) {
    if (!r || r.kind !== kind) continue;
    const v = Number(r.threshold) || 0;
    if (t === null || v < t) t = v;
  }
  return t;
}

/**
 * Thresholds from the alert rules: { errorRate, lag, zeroThroughput } — each null when no rule
 * of that kind exists (then the caller keeps its default).
 */
export function alertThresholds(rules) {
  return {
    errorRate: ruleThreshold(rules, 'error_rate'),
    lag: ruleThreshold(rules, 'lag'),
    zeroThroughput: ruleThreshold(rules, 'zero_throughput'),
  };
}

/** 'bad' above the threshold, 'warn' above half of it, else 'ok'. */
export function levelAbove(value, threshold) {
  if (value == null || !Number.isFinite(value)) return 'ok';
  if (value > threshold) return 'bad';
  if (value > threshold / 2) return 'warn';
  return 'ok';
}

/** Error-rate level (percent): the rule's threshold when there is one, else ≥5 bad, ≥1 warn. */
export function errorRateLevel(rate, th) {
  if (th && th.errorRate != null) return levelAbove(rate, th.errorRate);
  return rate >= 5 ? 'bad' : rate >= 1 ? 'warn' : 'ok';
}

/** Lag level: the rule's threshold when there is one, else >10,000 bad, >1,000 warn. */
export function lagLevel(lag, th) {
  if (th && th.lag != null) return levelAbove(lag, th.lag);
  return lag > 10000 ? 'bad' : lag > 1000 ? 'warn' : 'ok';
}

/** Active alerts grouped by connector: Map(name → alerts, most severe first). */
export function alertsByConnector(doc) {
  const m = new Map();
  for (const a of (doc && doc.active) || []) {
    if (!a || !a.connector) continue;
    if (!m.has(a.connector)) m.set(a.connector, []);
    m.get(a.connector).push(a);
  }
  for (const list of m.values()) list.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  return m;
}

const sevClass = (s) => (s === 'critical' ? 'bad' : 'warn');

/** The list badge: count and highest severity; the tooltip lists the rule messages. */
export function alertBadge(list) {
  if (!list || !list.length) return null;
  const top = list[0].severity || 'warning';
  const tip = list.map((a) => `${a.rule}: ${a.message}`).join('\n');
  return h('span', { class: `badge alert-badge badge-${sevClass(top)}`, title: tip, 'data-testid': 'alert-badge', 'data-severity': top, 'data-count': list.length,
    'aria-label': `${list.length} active alert${list.length > 1 ? 's' : ''}, ${top}` }, icon('alert', 11), String(list.length));
}

/** The detail banner: one line per active alert of the connector (rule, message, since). */
export function alertBanner(list) {
  if (!list || !list.length) return null;
  const top = list[0].severity || 'warning';
  return h(`div.callout.callout-${sevClass(top)}.alert-banner`, { role: 'alert', 'data-testid': 'alert-banner', 'data-severity': top },
    icon('alert', 18),
    h('div', h('strong', `${list.length} active alert${list.length > 1 ? 's' : ''}`),
      h('ul', list.map((a) => h('li', { 'data-rule': a.rule, 'data-kind': a.kind },
        h('span', { class: `badge badge-${sevClass(a.severity)}` }, a.severity || 'warning'), ' ',
        h('strong', a.rule), ' — ', a.message || a.kind, ' ',
        h('span.hint', { title: a.since || '' }, `since ${ago(a.since)}`))))));
}
