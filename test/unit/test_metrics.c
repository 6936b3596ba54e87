/* test_metrics.c — the metrics document and summary row from status + JMX results + the
 * previous state: first-collection rates, deltas, resets, errorRate, FAILED bytes, lag,
 * missing workers, document types, and the speed of a 5,000-connector summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kc/connect_model.h"
#include "kc/jolokia.h"
#include "kc/metrics.h"

#define NOV (-1.0) /* no bean / null value in a row */

struct row {
    int task;
    double records, records_rate, bytes, bytes_rate, errors, lag;
    double taken; /* source-record-poll-total / sink-record-read-total; 0 = attribute absent */
};

struct jvm_row {
    double used, max, threads, cpu;
};

static void appendf(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void appendf(char **s, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    size_t a = *s ? strlen(*s) : 0, b = strlen(tmp);
    *s = realloc(*s, a + b + 1);
    memcpy(*s + a, tmp, b + 1);
}

static void num(char **s, const char *key, double v, int *first)
{
    appendf(s, "%s\"%s\":", *first ? "" : ",", key);
    if (v == NOV)
        appendf(s, "null");
    else
        appendf(s, "%.17g", v);
    *first = 0;
}

/* A Jolokia bulk answer for plan (TASKS | SOURCE or SINK | JVM) holding rows, parsed the way
 * the collector does it. A row's bytes == NOV leaves out its client bean (FAILED task). */
static struct kc_jmx_result *jmx_for(const char *conn, int sink, const struct row *rows, size_t n,
                                     const struct jvm_row *jvm)
{
    char *s = NULL;
    appendf(&s, "[{\"status\":200,\"value\":{");
    for (size_t i = 0; i < n; i++)
        appendf(&s, "%s\"kafka.connect:connector=%s,task=%d,type=connector-task-metrics\":"
                    "{\"status\":\"running\"}", i ? "," : "", conn, rows[i].task);
    appendf(&s, "}},{\"status\":200,\"value\":{");
    for (size_t i = 0; i < n; i++) {
        int first = 1;
        appendf(&s, "%s\"kafka.connect:connector=%s,task=%d,type=%s-task-metrics\":{",
                i ? "," : "", conn, rows[i].task, sink ? "sink" : "source");
        num(&s, sink ? "sink-record-send-total" : "source-record-write-total", rows[i].records,
            &first);
        num(&s, sink ? "sink-record-send-rate" : "source-record-write-rate", rows[i].records_rate,
            &first);
        if (rows[i].taken != 0)
            num(&s, sink ? "sink-record-read-total" : "source-record-poll-total", rows[i].taken,
                &first);
        appendf(&s, "}");
    }
    appendf(&s, "}},{\"status\":200,\"value\":{");
    for (size_t i = 0; i < n; i++) {
        int first = 1;
        appendf(&s, "%s\"kafka.connect:connector=%s,task=%d,type=task-error-metrics\":{",
                i ? "," : "", conn, rows[i].task);
        num(&s, "total-record-errors", rows[i].errors, &first);
        appendf(&s, "}");
    }
    appendf(&s, "}},{\"status\":200,\"value\":{");
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].bytes == NOV)
            continue;
        int first = 1;
        if (sink) {
            appendf(&s, "%s\"kafka.consumer:client-id=connector-consumer-%s-%d,"
                        "type=consumer-fetch-manager-metrics\":{", any ? "," : "", conn,
                    rows[i].task);
            num(&s, "bytes-consumed-total", rows[i].bytes, &first);
            num(&s, "bytes-consumed-rate", rows[i].bytes_rate, &first);
        } else {
            /* split over two topics to exercise the sum */
            appendf(&s, "%s\"kafka.producer:client-id=connector-producer-%s-%d,topic=a,"
                        "type=producer-topic-metrics\":{", any ? "," : "", conn, rows[i].task);
            num(&s, "byte-total", rows[i].bytes / 2, &first);
            num(&s, "byte-rate", rows[i].bytes_rate / 2, &first);
            appendf(&s, "},\"kafka.producer:client-id=connector-producer-%s-%d,topic=b,"
                        "type=producer-topic-metrics\":{", conn, rows[i].task);
            first = 1;
            num(&s, "byte-total", rows[i].bytes / 2, &first);
            num(&s, "byte-rate", rows[i].bytes_rate / 2, &first);
        }
        appendf(&s, "}");
        any = 1;
    }
    appendf(&s, "}}");
    if (sink) { /* records-lag-max is an element of its own (jolokia.c: may be NaN) */
        appendf(&s, ",{\"status\":200,\"value\":{");
        for (size_t i = 0, k = 0; i < n; i++) {
            if (rows[i].bytes == NOV)
                continue;
            int first = 1;
            appendf(&s, "%s\"kafka.consumer:client-id=connector-consumer-%s-%d,"
                        "type=consumer-fetch-manager-metrics\":{", k++ ? "," : "", conn,
                    rows[i].task);
            num(&s, "records-lag-max", rows[i].lag, &first);
            appendf(&s, "}");
        }
        appendf(&s, "}}");
    }
    if (jvm)
        appendf(&s, ",{\"status\":200,\"value\":{\"HeapMemoryUsage\":{\"used\":%.0f,\"max\":%.0f,"
                    "\"committed\":%.0f}}},{\"status\":200,\"value\":{\"ThreadCount\":%.0f}},"
                    "{\"status\":200,\"value\":{\"ProcessCpuLoad\":%g,\"SystemCpuLoad\":0.9}}",
                jvm->used, jvm->max, jvm->used * 2, jvm->threads, jvm->cpu);
    appendf(&s, "]");
    struct kc_jolokia_plan plan;
    assert_int_equal(kc_jolokia_plan_init(&plan, conn,
                                          KC_JOLOKIA_TASKS |
                                              (sink ? KC_JOLOKIA_SINK : KC_JOLOKIA_SOURCE) |
                                              (jvm ? KC_JOLOKIA_JVM : 0u)),
                     0);
    struct kc_jmx_result *r = kc_jolokia_result_new();
    if (kc_jolokia_parse_bulk(&plan, s, strlen(s), "jolokia test", NULL, r) != 0)
        fail_msg("synthetic body refused: %s", s);
    assert_int_equal(kc_jolokia_result_warning_count(r), 0);
    kc_jolokia_plan_clear(&plan);
    free(s);
    return r;
}

