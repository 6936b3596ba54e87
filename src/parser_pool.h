/* parser_pool.h (internal) — HTTP parsers lent to connections only while they have a request.
 *
 * libevhtp gives every connection its own htparser: a struct with an 8 KiB token buffer
 * inside. A keep-alive connection waiting for its next request needs none of it, yet the
 * parser's first page stays resident, and malloc cannot put anything else in the untouched
 * rest: with 10,000 idle clients that was about 4 KB of RSS per connection, two thirds of
 * the gateway's per-connection cost. nginx frees an idle keep-alive connection's header
 * buffer for the same reason. server.c takes the parser away when a connection goes idle
 * and lends one back when bytes arrive; the spares wait here, a bounded stack (the most
 * recently used parser is the one whose memory is still in cache). */
#ifndef KC_PARSER_POOL_H
#define KC_PARSER_POOL_H

#include <evhtp/evhtp.h>
#include <stddef.h>

/* Spares kept beyond this are freed: 256 x 8.3 KB of address space, and at most a page of
 * RSS each. More connections than this mid-request at once just pay a malloc each. */
#define KC_PARSER_POOL_MAX 256

struct kc_parser_pool {
    htparser *spare[KC_PARSER_POOL_MAX];
    size_t count;
};

/* A parser ready for a new request on `conn` (initialised, user data set), or NULL when
 * memory is exhausted. The caller owns it; libevhtp frees it with free() if the connection
 * closes while holding it, which is why spares come from htparser_new(). */
htparser *kc_parser_pool_take(struct kc_parser_pool *pool, evhtp_connection_t *conn);

/* Takes a parser back (NULL is ignored). */
void kc_parser_pool_give(struct kc_parser_pool *pool, htparser *parser);

/* Frees every spare. */
void kc_parser_pool_clear(struct kc_parser_pool *pool);

#endif
