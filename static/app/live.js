// Live updates of this tab through the browser's one shared stream: a SharedWorker holds it
// (streamworker.js); without SharedWorker the leader tab holds it and the tabs talk over a
// BroadcastChannel (leader chosen with Web Locks); without those, subscribe() answers null and
// the page polls. A tab hidden longer than the TTL leaves the stream (its connectors stop
// being collected for it) and, shown again, rejoins and tells its subscribers to catch up.
import { apiToken } from './api.js';
import { StreamHub, itemKey } from './streamhub.js';

export { itemKey };

const tabId = Math.random().toString(36).slice(2) + Date.now().toString(36);
const subs = new Map(); // key -> Set of { onEvent, onState, onResume }
let transport;          // { send(msg) } | null, made on first use
let live = false;
let away = false;       // hidden longer than the TTL: this tab wants nothing
let awayTimer = null;
let hiddenTtlMs = 5000;
let tabLock = null;     // the name of the Web Lock this tab holds for as long as it lives
let tabLockGen = 0;

/** How long a hidden tab keeps its connectors (the metrics TTL; kc.hiddenTtl overrides). */
export function setHiddenTtl(ms) {
  const o = Number(localStorage.getItem('kc.hiddenTtl'));
  hiddenTtlMs = o > 0 ? o : ms > 0 ? ms : 5000;
}

function onHubMessage(msg) {
  if (!msg) return;
  if (msg.type === 'state') {
    live = !!msg.live;
    for (const set of subs.values()) for (const s of set) s.onState && s.onState(live);
  } else if (msg.type === 'event') {
    const set = subs.get(msg.key);
    if (set) for (const s of [...set]) s.onEvent(msg.event, msg.data);
  }
}

function sharedWorkerTransport() {
  const w = new SharedWorker('/app/streamworker.js', { type: 'module', name: 'kc-stream' });
  w.port.onmessage = (m) => onHubMessage(m.data);
  w.port.start();
  return { send: (msg) => w.port.postMessage(msg), kind: 'sharedworker' };
}

// One tab leads (holds the Web Lock for as long as it lives) and runs the hub; every tab,
// the leader included, sends its set over the channel.
function leaderTransport() {
  const chan = new BroadcastChannel('kc-stream');
  let hub = null;
  const post = (id) => (msg) => {
    if (id === tabId) onHubMessage(msg); else chan.postMessage({ ...msg, to: id });
  };
  chan.onmessage = (m) => {
    const msg = m.data || {};
    if (hub && msg.type === 'want') hub.want(msg.id, msg.keys || [], msg.token, post(msg.id), msg.lock);
    else if (hub && msg.type === 'bye') hub.bye(msg.id);
    else if (msg.type === 'leader') sendWant(); // a new leader knows nobody yet
    else if (msg.to === tabId) onHubMessage(msg);
  };
  navigator.locks.request('kc-stream-leader', () => {
    hub = new StreamHub({});
    chan.postMessage({ type: 'leader' });
    sendWant();
    return new Promise(() => {}); // held until this tab goes
  });
  return {
    kind: 'leader',
    send(msg) {
      if (hub && msg.type === 'want') hub.want(msg.id, msg.keys, msg.token, post(msg.id), msg.lock);
      else if (hub && msg.type === 'bye') hub.bye(msg.id);
      else chan.postMessage(msg);
    },
  };
}

function getTransport() {
  if (transport !== undefined) return transport;
  transport = null;
  try {
    if (typeof SharedWorker === 'function') transport = sharedWorkerTransport();
    else if (typeof BroadcastChannel === 'function' && navigator.locks) transport = leaderTransport();
  } catch (e) {
    console.warn('shared stream unavailable, polling', e);
    transport = null;
  }
  if (transport) {
    holdTabLock();
    setInterval(sendWant, 10000); // keepalive: the hub drops tabs it has not heard from
    addEventListener('pagehide', () => transport.send({ type: 'bye', id: tabId }));
    addEventListener('pageshow', (e) => {
      if (!e.persisted) return;
      tabLock = null; // the old one may be released: never name it to the hub again
      holdTabLock();
      sendWant();
    });
    document.addEventListener('visibilitychange', onVisibility);
  }
  return transport;
}

// The hub learns that this tab is gone when the browser releases this lock (StreamHub.watchLock),
// so the hub is told its name only once the tab holds it. A page back from the back-forward
// cache takes a fresh one: the browser may have released the old one.
function holdTabLock() {
  if (!navigator.locks) return;
  const name = `kc-tab-${tabId}-${++tabLockGen}`;
  navigator.locks.request(name, () => {
    tabLock = name;
    sendWant();
    return new Promise(() => {}); // held until this tab goes
  }).catch(() => {});
}

function sendWant() {
  if (!transport) return;
  transport.send({ type: 'want', id: tabId, keys: away ? [] : [...subs.keys()], token: apiToken(), lock: tabLock });
}

function onVisibility() {
  if (document.visibilityState === 'hidden') {
    clearTimeout(awayTimer);
    awayTimer = setTimeout(() => {
      away = true;
      sendWant();
      for (const set of subs.values()) for (const s of set) s.onAway && s.onAway();
    }, hiddenTtlMs);
    return;
  }
  clearTimeout(awayTimer);
  if (!away) return;
  away = false;
  sendWant();
  for (const set of subs.values()) for (const s of set) s.onResume && s.onResume();
}

/** Which transport this tab uses: 'sharedworker', 'leader' or 'polling'. */
export function transportKind() {
  const t = getTransport();
  return t ? t.kind : 'polling';
}

/**
 * Subscribes to one connector (name) or cluster summary (name null). handlers: onEvent(event,
 * data) with data = {cluster, connector, status, doc}; onState(live); onAway() when the tab
 * left the stream (hidden longer than the TTL); onResume() when it is back. Returns the unsubscribe function, or null when this browser has no shared stream
 * (the caller polls).
 */
export function subscribe(cluster, name, handlers) {
  if (!getTransport()) return null;
  const key = itemKey(cluster, name);
  let set = subs.get(key);
  const added = !set;
  if (!set) subs.set(key, (set = new Set()));
  set.add(handlers);
  if (added) sendWant();
  if (handlers.onState) handlers.onState(live);
  return () => {
    if (!set.delete(handlers) || set.size) return;
    subs.delete(key);
    sendWant();
  };
}

/** True while this tab is away (hidden longer than the TTL). */
export const isAway = () => away;
