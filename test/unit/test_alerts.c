/* test_alerts.c — the alert evaluator: each rule fires and resolves, `for` durations,
 * thresholds, unknown data holding state, disappearing connectors, JSON shape, bounded memory,
 * and the state export/import that lets another evaluator continue one cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/alerts.h"
#include "kc/connect_model.h"
#include "kc/metrics.h"

#define T0 1764000000000LL /* 2025-11-24T16:00:00Z */
#define REFUSED "jolokia 127.0.0.2:8083: connection refused"
#define NO_TASK "jolokia 127.0.0.2:8083: no metrics for task 0"
#define E10 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
#define LONG_UTF8 "jolokia 127.0.0.2:8083: " E10 E10 E10 E10 E10 E10 E10 /* é cut at 128 */

/* One collection of one connector as the evaluator sees it. */
struct step {
    int64_t t;           /* ms after T0 */
    enum kc_state state; /* connector state; 0 (OTHER) means RUNNING here */
    double rps, error_rate;
    int has_lag;
    double lag;
    unsigned failed; /* of 2 tasks */
    const char *warning;
    const char *expect; /* the one transition expected: "fire", "resolve" or NULL */
    int active;         /* active alerts afterwards */
};

struct fixture {
    struct kc_task_status tasks[2];
    struct kc_connector_status status;
    struct kc_metrics_task mt[2];
    char *warnings[1];
    struct kc_metrics_input in;
    struct kc_metrics_calc calc;
};

static void build(struct fixture *f, const char *name, const struct step *s)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 2; i++) {
        f->tasks[i].id = i;
        f->tasks[i].state = (unsigned)i < s->failed ? KC_STATE_FAILED : KC_STATE_RUNNING;
        f->tasks[i].worker_id = (char *)"127.0.0.2:8083";
        f->mt[i].status = &f->tasks[i];
    }
    f->status.name = (char *)name;
    f->status.type = s->has_lag ? KC_TYPE_SINK : KC_TYPE_SOURCE;
    f->status.state = s->state ? s->state : KC_STATE_RUNNING;
    f->status.tasks = f->tasks;
    f->status.task_count = 2;
    f->in.cluster = "default";
    f->in.status = &f->status;
    f->in.now_ms = T0 + s->t;
    f->calc.records_per_sec = s->rps;
    f->calc.error_rate = s->error_rate;
    f->calc.has_lag = s->has_lag;
    f->calc.lag_max = s->lag;
    f->calc.counts.failed = s->failed;
    f->calc.counts.running = 2 - s->failed;
    f->calc.counts.total = 2;
    f->calc.tasks = f->mt;
    f->calc.task_count = 2;
    if (s->warning) {
        f->warnings[0] = (char *)s->warning;
        f->calc.warnings = f->warnings;
        f->calc.warning_count = 1;
    }
}

static void observe(struct kc_alerts *a, const char *cluster, const char *name,
                    const struct step *s)
{
    struct fixture f;
    build(&f, name, s);
    kc_alerts_observe(a, cluster, &f.in, &f.calc, T0 + s->t);
}

static size_t active_count(struct kc_alerts *a, const char *cluster, int64_t now)
{
    json_t *doc = kc_alerts_json(a, cluster, now);
    assert_non_null(doc);
    size_t n = json_array_size(json_object_get(doc, "active"));
    json_decref(doc);
    return n;
}

#define MAX_STEPS 8

