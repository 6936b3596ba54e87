/* test_http_wire.c — a reply's status line and header block, table-driven: the version and
 * connection rules, the handler's headers before the helper's fields, Content-Length and
 * Content-Type only when the reply has a body, and a buffer too small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/http_wire.h"

static const struct kc_wire_field json_fields[] = {
    {"Content-Type", "application/json"},
    {"X-Content-Type-Options", "nosniff"},
};

struct wire_case {
    const char *name;
    int status;
    const char *reason;
    int http_minor, keep_alive;
    const char *handler_headers[4]; /* name, value pairs */
    size_t field_count;             /* of json_fields */
    long long content_length;
    const char *want;
};

static const struct wire_case cases[] = {
    {"1.1 keep-alive, a body", 200, "OK", 1, 1, {"Cache-Control", "no-store"}, 2, 753,
     "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Type: application/json\r\n"
     "X-Content-Type-Options: nosniff\r\nContent-Length: 753\r\n\r\n"},
    {"1.1 closing", 404, "Not Found", 1, 0, {0}, 2, 81,
     "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
     "X-Content-Type-Options: nosniff\r\nContent-Length: 81\r\nConnection: close\r\n\r\n"},
    {"1.0 kept open", 200, "OK", 0, 1, {0}, 2, 2,
     "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
     "Content-Length: 2\r\nConnection: keep-alive\r\n\r\n"},
    {"1.0 closing", 200, "OK", 0, 0, {0}, 2, 2,
     "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
     "Content-Length: 2\r\n\r\n"},
    {"204: no length, no type", 204, "No Content", 1, 1, {0}, 0, -1,
     "HTTP/1.1 204 No Content\r\n\r\n"},
    {"304 keeps the handler's headers", 304, "Not Modified", 1, 1, {"ETag", "\"abc\""}, 0, -1,
     "HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\n\r\n"},
    {"the handler's Content-Length (HEAD of a file) is not repeated", 200, "OK", 1, 1,
     {"content-length", "1018", "Content-Type", "text/html"}, 0, 0,
     "HTTP/1.1 200 OK\r\ncontent-length: 1018\r\nContent-Type: text/html\r\n\r\n"},
    {"a body without a type is text/plain", 500, "Internal Server Error", 1, 1, {0}, 0, 5,
     "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n"},
    {"an empty body has a length but no type", 200, "OK", 1, 1, {0}, 0, 0,
     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
};

static size_t format_case(const struct wire_case *c, evhtp_headers_t *hdrs, char *out, size_t cap)
{
    struct kc_wire_head h = {
        .status = c->status,
        .reason = c->reason,
        .http_minor = c->http_minor,
        .keep_alive = c->keep_alive,
        .headers = hdrs,
        .fields = json_fields,
        .field_count = c->field_count,
        .content_length = c->content_length,
    };
    return kc_wire_head_format(&h, out, cap);
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct wire_case *c = &cases[i];
        evhtp_headers_t *hdrs = evhtp_headers_new();
        for (size_t k = 0; k + 1 < 4 && c->handler_headers[k]; k += 2)
            evhtp_headers_add_header(hdrs, evhtp_header_new(c->handler_headers[k],
                                                            c->handler_headers[k + 1], 0, 0));
        char out[512];
        size_t n = format_case(c, hdrs, out, sizeof out);
        size_t want = strlen(c->want);
        if (n != want || memcmp(out, c->want, n) != 0)
            fail_msg("%s: got %.*s", c->name, (int)(n < sizeof out ? n : sizeof out), out);

        /* Too small by one byte, and far too small: the size needed comes back, and a
         * buffer of that size then gets the same block. */
        char small[512];
        assert_int_equal(format_case(c, hdrs, small, want - 1), want);
        assert_int_equal(format_case(c, hdrs, small, 3), want);
        assert_int_equal(format_case(c, hdrs, NULL, 0), want);
        char *exact = malloc(want);
        assert_non_null(exact);
        assert_int_equal(format_case(c, hdrs, exact, want), want);
        assert_memory_equal(exact, c->want, want);
        free(exact);
        evhtp_headers_free(hdrs);
    }
}

/* A long header value (an echoed Origin, a Location) is copied whole. */
static void test_long_value(void **state)
{
    (void)state;
    char value[3000];
    memset(value, 'o', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    evhtp_headers_t *hdrs = evhtp_headers_new();
    evhtp_headers_add_header(hdrs, evhtp_header_new("Location", value, 0, 0));
    struct kc_wire_head h = {.status = 302, .reason = "Found", .http_minor = 1, .keep_alive = 1,
                             .headers = hdrs, .content_length = 0};
    size_t need = kc_wire_head_format(&h, NULL, 0);
    char *out = malloc(need);
    assert_non_null(out);
    assert_int_equal(kc_wire_head_format(&h, out, need), need);
    const char *loc = strstr(out, "Location: ");
    assert_non_null(loc);
    assert_memory_equal(loc + 10, value, sizeof value - 1);
    assert_memory_equal(out + need - 23, "\r\nContent-Length: 0\r\n\r\n", 23);
    free(out);
    evhtp_headers_free(hdrs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_long_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
