/* test_jolokia.c — agent URLs from worker ids, bulk bodies, and bulk answers (fixtures) of
 * every agent generation: positions, in-body statuses, nulls, client-id traps, and speed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kc/connect_model.h"
#include "kc/jolokia.h"

static char *read_fixture(const char *rel, size_t *len)
{
    const char *dir = getenv("KC_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "test/fixtures", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- worker id → URL ---- */

static const struct {
    const char *tmpl, *worker, *url;
} url_cases[] = {
    {"http://{host}:8778/jolokia", "10.20.0.12:8083", "http://10.20.0.12:8778/jolokia/"},
    {"http://{host}:8778/jolokia", "[fd00::5]:8083", "http://[fd00::5]:8778/jolokia/"},
    {"http://{host}:1{port}/jolokia", "w1.example:8083", "http://w1.example:18083/jolokia/"},
    {"http://{host}/j/{port}", "[::1]:8083", "http://[::1]/j/8083/"},
    {"http://agent:8778/jolokia", "10.20.0.12:8083", "http://agent:8778/jolokia/"},
    {"http://agent:8778/jolokia", "", NULL},
    {"http://{host}:8778/jolokia", "", NULL},
    {"http://{host}:8778/jolokia", NULL, NULL},
    {"http://{host}:8778/jolokia", "nohostport", "http://nohostport:8778/jolokia/"},
    {"http://{host}:{port}/jolokia", "nohostport", NULL},
    {"http://{host}:8778/jolokia", "evil.com/x?:8083", NULL},
    {"http://{host}:8778/jolokia", "user@evil:8083", NULL},
    {"http://{host}:8778/jolokia", "h:80a", NULL},
    {"http://{host}:8778/jolokia", ":8083", NULL},
    {"http://{host}:8778/jolokia", "fd00::5", NULL}, /* unbracketed IPv6: ambiguous */
    {"http://{host}:8778/jolokia", "[fd00::5]", "http://[fd00::5]:8778/jolokia/"},
    {"http://{hostname}:{host}", "a:1", "http://{hostname}:a/"},
    {"http://agent:8778/jolokia/", "a:1", "http://agent:8778/jolokia/"},
    {"http://agent/j?x={host}", "a:1", "http://agent/j?x=a"},
};

static void test_url_for_worker(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
        char *u = kc_jolokia_url_for_worker(url_cases[i].tmpl, url_cases[i].worker);
        if (!url_cases[i].url) {
            if (u)
                fail_msg("case %zu: expected NULL, got %s", i, u);
        } else {
            if (!u)
                fail_msg("case %zu: expected %s, got NULL", i, url_cases[i].url);
            assert_string_equal(u, url_cases[i].url);
        }
        free(u);
    }
}

/* ---- request bodies ---- */

struct body_case {
    const char *connector;
    unsigned what;
    const char *mbeans[KC_JOLOKIA_MAX_ELEMS + 1];
};

static const struct body_case body_cases[] = {
    {"orders-src",
     KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_JVM,
     {"kafka.connect:type=connector-task-metrics,connector=orders-src,task=*",
      "kafka.connect:type=source-task-metrics,connector=orders-src,task=*",
      "kafka.connect:type=task-error-metrics,connector=orders-src,task=*",
      "kafka.producer:type=producer-topic-metrics,client-id=connector-producer-orders-src-*,topic=*",
      "java.lang:type=Memory", "java.lang:type=Threading", "java.lang:type=OperatingSystem"}},
    {"eu:orders",
     KC_JOLOKIA_TASKS | KC_JOLOKIA_SINK,
     {"kafka.connect:type=connector-task-metrics,connector=\"eu:orders\",task=*",
      "kafka.connect:type=sink-task-metrics,connector=\"eu:orders\",task=*",
      "kafka.connect:type=task-error-metrics,connector=\"eu:orders\",task=*",
      "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=\"connector-consumer-eu:orders-*\"",
      "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=\"connector-consumer-eu:orders-*\""}},
    /* unknown type: both sides */
    {"a*b",
     KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_SINK,
     {"kafka.connect:type=connector-task-metrics,connector=\"a\\*b\",task=*",
      "kafka.connect:type=source-task-metrics,connector=\"a\\*b\",task=*",
      "kafka.connect:type=sink-task-metrics,connector=\"a\\*b\",task=*",
      "kafka.connect:type=task-error-metrics,connector=\"a\\*b\",task=*",
      "kafka.producer:type=producer-topic-metrics,client-id=\"connector-producer-a\\*b-*\",topic=*",
      "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=\"connector-consumer-a\\*b-*\"",
      "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=\"connector-consumer-a\\*b-*\""}},
    {NULL,
     KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_SINK,
     {"kafka.connect:type=connector-task-metrics,connector=*,task=*",
      "kafka.connect:type=source-task-metrics,connector=*,task=*",
      "kafka.connect:type=sink-task-metrics,connector=*,task=*",
      "kafka.connect:type=task-error-metrics,connector=*,task=*",
      "kafka.producer:type=producer-topic-metrics,client-id=*,topic=*",
      "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=*",
      "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=*"}},
    {NULL, KC_JOLOKIA_JVM,
     {"java.lang:type=Memory", "java.lang:type=Threading", "java.lang:type=OperatingSystem"}},
};