static void status_of(const char *json, struct kc_connector_status *st)
{
    if (kc_connect_model_parse_status_text(json, strlen(json), st) != 0)
        fail_msg("bad status %s", json);
}

static const char SRC_STATUS[] =
    "{\"name\":\"datagen-users\",\"type\":\"source\",\"connector\":{\"state\":\"RUNNING\","
    "\"worker_id\":\"w1:8083\"},\"tasks\":[{\"id\":1,\"state\":\"RUNNING\",\"worker_id\":"
    "\"w1:8083\"},{\"id\":0,\"state\":\"RUNNING\",\"worker_id\":\"w1:8083\"}]}";

static const char SRC_STATUS_T1_FAILED[] =
    "{\"name\":\"datagen-users\",\"type\":\"source\",\"connector\":{\"state\":\"RUNNING\","
    "\"worker_id\":\"w1:8083\"},\"tasks\":[{\"id\":0,\"state\":\"RUNNING\",\"worker_id\":"
    "\"w1:8083\"},{\"id\":1,\"state\":\"FAILED\",\"worker_id\":\"w1:8083\",\"trace\":\"x\"}]}";

/* One step of a scenario: a status, the rows on w1, the clock, and what must come out. */
struct step {
    const char *status;
    int64_t now_ms;
    struct row rows[2];
    size_t nrows;
    double rps, bps, total_records, total_bytes, total_errors, recent;
    double task_bytes[2];
    int from_attrs;
};

struct scenario {
    const char *name;
    struct step steps[4];
    size_t nsteps;
};

