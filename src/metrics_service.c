/* metrics_service.c — request coalescing and caching for metrics (spec §6): one slot per
 * connector and per cluster summary holds the cached document, the collection in flight, the
 * requests waiting for it, the stream subscribers, the previous sample and the history. */
#include "kc/metrics_service.h"

#include "kc/alerts.h"
#include "kc/collector.h"
#include "kc/config.h"
#include "kc/doccache.h"
#include "kc/gateway.h"
#include "kc/history.h"
#include "kc/http.h"
#include "kc/log.h"
#include "kc/metrics.h"
#include "kc/prom.h"
#include "kc/redis.h"
#include "kc/stats.h"
#include "kc/upstream.h"
#include "kc/timefmt.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define STREAM_HEARTBEAT_MS 15000
#define STREAM_MAX_BACKLOG (1u << 20) /* a subscriber this far behind is disconnected */
#define KEY_SEP '\x1f'

enum waiter_kind { WAIT_METRICS, WAIT_HISTORY, WAIT_ALERTS };

struct slot;
struct prom_scrape;

struct waiter {
    struct slot *slot;
    struct kc_pending *pending;
    enum waiter_kind kind;
    int64_t since_ms;
    TAILQ_ENTRY(waiter) link;
};

/* A Prometheus scrape waiting for some cluster summaries: one link per cluster slot. */
struct scrape_link {
    struct prom_scrape *scrape;
    struct slot *slot;
    int waiting;
    LIST_ENTRY(scrape_link) link;
};

struct prom_scrape {
    struct kc_metrics_service *ms;
    struct kc_pending *pending;
    size_t outstanding, nlinks;
    struct scrape_link links[];
};

struct subscriber {
    struct slot *slot;
    evhtp_request_t *req;
    uint64_t last_seq;
    LIST_ENTRY(subscriber) link;
};

/* Owner state of one cache entry (entry->user). */
struct slot {
    struct kc_metrics_service *ms;
    struct kc_doccache_entry *entry; /* back pointer */
    struct kc_cluster *cl;
    char *name;                      /* connector name; NULL for the cluster summary */
    struct kc_collection *collection;
    int background;                  /* the collection is a refresh-ahead or stream tick */
    TAILQ_HEAD(, waiter) waiters;
    LIST_HEAD(, subscriber) subscribers;
    size_t subscriber_count;
    struct event *refresh_timer;     /* the next background collection, just before expiry */
    int64_t collect_started_ms;      /* monotonic start of the collection in flight */
    int64_t last_duration_ms;        /* how long the previous collection took */
    LIST_ENTRY(slot) streaming;      /* in ms->streaming while it has subscribers */
    LIST_HEAD(, scrape_link) scrapes;
    struct kc_metrics_state *state;
    struct kc_history *history;
    json_t *summary;                 /* cluster slots: the last good summary, for Prometheus */
};

struct kc_metrics_service {
    struct kc_gateway *gw;
    struct kc_doccache *cache;
    struct event *heartbeat;
    size_t subscribers;
    LIST_HEAD(, slot) streaming;
    struct kc_collect_hooks hooks;
    struct kc_alerts *alerts;          /* NULL when no rules are configured */
    struct kc_alert_webhook *webhook;  /* NULL without alerts.webhook.url */
};

/* ---- slots ---- */

static void slot_free(void *arg)
{
    struct slot *s = arg;
    if (s->collection)
        kc_collection_cancel(s->collection);
    if (s->refresh_timer)
        event_free(s->refresh_timer);
    kc_metrics_state_free(s->state);
    kc_history_free(s->history);
    json_decref(s->summary);
    free(s->name);
    free(s);
}

/* "c<cluster>\x1f<name>" for a connector, "s<cluster>\x1f" for the summary. Written into buf
 * when it fits (every hit builds one), else into new memory; returns which. */
