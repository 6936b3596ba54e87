/* metrics_service.c — request coalescing and caching for metrics (spec §6): one slot per
 * connector and per cluster summary holds the cached document, the collection in flight, the
 * requests waiting for it, the stream subscribers, the previous sample and the history. A
 * stream (one SSE response) holds one link per connector or summary it carries. Fleet mode
 * (metrics_fleet.c), the batched refresh (metrics_batch.c) and Prometheus scrapes
 * (metrics_scrape.c) are files of their own; metrics_internal.h is what they share. */
#include "metrics_internal.h"

/* ---- slots ---- */

static void slot_free(void *arg)
{
    struct slot *s = arg;
    if (s->collection)
        kc_collection_cancel(s->collection);
    if (s->refresh_timer)
        event_free(s->refresh_timer);
    kc_fleet_op_cancel(s->fleet_op);
    ms_fleet_slot_end(s);
    if (s->fleet_waiting)
        LIST_REMOVE(s, fleet_link);
    if (s->batch_state == BATCH_QUEUED) {
        LIST_REMOVE(s, batch_link);
        s->ms->batches[s->cl - s->ms->gw->clusters].queued--;
    } else if (s->batch_state == BATCH_INFLIGHT) {
        s->ms->batches[s->cl - s->ms->gw->clusters].slots[s->batch_index] = NULL;
    }
    if (s->fleet_timer)
        event_free(s->fleet_timer);
    free(s->fleet_alerts);
    kc_metrics_state_free(s->state);
    kc_history_free(s->history);
    json_decref(s->summary);
    free(s->name);
    free(s);
}

/* "c<cluster>\x1f<name>" for a connector, "s<cluster>\x1f" for the summary. Written into buf
 * when it fits (every hit builds one), else into new memory; returns which. Built by hand, not
 * with snprintf: it runs on every cached request, and snprintf was 1,100 instructions of it. */
static char *slot_key(const struct kc_cluster *cl, const char *name, char *buf, size_t cap)
{
    size_t cluster_len = strlen(cl->cfg->name), name_len = name ? strlen(name) : 0;
    size_t n = cluster_len + name_len + 3;
    char *key = n <= cap ? buf : malloc(n);
    if (!key)
        return NULL;
    key[0] = name ? 'c' : 's';
    memcpy(key + 1, cl->cfg->name, cluster_len);
    key[1 + cluster_len] = KEY_SEP;
    memcpy(key + 2 + cluster_len, name ? name : "", name_len);
    key[n - 1] = '\0';
    return key;
}

static size_t slot_bytes(const struct slot *s)
{
    /* The ring is allocated at full capacity: 56 bytes a sample (kc/history.h). */
    size_t ring = s->history ? 48 + 56 * kc_history_capacity(s->history) : 0;
    return sizeof *s + (s->name ? strlen(s->name) : 0) + ring + 64;
}

/* The slot for (cluster, name), created on demand; NULL on allocation failure. */
struct slot *ms_slot_get(struct kc_metrics_service *ms, struct kc_cluster *cl,
                         const char *name, int create)
{
    char buf[256];
    char *key = slot_key(cl, name, buf, sizeof buf);
    if (!key)
        return NULL;
    struct kc_doccache_entry *e =
        create ? kc_doccache_put(ms->cache, key) : kc_doccache_get(ms->cache, key);
    if (key != buf)
        free(key);
    if (!e)
        return NULL;
    if (!e->user) {
        struct slot *s = calloc(1, sizeof *s);
        if (!s || (name && !(s->name = strdup(name)))) {
            free(s);
            kc_doccache_remove(ms->cache, e);
            return NULL;
        }
        s->ms = ms;
        s->entry = e;
        s->cl = cl;
        TAILQ_INIT(&s->waiters);
        LIST_INIT(&s->subscribers);
        LIST_INIT(&s->scrapes);
        e->user = s;
        e->user_free = slot_free;
        kc_doccache_account(ms->cache, e, slot_bytes(s));
    }
    return e->user;
}

static struct kc_cluster *cluster_by_name(struct kc_metrics_service *ms, const char *name)
{
    return kc_gateway_cluster(ms->gw, name);
}

/* collector hook: previous-sample state of a connector, kept in its slot. */
static struct kc_metrics_state *hook_state_for(void *owner, const char *cluster, const char *name)
{
    struct kc_metrics_service *ms = owner;
    struct kc_cluster *cl = cluster_by_name(ms, cluster);
    struct slot *s = cl ? ms_slot_get(ms, cl, name, 1) : NULL;
    if (!s)
        return NULL;
    if (!s->state)
        s->state = kc_metrics_state_new();
    return s->state;
}

/* Hands the transitions alerts queued to the log and the webhook. */
/* Transitions handed on per loop turn: the first summary of a big cluster can fire a thousand
 * alerts at once, and each is a log line and a webhook event. */
#define ALERTS_DRAIN_PER_TURN 64

static void on_drain(evutil_socket_t fd, short what, void *arg);

