/* kc/metrics_service.h — connector metrics, cluster summaries, history and live streams:
 * collections from Connect + Jolokia, coalesced and cached per connector and per cluster. */
#ifndef KC_METRICS_SERVICE_H
#define KC_METRICS_SERVICE_H

#include <evhtp/evhtp.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct kc_gateway;
struct kc_cluster;
struct kc_metrics_service;

struct kc_metrics_service *kc_metrics_service_new(struct kc_gateway *gw);
/* Cancels every collection; call after the server freed its connections. */
void kc_metrics_service_free(struct kc_metrics_service *ms);
/* Graceful stop: ends every live stream so clients reconnect elsewhere. */
void kc_metrics_service_close_streams(struct kc_metrics_service *ms);

/* Each replies exactly once (now, or when the shared collection ends). `name` is decoded. */
void kc_metrics_serve_connector(struct kc_metrics_service *ms, evhtp_request_t *req,
                                struct kc_cluster *cl, const char *name);
void kc_metrics_serve_history(struct kc_metrics_service *ms, evhtp_request_t *req,
                              struct kc_cluster *cl, const char *name, int64_t since_ms);
/* Starts a Server-Sent Events stream; last_event_id is 0 when the client sent none. */
void kc_metrics_serve_stream(struct kc_metrics_service *ms, evhtp_request_t *req,
                             struct kc_cluster *cl, const char *name, uint64_t last_event_id);
/* One item of a multi-connector stream: a connector, or the cluster summary (name NULL). */
struct kc_stream_item {
    struct kc_cluster *cl; /* borrowed */
    const char *name;      /* borrowed, decoded; NULL = the cluster summary */
    uint64_t last_seq;     /* the client's last event id of this item; 0 = none */
};
/* Starts one Server-Sent Events stream over n distinct items (1 <= n; the caller bounds n):
 * each event is {"cluster","connector"|null,"status","doc"} and its id the comma list of every
 * item's last event id in this order. A deleted connector's item gets its error event and
 * leaves the stream; the stream ends when no item is left. */
void kc_metrics_serve_multi_stream(struct kc_metrics_service *ms, evhtp_request_t *req,
                                   const struct kc_stream_item *items, size_t n);
void kc_metrics_serve_summary(struct kc_metrics_service *ms, evhtp_request_t *req,
                              struct kc_cluster *cl);
/* Alerts of the cluster after a summary collection when the cached one is stale (rules are
 * evaluated at each collection); at once when no rules are configured. */
void kc_metrics_serve_alerts(struct kc_metrics_service *ms, evhtp_request_t *req,
                             struct kc_cluster *cl);
/* The alerts document of `cluster` as it stands (new reference; NULL on allocation failure):
 * {"cluster","rules","active","resolved",…}; with no rules {"cluster","active":[],
 * "resolved":[],"rules":0}. Collects nothing. */
json_t *kc_metrics_service_alerts(struct kc_metrics_service *ms, const char *cluster);
/* Fleet counters (all 0 in local mode), new reference: {"hits","leaseWins","leaseLosses",
 * "leaseExpiredWaits","published","received","applied","localFallbacks","errors"}. */
json_t *kc_metrics_service_fleet_json(const struct kc_metrics_service *ms);
/* Prometheus text of every cluster's connectors, from the summary cache (one collection per
 * TTL however many scrapers), followed by the gateway's own metrics. */
void kc_metrics_serve_prometheus(struct kc_metrics_service *ms, evhtp_request_t *req);

#endif
