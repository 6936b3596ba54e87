/* kc/fleet.h — fleet mode's protocol on Redis: who collects (a lease per collection), the
 * finished documents every replica serves, the previous samples and alert state the next
 * collector needs, the published documents streams follow, and the shared history.
 *
 * Keys, all under the configured prefix P and all with a TTL:
 *   P doc:<key>      the envelope of the current document        PX = its freshness (TTL)
 *   P lease:<key>    the replica collecting <key> now            PX = bounded by upstream timeouts
 *   P state:<key>    previous samples (rates) + last event id    PX = KC_FLEET_STATE_KEEP_MS
 *   P alerts:<cl>    alert state of cluster <cl>                 PX = KC_FLEET_ALERTS_KEEP_MS
 *   P stage:<owner>:<n>:<e|s>  a big envelope or state on its way  PX = 60 s, taken by the store
 *   P hist:<key>     a stream of history samples                 MAXLEN ~ history, PEXPIRE span
 * and one channel, P docs, on which every stored envelope is published (a big one announced:
 * "KCN1 <size> <head line>", fetched by the replicas that want it).
 * <key> is the metrics service's cache key (binary-safe). */
#ifndef KC_FLEET_H
#define KC_FLEET_H

#include <stddef.h>
#include <stdint.h>

struct kc_redis;
struct redisReply; /* hiredis */
struct kc_fleet;
struct kc_fleet_op;

#define KC_FLEET_STATE_KEEP_MS 600000   /* a previous sample older than 10 min is not kept */
#define KC_FLEET_ALERTS_KEEP_MS 3600000 /* as long as resolved alerts are shown */

/* ---- the envelope of a document (pure) ---- */

#define KC_FLEET_DOC_GOOD 1u      /* 200 without warnings: refreshed ahead, kept a whole TTL */
#define KC_FLEET_DOC_NOT_FOUND 2u /* Connect does not know the connector */
#define KC_FLEET_DOC_NOTICE 4u    /* only announced (never in an envelope): no body, gz or
                                     alerts here — kc_fleet_fetch gets them */

/* An envelope bigger than this is announced on the channel and answered by the lease script
 * as its head line; whoever wants it fetches it in pieces of this size (a 20,000-connector
 * envelope, 11 MB, arriving as one reply was copied by hiredis in one turn: up to 10 ms). */
#define KC_FLEET_NOTICE_MIN (256u << 10)

struct kc_fleet_doc {
    int status;
    unsigned flags;       /* KC_FLEET_DOC_* */
    uint64_t seq;         /* the stream event id, increasing across the fleet per key */
    int64_t made_ms;      /* wall clock of the collection */
    int64_t ttl_ms;       /* freshness when made */
    const char *body;     /* borrowed (into the encoded bytes when decoded) */
    size_t body_len;
    const unsigned char *gz;
    size_t gz_len;
    const char *alerts;   /* cluster summaries: the alerts document evaluated with it */
    size_t alerts_len;
    size_t envelope_len;  /* NOTICE: the size of the envelope announced */
    const char *head;     /* NOTICE: its head line (borrowed) */
    size_t head_len;
    /* private: where the bytes are, while lent (kc_fleet_doc_take_bytes) */
    struct kc_redis *src_redis;
    const struct redisReply *src_reply;
    char **src_owned;
};

/* New malloc'ed bytes in *out; 0 or -1 (OOM). */
int kc_fleet_doc_encode(const struct kc_fleet_doc *d, char **out, size_t *out_len);
/* Pointers of *d point into buf. 0, or -1 when buf is not an envelope of this version. */
int kc_fleet_doc_decode(const char *buf, size_t len, struct kc_fleet_doc *d);
/* A notice of a big envelope as the store script publishes it, "KCN1 <envelope size> <head
 * line>": d gets the head's fields, KC_FLEET_DOC_NOTICE, envelope_len and head (into buf), no
 * body. 0, or -1 when buf is not one (or its size does not add up). */
int kc_fleet_notice_decode(const char *buf, size_t len, struct kc_fleet_doc *d);
/* During the callback that lends d: takes the memory d's body, gz and alerts point into (new:
 * free() it; they stay valid in it) instead of copying megabytes. NULL when it cannot be taken
 * (not from Redis, taken already): then the caller copies. */
void *kc_fleet_doc_take_bytes(const struct kc_fleet_doc *d);

/* ---- the client ---- */

/* A document published by some replica (possibly this one), or the notice of a big one
 * (KC_FLEET_DOC_NOTICE), or a big one kc_fleet_fetch got. key/doc borrowed for the call. */
typedef void (*kc_fleet_doc_fn)(const char *key, size_t key_len, const struct kc_fleet_doc *doc,
                                void *ctx);

/* r is borrowed and must outlive the fleet; subscribes to P docs. NULL on OOM. */
struct kc_fleet *kc_fleet_new(struct kc_redis *r, kc_fleet_doc_fn on_doc, void *ctx);
/* on_doc is never called again. Stores with commands in flight live on until their callbacks
 * (kc_redis_free ends them all) and the last one frees the rest: call it before kc_redis_free. */
