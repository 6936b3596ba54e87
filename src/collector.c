/* collector.c — the collection state machine: CONNECT (status or expand list) → JOLOKIA (one
 * bulk POST per distinct agent, in parallel) → BUILD (pure code in metrics.c) → done.
 * Jolokia failures degrade the document with warnings; Connect failures are errors (§5).
 *
 * Never hold the loop (issue #14 §1): a cluster summary's heavy steps run in slices of about
 * 2 ms (kc/slice.h) — LIST (the 4 MB expand map of 5,000 connectors), each big Jolokia answer
 * (~2 MB), BUILD (rows, alert rules), DUMP (row by row, the same bytes as json_dumps) and GZIP
 * (deflate, 64 KiB of input a step). A single connector's collection keeps its one-call path.
 * Parsing: a structure scan (jsplit.c) cuts the body into entries/beans and jansson parses each
 * small piece, measured on this 2-core machine (5,000 connectors, release, one call each):
 * expand map 4.2 MB — jansson json_loadb 43–185 ms (+5–125 ms to free the tree), the scan alone
 * 4–27 ms, scan + jansson per entry about jansson's total, yajl 2.1 tokenising with empty
 * callbacks 11–16 ms; Jolokia answer 2.2 MB — jansson 43–60 ms, scan 3.6–4.3 ms, yajl 5.3 ms.
 * yajl would save jansson's tree, but the model keeps each connector's config as a json_t and
 * the per-bean logic reads jansson values: a SAX model builder would rebuild both by hand and
 * add a dependency, while scan + jansson per piece reuses the tested parsers unchanged and its
 * pieces (one entry, one bean: ~1 KB) are far below a slice. Bodies arrive whole from curl
 * (Connect answers in ~20 ms), so feeding a parser as bytes arrive would not shorten much. */
#include "kc/collector.h"

#include "kc/config.h"
#include "kc/connect.h"
#include "kc/connect_model.h"
#include "kc/gateway.h"
#include "kc/http.h"
#include "kc/jolokia.h"
#include "kc/log.h"
#include "kc/metrics.h"
#include "kc/slice.h"
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
    char *body;       /* a large answer being parsed in slices (parser) */
    size_t body_len;
    struct kc_jolokia_parser *parser;
};

/* Bodies above this are parsed in slices; smaller ones (a single connector's) in one call. */
#define DEFER_PARSE_BYTES (64u << 10)
/* Work per step of a slice: bytes scanned/parsed, rows built or dumped, bytes compressed. */
#define PARSE_PIECE (16u << 10)
#define BUILD_ROWS 16
#define DUMP_ROWS 32
#define WORKER_SCAN_ROWS 512
#define GZIP_PIECE (64u << 10)

enum heavy_stage {
    STAGE_NONE, STAGE_LIST, STAGE_LIST_DONE, STAGE_WORKERS, STAGE_AGENTS, STAGE_BUILD,
    STAGE_DUMP, STAGE_GZIP, STAGE_FINISH
};

/* STAGE_WORKERS: the list is read; the workers its tasks run on and the name index for
 * client-id resolution are gathered a piece at a time. */
struct worker_scan {
    json_t *seen;          /* worker ids met so far */
    const char **workers;  /* distinct, in first-met order; borrowed from the list */
    size_t count, cap, next;
};

/* The whole-cluster build in progress (STAGE_BUILD .. STAGE_GZIP). */
struct cluster_build {
    struct kc_metrics_source *src;
    json_t *rows, *totals, *workers; /* workers: id → entry, in first-seen order */
    int64_t now;
    size_t next;                     /* the next connector (BUILD) or row (DUMP) */
    json_t *doc;                     /* the finished summary */
    int degraded;
    char *text;                      /* DUMP: the serialised document so far */
    size_t len, cap;
    struct kc_gzip_job *gz;
    int gz_rc;                       /* how the compression ended: 0 done, -1 failed */
};

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
    struct worker_scan scan;
    struct agent_read *agents;
    size_t agent_count, agents_pending;
    char *global_warning;           /* e.g. JOLOKIA_URL not configured */
    struct kc_slicer *slicer;       /* runs the heavy stages in slices across loop turns */
    enum heavy_stage stage;
    char *list_body;                /* STAGE_LIST: the expand map being parsed */
    int list_rc;                    /* STAGE_LIST_DONE: how the parse ended */
    struct kc_connect_list_parser *list_parser;
    struct cluster_build *cb;
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

