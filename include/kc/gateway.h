/* kc/gateway.h — the process-wide context every handler receives: the loop, the settings,
 * the upstream client and the runtime state of each configured cluster. */
#ifndef KC_GATEWAY_H
#define KC_GATEWAY_H

#include <evhtp/evhtp.h>
#include <stddef.h>
#include <stdint.h>

struct kc_config;
struct kc_cluster_cfg;
struct kc_upstream;
struct kc_metrics_service;
struct kc_redis;
struct kc_audit;
struct kc_identity;

/* Runtime state of one cluster. */
struct kc_cluster {
    const struct kc_cluster_cfg *cfg; /* borrowed from the config */
    size_t active_url;                /* failover: the Connect URL that answered last */
    char connect_pool[96];            /* upstream pool key for its Connect URLs */
};

struct kc_looplag;

struct kc_gateway {
    struct event_base *base;
    struct kc_config *cfg;            /* borrowed; outlives the gateway */
    struct kc_upstream *upstream;
    struct kc_cluster *clusters;
    size_t cluster_count;
    struct kc_metrics_service *metrics;
    struct kc_server *server;
    struct kc_redis *redis;           /* NULL = local mode (no KC_REDIS_URL) */
    struct kc_audit *audit;           /* the audit trail (audit.c); NULL only in unit tests */
    struct kc_looplag *looplag;       /* the loop-lag probe; NULL if it could not start */
    int64_t started_at_ms;            /* wall clock */
};

struct kc_cluster *kc_gateway_cluster(struct kc_gateway *gw, const char *name);
int64_t kc_wall_ms(void);
int64_t kc_mono_ms(void);

/* server.c */
struct kc_server;
/* Binds, prints `listening on HOST:PORT`, installs signal handlers. -1 on failure. */
struct kc_server *kc_server_start(struct kc_gateway *gw);
/* Runs until SIGTERM/SIGINT and the graceful drain are over. */
void kc_server_run(struct kc_server *srv);
void kc_server_free(struct kc_server *srv);
int kc_server_ready(const struct kc_server *srv);
size_t kc_server_connection_count(const struct kc_server *srv);
/* Of those, the ones between requests (their HTTP parser lent back to the pool). */
size_t kc_server_idle_connection_count(const struct kc_server *srv);

/* The request router (routes.c): called for every complete request. */
void kc_routes_dispatch(struct kc_gateway *gw, evhtp_request_t *req);
/* The caller of the /api request being dispatched (borrowed; valid only until the handler
 * returns — copy what an asynchronous reply needs), or NULL outside a dispatch. */
const struct kc_identity *kc_routes_identity(void);

#endif
