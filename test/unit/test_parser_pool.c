/* test_parser_pool.c — spare HTTP parsers: reuse order, reset on loan, the bound on spares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "parser_pool.h"

static int on_complete(htparser *p)
{
    (void)p;
    return 0;
}

static htparse_hooks hooks = {.on_msg_complete = on_complete};

static void test_loan_is_a_fresh_request_parser(void **state)
{
    (void)state;
    struct kc_parser_pool pool = {0};
    int owner_a, owner_b;
    htparser *p = kc_parser_pool_take(&pool, (evhtp_connection_t *)&owner_a);
    assert_non_null(p);
    assert_ptr_equal(htparser_get_userdata(p), &owner_a);
    /* Left mid-request (a half-read POST) by its last borrower... */
    const char *half = "POST /x HTTP/1.0\r\nContent-Length: 10\r\n\r\nabc";
    htparser_run(p, &hooks, half, strlen(half));
    assert_int_equal(htparser_get_method(p), htp_method_POST);
    kc_parser_pool_give(&pool, p);
    assert_int_equal(pool.count, 1);
    /* ...the next borrower gets the same memory, reset and pointing at it. */
    htparser *q = kc_parser_pool_take(&pool, (evhtp_connection_t *)&owner_b);
    assert_ptr_equal(q, p);
    assert_int_equal(pool.count, 0);
    assert_ptr_equal(htparser_get_userdata(q), &owner_b);
    assert_int_equal(htparser_get_content_length(q), 0);
    const char *get = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(htparser_run(q, &hooks, get, strlen(get)), strlen(get));
    assert_int_equal(htparser_get_error(q), htparse_error_none);
    assert_int_equal(htparser_get_method(q), htp_method_GET);
    kc_parser_pool_give(&pool, q);
    kc_parser_pool_clear(&pool);
    assert_int_equal(pool.count, 0);
}

static void test_spares_are_bounded_and_reused_last_in_first_out(void **state)
{
    (void)state;
    enum { N = KC_PARSER_POOL_MAX + 44 };
    static htparser *lent[N];
    struct kc_parser_pool pool = {0};
    for (size_t i = 0; i < N; i++)
        assert_non_null(lent[i] = kc_parser_pool_take(&pool, NULL));
    for (size_t i = 0; i < N; i++)
        kc_parser_pool_give(&pool, lent[i]); /* the ones past the bound are freed (ASan) */
    assert_int_equal(pool.count, KC_PARSER_POOL_MAX);
    htparser *top = pool.spare[KC_PARSER_POOL_MAX - 1];
    assert_ptr_equal(kc_parser_pool_take(&pool, NULL), top);
    kc_parser_pool_give(&pool, top);
    kc_parser_pool_give(&pool, NULL);
    assert_int_equal(pool.count, KC_PARSER_POOL_MAX);
    kc_parser_pool_clear(&pool);
    assert_int_equal(pool.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loan_is_a_fresh_request_parser),
        cmocka_unit_test(test_spares_are_bounded_and_reused_last_in_first_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
