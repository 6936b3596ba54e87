/* test_summary_parse.c — the summary parsed in pieces must be what json_loadb makes of the whole
 * text, at any budget: a generated 5,000-row summary (compact and indented), edge cases
 * (empty, duplicates, escapes, UTF-8), garbage and every truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/summary_parse.h"

static const size_t budgets[] = {1, 7, 64, 4096, 32768, SIZE_MAX};

static json_t *piecewise(const char *text, size_t len, size_t budget, size_t *steps)
{
    struct kc_summary_parser *p = kc_summary_parser_new(text, len);
    assert_non_null(p);
    int rc;
    size_t n = 0;
    while ((rc = kc_summary_parser_step(p, budget)) == 1)
        n++;
    assert_int_equal(kc_summary_parser_step(p, budget), rc); /* the end is sticky */
    json_t *doc = rc == 0 ? kc_summary_parser_take(p) : NULL;
    if (rc == 0)
        assert_non_null(doc);
    kc_summary_parser_free(p);
    if (steps)
        *steps = n;
    return doc;
}

/* Every budget gives json_loadb's answer: NULL for NULL, else equal and dumped the same (order
 * of members included). */
static void same_as_loadb(const char *label, const char *text, size_t len)
{
    json_t *want = json_loadb(text, len, 0, NULL);
    char *want_s = want ? json_dumps(want, JSON_COMPACT) : NULL;
    for (size_t b = 0; b < sizeof budgets / sizeof budgets[0]; b++) {
        json_t *got = piecewise(text, len, budgets[b], NULL);
        if (!want) {
            if (got)
                fail_msg("%s budget %zu: parsed what json_loadb refuses", label, budgets[b]);
            continue;
        }
        if (!got)
            fail_msg("%s budget %zu: refused what json_loadb parses", label, budgets[b]);
        char *got_s = json_dumps(got, JSON_COMPACT);
        if (!json_equal(want, got) || strcmp(want_s, got_s) != 0)
            fail_msg("%s budget %zu: %.200s vs %.200s", label, budgets[b], got_s, want_s);
        free(got_s);
        json_decref(got);
    }
    json_t *once = kc_summary_parse(text, len);
    assert_true(want ? json_equal(want, once) : once == NULL);
    json_decref(once);
    free(want_s);
    json_decref(want);
}

static void test_cases(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "{}", "[]", " \t\r\n{ }\n", "{\"connectors\":[]}", "{\"connectors\":[],\"a\":{}}",
        "{\"a\":1,\"connectors\":[{\"name\":\"x\",\"tasks\":{\"running\":1}}],\"totals\":{}}",
        "[1,2,[3,[4]],{\"a\":{\"b\":[]}},\"s\",null,true,false,-0.5e-3]",
        "[[],{},[[]],{\"\":{}}]",
        /* duplicates: the last one wins, in the first one's place */
        "{\"a\":[1],\"b\":0,\"a\":[2,3]}", "{\"a\":[1,2],\"a\":3}", "{\"a\":3,\"a\":[1]}",
        "{\"a\":{\"x\":1,\"x\":2}}", "{\"connectors\":[1],\"connectors\":[]}",
        /* escapes and UTF-8 in keys and values */
        "{\"\\u00e9t\\u00e9\":[{\"\\n\\\"\":1}],\"\xc3\xa9\":\"\\ud83d\\ude00\"}",
        "{\"a\\/b\":{\"c\\\\d\":[\"\\t\"]}}",
        "{\"a\\u0000b\":1}", "{\"a\":{\"b\\u0000\":1}}", "[\"\\u0000\"]", "[[\"\\u0000\"]]",
        "{\"\xff\":1}", "{\"a\":[\"\xc3\"]}", "[\"\\ud800\"]", "[\"a\x01\"]", "{\"a\":[\"\\x\"]}",
        /* numbers as jansson takes or refuses them */
        "[0,-0,1e5,1E+5,1.5e-300,123456789012345678]", "[01]", "[1e400]", "[1.]", "[.5]",
        "[123456789012345678901234567890]", "[-]", "{\"a\":[-1e400]}", "[+1]",
        /* garbage and things that are not a document */
        "", "   ", "1", "\"s\"", "null", "{} x", "{}{}", "[]]", "{\"a\":}", "{\"a\":1,}",
        "[1,]", "{\"a\" 1}", "{a:1}", "[tru]", "[nul]", "{\"connectors\":[{\"name\":\"x\"},]}",
        "{\"connectors\":[{]}", "{\"a\":[1,2}", "[\"unterminated]", "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[32];
        snprintf(label, sizeof label, "case %zu", i);
        same_as_loadb(label, cases[i], strlen(cases[i]));
    }
    /* NUL bytes inside and after the text */
    same_as_loadb("nul inside", "{\"a\":\0}", 7);
    same_as_loadb("nul after", "{}\0", 3);
}

