/* sim_control.c — the test-facing control API: faults, request counters, the true values of a
 * connector at this instant, and task failure/move injection. JSON in and out. */
#include "sim.h"
#include "sim_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_JSON "application/json"

static void reply(evhtp_request_t *r, int status, json_t *body)
{
    if (!body) {
        static const char OOM[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}";
        sim_http_reply(r, 500, CT_JSON, OOM, sizeof OOM - 1);
        return;
    }
    sim_http_reply_json(r, status, CT_JSON, body, 0);
    json_decref(body);
}

static void reply_error(evhtp_request_t *r, int status, const char *code, const char *msg)
{
    reply(r, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

static json_t *read_body(evhtp_request_t *r)
{
    size_t len = evbuffer_get_length(r->buffer_in);
    if (!len)
        return NULL;
    json_t *v = json_loadb((const char *)evbuffer_pullup(r->buffer_in, -1), len, 0, NULL);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* ---- faults ---- */

static json_t *fault_json(const struct sim_fault *f)
{
    return json_pack("{s:s,s:i}", "fault", sim_faults_name(f->kind), "delay_ms", (int)f->delay_ms);
}

static json_t *faults_json(const struct sim *s)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "connect", fault_json(&s->connect_fault));
    for (int i = 0; i < s->opt.workers; i++) {
        char key[32];
        snprintf(key, sizeof key, "jolokia:%d", i);
        json_object_set_new(o, key, fault_json(&s->jolokia_fault[i]));
    }
    return o;
}

/* Sets fault f on listener l: "down" closes it, anything else makes sure it listens again on
 * the same address and port. Returns 0 or -1 when re-binding failed. */
static int apply(struct sim_fault *slot, struct sim_listener *l, const struct sim_fault *f)
{
    *slot = *f;
    if (f->kind == SIM_FAULT_DOWN) {
        sim_http_listener_unbind(l);
        return 0;
    }
    return sim_http_listener_bound(l) ? 0 : sim_http_listener_bind(l, sim_http_listener_port(l));
}

static void put_faults(struct sim *s, evhtp_request_t *r)
{
    json_t *body = read_body(r);
    const char *target = json_string_value(json_object_get(body, "target"));
    const char *fault = json_string_value(json_object_get(body, "fault"));
    json_t *delay = json_object_get(body, "delay_ms");
    struct sim_fault f = {0};
    if (!target || !fault || sim_faults_parse(fault, &f.kind) < 0 ||
        (delay && (!json_is_integer(delay) || json_integer_value(delay) < 0 ||
                   json_integer_value(delay) > 600000))) {
        json_decref(body);
        reply_error(r, 400, "bad_request",
                    "expected {\"target\":\"connect\"|\"jolokia\"|\"jolokia:<i>\",\"fault\":"
                    "\"none\"|\"down\"|\"slow\"|\"garbage\"|\"500\"|\"401\"|\"409\","
                    "\"delay_ms\":N}");
        return;
    }
    f.delay_ms =
        delay ? (unsigned)json_integer_value(delay) : (f.kind == SIM_FAULT_SLOW ? 1000 : 0);
    int rc = 0;
    if (strcmp(target, "connect") == 0) {
        rc = apply(&s->connect_fault, s->connect, &f);
    } else if (strcmp(target, "jolokia") == 0) {
        for (int i = 0; i < s->opt.workers; i++)
            rc |= apply(&s->jolokia_fault[i], s->agents[i].l, &f);
    } else if (strncmp(target, "jolokia:", 8) == 0) {
        char *end;
        long i = strtol(target + 8, &end, 10);
        if (!target[8] || *end || i < 0 || i >= s->opt.workers) {
            json_decref(body);
            reply_error(r, 400, "bad_request", "no such worker");
            return;
        }
        rc = apply(&s->jolokia_fault[i], s->agents[i].l, &f);
    } else {
        json_decref(body);
        reply_error(r, 400, "bad_request", "unknown target");
        return;
    }
    json_decref(body);
    if (rc < 0) {
        reply_error(r, 500, "rebind_failed", "could not listen again on the same port");
        return;
    }
    reply(r, 200, faults_json(s));
}

static void clear_faults(struct sim *s, evhtp_request_t *r)
{
    const struct sim_fault none = {0};
    int rc = apply(&s->connect_fault, s->connect, &none);
    for (int i = 0; i < s->opt.workers; i++)
        rc |= apply(&s->jolokia_fault[i], s->agents[i].l, &none);
    if (rc < 0) {
        reply_error(r, 500, "rebind_failed", "could not listen again on the same port");
        return;
    }
    reply(r, 200, faults_json(s));
}

/* ---- truth and injection ---- */

static void truth(struct sim *s, evhtp_request_t *r, const char *raw_name,
                  struct sim_connector *c)
{
    if (!c) {
        char *name = sim_http_pct_decode(raw_name, strlen(raw_name));
        c = name ? sim_model_find(s->model, name) : NULL;
        free(name);
    }
    if (!c) {
        reply_error(r, 404, "not_found", "unknown connector");
        return;
    }
    double now = sim_model_now();
    json_t *tasks = json_array();
    for (size_t i = 0; i < c->ntasks && tasks; i++) {
        const struct sim_task *t = &c->tasks[i];
        struct sim_task_counters k;
        sim_model_task_counters(s->model, c, t, now, &k);
        json_array_append_new(tasks,
                              json_pack("{s:i,s:s,s:s,s:f,s:f,s:f,s:f,s:f,s:o}", "id", t->id,
                                        "state", sim_model_state_upper(t->state), "worker_id",
                                        sim_model_worker_id(t->worker), "records_total", k.records,
                                        "bytes_total", k.bytes, "errors_total", k.errors,
                                        "records_rate", k.records_rate, "bytes_rate", k.bytes_rate,
                                        "lag_max", sim_json_double(k.lag_max)));
    }
    reply(r, 200,
          json_pack("{s:s,s:s,s:s,s:o}", "name", c->name, "type", sim_model_kind_name(c->kind),
                    "state", sim_model_state_upper(c->state), "tasks", tasks));
}

/* Finds body.connector / body.task; replies and returns NULL when either is unknown. */
static struct sim_task *body_task(struct sim *s, evhtp_request_t *r, json_t *body,
                                  struct sim_connector **out)
{
    const char *name = json_string_value(json_object_get(body, "connector"));
    json_t *id = json_object_get(body, "task");
    *out = name ? sim_model_find(s->model, name) : NULL;
    if (!*out || !json_is_integer(id)) {
        reply_error(r, 404, "not_found", "unknown connector or task");
        return NULL;
    }
    for (size_t i = 0; i < (*out)->ntasks; i++)
        if ((*out)->tasks[i].id == json_integer_value(id))
            return &(*out)->tasks[i];
    reply_error(r, 404, "not_found", "unknown connector or task");
    return NULL;
}

static void fail_task(struct sim *s, evhtp_request_t *r)
{
    json_t *body = read_body(r);
    struct sim_connector *c;
    struct sim_task *t = body_task(s, r, body, &c);
    if (t) {
        double now = sim_model_now();
        if (sim_model_fail_task(s->model, c, t, json_string_value(json_object_get(body, "trace")),
                                json_is_true(json_object_get(body, "at_start")), now) < 0)
            reply(r, 500, NULL);
        else
            reply(r, 200, sim_connect_status_json(s, c));
    }
    json_decref(body);
}

static void move_task(struct sim *s, evhtp_request_t *r)
{
    json_t *body = read_body(r);
    struct sim_connector *c;
    struct sim_task *t = body_task(s, r, body, &c);
    json_t *w = json_object_get(body, "worker");
    if (t && (!json_is_integer(w) || json_integer_value(w) < 0 ||
              json_integer_value(w) >= s->opt.workers)) {
        reply_error(r, 400, "bad_request", "worker must be an index below --workers");
    } else if (t) {
        sim_model_move_task(s->model, c, t, (int)json_integer_value(w), sim_model_now());
        reply(r, 200, sim_connect_status_json(s, c));
    }
    json_decref(body);
}

/* The target of a timed hold on one task: {"connector","task","ms"?} naming a task of `kind`.
 * Returns the task (its connector in *c, `ms` in *ms, -1 when absent), or NULL once an error
 * reply is sent. */
static struct sim_task *hold_target(struct sim *s, evhtp_request_t *r, json_t *body,
                                    enum sim_kind kind, const char *wrong_kind,
                                    struct sim_connector **c, double *ms)
{
    struct sim_task *t = body_task(s, r, body, c);
    json_t *jms = json_object_get(body, "ms");
    if (!t)
        return NULL;
    if (jms && (!json_is_integer(jms) || json_integer_value(jms) < 0)) {
        reply_error(r, 400, "bad_request", "ms must be a non-negative integer");
        return NULL;
    }
    if ((*c)->kind != kind) {
        reply_error(r, 400, "bad_request", wrong_kind);
        return NULL;
    }
    *ms = jms ? (double)json_integer_value(jms) : -1.0;
    return t;
}

/* records-lag-max of a sink task's consumer is NaN (a Max stat with no sample: no fetch since
 * the task's consumer started) for `ms` milliseconds, or until the task gets a new instance
 * (move or restart) when `ms` is absent; `ms: 0` ends it. */
static void lag_unknown(struct sim *s, evhtp_request_t *r)
{
    json_t *body = read_body(r);
    struct sim_connector *c;
    double ms;
    struct sim_task *t = hold_target(s, r, body, SIM_SINK,
                                     "only a sink task's consumer has records-lag-max", &c, &ms);
    if (t) {
        t->lag_unknown_until = ms >= 0 ? sim_model_now() + ms / 1000.0 : INFINITY;
        truth(s, r, NULL, c);
    }
    json_decref(body);
}

/* A source task's source has no new data (as a file source before its file gets lines): it
 * polls and writes nothing for `ms` milliseconds, or until `ms: 0` when `ms` is absent. Set
 * before a move or restart, the new instance has sent nothing: no producer-topic beans. */
static void no_data(struct sim *s, evhtp_request_t *r)
{
    json_t *body = read_body(r);
    struct sim_connector *c;
    double ms;
    struct sim_task *t = hold_target(s, r, body, SIM_SOURCE, "only a source task polls a source",
                                     &c, &ms);
    if (t) {
        sim_model_no_data(t, ms, sim_model_now());
        truth(s, r, NULL, c);
    }
    json_decref(body);
}

void sim_control_on_request(evhtp_request_t *r, void *arg)
{
    struct sim *s = arg;
    const char *path = sim_http_path(r);
    htp_method m = evhtp_request_get_method(r);
    sim_model_advance(s->model, sim_model_now());

    if (strcmp(path, "/faults") == 0) {
        if (m == htp_method_GET)
            reply(r, 200, faults_json(s));
        else if (m == htp_method_PUT)
            put_faults(s, r);
        else if (m == htp_method_DELETE)
            clear_faults(s, r);
        else
            reply_error(r, 405, "method_not_allowed", "GET, PUT or DELETE");
    } else if (strcmp(path, "/counters") == 0 && m == htp_method_GET) {
        reply(r, 200, sim_counters_json(&s->counters));
    } else if (strcmp(path, "/counters/reset") == 0 && m == htp_method_POST) {
        sim_counters_reset(&s->counters);
        reply(r, 200, sim_counters_json(&s->counters));
    } else if (strncmp(path, "/truth/", 7) == 0 && path[7] && !strchr(path + 7, '/') &&
               m == htp_method_GET) {
        truth(s, r, path + 7, NULL);
    } else if (strcmp(path, "/tasks/fail") == 0 && m == htp_method_POST) {
        fail_task(s, r);
    } else if (strcmp(path, "/tasks/move") == 0 && m == htp_method_POST) {
        move_task(s, r);
    } else if (strcmp(path, "/tasks/lag-unknown") == 0 && m == htp_method_POST) {
        lag_unknown(s, r);
    } else if (strcmp(path, "/tasks/no-data") == 0 && m == htp_method_POST) {
        no_data(s, r);
    } else {
        reply_error(r, 404, "not_found", "unknown control route");
    }
}
