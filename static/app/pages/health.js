// Gateway health: the gateway's view of each Connect cluster and Jolokia agent, with hints.
import { h, replace, num, duration } from '../dom.js';
import { icon } from '../icons.js';
import * as apiMod from '../api.js';
import { errorBox, autoRefresh, pageHead, section, kv, callout } from '../ui.js';

/** Troubleshooting hints for an error text from the gateway. */
export function hints(kind, err) {
  const e = String(err || '').toLowerCase();
  const out = [];
  if (/refused/.test(e)) out.push(`Nothing listens at that address: check that ${kind === 'connect' ? 'the Connect worker (port 8083)' : 'the Jolokia agent (port 8778)'} is running and the URL's host and port are right.`);
  if (/timed? ?out|timeout/.test(e)) out.push('The request timed out: a firewall or security group may drop the traffic, or the process is overloaded (long GC pauses).');
  if (/resolve|name|dns|host/.test(e)) out.push('The host name does not resolve from the gateway: use a name the gateway can resolve (inside Docker, the service name).');
  if (/401|403|auth|unauthori[sz]ed|forbidden/.test(e)) out.push('Authentication failed: give the gateway the credentials through its environment or config file (never the command line).');
  if (/ssl|tls|certificate/.test(e)) out.push('TLS failed: configure the CA bundle, or check that the URL scheme (http/https) matches the server.');
  if (/404|not found/.test(e) && kind === 'jolokia') out.push('The URL answers but is not Jolokia: the path is usually /jolokia (e.g. http://{host}:8778/jolokia).');
  if (kind === 'jolokia') out.push('Check the agent from the gateway host: curl http://WORKER:8778/jolokia/version. Workers need -javaagent:…jolokia-jvm-agent.jar=port=8778,host=0.0.0.0 in KAFKA_JMX_OPTS.');
  else out.push('Check from the gateway host: curl http://CONNECT:8083/ — KAFKA_CONNECT_URL may list several URLs (comma-separated) for failover.');
  return out;
}

function reach(ok, err) {
  return ok ? h('span.t-ok', { 'data-reachable': 'true' }, h('span.dot.ok'), ' reachable') : h('span.t-bad', { 'data-reachable': 'false' }, h('span.dot.bad'), ' unreachable', err ? ` — ${err}` : '');
}

/** Fleet mode's Redis (KC_REDIS_URL), shown only when configured; the URL comes masked. */
function redisSection(rd) {
  if (!rd || !rd.configured) return null;
  const fleet = rd.mode === 'fleet';
  return section(h('span', icon('database', 14), ' Redis (fleet mode)'),
    h('table.tbl', { 'data-testid': 'health-redis' },
      h('thead', h('tr', h('th', 'URL'), h('th', 'Status'), h('th', 'State'), h('th.num', 'Latency'), h('th', 'Mode'))),
      h('tbody', h('tr', { 'data-component': 'redis' }, h('td.mono.wrap', rd.url), h('td', reach(rd.reachable, rd.error)), h('td.mono', rd.state),
        h('td.num', rd.latencyMs != null ? `${num(rd.latencyMs, 2)} ms` : '—'),
        h('td', { 'data-mode': rd.mode }, fleet ? 'fleet' : 'local (fallback)')))),
    fleet ? null : callout('warn', 'Redis unavailable: this gateway works alone', ' — it keeps answering from its own collections and returns to fleet mode by itself when Redis answers again (KC_REDIS_URL, KC_REDIS_TIMEOUT_MS).'));
}

export function healthPage(ctx) {
  const { app, life, el } = ctx;
  const body = h('div', h('div.loading', h('span.spinner'), 'Checking…'));
  const ar = autoRefresh(life, load, 10000);
  replace(el, pageHead('Gateway health', 'What this gateway can reach, as it sees it', [ar.el]), body);

  async function load() {
    let r;
    try { r = await apiMod.health(); } catch (e) { replace(body, errorBox(e, 'The gateway health endpoint failed')); return; }
    if (!life.alive) return;
    const s = app.settings;
    replace(body,
      section('Gateway', kv([
        ['Version', r.version || s.version], ['Uptime', duration(r.uptimeSeconds)], ['Read-only', s.readOnly ? 'yes (KC_READ_ONLY)' : 'no'],
        ['Metrics cache TTL', s.metricsCacheTtlMs != null ? `${num(s.metricsCacheTtlMs, 0)} ms` : '—'],
      ])),
      redisSection(r.redis),
      (r.clusters || []).map((c) => {
        const jol = c.jolokia || [];
        const down = jol.filter((j) => !j.reachable);
        return section(h('span', icon('database', 14), ` Cluster ${c.name}`, c.jolokiaUrl ? h('span.hint', { style: { fontWeight: 400 } }, ` · JOLOKIA_URL ${c.jolokiaUrl}`) : null),
          h('table.tbl', { 'data-testid': `health-${c.name}` },
            h('thead', h('tr', h('th', 'Component'), h('th', 'URL'), h('th', 'Status'), h('th.num', 'Latency'), h('th', 'Version'))),
            h('tbody',
              h('tr', { 'data-component': 'connect' }, h('td', 'Kafka Connect'), h('td.mono.wrap', c.connect && c.connect.url), h('td', reach(c.connect && c.connect.reachable, c.connect && c.connect.error)),
                h('td.num', c.connect && c.connect.latencyMs != null ? `${num(c.connect.latencyMs, 1)} ms` : '—'), h('td', (c.connect && c.connect.version) || '—')),
              jol.map((j) => h('tr', { 'data-component': 'jolokia', 'data-worker': j.workerId }, h('td', 'Jolokia ', h('span.mono.muted', j.workerId || '')), h('td.mono.wrap', j.url), h('td', reach(j.reachable, j.error)),
                h('td.num', j.latencyMs != null ? `${num(j.latencyMs, 1)} ms` : '—'), h('td', j.agentVersion || '—'))))),
          !jol.length ? callout('warn', 'No Jolokia agent', ' — set JOLOKIA_URL (one agent, or a template such as http://{host}:8778/jolokia filled from each worker) so metrics have throughput and JVM numbers.') : null,
          c.connect && !c.connect.reachable ? callout('bad', 'Kafka Connect unreachable', h('ul', [c.connect.hint, ...hints('connect', c.connect.error)].filter(Boolean).map((x) => h('li', x)))) : null,
          down.length ? callout('warn', `${down.length} Jolokia agent(s) unreachable`, h('ul', [...new Set(down.map((j) => j.hint).filter(Boolean))].map((x) => h('li', x)), hints('jolokia', down[0].error).map((x) => h('li', x)))) : null);
      }));
  }
}
