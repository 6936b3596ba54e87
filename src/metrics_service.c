/* metrics_service.c — request coalescing and caching for metrics (spec §6): one slot per
 * connector and per cluster summary holds the cached document, the collection in flight, the
 * requests waiting for it, the stream subscribers, the previous sample and the history. A
 * stream (one SSE response) holds one link per connector or summary it carries. */
#include "kc/metrics_service.h"

#include "kc/alerts.h"
#include "kc/batch.h"
#include "kc/collector.h"
#include "kc/config.h"
#include "kc/doccache.h"
#include "kc/fleet.h"
#include "kc/gateway.h"
#include "kc/history.h"
#include "kc/http.h"
#include "kc/log.h"
#include "kc/looplag.h"
#include "kc/metrics.h"
#include "kc/prom.h"
#include "kc/redis.h"
#include "kc/slice.h"
#include "kc/stats.h"
#include "kc/textbuf.h"
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
    /* rendering, in slices when the summaries are big (issue #14 §1) */
    int gzip;                        /* the client takes gzip */
    struct kc_slicer *slicer;
    FILE *out;
    struct kc_textbuf text;          /* what `out` wrote (kc/textbuf.h: growing never copies) */
    struct kc_prom_cluster *cl;      /* summaries referenced while rendering */
    size_t ncl;
    struct kc_prom_cursor cur;
    int rendered;                    /* the text is complete */
    struct kc_gzip_job *gz;
    struct scrape_link links[];
};

/* Above this many connector rows a scrape renders in slices (5,000 rows: ~100 ms in one go). */
#define PROM_SLICE_ROWS 500
#define PROM_ROWS_PER_STEP 24

struct stream_conn;

/* One (slot, stream) link: the slot delivers each new document to every link it holds. */
struct subscriber {
    struct slot *slot;           /* NULL once dropped (its connector was deleted) */
    struct stream_conn *conn;
    uint64_t last_seq;           /* the last event id this link sent, or the client's */
    int sent;                    /* a document went out on this link */
    char *prefix;                /* multi streams: '{"cluster":…,"connector":…,"status":' (owned) */
    LIST_ENTRY(subscriber) link; /* in slot->subscribers */
};

/* One SSE response: the per-connector stream (one link, the document as data) or /api/stream
 * (n links, each event names its item, the id lists every item's last event id). Freed in one
 * place (stream_conn_free), from the request's fini hook or when the stream is ended. */
struct stream_conn {
    struct kc_metrics_service *ms;
    evhtp_request_t *req;
    int multi;
    size_t nlinks, live;            /* links, and those still on a slot */
    LIST_ENTRY(stream_conn) link;   /* in ms->streams */
    struct subscriber links[];
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
    LIST_HEAD(, scrape_link) scrapes;
    struct kc_metrics_state *state;
    struct kc_history *history;
    json_t *summary;                 /* cluster slots: the last good summary, for Prometheus */
    /* fleet mode */
    struct kc_fleet_op *fleet_op;    /* the acquire in flight */
    struct event *fleet_timer;       /* waiting for another replica's publish, until its lease ends */
    int fleet_waiting;
    LIST_ENTRY(slot) fleet_link;     /* in ms->fleet_waiting while waiting */
    int fleet_holder;                /* the collection in flight runs under this replica's lease */
    uint64_t fleet_seq;              /* the last event id the fleet gave this key */
    char *fleet_alerts;              /* cluster slots: the alerts document of the fleet's summary */
    /* batched refresh (local mode, connectors) */
    int batch_state;                 /* BATCH_NONE, BATCH_QUEUED, BATCH_INFLIGHT */
    size_t batch_index;              /* BATCH_INFLIGHT: its place in the batch */
    LIST_ENTRY(slot) batch_link;     /* BATCH_QUEUED: in its cluster's queue */
};

enum { BATCH_NONE, BATCH_QUEUED, BATCH_INFLIGHT };

/* The watched connectors of one cluster whose refresh is due: collected together by ONE batch
 * (kc/batch.h) when the earliest of them is due, so N watched connectors cost one Jolokia POST
 * per worker per TTL, not one per connector and worker. */
struct cluster_batch {
    struct kc_metrics_service *ms;
    struct kc_cluster *cl;
    LIST_HEAD(, slot) queue;
    size_t queued;
    struct event *timer;
    int64_t due_ms;                  /* monotonic: when the queue's earliest refresh is due */
    struct kc_batch *inflight;
    struct slot **slots;             /* of the batch in flight, by index; NULL once freed */
    size_t nslots;
    int64_t started_ms, last_duration_ms;
    size_t cluster_size;             /* connectors in the last expand list a batch read */
};

struct kc_metrics_service {
    struct kc_gateway *gw;
    struct kc_doccache *cache;
    struct event *heartbeat;
    size_t subscribers;                /* links of open streams */
    size_t stream_count;               /* open streams (SSE responses) */
    LIST_HEAD(, stream_conn) streams;
    struct kc_collect_hooks hooks;
    struct kc_alerts *alerts;          /* NULL when no rules are configured */
    struct kc_alert_webhook *webhook;  /* NULL without alerts.webhook.url */
    struct event *drain_ev;            /* hands on the transitions left after one turn's share */
    struct kc_fleet *fleet;            /* NULL in local mode (no KC_REDIS_URL) */
    struct kc_collect_hooks fleet_hooks; /* connector collections in fleet mode: no alerts */
    LIST_HEAD(, slot) fleet_waiting;
    struct cluster_batch *batches;       /* one per configured cluster */
};