static void test_plan_body(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof body_cases / sizeof body_cases[0]; i++) {
        const struct body_case *c = &body_cases[i];
        struct kc_jolokia_plan plan;
        assert_int_equal(kc_jolokia_plan_init(&plan, c->connector, c->what), 0);
        size_t len = 0;
        char *body = kc_jolokia_plan_body(&plan, &len);
        assert_non_null(body);
        assert_int_equal(strlen(body), len);
        json_t *arr = json_loads(body, 0, NULL);
        assert_true(json_is_array(arr));
        size_t n = 0;
        while (c->mbeans[n])
            n++;
        assert_int_equal(json_array_size(arr), n);
        assert_int_equal(plan.count, n);
        for (size_t k = 0; k < n; k++) {
            json_t *el = json_array_get(arr, k);
            assert_string_equal(json_string_value(json_object_get(el, "type")), "read");
            assert_string_equal(json_string_value(json_object_get(el, "mbean")), c->mbeans[k]);
            assert_true(json_is_array(json_object_get(el, "attribute")));
        }
        json_decref(arr);
        free(body);
        kc_jolokia_plan_clear(&plan);
    }
    struct kc_jolokia_plan plan;
    assert_int_equal(kc_jolokia_plan_init(&plan, "x", 0), -1);
    assert_int_equal(kc_jolokia_what_for_type(KC_TYPE_SINK), KC_JOLOKIA_TASKS | KC_JOLOKIA_SINK);
    assert_int_equal(kc_jolokia_what_for_type(KC_TYPE_UNKNOWN),
                     KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_SINK);
}

/* ---- answers ---- */

#define NOV (-12345.0) /* "no value expected" in the tables below */

struct task_expect {
    const char *connector;
    int task;
    double records, records_rate, bytes, bytes_rate, errors, lag;
    const char *status;
};

struct parse_case {
    const char *fixture;
    const char *connector; /* plan; NULL = all */
    unsigned what;
    const char *known[4];  /* for all-connector plans */
    int rc;
    size_t task_count;
    struct task_expect tasks[4];
    /* jvm: NOV = absent */
    double heap_used, heap_total, threads, cpu;
    size_t warnings;
    const char *warning_substr[4];
};