static const struct rule_case {
    const char *what;
    struct kc_alert_rule rule;
    struct step steps[MAX_STEPS];
} rule_cases[] = {
    {"error rate above threshold",
     {"errors", KC_ALERT_ERROR_RATE, 5, 0},
     {{.t = 0, .rps = 10, .error_rate = 1},
      {.t = 1000, .rps = 10, .error_rate = 7.5, .expect = "fire", .active = 1},
      {.t = 2000, .rps = 10, .error_rate = 8, .active = 1},
      {.t = 3000, .rps = 10, .error_rate = 5, .expect = "resolve"}, /* not above: resolves */
      {.t = 4000, .rps = 10, .error_rate = 5}}},
    {"error rate holds while jolokia fails",
     {"errors", KC_ALERT_ERROR_RATE, 5, 0},
     {{.t = 0, .error_rate = 9, .expect = "fire", .active = 1},
      {.t = 1000, .error_rate = 0, .warning = REFUSED, .active = 1},
      {.t = 2000, .error_rate = 0, .expect = "resolve"}}},
    {"error rate for a duration",
     {"errors", KC_ALERT_ERROR_RATE, 5, 2000},
     {{.t = 0, .error_rate = 9},
      {.t = 1999, .error_rate = 9},
      {.t = 2000, .error_rate = 9, .expect = "fire", .active = 1},
      {.t = 3000, .error_rate = 1, .expect = "resolve"}}},
    {"task failed",
     {"failed", KC_ALERT_TASK_FAILED, 0, 0},
     {{.t = 0, .rps = 3},
      {.t = 1000, .failed = 1, .expect = "fire", .active = 1},
      {.t = 2000, .failed = 2, .active = 1},
      {.t = 3000, .failed = 0, .rps = 3, .expect = "resolve"}}},
    {"task failed counts even while jolokia fails",
     {"failed", KC_ALERT_TASK_FAILED, 0, 0},
     {{.t = 0, .failed = 1, .warning = REFUSED, .expect = "fire", .active = 1},
      {.t = 1000, .failed = 0, .warning = REFUSED, .expect = "resolve"}}},
    {"task failed above a threshold of 1",
     {"failed", KC_ALERT_TASK_FAILED, 1, 0},
     {{.t = 0, .failed = 1},
      {.t = 1000, .failed = 2, .expect = "fire", .active = 1},
      {.t = 2000, .failed = 1, .expect = "resolve"}}},
    {"zero throughput for 2 s while RUNNING",
     {"stalled", KC_ALERT_ZERO_THROUGHPUT, 0, 2000},
     {{.t = 0, .rps = 10},
      {.t = 1000, .rps = 0},
      {.t = 2000, .rps = 0},
      {.t = 3000, .rps = 0, .expect = "fire", .active = 1},
      {.t = 4000, .rps = 0, .active = 1},
      {.t = 5000, .rps = 0.5, .expect = "resolve"}}},
    {"zero throughput restarts its clock when records flow",
     {"stalled", KC_ALERT_ZERO_THROUGHPUT, 0, 2000},
     {{.t = 0, .rps = 0},
      {.t = 1500, .rps = 3},
      {.t = 2000, .rps = 0},
      {.t = 3500, .rps = 0},
      {.t = 4000, .rps = 0, .expect = "fire", .active = 1}}},
    {"zero throughput ignores PAUSED and resolves on pause",
     {"stalled", KC_ALERT_ZERO_THROUGHPUT, 0, 0},
     {{.t = 0, .state = KC_STATE_PAUSED, .rps = 0},
      {.t = 5000, .state = KC_STATE_PAUSED, .rps = 0},
      {.t = 6000, .rps = 0, .expect = "fire", .active = 1},
      {.t = 7000, .state = KC_STATE_STOPPED, .rps = 0, .expect = "resolve"}}},
    {"zero throughput is unknown while jolokia fails",
     {"stalled", KC_ALERT_ZERO_THROUGHPUT, 0, 0},
     {{.t = 0, .rps = 0, .warning = REFUSED},
      {.t = 1000, .rps = 0, .warning = REFUSED},
      {.t = 2000, .rps = 0, .expect = "fire", .active = 1}}},
    {"lag above threshold",
     {"lagging", KC_ALERT_LAG, 1000, 0},
     {{.t = 0, .has_lag = 1, .lag = 500},
      {.t = 1000, .has_lag = 1, .lag = 1000},
      {.t = 2000, .has_lag = 1, .lag = 1500, .expect = "fire", .active = 1},
      {.t = 3000, .has_lag = 1, .lag = 3000, .active = 1},
      {.t = 4000, .has_lag = 0, .expect = "resolve"}}}, /* lag unknown (idle): not above */
    {"lag for a duration",
     {"lagging", KC_ALERT_LAG, 10, 1000},
     {{.t = 0, .has_lag = 1, .lag = 50},
      {.t = 1000, .has_lag = 1, .lag = 50, .expect = "fire", .active = 1},
      {.t = 2000, .has_lag = 1, .lag = 5, .expect = "resolve"}}},
    {"jolokia unreachable",
     {"agents", KC_ALERT_JOLOKIA_DOWN, 0, 0},
     {{.t = 0, .rps = 1},
      {.t = 1000, .warning = REFUSED, .expect = "fire", .active = 1},
      {.t = 2000, .warning = NO_TASK, .expect = "resolve"}, /* a healthy agent said that */
      {.t = 3000, .warning = "jolokia: unavailable", .expect = "fire", .active = 1},
      {.t = 4000, .warning = "jolokia: bean error in java.lang", .expect = "resolve"}}},
    /* A message cut at 128 bytes inside a UTF-8 sequence still makes an event and an alert. */
    {"jolokia unreachable, a long UTF-8 reason",
     {"agents", KC_ALERT_JOLOKIA_DOWN, 0, 0},
     {{.t = 0, .rps = 1},
      {.t = 1000, .warning = LONG_UTF8, .expect = "fire", .active = 1},
      {.t = 2000, .expect = "resolve"}}},
    {"jolokia unreachable for a duration",
     {"agents", KC_ALERT_JOLOKIA_DOWN, 0, 1500},
     {{.t = 0, .warning = REFUSED},
      {.t = 1000, .warning = REFUSED},
      {.t = 2000, .warning = REFUSED, .expect = "fire", .active = 1},
      {.t = 3000, .expect = "resolve"}}},
};

