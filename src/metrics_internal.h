/* metrics_internal.h — what the metrics service's files share (private to src/): the slot of
 * each cached document, the waiters, streams and scrapes on it, the service itself, and the
 * functions one part calls in another. metrics_service.c owns slots, collections and serving;
 * metrics_fleet.c the fleet-mode glue; metrics_batch.c the batched refresh; metrics_scrape.c
 * the Prometheus scrapes. */
#ifndef KC_METRICS_INTERNAL_H
#define KC_METRICS_INTERNAL_H

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
#include "kc/summary_parse.h"
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
    struct fleet_apply *fleet_apply; /* a big published summary being applied in slices */
    struct fleet_store *fleet_store; /* this replica's big summary being prepared for the fleet */
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

static inline int fleet_on(const struct kc_metrics_service *ms)
{
    return kc_fleet_active(ms->fleet);
}

/* A collection of this slot is under way somewhere: in flight here, being acquired, or being
 * made by another replica whose publish is awaited. New readers wait for it. */
static inline int busy(const struct slot *s)
{
    return s->collection || s->fleet_op || s->fleet_waiting || s->fleet_apply ||
           s->batch_state == BATCH_INFLIGHT;
}

/* metrics_service.c: slots, collections, serving */
int ms_after_new_doc(struct slot *s, int not_found, int64_t now);
void ms_deliver(struct slot *s);
void ms_on_collected(const struct kc_collect_result *res, void *arg);
void ms_schedule_refresh(struct slot *s, int64_t now);
struct slot *ms_slot_get(struct kc_metrics_service *ms, struct kc_cluster *cl,
                         const char *name, int create);
void ms_start_collection(struct slot *s, int background);
void ms_start_local_collection(struct slot *s);

/* metrics_fleet.c: fleet mode (kc/fleet.h) for the slots */
void ms_fleet_store(struct slot *s, const struct kc_collect_result *res, struct kc_doc *d,
                    int64_t fresh_ms);
int64_t ms_lease_ms(const struct kc_cluster *cl);
void ms_on_fleet_acquired(const struct kc_fleet_acquired *a, void *arg);
void ms_on_fleet_doc(const char *key, size_t key_len, const struct kc_fleet_doc *doc,
                     void *ctx);
void ms_on_redis_change(int ready, void *arg);
/* The slot goes away: a published summary still being applied, or its own store still being
 * prepared, is dropped. */
void ms_fleet_slot_end(struct slot *s);

/* metrics_batch.c: watched connectors refreshed together (kc/batch.h) */
void ms_batch_dequeue(struct slot *s);
void ms_batch_enqueue(struct slot *s, int64_t now);
int ms_batching(const struct slot *s);
void ms_on_batch_timer(evutil_socket_t fd, short what, void *arg);

/* metrics_scrape.c: Prometheus scrapes of the cluster summaries */
void ms_notify_scrapes(struct slot *s);

#endif
