/* test_streamq.c — the query of GET /api/stream and its resume ids, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/streamq.h"

/* Items written as "cluster|name" (a summary: "cluster|-"), joined by ';'. */
static void render(const struct kc_streamq *q, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < q->n; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s|%s", i ? ";" : "", q->items[i].cluster,
                              q->items[i].name ? q->items[i].name : "-");
}

static void test_parse_ok(void **state)
{
    static const struct {
        const char *query, *items, *last_ids;
    } cases[] = {
        {"connector=default%2Forders-src", "default|orders-src", NULL},
        {"connector=default/orders-src&summary=default", "default|orders-src;default|-", NULL},
        /* split at the FIRST '/': a name may hold more */
        {"connector=prod%2Feu%2Forders", "prod|eu/orders", NULL},
        {"connector=default/my+conn.v2&access_token=x", "default|my conn.v2", NULL},
        {"summary=a&connector=a/x&summary=a&connector=a%2Fx", "a|-;a|x", NULL},
        {"connector=default/say%20%22hi%22*&lastEventId=3%2C0", "default|say \"hi\"*", "3,0"},
        {"other=1&&connector=c/caf%C3%A9", "c|café", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kc_streamq q;
        const char *code = NULL;
        char err[200], got[300];
        assert_int_equal(kc_streamq_parse(cases[i].query, 4, &q, &code, err, sizeof err), 0);
        render(&q, got, sizeof got);
        assert_string_equal(got, cases[i].items);
        if (cases[i].last_ids)
            assert_string_equal(q.last_ids, cases[i].last_ids);
        else
            assert_null(q.last_ids);
        kc_streamq_clear(&q);
    }
}

static void test_parse_refused(void **state)
{
    static const struct {
        const char *query;
        int status;
        const char *code, *in_message;
    } cases[] = {
        {"", 400, "bad_request", "connector=<cluster>/<name>"},
        {"access_token=x", 400, "bad_request", "summary=<cluster>"},
        {"connector=default", 400, "bad_request", "<cluster>/<connector name>"},
        {"connector=%2Fx", 400, "bad_request", "<cluster>/<connector name>"},
        {"connector=default%2F", 400, "bad_request", "<cluster>/<connector name>"},
        {"connector=default/a%zz", 400, "bad_request", "percent-encoding"},
        {"connector=default/a%00", 400, "bad_request", "percent-encoding"},
        {"summary=", 400, "bad_request", "cluster name"},
        {"connector=a/1&connector=a/2&connector=a/3&connector=a/4&summary=a", 400,
         "too_many_connectors", "at most 4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kc_streamq q;
        const char *code = NULL;
        char err[300];
        assert_int_equal(kc_streamq_parse(cases[i].query, 4, &q, &code, err, sizeof err),
                         cases[i].status);
        assert_string_equal(code, cases[i].code);
        assert_non_null(strstr(err, cases[i].in_message));
        assert_int_equal(q.n, 0);
        assert_null(q.items);
    }
    /* duplicates do not count against the bound */
    struct kc_streamq q;
    const char *code = NULL;
    char err[200];
    assert_int_equal(kc_streamq_parse("summary=a&summary=a&summary=a&summary=a&summary=a", 1, &q,
                                      &code, err, sizeof err),
                     0);
    assert_int_equal(q.n, 1);
    kc_streamq_clear(&q);
}

static void test_ids(void **state)
{
    uint64_t ids[3] = {7, 7, 7};
    assert_int_equal(kc_streamq_ids("1,0,18446744073709551615", ids, 3), 0);
    assert_true(ids[0] == 1 && ids[1] == 0 && ids[2] == UINT64_MAX);
    static const char *const bad[] = {"", "1,2", "1,2,3,4", "1,,3", "1,2,x", "-1,2,3", " 1,2,3",
                                      "1,2,3,", "1,2,18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v[3] = {9, 9, 9};
        assert_int_equal(kc_streamq_ids(bad[i], v, 3), -1);
        assert_true(v[0] == 9 && v[1] == 9 && v[2] == 9); /* untouched */
    }
    assert_int_equal(kc_streamq_ids(NULL, ids, 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_refused),
        cmocka_unit_test(test_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