static void test_rule_cases(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof rule_cases / sizeof rule_cases[0]; c++) {
        const struct rule_case *rc = &rule_cases[c];
        struct kc_alerts *a = kc_alerts_new(&rc->rule, 1);
        assert_non_null(a);
        for (size_t i = 0; i < MAX_STEPS; i++) {
            const struct step *s = &rc->steps[i];
            if (i > 0 && s->t == 0)
                break;
            observe(a, "default", "orders-src", s);
            json_t *ev = kc_alerts_take_event(a);
            const char *got = ev ? json_string_value(json_object_get(ev, "event")) : NULL;
            if ((got == NULL) != (s->expect == NULL) || (got && strcmp(got, s->expect) != 0))
                fail_msg("%s, step %zu: expected %s, got %s", rc->what, i,
                         s->expect ? s->expect : "nothing", got ? got : "nothing");
            if (ev) {
                assert_string_equal(json_string_value(json_object_get(ev, "rule")), rc->rule.name);
                assert_string_equal(json_string_value(json_object_get(ev, "connector")),
                                    "orders-src");
                assert_string_equal(json_string_value(json_object_get(ev, "kind")),
                                    kc_alerts_kind_name(rc->rule.kind));
            }
            json_decref(ev);
            assert_null(kc_alerts_take_event(a));
            size_t n = active_count(a, "default", T0 + s->t);
            if (n != (size_t)s->active)
                fail_msg("%s, step %zu: %zu active, expected %d", rc->what, i, n, s->active);
        }
        kc_alerts_free(a);
    }
}

static const struct kc_alert_rule all_rules[] = {
    {"errors", KC_ALERT_ERROR_RATE, 5, 0},          {"failed", KC_ALERT_TASK_FAILED, 0, 0},
    {"stalled", KC_ALERT_ZERO_THROUGHPUT, 0, 1000}, {"lagging", KC_ALERT_LAG, 100, 0},
    {"agents", KC_ALERT_JOLOKIA_DOWN, 0, 0},
};
#define NRULES (sizeof all_rules / sizeof all_rules[0])

static void drain(struct kc_alerts *a)
{
    json_t *ev;
    while ((ev = kc_alerts_take_event(a)))
        json_decref(ev);
}

static void test_json_shape_and_events(void **state)
{
    (void)state;
    struct kc_alerts *a = kc_alerts_new(all_rules, NRULES);
    json_t *doc = kc_alerts_json(a, "default", T0);
    assert_string_equal(json_string_value(json_object_get(doc, "cluster")), "default");
    assert_int_equal(json_integer_value(json_object_get(doc, "rules")), NRULES);
    assert_int_equal(json_array_size(json_object_get(doc, "active")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "resolved")), 0);
    json_decref(doc);

    struct step bad = {.t = 0, .failed = 1, .rps = 4, .error_rate = 12.5};
    observe(a, "default", "orders-src", &bad);
    json_t *ev = kc_alerts_take_event(a); /* rules in config order: errors, then failed */
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "fire");
    assert_string_equal(json_string_value(json_object_get(ev, "cluster")), "default");
    assert_string_equal(json_string_value(json_object_get(ev, "rule")), "errors");
    assert_string_equal(json_string_value(json_object_get(ev, "severity")), "warning");
    assert_string_equal(json_string_value(json_object_get(ev, "since")),
                        "2025-11-24T16:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(ev, "at")), "2025-11-24T16:00:00.000Z");
    assert_true(json_real_value(json_object_get(ev, "value")) == 12.5);
    assert_true(json_real_value(json_object_get(ev, "threshold")) == 5);
    assert_string_equal(json_string_value(json_object_get(ev, "message")),
                        "error rate 12.50% above 5%");
    json_decref(ev);
    ev = kc_alerts_take_event(a);
    assert_string_equal(json_string_value(json_object_get(ev, "rule")), "failed");
    assert_string_equal(json_string_value(json_object_get(ev, "severity")), "critical");
    assert_true(json_is_integer(json_object_get(ev, "value")));
    assert_int_equal(json_integer_value(json_object_get(ev, "value")), 1);
    assert_string_equal(json_string_value(json_object_get(ev, "message")),
                        "1 of 2 tasks FAILED: 0");
    json_decref(ev);
    assert_null(kc_alerts_take_event(a));

    /* A second connector fires later; active is oldest first. */
    struct step lag = {.t = 5000, .rps = 4, .has_lag = 1, .lag = 250};
    observe(a, "default", "orders-sink", &lag);
    drain(a);
    doc = kc_alerts_json(a, "default", T0 + 5000);
    json_t *active = json_object_get(doc, "active");
    assert_int_equal(json_array_size(active), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(active, 2), "connector")),
                        "orders-sink");
    json_t *first = json_array_get(active, 0);
    const char *keys[] = {"rule",    "kind",  "connector", "severity",
                          "message", "since", "value",     "threshold"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_non_null(json_object_get(first, keys[i]));
    json_decref(doc);
    /* other clusters see nothing */
    assert_int_equal(active_count(a, "staging", T0 + 5000), 0);

    /* Resolve: event carries since and resolvedAt; resolved list newest first. */
    struct step good = {.t = 7000, .rps = 4};
    observe(a, "default", "orders-src", &good);
    ev = kc_alerts_take_event(a);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "resolve");
    assert_string_equal(json_string_value(json_object_get(ev, "since")),
                        "2025-11-24T16:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(ev, "resolvedAt")),
                        "2025-11-24T16:00:07.000Z");
    json_decref(ev);
    drain(a);
    doc = kc_alerts_json(a, "default", T0 + 7000);
    assert_int_equal(json_array_size(json_object_get(doc, "active")), 1);
    json_t *resolved = json_object_get(doc, "resolved");
    assert_int_equal(json_array_size(resolved), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(resolved, 0), "resolvedAt")),
        "2025-11-24T16:00:07.000Z");
    json_decref(doc);
    kc_alerts_free(a);
}