static const struct scenario scenarios[] = {
    {"first uses *-rate, second uses deltas",
     {{SRC_STATUS, 1000000, {{0, 1000, 10, 5000, 50, 1, 0}, {1, 2000, 5, 8000, 30, 2, 0}}, 2,
       15, 80, 3000, 13000, 3, 0, {5000, 8000}, 1},
      {SRC_STATUS, 1005000, {{0, 1100, 99, 5500, 99, 1, 0}, {1, 2150, 99, 8300, 99, 4, 0}}, 2,
       50, 160, 3250, 13800, 5, 2, {5500, 8300}, 0}},
     2},
    {"a counter reset falls back to that task's *-rate, never negative",
     {{SRC_STATUS, 0 + 1000000, {{0, 1000, 10, 5000, 50, 5, 0}, {1, 2000, 5, 8000, 30, 2, 0}}, 2,
       15, 80, 3000, 13000, 7, 0, {5000, 8000}, 1},
      /* task 1 restarted: 2000 → 40 records, 8000 → 100 bytes, 2 → 1 error */
      {SRC_STATUS, 1010000, {{0, 1500, 99, 6000, 99, 5, 0}, {1, 40, 4, 100, 7, 1, 0}}, 2,
       50 + 4, 100 + 7, 1540, 6100, 6, 1, {6000, 100}, 0},
      /* next interval: plain deltas again */
      {SRC_STATUS, 1020000, {{0, 2500, 99, 7000, 99, 5, 0}, {1, 140, 4, 200, 7, 1, 0}}, 2,
       110, 110, 2640, 7200, 6, 0, {7000, 200}, 0}},
     3},
    {"FAILED task keeps the last bytes seen, rate undisturbed",
     {{SRC_STATUS, 1000000, {{0, 1000, 10, 5000, 50, 0, 0}, {1, 2000, 5, 8000, 30, 0, 0}}, 2,
       15, 80, 3000, 13000, 0, 0, {5000, 8000}, 1},
      {SRC_STATUS_T1_FAILED, 1005000,
       {{0, 1500, 99, 5500, 99, 0, 0}, {1, 2000, 0, NOV, NOV, 0, 0}}, 2,
       100, 100, 3500, 13500, 0, 0, {5500, 8000}, 0},
      {SRC_STATUS_T1_FAILED, 1010000,
       {{0, 2000, 99, 6000, 99, 0, 0}, {1, 2000, 0, NOV, NOV, 0, 0}}, 2,
       100, 100, 4000, 14000, 0, 0, {6000, 8000}, 0}},
     3},
    {"FAILED task never seen before shows 0 bytes",
     {{SRC_STATUS_T1_FAILED, 1000000,
       {{0, 1000, 10, 5000, 50, 0, 0}, {1, 2000, 0, NOV, NOV, 0, 0}}, 2,
       10, 50, 3000, 5000, 0, 0, {5000, 0}, 1}},
     1},
    {"clock going backwards: rates from attributes",
     {{SRC_STATUS, 1000000, {{0, 1000, 10, 5000, 50, 0, 0}, {1, 2000, 5, 8000, 30, 0, 0}}, 2,
       15, 80, 3000, 13000, 0, 0, {5000, 8000}, 1},
      {SRC_STATUS, 999000, {{0, 1100, 11, 5100, 51, 0, 0}, {1, 2100, 6, 8100, 31, 0, 0}}, 2,
       17, 82, 3200, 13200, 0, 0, {5100, 8100}, 1}},
     2},
};

