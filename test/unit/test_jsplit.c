/* test_jsplit.c — the resumable structure scan and the parsers built on it: every piecewise
 * parse must give what the one-call parse gives, at any budget, and refuse truncated, garbage
 * and odd (escaped) input the same way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/connect_model.h"
#include "kc/jolokia.h"
#include "kc/jsplit.h"

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

/* Scans text at `budget` and writes "depth:key=value;" per item, or "ERR@pos". */
static void scan(const char *text, unsigned depth, size_t budget, char *out, size_t cap)
{
    struct kc_jsplit s;
    struct kc_jsplit_item it;
    kc_jsplit_init(&s, text, strlen(text), depth);
    size_t n = 0;
    out[0] = '\0';
    for (int guard = 0; guard < 100000; guard++) {
        int rc = kc_jsplit_next(&s, &it, budget);
        if (rc == KC_JSPLIT_PAUSE)
            continue;
        if (rc == KC_JSPLIT_END)
            return;
        if (rc == KC_JSPLIT_ERROR) {
            snprintf(out + n, cap - n, "ERR@%zu", s.pos);
            return;
        }
        n += (size_t)snprintf(out + n, cap - n, "%u:%.*s=%.*s;", it.depth, (int)it.key_len,
                              text + it.key_off, (int)it.val_len, text + it.val_off);
    }
    fail_msg("no end");
}

static const struct {
    const char *text;
    unsigned depth;
    const char *want;
} scan_cases[] = {
    {"{}", 1, ""},
    {" [ ] ", 1, ""},
    {"{\"a\":1,\"b\":[true,null],\"c\":{\"d\":\"x\"}}", 1,
     "1:\"a\"=1;1:\"b\"=[true,null];1:\"c\"={\"d\":\"x\"};"},
    {"{\"a\":{\"b\":-1.5e3}}", 2, "2:\"b\"=-1.5e3;1:\"a\"={\"b\":-1.5e3};"},
    {"[{\"k\\\"}\":\"v\\\\\"}]", 2, "2:\"k\\\"}\"=\"v\\\\\";1:={\"k\\\"}\":\"v\\\\\"};"},
    {"{\"a\":\"[{\"}", 1, "1:\"a\"=\"[{\";"},
    /* garbage and truncation */
    {"", 1, "ERR@0"},
    {"x", 1, "ERR@0"},
    {"\"str\"", 1, "ERR@0"},
    {"{\"a\":1", 1, "ERR@6"},
    {"{\"a\":1}}", 1, "1:\"a\"=1;ERR@7"},
    {"{\"a\" 1}", 1, "ERR@5"},
    {"{\"a\":1 \"b\":2}", 1, "1:\"a\"=1;ERR@7"},
    {"{\"a\":tru}", 1, "ERR@5"},
    {"{\"a\":01}", 1, "ERR@5"},
    {"{\"a\":\"\\q\"}", 1, "ERR@7"},
    {"{\"a\":\"x\ny\"}", 1, "ERR@7"},
    {"[1,]", 1, "1:=1;ERR@3"},
    {"{\"a\":[1,2}", 1, "ERR@9"},
    {"{\"a\":\"unterminated", 1, "ERR@18"},
    {"{\"a\":1}  x", 1, "1:\"a\"=1;ERR@9"},
};

static void test_scan_cases(void **state)
{
    (void)state;
    char got[1024], one[1024];
    for (size_t i = 0; i < sizeof scan_cases / sizeof scan_cases[0]; i++) {
        scan(scan_cases[i].text, scan_cases[i].depth, 1 << 20, got, sizeof got);
        if (strcmp(got, scan_cases[i].want) != 0)
            fail_msg("case %zu %s: got %s want %s", i, scan_cases[i].text, got,
                     scan_cases[i].want);
        /* Stopping after every byte changes nothing. */
        scan(scan_cases[i].text, scan_cases[i].depth, 1, one, sizeof one);
        if (strcmp(got, one) != 0)
            fail_msg("case %zu: budget 1 gives %s", i, one);
    }
}

/* ---- the expand map: piecewise == one call ---- */

static int list_piecewise(const char *body, size_t len, size_t budget,
                          struct kc_connector_list *out)
{
    struct kc_connect_list_parser *p = kc_connect_model_list_parser_new(body, len);
    assert_non_null(p);
    int rc;
    while ((rc = kc_connect_model_list_parser_step(p, budget)) == 1)
        ;
    if (rc == 0)
        kc_connect_model_list_parser_take(p, out);
    kc_connect_model_list_parser_free(p);
    return rc;
}