/* A parsed list freed in slices (5,000 connectors' statuses are 20+ ms of free()). */
struct list_reaper {
    struct kc_connector_list list;
    size_t next;
};

static int list_reap_step(void *arg)
{
    struct list_reaper *r = arg;
    for (int k = 0; k < 128 && r->next < r->list.count; k++)
        kc_connect_model_status_clear(&r->list.items[r->next++]);
    if (r->next < r->list.count)
        return 1;
    free(r->list.items);
    free(r);
    return 0;
}

void kc_collect_list_dispose(struct event_base *base, struct kc_connector_list *list)
{
    struct list_reaper *r = list->count > 512 ? calloc(1, sizeof *r) : NULL;
    if (!r) {
        kc_connect_model_list_clear(list);
        return;
    }
    r->list = *list;
    memset(list, 0, sizeof *list);
    kc_slice_dispose(base, list_reap_step, r);
}

/* The agents' results of a big collection, freed one per slice step. */
struct jmx_reaper {
    struct kc_jmx_result **jmx;
    size_t njmx;
};

static int jmx_reap_step(void *arg)
{
    struct jmx_reaper *r = arg;
    if (r->njmx > 0) {
        kc_jolokia_result_free(r->jmx[--r->njmx]);
        return 1;
    }
    free(r->jmx);
    free(r);
    return 0;
}

static void reap_later(struct kc_collection *c)
{
    kc_collect_list_dispose(c->gw->base, &c->list);
    struct jmx_reaper *r = calloc(1, sizeof *r);
    if (!r || !(r->jmx = calloc(c->agent_count + 1, sizeof *r->jmx))) {
        free(r);
        return; /* freed now, by the caller */
    }
    for (size_t i = 0; i < c->agent_count; i++) {
        r->jmx[r->njmx++] = c->agents[i].jmx;
        c->agents[i].jmx = NULL;
    }
    kc_slice_dispose(c->gw->base, jmx_reap_step, r);
}

static void collection_free(struct kc_collection *c)
{
    if (c->whole_cluster && c->list.count > 512)
        reap_later(c);
    if (c->call)
        kc_connect_cancel(c->call);
    for (size_t i = 0; i < c->agent_count; i++) {
        struct agent_read *a = &c->agents[i];
        if (a->fetch)
            kc_fetch_cancel(a->fetch);
        kc_jolokia_parser_free(a->parser);
        kc_jolokia_result_free(a->jmx);
        free(a->body);
        free(a->worker_id);
        free(a->url);
        free(a->warning);
    }
    free(c->agents);
    kc_jolokia_names_free(c->names);
    json_decref(c->scan.seen);
    free(c->scan.workers);
    kc_jolokia_plan_clear(&c->plan);
    if (c->whole_cluster)
        kc_connect_model_list_clear(&c->list);
    else if (c->status.name)
        kc_connect_model_status_clear(&c->status);
    free(c->global_warning);
    kc_slicer_free(c->slicer);
    free(c->list_body);
    kc_connect_model_list_parser_free(c->list_parser);
    if (c->cb) {
        free(c->cb->src);
        json_decref(c->cb->rows);
        json_decref(c->cb->totals);
        json_decref(c->cb->workers);
        kc_slice_json_decref(c->gw->base, c->cb->doc);
        free(c->cb->text);
        kc_gzip_job_free(c->cb->gz);
        free(c->cb);
    }
    free(c->name);
    free(c);
}