static void alerts_drain(struct kc_metrics_service *ms)
{
    json_t *ev;
    for (int n = 0; n < ALERTS_DRAIN_PER_TURN; n++) {
        if (!(ev = kc_alerts_take_event(ms->alerts)))
            return;
        KC_INFO("alert", "{s:O,s:O,s:O,s:O}", "transition", json_object_get(ev, "event"),
                "cluster", json_object_get(ev, "cluster"), "connector",
                json_object_get(ev, "connector"), "rule", json_object_get(ev, "rule"));
        if (ms->webhook && kc_alert_webhook_send(ms->webhook, ev) != 0)
            KC_WARN("alert_webhook_dropped", "{s:s}", "reason", "out of memory");
        json_decref(ev);
    }
    if (ms->drain_ev) { /* more may wait: the rest on the next turns, in order */
        struct timeval now = {0, 0};
        evtimer_add(ms->drain_ev, &now);
    }
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    alerts_drain(arg);
}

/* A history sample for connectors someone looks at. */
static void record_history(struct kc_metrics_service *ms, const char *cluster,
                           const struct kc_metrics_input *in, const struct kc_metrics_calc *calc)
{
    struct kc_cluster *cl = cluster_by_name(ms, cluster);
    struct slot *s = cl ? ms_slot_get(ms, cl, in->status->name, 1) : NULL;
    if (!s)
        return;
    if (!s->history) {
        /* Histories are kept for connectors someone looks at (their own collection, or their
         * batch, is in flight): a 5,000-connector summary alone does not allocate 5,000 rings. */
        if (!s->collection && s->batch_state != BATCH_INFLIGHT)
            return;
        s->history = kc_history_new(ms->gw->cfg->history_samples);
        if (!s->history)
            return;
    }
    struct kc_history_sample sample = {
        .t_ms = in->now_ms,
        .records_per_sec = (float)calc->records_per_sec,
        .bytes_per_sec = (float)calc->bytes_per_sec,
        .total_records = calc->total_records,
        .total_bytes = calc->total_bytes,
        .total_errors = calc->total_errors,
        .error_rate = (float)calc->error_rate,
        .lag = calc->has_lag ? (float)calc->lag_max : NAN,
        .tasks_running = (uint16_t)calc->counts.running,
        .tasks_failed = (uint16_t)calc->counts.failed,
        .tasks_other = (uint16_t)(calc->counts.total - calc->counts.running - calc->counts.failed),
    };
    kc_history_push(s->history, &sample);
    kc_doccache_account(ms->cache, s->entry, slot_bytes(s));
    if (s->fleet_holder && fleet_on(ms)) {
        /* One history for the fleet, written by the replica that collected; it expires one
         * history span after the last sample (nobody watches any more). */
        char text[KC_HISTORY_SAMPLE_TEXT_MAX];
        int n = kc_history_sample_format(&sample, text, sizeof text);
        int64_t span = (int64_t)ms->gw->cfg->history_samples * ms->gw->cfg->metrics_ttl_ms;
        if (n > 0)
            kc_fleet_history_add(ms->fleet, s->entry->key, text, (size_t)n,
                                 ms->gw->cfg->history_samples, span > 60000 ? span : 60000);
    }
}

/* collector hook: every computed connector adds a history sample and is checked by the alert
 * rules (every connector, watched or not). */
/* collector hook of connector collections in fleet mode: the fleet's alert state belongs to
 * the cluster summary's lease holder, so transitions are decided once (see fleet_won). */
static void hook_history_only(void *owner, const char *cluster, const struct kc_metrics_input *in,
                              const struct kc_metrics_calc *calc)
{
    record_history(owner, cluster, in, calc);
}

static void hook_on_connector(void *owner, const char *cluster, const struct kc_metrics_input *in,
                              const struct kc_metrics_calc *calc)
{
    struct kc_metrics_service *ms = owner;
    record_history(ms, cluster, in, calc);
    if (ms->alerts) {
        kc_alerts_observe(ms->alerts, cluster, in, calc, in->now_ms);
        alerts_drain(ms);
    }
}

/* After a good summary: alerts of connectors that are gone resolve. Every row of the summary
 * was observed (ms_on_connector) at the summary's time; a connector not observed since is not
 * in it. */
static void alerts_after_summary(struct kc_metrics_service *ms, struct slot *s,
                                 const struct kc_collect_result *res)
{
    if (res->observed_ms <= 0)
        return;
    kc_alerts_sweep_unobserved(ms->alerts, s->cl->cfg->name, res->observed_ms, kc_wall_ms());
    alerts_drain(ms);
}

static void reply_alerts(struct slot *s, evhtp_request_t *req)
{
    if (s->fleet_alerts && fleet_on(s->ms)) {
        /* As evaluated by the replica that collected the summary: the same on every replica. */
        kc_reply_bytes(req, 200, "application/json", s->fleet_alerts, strlen(s->fleet_alerts));
        return;
    }
    json_t *doc = kc_metrics_service_alerts(s->ms, s->cl->cfg->name);
    if (!doc) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    kc_reply_json(req, 200, doc);
    json_decref(doc);
}

/* ---- replying ---- */

/* Documents above this are lent to the connection rather than copied (kc_reply_prepared_shared):
 * a cluster summary is megabytes; a connector's ~1 KiB is cheaper copied. */