/* A summary whose rows were observed at T0 + 1000: what was not observed since is gone, only
 * in that cluster; rows observed then, or later by a connector collection, stay. */
static void test_disappearing_connectors(void **state)
{
    (void)state;
    struct kc_alerts *a = kc_alerts_new(all_rules, NRULES);
    struct step old = {.t = 0, .failed = 1, .rps = 1}, now = {.t = 1000, .failed = 1, .rps = 1},
                later = {.t = 1500, .failed = 1, .rps = 1};
    observe(a, "a", "x", &old);
    observe(a, "a", "y", &old);
    observe(a, "b", "y", &old); /* same name, other cluster: its own state */
    observe(a, "a", "x", &now);
    observe(a, "a", "created", &later);
    drain(a);
    assert_int_equal(kc_alerts_tracked(a), 4);
    kc_alerts_sweep_unobserved(a, "a", T0 + 1000, T0 + 2000);
    json_t *ev = kc_alerts_take_event(a);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "resolve");
    assert_string_equal(json_string_value(json_object_get(ev, "cluster")), "a");
    assert_string_equal(json_string_value(json_object_get(ev, "connector")), "y");
    assert_string_equal(json_string_value(json_object_get(ev, "message")),
                        "the connector no longer exists");
    json_decref(ev);
    assert_null(kc_alerts_take_event(a));
    assert_int_equal(kc_alerts_tracked(a), 3);
    assert_int_equal(active_count(a, "a", T0 + 2000), 2);
    assert_int_equal(active_count(a, "b", T0 + 2000), 1);
    kc_alerts_forget(a, "b", "y", T0 + 2000);
    kc_alerts_forget(a, "b", "nope", T0 + 2000);
    ev = kc_alerts_take_event(a);
    assert_string_equal(json_string_value(json_object_get(ev, "cluster")), "b");
    json_decref(ev);
    assert_null(kc_alerts_take_event(a));
    kc_alerts_sweep_unobserved(a, "a", T0 + 3000, T0 + 3000); /* a summary without them */
    drain(a);
    assert_int_equal(kc_alerts_tracked(a), 0);
    kc_alerts_free(a);
}

static void test_bounded_memory(void **state)
{
    (void)state;
    struct kc_alerts *a = kc_alerts_new(all_rules, NRULES);
    kc_alerts_set_limits(a, 3, 2, 1000);
    char name[32];
    /* Healthy connectors take no state at all. */
    struct step healthy = {.t = 0, .rps = 10};
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "ok-%d", i);
        observe(a, "default", name, &healthy);
    }
    assert_int_equal(kc_alerts_tracked(a), 0);
    /* A pending rule does; past the cap connectors are not tracked, and counted. */
    struct step failing = {.t = 0, .failed = 1, .rps = 1};
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "bad-%d", i);
        observe(a, "default", name, &failing);
    }
    drain(a);
    assert_int_equal(kc_alerts_tracked(a), 3);
    assert_int_equal(kc_alerts_dropped(a), 7);
    assert_int_equal(active_count(a, "default", T0), 3);
    /* Resolved alerts: at most 2 kept, and only for the keep time. */
    struct step fine = {.t = 500, .rps = 1};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "bad-%d", i);
        observe(a, "default", name, &fine);
    }
    drain(a);
    assert_int_equal(kc_alerts_tracked(a), 0);
    assert_int_equal(kc_alerts_resolved_count(a), 2);
    json_t *doc = kc_alerts_json(a, "default", T0 + 1500);
    assert_int_equal(json_array_size(json_object_get(doc, "resolved")), 2);
    json_decref(doc);
    doc = kc_alerts_json(a, "default", T0 + 1501);
    assert_int_equal(json_array_size(json_object_get(doc, "resolved")), 0);
    json_decref(doc);
    assert_int_equal(kc_alerts_resolved_count(a), 0);
    kc_alerts_free(a);

    /* Nobody draining: the event queue keeps the newest KC_ALERTS_MAX_EVENTS. */
    a = kc_alerts_new(&all_rules[1], 1);
    size_t n = KC_ALERTS_MAX_EVENTS + 50;
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "c-%zu", i);
        observe(a, "default", name, &failing);
    }
    assert_int_equal(kc_alerts_dropped(a), 50);
    json_t *ev = kc_alerts_take_event(a);
    assert_string_equal(json_string_value(json_object_get(ev, "connector")), "c-50");
    json_decref(ev);
    size_t left = 0;
    while ((ev = kc_alerts_take_event(a))) {
        left++;
        json_decref(ev);
    }
    assert_int_equal(left, KC_ALERTS_MAX_EVENTS - 1);
    kc_alerts_free(a); /* frees every tracked connector (ASan checks) */
}