static const struct parse_case parse_cases[] = {
    {"jolokia/source-orders-src.json", "orders-src",
     KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_JVM, {NULL}, 0, 2,
     {{"orders-src", 0, 12843001, 2210.5, 4417720934.0 + 1000, 760000.5, 0, NOV, "running"},
      {"orders-src", 1, 4800, NOV, NOV, NOV, 3, NOV, "failed"}},
     612368384, 2147483648.0, 84, 0.173, 0, {NULL}},
    {"jolokia/source-orders-src-j25.json", "orders-src",
     KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_JVM, {NULL}, 0, 2,
     {{"orders-src", 0, 12843001, 2210.5, 4417720934.0 + 1000, 760000.5, 0, NOV, "running"},
      {"orders-src", 1, 4800, NOV, NOV, NOV, 3, NOV, "failed"}},
     612368384, 2147483648.0, 84, 0.173, 0, {NULL}},
    {"jolokia/j1-eu-orders.txt", "eu/orders",
     KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_JVM, {NULL}, 0, 1,
     {{"eu/orders", 0, 48195, 12.5, 9640000, 2500, 7, NOV, "running"}},
     201326592, -1, 57, NOV /* ProcessCpuLoad -1.0: unavailable */, 0, {NULL}},
    {"jolokia/sink-element-errors.json", "orders-sink",
     KC_JOLOKIA_TASKS | KC_JOLOKIA_SINK | KC_JOLOKIA_JVM, {NULL}, 0, 1,
     {{"orders-sink", 0, NOV, NOV, NOV, NOV, NOV, NOV, "running"}},
     NOV, NOV, 61, 0.5, 3,
     {"task-error-metrics read failed: status 500 (java.lang.RuntimeException)",
      "consumer-fetch-manager-metrics read failed: status 400 (java.lang.IllegalArgumentException)",
      "java.lang Memory read failed: status 403"}},
    {"jolokia/malformed-bulk-j1.json", "orders-src",
     KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_JVM, {NULL}, -1, 0, {{NULL, 0, 0, 0, 0, 0, 0, 0, NULL}},
     NOV, NOV, NOV, NOV, 1, {"bulk request rejected: status 400 (java.lang.IllegalArgumentException)"}},
    {"jolokia/garbage.txt", "orders-src", KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE, {NULL}, -1, 0,
     {{NULL, 0, 0, 0, 0, 0, 0, 0, NULL}}, NOV, NOV, NOV, NOV, 1, {"invalid JSON"}},
    /* one connector: orders-src-2's producer must not count for orders-src */
    {"jolokia/prefix-trap.json", "orders-src", KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE, {NULL}, 0, 1,
     {{"orders-src", 0, 100, 1, 1000, 10, NOV, NOV, "running"}}, NOV, NOV, NOV, NOV, 0, {NULL}},
    /* all connectors: each producer goes to its own connector, foreign ids ignored */
    {"jolokia/prefix-trap.json", NULL, KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE,
     {"orders-src", "orders-src-2", "orders"}, 0, 2,
     {{"orders-src", 0, 100, 1, 1000, 10, NOV, NOV, "running"},
      {"orders-src-2", 0, 200, 2, 2000, 20, NOV, NOV, "running"}},
     NOV, NOV, NOV, NOV, 0, {NULL}},
    {"jolokia/sink-nulls.json", "orders-sink", KC_JOLOKIA_TASKS | KC_JOLOKIA_SINK, {NULL}, 0, 2,
     {{"orders-sink", 0, 1500, NOV, NOV, 0, NOV, NOV, "running"},
      {"orders-sink", 1, NOV, 0.5, 51200, 12.25, 2, 42, "running"}},
     NOV, NOV, NOV, NOV, 0, {NULL}},
};

static void check_field(const char *what, size_t ci, int has, double got, double want)
{
    if (want == NOV) {
        if (has)
            fail_msg("case %zu %s: expected no value, got %.17g", ci, what, got);
        return;
    }
    if (!has)
        fail_msg("case %zu %s: expected %.17g, got no value", ci, what, want);
    if (got != want)
        fail_msg("case %zu %s: expected %.17g, got %.17g", ci, what, want, got);
}

