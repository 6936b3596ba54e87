/* test_urlenc.c — path segment encoding and decoding, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kc/urlenc.h"

static void test_encode(void **state)
{
    static const struct {
        const char *raw, *enc;
    } cases[] = {
        {"orders-src", "orders-src"},
        {"my conn.v2", "my%20conn.v2"},
        {"eu/orders", "eu%2Forders"},
        {"say \"hi\"*", "say%20%22hi%22%2A"},
        {"100%", "100%25"},
        {"a+b?c#d", "a%2Bb%3Fc%23d"},
        {"café", "caf%C3%A9"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = kc_urlenc_segment(cases[i].raw);
        assert_string_equal(e, cases[i].enc);
        int bad = 1;
        char *d = kc_urldec_segment(e, strlen(e), &bad);
        assert_int_equal(bad, 0);
        assert_string_equal(d, cases[i].raw);
        free(e);
        free(d);
    }
}

static void test_decode_rejects(void **state)
{
    static const char *const bad_inputs[] = {"%", "%4", "%zz", "a%2", "%00", "x%G1"};
    for (size_t i = 0; i < sizeof bad_inputs / sizeof bad_inputs[0]; i++) {
        int bad = 0;
        char *d = kc_urldec_segment(bad_inputs[i], strlen(bad_inputs[i]), &bad);
        assert_null(d);
        assert_int_equal(bad, 1);
    }
    int bad = 1;
    char *plus = kc_urldec_segment("a+b", 3, &bad);
    assert_string_equal(plus, "a+b"); /* '+' is not a space in a path */
    free(plus);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_decode_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