static char *slot_key(const struct kc_cluster *cl, const char *name, char *buf, size_t cap)
{
    size_t n = strlen(cl->cfg->name) + (name ? strlen(name) : 0) + 4;
    char *key = n <= cap ? buf : malloc(n);
    if (key)
        snprintf(key, n, "%c%s%c%s", name ? 'c' : 's', cl->cfg->name, KEY_SEP, name ? name : "");
    return key;
}

static size_t slot_bytes(const struct slot *s)
{
    /* The ring is allocated at full capacity: 56 bytes a sample (kc/history.h). */
    size_t ring = s->history ? 48 + 56 * kc_history_capacity(s->history) : 0;
    return sizeof *s + (s->name ? strlen(s->name) : 0) + ring + 64;
}

/* The slot for (cluster, name), created on demand; NULL on allocation failure. */
static struct slot *slot_get(struct kc_metrics_service *ms, struct kc_cluster *cl,
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
    struct slot *s = cl ? slot_get(ms, cl, name, 1) : NULL;
    if (!s)
        return NULL;
    if (!s->state)
        s->state = kc_metrics_state_new();
    return s->state;
}

/* Hands the transitions alerts queued to the log and the webhook. */
static void alerts_drain(struct kc_metrics_service *ms)
{
    json_t *ev;
    while ((ev = kc_alerts_take_event(ms->alerts))) {
        KC_INFO("alert", "{s:O,s:O,s:O,s:O}", "transition", json_object_get(ev, "event"),
                "cluster", json_object_get(ev, "cluster"), "connector",
                json_object_get(ev, "connector"), "rule", json_object_get(ev, "rule"));
        if (ms->webhook && kc_alert_webhook_send(ms->webhook, ev) != 0)
            KC_WARN("alert_webhook_dropped", "{s:s}", "reason", "out of memory");
        json_decref(ev);
    }
}

/* A history sample for connectors someone looks at. */
static void record_history(struct kc_metrics_service *ms, const char *cluster,
                           const struct kc_metrics_input *in, const struct kc_metrics_calc *calc)
{
    struct kc_cluster *cl = cluster_by_name(ms, cluster);
    struct slot *s = cl ? slot_get(ms, cl, in->status->name, 1) : NULL;
    if (!s)
        return;
    if (!s->history) {
        /* Histories are kept for connectors someone looks at (their own collection is in
         * flight): a 5,000-connector summary alone does not allocate 5,000 rings. */
        if (!s->collection)
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
}

/* collector hook: every computed connector adds a history sample and is checked by the alert
 * rules (every connector, watched or not). */
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

/* kc_alerts_sweep callback: the connector is in the summary just collected. */
static int summary_has(void *ctx, const char *connector)
{
    return json_object_get(ctx, connector) != NULL;
}

/* After a good summary: alerts of connectors that are gone resolve. */
static void alerts_after_summary(struct kc_metrics_service *ms, struct slot *s, const json_t *doc)
{
    json_t *names = json_object();
    if (!names)
        return;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(doc, "connectors"), i, row)
    {
        const char *name = json_string_value(json_object_get(row, "name"));
        if (name)
            json_object_set_new(names, name, json_true());
    }
    kc_alerts_sweep(ms->alerts, s->cl->cfg->name, summary_has, names, kc_wall_ms());
    json_decref(names);
    alerts_drain(ms);
}

static void reply_alerts(struct slot *s, evhtp_request_t *req)
{
    json_t *doc = kc_metrics_service_alerts(s->ms, s->cl->cfg->name);
    if (!doc) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    kc_reply_json(req, 200, doc);
    json_decref(doc);
}

/* ---- replying ---- */

static void reply_doc(evhtp_request_t *req, const struct kc_doc *d)
{
    kc_reply_prepared(req, d->status, "application/json", d->body, d->len, d->gz, d->gz_len);
}