#define LEND_DOC_BYTES (64u << 10)

static void doc_release(void *d)
{
    kc_doc_unref(d);
}

static void reply_doc(evhtp_request_t *req, struct kc_doc *d)
{
    if (d->len > LEND_DOC_BYTES)
        kc_reply_prepared_shared(req, d->status, "application/json", d->body, d->len, d->gz,
                                 d->gz_len, doc_release, kc_doc_ref(d));
    else
        kc_reply_prepared(req, d->status, "application/json", d->body, d->len, d->gz, d->gz_len);
}

static void reply_history_from(struct slot *s, const struct kc_history *h, evhtp_request_t *req,
                               int64_t since_ms)
{
    json_t *doc = kc_history_to_json(h, since_ms, s->ms->gw->cfg->metrics_ttl_ms);
    if (!doc) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    json_object_set_new(doc, "connector", json_string(s->name ? s->name : ""));
    json_object_set_new(doc, "cluster", json_string(s->cl->cfg->name));
    kc_reply_json(req, 200, doc);
    json_decref(doc);
}

/* A history answer read from the fleet's stream. */
struct history_read {
    struct slot *slot;
    struct kc_pending *pending;
    struct kc_fleet_op *op;
    int64_t since_ms;
};

static void on_history_read_gone(void *arg)
{
    struct history_read *hr = arg;
    kc_fleet_op_cancel(hr->op);
    hr->slot->entry->pins--;
    free(hr);
}

static void on_fleet_history(int ok, const char *const *samples, const size_t *lens, size_t n,
                             void *arg)
{
    struct history_read *hr = arg;
    struct slot *s = hr->slot;
    hr->op = NULL;
    s->entry->pins--;
    evhtp_request_t *req = kc_pending_end(hr->pending);
    if (req) {
        struct kc_history *h = ok && n > 0 ? kc_history_new(n) : NULL;
        if (h) {
            struct kc_history_sample sample;
            for (size_t i = 0; i < n; i++)
                if (kc_history_sample_parse(samples[i], lens[i], &sample) == 0)
                    kc_history_push(h, &sample);
            reply_history_from(s, h, req, hr->since_ms);
            kc_history_free(h);
        } else {
            /* Redis failed (or holds nothing yet): what this replica collected itself. */
            reply_history_from(s, s->history, req, hr->since_ms);
        }
    }
    free(hr);
}

/* The fleet's history in fleet mode (the same from every replica), else this replica's ring. */
static void reply_history(struct slot *s, evhtp_request_t *req, int64_t since_ms)
{
    struct kc_metrics_service *ms = s->ms;
    struct history_read *hr = fleet_on(ms) ? calloc(1, sizeof *hr) : NULL;
    if (hr) {
        hr->slot = s;
        hr->since_ms = since_ms;
        hr->op = kc_fleet_history_read(ms->fleet, s->entry->key, ms->gw->cfg->history_samples,
                                       on_fleet_history, hr);
        if (hr->op && (hr->pending = kc_pending_start(req, on_history_read_gone, hr))) {
            s->entry->pins++;
            return;
        }
        kc_fleet_op_cancel(hr->op);
        free(hr);
    }
    reply_history_from(s, s->history, req, since_ms);
}

static void on_waiter_gone(void *arg)
{
    struct waiter *w = arg;
    TAILQ_REMOVE(&w->slot->waiters, w, link);
    w->slot->entry->pins--;
    free(w);
}

/* ---- streams ---- */

static evhtp_res on_stream_fini(evhtp_request_t *req, void *arg);

/* Takes the link off its slot; the last link of a slot stops its stream refreshes. */
static void link_drop(struct subscriber *sub)
{
    struct slot *s = sub->slot;
    if (!s)
        return;
    sub->slot = NULL;
    LIST_REMOVE(sub, link);
    sub->conn->live--;
    s->subscriber_count--;
    s->ms->subscribers--;
    s->entry->pins--;
    if (s->subscriber_count == 0) { /* the last one left: stop collecting */
        if (s->refresh_timer)
            evtimer_del(s->refresh_timer);
        ms_batch_dequeue(s);
    }
}

static void stream_conn_free(struct stream_conn *c)
{
    for (size_t i = 0; i < c->nlinks; i++) {
        link_drop(&c->links[i]);
        free(c->links[i].prefix);
    }
    LIST_REMOVE(c, link);
    c->ms->stream_count--;
    free(c);
}

static void doc_ref_release(const void *data, size_t len, void *d)
{
    (void)data, (void)len;
    kc_doc_unref(d);
}

/* A document's body into an event: a big one (a cluster summary, megabytes) by reference,
 * held until its bytes are written, instead of copied into every subscriber's buffer in the
 * turn it arrives. */
static void add_doc_body(struct evbuffer *ev, struct kc_doc *d)
{
    struct kc_doc *held = d->len > LEND_DOC_BYTES ? kc_doc_ref(d) : NULL;
    if (!held || evbuffer_add_reference(ev, d->body, d->len, doc_ref_release, held) != 0) {
        if (held)
            kc_doc_unref(held);
        evbuffer_add(ev, d->body, d->len);
    }
}

