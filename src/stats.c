/* stats.c — counters and latency histograms for the gateway itself, in small fixed tables.
 * Label sets are bounded by the route table and the configured clusters, so tables stay small. */
#include "kc/stats.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 512

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};
#define NBUCKETS (sizeof latency_buckets / sizeof latency_buckets[0])

struct histogram {
    unsigned long long buckets[NBUCKETS];
    unsigned long long count;
    double sum;
};

struct request_series {
    char route[48], method[8];
    int status;
    unsigned long long count;
};

struct route_latency {
    char route[48];
    struct histogram h;
};

struct upstream_series {
    char upstream[16], cluster[64], outcome[16];
    unsigned long long count;
};

struct upstream_latency {
    char upstream[16];
    struct histogram h;
};

struct cache_series {
    char cache[24];
    unsigned long long hits, misses, coalesced;
};

static struct request_series requests[MAX_SERIES];
static size_t nrequests;
static struct route_latency route_lat[64];
static size_t nroute_lat;
static struct upstream_series upstreams[128];
static size_t nupstreams;
static struct upstream_latency upstream_lat[8];
static size_t nupstream_lat;
static struct cache_series caches[8];
static size_t ncaches;
static struct {
    unsigned long long batches, connectors, connect_requests, jolokia_posts, split_posts;
} batch_totals;

static void observe(struct histogram *h, double v)
{
    for (size_t i = 0; i < NBUCKETS; i++)
        if (v <= latency_buckets[i])
            h->buckets[i]++;
    h->count++;
    h->sum += v;
}