static void test_scenarios(void **state)
{
    (void)state;
    for (size_t si = 0; si < sizeof scenarios / sizeof scenarios[0]; si++) {
        const struct scenario *sc = &scenarios[si];
        struct kc_metrics_state *ms = kc_metrics_state_new();
        for (size_t k = 0; k < sc->nsteps; k++) {
            const struct step *s = &sc->steps[k];
            struct kc_connector_status st;
            status_of(s->status, &st);
            struct kc_jmx_result *r = jmx_for("datagen-users", 0, s->rows, s->nrows, NULL);
            struct kc_metrics_source src = {"w1:8083", r, NULL};
            struct kc_metrics_input in = {"default", &st, &src, 1, s->now_ms, 1000};
            struct kc_metrics_calc c;
            assert_int_equal(kc_metrics_compute(&in, ms, &c), 0);
#define CHECK(field, want)                                                                         \
    if (fabs((field) - (want)) > 1e-9)                                                             \
        fail_msg("%s, step %zu: " #field " = %.17g, want %.17g", sc->name, k, (double)(field),    \
                 (double)(want));
            CHECK(c.records_per_sec, s->rps);
            CHECK(c.bytes_per_sec, s->bps);
            CHECK(c.total_records, s->total_records);
            CHECK(c.total_bytes, s->total_bytes);
            CHECK(c.total_errors, s->total_errors);
            CHECK(c.recent_errors, s->recent);
            CHECK(c.tasks[0].bytes, s->task_bytes[0]);
            CHECK(c.tasks[1].bytes, s->task_bytes[1]);
            assert_int_equal(c.rates_from_attributes, s->from_attrs);
            if (c.warning_count)
                fail_msg("%s, step %zu: warning %s", sc->name, k, c.warnings[0]);
            kc_metrics_calc_clear(&c);
            kc_jolokia_result_free(r);
            kc_connect_model_status_clear(&st);
        }
        kc_metrics_state_free(ms);
    }
}

/* The seed's example: 5 errors in 1,500,000 records, checked on the JSON document. */
static void test_seed_document(void **state)
{
    (void)state;
    struct kc_connector_status st;
    status_of(SRC_STATUS, &st);
    static const struct row rows[] = {{0, 750000, 62.75, 94080000, 7840, 2, 0},
                                      {1, 750000, 62.75, 94080000, 7840, 3, 0}};
    static const struct jvm_row jvm = {612368384, 2147483648.0, 84, 0.173};
    struct kc_jmx_result *r = jmx_for("datagen-users", 0, rows, 2, &jvm);
    struct kc_metrics_source src = {"w1:8083", r, NULL};
    struct kc_metrics_input in = {"default", &st, &src, 1, 1761111015123LL, 150000000};
    json_t *doc = kc_metrics_build_document(&in, NULL);
    assert_non_null(doc);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(12));
    printf("  %s\n", text);
    free(text);
    json_t *tp = json_object_get(doc, "throughput"), *er = json_object_get(doc, "errors"),
           *rs = json_object_get(doc, "resources");
    assert_string_equal(json_string_value(json_object_get(doc, "connectorName")), "datagen-users");
    assert_true(json_is_real(json_object_get(tp, "recordsPerSecond")));
    assert_true(json_real_value(json_object_get(tp, "recordsPerSecond")) == 125.5);
    assert_true(json_is_real(json_object_get(tp, "bytesPerSecond")));
    assert_true(json_real_value(json_object_get(tp, "bytesPerSecond")) == 15680);
    assert_true(json_is_integer(json_object_get(tp, "totalRecords")));
    assert_int_equal(json_integer_value(json_object_get(tp, "totalRecords")), 1500000);
    assert_int_equal(json_integer_value(json_object_get(tp, "totalBytes")), 188160000);
    assert_int_equal(json_integer_value(json_object_get(er, "totalErrors")), 5);
    double rate = json_real_value(json_object_get(er, "errorRate"));
    assert_true(fabs(rate - 5.0 / 1500000 * 100) < 1e-15);
    assert_true(rate > 0.00033 && rate < 0.00034);
    assert_true(json_is_integer(json_object_get(er, "recentErrorCount")));
    assert_true(fabs(json_real_value(json_object_get(rs, "cpuPercent")) - 17.3) < 1e-9);
    assert_true(json_is_real(json_object_get(rs, "memoryUsedMB")));
    assert_true(fabs(json_real_value(json_object_get(rs, "memoryUsedMB")) - 584.0) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(rs, "memoryTotalMB")) - 2048.0) < 1e-9);
    assert_int_equal(json_integer_value(json_object_get(rs, "threadCount")), 84);
    json_t *tasks = json_object_get(doc, "tasks");
    assert_int_equal(json_array_size(tasks), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *t = json_array_get(tasks, i);
        assert_int_equal(json_integer_value(json_object_get(t, "taskId")), (json_int_t)i);
        assert_int_equal(json_integer_value(json_object_get(t, "recordsProcessed")), 750000);
        assert_int_equal(json_integer_value(json_object_get(t, "bytesProcessed")), 94080000);
        assert_int_equal(json_integer_value(json_object_get(t, "errorCount")), (json_int_t)(2 + i));
        assert_string_equal(json_string_value(json_object_get(t, "state")), "RUNNING");
        assert_string_equal(json_string_value(json_object_get(t, "workerId")), "w1:8083");
    }
    assert_string_equal(json_string_value(json_object_get(doc, "lastUpdated")),
                        "2025-10-22T05:30:15.123Z");
    assert_true(json_is_integer(json_object_get(doc, "collectionDuration")));
    assert_int_equal(json_integer_value(json_object_get(doc, "collectionDuration")), 150000000);
    assert_string_equal(json_string_value(json_object_get(doc, "cluster")), "default");
    assert_string_equal(json_string_value(json_object_get(doc, "type")), "source");
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "RUNNING");
    assert_true(json_is_null(json_object_get(doc, "lag")));
    assert_true(json_is_false(json_object_get(doc, "stale")));
    assert_int_equal(json_array_size(json_object_get(doc, "warnings")), 0);
    json_decref(doc);
    kc_jolokia_result_free(r);
    kc_connect_model_status_clear(&st);
}