void kc_collection_cancel(struct kc_collection *c)
{
    if (c)
        collection_free(c);
}

static void finish_text(struct kc_collection *c, int status, json_t *doc, int degraded,
                        int not_found, struct kc_collect_text *text)
{
    c->state = COLLECT_DONE;
    struct kc_collect_result r = {status,
                                  doc,
                                  degraded,
                                  not_found,
                                  c->upstream_requests,
                                  text,
                                  c->cb && status == 200 ? c->cb->now : 0};
    c->done(&r, c->ctx);
    kc_slice_json_decref(c->gw->base, doc);
    if (text) {
        free(text->body);
        free(text->gz);
    }
    collection_free(c);
}

static void finish(struct kc_collection *c, int status, json_t *doc, int degraded, int not_found)
{
    finish_text(c, status, doc, degraded, not_found, NULL);
}

/* Runs the heavy stages from the next loop turn. */
static void kick(struct kc_collection *c)
{
    kc_slicer_start(c->slicer);
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

/* Counts one connector's tasks and distinct workers into `workers` (worker id → entry, in
 * first-seen order). */
static void count_workers(json_t *workers, const struct kc_connector_status *st)
{
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
        int seen = 0;
        for (size_t k = 0; k < t && !seen; k++)
            seen = st->tasks[k].worker_id && strcmp(st->tasks[k].worker_id, wid) == 0;
        if (!seen)
            json_object_set_new(
                w, "connectors",
                json_integer(json_integer_value(json_object_get(w, "connectors")) + 1));
    }
}

/* The "workers" array from the counted entries (borrowed `workers`). */
static json_t *workers_json(struct kc_collection *c, json_t *workers)
{
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
    return out;
}

static void build_cluster_begin(struct kc_collection *c)
{
    struct cluster_build *cb = c->cb = calloc(1, sizeof *c->cb);
    if (cb) {
        cb->src = make_sources(c);
        cb->rows = json_array();
        cb->totals = json_pack("{s:I,s:i,s:i,s:i,s:i,s:i,s:i}", "connectors",
                               (json_int_t)c->list.count, "running", 0, "degraded", 0, "failed",
                               0, "paused", 0, "stopped", 0, "other", 0);
        cb->workers = json_object();
    }
    if (!cb || !cb->src || !cb->rows || !cb->totals || !cb->workers) {
        fail(c, 503, "%s", "out of memory");
        return;
    }
    cb->now = kc_wall_ms();
    c->stage = STAGE_BUILD;
    kick(c);
}

/* One connector's row (and its alert rules, history sample, worker counts). */
static void build_row(struct kc_collection *c, const struct kc_connector_status *st)
{
    struct cluster_build *cb = c->cb;
    count_workers(cb->workers, st);
    struct kc_metrics_input in = {.cluster = c->cl->cfg->name,
                                  .status = st,
                                  .sources = cb->src,
                                  .source_count = c->agent_count,
                                  .now_ms = cb->now,
                                  .duration_ns = mono_ns() - c->started_ns};
    struct kc_metrics_state *state =
        c->hooks.state_for ? c->hooks.state_for(c->hooks.owner, c->cl->cfg->name, st->name)
                           : NULL;
    struct kc_metrics_calc calc;
    if (kc_metrics_compute(&in, state, &calc) != 0)
        return;
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
        json_array_append_new(cb->rows, row);
    }
    if (c->hooks.on_connector)
        c->hooks.on_connector(c->hooks.owner, c->cl->cfg->name, &in, &calc);
    kc_metrics_calc_clear(&calc);
    const char *h = health_of(st);
    json_object_set_new(cb->totals, h,
                        json_integer(json_integer_value(json_object_get(cb->totals, h)) + 1));
}