static void test_parse_fixtures(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof parse_cases / sizeof parse_cases[0]; ci++) {
        const struct parse_case *c = &parse_cases[ci];
        struct kc_jolokia_plan plan;
        assert_int_equal(kc_jolokia_plan_init(&plan, c->connector, c->what), 0);
        size_t nk = 0;
        while (nk < 4 && c->known[nk])
            nk++;
        struct kc_jolokia_names *known = nk ? kc_jolokia_names_new(c->known, nk) : NULL;
        size_t len;
        char *body = read_fixture(c->fixture, &len);
        struct kc_jmx_result *r = kc_jolokia_result_new();
        int rc = kc_jolokia_parse_bulk(&plan, body, len, "jolokia 10.20.0.12:8083", known, r);
        if (rc != c->rc)
            fail_msg("case %zu (%s): rc %d", ci, c->fixture, rc);
        if (kc_jolokia_result_task_count(r) != c->task_count)
            fail_msg("case %zu: %zu tasks", ci, kc_jolokia_result_task_count(r));
        for (size_t t = 0; t < c->task_count; t++) {
            const struct task_expect *e = &c->tasks[t];
            const struct kc_jmx_task *jt = kc_jolokia_result_task(r, e->connector, e->task);
            if (!jt)
                fail_msg("case %zu: no task %s/%d", ci, e->connector, e->task);
            check_field("records", ci, jt->has & KC_JT_RECORDS, jt->records_total, e->records);
            check_field("records_rate", ci, jt->has & KC_JT_RECORDS_RATE, jt->records_rate,
                        e->records_rate);
            check_field("bytes", ci, jt->has & KC_JT_BYTES, jt->bytes_total, e->bytes);
            check_field("bytes_rate", ci, jt->has & KC_JT_BYTES_RATE, jt->bytes_rate,
                        e->bytes_rate);
            check_field("errors", ci, jt->has & KC_JT_ERRORS, jt->errors_total, e->errors);
            check_field("lag", ci, jt->has & KC_JT_LAG, jt->lag_max, e->lag);
            assert_string_equal(jt->status, e->status);
        }
        const struct kc_jmx_jvm *jvm = kc_jolokia_result_jvm(r);
        check_field("heap_used", ci, jvm->has & KC_JVM_HEAP, jvm->heap_used, c->heap_used);
        check_field("heap_max", ci, jvm->has & KC_JVM_HEAP, jvm->heap_max, c->heap_total);
        check_field("threads", ci, jvm->has & KC_JVM_THREADS, jvm->thread_count, c->threads);
        check_field("cpu", ci, jvm->has & KC_JVM_CPU, jvm->process_cpu_load, c->cpu);
        if (kc_jolokia_result_warning_count(r) != c->warnings) {
            for (size_t w = 0; w < kc_jolokia_result_warning_count(r); w++)
                printf("  warning: %s\n", kc_jolokia_result_warning(r, w));
            fail_msg("case %zu: %zu warnings", ci, kc_jolokia_result_warning_count(r));
        }
        for (size_t w = 0; w < c->warnings; w++) {
            const char *got = kc_jolokia_result_warning(r, w);
            assert_non_null(strstr(got, "jolokia 10.20.0.12:8083: "));
            if (!strstr(got, c->warning_substr[w]))
                fail_msg("case %zu: warning '%s' lacks '%s'", ci, got, c->warning_substr[w]);
        }
        kc_jolokia_result_free(r);
        kc_jolokia_names_free(known);
        free(body);
        kc_jolokia_plan_clear(&plan);
    }
}

/* The literal answer of WIRE §3.8 (producer-metrics, a Runtime read) against our 7-element
 * plan: the extra element is reported, the producer-metrics bean (wrong type) is ignored. */
/* Records taken in (source-record-poll-total / sink-record-read-total): the errorRate base,
 * since the send/write totals leave out the records that failed conversion. */
static const struct {
    const char *fixture, *connector;
    unsigned what;
    int task;
    double taken; /* NOV: no value */
} taken_cases[] = {
    {"jolokia/source-orders-src.json", "orders-src", KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE, 0,
     12843117.0},
    {"jolokia/source-orders-src.json", "orders-src", KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE, 1, 5120},
    {"jolokia/j1-eu-orders.txt", "eu/orders", KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE, 0, 48210},
    {"jolokia/sink-nulls.json", "orders-sink", KC_JOLOKIA_TASKS | KC_JOLOKIA_SINK, 0, 1500},
    {"jolokia/sink-nulls.json", "orders-sink", KC_JOLOKIA_TASKS | KC_JOLOKIA_SINK, 1, 10},
    {"jolokia/prefix-trap.json", "orders-src", KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE, 0, NOV},
};