static int list_whole(const char *body, size_t len, struct kc_connector_list *out)
{
    json_t *map = json_loadb(body, len, 0, NULL);
    int rc = json_is_object(map) ? kc_connect_model_parse_list(map, out) : -1;
    json_decref(map);
    return rc;
}

static void same_list(const struct kc_connector_list *a, const struct kc_connector_list *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        const struct kc_connector_status *x = &a->items[i], *y = &b->items[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->state, y->state);
        assert_int_equal(x->task_count, y->task_count);
        for (size_t t = 0; t < x->task_count; t++) {
            assert_int_equal(x->tasks[t].id, y->tasks[t].id);
            assert_string_equal(x->tasks[t].worker_id, y->tasks[t].worker_id);
        }
        assert_int_equal(x->topic_count, y->topic_count);
        assert_true(json_equal(x->config, y->config) || (!x->config && !y->config));
    }
}

static const char *const list_bodies[] = {
    "{}",
    "{\"a\\\"b\":{\"status\":{\"name\":\"x\",\"connector\":{\"state\":\"RUNNING\"},\"tasks\":[]}},"
    "\"\\u00e9t\\u00e9\":{\"status\":{\"connector\":{\"state\":\"PAUSED\"}}},"
    "\"skip\":{\"info\":null},\"bad\":{\"status\":{\"tasks\":{}}}}",
    "[]",
    "{\"a\":{\"status\":{}}",
    "not json",
};

static void test_list_parser(void **state)
{
    (void)state;
    size_t flen;
    char *fixture = read_fixture("connect/expand-list.json", &flen);
    for (size_t i = 0; i <= sizeof list_bodies / sizeof list_bodies[0]; i++) {
        const char *body = i < sizeof list_bodies / sizeof list_bodies[0] ? list_bodies[i] : fixture;
        size_t len = body == fixture ? flen : strlen(body);
        struct kc_connector_list want = {0};
        int wrc = list_whole(body, len, &want);
        static const size_t budgets[] = {1, 7, 100, 1 << 20};
        for (size_t b = 0; b < 4; b++) {
            struct kc_connector_list got = {0};
            int grc = list_piecewise(body, len, budgets[b], &got);
            if ((grc == 0) != (wrc == 0))
                fail_msg("body %zu budget %zu: rc %d vs %d", i, budgets[b], grc, wrc);
            if (grc == 0)
                same_list(&got, &want);
            kc_connect_model_list_clear(&got);
        }
        /* Every truncation of it is refused, as the one-call parse refuses it. */
        for (size_t cut = 0; wrc == 0 && cut < len; cut += len > 400 ? 7 : 1) {
            struct kc_connector_list got = {0}, w2 = {0};
            int grc = list_piecewise(body, cut, 64, &got);
            int w2rc = list_whole(body, cut, &w2);
            if ((grc == 0) != (w2rc == 0))
                fail_msg("body %zu cut %zu: rc %d vs %d", i, cut, grc, w2rc);
            kc_connect_model_list_clear(&got);
            kc_connect_model_list_clear(&w2);
        }
        kc_connect_model_list_clear(&want);
    }
    free(fixture);
}

/* ---- Jolokia bulk answers: piecewise == one call ---- */

static void same_result(const struct kc_jmx_result *a, const struct kc_jmx_result *b,
                        const char *what)
{
    if (kc_jolokia_result_task_count(a) != kc_jolokia_result_task_count(b))
        fail_msg("%s: %zu vs %zu tasks", what, kc_jolokia_result_task_count(a),
                 kc_jolokia_result_task_count(b));
    for (size_t i = 0; i < kc_jolokia_result_task_count(a); i++) {
        const struct kc_jmx_task *x = kc_jolokia_result_task_at(a, i);
        const struct kc_jmx_task *y = kc_jolokia_result_task(b, x->connector, x->task);
        if (!y)
            fail_msg("%s: task %s/%d missing", what, x->connector, x->task);
        assert_int_equal(x->has, y->has);
        assert_true(memcmp(&x->records_total, &y->records_total,
                           offsetof(struct kc_jmx_task, status) -
                               offsetof(struct kc_jmx_task, records_total)) == 0);
        assert_string_equal(x->status, y->status);
    }
    assert_memory_equal(kc_jolokia_result_jvm(a), kc_jolokia_result_jvm(b),
                        sizeof(struct kc_jmx_jvm));
    if (kc_jolokia_result_warning_count(a) != kc_jolokia_result_warning_count(b))
        fail_msg("%s: %zu vs %zu warnings", what, kc_jolokia_result_warning_count(a),
                 kc_jolokia_result_warning_count(b));
    for (size_t i = 0; i < kc_jolokia_result_warning_count(a); i++) {
        const char *x = kc_jolokia_result_warning(a, i), *y = kc_jolokia_result_warning(b, i);
        /* The position of invalid JSON may be told differently; the rest is the same. */
        if (strstr(x, "invalid JSON") ? !strstr(y, "invalid JSON") : strcmp(x, y) != 0)
            fail_msg("%s: warning %zu: %s vs %s", what, i, x, y);
    }
}