/* Nesting: deep within jsplit's stack is parsed like jansson; deeper is refused (jansson takes
 * up to 2048 levels) — the one documented difference, never reached by a summary. */
static void test_nesting(void **state)
{
    (void)state;
    char text[256];
    for (int depth = 1; depth <= 64; depth += 9) {
        int n = 0;
        for (int i = 0; i < depth; i++)
            text[n++] = '[';
        for (int i = 0; i < depth; i++)
            text[n++] = ']';
        same_as_loadb("nested", text, (size_t)n);
    }
    int n = 0;
    for (int i = 0; i < 70; i++)
        text[n++] = '[';
    for (int i = 0; i < 70; i++)
        text[n++] = ']';
    assert_null(kc_summary_parse(text, (size_t)n));
}

/* A summary as collector.c builds it (members before "connectors", the rows, "totals"). */
static char *make_summary(size_t rows, size_t flags, size_t *len)
{
    static const char *const ids[] = {"127.0.0.1:8083", "127.0.0.2:8083", "127.0.0.3:8083"};
    json_t *workers = json_array();
    for (int w = 1; w <= 3; w++)
        json_array_append_new(
            workers, json_pack("{s:s,s:i,s:i,s:{s:b,s:n},s:f,s:f,s:f,s:i}", "workerId", ids[w - 1],
                               "connectors", 1667, "tasks", 3334, "jolokia", "reachable", 1,
                               "error", "heapUsedMB", 184.0006704 * w, "heapMaxMB", 2048.0,
                               "cpuPercent", 8.45, "threadCount", 44));
    json_t *conns = json_array();
    for (size_t i = 0; i < rows; i++) {
        char name[64];
        snprintf(name, sizeof name, i % 97 == 0 ? "conn-\xc3\xa9\\\"%05zu" : "conn-%05zu", i);
        json_t *tl = json_pack("[[i,s,s,I,I,i],[i,s,s,I,I,i]]", 0, "RUNNING", "127.0.0.1:8083",
                               (json_int_t)(1110119 + i), (json_int_t)845910678 * 3, 165, 1,
                               i % 5 ? "RUNNING" : "FAILED", "127.0.0.2:8083",
                               (json_int_t)705924, (json_int_t)475086852, (int)(i % 300));
        json_t *row = json_pack(
            "{s:s,s:s,s:s,s:{s:i,s:i,s:i,s:i,s:i,s:i},s:f,s:f,s:I,s:I,s:I,s:f,s:o,s:s,s:s,s:o}",
            "name", name, "type", i % 2 ? "sink" : "source", "state", "RUNNING", "tasks",
            "running", 2, "failed", (int)(i % 5 == 0), "paused", 0, "unassigned", 0,
            "restarting", 0, "total", 2, "recordsPerSecond", 2242.0 + (double)i / 7,
            "bytesPerSecond", 1630840.5, "totalRecords", (json_int_t)1816043 * (json_int_t)i,
            "totalBytes", (json_int_t)1320997530, "totalErrors", (json_int_t)327,
            "errorRate", 0.01800183982, "lag", i % 3 ? json_null() : json_integer((json_int_t)i),
            "class", "io.confluent.kafka.connect.datagen.DatagenConnector", "health", "running",
            "taskList", tl);
        assert_non_null(row);
        json_array_append_new(conns, row);
    }
    json_t *doc = json_pack("{s:s,s:s,s:I,s:b,s:[s],s:o,s:o,s:{s:I,s:I,s:i}}", "cluster",
                            "default", "lastUpdated", "2026-12-05T21:08:01.176Z",
                            "collectionDuration", (json_int_t)2012007, "stale", 0, "warnings",
                            "jolokia: 127.0.0.3 slow", "workers", workers, "connectors", conns,
                            "totals", "connectors", (json_int_t)rows, "running", (json_int_t)rows,
                            "failed", 0);
    assert_non_null(doc);
    char *text = json_dumps(doc, flags);
    assert_non_null(text);
    json_decref(doc);
    *len = strlen(text);
    return text;
}

