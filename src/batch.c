/* batch.c — many connectors of one cluster collected together (kc/batch.h): CONNECT (a status
 * call each, in parallel, or one expand list) → JOLOKIA (per agent, the scoped reads of every
 * connector with tasks there, one POST per KC_BATCH_MAX_PER_POST connectors, JVM read once) →
 * BUILD (one document per connector, one per slice step).
 *
 * Nothing big is handled in one piece (issue #14 §1): an expand list is parsed in slices
 * (kc_connect_model_list_parser), one POST is started per slice, and each answer is scanned
 * element by element (jsplit) with each connector's elements parsed as they complete. With
 * 1,000 watched connectors the list took 80 ms of one turn and each answer 5–7 ms.
 *
 * The answer of a POST is an array matched by position: connector i's elements follow
 * connector i-1's, then the JVM's. Each connector's slice is parsed with its own plan into its
 * own result per agent, so a failed read of one connector warns only that connector, exactly as
 * when it is collected alone. Whatever the batch cannot decide (a status call that failed, a
 * connector missing from the list, Connect unreachable) goes back to the owner, which collects
 * it alone and so answers with the usual error documents. */
#include "kc/batch.h"

#include "kc/collector.h"
#include "kc/config.h"
#include "kc/connect.h"
#include "kc/connect_model.h"
#include "kc/gateway.h"
#include "kc/jolokia.h"
#include "kc/jsplit.h"
#include "kc/metrics.h"
#include "kc/slice.h"
#include "kc/stats.h"
#include "kc/upstream.h"
#include "kc/urlenc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JVM_PER_STEP 32   /* members given an agent's JVM read per slice step */
#define PARSE_PIECE (16u << 10) /* bytes of a list or an answer scanned per slice step */
/* Status calls in flight at once: a batch of thousands sent at once would overflow the
 * upstream queue (KC_UPSTREAM_QUEUE, 1,024) and push the rest back to collections of their
 * own (measured: 900 of 2,000 refused). In waves it never holds more than this. */
#define STATUS_WAVE 128

struct kc_batch;

struct member {
    struct kc_batch *b;
    char *name;
    struct kc_connect_call *call;
    struct kc_connector_status status;
    int have_status;
    struct kc_jolokia_plan plan;
    struct kc_jmx_result **jmx; /* per agent: what this connector's slice gave */
    char **warning;             /* per agent: why it gave nothing (borrowed from the agent) */
};

/* A POST's answer, scanned element by element: each connector's elements are gathered and
 * parsed with its plan once they are all in, then the JVM's go to every connector of the
 * agent. */
struct answer {
    char *body;
    size_t len;
    struct kc_jsplit split;
    json_t *elems;      /* the elements of the plan being gathered */
    size_t member;      /* the post's member whose elements come next (0 .. count) */
    size_t seen;        /* elements met */
    size_t jvm_next;    /* agent members given the JVM read so far */
    int scanned, garbage;
    const char *outcome;
    double total_ms;
};

struct post {
    struct agent *a;
    struct kc_fetch *fetch;
    size_t first, count; /* range of a->members */
    int with_jvm;
    struct answer *ans;  /* in, being parsed */
    struct post *next_ans;
};

struct agent {
    struct kc_batch *b;
    size_t index;
    char *worker_id; /* NULL when several workers share the agent (no URL placeholders) */
    char *url;
    size_t *members; /* indexes into b->m */
    size_t nmembers, cap;
    struct post *posts;
    size_t nposts;
    char *failure;   /* a whole POST failed: the text every affected connector shows */
};