static void test_kind_names(void **state)
{
    (void)state;
    static const struct {
        enum kc_alert_kind kind;
        const char *name;
    } cases[] = {
        {KC_ALERT_ERROR_RATE, "error_rate"},
        {KC_ALERT_TASK_FAILED, "task_failed"},
        {KC_ALERT_ZERO_THROUGHPUT, "zero_throughput"},
        {KC_ALERT_LAG, "lag"},
        {KC_ALERT_JOLOKIA_DOWN, "jolokia_unreachable"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(kc_alerts_kind_name(cases[i].kind), cases[i].name);
    /* No rules: observing is a no-op. */
    struct kc_alerts *a = kc_alerts_new(NULL, 0);
    struct step failing = {.t = 0, .failed = 2};
    observe(a, "default", "x", &failing);
    assert_null(kc_alerts_take_event(a));
    assert_int_equal(kc_alerts_tracked(a), 0);
    kc_alerts_free(a);
}

/* ---- export / import (fleet mode) ---- */

/* kc_alerts_json of one cluster in both evaluators, compared as JSON values. */
static void assert_same_json(struct kc_alerts *a, struct kc_alerts *b, const char *cluster,
                             int64_t now)
{
    json_t *x = kc_alerts_json(a, cluster, now), *y = kc_alerts_json(b, cluster, now);
    assert_non_null(x);
    assert_non_null(y);
    if (!json_equal(x, y)) {
        char *sx = json_dumps(x, JSON_SORT_KEYS), *sy = json_dumps(y, JSON_SORT_KEYS);
        fail_msg("%s\n  !=\n%s", sx, sy);
    }
    json_decref(x);
    json_decref(y);
}

/* Export from a, through text as Redis stores it, into b. */
static int transfer(struct kc_alerts *a, struct kc_alerts *b, const char *cluster)
{
    json_t *st = kc_alerts_export(a, cluster);
    assert_non_null(st);
    char *text = json_dumps(st, JSON_COMPACT);
    assert_non_null(text);
    json_decref(st);
    json_t *back = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(back);
    int rc = kc_alerts_import(b, cluster, back);
    json_decref(back);
    return rc;
}

static void expect_event(struct kc_alerts *a, const char *what, const char *connector,
                         const char *rule, const char *since)
{
    json_t *ev = kc_alerts_take_event(a);
    if (!ev)
        fail_msg("expected %s %s/%s, got nothing", what, connector, rule);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), what);
    assert_string_equal(json_string_value(json_object_get(ev, "connector")), connector);
    assert_string_equal(json_string_value(json_object_get(ev, "rule")), rule);
    assert_string_equal(json_string_value(json_object_get(ev, "since")), since);
    json_decref(ev);
}

static void test_export_import_continues(void **state)
{
    (void)state;
    struct kc_alerts *a = kc_alerts_new(all_rules, NRULES);
    /* orders-src: task failed (fires now), stalled pending (for 1000 ms). */
    struct step bad = {.t = 0, .failed = 1, .rps = 0};
    observe(a, "default", "orders-src", &bad);
    /* orders-sink: lag fires at 100, resolves at 300 (a resolved alert); then errors fire. */
    struct step lag = {.t = 100, .rps = 5, .has_lag = 1, .lag = 500};
    struct step errors = {.t = 300, .rps = 5, .error_rate = 9, .has_lag = 1, .lag = 10};
    observe(a, "default", "orders-sink", &lag);
    observe(a, "default", "orders-sink", &errors);
    /* another cluster, its own state */
    observe(a, "staging", "x", &bad);
    expect_event(a, "fire", "orders-src", "failed", "2025-11-24T16:00:00.000Z");
    expect_event(a, "fire", "orders-sink", "lagging", "2025-11-24T16:00:00.100Z");
    expect_event(a, "fire", "orders-sink", "errors", "2025-11-24T16:00:00.300Z");
    expect_event(a, "resolve", "orders-sink", "lagging", "2025-11-24T16:00:00.100Z");
    drain(a); /* staging's */

    struct kc_alerts *b = kc_alerts_new(all_rules, NRULES);
    assert_int_equal(transfer(a, b, "default"), 0);
    assert_null(kc_alerts_take_event(b)); /* A's transitions were taken: B queues none */
    assert_int_equal(kc_alerts_tracked(b), 2);
    assert_int_equal(kc_alerts_resolved_count(b), 1);
    assert_same_json(a, b, "default", T0 + 400);
    assert_int_equal(active_count(b, "staging", T0 + 400), 0);

    /* B continues: the `for` clock of stalled started at T0 in A. */
    struct step still = {.t = 999, .failed = 1, .rps = 0};
    observe(b, "default", "orders-src", &still);
    assert_null(kc_alerts_take_event(b));
    still.t = 1000;
    observe(b, "default", "orders-src", &still);
    expect_event(b, "fire", "orders-src", "stalled", "2025-11-24T16:00:01.000Z");
    assert_null(kc_alerts_take_event(b));
    /* failed fired in A: resolves in B with A's since, and nothing fires again. */
    struct step fixed = {.t = 2000, .rps = 3};
    observe(b, "default", "orders-src", &fixed);
    json_t *ev = kc_alerts_take_event(b);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "resolve");
    assert_string_equal(json_string_value(json_object_get(ev, "rule")), "failed");
    assert_string_equal(json_string_value(json_object_get(ev, "since")),
                        "2025-11-24T16:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(ev, "resolvedAt")),
                        "2025-11-24T16:00:02.000Z");
    assert_string_equal(json_string_value(json_object_get(ev, "message")),
                        "1 of 2 tasks FAILED: 0");
    json_decref(ev);
    expect_event(b, "resolve", "orders-src", "stalled", "2025-11-24T16:00:01.000Z");
    assert_null(kc_alerts_take_event(b));
    /* errors still firing in B: the same collection in A and B keeps them equal. */
    struct step again = {.t = 2000, .rps = 5, .error_rate = 9, .has_lag = 1, .lag = 10};
    observe(a, "default", "orders-sink", &again);
    observe(b, "default", "orders-sink", &again);
    assert_null(kc_alerts_take_event(a));
    assert_null(kc_alerts_take_event(b));

    /* Back from B to A (the lease moves again): A now equals B, staging untouched in A. */
    assert_int_equal(transfer(b, a, "default"), 0);
    assert_null(kc_alerts_take_event(a));
    assert_same_json(a, b, "default", T0 + 2000);
    assert_int_equal(active_count(a, "staging", T0 + 2000), 1);
    assert_int_equal(kc_alerts_tracked(a), 2); /* orders-sink, staging/x */
    kc_alerts_free(a);
    kc_alerts_free(b);
}