void kc_fleet_free(struct kc_fleet *f);
/* Fleet mode now (Redis ready). NULL → 0. */
int kc_fleet_active(const struct kc_fleet *f);

enum kc_fleet_outcome {
    KC_FLEET_HIT,   /* a fresh document is in Redis: doc, remaining_ms */
    KC_FLEET_WON,   /* this replica holds the lease: collect; state/alerts as stored */
    KC_FLEET_LOST,  /* another replica collects: wait for its publish, remaining_ms of its lease */
    KC_FLEET_ERROR, /* Redis failed or answered garbage: collect locally */
};

struct kc_fleet_acquired {
    enum kc_fleet_outcome outcome;
    struct kc_fleet_doc doc;           /* HIT */
    int64_t remaining_ms;              /* HIT: the document's; LOST: the lease's */
    const char *state;                 /* WON: may be empty */
    size_t state_len;
    const char *alert_state;           /* WON with an alerts cluster: may be empty */
    size_t alert_state_len;
};
typedef void (*kc_fleet_acquire_fn)(const struct kc_fleet_acquired *a, void *ctx);

/* One atomic step (a Lua script): the document if it stays fresh for more than margin_ms, else
 * the lease if free (with the stored state, and the alert state of alerts_cluster when not
 * NULL), else the lease's remaining time. Called exactly once unless cancelled; NULL when
 * nothing was sent (not in fleet mode, OOM): the callback then never runs. The handle is valid
 * until the callback starts. */
struct kc_fleet_op *kc_fleet_acquire(struct kc_fleet *f, const char *key, int64_t lease_ms,
                                     int64_t margin_ms, const char *alerts_cluster,
                                     kc_fleet_acquire_fn done, void *ctx);
/* Fetches the big document a notice announced, a few 256 KiB pieces per loop turn (each
 * checked to be of that document), and hands it to on_doc like a publish. A fetch of the same
 * document in flight is enough; one of an older document of the key is dropped. Nothing comes
 * when the document was replaced meanwhile (its publish is on its way) or Redis fails. 0, or
 * -1 when nothing was sent. */
int kc_fleet_fetch(struct kc_fleet *f, const char *key, const struct kc_fleet_doc *notice);

/* Abandons an acquire or history read whose callback has not run (it never will). NULL ok. */
void kc_fleet_op_cancel(struct kc_fleet_op *op);

/* What the lease holder leaves behind. */
struct kc_fleet_store {
    const struct kc_fleet_doc *doc;                  /* encoded here; bytes lent until release */
    int64_t doc_px;
    char *state; size_t state_len;                   /* taken (NULL: leave the stored state) */
    const char *alerts_cluster;                      /* NULL: no alert state */
    const char *alert_state; size_t alert_state_len; /* copied */
    void (*release)(void *keep);                     /* doc's bytes no longer needed (NULL ok) */
    void *keep;
};
/* Stores the document (and state, unless the lease went to another replica meanwhile),
 * releases this replica's lease and publishes the envelope. A small envelope and state go in
 * one command now; bigger ones are staged in Redis 256 KiB at a time, a few pieces per loop
 * turn, in store order, then the same script takes them (a 20,000-connector envelope sent as
 * one command held the loop ~22 ms). release(keep) runs once the bytes are no longer needed:
 * maybe before this returns, at the latest when the store's last command ends (kc_redis_free
 * ends them all).
 * Fire and forget: a failure only costs the fleet one more collection. -1 when nothing was
 * sent (release has run, state is freed). */
int kc_fleet_store(struct kc_fleet *f, const char *key, struct kc_fleet_store *st);

/* History: appends one encoded sample to P hist:<key> (MAXLEN ~ max_samples, expiring keep_ms
 * after the last append). Fire and forget. */
int kc_fleet_history_add(struct kc_fleet *f, const char *key, const char *sample, size_t len,
                         size_t max_samples, int64_t keep_ms);
/* The samples, oldest first; each borrowed for the call. ok = 0 on error (then n = 0). */
typedef void (*kc_fleet_history_fn)(int ok, const char *const *samples, const size_t *lens,
                                    size_t n, void *ctx);
struct kc_fleet_op *kc_fleet_history_read(struct kc_fleet *f, const char *key, size_t max_samples,
                                          kc_fleet_history_fn done, void *ctx);

struct kc_fleet_stats {
    unsigned long long hits, lease_wins, lease_losses, lease_expired_waits, published,
        received, applied, local_fallbacks, errors;
};
void kc_fleet_stats(const struct kc_fleet *f, struct kc_fleet_stats *out);
/* Counted by the metrics service, which knows why it collected locally / applied a publish. */
void kc_fleet_count_fallback(struct kc_fleet *f);
void kc_fleet_count_applied(struct kc_fleet *f);
void kc_fleet_count_expired_wait(struct kc_fleet *f);
/* This replica's lease owner id (host:pid:random), borrowed. */
const char *kc_fleet_owner(const struct kc_fleet *f);

#endif