static const char SINK_STATUS[] =
    "{\"name\":\"orders-sink\",\"type\":\"sink\",\"connector\":{\"state\":\"RUNNING\","
    "\"worker_id\":\"127.0.0.1:8083\"},\"tasks\":["
    "{\"id\":0,\"state\":\"RUNNING\",\"worker_id\":\"127.0.0.1:8083\"},"
    "{\"id\":1,\"state\":\"RUNNING\",\"worker_id\":\"127.0.0.2:8083\"},"
    "{\"id\":2,\"state\":\"UNASSIGNED\",\"worker_id\":\"\"}]}";

/* Sink lag = max over tasks; all-null lag = null; a failed worker = zeros + its warning. */
/* errorRate = errors ÷ records taken in (poll/read totals) × 100, at most 100: a sink whose
 * every record fails conversion sends none and shows 100 %, not 0 %. */
static const struct {
    const char *what;
    int sink;
    struct row rows[2];
    double rate;
} rate_cases[] = {
    {"every record fails conversion (sink: read 706, sent 0, errors 706)", 1,
     {{0, 0, 0, 1000, 0, 706, 0, 706}, {1, 0, 0, 0, 0, 0, 0, 0}}, 100},
    {"read counts more than sent + errors (in flight)", 1,
     {{0, 900, 0, 1000, 0, 50, 0, 1000}, {1, 0, 0, 0, 0, 0, 0, 0}}, 5},
    {"summed over tasks", 1,
     {{0, 300, 0, 1, 0, 100, 0, 400}, {1, 500, 0, 1, 0, 0, 0, 600}}, 10},
    {"source: polled is the base", 0,
     {{0, 80, 0, 1, 0, 20, 0, 100}, {1, 100, 0, 1, 0, 0, 0, 100}}, 10},
    {"no poll/read attribute: the sent records are the base", 0,
     {{0, 1500000, 0, 1, 0, 5, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0}}, 5.0 / 1500000 * 100},
    {"one task without the attribute counts its sent records", 1,
     {{0, 100, 0, 1, 0, 10, 0, 200}, {1, 300, 0, 1, 0, 0, 0, 0}}, 2},
    {"null poll/read (NaN) counts the sent records", 1,
     {{0, 100, 0, 1, 0, 10, 0, NOV}, {1, 0, 0, 0, 0, 0, 0, 0}}, 10},
    {"capped at 100 (errors counted twice by retries)", 1,
     {{0, 0, 0, 1, 0, 30, 0, 20}, {1, 0, 0, 0, 0, 0, 0, 0}}, 100},
    {"nothing taken in: 0", 1, {{0, 0, 0, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0}}, 0},
    {"errors but nothing taken in or sent: 0", 0,
     {{0, 0, 0, 0, 0, 3, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0}}, 0},
};

