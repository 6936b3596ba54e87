/* main.c — kconnect-console: load settings, build the gateway on one event loop, serve until
 * SIGTERM/SIGINT, drain, and free everything (ASan's leak check runs at exit in tests). */
#include "kc/audit.h"
#include "kc/config.h"
#include "kc/failinject.h"
#include "kc/gateway.h"
#include "kc/log.h"
#include "kc/metrics_service.h"
#include "kc/looplag.h"
#include "kc/redis.h"
#include "kc/upstream.h"

#include <curl/curl.h>
#include <jansson.h>
#include <event2/event.h>
#include <evhtp/evhtp.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Handed to libevhtp (which passes all three on to libevent) only so that it is not `malloc`
 * itself: both libraries then zero their small blocks with malloc + memset instead of calloc.
 * glibc's calloc never takes a block from the thread cache while free puts every one back
 * there, so each request's eight callocs (request, URI, header tables, evbuffers) went the
 * slow way in and out of the heap: 1,300 of a cached GET's 15,000 instructions. */
static void *heap_malloc(size_t size)
{
    return malloc(size);
}

/* glibc's allocator, tuned for one loop that must never stall (issue #14 §1). A big
 * collection frees hundreds of thousands of small parse nodes; with fastbins on, the next free
 * or allocation of a big block (a 10 MB summary, a list's item array) consolidates all of them
 * at once — measured 110 ms in one turn at 20,000 connectors. Without fastbins (tcache still
 * serves small sizes) that work is spread over the frees themselves. A fixed mmap threshold
 * keeps big buffers out of the heap, so freeing them returns pages at once and never walks it. */
static void tune_allocator(void)
{
    mallopt(M_MXFAST, 0);
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    evhtp_set_mem_functions(heap_malloc, realloc, free); /* before either library allocates */
}

int main(int argc, char **argv)
{
    tune_allocator();
    struct kc_config cfg;
    char err[512] = "";
    if (kc_config_load(&cfg, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "kconnect-console: %s\n", err);
        kc_config_free(&cfg);
        return 2;
    }
    kc_log_set_level((enum kc_log_level)cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "kconnect-console: libcurl failed to initialise\n");
        kc_config_free(&cfg);
        return 1;
    }

    int rc = 1;
    struct kc_gateway gw;
    memset(&gw, 0, sizeof gw);
    gw.cfg = &cfg;
    gw.started_at_ms = kc_wall_ms();
    /* The epoll changelist folds the read/write enable-disable pairs each request makes
     * (libevhtp pauses, resumes, arms the write event) into at most one epoll_ctl per fd and
     * loop turn. We never dup() descriptors, the one caveat libevent documents. */
    struct event_config *ev_cfg = event_config_new();
    if (ev_cfg) {
        event_config_set_flag(ev_cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        /* Timers on CLOCK_MONOTONIC (and a timerfd for sub-millisecond waits): by default
         * libevent reads the coarse clock, one kernel tick behind, so a 10 ms timer ran up to
         * 4 ms late on an idle loop and the loop-lag probe reported that as lag. */
        event_config_set_flag(ev_cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        /* A turn runs callbacks for at most ~1.5 ms, then the loop polls again and the rest go
         * on in the next turn: a burst of many small events (a thousand streams opening, their
         * first collections answering) otherwise ran 50–80 ms in one turn. The loop-lag probe
         * (priority 0) is exempt. One clock read per callback. */
        struct timeval turn = {0, KC_LOOP_TURN_US};
        event_config_set_max_dispatch_interval(ev_cfg, &turn, -1, 1);
        gw.base = event_base_new_with_config(ev_cfg);
        event_config_free(ev_cfg);
    }
    if (!gw.base)
        gw.base = event_base_new();
    /* Two priorities before any event exists (they default to the lower one): the loop-lag
     * probe alone runs first in its turn, so it measures the turn that delayed it, not also
     * the work queued beside it (looplag.c). */
    if (gw.base && event_base_priority_init(gw.base, KC_LOOP_PRIORITIES) != 0)
        goto out;
    gw.clusters = calloc(cfg.cluster_count, sizeof *gw.clusters);
    gw.cluster_count = cfg.cluster_count;
    if (!gw.base || !gw.clusters)
        goto out;
    for (size_t i = 0; i < cfg.cluster_count; i++) {
        gw.clusters[i].cfg = &cfg.clusters[i];
        snprintf(gw.clusters[i].connect_pool, sizeof gw.clusters[i].connect_pool, "connect:%s",
                 cfg.clusters[i].name);
    }
    gw.upstream = kc_upstream_new(gw.base, cfg.upstream_max_inflight, cfg.upstream_queue_limit);
    if (!gw.upstream)
        goto out;
    gw.looplag = kc_looplag_start(gw.base);
    /* Fleet mode only when configured: without KC_REDIS_URL no Redis code runs at all. */
    if (cfg.redis_url && !(gw.redis = kc_redis_new(gw.base, &cfg)))
        goto out;
    gw.audit = kc_audit_new(cfg.audit_max_records, gw.redis);
    if (!gw.audit)
        goto out;
    gw.metrics = kc_metrics_service_new(&gw);
    if (!gw.metrics)
        goto out;
    for (size_t i = 0; i < cfg.cluster_count; i++)
        KC_INFO("cluster", "{s:s,s:s,s:I,s:b}", "name", cfg.clusters[i].name, "connect_url",
                cfg.clusters[i].connect_urls[0], "connect_urls",
                (json_int_t)cfg.clusters[i].connect_url_count, "metrics",
                cfg.clusters[i].jolokia_url != NULL);
    if (!kc_server_start(&gw))
        goto out;
    kc_failinject_setup_from_env();
    kc_server_run(gw.server);
    KC_INFO("stopped", NULL);
    rc = 0;
out:
    /* Connections first: their pending requests release what they wait on. */
    kc_server_free(gw.server);
    kc_metrics_service_free(gw.metrics);
    /* After its users: pending Redis commands of theirs were cancelled when they were freed. */
    kc_redis_free(gw.redis);
    kc_audit_free(gw.audit); /* after Redis: its pending stream writes report to the trail */
    kc_looplag_free(gw.looplag);
    kc_upstream_free(gw.upstream);
    free(gw.clusters);
    if (gw.base)
        event_base_free(gw.base);
    curl_global_cleanup();
    kc_config_free(&cfg);
    return rc;
}