static int text_append(struct cluster_build *cb, const char *s, size_t n)
{
    if (cb->len + n + 1 > cb->cap) {
        size_t ncap = cb->cap ? cb->cap : 64u << 10;
        while (ncap < cb->len + n + 1)
            ncap *= 2;
        char *nt = realloc(cb->text, ncap);
        if (!nt)
            return -1;
        cb->text = nt;
        cb->cap = ncap;
    }
    memcpy(cb->text + cb->len, s, n);
    cb->len += n;
    cb->text[cb->len] = '\0';
    return 0;
}

/* Appends json_dumps(v); the same bytes the whole document's dump would hold there. */
static int dump_append(struct cluster_build *cb, const json_t *v, int drop_last)
{
    char *t = json_dumps(v, KC_COLLECT_DUMP_FLAGS);
    if (!t)
        return -1;
    int rc = text_append(cb, t, strlen(t) - (drop_last ? 1 : 0));
    free(t);
    return rc;
}

static int build_step(struct kc_collection *c)
{
    struct cluster_build *cb = c->cb;
    for (int k = 0; k < BUILD_ROWS && cb->next < c->list.count; k++)
        build_row(c, &c->list.items[cb->next++]);
    if (cb->next < c->list.count)
        return 1;
    free(cb->src);
    cb->src = NULL;
    char ts[KC_TIMEFMT_RFC3339_SIZE];
    kc_timefmt_rfc3339_ms(cb->now, ts, sizeof ts);
    json_t *warnings = warnings_json(c);
    cb->degraded = json_array_size(warnings) > 0;
    json_t *rows = cb->rows, *totals = cb->totals;
    cb->rows = cb->totals = NULL;
    cb->doc = json_pack("{s:s,s:s,s:I,s:b,s:o,s:o,s:o,s:o}", "cluster", c->cl->cfg->name,
                        "lastUpdated", ts, "collectionDuration",
                        (json_int_t)(mono_ns() - c->started_ns), "stale", 0, "warnings",
                        warnings, "workers", workers_json(c, cb->workers), "connectors", rows,
                        "totals", totals);
    /* DUMP: the members before "connectors" in one piece, then the rows, then "totals". */
    json_t *head = cb->doc ? json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "cluster",
                                       json_object_get(cb->doc, "cluster"), "lastUpdated",
                                       json_object_get(cb->doc, "lastUpdated"),
                                       "collectionDuration",
                                       json_object_get(cb->doc, "collectionDuration"), "stale",
                                       json_object_get(cb->doc, "stale"), "warnings",
                                       json_object_get(cb->doc, "warnings"), "workers",
                                       json_object_get(cb->doc, "workers"))
                           : NULL;
    int rc = head ? dump_append(cb, head, 1) : -1;
    json_decref(head);
    if (rc < 0 || text_append(cb, ",\"connectors\":[", 15) < 0) {
        fail(c, 503, "%s", "out of memory");
        return 0;
    }
    cb->next = 0;
    c->stage = STAGE_DUMP;
    return 1;
}

static int dump_step(struct kc_collection *c)
{
    struct cluster_build *cb = c->cb;
    json_t *rows = json_object_get(cb->doc, "connectors");
    size_t n = json_array_size(rows);
    for (int k = 0; k < DUMP_ROWS && cb->next < n; k++, cb->next++)
        if ((cb->next > 0 && text_append(cb, ",", 1) < 0) ||
            dump_append(cb, json_array_get(rows, cb->next), 0) < 0) {
            fail(c, 503, "%s", "out of memory");
            return 0;
        }
    if (cb->next < n)
        return 1;
    if (text_append(cb, "],\"totals\":", 11) < 0 ||
        dump_append(cb, json_object_get(cb->doc, "totals"), 0) < 0 ||
        text_append(cb, "}", 1) < 0) {
        fail(c, 503, "%s", "out of memory");
        return 0;
    }
    /* As kc_doc_new_take would: zlib's fastest level for big documents. A failed compression
     * only means no gzip form. */
    cb->gz = cb->len > 1024 ? kc_gzip_job_new(cb->text, cb->len,
                                              cb->len > (256u << 10) ? KC_GZIP_FASTEST
                                                                     : KC_GZIP_FAST)
                            : NULL;
    c->stage = STAGE_GZIP;
    return 1;
}