static const char SINK2_STATUS[] =
    "{\"name\":\"errs\",\"type\":\"sink\",\"connector\":{\"state\":\"RUNNING\",\"worker_id\":"
    "\"w1:8083\"},\"tasks\":[{\"id\":0,\"state\":\"RUNNING\",\"worker_id\":\"w1:8083\"},"
    "{\"id\":1,\"state\":\"RUNNING\",\"worker_id\":\"w1:8083\"}]}";
static const char SRC2_STATUS[] =
    "{\"name\":\"errs\",\"type\":\"source\",\"connector\":{\"state\":\"RUNNING\",\"worker_id\":"
    "\"w1:8083\"},\"tasks\":[{\"id\":0,\"state\":\"RUNNING\",\"worker_id\":\"w1:8083\"},"
    "{\"id\":1,\"state\":\"RUNNING\",\"worker_id\":\"w1:8083\"}]}";

static void test_error_rate(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof rate_cases / sizeof rate_cases[0]; ci++) {
        struct kc_connector_status st;
        status_of(rate_cases[ci].sink ? SINK2_STATUS : SRC2_STATUS, &st);
        struct kc_jmx_result *r = jmx_for("errs", rate_cases[ci].sink, rate_cases[ci].rows, 2, NULL);
        struct kc_metrics_source src = {"w1:8083", r, NULL};
        struct kc_metrics_input in = {"default", &st, &src, 1, 1000, 5};
        json_t *doc = kc_metrics_build_document(&in, NULL);
        json_t *row = kc_metrics_build_summary_row(&in, NULL);
        assert_non_null(doc);
        assert_non_null(row);
        json_t *er = json_object_get(json_object_get(doc, "errors"), "errorRate");
        assert_true(json_is_real(er));
        if (fabs(json_real_value(er) - rate_cases[ci].rate) > 1e-12)
            fail_msg("%s: errorRate %.17g, want %.17g", rate_cases[ci].what, json_real_value(er),
                     rate_cases[ci].rate);
        assert_true(json_real_value(json_object_get(row, "errorRate")) == json_real_value(er));
        json_decref(doc);
        json_decref(row);
        kc_jolokia_result_free(r);
        kc_connect_model_status_clear(&st);
    }
}