/* Sends d unless the link has it: after the first event, only newer documents; before it,
 * anything but the client's own last one (an id above ours came from an earlier life of this
 * gateway: afresh rather than silent). Returns 0, or -1 when the client was too slow and the
 * whole stream is gone (freed). */
static int stream_send(struct subscriber *sub, struct kc_doc *d)
{
    struct stream_conn *c = sub->conn;
    if (sub->sent ? d->seq <= sub->last_seq : d->seq == sub->last_seq)
        return 0;
    struct evbuffer *out = bufferevent_get_output(c->req->conn->bev);
    if (evbuffer_get_length(out) > STREAM_MAX_BACKLOG) {
        /* Too slow to keep up: disconnect rather than buffer without bound. */
        KC_WARN("stream_slow_subscriber", "{s:s?,s:i}", "connector", sub->slot->name, "items",
                (int)c->nlinks);
        evhtp_connection_free(c->req->conn); /* runs on_stream_fini */
        return -1;
    }
    struct evbuffer *ev = evbuffer_new();
    if (!ev)
        return 0;
    sub->last_seq = d->seq;
    sub->sent = 1;
    const char *kind = d->status == 200 ? "metrics" : "error";
    if (c->multi) {
        /* The id resumes every item (EventSource sends it back as Last-Event-ID); the data
         * wraps the cached body as it is, without parsing it again. */
        evbuffer_add(ev, "id: ", 4);
        for (size_t i = 0; i < c->nlinks; i++)
            evbuffer_add_printf(ev, i ? ",%llu" : "%llu", (unsigned long long)c->links[i].last_seq);
        evbuffer_add_printf(ev, "\nevent: %s\ndata: %s%d,\"doc\":", kind, sub->prefix, d->status);
        add_doc_body(ev, d);
        evbuffer_add(ev, "}\n\n", 3);
    } else {
        evbuffer_add_printf(ev, "id: %llu\nevent: %s\ndata: ", (unsigned long long)d->seq, kind);
        add_doc_body(ev, d);
        evbuffer_add(ev, "\n\n", 2);
    }
    evhtp_send_reply_chunk(c->req, ev);
    evbuffer_free(ev);
    return 0;
}

/* Ends one stream: unsubscribes, then finishes the chunked reply and closes the connection.
 * The request may only be freed on a later loop turn, so it is detached first. */
static void stream_end(struct stream_conn *c)
{
    evhtp_request_t *req = c->req;
    evhtp_request_unset_hook(req, evhtp_hook_on_request_fini);
    stream_conn_free(c);
    evhtp_request_set_keepalive(req, 0);
    evhtp_send_reply_chunk_end(req);
}

/* Sends d on one link; a connector Connect no longer knows (deleted while watched) leaves the
 * stream after its error event: repeating that 404 every second to a watcher that stays would
 * pin a cache entry for a connector that does not exist. A stream left with no item ends (the
 * per-connector stream: at once). Returns 0, or -1 when the stream is gone. */
static int stream_deliver(struct subscriber *sub, struct kc_doc *d)
{
    if (stream_send(sub, d) != 0)
        return -1;
    if (d->status != 404)
        return 0;
    struct stream_conn *c = sub->conn;
    link_drop(sub);
    if (c->live > 0)
        return 0;
    stream_end(c);
    return -1;
}

static void broadcast(struct slot *s)
{
    struct subscriber *sub = LIST_FIRST(&s->subscribers), *next;
    while (sub) {
        next = LIST_NEXT(sub, link);
        stream_deliver(sub, s->entry->doc);
        sub = next;
    }
}

/* ---- collections ---- */


void ms_deliver(struct slot *s)
{
    struct kc_doc *d = s->entry->doc;
    struct waiter *w;
    while ((w = TAILQ_FIRST(&s->waiters))) {
        TAILQ_REMOVE(&s->waiters, w, link);
        s->entry->pins--;
        evhtp_request_t *req = kc_pending_end(w->pending);
        if (req) {
            if (w->kind == WAIT_HISTORY && d->status == 200)
                reply_history(s, req, w->since_ms);
            else if (w->kind == WAIT_ALERTS)
                reply_alerts(s, req);
            else
                reply_doc(req, d);
        }
        free(w);
    }
}

/* What follows a new document, however it came (collected here, or from the fleet): waiters,
 * streams and scrapes get it, streams keep the next one coming, and a connector Connect does
 * not know leaves the cache. Returns 0, or -1 when the slot was removed. */
int ms_after_new_doc(struct slot *s, int not_found, int64_t now)
{
    struct kc_metrics_service *ms = s->ms;
    ms_deliver(s);
    broadcast(s);
    ms_notify_scrapes(s);
    if (s->subscriber_count > 0)
        ms_schedule_refresh(s, now); /* streams: one collection per TTL for all subscribers */
    if (not_found && s->subscriber_count == 0 && s->entry->pins == 0) {
        /* Never keep a key for a connector Connect does not know. */
        kc_doccache_remove(ms->cache, s->entry);
        return -1;
    }
    kc_doccache_trim(ms->cache);
    return 0;
}