static void test_big_summary(void **state)
{
    (void)state;
    size_t len;
    char *text = make_summary(5000, JSON_COMPACT, &len);
    assert_true(len > 2000000);
    same_as_loadb("5,000 rows", text, len);
    /* 32 KiB steps: the rows come in about len / 32 KiB steps, none parsing much more. */
    size_t steps;
    json_t *doc = piecewise(text, len, 32768, &steps);
    assert_int_equal(json_array_size(json_object_get(doc, "connectors")), 5000);
    assert_true(steps >= len / 32768 - 1 && steps <= len / 32768 + 2);
    json_decref(doc);
    free(text);
    text = make_summary(300, JSON_INDENT(2), &len);
    same_as_loadb("300 rows, indented", text, len);
    free(text);
}

/* Every prefix of a small summary is refused (a summary is never a valid prefix of itself),
 * and some of a big one. */
static void test_truncated(void **state)
{
    (void)state;
    size_t len;
    char *text = make_summary(3, JSON_COMPACT, &len);
    for (size_t n = 0; n < len; n++) {
        json_t *got = piecewise(text, n, n % 2 ? 7 : SIZE_MAX, NULL);
        if (got)
            fail_msg("prefix of %zu bytes parsed", n);
    }
    json_t *full = piecewise(text, len, 7, NULL);
    assert_non_null(full);
    json_decref(full);
    free(text);
    text = make_summary(5000, JSON_COMPACT, &len);
    for (size_t n = 1; n < len; n = n * 3 + 17)
        assert_null(piecewise(text, n, 32768, NULL));
    free(text);
}

/* Taken half-way (a newer publish cancels the apply): what was built is a well-formed partial
 * document whose rows are in "connectors", so it can be freed in slices. */
static void test_take_partial(void **state)
{
    (void)state;
    size_t len;
    char *text = make_summary(5000, JSON_COMPACT, &len);
    struct kc_summary_parser *p = kc_summary_parser_new(text, len);
    for (int i = 0; i < 20; i++)
        assert_int_equal(kc_summary_parser_step(p, 32768), 1);
    json_t *part = kc_summary_parser_take(p);
    size_t rows = json_array_size(json_object_get(part, "connectors"));
    assert_true(rows > 500 && rows < 5000);
    assert_string_equal(json_string_value(json_object_get(part, "cluster")), "default");
    assert_int_equal(kc_summary_parser_step(p, 32768), -1);
    assert_null(kc_summary_parser_take(p));
    kc_summary_parser_free(p);
    json_decref(part);
    /* freed before the end: the parser frees what it built */
    p = kc_summary_parser_new(text, len);
    assert_int_equal(kc_summary_parser_step(p, 32768), 1);
    kc_summary_parser_free(p);
    kc_summary_parser_free(NULL);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_big_summary),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_take_partial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