static void test_import_replaces_one_cluster(void **state)
{
    (void)state;
    struct kc_alerts *a = kc_alerts_new(all_rules, NRULES);
    struct kc_alerts *b = kc_alerts_new(all_rules, NRULES);
    struct step failing = {.t = 0, .failed = 1, .rps = 1};
    struct step fine = {.t = 50, .rps = 1};
    /* B: old state of default (y firing, z resolved) and of staging (resolved between). */
    observe(b, "default", "y", &failing);
    observe(b, "default", "z", &failing);
    observe(b, "default", "z", &fine);
    observe(b, "staging", "s", &failing);
    struct step late = {.t = 300, .rps = 1};
    observe(b, "staging", "s", &late);
    drain(b);
    /* A: default has x firing and w resolved at 100. */
    observe(a, "default", "x", &failing);
    observe(a, "default", "w", &failing);
    struct step at100 = {.t = 100, .rps = 1};
    observe(a, "default", "w", &at100);
    drain(a);

    assert_int_equal(transfer(a, b, "default"), 0);
    assert_null(kc_alerts_take_event(b));
    assert_same_json(a, b, "default", T0 + 400);
    assert_int_equal(kc_alerts_tracked(b), 1); /* x; y is gone (no resolve event either) */
    assert_int_equal(kc_alerts_resolved_count(b), 2); /* w (default), s (staging) */
    json_t *doc = kc_alerts_json(b, "staging", T0 + 400);
    json_t *res = json_object_get(doc, "resolved");
    assert_int_equal(json_array_size(res), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "connector")),
                        "s");
    json_decref(doc);

    /* Resolved alerts of both clusters stay ordered by time: w (100) expires before s (300). */
    kc_alerts_set_limits(a, 100, 4, 1000);
    kc_alerts_set_limits(b, 100, 4, 1000);
    /* set_limits restarts the rings: resolve again at 100 in A, at 300 in B's staging. */
    observe(a, "default", "w", &failing);
    observe(a, "default", "w", &at100);
    observe(b, "staging", "s", &failing);
    observe(b, "staging", "s", &late);
    drain(a);
    drain(b);
    assert_int_equal(transfer(a, b, "default"), 0);
    assert_int_equal(kc_alerts_resolved_count(b), 2);
    doc = kc_alerts_json(b, "default", T0 + 1101);
    assert_int_equal(json_array_size(json_object_get(doc, "resolved")), 0);
    json_decref(doc);
    assert_int_equal(kc_alerts_resolved_count(b), 1); /* pruned w; s is newer */

    /* An export of nothing clears the cluster. */
    struct kc_alerts *empty = kc_alerts_new(all_rules, NRULES);
    assert_int_equal(transfer(empty, b, "default"), 0);
    assert_int_equal(active_count(b, "default", T0 + 1101), 0);
    assert_int_equal(kc_alerts_tracked(b), 0);
    assert_int_equal(kc_alerts_resolved_count(b), 1);
    kc_alerts_free(empty);
    kc_alerts_free(a);
    kc_alerts_free(b);
}

static void test_export_shape(void **state)
{
    (void)state;
    struct kc_alerts *a = kc_alerts_new(all_rules, NRULES);
    struct step s = {.t = 0, .failed = 1, .rps = 0};
    observe(a, "default", "c", &s);
    struct step healthy = {.t = 0, .rps = 3};
    observe(a, "default", "ok", &healthy); /* idle: not exported */
    drain(a);
    json_t *st = kc_alerts_export(a, "default");
    char *text = json_dumps(st, JSON_COMPACT);
    assert_string_equal(
        text, "{\"v\":1,\"rules\":[\"errors\",\"failed\",\"stalled\",\"lagging\",\"agents\"],"
              "\"tracked\":{\"c\":[[1,\"f\",1764000000000,1.0,\"1 of 2 tasks FAILED: 0\"],"
              "[2,\"p\",1764000000000,0.0,\"0.00 records/s while RUNNING\"]]},\"resolved\":[]}");
    free(text);
    json_decref(st);
    st = kc_alerts_export(a, "other");
    text = json_dumps(st, JSON_COMPACT);
    assert_string_equal(text, "{\"v\":1,\"rules\":[\"errors\",\"failed\",\"stalled\",\"lagging\","
                              "\"agents\"],\"tracked\":{},\"resolved\":[]}");
    free(text);
    json_decref(st);
    kc_alerts_free(a);
}