static void test_parse_taken(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof taken_cases / sizeof taken_cases[0]; ci++) {
        struct kc_jolokia_plan plan;
        assert_int_equal(kc_jolokia_plan_init(&plan, taken_cases[ci].connector,
                                              taken_cases[ci].what), 0);
        size_t len;
        char *body = read_fixture(taken_cases[ci].fixture, &len);
        struct kc_jmx_result *r = kc_jolokia_result_new();
        assert_int_equal(kc_jolokia_parse_bulk(&plan, body, len, "j", NULL, r), 0);
        const struct kc_jmx_task *jt =
            kc_jolokia_result_task(r, taken_cases[ci].connector, taken_cases[ci].task);
        assert_non_null(jt);
        check_field("taken", ci, jt->has & KC_JT_TAKEN, jt->taken_total, taken_cases[ci].taken);
        kc_jolokia_result_free(r);
        free(body);
        kc_jolokia_plan_clear(&plan);
    }
}

static void test_element_count_mismatch(void **state)
{
    (void)state;
    static const char body[] =
        "[{\"value\":{},\"status\":200},{\"value\":{},\"status\":200},{\"value\":{},\"status\":200},"
        "{\"value\":{\"kafka.producer:client-id=connector-producer-orders-src-0,type=producer-metrics\":"
        "{\"record-send-total\":1.2843001E7,\"outgoing-byte-total\":4.417720934E9}},\"status\":200},"
        "{\"value\":{\"init\":1,\"committed\":2,\"max\":3,\"used\":1},\"status\":200},"
        "{\"value\":84,\"status\":200},{\"value\":{\"ProcessCpuLoad\":0.1},\"status\":200},"
        "{\"value\":86400512,\"status\":200}]";
    struct kc_jolokia_plan plan;
    kc_jolokia_plan_init(&plan, "orders-src", KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_JVM);
    struct kc_jmx_result *r = kc_jolokia_result_new();
    assert_int_equal(kc_jolokia_parse_bulk(&plan, body, sizeof body - 1, "j", NULL, r), 0);
    assert_int_equal(kc_jolokia_result_task_count(r), 0);
    assert_int_equal(kc_jolokia_result_warning_count(r), 1);
    assert_string_equal(kc_jolokia_result_warning(r, 0), "j: bulk answer has 8 elements for 7 requests");
    const struct kc_jmx_jvm *jvm = kc_jolokia_result_jvm(r);
    assert_true(jvm->has & KC_JVM_HEAP); /* bare composite tolerated */
    assert_int_equal((int)jvm->thread_count, 84);
    kc_jolokia_result_free(r);
    kc_jolokia_plan_clear(&plan);
}

/* A Jolokia 2.0–2.4 agent cannot write NaN (jolokia#934) and fails the element: for the lag
 * and CPU elements, whose values may be NaN, that is "no value"; for a counter it is a failure. */
#define NFE "{\"status\":400,\"error_type\":\"java.lang.NumberFormatException\",\"error\":" \
            "\"java.lang.NumberFormatException : Character N is neither a decimal digit " \
            "number, decimal point, nor \\\"e\\\" notation exponential mark.\"}"
#define SINK_BEAN(type) "\"kafka.connect:connector=s,task=0,type=" type "\""
#define FETCH_BEAN "\"kafka.consumer:client-id=connector-consumer-s-0," \
                   "type=consumer-fetch-manager-metrics\""