static int fleet_on(const struct kc_metrics_service *ms)
{
    return kc_fleet_active(ms->fleet);
}

static void batch_dequeue(struct slot *s);

/* A collection of this slot is under way somewhere: in flight here, being acquired, or being
 * made by another replica whose publish is awaited. New readers wait for it. */
static int busy(const struct slot *s)
{
    return s->collection || s->fleet_op || s->fleet_waiting || s->batch_state == BATCH_INFLIGHT;
}

/* ---- slots ---- */

static void slot_free(void *arg)
{
    struct slot *s = arg;
    if (s->collection)
        kc_collection_cancel(s->collection);
    if (s->refresh_timer)
        event_free(s->refresh_timer);
    kc_fleet_op_cancel(s->fleet_op);
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
    struct slot *s = cl ? slot_get(ms, cl, in->status->name, 1) : NULL;
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

/* The summary's rows, for kc_alerts_sweep: sorted by name (Connect's list is), so "is this
 * connector still there" is a binary search — no 5,000-name index built in one loop turn. */
struct summary_rows {
    const json_t *rows;
    int sorted;
};

static const char *row_name(const json_t *rows, size_t i)
{
    return json_string_value(json_object_get(json_array_get(rows, i), "name"));
}

/* kc_alerts_sweep callback: the connector is in the summary just collected. */
static int summary_has(void *ctx, const char *connector)
{
    const struct summary_rows *sr = ctx;
    size_t n = json_array_size(sr->rows);
    if (!sr->sorted) {
        for (size_t i = 0; i < n; i++) {
            const char *name = row_name(sr->rows, i);
            if (name && strcmp(name, connector) == 0)
                return 1;
        }
        return 0;
    }
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = row_name(sr->rows, mid);
        int c = name ? strcmp(name, connector) : -1;
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* After a good summary: alerts of connectors that are gone resolve. */
static void alerts_after_summary(struct kc_metrics_service *ms, struct slot *s, const json_t *doc)
{
    struct summary_rows sr = {json_object_get(doc, "connectors"), 1};
    size_t n = json_array_size(sr.rows);
    for (size_t i = 1; i < n && sr.sorted; i++) {
        const char *a = row_name(sr.rows, i - 1), *b = row_name(sr.rows, i);
        sr.sorted = a && b && strcmp(a, b) < 0;
    }
    kc_alerts_sweep(ms->alerts, s->cl->cfg->name, summary_has, &sr, kc_wall_ms());
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
        batch_dequeue(s);
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

/* Sends d unless the link has it: after the first event, only newer documents; before it,
 * anything but the client's own last one (an id above ours came from an earlier life of this
 * gateway: afresh rather than silent). Returns 0, or -1 when the client was too slow and the
 * whole stream is gone (freed). */
static int stream_send(struct subscriber *sub, const struct kc_doc *d)
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
        evbuffer_add(ev, d->body, d->len);
        evbuffer_add(ev, "}\n\n", 3);
    } else {
        evbuffer_add_printf(ev, "id: %llu\nevent: %s\ndata: ", (unsigned long long)d->seq, kind);
        evbuffer_add(ev, d->body, d->len);
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
static int stream_deliver(struct subscriber *sub, const struct kc_doc *d)
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

static void start_collection(struct slot *s, int background);
static void start_local_collection(struct slot *s);
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

/* What follows a new document, however it came (collected here, or from the fleet): waiters,
 * streams and scrapes get it, streams keep the next one coming, and a connector Connect does
 * not know leaves the cache. Returns 0, or -1 when the slot was removed. */
static int after_new_doc(struct slot *s, int not_found, int64_t now)
{
    struct kc_metrics_service *ms = s->ms;
    deliver(s);
    broadcast(s);
    notify_scrapes(s);
    if (s->subscriber_count > 0)
        schedule_refresh(s, now); /* streams: one collection per TTL for all subscribers */
    if (not_found && s->subscriber_count == 0 && s->entry->pins == 0) {
        /* Never keep a key for a connector Connect does not know. */
        kc_doccache_remove(ms->cache, s->entry);
        return -1;
    }
    kc_doccache_trim(ms->cache);
    return 0;
}

/* ---- fleet mode: state shared through Redis ---- */

/* The margin a refresh ahead starts before expiry: twice the last collection's duration plus
 * 20 ms, at most a fifth of the TTL. */
static int64_t refresh_margin(const struct slot *s)
{
    int64_t ttl = s->ms->gw->cfg->metrics_ttl_ms;
    int64_t margin = 2 * s->last_duration_ms + 20;
    return margin > ttl / 5 ? ttl / 5 : margin;
}

/* How long a replica may hold a collection: every upstream step timed out, plus a second. */
static int64_t lease_ms(const struct kc_cluster *cl)
{
    return 2 * (int64_t)cl->cfg->connect.total_timeout_ms +
           (int64_t)cl->cfg->jolokia.total_timeout_ms + 1000;
}

/* State blob: "KS1 <last event id>\n", then per connector [u32 name length][name][u32 state
 * length][state] (kc_metrics_state encoding). A connector collection stores its own; a summary
 * the states of every connector it computed. */
#define STATE_MAGIC "KS1 "

static void blob_put_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t blob_get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Appends one connector's state to the blob at *buf (grown as needed). -1 on OOM. */
static int blob_add(char **buf, size_t *len, size_t *cap, const char *name,
                    const struct kc_metrics_state *st)
{
    size_t nlen = strlen(name), slen = kc_metrics_state_encoded_size(st);
    size_t need = *len + 8 + nlen + slen;
    if (need > *cap) {
        size_t ncap = *cap * 2 > need ? *cap * 2 : need;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = ncap;
    }
    unsigned char *p = (unsigned char *)*buf + *len;
    blob_put_u32(p, (uint32_t)nlen);
    memcpy(p + 4, name, nlen);
    blob_put_u32(p + 4 + nlen, (uint32_t)slen);
    kc_metrics_state_encode(st, p + 8 + nlen);
    *len = need;
    return 0;
}

/* The state blob of what slot s just collected (doc is the summary for cluster slots). NULL on
 * OOM: the fleet then keeps the previous state. */
static char *state_blob(struct slot *s, const json_t *doc, uint64_t seq, size_t *out_len)
{
    size_t cap = 4096, len;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    len = (size_t)snprintf(buf, cap, STATE_MAGIC "%llu\n", (unsigned long long)seq);
    if (s->name) {
        if (s->state && blob_add(&buf, &len, &cap, s->name, s->state) != 0)
            goto oom;
    } else {
        size_t i;
        json_t *row;
        json_array_foreach(json_object_get(doc, "connectors"), i, row)
        {
            const char *name = json_string_value(json_object_get(row, "name"));
            struct slot *cs = name ? slot_get(s->ms, s->cl, name, 0) : NULL;
            if (cs && cs->state && blob_add(&buf, &len, &cap, name, cs->state) != 0)
                goto oom;
        }
    }
    *out_len = len;
    return buf;
oom:
    free(buf);
    return NULL;
}

/* Takes the stored states that are newer than ours: rates stay right when the collector moves
 * from one replica to another. */
static void state_blob_load(struct slot *s, const char *blob, size_t len)
{
    const char *nl = memchr(blob, '\n', len < 32 ? len : 32);
    if (!nl || len < 4 || memcmp(blob, STATE_MAGIC, 4) != 0)
        return;
    s->fleet_seq = strtoull(blob + 4, NULL, 10);
    const unsigned char *p = (const unsigned char *)nl + 1, *end = (const unsigned char *)blob + len;
    char name[1024];
    while (end - p >= 8) {
        uint32_t nlen = blob_get_u32(p);
        if (nlen >= sizeof name || (size_t)(end - p) < 8 + (size_t)nlen)
            return;
        uint32_t slen = blob_get_u32(p + 4 + nlen);
        if ((size_t)(end - p) - 8 - nlen < slen)
            return;
        memcpy(name, p + 4, nlen);
        name[nlen] = '\0';
        struct slot *cs = s->name ? (strcmp(s->name, name) == 0 ? s : NULL)
                                  : slot_get(s->ms, s->cl, name, 1);
        if (cs && (cs->state || (cs->state = kc_metrics_state_new())))
            kc_metrics_state_merge(cs->state, p + 8 + nlen, slen);
        p += 8 + nlen + slen;
    }
}

/* The lease holder leaves its document, states (and the cluster's alerts) for the fleet. */
static void fleet_store(struct slot *s, const struct kc_collect_result *res,
                        const struct kc_doc *d, int64_t fresh_ms)
{
    struct kc_metrics_service *ms = s->ms;
    char *alerts_doc = NULL, *alert_state = NULL;
    if (!s->name && ms->alerts) {
        json_t *a = kc_metrics_service_alerts(ms, s->cl->cfg->name);
        json_t *st = kc_alerts_export(ms->alerts, s->cl->cfg->name);
        alerts_doc = a ? json_dumps(a, JSON_COMPACT) : NULL;
        alert_state = st ? json_dumps(st, JSON_COMPACT) : NULL;
        json_decref(a);
        json_decref(st);
        free(s->fleet_alerts);
        s->fleet_alerts = alerts_doc ? strdup(alerts_doc) : NULL;
    }
    struct kc_fleet_doc fd = {
        .status = d->status,
        .flags = (res->status == 200 && !res->degraded ? KC_FLEET_DOC_GOOD : 0) |
                 (res->not_found ? KC_FLEET_DOC_NOT_FOUND : 0),
        .seq = d->seq,
        .made_ms = d->made_ms,
        .ttl_ms = fresh_ms,
        .body = d->body,
        .body_len = d->len,
        .gz = d->gz,
        .gz_len = d->gz_len,
        .alerts = alerts_doc,
        .alerts_len = alerts_doc ? strlen(alerts_doc) : 0,
    };
    size_t state_len = 0, env_len = 0;
    char *state = res->status == 200 ? state_blob(s, res->doc, d->seq, &state_len) : NULL;
    char *env = NULL;
    if (kc_fleet_doc_encode(&fd, &env, &env_len) == 0) {
        struct kc_fleet_store st = {
            .envelope = env, .envelope_len = env_len, .doc_px = fresh_ms,
            .state = state, .state_len = state_len,
            .alerts_cluster = alert_state ? s->cl->cfg->name : NULL,
            .alert_state = alert_state, .alert_state_len = alert_state ? strlen(alert_state) : 0,
        };
        kc_fleet_store(ms->fleet, s->entry->key, &st);
    }
    free(env);
    free(state);
    free(alerts_doc);
    free(alert_state);
}

/* ---- collections ---- */

static void on_collected(const struct kc_collect_result *res, void *arg)
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
            alerts_after_summary(ms, s, res->doc);
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
        fleet_store(s, res, d, fresh - now);
    KC_DEBUG("collected", "{s:s,s:s?,s:i,s:i,s:b,s:b}", "cluster", s->cl->cfg->name, "connector",
             s->name, "status", res->status, "upstream_requests", res->upstream_requests,
             "background", s->background, "fleet", holder);
    after_new_doc(s, res->not_found, now);
}

static void on_refresh_timer(evutil_socket_t fd, short what, void *arg)
{
    struct slot *s = arg;
    if (!busy(s))
        start_collection(s, 1);
}

/* ---- batched refresh: the watched connectors of a cluster together ---- */

static int batching(const struct slot *s)
{
    /* Fleet mode keeps one lease per connector (a batch would need the fleet to agree on its
     * members): there each connector refreshes on its own. */
    return s->name && !s->ms->fleet && s->ms->batches;
}

static struct cluster_batch *batch_of(const struct slot *s)
{
    return &s->ms->batches[s->cl - s->ms->gw->clusters];
}

/* A batch starts this long before its earliest member expires: its last duration and a
 * quarter more, plus 20 ms (at most a fifth of the TTL). Less than a single connector's twice
 * its duration: a batch of hundreds takes ~100 ms, and twice that would make it run ~1.1 times
 * per TTL. A batch that runs late only makes readers of an expired member wait for it (they
 * join it: never a collection of their own). */
static int64_t batch_margin(const struct cluster_batch *cb)
{
    int64_t ttl = cb->ms->gw->cfg->metrics_ttl_ms;
    int64_t margin = cb->last_duration_ms + cb->last_duration_ms / 4 + 20;
    return margin > ttl / 5 ? ttl / 5 : margin;
}

static void batch_arm(struct cluster_batch *cb, int64_t now)
{
    struct timeval tv = kc_timeval_from_ms(cb->due_ms > now ? cb->due_ms - now : 0);
    evtimer_add(cb->timer, &tv);
}

/* Joins the next batch of its cluster; the batch runs when its earliest member is due. */
static void batch_enqueue(struct slot *s, int64_t now)
{
    struct cluster_batch *cb = batch_of(s);
    if (s->batch_state != BATCH_NONE)
        return;
    int64_t due = s->entry->fresh_until_ms - batch_margin(cb);
    s->batch_state = BATCH_QUEUED;
    LIST_INSERT_HEAD(&cb->queue, s, batch_link);
    if (cb->queued++ == 0 || due < cb->due_ms) {
        cb->due_ms = due;
        if (!cb->inflight)
            batch_arm(cb, now);
    }
}

static void batch_dequeue(struct slot *s)
{
    if (s->batch_state != BATCH_QUEUED)
        return;
    LIST_REMOVE(s, batch_link);
    batch_of(s)->queued--;
    s->batch_state = BATCH_NONE;
}

static void on_batch_item(size_t index, const struct kc_collect_result *res, void *arg)
{
    struct cluster_batch *cb = arg;
    struct slot *s = index < cb->nslots ? cb->slots[index] : NULL;
    if (!s)
        return;
    cb->slots[index] = NULL;
    s->batch_state = BATCH_NONE;
    if (!res) {
        /* The batch could not tell (its status call failed, …): on its own, with the usual
         * error documents. */
        s->entry->pins--;
        start_local_collection(s);
        return;
    }
    on_collected(res, s); /* takes the batch's pin */
}

static void on_batch_done(const struct kc_batch_stats *st, void *arg)
{
    struct cluster_batch *cb = arg;
    int64_t now = kc_mono_ms();
    kc_stats_batch(cb->nslots, (size_t)st->connect_requests, (size_t)st->jolokia_posts,
                   (size_t)st->split_posts);
    cb->inflight = NULL;
    cb->last_duration_ms = now - cb->started_ms;
    if (st->list_connectors)
        cb->cluster_size = st->list_connectors;
    KC_DEBUG("batch_collected", "{s:s,s:I,s:i,s:i,s:i,s:I}", "cluster", cb->cl->cfg->name,
             "connectors", (json_int_t)cb->nslots, "connect_requests", st->connect_requests,
             "jolokia_posts", st->jolokia_posts, "split_posts", st->split_posts, "duration_ms",
             (json_int_t)cb->last_duration_ms);
    free(cb->slots);
    cb->slots = NULL;
    cb->nslots = 0;
    if (cb->queued)
        batch_arm(cb, now);
}

/* Connect: a status call per connector, or ONE expand list when it costs less. The list carries
 * every connector of the cluster, so it pays off from a share of them on:
 * KC_BATCH_EXPAND_PERCENT (measured in test/bench part 8). The cluster's size is known from its
 * last summary or the last list a batch read; unknown, a batch of 64 or more asks for the list
 * (and so learns it). Below BATCH_EXPAND_MIN connectors the calls are too few to matter. */
#define BATCH_EXPAND_MIN 32
static enum kc_batch_connect batch_connect_way(struct cluster_batch *cb, size_t n)
{
    struct kc_metrics_service *ms = cb->ms;
    size_t percent = ms->gw->cfg->batch_expand_percent;
    if (percent > 100)
        return KC_BATCH_STATUS_EACH;
    struct slot *summary = slot_get(ms, cb->cl, NULL, 0);
    size_t total = summary && summary->summary
                       ? json_array_size(json_object_get(summary->summary, "connectors"))
                       : cb->cluster_size;
    if (n < BATCH_EXPAND_MIN)
        return KC_BATCH_STATUS_EACH; /* a few calls: never worth a whole cluster's list */
    if (total == 0)
        return n >= 64 ? KC_BATCH_EXPAND_LIST : KC_BATCH_STATUS_EACH;
    return n * 100 >= total * percent ? KC_BATCH_EXPAND_LIST : KC_BATCH_STATUS_EACH;
}

static void on_batch_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct cluster_batch *cb = arg;
    struct kc_metrics_service *ms = cb->ms;
    if (cb->inflight || cb->queued == 0)
        return;
    size_t n = cb->queued;
    const char **names = calloc(n, sizeof *names);
    struct slot **slots = calloc(n, sizeof *slots);
    struct slot *s;
    if (!names || !slots) {
        free(names);
        free(slots);
        while ((s = LIST_FIRST(&cb->queue))) {
            batch_dequeue(s);
            start_local_collection(s);
        }
        return;
    }
    int64_t now = kc_mono_ms();
    size_t i = 0;
    while ((s = LIST_FIRST(&cb->queue))) {
        LIST_REMOVE(s, batch_link);
        s->batch_state = BATCH_INFLIGHT;
        s->batch_index = i;
        s->background = 1;
        s->collect_started_ms = now;
        s->entry->pins++;
        if (s->refresh_timer)
            evtimer_del(s->refresh_timer);
        slots[i] = s;
        names[i++] = s->name;
    }
    cb->queued = 0;
    cb->slots = slots;
    cb->nslots = n;
    cb->started_ms = now;
    cb->inflight = kc_collect_batch(ms->gw, cb->cl, names, n, batch_connect_way(cb, n),
                                    &ms->hooks, on_batch_item, on_batch_done, cb);
    free(names);
    if (cb->inflight)
        return;
    cb->slots = NULL;
    cb->nslots = 0;
    for (i = 0; i < n; i++) {
        slots[i]->batch_state = BATCH_NONE;
        slots[i]->entry->pins--;
        start_local_collection(slots[i]);
    }
    free(slots);
}

/* Refresh ahead. A hit in the last fifth of the TTL (or a stream) asks for the next document;
 * its collection starts just early enough to land before the current one expires — a margin
 * of twice the last collection's duration plus 20 ms, at most a fifth of the TTL. Readers of
 * a watched connector never wait, no document is older than the TTL, and the upstreams see
 * about one collection per TTL, not one every 0.8 TTL. In fleet mode every replica with
 * readers asks; the lease lets one of them collect for all. */
static void schedule_refresh(struct slot *s, int64_t now)
{
    if (busy(s) || (s->refresh_timer && evtimer_pending(s->refresh_timer, NULL)))
        return;
    if (batching(s)) {
        batch_enqueue(s, now);
        return;
    }
    int64_t delay = s->entry->fresh_until_ms - refresh_margin(s) - now;
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

/* Collects here, now (local mode, a lease won, or Redis failing). */
static void start_local_collection(struct slot *s)
{
    struct kc_metrics_service *ms = s->ms;
    batch_dequeue(s);
    s->collect_started_ms = kc_mono_ms();
    if (s->refresh_timer)
        evtimer_del(s->refresh_timer);
    /* In fleet mode a connector collection leaves alerts to the summary's lease holder. */
    const struct kc_collect_hooks *hooks = s->fleet_holder && s->name ? &ms->fleet_hooks : &ms->hooks;
    if (s->name)
        s->collection = kc_collect_connector(ms->gw, s->cl, s->name, hooks, on_collected, s);
    else
        s->collection = kc_collect_cluster(ms->gw, s->cl, hooks, on_collected, s);
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
        deliver(s);
        notify_scrapes(s);
    }
}

static void fleet_stop_waiting(struct slot *s)
{
    if (!s->fleet_waiting)
        return;
    s->fleet_waiting = 0;
    LIST_REMOVE(s, fleet_link);
    s->entry->pins--;
    if (s->fleet_timer)
        evtimer_del(s->fleet_timer);
}

/* A document from the fleet (a fresh one in Redis, or another replica's publish), valid for
 * remaining_ms more. Older than ours (or ours, echoed back): only its freshness counts. */
static void fleet_apply(struct slot *s, const struct kc_fleet_doc *fd, int64_t remaining_ms)
{
    struct kc_metrics_service *ms = s->ms;
    int64_t now = kc_mono_ms();
    int64_t ttl = ms->gw->cfg->metrics_ttl_ms;
    if (remaining_ms > ttl)
        remaining_ms = ttl;
    int64_t fresh = now + remaining_ms;
    int64_t refresh_from = fd->flags & KC_FLEET_DOC_GOOD ? fresh - ttl / 5 : fresh;
    fleet_stop_waiting(s);
    struct kc_doc *cur = s->entry->doc;
    if (cur && (fd->seq == cur->seq || fd->made_ms < cur->made_ms)) {
        if (fd->seq == cur->seq && fresh > s->entry->fresh_until_ms) {
            s->entry->fresh_until_ms = fresh;
            s->entry->refresh_from_ms = refresh_from;
        }
        deliver(s);
        notify_scrapes(s);
        if (s->subscriber_count > 0)
            schedule_refresh(s, now);
        return;
    }
    char *body = malloc(fd->body_len + 1);
    unsigned char *gz = fd->gz_len ? malloc(fd->gz_len) : NULL;
    if (!body || (fd->gz_len && !gz)) {
        free(body);
        free(gz);
        return; /* like a lost publish: the wait times out and the slot asks again */
    }
    memcpy(body, fd->body, fd->body_len);
    body[fd->body_len] = '\0';
    if (gz)
        memcpy(gz, fd->gz, fd->gz_len);
    struct kc_doc *d = kc_doc_new_take_gz(fd->status, body, fd->body_len, gz, fd->gz_len);
    if (!d)
        return;
    d->seq = fd->seq; /* kc_doccache_set_doc raises it above ours if a local fallback passed it */
    d->made_ms = fd->made_ms;
    if (fd->seq > s->fleet_seq)
        s->fleet_seq = fd->seq;
    if (!s->name) {
        if (fd->status == 200) {
            /* Prometheus renders from the parsed summary. */
            json_t *summary = json_loadb(fd->body, fd->body_len, 0, NULL);
            if (summary) {
                kc_slice_json_decref(ms->gw->base, s->summary);
                s->summary = summary;
            }
        }
        free(s->fleet_alerts);
        s->fleet_alerts = NULL;
        if (fd->alerts_len && (s->fleet_alerts = malloc(fd->alerts_len + 1))) {
            memcpy(s->fleet_alerts, fd->alerts, fd->alerts_len);
            s->fleet_alerts[fd->alerts_len] = '\0';
        }
    }
    kc_doccache_set_doc(ms->cache, s->entry, d, fresh, refresh_from);
    kc_fleet_count_applied(ms->fleet);
    after_new_doc(s, (fd->flags & KC_FLEET_DOC_NOT_FOUND) != 0, now);
}

/* The lease holder died or its publish was lost: ask again (a fresh document, or the lease). */
static void on_fleet_wait_over(evutil_socket_t fd, short what, void *arg)
{
    struct slot *s = arg;
    fleet_stop_waiting(s);
    kc_fleet_count_expired_wait(s->ms->fleet);
    start_collection(s, s->background);
}

static void fleet_wait(struct slot *s, int64_t lease_left_ms)
{
    if (!s->fleet_timer && !(s->fleet_timer = evtimer_new(s->ms->gw->base, on_fleet_wait_over, s))) {
        kc_fleet_count_fallback(s->ms->fleet);
        start_local_collection(s);
        return;
    }
    s->fleet_waiting = 1;
    LIST_INSERT_HEAD(&s->ms->fleet_waiting, s, fleet_link);
    s->entry->pins++;
    struct timeval tv = kc_timeval_from_ms(lease_left_ms + 50);
    evtimer_add(s->fleet_timer, &tv);
}

/* The lease is ours: the previous samples (and the cluster's alert state) the last holder
 * stored become ours, then this replica collects for the fleet. */
static void fleet_won(struct slot *s, const struct kc_fleet_acquired *a)
{
    struct kc_metrics_service *ms = s->ms;
    if (a->state_len)
        state_blob_load(s, a->state, a->state_len);
    if (!s->name && ms->alerts && a->alert_state_len) {
        json_t *st = json_loadb(a->alert_state, a->alert_state_len, 0, NULL);
        if (st)
            kc_alerts_import(ms->alerts, s->cl->cfg->name, st);
        json_decref(st);
    }
    s->fleet_holder = 1;
    start_local_collection(s);
}

static void on_fleet_acquired(const struct kc_fleet_acquired *a, void *arg)
{
    struct slot *s = arg;
    s->fleet_op = NULL;
    s->entry->pins--;
    switch (a->outcome) {
    case KC_FLEET_HIT:
        fleet_apply(s, &a->doc, a->remaining_ms);
        break;
    case KC_FLEET_WON:
        fleet_won(s, a);
        break;
    case KC_FLEET_LOST:
        fleet_wait(s, a->remaining_ms);
        break;
    case KC_FLEET_ERROR:
    default:
        kc_fleet_count_fallback(s->ms->fleet);
        start_local_collection(s);
        break;
    }
}

/* Redis left: whoever waits for another replica's publish collects here instead. */
static void on_redis_change(int ready, void *arg)
{
    struct kc_metrics_service *ms = arg;
    if (ready)
        return;
    struct slot *s;
    while ((s = LIST_FIRST(&ms->fleet_waiting))) {
        fleet_stop_waiting(s);
        kc_fleet_count_fallback(ms->fleet);
        start_local_collection(s);
    }
}

/* Starts the next document of s: in fleet mode through the lease (or the stored document);
 * otherwise, or when Redis cannot answer, a collection here. */
static void start_collection(struct slot *s, int background)
{
    struct kc_metrics_service *ms = s->ms;
    s->background = background;
    if (ms->fleet) {
        if (fleet_on(ms)) {
            s->fleet_op = kc_fleet_acquire(ms->fleet, s->entry->key, lease_ms(s->cl),
                                           background && s->entry->doc ? refresh_margin(s) : 0,
                                           !s->name && ms->alerts ? s->cl->cfg->name : NULL,
                                           on_fleet_acquired, s);
            if (s->fleet_op) {
                s->entry->pins++;
                if (s->refresh_timer)
                    evtimer_del(s->refresh_timer);
                return;
            }
        }
        kc_fleet_count_fallback(ms->fleet);
    }
    start_local_collection(s);
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
    if (busy(s)) {
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

json_t *kc_metrics_service_fleet_json(const struct kc_metrics_service *ms)
{
    struct kc_fleet_stats f;
    kc_fleet_stats(ms->fleet, &f);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "hits", (json_int_t)f.hits,
                     "leaseWins", (json_int_t)f.lease_wins, "leaseLosses",
                     (json_int_t)f.lease_losses, "leaseExpiredWaits",
                     (json_int_t)f.lease_expired_waits, "published", (json_int_t)f.published,
                     "received", (json_int_t)f.received, "applied", (json_int_t)f.applied,
                     "localFallbacks", (json_int_t)f.local_fallbacks, "errors",
                     (json_int_t)f.errors);
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
        struct slot *s = slot_get(ms, items[i].cl, items[i].name, 1);
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
    for (size_t i = 0; i < c->nlinks; i++) {
        struct subscriber *sub = &c->links[i];
        struct slot *s = sub->slot;
        if (!s)
            continue;
        if (s->entry->doc && now < s->entry->fresh_until_ms) {
            if (stream_deliver(sub, s->entry->doc) != 0)
                return; /* too slow already, or nothing left to carry */
            if (sub->slot)
                schedule_refresh(s, now);
        } else if (!busy(s)) {
            start_collection(s, 1);
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


/* ---- Prometheus ---- */

static void scrape_free(struct prom_scrape *sc)
{
    for (size_t i = 0; i < sc->nlinks; i++) {
        if (sc->links[i].waiting) {
            LIST_REMOVE(&sc->links[i], link);
            sc->links[i].slot->entry->pins--;
        }
    }
    kc_slicer_free(sc->slicer);
    if (sc->out)
        fclose(sc->out);
    kc_textbuf_release(&sc->text);
    for (size_t i = 0; sc->cl && i < sc->ncl; i++)
        kc_slice_json_decref(sc->ms->gw->base, (json_t *)(uintptr_t)sc->cl[i].summary);
    free(sc->cl);
    kc_gzip_job_free(sc->gz);
    free(sc);
}

static void on_scrape_gone(void *arg)
{
    struct prom_scrape *sc = arg;
    sc->pending = NULL;
    scrape_free(sc); /* the cancel path: a render in slices stops here */
}

/* Takes a reference to every summary and opens the text. 0, or -1 on OOM. */
static int render_begin(struct prom_scrape *sc, size_t *rows)
{
    *rows = 0;
    sc->out = kc_textbuf_open(&sc->text);
    sc->cl = calloc(sc->nlinks + 1, sizeof *sc->cl);
    if (!sc->out || !sc->cl)
        return -1;
    sc->ncl = sc->nlinks;
    for (size_t i = 0; i < sc->nlinks; i++) {
        struct slot *s = sc->links[i].slot;
        sc->cl[i].name = s->cl->cfg->name;
        sc->cl[i].summary = json_incref(s->summary);
        sc->cl[i].connect_up = s->entry->doc && s->entry->doc->status == 200;
        *rows += json_array_size(json_object_get(s->summary, "connectors"));
    }
    return 0;
}

/* The gateway's own families, after the connectors'. */
static void render_tail(struct prom_scrape *sc)
{
    struct kc_metrics_service *ms = sc->ms;
    FILE *out = sc->out;
    struct kc_upstream_stats up;
    kc_upstream_stats(ms->gw->upstream, &up);
    struct kc_stats_gauges g = {
        .open_connections = kc_server_connection_count(ms->gw->server),
        .idle_connections = kc_server_idle_connection_count(ms->gw->server),
        .inflight_requests = kc_pending_count(),
        .stream_subscribers = ms->subscribers,
        .stream_connections = ms->stream_count,
        .upstream_inflight = (size_t)up.inflight_now,
        .upstream_queued = (size_t)up.queued_now,
    };
    kc_stats_render(out, &g);
    kc_looplag_render(ms->gw->looplag, out);
    kc_slice_render(out);
    if (ms->gw->redis) {
        struct kc_redis_stats rs;
        kc_redis_stats(ms->gw->redis, &rs);
        kc_prom_render_redis(out, &rs);
        struct kc_fleet_stats fs;
        kc_fleet_stats(ms->fleet, &fs);
        kc_prom_render_fleet(out, &fs);
    }
}

/* One unit of the render: rows of text, then compression. 1 = more, 0 = done (or failed). */
static int render_step(struct prom_scrape *sc, size_t rows)
{
    if (!sc->rendered) {
        if (kc_prom_render_connectors_step(sc->out, sc->cl, sc->ncl, &sc->cur, rows))
            return 1;
        render_tail(sc);
        fclose(sc->out);
        sc->out = NULL;
        sc->rendered = 1;
        if (sc->gzip && sc->text.len > 1024 &&
            !(sc->gz = kc_gzip_job_new(sc->text.data, sc->text.len,
                                       sc->text.len > (256u << 10) ? KC_GZIP_FASTEST
                                                                   : KC_GZIP_FAST)))
            return 0;
        return sc->gz != NULL;
    }
    int rc = kc_gzip_job_step(sc->gz, rows == (size_t)-1 ? sc->text.len : 64u << 10);
    if (rc < 0) {
        kc_gzip_job_free(sc->gz); /* sent plain */
        sc->gz = NULL;
    }
    return rc == 1;
}

struct lent_scrape {
    struct kc_textbuf text;
    unsigned char *gz;
};

static void lent_scrape_release(void *arg)
{
    struct lent_scrape *ls = arg;
    kc_textbuf_release(&ls->text);
    free(ls->gz);
    free(ls);
}

static void render_reply(struct prom_scrape *sc, evhtp_request_t *req)
{
    if (!sc->rendered) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    size_t gz_len = 0;
    unsigned char *gz = sc->gz ? kc_gzip_job_take(sc->gz, &gz_len) : NULL;
    /* The text (and its gzip form) go to the client without a copy; they are released when
     * sent. */
    struct lent_scrape *ls = malloc(sizeof *ls);
    if (!ls) {
        kc_reply_prepared(req, 200, "text/plain; version=0.0.4; charset=utf-8", sc->text.data,
                          sc->text.len, gz, gz_len);
        free(gz);
        return;
    }
    ls->text = sc->text;
    ls->gz = gz;
    memset(&sc->text, 0, sizeof sc->text);
    kc_reply_prepared_shared(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                             ls->text.data, ls->text.len, gz, gz_len, lent_scrape_release, ls);
}

static int on_render_slice(void *arg)
{
    struct prom_scrape *sc = arg;
    if (render_step(sc, PROM_ROWS_PER_STEP))
        return 1;
    evhtp_request_t *req = kc_pending_end(sc->pending);
    sc->pending = NULL;
    if (req)
        render_reply(sc, req);
    scrape_free(sc);
    return 0;
}

/* Renders and replies, in one go for small summaries, else in slices across loop turns (the
 * request stays pending; the scrape is freed when done or when its client leaves). Takes sc:
 * it is freed here or by the slices. `pending` is sc->pending when the request is paused. */
static void scrape_render(struct prom_scrape *sc, evhtp_request_t *req)
{
    size_t rows = 0;
    if (render_begin(sc, &rows) != 0) {
        if (sc->pending)
            kc_pending_end(sc->pending);
        sc->pending = NULL;
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        scrape_free(sc);
        return;
    }
    if (rows > PROM_SLICE_ROWS &&
        (sc->slicer = kc_slicer_new(sc->ms->gw->base, on_render_slice, sc)) &&
        (sc->pending || (sc->pending = kc_pending_start(req, on_scrape_gone, sc)))) {
        kc_slicer_start(sc->slicer);
        return;
    }
    while (render_step(sc, (size_t)-1))
        ;
    if (sc->pending)
        kc_pending_end(sc->pending);
    sc->pending = NULL;
    render_reply(sc, req);
    scrape_free(sc);
}

static void scrape_part_done(struct prom_scrape *sc)
{
    if (--sc->outstanding > 0)
        return;
    /* Rendering may take slices: the pending stays until the reply. */
    if (!kc_pending_request(sc->pending)) {
        kc_pending_end(sc->pending);
        sc->pending = NULL;
        scrape_free(sc);
        return;
    }
    scrape_render(sc, kc_pending_request(sc->pending));
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
        kc_stats_cache("cluster_metrics", busy(s) ? KC_CACHE_COALESCED : KC_CACHE_MISS);
        l->waiting = 1;
        s->entry->pins++;
        LIST_INSERT_HEAD(&s->scrapes, l, link);
        sc->outstanding++;
        if (!busy(s))
            start_collection(s, 0);
    }
    sc->gzip = kc_http_accepts_gzip(req);
    if (sc->outstanding == 1) {
        scrape_render(sc, req);
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

/* A document some replica published: the slots here that want this key take it (waiters,
 * streams, a local copy to serve); a key nobody asked for here is not kept. */
static void on_fleet_doc(const char *key, size_t key_len, const struct kc_fleet_doc *doc,
                         void *ctx)
{
    struct kc_metrics_service *ms = ctx;
    char buf[256];
    char *k = key_len < sizeof buf ? buf : malloc(key_len + 1);
    if (!k)
        return;
    memcpy(k, key, key_len);
    k[key_len] = '\0';
    struct kc_doccache_entry *e = kc_doccache_get(ms->cache, k);
    if (k != buf)
        free(k);
    if (e && e->user && !((struct slot *)e->user)->collection)
        fleet_apply(e->user, doc, doc->ttl_ms);
}

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
        if (!(cb->timer = evtimer_new(gw->base, on_batch_timer, cb))) {
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
        if (!(ms->fleet = kc_fleet_new(gw->redis, on_fleet_doc, ms))) {
            kc_metrics_service_free(ms);
            return NULL;
        }
        kc_redis_on_change(gw->redis, on_redis_change, ms);
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
