// The one live stream of a browser: the union of what its tabs want, on ONE EventSource to
// GET /api/stream, events routed to the tabs that want them. Runs in the SharedWorker
// (streamworker.js) or, where a browser has none, in the leader tab (live.js). A changed set
// re-opens the stream once (debounced) with the ids it has, so no update a tab shows is lost.

/** Key of a connector, or (name null) of a cluster summary. */
export const itemKey = (cluster, name) => (name == null ? `s:${cluster}` : `c:${cluster}/${name}`);

function itemParam(key) {
  return key.startsWith('s:') ? `summary=${encodeURIComponent(key.slice(2))}` : `connector=${encodeURIComponent(key.slice(2))}`;
}

export class StreamHub {
  /**
   * opts: { base: origin-relative prefix of the API ('' in a page, the origin in a worker),
   * staleMs: a client silent this long is dropped (tabs repeat their set every 10 s),
   * debounceMs, retryMs: after a refused stream, the next try }.
   */
  constructor({ base = '', staleMs = 35000, debounceMs = 50, retryMs = 5000, EventSourceImpl = globalThis.EventSource } = {}) {
    Object.assign(this, { base, staleMs, debounceMs, retryMs, ES: EventSourceImpl });
    this.clients = new Map(); // id -> { keys: Set, seen, post }
    this.watched = new Set(); // names of the tab locks this hub waits on
    this.items = [];          // the keys of the open stream, in its URL order
    this.seq = new Map();     // key -> last event id received (resumes it when the set changes)
    this.last = new Map();    // key -> the last event, for a tab that joins later
    this.token = '';
    this.es = null;
    this.live = false;
    this.timer = null;
    setInterval(() => this.schedule(), Math.max(1000, staleMs / 2));
  }

  /**
   * A tab's whole set (idempotent; also its keepalive). post(msg) reaches that tab. lock: the
   * name of a Web Lock the tab holds for as long as it lives, once it holds it.
   */
  want(id, keys, token, post, lock) {
    this.watchLock(id, lock);
    const prev = this.clients.get(id);
    const c = { keys: new Set(keys), seen: Date.now(), post };
    this.clients.set(id, c);
    if (typeof token === 'string') this.token = token;
    post({ type: 'state', live: this.live });
    for (const k of c.keys) {
      if (prev && prev.keys.has(k)) continue;
      const ev = this.last.get(k);
      if (ev) post(ev); // what the stream showed last, at once
    }
    this.schedule();
  }

  bye(id) {
    if (this.clients.delete(id)) this.schedule();
  }

  // A tab's 'bye' on pagehide is a message, and a closing or crashing tab may never send it, or
  // send it too late to arrive. The browser releases the locks of a tab that is gone, whatever
  // way it went, so asking for the tab's lock is granted exactly then: the tab leaves at once
  // instead of after staleMs.
  watchLock(id, lock) {
    if (typeof lock !== 'string' || !lock || this.watched.has(lock)) return;
    const locks = globalThis.navigator && globalThis.navigator.locks;
    if (!locks) return;
    this.watched.add(lock);
    locks.request(lock, () => { this.watched.delete(lock); this.bye(id); }).catch(() => this.watched.delete(lock));
  }

  schedule(delay = this.debounceMs) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.apply(), delay);
  }

  union() {
    const now = Date.now();
    const all = new Set();
    for (const [id, c] of this.clients) {
      if (now - c.seen > this.staleMs) { this.clients.delete(id); continue; }
      for (const k of c.keys) all.add(k);
    }
    return [...all].sort();
  }

  apply(force = false) {
    const want = this.union();
    for (const k of [...this.seq.keys()]) if (!want.includes(k)) { this.seq.delete(k); this.last.delete(k); }
    const same = want.length === this.items.length && want.every((k, i) => k === this.items[i]) && this.token === this.esToken;
    if (same && this.es && !force) return;
    if (this.es) { this.es.close(); this.es = null; }
    this.items = want;
    this.esToken = this.token;
    if (!want.length) { this.setLive(false); return; }
    const q = want.map(itemParam);
    q.push('lastEventId=' + want.map((k) => this.seq.get(k) || 0).join(','));
    if (this.token) q.push('access_token=' + encodeURIComponent(this.token));
    let es;
    try { es = new this.ES(`${this.base}/api/stream?${q.join('&')}`); } catch { this.setLive(false); this.schedule(this.retryMs); return; }
    this.es = es;
    const items = want;
    const onEvent = (ev) => {
      if (this.es !== es) return;
      this.setLive(true);
      const ids = String(ev.lastEventId || '').split(',');
      if (ids.length === items.length) items.forEach((k, i) => { const n = Number(ids[i]); if (n > (this.seq.get(k) || 0)) this.seq.set(k, n); });
      let data;
      try { data = JSON.parse(ev.data); } catch { return; }
      const key = itemKey(data.cluster, data.connector);
      const msg = { type: 'event', key, event: ev.type, data };
      this.last.set(key, msg);
      for (const c of this.clients.values()) if (c.keys.has(key)) c.post(msg);
    };
    es.addEventListener('metrics', onEvent);
    es.addEventListener('error', (ev) => {
      if (this.es !== es) return;
      if (ev && typeof ev.data === 'string') return onEvent(ev); // an item's error document
      // The connection dropped: the browser reconnects by itself (Last-Event-ID resumes every
      // item) unless the gateway refused the stream (a 4xx, a proxy page) — then try later.
      this.setLive(false);
      if (es.readyState === 2) { this.es = null; this.items = []; this.schedule(this.retryMs); }
    });
  }

  setLive(live) {
    if (live === this.live) return;
    this.live = live;
    for (const c of this.clients.values()) c.post({ type: 'state', live });
  }
}