/* The margin a refresh ahead starts before expiry: twice the last collection's duration plus
 * 20 ms, at most a fifth of the TTL. */
static int64_t refresh_margin(const struct slot *s)
{
    int64_t ttl = s->ms->gw->cfg->metrics_ttl_ms;
    int64_t margin = 2 * s->last_duration_ms + 20;
    return margin > ttl / 5 ? ttl / 5 : margin;
}

/* ---- collections ---- */

void ms_on_collected(const struct kc_collect_result *res, void *arg)
{
    struct slot *s = arg;
    struct kc_metrics_service *ms = s->ms;
    int holder = s->fleet_holder;
    s->collection = NULL;
    s->fleet_holder = 0;
    s->entry->pins--;
    struct kc_doc *d;
    if (res->text && res->text->body) {
        /* A cluster summary: serialised and compressed by the collector in slices. */
        d = kc_doc_new_take_gz(res->status, res->text->body, res->text->len, res->text->gz,
                               res->text->gz_len);
        res->text->body = NULL;
        res->text->gz = NULL;
    } else {
        char *body = json_dumps(res->doc, KC_COLLECT_DUMP_FLAGS);
        d = body ? kc_doc_new_take(res->status, body, strlen(body)) : NULL;
    }
    if (!d) {
        static const char oom[] = "{\"error\":\"metrics_fetch_failed\",\"message\":\"out of memory\"}";
        char *copy = strdup(oom);
        d = copy ? kc_doc_new_take(503, copy, strlen(copy)) : NULL;
        if (!d)
            return; /* waiters stay until their clients leave; nothing else can be done */
    }
    d->made_ms = kc_wall_ms();
    int64_t now = kc_mono_ms();
    s->last_duration_ms = now - s->collect_started_ms;
    int64_t ttl = ms->gw->cfg->metrics_ttl_ms;
    int64_t fresh, refresh_from;
    if (res->status == 200 && !res->degraded) {
        fresh = now + ttl;
        refresh_from = now + ttl - ttl / 5;
    } else {
        /* Failures and degraded documents are kept briefly: recovery shows within a second. */
        fresh = now + ms->gw->cfg->negative_ttl_ms;
        refresh_from = fresh;
    }
    if (!s->name && res->status == 200) {
        kc_slice_json_decref(ms->gw->base, s->summary);
        s->summary = json_incref(res->doc);
        if (ms->alerts)
            alerts_after_summary(ms, s, res);
    }
    if (s->name && res->not_found && ms->alerts && !holder) {
        /* (In fleet mode the summary's lease holder resolves it: one decision for the fleet.) */
        kc_alerts_forget(ms->alerts, s->cl->cfg->name, s->name, kc_wall_ms());
        alerts_drain(ms);
    }
    if (holder) {
        /* Event ids increase across the fleet: above the last one stored for this key, and
         * normally the collection's wall-clock millisecond. */
        uint64_t cur = s->entry->doc ? s->entry->doc->seq : 0;
        uint64_t seq = (uint64_t)(d->made_ms > 0 ? d->made_ms : 0);
        if (seq <= cur)
            seq = cur + 1;
        if (seq <= s->fleet_seq)
            seq = s->fleet_seq + 1;
        d->seq = s->fleet_seq = seq;
    }
    kc_doccache_set_doc(ms->cache, s->entry, d, fresh, refresh_from);
    if (holder && fleet_on(ms))
        ms_fleet_store(s, res, d, fresh - now);
    KC_DEBUG("collected", "{s:s,s:s?,s:i,s:i,s:b,s:b}", "cluster", s->cl->cfg->name, "connector",
             s->name, "status", res->status, "upstream_requests", res->upstream_requests,
             "background", s->background, "fleet", holder);
    ms_after_new_doc(s, res->not_found, now);
}

static void on_refresh_timer(evutil_socket_t fd, short what, void *arg)
{
    struct slot *s = arg;
    if (!busy(s))
        ms_start_collection(s, 1);
}

/* Refresh ahead. A hit in the last fifth of the TTL (or a stream) asks for the next document;
 * its collection starts just early enough to land before the current one expires — a margin
 * of twice the last collection's duration plus 20 ms, at most a fifth of the TTL. Readers of
 * a watched connector never wait, no document is older than the TTL, and the upstreams see
 * about one collection per TTL, not one every 0.8 TTL. In fleet mode every replica with
 * readers asks; the lease lets one of them collect for all. */
void ms_schedule_refresh(struct slot *s, int64_t now)
{
    if (busy(s) || (s->refresh_timer && evtimer_pending(s->refresh_timer, NULL)))
        return;
    if (ms_batching(s)) {
        ms_batch_enqueue(s, now);
        return;
    }
    int64_t delay = s->entry->fresh_until_ms - refresh_margin(s) - now;
    if (delay <= 0) {
        ms_start_collection(s, 1);
        return;
    }
    if (!s->refresh_timer && !(s->refresh_timer = evtimer_new(s->ms->gw->base, on_refresh_timer, s))) {
        ms_start_collection(s, 1);
        return;
    }
    struct timeval tv = kc_timeval_from_ms(delay);
    evtimer_add(s->refresh_timer, &tv);
}