static void test_nan_the_agent_cannot_write(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int warnings, has_bytes;
    } cases[] = {
        /* the lag element: no value, no warning, the byte total is kept */
        {"[{\"status\":200,\"value\":{" SINK_BEAN("connector-task-metrics") ":{\"status\":"
         "\"running\"}}},{\"status\":200,\"value\":{}},{\"status\":200,\"value\":{}},"
         "{\"status\":200,\"value\":{" FETCH_BEAN ":{\"bytes-consumed-total\":512.0}}}," NFE
         ",{\"status\":200,\"value\":{\"HeapMemoryUsage\":{\"used\":1,\"max\":2}}},"
         "{\"status\":200,\"value\":{\"ThreadCount\":9}}," NFE "]",
         0, 1},
        /* the counters' element: a failure the operator is told about */
        {"[{\"status\":200,\"value\":{" SINK_BEAN("connector-task-metrics") ":{\"status\":"
         "\"running\"}}},{\"status\":200,\"value\":{}},{\"status\":200,\"value\":{}}," NFE ","
         "{\"status\":200,\"value\":{" FETCH_BEAN ":{\"records-lag-max\":3.0}}},"
         "{\"status\":200,\"value\":{\"HeapMemoryUsage\":{\"used\":1,\"max\":2}}},"
         "{\"status\":200,\"value\":{\"ThreadCount\":9}},{\"status\":200,\"value\":{}}]",
         1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kc_jolokia_plan plan;
        assert_int_equal(kc_jolokia_plan_init(&plan, "s", KC_JOLOKIA_TASKS | KC_JOLOKIA_SINK |
                                                              KC_JOLOKIA_JVM),
                         0);
        struct kc_jmx_result *r = kc_jolokia_result_new();
        kc_jolokia_parse_bulk(&plan, cases[i].body, strlen(cases[i].body), "j", NULL, r);
        if (kc_jolokia_result_warning_count(r) != (size_t)cases[i].warnings)
            fail_msg("case %zu: %zu warnings (first: %s)", i, kc_jolokia_result_warning_count(r),
                     kc_jolokia_result_warning_count(r) ? kc_jolokia_result_warning(r, 0) : "-");
        const struct kc_jmx_task *t = kc_jolokia_result_task(r, "s", 0);
        assert_non_null(t);
        assert_int_equal(!!(t->has & KC_JT_BYTES), cases[i].has_bytes);
        assert_int_equal(!!(t->has & KC_JT_LAG), !cases[i].has_bytes);
        assert_int_equal((int)kc_jolokia_result_jvm(r)->thread_count, 9);
        kc_jolokia_result_free(r);
        kc_jolokia_plan_clear(&plan);
    }
}

static const char *const bad_bodies[] = {
    "", "null", "42", "\"x\"", "{}", "[", "400 (Bad Request)\n\nInvalid JSON\n", "{\"status\":401}",
};

static void test_garbage_bodies(void **state)
{
    (void)state;
    struct kc_jolokia_plan plan;
    kc_jolokia_plan_init(&plan, "a", KC_JOLOKIA_TASKS);
    for (size_t i = 0; i < sizeof bad_bodies / sizeof bad_bodies[0]; i++) {
        struct kc_jmx_result *r = kc_jolokia_result_new();
        if (kc_jolokia_parse_bulk(&plan, bad_bodies[i], strlen(bad_bodies[i]), "j", NULL, r) != -1)
            fail_msg("accepted '%s'", bad_bodies[i]);
        assert_int_equal(kc_jolokia_result_warning_count(r), 1);
        kc_jolokia_result_free(r);
    }
    /* elements that are not objects, or lack a status, are warnings, not crashes */
    static const char odd[] = "[1, {\"value\":{}}]";
    struct kc_jmx_result *r = kc_jolokia_result_new();
    assert_int_equal(kc_jolokia_parse_bulk(&plan, odd, sizeof odd - 1, "j", NULL, r), 0);
    assert_int_equal(kc_jolokia_result_warning_count(r), 2);
    kc_jolokia_result_free(r);
    kc_jolokia_plan_clear(&plan);
}

/* ---- an all-connectors read of a big cluster ---- */

struct buf {
    char *p;
    size_t len, cap;
};

