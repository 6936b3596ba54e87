/* handlers/metrics.c — the metrics routes: argument parsing only; caching, coalescing and
 * collection live in metrics_service.c. */
#include "kc/gateway.h"
#include "kc/handlers.h"
#include "kc/http.h"
#include "kc/metrics_service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Value of a query parameter (first occurrence), borrowed; NULL if absent. */
static const char *query_param(evhtp_request_t *req, const char *key)
{
    if (!req->uri || !req->uri->query)
        return NULL;
    return evhtp_kv_find(req->uri->query, key);
}

static int parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

void kc_handle_connector_metrics(struct kc_gateway *gw, evhtp_request_t *req,
                                 const struct kc_api_path *p)
{
    kc_metrics_serve_connector(gw->metrics, req, p->cluster, p->seg[1]);
}

void kc_handle_connector_history(struct kc_gateway *gw, evhtp_request_t *req,
                                 const struct kc_api_path *p)
{
    int64_t since = 0;
    const char *s = query_param(req, "since");
    if (s && parse_i64(s, &since) != 0) {
        kc_reply_error(req, 400, "bad_request",
                       "since must be epoch milliseconds (a non-negative integer)");
        return;
    }
    kc_metrics_serve_history(gw->metrics, req, p->cluster, p->seg[1], since);
}

void kc_handle_connector_stream(struct kc_gateway *gw, evhtp_request_t *req,
                                const struct kc_api_path *p)
{
    int64_t last = 0;
    const char *h = kc_http_header(req, "Last-Event-ID");
    if (h && parse_i64(h, &last) != 0)
        last = 0; /* an id from another instance or garbage: start afresh */
    kc_metrics_serve_stream(gw->metrics, req, p->cluster, p->seg[1], (uint64_t)last);
}

void kc_handle_cluster_metrics(struct kc_gateway *gw, evhtp_request_t *req,
                               const struct kc_api_path *p)
{
    kc_metrics_serve_summary(gw->metrics, req, p->cluster);
}

void kc_handle_prometheus(struct kc_gateway *gw, evhtp_request_t *req)
{
    kc_metrics_serve_prometheus(gw->metrics, req);
}

void kc_handle_alerts(struct kc_gateway *gw, evhtp_request_t *req, const struct kc_api_path *p)
{
    kc_metrics_serve_alerts(gw->metrics, req, p->cluster);
}