/* Collects here, now (local mode, a lease won, or Redis failing). */
void ms_start_local_collection(struct slot *s)
{
    struct kc_metrics_service *ms = s->ms;
    ms_batch_dequeue(s);
    s->collect_started_ms = kc_mono_ms();
    if (s->refresh_timer)
        evtimer_del(s->refresh_timer);
    /* In fleet mode a connector collection leaves alerts to the summary's lease holder. */
    const struct kc_collect_hooks *hooks = s->fleet_holder && s->name ? &ms->fleet_hooks : &ms->hooks;
    if (s->name)
        s->collection = kc_collect_connector(ms->gw, s->cl, s->name, hooks, ms_on_collected, s);
    else
        s->collection = kc_collect_cluster(ms->gw, s->cl, hooks, ms_on_collected, s);
    if (s->collection) {
        s->entry->pins++;
        return;
    }
    s->fleet_holder = 0; /* the lease expires by itself */
    /* Could not even start: answer the waiters with an error document. */
    char *body = strdup("{\"error\":\"metrics_fetch_failed\",\"message\":\"kafka connect is "
                        "unreachable: too many requests waiting\"}");
    struct kc_doc *d = body ? kc_doc_new_take(503, body, strlen(body)) : NULL;
    if (d) {
        int64_t now = kc_mono_ms();
        kc_doccache_set_doc(ms->cache, s->entry, d, now + ms->gw->cfg->negative_ttl_ms,
                            now + ms->gw->cfg->negative_ttl_ms);
        ms_deliver(s);
        ms_notify_scrapes(s);
    }
}

/* Starts the next document of s: in fleet mode through the lease (or the stored document);
 * otherwise, or when Redis cannot answer, a collection here. */
void ms_start_collection(struct slot *s, int background)
{
    struct kc_metrics_service *ms = s->ms;
    s->background = background;
    if (ms->fleet) {
        if (fleet_on(ms)) {
            s->fleet_op = kc_fleet_acquire(ms->fleet, s->entry->key, ms_lease_ms(s->cl),
                                           background && s->entry->doc ? refresh_margin(s) : 0,
                                           !s->name && ms->alerts ? s->cl->cfg->name : NULL,
                                           ms_on_fleet_acquired, s);
            if (s->fleet_op) {
                s->entry->pins++;
                if (s->refresh_timer)
                    evtimer_del(s->refresh_timer);
                return;
            }
        }
        kc_fleet_count_fallback(ms->fleet);
    }
    ms_start_local_collection(s);
}

/* Serves from cache (starting a refresh ahead in the TTL's last fifth), joins the collection
 * in flight, or starts one. */
static void serve_slot(struct slot *s, evhtp_request_t *req, enum waiter_kind kind,
                       int64_t since_ms)
{
    const char *cache_name = s->name ? "connector_metrics" : "cluster_metrics";
    int64_t now = kc_mono_ms();
    struct kc_doc *d = s->entry->doc;
    if (d && now < s->entry->fresh_until_ms) {
        kc_stats_cache(cache_name, KC_CACHE_HIT);
        kc_http_note_cache(req, "hit");
        if (now >= s->entry->refresh_from_ms)
            ms_schedule_refresh(s, now); /* watched connectors never expire */
        if (kind == WAIT_HISTORY && d->status == 200)
            reply_history(s, req, since_ms);
        else if (kind == WAIT_ALERTS)
            reply_alerts(s, req);
        else
            reply_doc(req, d);
        return;
    }
    struct waiter *w = calloc(1, sizeof *w);
    if (!w) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    w->slot = s;
    w->kind = kind;
    w->since_ms = since_ms;
    w->pending = kc_pending_start(req, on_waiter_gone, w);
    if (!w->pending) {
        free(w);
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    TAILQ_INSERT_TAIL(&s->waiters, w, link);
    s->entry->pins++;
    if (busy(s)) {
        kc_stats_cache(cache_name, KC_CACHE_COALESCED);
        kc_http_note_cache(req, "coalesced");
        return;
    }
    kc_stats_cache(cache_name, KC_CACHE_MISS);
    kc_http_note_cache(req, "miss");
    ms_start_collection(s, 0);
}

void kc_metrics_serve_connector(struct kc_metrics_service *ms, evhtp_request_t *req,
                                struct kc_cluster *cl, const char *name)
{
    struct slot *s = ms_slot_get(ms, cl, name, 1);
    if (!s) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    serve_slot(s, req, WAIT_METRICS, 0);
}

void kc_metrics_serve_history(struct kc_metrics_service *ms, evhtp_request_t *req,
                              struct kc_cluster *cl, const char *name, int64_t since_ms)
{
    struct slot *s = ms_slot_get(ms, cl, name, 1);
    if (!s) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    if (s->history && s->entry->doc && s->entry->doc->status == 200) {
        kc_http_note_cache(req, "hit");
        reply_history(s, req, since_ms);
        return;
    }
    /* No sample yet: collect first, which also confirms the connector exists. */
    serve_slot(s, req, WAIT_HISTORY, since_ms);
}

void kc_metrics_serve_summary(struct kc_metrics_service *ms, evhtp_request_t *req,
                              struct kc_cluster *cl)
{
    struct slot *s = ms_slot_get(ms, cl, NULL, 1);
    if (!s) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    serve_slot(s, req, WAIT_METRICS, 0);
}

json_t *kc_metrics_service_alerts(struct kc_metrics_service *ms, const char *cluster)
{
    if (!ms->alerts)
        return json_pack("{s:s,s:[],s:[],s:i}", "cluster", cluster, "active", "resolved",
                         "rules", 0);
    return kc_alerts_json(ms->alerts, cluster, kc_wall_ms());
}

void kc_metrics_serve_alerts(struct kc_metrics_service *ms, evhtp_request_t *req,
                             struct kc_cluster *cl)
{
    if (!ms->alerts) {
        json_t *doc = kc_metrics_service_alerts(ms, cl->cfg->name);
        if (!doc) {
            kc_reply_error(req, 503, "out_of_memory", "out of memory");
            return;
        }
        kc_reply_json(req, 200, doc);
        json_decref(doc);
        return;
    }
    /* Rules are evaluated at each collection: a stale summary is collected first. */
    struct slot *s = ms_slot_get(ms, cl, NULL, 1);
    if (!s) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    serve_slot(s, req, WAIT_ALERTS, 0);
}

/* ---- streams ---- */

static evhtp_res on_stream_fini(evhtp_request_t *req, void *arg)
{
    stream_conn_free(arg);
    return EVHTP_RES_OK;
}

/* Comments keep proxies and load balancers from closing quiet streams: one per connection,
 * however many items it carries. */
static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    struct kc_metrics_service *ms = arg;
    struct stream_conn *c;
    LIST_FOREACH(c, &ms->streams, link)
    {
        struct evbuffer *ev = evbuffer_new();
        if (!ev)
            continue;
        evbuffer_add(ev, ": heartbeat\n\n", 13);
        evhtp_send_reply_chunk(c->req, ev);
        evbuffer_free(ev);
    }
    struct timeval tv = {STREAM_HEARTBEAT_MS / 1000, 0};
    evtimer_add(ms->heartbeat, &tv);
}

