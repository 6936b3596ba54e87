/* kc/upstream.h — asynchronous HTTP client: libcurl's multi interface driven by the loop.
 * Bounded in-flight requests per pool (one pool per upstream host), a bounded FIFO beyond. */
#ifndef KC_UPSTREAM_H
#define KC_UPSTREAM_H

#include <stddef.h>

struct event_base;
struct kc_endpoint_cfg;
struct kc_upstream;
struct kc_fetch;

enum kc_fetch_error {
    KC_FETCH_OK = 0,        /* an HTTP response arrived (any status) */
    KC_FETCH_REFUSED,       /* connection refused / host unreachable */
    KC_FETCH_TIMEOUT,       /* connect or total timeout */
    KC_FETCH_DNS,           /* name did not resolve */
    KC_FETCH_TOO_LARGE,     /* response exceeded max_response_bytes */
    KC_FETCH_TLS,           /* certificate or handshake failure */
    KC_FETCH_PROTOCOL,      /* garbage instead of HTTP, connection reset, empty reply */
    KC_FETCH_QUEUE_FULL,    /* too many waiting for this upstream (never reaches the network) */
    KC_FETCH_NOMEM,
};

struct kc_fetch_request {
    const char *method;                     /* "GET", "PUT", ... */
    const char *url;                        /* complete and already percent-encoded */
    const char *body;                       /* copied; NULL for none */
    size_t body_len;
    const char *content_type;               /* of body; NULL = application/json when body */
    const struct kc_endpoint_cfg *endpoint; /* borrowed: auth, TLS, timeouts; outlives fetch */
    const char *pool;                       /* concurrency key, e.g. "connect:default" */
    size_t max_response_bytes;              /* 0 = default (64 MiB) */
};

struct kc_fetch_result {
    enum kc_fetch_error error;
    long status;              /* HTTP status; 0 unless error == KC_FETCH_OK */
    const char *error_text;   /* short, human, never contains credentials */
    const char *body;         /* borrowed for the callback; NUL-terminated */
    size_t body_len;
    const char *content_type; /* borrowed; may be NULL */
    const char *location;     /* borrowed; Location header or NULL */
    double total_ms;          /* time on the network, queueing excluded */
    double queue_ms;          /* time waiting for a pool slot */
    struct kc_fetch *fetch_;  /* private: lets kc_fetch_take_body find the buffer */
};

/* Takes the body of a result in its callback: the caller owns it from then on (free());
 * NUL-terminated, r->body_len bytes, r->body points to it. A big answer (a 17 MB connector
 * list at 20,000 connectors) is handed on without a copy: copying it cost a 10 ms loop turn.
 * NULL when there is nothing to take (a failed fetch, no body, taken already). */
char *kc_fetch_take_body(const struct kc_fetch_result *r);

/* Called exactly once per started fetch, unless it was cancelled first. The fetch is freed
 * right after the callback returns; never touch it again. */
typedef void (*kc_fetch_done_fn)(const struct kc_fetch_result *result, void *ctx);

struct kc_upstream *kc_upstream_new(struct event_base *base, size_t max_inflight_per_pool,
                                    size_t queue_limit_per_pool);
/* Cancels every outstanding fetch without calling back. */
void kc_upstream_free(struct kc_upstream *u);

/* Starts (or queues) a fetch. Returns NULL with *why set when it cannot even be queued
 * (KC_FETCH_QUEUE_FULL, KC_FETCH_NOMEM); the callback is then never called. */
struct kc_fetch *kc_upstream_fetch(struct kc_upstream *u, const struct kc_fetch_request *rq,
                                   kc_fetch_done_fn done, void *ctx, enum kc_fetch_error *why);

/* Abandons a fetch whose callback has not run yet: no callback, all memory freed. */
void kc_fetch_cancel(struct kc_fetch *f);

/* Counters for /metrics. */
struct kc_upstream_stats {
    unsigned long long started, completed, failed, queued_now, inflight_now, rejected;
};
void kc_upstream_stats(const struct kc_upstream *u, struct kc_upstream_stats *out);

const char *kc_fetch_error_name(enum kc_fetch_error e);

#endif
