/* kc/streamq.h — the query of the multi-connector stream (GET /api/stream): which connectors
 * and cluster summaries one browser wants, and the ids to resume each from. Pure functions. */
#ifndef KC_STREAMQ_H
#define KC_STREAMQ_H

#include <stddef.h>
#include <stdint.h>

struct kc_streamq_item {
    char *cluster; /* decoded (owned) */
    char *name;    /* decoded connector name (owned); NULL = the cluster's summary */
};

struct kc_streamq {
    struct kc_streamq_item *items; /* in order of first appearance, duplicates dropped */
    size_t n;
    char *last_ids;                /* the lastEventId parameter, decoded (owned); NULL if absent */
};

/* Parses a raw query string ("connector=default%2Forders&summary=default&lastEventId=…"):
 * `connector=<cluster>/<name>` (split on the first '/') and `summary=<cluster>`, each value
 * form-decoded ('+' is a space, %XX). Other keys are ignored. Returns 0; or an HTTP status
 * with a short code and a message for the client in err: 400 bad_request (malformed value, no
 * item), 400 too_many_connectors (more than max_items distinct items), 503 out_of_memory.
 * The query is freed with kc_streamq_clear in every case. */
int kc_streamq_parse(const char *query, size_t max_items, struct kc_streamq *q,
                     const char **code, char *err, size_t errlen);
void kc_streamq_clear(struct kc_streamq *q);

/* "12,0,345" → ids[0..n-1]: 0 when text holds exactly n non-negative decimal numbers, else -1
 * (ids then untouched). */
int kc_streamq_ids(const char *text, uint64_t *ids, size_t n);

#endif