/* '{"cluster":"…","connector":"…"|null,"status":' — what every event of a multi stream's item
 * starts with (new; NULL on allocation failure). */
static char *item_prefix(const struct kc_stream_item *it)
{
    json_t *cl = json_string(it->cl->cfg->name);
    json_t *name = it->name ? json_string(it->name) : json_null();
    char *a = cl ? json_dumps(cl, JSON_ENCODE_ANY) : NULL;
    char *b = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
    json_decref(cl);
    json_decref(name);
    char *out = NULL;
    if (a && b) {
        size_t n = strlen(a) + strlen(b) + 40;
        if ((out = malloc(n)))
            snprintf(out, n, "{\"cluster\":%s,\"connector\":%s,\"status\":", a, b);
    }
    free(a);
    free(b);
    return out;
}

/* Opens one SSE response over items (distinct, n >= 1): each link is pinned on its slot at
 * once (so getting the next slot cannot evict it), then every item gets its fresh document or
 * a collection. */
static void serve_streams(struct kc_metrics_service *ms, evhtp_request_t *req,
                          const struct kc_stream_item *items, size_t n, int multi)
{
    if (req->proto != EVHTP_PROTO_11) {
        /* evhtp would send chunked encoding to an HTTP/1.0 client, which cannot read it. */
        kc_reply_error(req, 505, "http_version", "the metrics stream needs HTTP/1.1");
        return;
    }
    struct stream_conn *c = calloc(1, sizeof *c + n * sizeof c->links[0]);
    if (!c) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    c->ms = ms;
    c->req = req;
    c->multi = multi;
    LIST_INSERT_HEAD(&ms->streams, c, link);
    ms->stream_count++;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = ms_slot_get(ms, items[i].cl, items[i].name, 1);
        char *prefix = s && multi ? item_prefix(&items[i]) : NULL;
        if (!s || (multi && !prefix)) {
            free(prefix);
            stream_conn_free(c);
            kc_reply_error(req, 503, "out_of_memory", "out of memory");
            return;
        }
        struct subscriber *sub = &c->links[c->nlinks++];
        sub->slot = s;
        sub->conn = c;
        sub->last_seq = items[i].last_seq;
        sub->prefix = prefix;
        LIST_INSERT_HEAD(&s->subscribers, sub, link);
        s->subscriber_count++;
        ms->subscribers++;
        s->entry->pins++;
        c->live++;
    }
    evhtp_request_set_hook(req, evhtp_hook_on_request_fini, (evhtp_hook)on_stream_fini, c);
    kc_reply_header_const(req, "Content-Type", "text/event-stream");
    kc_reply_header_const(req, "Cache-Control", "no-store"); /* evhtp sends this reply's head */
    kc_reply_header_const(req, "X-Accel-Buffering", "no");
    kc_http_note_cache(req, "stream");
    evhtp_send_reply_chunk_start(req, 200);
    struct evbuffer *hello = evbuffer_new();
    if (hello) {
        evbuffer_add_printf(hello, "retry: %lld\n\n", (long long)ms->gw->cfg->metrics_ttl_ms);
        evhtp_send_reply_chunk(req, hello);
        evbuffer_free(hello);
    }
    int64_t now = kc_mono_ms();
    for (size_t i = 0; i < c->nlinks; i++) {
        struct subscriber *sub = &c->links[i];
        struct slot *s = sub->slot;
        if (!s)
            continue;
        if (s->entry->doc && now < s->entry->fresh_until_ms) {
            if (stream_deliver(sub, s->entry->doc) != 0)
                return; /* too slow already, or nothing left to carry */
            if (sub->slot)
                ms_schedule_refresh(s, now);
        } else if (!busy(s)) {
            ms_start_collection(s, 1);
        }
    }
}