static void reply_history(struct slot *s, evhtp_request_t *req, int64_t since_ms)
{
    json_t *doc = kc_history_to_json(s->history, since_ms, s->ms->gw->cfg->metrics_ttl_ms);
    if (!doc) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    json_object_set_new(doc, "connector", json_string(s->name ? s->name : ""));
    json_object_set_new(doc, "cluster", json_string(s->cl->cfg->name));
    kc_reply_json(req, 200, doc);
    json_decref(doc);
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

/* Sends d unless the subscriber has it. Returns 0, or -1 when the subscriber was too slow and
 * is gone (freed). */
static int stream_send(struct subscriber *sub, const struct kc_doc *d)
{
    if (d->seq <= sub->last_seq)
        return 0;
    struct evbuffer *out = bufferevent_get_output(sub->req->conn->bev);
    if (evbuffer_get_length(out) > STREAM_MAX_BACKLOG) {
        /* Too slow to keep up: disconnect rather than buffer without bound. */
        KC_WARN("stream_slow_subscriber", "{s:s}", "connector", sub->slot->name);
        evhtp_connection_free(sub->req->conn); /* runs on_stream_fini */
        return -1;
    }
    struct evbuffer *ev = evbuffer_new();
    if (!ev)
        return 0;
    evbuffer_add_printf(ev, "id: %llu\nevent: %s\ndata: ", (unsigned long long)d->seq,
                        d->status == 200 ? "metrics" : "error");
    evbuffer_add(ev, d->body, d->len);
    evbuffer_add(ev, "\n\n", 2);
    evhtp_send_reply_chunk(sub->req, ev);
    evbuffer_free(ev);
    sub->last_seq = d->seq;
    return 0;
}

/* Ends one stream: unsubscribes, then finishes the chunked reply and closes the connection.
 * The request may only be freed on a later loop turn, so it is detached first. */
static void stream_end(struct subscriber *sub)
{
    evhtp_request_t *req = sub->req;
    evhtp_request_unset_hook(req, evhtp_hook_on_request_fini);
    on_stream_fini(req, sub);
    evhtp_request_set_keepalive(req, 0);
    evhtp_send_reply_chunk_end(req);
}

/* Sends d to one subscriber; a connector Connect no longer knows (deleted while watched) ends
 * the stream after its error event: repeating that 404 every second to a watcher that stays
 * would pin a cache entry for a connector that does not exist. */
static void stream_deliver(struct subscriber *sub, const struct kc_doc *d)
{
    if (stream_send(sub, d) == 0 && d->status == 404)
        stream_end(sub);
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

static void start_collection(struct slot *s, int background);
static void schedule_refresh(struct slot *s, int64_t now);
static void notify_scrapes(struct slot *s);

static void deliver(struct slot *s)
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

static void on_collected(const struct kc_collect_result *res, void *arg)
{
    struct slot *s = arg;
    struct kc_metrics_service *ms = s->ms;
    s->collection = NULL;
    s->entry->pins--;
    char *body = json_dumps(res->doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
    struct kc_doc *d = body ? kc_doc_new_take(res->status, body, strlen(body)) : NULL;
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
        json_decref(s->summary);
        s->summary = json_incref(res->doc);
        if (ms->alerts)
            alerts_after_summary(ms, s, res->doc);
    }
    if (s->name && res->not_found && ms->alerts) {
        kc_alerts_forget(ms->alerts, s->cl->cfg->name, s->name, kc_wall_ms());
        alerts_drain(ms);
    }
    kc_doccache_set_doc(ms->cache, s->entry, d, fresh, refresh_from);
    KC_DEBUG("collected", "{s:s,s:s?,s:i,s:i,s:b}", "cluster", s->cl->cfg->name, "connector",
             s->name, "status", res->status, "upstream_requests", res->upstream_requests,
             "background", s->background);
    deliver(s);
    broadcast(s);
    notify_scrapes(s);
    if (s->subscriber_count > 0)
        schedule_refresh(s, now); /* streams: one collection per TTL for all subscribers */
    if (res->not_found && s->subscriber_count == 0 && s->entry->pins == 0) {
        /* Never keep a key for a connector Connect does not know. */
        kc_doccache_remove(ms->cache, s->entry);
        return;
    }
    kc_doccache_trim(ms->cache);
}

static void on_refresh_timer(evutil_socket_t fd, short what, void *arg)
{
    struct slot *s = arg;
    if (!s->collection)
        start_collection(s, 1);
}

/* Refresh ahead. A hit in the last fifth of the TTL (or a stream) asks for the next document;
 * its collection starts just early enough to land before the current one expires — a margin
 * of twice the last collection's duration plus 20 ms, at most a fifth of the TTL. Readers of
 * a watched connector never wait, no document is older than the TTL, and the upstreams see
 * about one collection per TTL, not one every 0.8 TTL. */
static void schedule_refresh(struct slot *s, int64_t now)
{
    if (s->collection || (s->refresh_timer && evtimer_pending(s->refresh_timer, NULL)))
        return;
    int64_t ttl = s->ms->gw->cfg->metrics_ttl_ms;
    int64_t margin = 2 * s->last_duration_ms + 20;
    if (margin > ttl / 5)
        margin = ttl / 5;
    int64_t delay = s->entry->fresh_until_ms - margin - now;
    if (delay <= 0) {
        start_collection(s, 1);
        return;
    }
    if (!s->refresh_timer && !(s->refresh_timer = evtimer_new(s->ms->gw->base, on_refresh_timer, s))) {
        start_collection(s, 1);
        return;
    }
    struct timeval tv = kc_timeval_from_ms(delay);
    evtimer_add(s->refresh_timer, &tv);
}

static void start_collection(struct slot *s, int background)
{
    struct kc_metrics_service *ms = s->ms;
    s->background = background;
    s->collect_started_ms = kc_mono_ms();
    if (s->refresh_timer)
        evtimer_del(s->refresh_timer);
    if (s->name)
        s->collection = kc_collect_connector(ms->gw, s->cl, s->name, &ms->hooks, on_collected, s);
    else
        s->collection = kc_collect_cluster(ms->gw, s->cl, &ms->hooks, on_collected, s);
    if (s->collection) {
        s->entry->pins++;
        return;
    }
    /* Could not even start: answer the waiters with an error document. */
    char *body = strdup("{\"error\":\"metrics_fetch_failed\",\"message\":\"kafka connect is "
                        "unreachable: too many requests waiting\"}");
    struct kc_doc *d = body ? kc_doc_new_take(503, body, strlen(body)) : NULL;
    if (d) {
        int64_t now = kc_mono_ms();
        kc_doccache_set_doc(ms->cache, s->entry, d, now + ms->gw->cfg->negative_ttl_ms,
                            now + ms->gw->cfg->negative_ttl_ms);
        deliver(s);
        notify_scrapes(s);
    }
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
            schedule_refresh(s, now); /* watched connectors never expire */
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
    if (s->collection) {
        kc_stats_cache(cache_name, KC_CACHE_COALESCED);
        kc_http_note_cache(req, "coalesced");
        return;
    }
    kc_stats_cache(cache_name, KC_CACHE_MISS);
    kc_http_note_cache(req, "miss");
    start_collection(s, 0);
}

void kc_metrics_serve_connector(struct kc_metrics_service *ms, evhtp_request_t *req,
                                struct kc_cluster *cl, const char *name)
{
    struct slot *s = slot_get(ms, cl, name, 1);
    if (!s) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    serve_slot(s, req, WAIT_METRICS, 0);
}

void kc_metrics_serve_history(struct kc_metrics_service *ms, evhtp_request_t *req,
                              struct kc_cluster *cl, const char *name, int64_t since_ms)
{
    struct slot *s = slot_get(ms, cl, name, 1);
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
    struct slot *s = slot_get(ms, cl, NULL, 1);
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
    struct slot *s = slot_get(ms, cl, NULL, 1);
    if (!s) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    serve_slot(s, req, WAIT_ALERTS, 0);
}

/* ---- streams ---- */

static evhtp_res on_stream_fini(evhtp_request_t *req, void *arg)
{
    struct subscriber *sub = arg;
    struct slot *s = sub->slot;
    LIST_REMOVE(sub, link);
    s->subscriber_count--;
    s->ms->subscribers--;
    s->entry->pins--;
    if (s->subscriber_count == 0) {
        LIST_REMOVE(s, streaming);
        if (s->refresh_timer)
            evtimer_del(s->refresh_timer); /* the last one left: stop collecting */
    }
    free(sub);
    return EVHTP_RES_OK;
}

/* Comments keep proxies and load balancers from closing quiet streams. */
static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    struct kc_metrics_service *ms = arg;
    struct slot *s;
    LIST_FOREACH(s, &ms->streaming, streaming)
    {
        struct subscriber *sub;
        LIST_FOREACH(sub, &s->subscribers, link)
        {
            struct evbuffer *ev = evbuffer_new();
            if (!ev)
                continue;
            evbuffer_add(ev, ": heartbeat\n\n", 13);
            evhtp_send_reply_chunk(sub->req, ev);
            evbuffer_free(ev);
        }
    }
    struct timeval tv = {STREAM_HEARTBEAT_MS / 1000, 0};
    evtimer_add(ms->heartbeat, &tv);
}

void kc_metrics_serve_stream(struct kc_metrics_service *ms, evhtp_request_t *req,
                             struct kc_cluster *cl, const char *name, uint64_t last_event_id)
{
    if (req->proto != EVHTP_PROTO_11) {
        /* evhtp would send chunked encoding to an HTTP/1.0 client, which cannot read it. */
        kc_reply_error(req, 505, "http_version", "the metrics stream needs HTTP/1.1");
        return;
    }
    struct slot *s = slot_get(ms, cl, name, 1);
    struct subscriber *sub = s ? calloc(1, sizeof *sub) : NULL;
    if (!sub) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    sub->slot = s;
    sub->req = req;
    sub->last_seq = last_event_id;
    if (s->subscriber_count == 0)
        LIST_INSERT_HEAD(&ms->streaming, s, streaming);
    LIST_INSERT_HEAD(&s->subscribers, sub, link);
    s->subscriber_count++;
    ms->subscribers++;
    s->entry->pins++;
    evhtp_request_set_hook(req, evhtp_hook_on_request_fini, (evhtp_hook)on_stream_fini, sub);
    kc_reply_header_const(req, "Content-Type", "text/event-stream"); /* Cache-Control: no-store is set for /api/ */
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
    if (s->entry->doc && now < s->entry->fresh_until_ms) {
        if (s->entry->doc->status == 404) {
            stream_deliver(sub, s->entry->doc); /* ends it */
            return;
        }
        if (stream_send(sub, s->entry->doc) == 0)
            schedule_refresh(s, now);
    } else if (!s->collection) {
        start_collection(s, 1);
    }
}

void kc_metrics_service_close_streams(struct kc_metrics_service *ms)
{
    struct slot *s;
    while ((s = LIST_FIRST(&ms->streaming)))
        stream_end(LIST_FIRST(&s->subscribers));
}


/* ---- Prometheus ---- */

static void scrape_free(struct prom_scrape *sc)
{
    for (size_t i = 0; i < sc->nlinks; i++) {
        if (sc->links[i].waiting) {
            LIST_REMOVE(&sc->links[i], link);
            sc->links[i].slot->entry->pins--;
        }
    }
    free(sc);
}

static void on_scrape_gone(void *arg)
{
    struct prom_scrape *sc = arg;
    sc->pending = NULL;
    scrape_free(sc);
}

static void scrape_render(struct prom_scrape *sc, evhtp_request_t *req)
{
    struct kc_metrics_service *ms = sc->ms;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct kc_prom_cluster *cl = calloc(sc->nlinks + 1, sizeof *cl);
    if (!out || !cl) {
        if (out)
            fclose(out);
        free(text);
        free(cl);
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    for (size_t i = 0; i < sc->nlinks; i++) {
        struct slot *s = sc->links[i].slot;
        cl[i].name = s->cl->cfg->name;
        cl[i].summary = s->summary;
        cl[i].connect_up = s->entry->doc && s->entry->doc->status == 200;
    }
    kc_prom_render_connectors(out, cl, sc->nlinks);
    struct kc_upstream_stats up;
    kc_upstream_stats(ms->gw->upstream, &up);
    struct kc_stats_gauges g = {
        .open_connections = kc_server_connection_count(ms->gw->server),
        .idle_connections = kc_server_idle_connection_count(ms->gw->server),
        .inflight_requests = kc_pending_count(),
        .stream_subscribers = ms->subscribers,
        .upstream_inflight = (size_t)up.inflight_now,
        .upstream_queued = (size_t)up.queued_now,
    };
    kc_stats_render(out, &g);
    if (ms->gw->redis) {
        struct kc_redis_stats rs;
        kc_redis_stats(ms->gw->redis, &rs);
        kc_prom_render_redis(out, &rs);
    }
    fclose(out);
    free(cl);
    kc_reply_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static void scrape_part_done(struct prom_scrape *sc)
{
    if (--sc->outstanding > 0)
        return;
    evhtp_request_t *req = kc_pending_end(sc->pending);
    sc->pending = NULL;
    if (req)
        scrape_render(sc, req);
    scrape_free(sc);
}

static void notify_scrapes(struct slot *s)
{
    struct scrape_link *l;
    while ((l = LIST_FIRST(&s->scrapes))) {
        LIST_REMOVE(l, link);
        l->waiting = 0;
        s->entry->pins--;
        scrape_part_done(l->scrape);
    }
}

void kc_metrics_serve_prometheus(struct kc_metrics_service *ms, evhtp_request_t *req)
{
    size_t n = ms->gw->cluster_count;
    struct prom_scrape *sc = calloc(1, sizeof *sc + n * sizeof sc->links[0]);
    if (!sc) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    sc->ms = ms;
    sc->outstanding = 1; /* held while linking */
    int64_t now = kc_mono_ms();
    for (size_t i = 0; i < n; i++) {
        struct slot *s = slot_get(ms, &ms->gw->clusters[i], NULL, 1);
        if (!s)
            continue;
        struct scrape_link *l = &sc->links[sc->nlinks++];
        l->scrape = sc;
        l->slot = s;
        if (s->entry->doc && now < s->entry->fresh_until_ms) {
            kc_stats_cache("cluster_metrics", KC_CACHE_HIT);
            if (now >= s->entry->refresh_from_ms)
                schedule_refresh(s, now);
            continue;
        }
        kc_stats_cache("cluster_metrics", s->collection ? KC_CACHE_COALESCED : KC_CACHE_MISS);
        l->waiting = 1;
        s->entry->pins++;
        LIST_INSERT_HEAD(&s->scrapes, l, link);
        sc->outstanding++;
        if (!s->collection)
            start_collection(s, 0);
    }
    if (sc->outstanding == 1) {
        scrape_render(sc, req);
        scrape_free(sc);
        return;
    }
    sc->pending = kc_pending_start(req, on_scrape_gone, sc);
    if (!sc->pending) {
        scrape_free(sc);
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    scrape_part_done(sc);
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
    if (!ms->cache || !ms->heartbeat) {
        kc_metrics_service_free(ms);
        return NULL;
    }
    LIST_INIT(&ms->streaming);
    struct timeval hb = {STREAM_HEARTBEAT_MS / 1000, 0};
    evtimer_add(ms->heartbeat, &hb);
    ms->hooks.state_for = hook_state_for;
    ms->hooks.on_connector = hook_on_connector;
    ms->hooks.owner = ms;
    if (gw->cfg->alert_rule_count > 0) {
        ms->alerts = kc_alerts_new(gw->cfg->alert_rules, gw->cfg->alert_rule_count);
        if (!ms->alerts || (gw->cfg->alert_webhook_url &&
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
    kc_doccache_free(ms->cache);
    kc_alert_webhook_free(ms->webhook);
    kc_alerts_free(ms->alerts);
    free(ms);
}
