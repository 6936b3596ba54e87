/* collector.c — the collection state machine: CONNECT (status or expand list) → JOLOKIA (one
 * bulk POST per distinct agent, in parallel) → BUILD (pure code in metrics.c) → done.
 * Jolokia failures degrade the document with warnings; Connect failures are errors (§5). */
#include "kc/collector.h"

#include "kc/config.h"
#include "kc/connect.h"
#include "kc/connect_model.h"
#include "kc/gateway.h"
#include "kc/jolokia.h"
#include "kc/log.h"
#include "kc/metrics.h"
#include "kc/stats.h"
#include "kc/timefmt.h"
#include "kc/upstream.h"
#include "kc/urlenc.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum collect_state { COLLECT_CONNECT, COLLECT_JOLOKIA, COLLECT_DONE };

/* One agent to read: several workers share one when the URL has no placeholders. */
struct agent_read {
    struct kc_collection *owner;
    char *worker_id;  /* the worker this agent answers for; NULL = all (single agent) */
    char *url;
    struct kc_fetch *fetch;
    struct kc_jmx_result *jmx;
    char *warning;    /* why this agent gave nothing */
    char *body;       /* a large answer waiting for its own loop turn to be parsed */
    size_t body_len;
};

/* Answers above this are parsed on a later loop turn, one per turn, so a 5,000-connector
 * collection never holds the loop for all its parsing at once. */
#define DEFER_PARSE_BYTES (64u << 10)