static int gzip_step(struct kc_collection *c)
{
    struct cluster_build *cb = c->cb;
    int rc = cb->gz ? kc_gzip_job_step(cb->gz, GZIP_PIECE) : -1;
    if (rc == 1)
        return 1;
    cb->gz_rc = rc;
    c->stage = STAGE_FINISH;
    return KC_SLICE_NEXT_TURN; /* handing on (replies, alerts, the fleet) gets a turn of its own */
}

static int finish_step(struct kc_collection *c)
{
    struct cluster_build *cb = c->cb;
    int rc = cb->gz_rc;
    struct kc_collect_text text = {.body = cb->text, .len = cb->len};
    if (rc == 0)
        text.gz = kc_gzip_job_take(cb->gz, &text.gz_len);
    cb->text = NULL;
    json_t *doc = cb->doc;
    cb->doc = NULL;
    finish_text(c, 200, doc, cb->degraded, 0, &text);
    return 0;
}

static void build(struct kc_collection *c)
{
    if (c->whole_cluster)
        build_cluster_begin(c);
    else
        build_connector(c);
}

/* ---- JOLOKIA ---- */

static int on_slice(void *arg);

const char *kc_collect_agent_failure(const struct kc_fetch_result *r, char *buf, size_t cap,
                                     const char **outcome)
{
    *outcome = "ok";
    if (r->error != KC_FETCH_OK) {
        *outcome = kc_fetch_error_name(r->error);
        return r->error == KC_FETCH_REFUSED   ? "connection refused"
               : r->error == KC_FETCH_TIMEOUT ? "timed out"
               : r->error_text                ? r->error_text
                                              : *outcome;
    }
    if (r->status == 401 || r->status == 403) {
        *outcome = "auth";
        return r->status == 401 ? "401 unauthorized (check JOLOKIA_USERNAME/JOLOKIA_PASSWORD)"
                                : "403 forbidden by the agent's access policy";
    }
    if (r->status != 200) {
        *outcome = "http_error";
        snprintf(buf, cap, "HTTP %ld", r->status);
        return buf;
    }
    return NULL;
}

static void set_agent_warning(struct agent_read *a, const char *what)
{
    char buf[300];
    snprintf(buf, sizeof buf, "jolokia %s: %s", a->worker_id ? a->worker_id : a->url, what);
    free(a->warning);
    a->warning = strdup(buf);
}

static void agent_label(const struct agent_read *a, char *label, size_t cap)
{
    snprintf(label, cap, "jolokia %s", a->worker_id ? a->worker_id : a->url);
}

/* After a parse into a->jmx returned rc: keeps it, or leaves a warning. Returns the outcome. */
static const char *agent_parsed(struct agent_read *a, int rc)
{
    if (a->jmx && rc == 0)
        return "ok";
    if (a->jmx && kc_jolokia_result_warning_count(a->jmx) > 0)
        a->warning = strdup(kc_jolokia_result_warning(a->jmx, 0));
    else
        set_agent_warning(a, "the answer is not a Jolokia bulk response");
    kc_jolokia_result_free(a->jmx);
    a->jmx = NULL;
    return "garbage";
}

/* Parses one agent's bulk answer into a->jmx, or leaves a warning. Returns the outcome. */
static const char *parse_agent(struct kc_collection *c, struct agent_read *a, const char *body,
                               size_t len)
{
    a->jmx = kc_jolokia_result_new();
    char label[300];
    agent_label(a, label, sizeof label);
    int rc = a->jmx ? kc_jolokia_parse_bulk(&c->plan, body, len, label, c->names, a->jmx) : -1;
    return agent_parsed(a, rc);
}

