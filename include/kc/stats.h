/* kc/stats.h — the gateway's own counters and histograms, rendered by /metrics.
 * Label values must be static strings or short-lived copies; the table copies what it keeps. */
#ifndef KC_STATS_H
#define KC_STATS_H

#include <stddef.h>
#include <stdio.h>

enum kc_cache_event { KC_CACHE_HIT, KC_CACHE_MISS, KC_CACHE_COALESCED };

void kc_stats_request(const char *route, const char *method, int status, double seconds);
void kc_stats_upstream(const char *upstream, const char *cluster, const char *outcome,
                       double seconds);
void kc_stats_cache(const char *cache, enum kc_cache_event ev);
/* One batched refresh of watched connectors (kc/batch.h): how many, and what it cost. */
void kc_stats_batch(size_t connectors, size_t connect_requests, size_t jolokia_posts,
                    size_t split_posts);

/* Gauges owned by their modules, read at render time. */
struct kc_stats_gauges {
    size_t open_connections;
    size_t idle_connections;   /* open, between requests: they hold no HTTP parser */
    size_t inflight_requests;
    size_t stream_subscribers;  /* (connector or summary, stream) links */
    size_t stream_connections;  /* open SSE responses (one /api/stream carries many links) */
    size_t upstream_inflight;  /* requests to Connect/Jolokia on the wire now */
    size_t upstream_queued;    /* waiting for a per-host slot */
};

/* Appends the Prometheus text of every gateway metric to out (an open memstream). */
void kc_stats_render(FILE *out, const struct kc_stats_gauges *gauges);

#endif
