/* kc/connect.h — calls to one cluster's Kafka Connect REST API with failover across its URLs.
 * A thin layer over kc_upstream: picks the URL, retries the next one when a worker is down. */
#ifndef KC_CONNECT_H
#define KC_CONNECT_H

#include "kc/upstream.h"

struct kc_gateway;
struct kc_cluster;
struct kc_connect_call;

/* Same contract as kc_fetch_done_fn: called once unless cancelled; the call is freed after. */
typedef void (*kc_connect_done_fn)(const struct kc_fetch_result *result, void *ctx);

/* path_and_query starts with '/' and is already encoded ("/connectors/a%20b/status").
 * body is copied. Returns NULL with *why set when nothing could be started. */
struct kc_connect_call *kc_connect_request(struct kc_gateway *gw, struct kc_cluster *cl,
                                           const char *method, const char *path_and_query,
                                           const char *body, size_t body_len,
                                           kc_connect_done_fn done, void *ctx,
                                           enum kc_fetch_error *why);
void kc_connect_cancel(struct kc_connect_call *call);

/* The gateway's status + {"error","message"} for a failed call (for proxy-style replies).
 * Returns the HTTP status and sets *code to a static error code string. */
int kc_connect_error_status(enum kc_fetch_error err, const char **code);

#endif