/* A big answer: copied and parsed in slices. 0 when that started, -1 to parse it now. */
static int start_agent_parse(struct kc_collection *c, struct agent_read *a,
                             const struct kc_fetch_result *r)
{
    if (!c->slicer && !(c->slicer = kc_slicer_new(c->gw->base, on_slice, c)))
        return -1;
    char label[300];
    agent_label(a, label, sizeof label);
    if ((a->jmx = kc_jolokia_result_new()) && (a->body = kc_fetch_take_body(r))) {
        a->body_len = r->body_len;
        a->parser = kc_jolokia_parser_new(&c->plan, a->body, a->body_len, label, c->names, a->jmx);
    }
    if (a->parser)
        return 0;
    kc_jolokia_result_free(a->jmx);
    a->jmx = NULL;
    return -1; /* a->body, if taken, is still r->body, parsed now; freed with the agent */
}

/* STAGE_AGENTS: parses the big answers that are in, one slice of one at a time; once every
 * answer is in and parsed, builds. */
static int agents_step(struct kc_collection *c)
{
    for (size_t i = 0; i < c->agent_count; i++) {
        struct agent_read *a = &c->agents[i];
        if (!a->parser)
            continue;
        int rc = kc_jolokia_parser_step(a->parser, PARSE_PIECE);
        if (rc == 1)
            return 1;
        kc_jolokia_parser_free(a->parser);
        a->parser = NULL;
        free(a->body);
        a->body = NULL;
        agent_parsed(a, rc);
        return 1;
    }
    if (c->agents_pending > 0)
        return 0; /* the other answers are on their way: on_agent_done kicks again */
    c->stage = STAGE_NONE;
    build(c);
    return 0;
}