static void copy_label(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

void kc_stats_request(const char *route, const char *method, int status, double seconds)
{
    route = route ? route : "other";
    size_t i;
    for (i = 0; i < nrequests; i++)
        if (requests[i].status == status && strcmp(requests[i].route, route) == 0 &&
            strcmp(requests[i].method, method) == 0)
            break;
    if (i == nrequests && nrequests < MAX_SERIES) {
        copy_label(requests[i].route, sizeof requests[i].route, route);
        copy_label(requests[i].method, sizeof requests[i].method, method);
        requests[i].status = status;
        nrequests++;
    }
    if (i < nrequests)
        requests[i].count++;

    for (i = 0; i < nroute_lat; i++)
        if (strcmp(route_lat[i].route, route) == 0)
            break;
    if (i == nroute_lat && nroute_lat < sizeof route_lat / sizeof route_lat[0])
        copy_label(route_lat[nroute_lat++].route, sizeof route_lat[i].route, route);
    if (i < nroute_lat)
        observe(&route_lat[i].h, seconds);
}

void kc_stats_upstream(const char *upstream, const char *cluster, const char *outcome,
                       double seconds)
{
    size_t i;
    for (i = 0; i < nupstreams; i++)
        if (strcmp(upstreams[i].upstream, upstream) == 0 &&
            strcmp(upstreams[i].cluster, cluster) == 0 &&
            strcmp(upstreams[i].outcome, outcome) == 0)
            break;
    if (i == nupstreams && nupstreams < sizeof upstreams / sizeof upstreams[0]) {
        copy_label(upstreams[i].upstream, sizeof upstreams[i].upstream, upstream);
        copy_label(upstreams[i].cluster, sizeof upstreams[i].cluster, cluster);
        copy_label(upstreams[i].outcome, sizeof upstreams[i].outcome, outcome);
        nupstreams++;
    }
    if (i < nupstreams)
        upstreams[i].count++;
    for (i = 0; i < nupstream_lat; i++)
        if (strcmp(upstream_lat[i].upstream, upstream) == 0)
            break;
    if (i == nupstream_lat && nupstream_lat < sizeof upstream_lat / sizeof upstream_lat[0])
        copy_label(upstream_lat[nupstream_lat++].upstream, sizeof upstream_lat[i].upstream,
                   upstream);
    if (i < nupstream_lat)
        observe(&upstream_lat[i].h, seconds);
}

void kc_stats_cache(const char *cache, enum kc_cache_event ev)
{
    size_t i;
    for (i = 0; i < ncaches; i++)
        if (strcmp(caches[i].cache, cache) == 0)
            break;
    if (i == ncaches) {
        if (ncaches == sizeof caches / sizeof caches[0])
            return;
        copy_label(caches[ncaches++].cache, sizeof caches[i].cache, cache);
    }
    if (ev == KC_CACHE_HIT)
        caches[i].hits++;
    else if (ev == KC_CACHE_MISS)
        caches[i].misses++;
    else
        caches[i].coalesced++;
}

/* Label values here come from our own tables (routes, cluster names of [A-Za-z0-9._-]),
 * so they need no escaping. */
static void render_histogram(FILE *out, const char *name, const char *label, const char *value,
                             const struct histogram *h)
{
    for (size_t b = 0; b < NBUCKETS; b++)
        fprintf(out, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", name, label, value,
                latency_buckets[b], h->buckets[b]);
    fprintf(out, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, label, value, h->count);
    fprintf(out, "%s_sum{%s=\"%s\"} %.9g\n", name, label, value, h->sum);
    fprintf(out, "%s_count{%s=\"%s\"} %llu\n", name, label, value, h->count);
}

void kc_stats_batch(size_t connectors, size_t connect_requests, size_t jolokia_posts,
                    size_t split_posts)
{
    batch_totals.batches++;
    batch_totals.connectors += connectors;
    batch_totals.connect_requests += connect_requests;
    batch_totals.jolokia_posts += jolokia_posts;
    batch_totals.split_posts += split_posts;
}

void kc_stats_render(FILE *out, const struct kc_stats_gauges *g)
{
    fputs("# HELP kconnect_http_requests_total HTTP requests answered, by route, method and "
          "status.\n# TYPE kconnect_http_requests_total counter\n",
          out);
    for (size_t i = 0; i < nrequests; i++)
        fprintf(out, "kconnect_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                requests[i].route, requests[i].method, requests[i].status, requests[i].count);
    fputs("# HELP kconnect_http_request_duration_seconds Time from request start to reply.\n"
          "# TYPE kconnect_http_request_duration_seconds histogram\n",
          out);
    for (size_t i = 0; i < nroute_lat; i++)
        render_histogram(out, "kconnect_http_request_duration_seconds", "route",
                         route_lat[i].route, &route_lat[i].h);
    fputs("# HELP kconnect_upstream_requests_total Requests to Connect and Jolokia, by outcome.\n"
          "# TYPE kconnect_upstream_requests_total counter\n",
          out);
    for (size_t i = 0; i < nupstreams; i++)
        fprintf(out,
                "kconnect_upstream_requests_total{upstream=\"%s\",cluster=\"%s\",outcome=\"%s\"} "
                "%llu\n",
                upstreams[i].upstream, upstreams[i].cluster, upstreams[i].outcome,
                upstreams[i].count);
    fputs("# HELP kconnect_upstream_request_duration_seconds Upstream request latency.\n"
          "# TYPE kconnect_upstream_request_duration_seconds histogram\n",
          out);
    for (size_t i = 0; i < nupstream_lat; i++)
        render_histogram(out, "kconnect_upstream_request_duration_seconds", "upstream",
                         upstream_lat[i].upstream, &upstream_lat[i].h);
    static const struct {
        const char *name, *help;
    } cache_families[] = {
        {"kconnect_cache_hits_total", "Answers served from the cache."},
        {"kconnect_cache_misses_total", "Requests that started a collection."},
        {"kconnect_cache_coalesced_total", "Requests that joined a collection in flight."},
    };
    for (size_t f = 0; f < 3; f++) {
        fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", cache_families[f].name,
                cache_families[f].help, cache_families[f].name);
        for (size_t i = 0; i < ncaches; i++) {
            unsigned long long v =
                f == 0 ? caches[i].hits : f == 1 ? caches[i].misses : caches[i].coalesced;
            fprintf(out, "%s{cache=\"%s\"} %llu\n", cache_families[f].name, caches[i].cache, v);
        }
    }
    fprintf(out,
            "# HELP kconnect_batch_refreshes_total Batched refreshes of watched connectors.\n"
            "# TYPE kconnect_batch_refreshes_total counter\nkconnect_batch_refreshes_total %llu\n"
            "# HELP kconnect_batch_connectors_total Connectors refreshed by batches.\n"
            "# TYPE kconnect_batch_connectors_total counter\nkconnect_batch_connectors_total %llu\n"
            "# HELP kconnect_batch_connect_requests_total Connect requests of batches (a status "
            "call each, or one expand list).\n"
            "# TYPE kconnect_batch_connect_requests_total counter\n"
            "kconnect_batch_connect_requests_total %llu\n"
            "# HELP kconnect_batch_jolokia_posts_total Jolokia bulk POSTs of batches.\n"
            "# TYPE kconnect_batch_jolokia_posts_total counter\n"
            "kconnect_batch_jolokia_posts_total %llu\n"
            "# HELP kconnect_batch_split_posts_total POSTs beyond one per agent: a worker's read "
            "split above the per-POST connector bound.\n"
            "# TYPE kconnect_batch_split_posts_total counter\n"
            "kconnect_batch_split_posts_total %llu\n",
            batch_totals.batches, batch_totals.connectors, batch_totals.connect_requests,
            batch_totals.jolokia_posts, batch_totals.split_posts);
    fprintf(out,
            "# HELP kconnect_open_connections Client connections open now.\n"
            "# TYPE kconnect_open_connections gauge\nkconnect_open_connections %zu\n"
            "# HELP kconnect_idle_connections Client connections between requests (holding no "
            "parser).\n"
            "# TYPE kconnect_idle_connections gauge\nkconnect_idle_connections %zu\n"
            "# HELP kconnect_inflight_requests Requests waiting on an upstream now.\n"
            "# TYPE kconnect_inflight_requests gauge\nkconnect_inflight_requests %zu\n"
            "# HELP kconnect_stream_subscribers Open metrics streams (SSE).\n"
            "# TYPE kconnect_stream_subscribers gauge\nkconnect_stream_subscribers %zu\n"
            "# HELP kconnect_stream_connections Open SSE connections (a multi-connector stream is "
            "one).\n"
            "# TYPE kconnect_stream_connections gauge\nkconnect_stream_connections %zu\n"
            "# HELP kconnect_upstream_inflight Requests to Connect and Jolokia on the wire now.\n"
            "# TYPE kconnect_upstream_inflight gauge\nkconnect_upstream_inflight %zu\n"
            "# HELP kconnect_upstream_queued Upstream requests waiting for a per-host slot.\n"
            "# TYPE kconnect_upstream_queued gauge\nkconnect_upstream_queued %zu\n",
            g->open_connections, g->idle_connections, g->inflight_requests, g->stream_subscribers,
            g->stream_connections, g->upstream_inflight, g->upstream_queued);
}