static int jolokia_piecewise(const struct kc_jolokia_plan *plan, const char *body, size_t len,
                             const struct kc_jolokia_names *known, size_t budget,
                             struct kc_jmx_result *out)
{
    struct kc_jolokia_parser *p = kc_jolokia_parser_new(plan, body, len, "jolokia w", known, out);
    assert_non_null(p);
    int rc;
    while ((rc = kc_jolokia_parser_step(p, budget)) == 1)
        ;
    kc_jolokia_parser_free(p);
    return rc;
}

static const char *const jolokia_fixtures[] = {
    "jolokia/source-orders-src.json", "jolokia/source-orders-src-j25.json",
    "jolokia/j1-eu-orders.txt",       "jolokia/sink-element-errors.json",
    "jolokia/malformed-bulk-j1.json", "jolokia/garbage.txt",
    "jolokia/prefix-trap.json",       "jolokia/sink-nulls.json",
};

static void test_jolokia_parser(void **state)
{
    (void)state;
    const char *names[] = {"orders-src", "orders-src-2", "orders", "orders-sink", "eu/orders"};
    struct kc_jolokia_names *known = kc_jolokia_names_new(names, 5);
    for (size_t f = 0; f < sizeof jolokia_fixtures / sizeof jolokia_fixtures[0]; f++) {
        size_t len;
        char *body = read_fixture(jolokia_fixtures[f], &len);
        for (int conn = 0; conn < 2; conn++) {
            struct kc_jolokia_plan plan;
            assert_int_equal(kc_jolokia_plan_init(&plan, conn ? "orders-src" : NULL,
                                                  KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE |
                                                      (f == 3 || f == 7 ? KC_JOLOKIA_SINK : 0) |
                                                      KC_JOLOKIA_JVM),
                             0);
            struct kc_jmx_result *want = kc_jolokia_result_new();
            int wrc = kc_jolokia_parse_bulk(&plan, body, len, "jolokia w", known, want);
            static const size_t budgets[] = {1, 13, 512, 1 << 20};
            for (size_t b = 0; b < 4; b++) {
                struct kc_jmx_result *got = kc_jolokia_result_new();
                int grc = jolokia_piecewise(&plan, body, len, known, budgets[b], got);
                if (grc != wrc)
                    fail_msg("%s budget %zu: rc %d vs %d", jolokia_fixtures[f], budgets[b], grc,
                             wrc);
                same_result(got, want, jolokia_fixtures[f]);
                kc_jolokia_result_free(got);
            }
            /* Truncated answers fail with an invalid-JSON warning first, like the one call. */
            for (size_t cut = 1; wrc == 0 && cut < len; cut += 11) {
                struct kc_jmx_result *got = kc_jolokia_result_new();
                struct kc_jmx_result *w2 = kc_jolokia_result_new();
                int grc = jolokia_piecewise(&plan, body, cut, known, 64, got);
                int w2rc = kc_jolokia_parse_bulk(&plan, body, cut, "jolokia w", known, w2);
                assert_int_equal(grc, w2rc);
                if (grc < 0)
                    assert_non_null(strstr(kc_jolokia_result_warning(got, 0),
                                           kc_jolokia_result_warning(w2, 0)[10] == 'b'
                                               ? "bulk request rejected"
                                               : "invalid JSON"));
                kc_jolokia_result_free(got);
                kc_jolokia_result_free(w2);
            }
            kc_jolokia_result_free(want);
            kc_jolokia_plan_clear(&plan);
        }
        free(body);
    }
    kc_jolokia_names_free(known);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_cases),
        cmocka_unit_test(test_list_parser),
        cmocka_unit_test(test_jolokia_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