static void on_agent_done(const struct kc_fetch_result *r, void *arg)
{
    struct agent_read *a = arg;
    struct kc_collection *c = a->owner;
    a->fetch = NULL;
    const char *outcome;
    char what[64];
    const char *failure = kc_collect_agent_failure(r, what, sizeof what, &outcome);
    if (failure) {
        set_agent_warning(a, failure);
    } else if (r->body_len <= DEFER_PARSE_BYTES || start_agent_parse(c, a, r) != 0) {
        outcome = parse_agent(c, a, r->body, r->body_len);
    }
    kc_stats_upstream("jolokia", c->cl->cfg->name, outcome, r->total_ms / 1e3);
    c->agents_pending--;
    int parsing = 0;
    for (size_t i = 0; i < c->agent_count; i++)
        parsing |= c->agents[i].parser != NULL;
    if (parsing) {
        c->stage = STAGE_AGENTS;
        kick(c);
        return;
    }
    if (c->agents_pending > 0)
        return;
    build(c); /* a whole-cluster build starts on a turn of its own */
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

static void after_list(struct kc_collection *c);
static int workers_step(struct kc_collection *c);

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
    if (r->body_len > DEFER_PARSE_BYTES) {
        /* LIST in slices (kc_collect_cluster made the slicer). */
        if ((c->list_body = kc_fetch_take_body(r)))
            c->list_parser = kc_connect_model_list_parser_new(c->list_body, r->body_len);
        if (!c->list_parser) {
            fail(c, 503, "%s", "out of memory");
            return;
        }
        c->stage = STAGE_LIST;
        kick(c);
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
    after_list(c);
}

/* The list is read: the Jolokia reads of every worker its tasks run on. Big lists go on in
 * STAGE_WORKERS (5,000 connectors cost a couple of ms here, 20,000 four times that). */
static void after_list(struct kc_collection *c)
{
    struct worker_scan *ws = &c->scan;
    ws->seen = json_object();
    c->names = kc_jolokia_names_sized(c->list.count);
    if (!ws->seen || !c->names) {
        fail(c, 503, "%s", "out of memory");
        return;
    }
    if (c->list.count > WORKER_SCAN_ROWS && c->slicer) {
        c->stage = STAGE_WORKERS;
        kick(c);
        return;
    }
    while (workers_step(c) == 1)
        ;
}

static int workers_oom(struct kc_collection *c)
{
    c->stage = STAGE_NONE;
    fail(c, 503, "%s", "out of memory");
    return 0;
}

/* Up to WORKER_SCAN_ROWS connectors: their names into the index, their tasks' workers. When
 * the list is done, the Jolokia reads start (and the step hands on: 0). */
static int workers_step(struct kc_collection *c)
{
    struct worker_scan *ws = &c->scan;
    size_t end = c->list.count - ws->next < WORKER_SCAN_ROWS ? c->list.count
                                                              : ws->next + WORKER_SCAN_ROWS;
    for (; ws->next < end; ws->next++) {
        const struct kc_connector_status *st = &c->list.items[ws->next];
        kc_jolokia_names_add(c->names, st->name);
        for (size_t t = 0; t < st->task_count; t++) {
            const char *wid = st->tasks[t].worker_id;
            if (!kc_connect_model_task_queryable(&st->tasks[t]) || json_object_get(ws->seen, wid))
                continue;
            if (ws->count == ws->cap) {
                size_t cap = ws->cap ? ws->cap * 2 : 8;
                const char **grown = realloc(ws->workers, cap * sizeof *grown);
                if (!grown)
                    return workers_oom(c);
                ws->workers = grown;
                ws->cap = cap;
            }
            if (json_object_set_new_nocheck(ws->seen, wid, json_true()) != 0)
                return workers_oom(c);
            ws->workers[ws->count++] = wid;
        }
    }
    if (ws->next < c->list.count)
        return 1;
    c->stage = STAGE_NONE;
    start_jolokia(c, ws->workers, ws->count,
                  KC_JOLOKIA_SOURCE | KC_JOLOKIA_SINK | KC_JOLOKIA_TASKS);
    return 0;
}

/* STAGE_LIST: the expand map, a piece per step. */
static int list_step(struct kc_collection *c)
{
    int rc = kc_connect_model_list_parser_step(c->list_parser, PARSE_PIECE);
    if (rc == 1)
        return 1;
    c->list_rc = rc;
    c->stage = STAGE_LIST_DONE;
    return KC_SLICE_NEXT_TURN; /* sorting, indexing and the Jolokia requests: a turn of their own */
}

static int list_done_step(struct kc_collection *c)
{
    int rc = c->list_rc;
    if (rc == 0)
        kc_connect_model_list_parser_take(c->list_parser, &c->list);
    kc_connect_model_list_parser_free(c->list_parser);
    c->list_parser = NULL;
    free(c->list_body);
    c->list_body = NULL;
    c->stage = STAGE_NONE;
    if (rc < 0)
        fail(c, 502, "kafka connect answered garbage: %s", "the connector list is not a map");
    else
        after_list(c);
    return 0;
}

/* One unit of the heavy stage in progress (kc/slice.h: 1 = more, 0 = handed on). */
static int on_slice(void *arg)
{
    struct kc_collection *c = arg;
    switch (c->stage) {
    case STAGE_LIST: return list_step(c);
    case STAGE_LIST_DONE: return list_done_step(c);
    case STAGE_WORKERS: return workers_step(c);
    case STAGE_AGENTS: return agents_step(c);
    case STAGE_BUILD: return build_step(c);
    case STAGE_DUMP: return dump_step(c);
    case STAGE_GZIP: return gzip_step(c);
    case STAGE_FINISH: return finish_step(c);
    default: return 0;
    }
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
    if (!(c->slicer = kc_slicer_new(gw->base, on_slice, c))) {
        collection_free(c);
        return NULL;
    }
    return start_connect(c, "/connectors?expand=status&expand=info");
}
