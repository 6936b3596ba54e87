/* connect.c — Kafka Connect REST calls with failover over the comma-listed worker URLs.
 * Reads may fail over on timeout too; writes only when the worker was never reached. */
#include "kc/connect.h"

#include "kc/config.h"
#include "kc/gateway.h"
#include "kc/log.h"
#include "kc/stats.h"

#include <stdlib.h>
#include <string.h>

struct kc_connect_call {
    struct kc_gateway *gw;
    struct kc_cluster *cl;
    char *method, *path, *body;
    size_t body_len;
    size_t first_url, attempts;
    struct kc_fetch *fetch;
    kc_connect_done_fn done;
    void *ctx;
};

static void call_free(struct kc_connect_call *c)
{
    free(c->method);
    free(c->path);
    free(c->body);
    free(c);
}

static int start_attempt(struct kc_connect_call *c, enum kc_fetch_error *why);

static int should_fail_over(const struct kc_connect_call *c, enum kc_fetch_error err)
{
    if (c->attempts >= c->cl->cfg->connect_url_count)
        return 0;
    if (err == KC_FETCH_REFUSED || err == KC_FETCH_DNS)
        return 1;
    /* A timed-out write may have been applied: never repeat it elsewhere. */
    return err == KC_FETCH_TIMEOUT && strcmp(c->method, "GET") == 0;
}

static void on_attempt_done(const struct kc_fetch_result *r, void *arg)
{
    struct kc_connect_call *c = arg;
    c->fetch = NULL;
    const char *outcome = r->error == KC_FETCH_OK ? (r->status >= 500 ? "5xx" : "ok")
                                                  : kc_fetch_error_name(r->error);
    kc_stats_upstream("connect", c->cl->cfg->name, outcome, r->total_ms / 1e3);
    if (r->error != KC_FETCH_OK && should_fail_over(c, r->error)) {
        size_t failed = (c->first_url + c->attempts - 1) % c->cl->cfg->connect_url_count;
        KC_WARN("connect_failover", "{s:s,s:s,s:s}", "cluster", c->cl->cfg->name, "url",
                c->cl->cfg->connect_urls[failed], "error", kc_fetch_error_name(r->error));
        enum kc_fetch_error why;
        if (start_attempt(c, &why) == 0)
            return;
    }
    if (r->error == KC_FETCH_OK)
        c->cl->active_url = (c->first_url + c->attempts - 1) % c->cl->cfg->connect_url_count;
    c->done(r, c->ctx);
    call_free(c);
}

static int start_attempt(struct kc_connect_call *c, enum kc_fetch_error *why)
{
    const struct kc_cluster_cfg *cfg = c->cl->cfg;
    size_t idx = (c->first_url + c->attempts) % cfg->connect_url_count;
    c->attempts++;
    size_t n = strlen(cfg->connect_urls[idx]) + strlen(c->path) + 1;
    char *url = malloc(n);
    if (!url) {
        *why = KC_FETCH_NOMEM;
        return -1;
    }
    snprintf(url, n, "%s%s", cfg->connect_urls[idx], c->path);
    struct kc_fetch_request rq = {
        .method = c->method,
        .url = url,
        .body = c->body,
        .body_len = c->body_len,
        .endpoint = &cfg->connect,
        .pool = c->cl->connect_pool,
    };
    c->fetch = kc_upstream_fetch(c->gw->upstream, &rq, on_attempt_done, c, why);
    free(url);
    return c->fetch ? 0 : -1;
}

struct kc_connect_call *kc_connect_request(struct kc_gateway *gw, struct kc_cluster *cl,
                                           const char *method, const char *path_and_query,
                                           const char *body, size_t body_len,
                                           kc_connect_done_fn done, void *ctx,
                                           enum kc_fetch_error *why)
{
    struct kc_connect_call *c = calloc(1, sizeof *c);
    *why = KC_FETCH_NOMEM;
    if (!c)
        return NULL;
    c->gw = gw;
    c->cl = cl;
    c->done = done;
    c->ctx = ctx;
    c->first_url = cl->active_url;
    c->method = strdup(method);
    c->path = strdup(path_and_query);
    if (body) {
        c->body = malloc(body_len + 1);
        if (c->body) {
            memcpy(c->body, body, body_len);
            c->body[body_len] = '\0';
        }
        c->body_len = body_len;
    }
    if (!c->method || !c->path || (body && !c->body) || start_attempt(c, why) != 0) {
        call_free(c);
        return NULL;
    }
    return c;
}

void kc_connect_cancel(struct kc_connect_call *c)
{
    if (!c)
        return;
    if (c->fetch)
        kc_fetch_cancel(c->fetch);
    call_free(c);
}

int kc_connect_error_status(enum kc_fetch_error err, const char **code)
{
    switch (err) {
    case KC_FETCH_REFUSED:
    case KC_FETCH_DNS:
        *code = "connect_unreachable";
        return 503;
    case KC_FETCH_TIMEOUT:
        *code = "connect_timeout";
        return 504;
    case KC_FETCH_QUEUE_FULL:
        *code = "upstream_busy";
        return 503;
    case KC_FETCH_NOMEM:
        *code = "out_of_memory";
        return 503;
    default:
        *code = "bad_gateway";
        return 502;
    }
}