struct kc_collection {
    struct kc_gateway *gw;
    struct kc_cluster *cl;
    struct kc_collect_hooks hooks;
    enum collect_state state;
    int whole_cluster;
    char *name;                     /* single connector, or NULL */
    int64_t started_ns;
    struct kc_connect_call *call;
    struct kc_connector_status status;      /* single */
    struct kc_connector_list list;          /* whole cluster */
    struct kc_jolokia_plan plan;
    struct kc_jolokia_names *names;
    const char **name_ptrs;
    struct agent_read *agents;
    size_t agent_count, agents_pending;
    char *global_warning;           /* e.g. JOLOKIA_URL not configured */
    struct event *step;             /* 0 ms timer: the next deferred step, after the loop polls */
    int upstream_requests;
    kc_collect_done_fn done;
    void *ctx;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void collection_free(struct kc_collection *c)
{
    if (c->call)
        kc_connect_cancel(c->call);
    for (size_t i = 0; i < c->agent_count; i++) {
        struct agent_read *a = &c->agents[i];
        if (a->fetch)
            kc_fetch_cancel(a->fetch);
        kc_jolokia_result_free(a->jmx);
        free(a->body);
        free(a->worker_id);
        free(a->url);
        free(a->warning);
    }
    free(c->agents);
    kc_jolokia_names_free(c->names);
    free(c->name_ptrs);
    kc_jolokia_plan_clear(&c->plan);
    if (c->whole_cluster)
        kc_connect_model_list_clear(&c->list);
    else if (c->status.name)
        kc_connect_model_status_clear(&c->status);
    free(c->global_warning);
    if (c->step)
        event_free(c->step);
    free(c->name);
    free(c);
}

void kc_collection_cancel(struct kc_collection *c)
{
    if (c)
        collection_free(c);
}

static void finish(struct kc_collection *c, int status, json_t *doc, int degraded, int not_found)
{
    c->state = COLLECT_DONE;
    struct kc_collect_result r = {status, doc, degraded, not_found, c->upstream_requests};
    c->done(&r, c->ctx);
    json_decref(doc);
    collection_free(c);
}

/* The error bodies of spec §5: the seed's shape, a message saying what went wrong. */
static void fail(struct kc_collection *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct kc_collection *c, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    finish(c, status, json_pack("{s:s,s:s}", "error", "metrics_fetch_failed", "message", msg),
           0, status == 404);
}

static void fail_connect(struct kc_collection *c, const struct kc_fetch_result *r)
{
    switch (r->error) {
    case KC_FETCH_REFUSED:
        fail(c, 503, "kafka connect is unreachable: %s", "connection refused");
        return;
    case KC_FETCH_DNS:
        fail(c, 503, "kafka connect is unreachable: %s", "host name does not resolve");
        return;
    case KC_FETCH_QUEUE_FULL:
        fail(c, 503, "kafka connect is unreachable: %s", "too many requests waiting");
        return;
    case KC_FETCH_TIMEOUT:
        fail(c, 504, "kafka connect timed out: %s", r->error_text ? r->error_text : "timeout");
        return;
    default:
        fail(c, 502, "kafka connect answered garbage: %s",
             r->error_text ? r->error_text : kc_fetch_error_name(r->error));
        return;
    }
}

/* ---- BUILD ---- */

static json_t *warnings_json(struct kc_collection *c)
{
    json_t *w = json_array();
    if (c->global_warning)
        json_array_append_new(w, json_string(c->global_warning));
    for (size_t i = 0; i < c->agent_count; i++) {
        if (c->agents[i].warning)
            json_array_append_new(w, json_string(c->agents[i].warning));
        for (size_t k = 0; c->agents[i].jmx && k < kc_jolokia_result_warning_count(c->agents[i].jmx);
             k++)
            json_array_append_new(w, json_string(kc_jolokia_result_warning(c->agents[i].jmx, k)));
    }
    return w;
}

static struct kc_metrics_source *make_sources(struct kc_collection *c)
{
    struct kc_metrics_source *src = calloc(c->agent_count + 1, sizeof *src);
    if (!src)
        return NULL;
    for (size_t i = 0; i < c->agent_count; i++) {
        src[i].worker_id = c->agents[i].worker_id;
        src[i].jmx = c->agents[i].jmx;
        src[i].warning = c->agents[i].warning;
    }
    return src;
}

static void build_connector(struct kc_collection *c)
{
    struct kc_metrics_source *src = make_sources(c);
    if (!src) {
        fail(c, 503, "%s", "out of memory");
        return;
    }
    struct kc_metrics_input in = {
        .cluster = c->cl->cfg->name,
        .status = &c->status,
        .sources = src,
        .source_count = c->agent_count,
        .now_ms = kc_wall_ms(),
        .duration_ns = mono_ns() - c->started_ns,
    };
    struct kc_metrics_state *state =
        c->hooks.state_for ? c->hooks.state_for(c->hooks.owner, c->cl->cfg->name, c->status.name)
                           : NULL;
    struct kc_metrics_calc calc;
    json_t *doc = NULL;
    if (kc_metrics_compute(&in, state, &calc) == 0) {
        doc = kc_metrics_document(&in, &calc);
        if (c->global_warning && doc)
            json_array_insert_new(json_object_get(doc, "warnings"), 0,
                                  json_string(c->global_warning));
        if (doc && c->hooks.on_connector)
            c->hooks.on_connector(c->hooks.owner, c->cl->cfg->name, &in, &calc);
        kc_metrics_calc_clear(&calc);
    }
    free(src);
    if (!doc) {
        fail(c, 503, "%s", "out of memory");
        return;
    }
    int degraded = json_array_size(json_object_get(doc, "warnings")) > 0;
    finish(c, 200, doc, degraded, 0);
}

static const char *health_of(const struct kc_connector_status *st)
{
    if (st->state == KC_STATE_FAILED)
        return "failed";
    if (st->state == KC_STATE_PAUSED)
        return "paused";
    if (st->state == KC_STATE_STOPPED)
        return "stopped";
    for (size_t i = 0; i < st->task_count; i++)
        if (st->tasks[i].state == KC_STATE_FAILED)
            return "degraded";
    if (st->state == KC_STATE_RUNNING)
        return "running";
    return "other";
}

static json_t *workers_json(struct kc_collection *c)
{
    json_t *workers = json_object(); /* worker id → entry, then turned into an array */
    for (size_t i = 0; i < c->list.count; i++) {
        const struct kc_connector_status *st = &c->list.items[i];
        json_t *seen = json_object();
        for (size_t t = 0; t < st->task_count; t++) {
            const char *wid = st->tasks[t].worker_id;
            if (!wid || !*wid)
                continue;
            json_t *w = json_object_get(workers, wid);
            if (!w) {
                w = json_pack("{s:s,s:i,s:i}", "workerId", wid, "connectors", 0, "tasks", 0);
                json_object_set_new(workers, wid, w);
            }
            json_object_set_new(w, "tasks",
                                json_integer(json_integer_value(json_object_get(w, "tasks")) + 1));
            if (!json_object_get(seen, wid)) {
                json_object_set_new(seen, wid, json_true());
                json_object_set_new(
                    w, "connectors",
                    json_integer(json_integer_value(json_object_get(w, "connectors")) + 1));
            }
        }
        json_decref(seen);
    }
    json_t *out = json_array();
    const char *wid;
    json_t *w;
    json_object_foreach(workers, wid, w)
    {
        const struct agent_read *a = NULL;
        for (size_t i = 0; i < c->agent_count; i++)
            if (!c->agents[i].worker_id || strcmp(c->agents[i].worker_id, wid) == 0)
                a = &c->agents[i];
        const struct kc_jmx_jvm *jvm = a && a->jmx ? kc_jolokia_result_jvm(a->jmx) : NULL;
        json_object_set_new(w, "jolokia",
                            json_pack("{s:b,s:s?}", "reachable", a && a->jmx && !a->warning,
                                      "error", a ? a->warning : "not configured"));
        json_object_set_new(w, "heapUsedMB", jvm && (jvm->has & KC_JVM_HEAP)
                                                 ? json_real(jvm->heap_used / 1048576.0)
                                                 : json_null());
        json_object_set_new(w, "heapMaxMB", jvm && (jvm->has & KC_JVM_HEAP) && jvm->heap_max > 0
                                                ? json_real(jvm->heap_max / 1048576.0)
                                                : json_null());
        json_object_set_new(w, "cpuPercent", jvm && (jvm->has & KC_JVM_CPU)
                                                 ? json_real(jvm->process_cpu_load * 100.0)
                                                 : json_null());
        json_object_set_new(w, "threadCount", jvm && (jvm->has & KC_JVM_THREADS)
                                                  ? json_integer((json_int_t)jvm->thread_count)
                                                  : json_null());
        json_array_append(out, w);
    }
    json_decref(workers);
    return out;
}

static void build_cluster(struct kc_collection *c)
{
    struct kc_metrics_source *src = make_sources(c);
    json_t *rows = json_array();
    json_t *totals = json_pack("{s:I,s:i,s:i,s:i,s:i,s:i,s:i}", "connectors",
                               (json_int_t)c->list.count, "running", 0, "degraded", 0, "failed",
                               0, "paused", 0, "stopped", 0, "other", 0);
    if (!src || !rows || !totals) {
        free(src);
        json_decref(rows);
        json_decref(totals);
        fail(c, 503, "%s", "out of memory");
        return;
    }
    int64_t now = kc_wall_ms();
    for (size_t i = 0; i < c->list.count; i++) {
        const struct kc_connector_status *st = &c->list.items[i];
        struct kc_metrics_input in = {.cluster = c->cl->cfg->name,
                                      .status = st,
                                      .sources = src,
                                      .source_count = c->agent_count,
                                      .now_ms = now,
                                      .duration_ns = mono_ns() - c->started_ns};
        struct kc_metrics_state *state =
            c->hooks.state_for ? c->hooks.state_for(c->hooks.owner, c->cl->cfg->name, st->name)
                               : NULL;
        struct kc_metrics_calc calc;
        if (kc_metrics_compute(&in, state, &calc) != 0)
            continue;
        json_t *row = kc_metrics_summary_row(&in, &calc);
        if (row) {
            json_object_set_new(row, "class",
                                st->class_name ? json_string(st->class_name) : json_null());
            json_object_set_new(row, "health", json_string(health_of(st)));
            /* Compact per-task rows [id, state, workerId, records, bytes, errors] for the
             * cluster page and Prometheus; arrays keep 5,000 connectors' summary small. */
            json_t *tasks = json_array();
            for (size_t t = 0; tasks && t < calc.task_count; t++) {
                const struct kc_metrics_task *mt = &calc.tasks[t];
                json_array_append_new(
                    tasks, json_pack("[i,s,s,I,I,I]", mt->status->id,
                                     kc_connect_model_state_name(mt->status->state),
                                     mt->status->worker_id ? mt->status->worker_id : "",
                                     (json_int_t)mt->records, (json_int_t)mt->bytes,
                                     (json_int_t)mt->errors));
            }
            json_object_set_new(row, "taskList", tasks);
            json_array_append_new(rows, row);
        }
        if (c->hooks.on_connector)
            c->hooks.on_connector(c->hooks.owner, c->cl->cfg->name, &in, &calc);
        kc_metrics_calc_clear(&calc);
        const char *h = health_of(st);
        json_object_set_new(totals, h, json_integer(json_integer_value(json_object_get(totals, h)) + 1));
    }
    free(src);
    char ts[KC_TIMEFMT_RFC3339_SIZE];
    kc_timefmt_rfc3339_ms(now, ts, sizeof ts);
    json_t *warnings = warnings_json(c);
    int degraded = json_array_size(warnings) > 0;
    json_t *doc = json_pack("{s:s,s:s,s:I,s:b,s:o,s:o,s:o,s:o}", "cluster", c->cl->cfg->name,
                            "lastUpdated", ts, "collectionDuration",
                            (json_int_t)(mono_ns() - c->started_ns), "stale", 0, "warnings",
                            warnings, "workers", workers_json(c), "connectors", rows, "totals",
                            totals);
    if (!doc) {
        fail(c, 503, "%s", "out of memory");
        return;
    }
    finish(c, 200, doc, degraded, 0);
}

static void build(struct kc_collection *c)
{
    if (c->whole_cluster)
        build_cluster(c);
    else
        build_connector(c);
}

/* ---- JOLOKIA ---- */

static void on_step(evutil_socket_t fd, short what, void *arg);

static void set_agent_warning(struct agent_read *a, const char *what)
{
    char buf[300];
    snprintf(buf, sizeof buf, "jolokia %s: %s", a->worker_id ? a->worker_id : a->url, what);
    free(a->warning);
    a->warning = strdup(buf);
}

/* Parses one agent's bulk answer into a->jmx, or leaves a warning. Returns the outcome. */
static const char *parse_agent(struct kc_collection *c, struct agent_read *a, const char *body,
                               size_t len)
{
    a->jmx = kc_jolokia_result_new();
    char label[300];
    snprintf(label, sizeof label, "jolokia %s", a->worker_id ? a->worker_id : a->url);
    if (a->jmx && kc_jolokia_parse_bulk(&c->plan, body, len, label, c->names, a->jmx) == 0)
        return "ok";
    if (a->jmx && kc_jolokia_result_warning_count(a->jmx) > 0)
        a->warning = strdup(kc_jolokia_result_warning(a->jmx, 0));
    else
        set_agent_warning(a, "the answer is not a Jolokia bulk response");
    kc_jolokia_result_free(a->jmx);
    a->jmx = NULL;
    return "garbage";
}

static void arm_step(struct kc_collection *c)
{
    if (!c->step && !(c->step = evtimer_new(c->gw->base, on_step, c))) {
        on_step(-1, 0, c); /* no timer: do the work now rather than never */
        return;
    }
    struct timeval now = {0, 0};
    evtimer_add(c->step, &now);
}

/* One deferred step per loop turn: parse the next waiting answer, else build once every
 * answer is in. */
static void on_step(evutil_socket_t fd, short what, void *arg)
{
    struct kc_collection *c = arg;
    for (size_t i = 0; i < c->agent_count; i++) {
        struct agent_read *a = &c->agents[i];
        if (!a->body)
            continue;
        parse_agent(c, a, a->body, a->body_len);
        free(a->body);
        a->body = NULL;
        arm_step(c);
        return;
    }
    if (c->agents_pending == 0)
        build(c);
}

static void on_agent_done(const struct kc_fetch_result *r, void *arg)
{
    struct agent_read *a = arg;
    struct kc_collection *c = a->owner;
    a->fetch = NULL;
    const char *outcome = "ok";
    if (r->error != KC_FETCH_OK) {
        outcome = kc_fetch_error_name(r->error);
        set_agent_warning(a, r->error == KC_FETCH_REFUSED ? "connection refused"
                             : r->error == KC_FETCH_TIMEOUT ? "timed out"
                             : r->error_text ? r->error_text : outcome);
    } else if (r->status == 401 || r->status == 403) {
        outcome = "auth";
        set_agent_warning(a, r->status == 401
                                 ? "401 unauthorized (check JOLOKIA_USERNAME/JOLOKIA_PASSWORD)"
                                 : "403 forbidden by the agent's access policy");
    } else if (r->status != 200) {
        char what[64];
        snprintf(what, sizeof what, "HTTP %ld", r->status);
        outcome = "http_error";
        set_agent_warning(a, what);
    } else if (r->body_len > DEFER_PARSE_BYTES && (a->body = malloc(r->body_len + 1))) {
        memcpy(a->body, r->body, r->body_len);
        a->body[r->body_len] = '\0';
        a->body_len = r->body_len;
    } else {
        outcome = parse_agent(c, a, r->body, r->body_len);
    }
    kc_stats_upstream("jolokia", c->cl->cfg->name, outcome, r->total_ms / 1e3);
    c->agents_pending--;
    if (a->body) {
        arm_step(c);
        return;
    }
    if (c->agents_pending > 0)
        return;
    /* Everything is in. Answers still waiting to be parsed, and a whole-cluster build (heavy
     * too), get turns of their own. */
    int waiting = 0;
    for (size_t i = 0; i < c->agent_count; i++)
        waiting |= c->agents[i].body != NULL;
    if (waiting || c->whole_cluster)
        arm_step(c);
    else
        build(c);
}

static int add_agent(struct kc_collection *c, const char *worker_id, size_t cap)
{
    const char *tmpl = c->cl->cfg->jolokia_url;
    char *url = kc_jolokia_url_for_worker(tmpl, worker_id);
    if (!url)
        return 0; /* a worker id the template cannot use (empty, odd host): no metrics */
    for (size_t i = 0; i < c->agent_count; i++) {
        if (strcmp(c->agents[i].url, url) == 0) {
            /* Same agent for several workers: the template has no placeholders. */
            free(c->agents[i].worker_id);
            c->agents[i].worker_id = NULL;
            free(url);
            return 0;
        }
    }
    if (c->agent_count == cap) {
        free(url);
        return 0;
    }
    struct agent_read *a = &c->agents[c->agent_count++];
    memset(a, 0, sizeof *a);
    a->owner = c;
    a->url = url;
    a->worker_id = strdup(worker_id);
    return a->worker_id ? 0 : -1;
}

static void start_jolokia(struct kc_collection *c, const char **workers, size_t nworkers,
                          unsigned what)
{
    c->state = COLLECT_JOLOKIA;
    if (!c->cl->cfg->jolokia_url) {
        c->global_warning =
            strdup("jolokia: JOLOKIA_URL is not configured, so only task states are shown");
        build(c);
        return;
    }
    if (nworkers == 0) {
        build(c);
        return;
    }
    c->agents = calloc(nworkers, sizeof *c->agents);
    if (!c->agents || kc_jolokia_plan_init(&c->plan, c->name, what | KC_JOLOKIA_JVM) != 0) {
        fail(c, 503, "%s", "out of memory");
        return;
    }
    for (size_t i = 0; i < nworkers; i++)
        if (add_agent(c, workers[i], nworkers) != 0) {
            fail(c, 503, "%s", "out of memory");
            return;
        }
    size_t body_len = 0;
    char *body = kc_jolokia_plan_body(&c->plan, &body_len);
    if (!body) {
        fail(c, 503, "%s", "out of memory");
        return;
    }
    c->agents_pending = c->agent_count + 1; /* held while starting, so no early build */
    for (size_t i = 0; i < c->agent_count; i++) {
        struct agent_read *a = &c->agents[i];
        char pool[160];
        snprintf(pool, sizeof pool, "jolokia:%s", a->url);
        struct kc_fetch_request rq = {.method = "POST",
                                      .url = a->url,
                                      .body = body,
                                      .body_len = body_len,
                                      .content_type = "application/json",
                                      .endpoint = &c->cl->cfg->jolokia,
                                      .pool = pool};
        enum kc_fetch_error why;
        a->fetch = kc_upstream_fetch(c->gw->upstream, &rq, on_agent_done, a, &why);
        if (a->fetch) {
            c->upstream_requests++;
        } else {
            set_agent_warning(a, why == KC_FETCH_QUEUE_FULL ? "too many requests waiting"
                                                           : "out of memory");
            c->agents_pending--;
        }
    }
    free(body);
    if (--c->agents_pending == 0)
        build(c);
}

/* ---- CONNECT ---- */

/* Connect's own error body {"error_code": n, "message": …}, as its resources answer. */
static int is_connect_error(const char *body, size_t len)
{
    json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
    int yes = json_is_integer(json_object_get(root, "error_code"));
    json_decref(root);
    return yes;
}

/* Connect's 404 on the status route ("No status found for connector X") is also what a
 * connector created a moment ago answers until its first status record is read back (real
 * Connect 4.1: ~100 ms). Only the connector's own route says whether it exists. */
static void on_exists(const struct kc_fetch_result *r, void *arg)
{
    struct kc_collection *c = arg;
    c->call = NULL;
    if (r->error == KC_FETCH_OK && r->status == 200)
        fail(c, 503, "kafka connect has no status for connector %s yet", c->name);
    else
        fail(c, 404, "unexpected status fetching connector %s: 404", c->name);
}

static void confirm_gone(struct kc_collection *c)
{
    char *enc = kc_urlenc_segment(c->name);
    size_t n = enc ? strlen(enc) + 16 : 0;
    char *path = enc ? malloc(n) : NULL;
    enum kc_fetch_error why;
    if (path) {
        snprintf(path, n, "/connectors/%s", enc);
        c->call = kc_connect_request(c->gw, c->cl, "GET", path, NULL, 0, on_exists, c, &why);
    }
    free(enc);
    free(path);
    if (!c->call) {
        fail(c, 404, "unexpected status fetching connector %s: 404", c->name);
        return;
    }
    c->upstream_requests++;
}

static void on_status(const struct kc_fetch_result *r, void *arg)
{
    struct kc_collection *c = arg;
    c->call = NULL;
    if (r->error != KC_FETCH_OK) {
        fail_connect(c, r);
        return;
    }
    if (r->status != 200) {
        char msg[64];
        snprintf(msg, sizeof msg, "%ld", r->status);
        if (r->status == 404 && (c->whole_cluster || !is_connect_error(r->body, r->body_len)))
            /* A starting worker's web server answers 404 {"message":"Not Found",…} until its
             * REST resources are up: that says nothing about the connector (Connect's own
             * 404 has error_code), so no cache entry, alert or stream may take it for "gone". */
            fail(c, 503, "kafka connect is unreachable: %s",
                 "its REST API is not ready (HTTP 404 without a Connect error body)");
        else if (r->status == 404)
            confirm_gone(c);
        else
            fail(c, r->status == 409 ? 503 : 502, "unexpected status from kafka connect: %s",
                 msg);
        return;
    }
    if (!c->whole_cluster) {
        if (kc_connect_model_parse_status_text(r->body, r->body_len, &c->status) != 0) {
            memset(&c->status, 0, sizeof c->status);
            fail(c, 502, "kafka connect answered garbage: %s", "status is not a connector status");
            return;
        }
        const char *workers[64];
        size_t n = kc_connect_model_task_workers(&c->status, workers, 64);
        start_jolokia(c, workers, n < 64 ? n : 64, kc_jolokia_what_for_type(c->status.type));
        return;
    }
    json_t *map = json_loadb(r->body, r->body_len, 0, NULL);
    if (!json_is_object(map) || kc_connect_model_parse_list(map, &c->list) != 0) {
        json_decref(map);
        memset(&c->list, 0, sizeof c->list);
        fail(c, 502, "kafka connect answered garbage: %s", "the connector list is not a map");
        return;
    }
    json_decref(map);
    /* Distinct workers of every task, and the known names for client-id resolution. */
    c->name_ptrs = calloc(c->list.count + 1, sizeof *c->name_ptrs);
    json_t *seen = json_object();
    const char **workers = NULL;
    size_t nworkers = 0, cap = 0;
    for (size_t i = 0; c->name_ptrs && i < c->list.count; i++) {
        const struct kc_connector_status *st = &c->list.items[i];
        c->name_ptrs[i] = st->name;
        for (size_t t = 0; t < st->task_count; t++) {
            const char *wid = st->tasks[t].worker_id;
            if (!kc_connect_model_task_queryable(&st->tasks[t]) || json_object_get(seen, wid))
                continue;
            json_object_set_new(seen, wid, json_true());
            if (nworkers == cap) {
                cap = cap ? cap * 2 : 8;
                const char **grown = realloc(workers, cap * sizeof *workers);
                if (!grown)
                    break;
                workers = grown;
            }
            workers[nworkers++] = wid;
        }
    }
    json_decref(seen);
    c->names = c->name_ptrs ? kc_jolokia_names_new(c->name_ptrs, c->list.count) : NULL;
    if (!c->names) {
        free(workers);
        fail(c, 503, "%s", "out of memory");
        return;
    }
    start_jolokia(c, workers, nworkers, KC_JOLOKIA_SOURCE | KC_JOLOKIA_SINK | KC_JOLOKIA_TASKS);
    free(workers);
}

static struct kc_collection *collection_new(struct kc_gateway *gw, struct kc_cluster *cl,
                                            const struct kc_collect_hooks *hooks,
                                            kc_collect_done_fn done, void *ctx)
{
    struct kc_collection *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->gw = gw;
    c->cl = cl;
    if (hooks)
        c->hooks = *hooks;
    c->done = done;
    c->ctx = ctx;
    c->started_ns = mono_ns();
    c->state = COLLECT_CONNECT;
    return c;
}

static struct kc_collection *start_connect(struct kc_collection *c, const char *path)
{
    enum kc_fetch_error why;
    c->call = kc_connect_request(c->gw, c->cl, "GET", path, NULL, 0, on_status, c, &why);
    if (!c->call) {
        collection_free(c);
        return NULL;
    }
    c->upstream_requests++;
    return c;
}

struct kc_collection *kc_collect_connector(struct kc_gateway *gw, struct kc_cluster *cl,
                                           const char *name, const struct kc_collect_hooks *hooks,
                                           kc_collect_done_fn done, void *ctx)
{
    struct kc_collection *c = collection_new(gw, cl, hooks, done, ctx);
    if (!c)
        return NULL;
    c->name = strdup(name);
    char *enc = c->name ? kc_urlenc_segment(name) : NULL;
    if (!enc) {
        collection_free(c);
        return NULL;
    }
    size_t n = strlen(enc) + 32;
    char *path = malloc(n);
    if (!path) {
        free(enc);
        collection_free(c);
        return NULL;
    }
    snprintf(path, n, "/connectors/%s/status", enc);
    free(enc);
    struct kc_collection *started = start_connect(c, path);
    free(path);
    return started;
}

struct kc_collection *kc_collect_cluster(struct kc_gateway *gw, struct kc_cluster *cl,
                                         const struct kc_collect_hooks *hooks,
                                         kc_collect_done_fn done, void *ctx)
{
    struct kc_collection *c = collection_new(gw, cl, hooks, done, ctx);
    if (!c)
        return NULL;
    c->whole_cluster = 1;
    return start_connect(c, "/connectors?expand=status&expand=info");
}
