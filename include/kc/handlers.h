/* kc/handlers.h — the request handlers behind the router, one file each in src/handlers/.
 * Each replies exactly once, synchronously or after waiting on an upstream. */
#ifndef KC_HANDLERS_H
#define KC_HANDLERS_H

#include <evhtp/evhtp.h>
#include <stddef.h>

struct kc_gateway;
struct kc_cluster;

#define KC_API_MAX_SEGMENTS 8

struct kc_identity;

/* A request under /api/{cluster}/…: the path after the cluster, split and decoded once. */
struct kc_api_path {
    struct kc_cluster *cluster;
    const struct kc_identity *who; /* the caller (kc/auth.h), for the duration of the call */
    char *seg[KC_API_MAX_SEGMENTS]; /* decoded segments (the router's, for the call) */
    size_t nseg;
};

/* handlers/proxy.c: every Kafka Connect route, passed through with masking. */
void kc_handle_proxy(struct kc_gateway *gw, evhtp_request_t *req, const struct kc_api_path *p);
/* handlers/gateway_info.c: /api/settings, /api/clusters, /api/gateway/health. */
void kc_handle_settings(struct kc_gateway *gw, evhtp_request_t *req);
void kc_handle_clusters(struct kc_gateway *gw, evhtp_request_t *req);
void kc_handle_gateway_health(struct kc_gateway *gw, evhtp_request_t *req);
/* handlers/metrics.c */
void kc_handle_connector_metrics(struct kc_gateway *gw, evhtp_request_t *req,
                                 const struct kc_api_path *p);
void kc_handle_connector_history(struct kc_gateway *gw, evhtp_request_t *req,
                                 const struct kc_api_path *p);
void kc_handle_connector_stream(struct kc_gateway *gw, evhtp_request_t *req,
                                const struct kc_api_path *p);
void kc_handle_cluster_metrics(struct kc_gateway *gw, evhtp_request_t *req,
                               const struct kc_api_path *p);
void kc_handle_alerts(struct kc_gateway *gw, evhtp_request_t *req, const struct kc_api_path *p);
/* handlers/stream.c: GET /api/stream, many connectors and summaries on one connection. */
void kc_handle_stream(struct kc_gateway *gw, evhtp_request_t *req);
/* handlers/access.c: GET /api/whoami (identity, roles per cluster) and GET /api/audit. */
void kc_handle_whoami(struct kc_gateway *gw, evhtp_request_t *req, const struct kc_identity *who);
void kc_handle_audit(struct kc_gateway *gw, evhtp_request_t *req, const struct kc_identity *who);
/* handlers/prometheus.c */
void kc_handle_prometheus(struct kc_gateway *gw, evhtp_request_t *req);

#endif