struct kc_batch {
    struct kc_gateway *gw;
    struct kc_cluster *cl;
    struct kc_collect_hooks hooks;
    kc_batch_item_fn item;
    kc_batch_done_fn done;
    void *ctx;
    struct member *m;
    size_t n;
    struct kc_connect_call *list_call;
    size_t next_status;     /* STATUS_EACH: the next member whose call is not sent yet */
    size_t calls_in_flight;
    struct agent *agents;
    size_t nagents;
    struct kc_jolokia_plan jvm_plan;
    size_t pending;
    size_t next_build;
    char *global_warning;
    int building;                /* every answer is in: documents are made (build_step) */
    int64_t started_ns;
    struct kc_batch_stats st;
    struct kc_slicer *slicer;    /* the list, starting the POSTs, the answers (batch_step) */
    char *list_body;             /* the expand list being parsed */
    struct kc_connect_list_parser *list_parser;
    size_t post_agent, post_next; /* the next POST to start */
    int posts_starting;
    struct post *ans_head, *ans_tail; /* answers waiting to be parsed, in arrival order */
};

static void answer_free(struct answer *an)
{
    if (!an)
        return;
    free(an->body);
    json_decref(an->elems);
    free(an);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void batch_free(struct kc_batch *b)
{
    if (b->list_call)
        kc_connect_cancel(b->list_call);
    for (size_t a = 0; a < b->nagents; a++) {
        struct agent *ag = &b->agents[a];
        for (size_t p = 0; p < ag->nposts; p++) {
            if (ag->posts[p].fetch)
                kc_fetch_cancel(ag->posts[p].fetch);
            answer_free(ag->posts[p].ans);
        }
        free(ag->posts);
        free(ag->members);
        free(ag->worker_id);
        free(ag->url);
        free(ag->failure);
    }
    for (size_t i = 0; i < b->n; i++) {
        struct member *m = &b->m[i];
        if (m->call)
            kc_connect_cancel(m->call);
        if (m->status.name)
            kc_connect_model_status_clear(&m->status);
        kc_jolokia_plan_clear(&m->plan);
        for (size_t a = 0; m->jmx && a < b->nagents; a++)
            kc_jolokia_result_free(m->jmx[a]);
        free(m->jmx);
        free(m->warning);
        free(m->name);
    }
    free(b->agents);
    free(b->m);
    kc_jolokia_plan_clear(&b->jvm_plan);
    free(b->global_warning);
    kc_slicer_free(b->slicer);
    kc_connect_model_list_parser_free(b->list_parser);
    free(b->list_body);
    free(b);
}

void kc_batch_cancel(struct kc_batch *b)
{
    if (b)
        batch_free(b);
}

/* ---- BUILD: a document per slice step ---- */

/* The documents are built in the batch's slice steps (build_step), within the loop's budget. */
static void arm_step(struct kc_batch *b)
{
    b->building = 1;
    kc_slicer_start(b->slicer);
}

/* One connector's document, as kc_collect_connector makes it. */
static void build_member(struct kc_batch *b, size_t i)
{
    struct member *m = &b->m[i];
    if (!m->have_status) {
        b->item(i, NULL, b->ctx);
        return;
    }
    struct kc_metrics_source src[64];
    size_t nsrc = 0;
    for (size_t a = 0; a < b->nagents && nsrc < 64; a++) {
        if (!m->jmx || (!m->jmx[a] && !m->warning[a]))
            continue; /* no task of this connector there */
        src[nsrc].worker_id = b->agents[a].worker_id;
        src[nsrc].jmx = m->jmx[a];
        src[nsrc].warning = m->warning[a];
        nsrc++;
    }
    struct kc_metrics_input in = {
        .cluster = b->cl->cfg->name,
        .status = &m->status,
        .sources = src,
        .source_count = nsrc,
        .now_ms = kc_wall_ms(),
        .duration_ns = mono_ns() - b->started_ns,
    };
    struct kc_metrics_state *state =
        b->hooks.state_for ? b->hooks.state_for(b->hooks.owner, b->cl->cfg->name, m->name) : NULL;
    struct kc_metrics_calc calc;
    json_t *doc = NULL;
    if (kc_metrics_compute(&in, state, &calc) == 0) {
        doc = kc_metrics_document(&in, &calc);
        if (doc && b->global_warning)
            json_array_insert_new(json_object_get(doc, "warnings"), 0,
                                  json_string(b->global_warning));
        if (doc && b->hooks.on_connector)
            b->hooks.on_connector(b->hooks.owner, b->cl->cfg->name, &in, &calc);
        kc_metrics_calc_clear(&calc);
    }
    if (!doc) {
        b->item(i, NULL, b->ctx); /* out of memory: the owner's own collection says so */
        return;
    }
    struct kc_collect_result r = {
        .status = 200,
        .doc = doc,
        .degraded = json_array_size(json_object_get(doc, "warnings")) > 0,
        .upstream_requests = 0,
    };
    b->item(i, &r, b->ctx);
    json_decref(doc);
}

/* One document (~0.1 ms); after the last, the owner hears the batch is over and it is freed
 * (its slicer too: this step then returns 0, as kc/slice.h allows). */
static int build_step(struct kc_batch *b)
{
    if (b->next_build < b->n) {
        build_member(b, b->next_build++);
        return 1;
    }
    b->done(&b->st, b->ctx);
    batch_free(b);
    return 0;
}

/* ---- JOLOKIA ---- */

static void agent_fail(struct agent *a, const char *what)
{
    if (a->failure)
        return;
    char buf[300];
    snprintf(buf, sizeof buf, "jolokia %s: %s", a->worker_id ? a->worker_id : a->url, what);
    a->failure = strdup(buf);
}

/* The post's connectors (and the JVM) read nothing: each shows why. */
static void post_failed(struct post *p, const char *what)
{
    struct agent *a = p->a;
    agent_fail(a, what);
    for (size_t k = p->first; k < p->first + p->count; k++) {
        struct member *m = &a->b->m[a->members[k]];
        kc_jolokia_result_free(m->jmx[a->index]);
        m->jmx[a->index] = NULL;
        m->warning[a->index] = a->failure;
    }
}

static void build_or_wait(struct kc_batch *b)
{
    if (--b->pending == 0)
        arm_step(b);
}

static void on_post(const struct kc_fetch_result *r, void *arg)
{
    struct post *p = arg;
    struct agent *a = p->a;
    struct kc_batch *b = a->b;
    p->fetch = NULL;
    const char *outcome;
    char what[64];
    const char *failure = kc_collect_agent_failure(r, what, sizeof what, &outcome);
    struct answer *an = failure ? NULL : calloc(1, sizeof *an);
    if (an && (an->body = kc_fetch_take_body(r)) && (an->elems = json_array())) {
        an->len = r->body_len;
        an->outcome = outcome;
        an->total_ms = r->total_ms;
        kc_jsplit_init(&an->split, an->body, an->len, 1);
        p->ans = an;
        if (b->ans_tail)
            b->ans_tail->next_ans = p;
        else
            b->ans_head = p;
        b->ans_tail = p;
        kc_slicer_start(b->slicer);
        return;
    }
    answer_free(an);
    if (!failure) {
        failure = "out of memory";
        outcome = "garbage";
    }
    post_failed(p, failure);
    kc_stats_upstream("jolokia", b->cl->cfg->name, outcome, r->total_ms / 1e3);
    build_or_wait(b);
}

/* The gathered elements go to the member they belong to (fewer than its plan asks for when the
 * answer ended early: the rest count as not answered). */
static void give_elems(struct kc_batch *b, struct post *p, const char *label)
{
    struct answer *an = p->ans;
    struct agent *a = p->a;
    struct member *m = &b->m[a->members[p->first + an->member]];
    struct kc_jmx_result *res = m->jmx[a->index];
    if (res)
        kc_jolokia_parse_bulk_slice(&m->plan, an->elems, 0, label, NULL, res);
    json_array_clear(an->elems);
    an->member++;
}

/* The front answer: a piece of its scan, or its end. 1 = more, 0 = this answer is done. */
static int answer_step(struct kc_batch *b, struct post *p)
{
    struct answer *an = p->ans;
    struct agent *a = p->a;
    char label[300];
    snprintf(label, sizeof label, "jolokia %s", a->worker_id ? a->worker_id : a->url);
    if (!an->scanned) {
        struct kc_jsplit_item it;
        int rc = kc_jsplit_next(&an->split, &it, PARSE_PIECE);
        if (rc == KC_JSPLIT_PAUSE)
            return 1;
        if (rc == KC_JSPLIT_ITEM) {
            json_t *v = it.container == '[' ? json_loadb(an->body + it.val_off, it.val_len,
                                                         JSON_DECODE_ANY, NULL)
                                            : NULL;
            if (!v) {
                an->garbage = 1;
                an->scanned = 1;
                return 1;
            }
            json_array_append_new(an->elems, v);
            an->seen++;
            if (an->member < p->count &&
                json_array_size(an->elems) ==
                    b->m[a->members[p->first + an->member]].plan.count)
                give_elems(b, p, label);
            return 1;
        }
        an->garbage = rc == KC_JSPLIT_ERROR;
        an->scanned = 1;
        if (an->garbage)
            return 1;
        while (an->member < p->count) /* a short answer */
            give_elems(b, p, label);
        size_t want = 0;
        for (size_t k = p->first; k < p->first + p->count; k++)
            want += b->m[a->members[k]].plan.count;
        if (an->seen != want + (p->with_jvm ? b->jvm_plan.count : 0))
            agent_fail(a, "the bulk answer does not match the request");
        return 1;
    }
    if (an->garbage) {
        an->outcome = "garbage";
        post_failed(p, "the answer is not a Jolokia bulk response");
    } else if (p->with_jvm && an->jvm_next < a->nmembers) {
        /* Every connector shows the resources of the workers it runs on: the agent's JVM read
         * (the last elements of its first POST) goes into each of their results. */
        size_t end = an->jvm_next + JVM_PER_STEP < a->nmembers ? an->jvm_next + JVM_PER_STEP
                                                                 : a->nmembers;
        for (; an->jvm_next < end; an->jvm_next++) {
            struct kc_jmx_result *res = b->m[a->members[an->jvm_next]].jmx[a->index];
            if (res)
                kc_jolokia_parse_bulk_slice(&b->jvm_plan, an->elems, 0, label, NULL, res);
        }
        return 1;
    }
    kc_stats_upstream("jolokia", b->cl->cfg->name, an->outcome, an->total_ms / 1e3);
    answer_free(an);
    p->ans = NULL;
    b->ans_head = p->next_ans;
    if (!b->ans_head)
        b->ans_tail = NULL;
    build_or_wait(b);
    return 0;
}

static struct agent *agent_for(struct kc_batch *b, const char *worker_id)
{
    char *url = kc_jolokia_url_for_worker(b->cl->cfg->jolokia_url, worker_id);
    if (!url)
        return NULL; /* a worker id the template cannot use: no metrics there */
    for (size_t i = 0; i < b->nagents; i++) {
        struct agent *a = &b->agents[i];
        if (strcmp(a->url, url) == 0) {
            free(url);
            if (a->worker_id && strcmp(a->worker_id, worker_id) != 0) {
                free(a->worker_id); /* one agent for several workers */
                a->worker_id = NULL;
            }
            return a;
        }
    }
    struct agent *grown = realloc(b->agents, (b->nagents + 1) * sizeof *grown);
    if (!grown) {
        free(url);
        return NULL;
    }
    b->agents = grown;
    struct agent *a = &b->agents[b->nagents];
    memset(a, 0, sizeof *a);
    a->b = b;
    a->index = b->nagents;
    a->url = url;
    if (!(a->worker_id = strdup(worker_id))) {
        free(url);
        return NULL;
    }
    b->nagents++;
    return a;
}

static int agent_add_member(struct agent *a, size_t i)
{
    if (a->nmembers && a->members[a->nmembers - 1] == i)
        return 0;
    if (a->nmembers == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        size_t *grown = realloc(a->members, cap * sizeof *grown);
        if (!grown)
            return -1;
        a->members = grown;
        a->cap = cap;
    }
    a->members[a->nmembers++] = i;
    return 0;
}

/* "[e1,e2]" + "[e3]" → "[e1,e2,e3]" */
static int append_elems(char **buf, size_t *len, size_t *cap, const char *arr)
{
    size_t n = strlen(arr);
    if (n < 2)
        return 0;
    size_t need = *len + n + 2;
    if (need > *cap) {
        size_t c = *cap * 2 > need ? *cap * 2 : need;
        char *g = realloc(*buf, c);
        if (!g)
            return -1;
        *buf = g;
        *cap = c;
    }
    if (n > 2) {
        if (*len > 1)
            (*buf)[(*len)++] = ',';
        memcpy(*buf + *len, arr + 1, n - 2);
        *len += n - 2;
    }
    (*buf)[*len] = '\0';
    return 0;
}

static int start_post(struct kc_batch *b, struct agent *a, struct post *p)
{
    size_t len = 1, cap = 4096;
    char *body = malloc(cap);
    if (!body)
        return -1;
    body[0] = '[';
    body[1] = '\0';
    int rc = 0;
    for (size_t k = p->first; rc == 0 && k < p->first + p->count; k++) {
        char *part = kc_jolokia_plan_body(&b->m[a->members[k]].plan, NULL);
        rc = part ? append_elems(&body, &len, &cap, part) : -1;
        free(part);
    }
    if (rc == 0 && p->with_jvm) {
        char *part = kc_jolokia_plan_body(&b->jvm_plan, NULL);
        rc = part ? append_elems(&body, &len, &cap, part) : -1;
        free(part);
    }
    if (rc == 0 && len + 2 > cap) {
        char *g = realloc(body, len + 2);
        rc = g ? 0 : -1;
        if (g)
            body = g;
    }
    if (rc != 0) {
        free(body);
        return -1;
    }
    body[len++] = ']';
    body[len] = '\0';
    char pool[160];
    snprintf(pool, sizeof pool, "jolokia:%s", a->url);
    struct kc_fetch_request rq = {.method = "POST", .url = a->url, .body = body,
                                  .body_len = len, .content_type = "application/json",
                                  .endpoint = &b->cl->cfg->jolokia, .pool = pool};
    enum kc_fetch_error why;
    p->fetch = kc_upstream_fetch(b->gw->upstream, &rq, on_post, p, &why);
    free(body);
    if (!p->fetch) {
        post_failed(p, why == KC_FETCH_QUEUE_FULL ? "too many requests waiting" : "out of memory");
        return 0;
    }
    b->pending++;
    b->st.jolokia_posts++;
    return 0;
}

static void start_jolokia(struct kc_batch *b)
{
    if (!b->cl->cfg->jolokia_url) {
        b->global_warning =
            strdup("jolokia: JOLOKIA_URL is not configured, so only task states are shown");
        arm_step(b);
        return;
    }
    if (kc_jolokia_plan_init(&b->jvm_plan, NULL, KC_JOLOKIA_JVM) != 0)
        goto oom;
    for (size_t i = 0; i < b->n; i++) {
        struct member *m = &b->m[i];
        if (!m->have_status)
            continue;
        if (kc_jolokia_plan_init(&m->plan, m->name, kc_jolokia_what_for_type(m->status.type)) != 0)
            goto oom;
        const char *workers[64];
        size_t nw = kc_connect_model_task_workers(&m->status, workers, 64);
        for (size_t w = 0; w < nw && w < 64; w++) {
            struct agent *a = agent_for(b, workers[w]);
            if (a && agent_add_member(a, i) != 0)
                goto oom;
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        struct member *m = &b->m[i];
        if (!m->have_status)
            continue;
        m->jmx = calloc(b->nagents ? b->nagents : 1, sizeof *m->jmx);
        m->warning = calloc(b->nagents ? b->nagents : 1, sizeof *m->warning);
        if (!m->jmx || !m->warning)
            goto oom;
    }
    for (size_t a = 0; a < b->nagents; a++) {
        struct agent *ag = &b->agents[a];
        for (size_t k = 0; k < ag->nmembers; k++) {
            struct member *m = &b->m[ag->members[k]];
            if (!(m->jmx[a] = kc_jolokia_result_new()))
                goto oom;
        }
        ag->nposts = (ag->nmembers + KC_BATCH_MAX_PER_POST - 1) / KC_BATCH_MAX_PER_POST;
        if (ag->nposts == 0)
            continue;
        if (!(ag->posts = calloc(ag->nposts, sizeof *ag->posts)))
            goto oom;
        b->st.split_posts += (int)ag->nposts - 1;
    }
    for (size_t a = 0; a < b->nagents; a++) {
        struct agent *ag = &b->agents[a];
        for (size_t p = 0; p < ag->nposts; p++) {
            struct post *po = &ag->posts[p];
            po->a = ag;
            po->first = p * KC_BATCH_MAX_PER_POST;
            po->count = ag->nmembers - po->first < KC_BATCH_MAX_PER_POST
                            ? ag->nmembers - po->first
                            : KC_BATCH_MAX_PER_POST;
            po->with_jvm = p == 0;
        }
    }
    b->pending = 1; /* held while the POSTs start, one per slice step (start_next_post) */
    b->posts_starting = 1;
    kc_slicer_start(b->slicer);
    return;
oom:
    /* Nothing is lost: every connector goes back to be collected on its own. */
    for (size_t i = 0; i < b->n; i++)
        b->m[i].have_status = 0;
    arm_step(b);
}

/* ---- CONNECT ---- */

static void connect_done(struct kc_batch *b)
{
    if (--b->pending == 0)
        start_jolokia(b);
}

static void on_member_status(const struct kc_fetch_result *r, void *arg);

/* Sends status calls until STATUS_WAVE are in flight or every member has one. */
static void send_status_wave(struct kc_batch *b)
{
    enum kc_fetch_error why;
    while (b->next_status < b->n && b->calls_in_flight < STATUS_WAVE) {
        struct member *m = &b->m[b->next_status++];
        char *enc = kc_urlenc_segment(m->name);
        size_t n = enc ? strlen(enc) + 24 : 0;
        char *path = enc ? malloc(n) : NULL;
        if (path) {
            snprintf(path, n, "/connectors/%s/status", enc);
            m->call = kc_connect_request(b->gw, b->cl, "GET", path, NULL, 0, on_member_status, m,
                                         &why);
        }
        free(enc);
        free(path);
        if (m->call) { /* not sent: the owner collects that one on its own */
            b->pending++;
            b->calls_in_flight++;
            b->st.connect_requests++;
        }
    }
}

static void on_member_status(const struct kc_fetch_result *r, void *arg)
{
    struct member *m = arg;
    struct kc_batch *b = m->b;
    m->call = NULL;
    b->calls_in_flight--;
    if (r->error == KC_FETCH_OK && r->status == 200 &&
        kc_connect_model_parse_status_text(r->body, r->body_len, &m->status) == 0)
        m->have_status = 1;
    else if (m->status.name)
        kc_connect_model_status_clear(&m->status);
    send_status_wave(b); /* before connect_done: the batch must not finish between waves */
    connect_done(b);
}

/* The expand list arrived: parsed in slices (list_step). */
static void on_list(const struct kc_fetch_result *r, void *arg)
{
    struct kc_batch *b = arg;
    b->list_call = NULL;
    if (r->error == KC_FETCH_OK && r->status == 200 && (b->list_body = kc_fetch_take_body(r)) &&
        (b->list_parser = kc_connect_model_list_parser_new(b->list_body, r->body_len))) {
        kc_slicer_start(b->slicer);
        return;
    }
    connect_done(b); /* every member goes back to its owner */
}

/* Takes the members' entries out of the parsed list (the list keeps nothing it frees). */
static void take_members(struct kc_batch *b, struct kc_connector_list *list)
{
    b->st.list_connectors = list->count;
    /* Found first, taken after: a taken entry is zeroed, and the search needs its name. */
    size_t *at = calloc(b->n, sizeof *at);
    for (size_t i = 0; at && i < b->n; i++) {
        const struct kc_connector_status *found = kc_connect_model_list_find(list, b->m[i].name);
        at[i] = found ? (size_t)(found - list->items) + 1 : 0; /* 0: not in the list */
    }
    for (size_t i = 0; at && i < b->n; i++) {
        if (!at[i] || !list->items[at[i] - 1].name)
            continue; /* not there (its own collection finds out why), or a duplicate */
        b->m[i].status = list->items[at[i] - 1];
        memset(&list->items[at[i] - 1], 0, sizeof list->items[0]);
        b->m[i].have_status = 1;
    }
    free(at);
}

/* A piece of the list; once it is scanned and sorted, the members take their entries and the
 * rest is freed in slices. 1 = more, 0 = handed on. */
static int list_step(struct kc_batch *b)
{
    int rc = kc_connect_model_list_parser_step(b->list_parser, PARSE_PIECE);
    if (rc == 1)
        return 1;
    if (rc == 0) {
        struct kc_connector_list list;
        kc_connect_model_list_parser_take(b->list_parser, &list);
        take_members(b, &list);
        kc_collect_list_dispose(b->gw->base, &list);
    }
    kc_connect_model_list_parser_free(b->list_parser);
    b->list_parser = NULL;
    free(b->list_body);
    b->list_body = NULL;
    connect_done(b);
    return 0;
}

/* The next POST; when every one is sent, the hold start_jolokia took is released. */
static int start_next_post(struct kc_batch *b)
{
    while (b->post_agent < b->nagents && b->post_next >= b->agents[b->post_agent].nposts) {
        b->post_agent++;
        b->post_next = 0;
    }
    if (b->post_agent < b->nagents) {
        struct agent *ag = &b->agents[b->post_agent];
        struct post *po = &ag->posts[b->post_next++];
        if (start_post(b, ag, po) != 0)
            post_failed(po, "out of memory");
        return 1;
    }
    b->posts_starting = 0;
    build_or_wait(b);
    return 0;
}

/* The batch's slice steps (kc/slice.h): whatever big piece of work is waiting. */
static int batch_step(void *arg)
{
    struct kc_batch *b = arg;
    if (b->building)
        return build_step(b);
    if (b->list_parser)
        return list_step(b) ? 1 : (b->posts_starting || b->ans_head);
    if (b->posts_starting)
        return start_next_post(b) ? 1 : b->ans_head != NULL;
    if (b->ans_head)
        return answer_step(b, b->ans_head) ? 1 : b->ans_head != NULL;
    return 0;
}

static int start_connect(struct kc_batch *b, enum kc_batch_connect how)
{
    enum kc_fetch_error why;
    b->pending = 1; /* held while starting */
    if (how == KC_BATCH_EXPAND_LIST) {
        b->list_call = kc_connect_request(b->gw, b->cl, "GET",
                                          "/connectors?expand=status&expand=info", NULL, 0,
                                          on_list, b, &why);
        if (b->list_call) {
            b->pending++;
            b->st.connect_requests++;
        }
    } else {
        send_status_wave(b);
    }
    if (b->pending == 1) {
        b->pending = 0;
        return -1; /* nothing sent */
    }
    connect_done(b);
    return 0;
}

struct kc_batch *kc_collect_batch(struct kc_gateway *gw, struct kc_cluster *cl,
                                  const char *const *names, size_t n, enum kc_batch_connect how,
                                  const struct kc_collect_hooks *hooks, kc_batch_item_fn item,
                                  kc_batch_done_fn done, void *ctx)
{
    struct kc_batch *b = calloc(1, sizeof *b);
    if (!b || n == 0 || !(b->m = calloc(n, sizeof *b->m))) {
        free(b);
        return NULL;
    }
    b->gw = gw;
    b->cl = cl;
    if (hooks)
        b->hooks = *hooks;
    b->item = item;
    b->done = done;
    b->ctx = ctx;
    b->n = n;
    b->started_ns = mono_ns();
    if (!(b->slicer = kc_slicer_new(gw->base, batch_step, b))) {
        batch_free(b);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        b->m[i].b = b;
        if (!(b->m[i].name = strdup(names[i]))) {
            batch_free(b);
            return NULL;
        }
    }
    if (start_connect(b, how) != 0) {
        batch_free(b);
        return NULL;
    }
    return b;
}