static void test_sink_lag_and_missing_worker(void **state)
{
    (void)state;
    struct kc_connector_status st;
    status_of(SINK_STATUS, &st);
    static const struct row rows[] = {{0, 1500, 3, 51200, 12.5, 0, 42}};
    static const struct jvm_row jvm = {104857600, -1, 40, 0.5};
    struct kc_jmx_result *r = jmx_for("orders-sink", 1, rows, 1, &jvm);
    struct kc_metrics_source src[] = {
        {"127.0.0.1:8083", r, NULL},
        {"127.0.0.2:8083", NULL, "jolokia 127.0.0.2:8083: connection refused"},
    };
    struct kc_metrics_input in = {"default", &st, src, 2, 1000, 5};
    json_t *doc = kc_metrics_build_document(&in, NULL);
    assert_non_null(doc);
    json_t *lag = json_object_get(doc, "lag");
    assert_true(json_is_object(lag));
    assert_int_equal(json_integer_value(json_object_get(lag, "recordsLagMax")), 42);
    json_t *w = json_object_get(doc, "warnings");
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(json_string_value(json_array_get(w, 0)),
                        "jolokia 127.0.0.2:8083: connection refused");
    json_t *tasks = json_object_get(doc, "tasks");
    assert_int_equal(json_array_size(tasks), 3);
    json_t *t1 = json_array_get(tasks, 1), *t2 = json_array_get(tasks, 2);
    assert_int_equal(json_integer_value(json_object_get(t1, "recordsProcessed")), 0);
    assert_string_equal(json_string_value(json_object_get(t1, "state")), "RUNNING");
    assert_string_equal(json_string_value(json_object_get(t2, "state")), "UNASSIGNED");
    assert_true(json_is_null(json_object_get(t2, "workerId")));
    json_t *rs = json_object_get(doc, "resources");
    /* heap max -1: committed (2 × used here) stands in */
    assert_true(fabs(json_real_value(json_object_get(rs, "memoryTotalMB")) - 200.0) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(rs, "cpuPercent")) - 50.0) < 1e-9);
    json_decref(doc);

    /* summary row of the same */
    json_t *row = kc_metrics_build_summary_row(&in, NULL);
    assert_int_equal(json_integer_value(json_object_get(row, "lag")), 42);
    json_t *counts = json_object_get(row, "tasks");
    assert_int_equal(json_integer_value(json_object_get(counts, "running")), 2);
    assert_int_equal(json_integer_value(json_object_get(counts, "unassigned")), 1);
    assert_int_equal(json_integer_value(json_object_get(counts, "total")), 3);
    assert_true(fabs(json_real_value(json_object_get(row, "recordsPerSecond")) - 3) < 1e-9);
    json_decref(row);
    kc_jolokia_result_free(r);

    /* idle consumers: records-lag-max NaN → null, not 0 */
    static const struct row idle[] = {{0, 1500, 0, 51200, 0, 0, NOV}};
    r = jmx_for("orders-sink", 1, idle, 1, NULL);
    src[0].jmx = r;
    doc = kc_metrics_build_document(&in, NULL);
    assert_true(json_is_null(json_object_get(json_object_get(doc, "lag"), "recordsLagMax")));
    json_decref(doc);
    kc_jolokia_result_free(r);
    kc_connect_model_status_clear(&st);
}