#define RULES "\"rules\":[\"errors\",\"failed\",\"stalled\",\"lagging\",\"agents\"]"
#define FIRING "[1,\"f\",1764000000000,1,\"m\"]"

/* Garbage from Redis: -1 with the evaluator unchanged, or entries skipped. */
static const struct garbage_case {
    const char *json;
    int rc;         /* expected return */
    size_t tracked; /* connectors of "default" afterwards (-1: unchanged = 1) */
    size_t resolved;
} garbage_cases[] = {
    {"null", -1, 1, 1},
    {"[]", -1, 1, 1},
    {"\"v1\"", -1, 1, 1},
    {"{}", -1, 1, 1},
    {"{\"v\":2," RULES ",\"tracked\":{},\"resolved\":[]}", -1, 1, 1},
    {"{\"v\":\"1\"," RULES ",\"tracked\":{},\"resolved\":[]}", -1, 1, 1},
    {"{\"v\":1.0," RULES ",\"tracked\":{},\"resolved\":[]}", -1, 1, 1},
    {"{\"v\":1,\"rules\":{},\"tracked\":{},\"resolved\":[]}", -1, 1, 1},
    {"{\"v\":1," RULES ",\"tracked\":[],\"resolved\":[]}", -1, 1, 1},
    {"{\"v\":1," RULES ",\"tracked\":{},\"resolved\":{}}", -1, 1, 1},
    {"{\"v\":1," RULES ",\"resolved\":[]}", -1, 1, 1},
    /* an export: malformed entries skipped */
    {"{\"v\":1," RULES ",\"tracked\":{},\"resolved\":[]}", 0, 0, 0},
    {"{\"v\":1," RULES ",\"tracked\":{\"c\":" FIRING ",\"d\":null,\"e\":[],\"f\":[[]],"
     "\"g\":[null,1,\"x\",{}],\"h\":[[1]],\"i\":[[1,\"f\",1764000000000,1]]},\"resolved\":[]}",
     0, 0, 0},
    {"{\"v\":1," RULES ",\"tracked\":{"
     "\"a\":[[-1,\"f\",1764000000000,1,\"m\"]],"
     "\"b\":[[5,\"f\",1764000000000,1,\"m\"]],"
     "\"c\":[[9223372036854775807,\"f\",1764000000000,1,\"m\"]],"
     "\"d\":[[1.5,\"f\",1764000000000,1,\"m\"]],"
     "\"e\":[[1,\"x\",1764000000000,1,\"m\"]],"
     "\"f\":[[1,\"f\",\"2025-11-24\",1,\"m\"]],"
     "\"g\":[[1,\"f\",-9223372036854775807,1,\"m\"]],"
     "\"h\":[[1,\"p\",9223372036854775807,1,\"m\"]],"
     "\"i\":[[1,\"f\",1764000000000,\"1\",\"m\"]],"
     "\"j\":[[1,\"f\",1764000000000,1e300,\"m\"]],"
     "\"k\":[[1,\"f\",1764000000000,1,null]],"
     "\"ok\":[[1,\"f\",1764000000000,2,\"m\"]]},\"resolved\":[]}",
     0, 1, 0},
    /* rule names: only the rule whose name matches at its index is taken */
    {"{\"v\":1,\"rules\":[\"errors\",\"renamed\",\"stalled\"],\"tracked\":{"
     "\"a\":[[1,\"f\",1764000000000,1,\"m\"]],\"b\":[[2,\"p\",1764000000000,0,\"m\"]],"
     "\"c\":[[3,\"p\",1764000000000,0,\"m\"]]},\"resolved\":["
     "[\"a\",1,1764000000000,1764000000100,1,\"m\"],"
     "[\"b\",0,1764000000000,1764000000100,1,\"m\"]]}",
     0, 1, 1},
    {"{\"v\":1,\"rules\":[null,42,[]],\"tracked\":{\"a\":[[0,\"f\",1764000000000,1,\"m\"]]},"
     "\"resolved\":[]}",
     0, 0, 0},
    {"{\"v\":1," RULES ",\"tracked\":{},\"resolved\":[null,[],{},\"x\","
     "[\"a\"],[1,1,1764000000000,1764000000100,1,\"m\"],"
     "[\"a\",7,1764000000000,1764000000100,1,\"m\"],"
     "[\"a\",1,-5,1764000000100,1,\"m\"],"
     "[\"a\",1,1764000000000,1764000000100,-1e300,\"m\"],"
     "[\"a\",1,1764000000000,1764000000100,1,\"m\"]]}",
     0, 0, 1},
};