static void bputs(struct buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

#define BIG_CONNECTORS 5000
#define BIG_TASKS 2

/* Even connectors are sources, odd ones sinks; every task on this one worker. */
static char *big_body(size_t *len)
{
    struct buf b = {0};
    char line[512];
    static const char *const groups[] = {"connector-task-metrics", "source-task-metrics",
                                         "sink-task-metrics", "task-error-metrics"};
    bputs(&b, "[");
    for (int g = 0; g < 7; g++) { /* the plan's elements, lag (6) included */
        bputs(&b, g ? ",{\"status\":200,\"value\":{" : "{\"status\":200,\"value\":{");
        int first = 1;
        for (int c = 0; c < BIG_CONNECTORS; c++) {
            int source = c % 2 == 0;
            if ((g == 1 || g == 4) && !source)
                continue;
            if ((g == 2 || g >= 5) && source)
                continue;
            for (int t = 0; t < BIG_TASKS; t++) {
                if (g < 4)
                    snprintf(line, sizeof line,
                             "%s\"kafka.connect:connector=conn-%05d,task=%d,type=%s\":{%s}",
                             first ? "" : ",", c, t, groups[g],
                             g == 0   ? "\"status\":\"running\""
                             : g == 1 ? "\"source-record-write-total\":1.2843001E7,"
                                        "\"source-record-write-rate\":2210.5"
                             : g == 2 ? "\"sink-record-send-total\":4800.0,"
                                        "\"sink-record-send-rate\":1.5"
                                      : "\"total-record-errors\":3.0");
                else if (g == 4)
                    snprintf(line, sizeof line,
                             "%s\"kafka.producer:client-id=connector-producer-conn-%05d-%d,"
                             "topic=orders,type=producer-topic-metrics\":{\"byte-total\":4.4E9,"
                             "\"byte-rate\":100.0}",
                             first ? "" : ",", c, t);
                else if (g == 5)
                    snprintf(line, sizeof line,
                             "%s\"kafka.consumer:client-id=connector-consumer-conn-%05d-%d,"
                             "type=consumer-fetch-manager-metrics\":{\"bytes-consumed-total\":"
                             "51200.0,\"bytes-consumed-rate\":1.0}",
                             first ? "" : ",", c, t);
                else
                    snprintf(line, sizeof line,
                             "%s\"kafka.consumer:client-id=connector-consumer-conn-%05d-%d,"
                             "type=consumer-fetch-manager-metrics\":{\"records-lag-max\":null}",
                             first ? "" : ",", c, t);
                bputs(&b, line);
                first = 0;
            }
        }
        bputs(&b, "}}");
    }
    bputs(&b, "]");
    *len = b.len;
    return b.p;
}

static void test_all_connectors_speed(void **state)
{
    (void)state;
    size_t len;
    char *body = big_body(&len);
    char **names = calloc(BIG_CONNECTORS, sizeof *names);
    for (int c = 0; c < BIG_CONNECTORS; c++) {
        names[c] = malloc(24);
        snprintf(names[c], 24, "conn-%05d", c);
    }
    struct kc_jolokia_plan plan;
    kc_jolokia_plan_init(&plan, NULL, KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_SINK);
    double t0 = now_ms();
    struct kc_jolokia_names *known =
        kc_jolokia_names_new((const char *const *)(void *)names, BIG_CONNECTORS);
    struct kc_jmx_result *r = kc_jolokia_result_new();
    assert_int_equal(kc_jolokia_parse_bulk(&plan, body, len, "j", known, r), 0);
    double t1 = now_ms();
    json_t *only = json_loadb(body, len, 0, NULL);
    double t2 = now_ms();
    json_decref(only);
    printf("  all-connectors bulk answer: %d connectors x %d tasks, %.1f MB, parse %.1f ms "
           "(of which JSON decode alone %.1f ms)\n",
           BIG_CONNECTORS, BIG_TASKS, len / 1e6, t1 - t0, t2 - t1);
    assert_int_equal(kc_jolokia_result_task_count(r), BIG_CONNECTORS * BIG_TASKS);
    assert_int_equal(kc_jolokia_result_warning_count(r), 0);
    const struct kc_jmx_task *a = kc_jolokia_result_task(r, "conn-04998", 1);
    assert_non_null(a);
    assert_true(a->records_total == 12843001.0 && a->bytes_total == 4.4e9);
    const struct kc_jmx_task *b = kc_jolokia_result_task(r, "conn-04999", 0);
    assert_true(b->records_total == 4800.0 && b->bytes_total == 51200.0);
    assert_false(b->has & KC_JT_LAG);
    assert_true(kc_jolokia_names_contains(known, "conn-00000"));
    assert_false(kc_jolokia_names_contains(known, "conn-0000"));
    kc_jolokia_result_free(r);
    kc_jolokia_names_free(known);
    kc_jolokia_plan_clear(&plan);
    for (int c = 0; c < BIG_CONNECTORS; c++)
        free(names[c]);
    free(names);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_for_worker),        cmocka_unit_test(test_plan_body),
        cmocka_unit_test(test_parse_fixtures),        cmocka_unit_test(test_parse_taken),
        cmocka_unit_test(test_element_count_mismatch),
        cmocka_unit_test(test_nan_the_agent_cannot_write),
        cmocka_unit_test(test_garbage_bodies),        cmocka_unit_test(test_all_connectors_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