void kc_metrics_serve_stream(struct kc_metrics_service *ms, evhtp_request_t *req,
                             struct kc_cluster *cl, const char *name, uint64_t last_event_id)
{
    struct kc_stream_item it = {.cl = cl, .name = name, .last_seq = last_event_id};
    serve_streams(ms, req, &it, 1, 0);
}

void kc_metrics_serve_multi_stream(struct kc_metrics_service *ms, evhtp_request_t *req,
                                   const struct kc_stream_item *items, size_t n)
{
    serve_streams(ms, req, items, n, 1);
}

void kc_metrics_service_close_streams(struct kc_metrics_service *ms)
{
    struct stream_conn *c;
    while ((c = LIST_FIRST(&ms->streams)))
        stream_end(c);
}


/* ---- life cycle ---- */

struct kc_metrics_service *kc_metrics_service_new(struct kc_gateway *gw)
{
    struct kc_metrics_service *ms = calloc(1, sizeof *ms);
    if (!ms)
        return NULL;
    ms->gw = gw;
    ms->cache = kc_doccache_new(gw->cfg->cache_max_entries, gw->cfg->cache_max_bytes);
    ms->heartbeat = evtimer_new(gw->base, on_heartbeat, ms);
    ms->batches = calloc(gw->cluster_count ? gw->cluster_count : 1, sizeof *ms->batches);
    if (!ms->cache || !ms->heartbeat || !ms->batches) {
        kc_metrics_service_free(ms);
        return NULL;
    }
    for (size_t i = 0; i < gw->cluster_count; i++) {
        struct cluster_batch *cb = &ms->batches[i];
        cb->ms = ms;
        cb->cl = &gw->clusters[i];
        LIST_INIT(&cb->queue);
        if (!(cb->timer = evtimer_new(gw->base, ms_on_batch_timer, cb))) {
            kc_metrics_service_free(ms);
            return NULL;
        }
    }
    LIST_INIT(&ms->streams);
    struct timeval hb = {STREAM_HEARTBEAT_MS / 1000, 0};
    evtimer_add(ms->heartbeat, &hb);
    ms->hooks.state_for = hook_state_for;
    ms->hooks.on_connector = hook_on_connector;
    ms->hooks.owner = ms;
    ms->fleet_hooks = ms->hooks;
    ms->fleet_hooks.on_connector = hook_history_only;
    LIST_INIT(&ms->fleet_waiting);
    if (gw->redis) {
        if (!(ms->fleet = kc_fleet_new(gw->redis, ms_on_fleet_doc, ms))) {
            kc_metrics_service_free(ms);
            return NULL;
        }
        kc_redis_on_change(gw->redis, ms_on_redis_change, ms);
    }
    if (gw->cfg->alert_rule_count > 0) {
        ms->alerts = kc_alerts_new(gw->cfg->alert_rules, gw->cfg->alert_rule_count);
        ms->drain_ev = evtimer_new(gw->base, on_drain, ms);
        if (!ms->alerts || !ms->drain_ev || (gw->cfg->alert_webhook_url &&
                            !(ms->webhook = kc_alert_webhook_new(gw->base, gw->upstream,
                                                                 gw->cfg->alert_webhook_url)))) {
            kc_metrics_service_free(ms);
            return NULL;
        }
    }
    return ms;
}

void kc_metrics_service_free(struct kc_metrics_service *ms)
{
    if (!ms)
        return;
    if (ms->heartbeat)
        event_free(ms->heartbeat);
    if (ms->drain_ev)
        event_free(ms->drain_ev);
    for (size_t i = 0; ms->batches && i < ms->gw->cluster_count; i++) {
        struct cluster_batch *cb = &ms->batches[i];
        kc_batch_cancel(cb->inflight);
        for (size_t k = 0; k < cb->nslots; k++)
            if (cb->slots[k])
                cb->slots[k]->batch_state = BATCH_NONE;
        free(cb->slots);
        cb->slots = NULL;
        cb->nslots = 0;
        if (cb->timer)
            event_free(cb->timer);
    }
    if (ms->fleet)
        kc_redis_on_change(ms->gw->redis, NULL, NULL);
    kc_doccache_free(ms->cache); /* queued slots leave their batch queue */
    free(ms->batches);
    kc_fleet_free(ms->fleet);
    kc_alert_webhook_free(ms->webhook);
    kc_alerts_free(ms->alerts);
    free(ms);
}