static void test_import_garbage(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof garbage_cases / sizeof garbage_cases[0]; c++) {
        const struct garbage_case *gc = &garbage_cases[c];
        struct kc_alerts *a = kc_alerts_new(all_rules, NRULES);
        struct step failing = {.t = 0, .failed = 1, .rps = 1}, fine = {.t = 10, .rps = 1};
        observe(a, "default", "old", &failing);
        observe(a, "default", "gone", &failing);
        observe(a, "default", "gone", &fine);
        drain(a);
        json_t *before = kc_alerts_json(a, "default", T0 + 100);
        json_error_t err;
        json_t *st = json_loads(gc->json, JSON_DECODE_ANY, &err);
        if (!st)
            fail_msg("case %zu: bad test JSON: %s", c, err.text);
        int rc = kc_alerts_import(a, "default", st);
        json_decref(st);
        if (rc != gc->rc)
            fail_msg("case %zu: returned %d, expected %d", c, rc, gc->rc);
        assert_null(kc_alerts_take_event(a));
        if (rc < 0) {
            json_t *after = kc_alerts_json(a, "default", T0 + 100);
            assert_true(json_equal(before, after));
            json_decref(after);
        }
        json_decref(before);
        if (kc_alerts_tracked(a) != gc->tracked || kc_alerts_resolved_count(a) != gc->resolved)
            fail_msg("case %zu: %zu tracked, %zu resolved; expected %zu, %zu", c,
                     kc_alerts_tracked(a), kc_alerts_resolved_count(a), gc->tracked,
                     gc->resolved);
        /* Whatever was imported is usable: observing and rendering it works. */
        observe(a, "default", "ok", &fine);
        observe(a, "default", "a", &fine);
        drain(a);
        json_decref(kc_alerts_json(a, "default", T0 + 100));
        kc_alerts_free(a);
    }
    assert_int_equal(kc_alerts_import(NULL, "default", NULL), -1);
#if JANSSON_VERSION_HEX >= 0x020e00
    /* Keys with a NUL byte (a built json_t, not parsed text) read as the same C string: one. */
    json_t *st = json_loads("{\"v\":1," RULES ",\"tracked\":{},\"resolved\":[]}", 0, NULL);
    json_t *tracked = json_object_get(st, "tracked");
    json_object_setn_new(tracked, "a\0x", 3, json_pack("[[I,s,I,f,s]]", 1, "f", T0, 1.0, "m"));
    json_object_setn_new(tracked, "a\0y", 3, json_pack("[[I,s,I,f,s]]", 1, "f", T0, 1.0, "m"));
    assert_int_equal(json_object_size(tracked), 2);
    struct kc_alerts *a = kc_alerts_new(all_rules, NRULES);
    assert_int_equal(kc_alerts_import(a, "default", st), 0);
    assert_int_equal(kc_alerts_tracked(a), 1);
    assert_int_equal(active_count(a, "default", T0), 1);
    kc_alerts_free(a);
    json_decref(st);
#endif
}

static void test_import_bounds(void **state)
{
    (void)state;
    struct kc_alerts *a = kc_alerts_new(all_rules, NRULES);
    struct step failing = {.t = 0, .failed = 1, .rps = 1};
    char name[32];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "c-%d", i);
        observe(a, "default", name, &failing);
        struct step fine = {.t = 10 + i, .rps = 1};
        observe(a, "default", name, &fine);
        observe(a, "default", name, &failing); /* fires again: 10 tracked, 10 resolved */
    }
    drain(a);
    json_t *st = kc_alerts_export(a, "default");
    assert_int_equal(json_object_size(json_object_get(st, "tracked")), 10);
    assert_int_equal(json_array_size(json_object_get(st, "resolved")), 10);

    /* B holds one connector of another cluster; room for 3 tracked, 4 resolved. */
    struct kc_alerts *b = kc_alerts_new(all_rules, NRULES);
    kc_alerts_set_limits(b, 3, 4, 3600000);
    observe(b, "staging", "s", &failing);
    drain(b);
    assert_int_equal(kc_alerts_import(b, "default", st), 0);
    assert_int_equal(kc_alerts_tracked(b), 3);
    assert_int_equal(kc_alerts_dropped(b), 8); /* 10 - 2 */
    assert_int_equal(kc_alerts_resolved_count(b), 4);
    json_t *doc = kc_alerts_json(b, "default", T0 + 100);
    json_t *res = json_object_get(doc, "resolved");
    assert_int_equal(json_array_size(res), 4); /* the newest: c-9 … c-6 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "connector")),
                        "c-9");
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 3), "connector")),
                        "c-6");
    json_decref(doc);
    assert_int_equal(active_count(b, "staging", T0 + 100), 1);

    /* No room for resolved at all. */
    kc_alerts_set_limits(b, 100, 0, 3600000);
    assert_int_equal(kc_alerts_import(b, "default", st), 0);
    assert_int_equal(kc_alerts_resolved_count(b), 0);
    assert_int_equal(kc_alerts_tracked(b), 11);

    /* Rules differ in count: a shorter rule list takes the rules it has. */
    struct kc_alerts *c = kc_alerts_new(all_rules, 2); /* errors, failed */
    assert_int_equal(kc_alerts_import(c, "default", st), 0);
    assert_int_equal(kc_alerts_tracked(c), 10);
    assert_int_equal(active_count(c, "default", T0 + 100), 10);
    kc_alerts_free(c);
    json_decref(st);
    kc_alerts_free(a);
    kc_alerts_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_cases),
        cmocka_unit_test(test_json_shape_and_events),
        cmocka_unit_test(test_disappearing_connectors),
        cmocka_unit_test(test_bounded_memory),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_export_import_continues),
        cmocka_unit_test(test_import_replaces_one_cluster),
        cmocka_unit_test(test_export_shape),
        cmocka_unit_test(test_import_garbage),
        cmocka_unit_test(test_import_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