/* A healthy agent without the task's beans is a warning; a worker nobody asked is too. */
static void test_missing_beans_warn(void **state)
{
    (void)state;
    struct kc_connector_status st;
    status_of(SINK_STATUS, &st);
    static const struct row rows[] = {{7, 1, 1, 1, 1, 0, 0}}; /* not one of ours */
    struct kc_jmx_result *r = jmx_for("orders-sink", 1, rows, 1, NULL);
    struct kc_metrics_source src = {"127.0.0.1:8083", r, NULL};
    struct kc_metrics_input in = {NULL, &st, &src, 1, 1000, 5};
    struct kc_metrics_calc c;
    assert_int_equal(kc_metrics_compute(&in, NULL, &c), 0);
    assert_int_equal(c.warning_count, 2);
    assert_string_equal(c.warnings[0], "jolokia 127.0.0.1:8083: no metrics for task 0");
    assert_string_equal(c.warnings[1], "jolokia 127.0.0.2:8083: not queried");
    json_t *doc = kc_metrics_document(&in, &c);
    assert_true(json_is_null(json_object_get(doc, "cluster")));
    json_decref(doc);
    kc_metrics_calc_clear(&c);
    kc_jolokia_result_free(r);

    /* single agent (worker_id NULL) answers for every worker; its JVM counts once */
    static const struct row both[] = {{0, 10, 1, 10, 1, 0, 5}, {1, 20, 2, 20, 2, 0, 9}};
    static const struct jvm_row jvm = {1048576, 2097152, 30, 0.25};
    r = jmx_for("orders-sink", 1, both, 2, &jvm);
    struct kc_metrics_source one = {NULL, r, NULL};
    in.sources = &one;
    assert_int_equal(kc_metrics_compute(&in, NULL, &c), 0);
    assert_int_equal(c.warning_count, 0);
    assert_true(c.total_records == 30 && c.has_lag && c.lag_max == 9);
    assert_true(c.thread_count == 30 && c.memory_used_mb == 1.0 && c.memory_total_mb == 2.0);
    kc_metrics_calc_clear(&c);
    kc_jolokia_result_free(r);
    kc_connect_model_status_clear(&st);
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 5,000 connectors × 2 tasks on 4 workers, two collections: the summary computation only. */
static void test_summary_speed(void **state)
{
    (void)state;
    enum { N = 5000, W = 4 };
    struct kc_connector_status *sts = calloc(N, sizeof *sts);
    struct kc_metrics_state **states = calloc(N, sizeof *states);
    struct kc_jmx_result *res[W];
    char wid[W][32];
    struct kc_metrics_source src[W];
    for (int w = 0; w < W; w++) {
        res[w] = kc_jolokia_result_new();
        snprintf(wid[w], sizeof wid[w], "10.0.0.%d:8083", w + 1);
    }
    /* fill the worker results through the parser with one synthetic all-connector body each */
    for (int w = 0; w < W; w++) {
        char *s = NULL;
        appendf(&s, "[{\"status\":200,\"value\":{");
        int first = 1;
        for (int c = 0; c < N; c++)
            for (int t = 0; t < 2; t++)
                if ((c + t) % W == w) {
                    appendf(&s, "%s\"kafka.connect:connector=c%05d,task=%d,type=source-task-metrics\":"
                                "{\"source-record-write-total\":%d.0,\"source-record-write-rate\":1.5}",
                            first ? "" : ",", c, t, c * 10 + t);
                    first = 0;
                }
        appendf(&s, "}}]");
        struct kc_jolokia_plan plan;
        kc_jolokia_plan_init(&plan, NULL, KC_JOLOKIA_SOURCE);
        plan.count = 1; /* just the source-task element */
        assert_int_equal(kc_jolokia_parse_bulk(&plan, s, strlen(s), "j", NULL, res[w]), 0);
        kc_jolokia_plan_clear(&plan);
        free(s);
        src[w] = (struct kc_metrics_source){wid[w], res[w], NULL};
    }
    for (int c = 0; c < N; c++) {
        char js[512];
        snprintf(js, sizeof js,
                 "{\"name\":\"c%05d\",\"type\":\"source\",\"connector\":{\"state\":\"RUNNING\","
                 "\"worker_id\":\"%s\"},\"tasks\":[{\"id\":0,\"state\":\"RUNNING\",\"worker_id\":"
                 "\"%s\"},{\"id\":1,\"state\":\"RUNNING\",\"worker_id\":\"%s\"}]}",
                 c, wid[c % W], wid[c % W], wid[(c + 1) % W]);
        status_of(js, &sts[c]);
        states[c] = kc_metrics_state_new();
    }
    for (int round = 0; round < 2; round++) {
        double t0 = mono_ms();
        json_t *rows = json_array();
        for (int c = 0; c < N; c++) {
            struct kc_metrics_input in = {"default", &sts[c], src, W, 1000000 + round * 5000, 0};
            json_t *row = kc_metrics_build_summary_row(&in, states[c]);
            assert_non_null(row);
            json_array_append_new(rows, row);
        }
        double t1 = mono_ms();
        char *text = json_dumps(rows, JSON_COMPACT | JSON_REAL_PRECISION(10));
        double t2 = mono_ms();
        printf("  summary of %d connectors (round %d): compute+rows %.1f ms, dump %.1f ms "
               "(%.1f MB)\n", N, round + 1, t1 - t0, t2 - t1, strlen(text) / 1e6);
        json_t *r5 = json_array_get(rows, 5);
        assert_int_equal(json_integer_value(json_object_get(r5, "totalRecords")), 50 + 51);
        free(text);
        json_decref(rows);
    }
    for (int c = 0; c < N; c++) {
        kc_connect_model_status_clear(&sts[c]);
        kc_metrics_state_free(states[c]);
    }
    for (int w = 0; w < W; w++)
        kc_jolokia_result_free(res[w]);
    free(sts);
    free(states);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_seed_document),
        cmocka_unit_test(test_error_rate),
        cmocka_unit_test(test_sink_lag_and_missing_worker),
        cmocka_unit_test(test_missing_beans_warn),
        cmocka_unit_test(test_summary_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
