/* kc/audit.h — the audit trail: one record per call that changes Connect (allowed, refused or
 * failed), written to the JSON log, a bounded ring and, in fleet mode, a capped Redis stream. */
#ifndef KC_AUDIT_H
#define KC_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct kc_audit;
struct kc_identity;
struct kc_redis;

/* New trail keeping the newest `capacity` records; redis (borrowed, may be NULL) carries them
 * to the fleet's stream while it is ready. NULL on OOM. */
struct kc_audit *kc_audit_new(size_t capacity, struct kc_redis *redis);
void kc_audit_free(struct kc_audit *a); /* NULL is fine */

/* A new record of a change about to be decided: who (id, borrowed), from where, what. Every
 * string is copied; connector may be NULL. Never pass a body, a query or a header value other
 * than the identity. NULL on OOM. */
json_t *kc_audit_begin(const struct kc_identity *id, const char *role, const char *peer,
                       const char *cluster, const char *method, const char *route,
                       const char *path, const char *connector);
/* Sets the connector of a record begun without one (a create names it in its body). */
void kc_audit_set_connector(json_t *rec, const char *connector);
/* Completes rec (taken) with the status answered, the outcome (forbidden, read_only, ok,
 * failed, abandoned) and the error message if any (Connect's, or the gateway's), then writes
 * it: log line {"event":"audit","kind":"audit",…} whatever LOG_LEVEL, the ring, the stream.
 * a NULL writes the log line only. */
void kc_audit_end_take(struct kc_audit *a, json_t *rec, int status, const char *outcome,
                       const char *error);

/* GET /api/audit?since=&user=&connector=&limit= */
struct kc_audit_query {
    int64_t since_ms;      /* records at or after; 0 = all */
    const char *user;      /* exact, or NULL */
    const char *connector; /* exact, or NULL */
    size_t limit;          /* at most this many, newest first */
};
typedef int (*kc_audit_visible_fn)(const char *cluster, void *ctx);

/* Whether rec passes q (pure). */
int kc_audit_matches(const json_t *rec, const struct kc_audit_query *q);
/* Appends to out (an array) the records of `records` (an array, newest first, borrowed) that
 * pass q and visible, up to q->limit. */
void kc_audit_filter(const json_t *records, const struct kc_audit_query *q,
                     kc_audit_visible_fn visible, void *ctx, json_t *out);
/* This replica's ring, newest first (new reference; NULL on OOM). */
json_t *kc_audit_local(const struct kc_audit *a);

/* Fleet mode: the Redis stream, newest first. done gets a borrowed array, or NULL when Redis
 * failed (then use the local ring). Returns NULL when not in fleet mode (done never runs). */
struct kc_audit_read;
typedef void (*kc_audit_read_fn)(const json_t *records, void *ctx);
struct kc_audit_read *kc_audit_fleet_read(struct kc_audit *a, kc_audit_read_fn done, void *ctx);
/* The client left: done never runs. */
void kc_audit_read_cancel(struct kc_audit_read *r);

struct kc_audit_stats {
    unsigned long long records, fleet_added, fleet_errors;
    size_t ring_size, capacity;
};
void kc_audit_stats(const struct kc_audit *a, struct kc_audit_stats *out);

#endif
