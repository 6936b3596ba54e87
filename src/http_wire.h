/* http_wire.h (internal) — a reply's status line and header block, formatted in one piece.
 *
 * libevhtp's evhtp_send_reply builds them with an evbuffer_add per piece (four per header),
 * three header lookups and a heap copy of the Content-Length value: 6,200 of the 24,800
 * instructions a cached GET cost (callgrind, test/bench/README.md part 9). The reply helpers
 * (http.c) format the block here instead, on the stack, and hand it to conn_io.h with the
 * body. The rules are libevhtp 1.2.18's (htp__create_reply_), except where noted at
 * kc_wire_head_format. */
#ifndef KC_HTTP_WIRE_H
#define KC_HTTP_WIRE_H

#include <evhtp/evhtp.h>
#include <stddef.h>

/* A header the reply helpers add themselves; both strings borrowed. */
struct kc_wire_field {
    const char *name;
    const char *value;
};

struct kc_wire_head {
    int status;
    const char *reason;                 /* "OK"; borrowed */
    int http_minor;                     /* the status line says HTTP/1.<http_minor> */
    int keep_alive;                     /* the connection stays open after this reply */
    const evhtp_headers_t *headers;     /* the handler's headers, in order; borrowed, or NULL */
    const struct kc_wire_field *fields; /* then these, in order */
    size_t field_count;
    long long content_length;           /* -1: the reply has no Content-Length (1xx, 204, 304) */
};

/* Writes the block, up to and including the empty line, into out (cap bytes) and returns its
 * length. When that is more than cap, the return value is the size needed and out holds
 * nothing usable.
 * After the handler's headers and the fields come, as libevhtp adds them:
 *   - Content-Length: content_length, unless one of the headers is a Content-Length;
 *   - HTTP/1.1 that closes: "Connection: close"; HTTP/1.0 that stays open:
 *     "Connection: keep-alive";
 *   - with a body and no Content-Type among the headers or fields: "Content-Type: text/plain".
 * Unlike libevhtp, a reply without a body gets no Content-Length (libevhtp sent
 * "Content-Length: 0" on 204 and 304, which RFC 9110 forbids or makes wrong) and no
 * Content-Type. */
size_t kc_wire_head_format(const struct kc_wire_head *h, char *out, size_t cap);

#endif
