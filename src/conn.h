/* conn.h (internal) — the gateway's per-connection record, shared by server.c and http.c.
 * evhtp handles one request per connection at a time, so the current request's facts live here. */
#ifndef KC_CONN_H
#define KC_CONN_H

#include <evhtp/evhtp.h>
#include <stdint.h>
#include <sys/queue.h>

struct kc_gateway;
struct kc_conn_io;

struct kc_conn {
    struct kc_gateway *gw;
    evhtp_connection_t *conn;
    LIST_ENTRY(kc_conn) link;
    struct event *header_timer; /* slow-client guard: headers must complete in time */
    int awaiting_headers;       /* the current request's headers are not complete yet */
    struct kc_conn_io *io;      /* the server's socket fast paths (conn_io.h) */
    int *alive;                 /* while an evhtp callback runs: cleared if it closes */
    int parsing;                /* evhtp parses this connection's input (conn_io.c) */
    int wrote_direct;           /* a reply went to the socket while parsing: finish it after */

    /* The current request. */
    uint64_t start_ns;
    const char *route;          /* static label for logs and metrics */
    const char *cache;          /* static: hit, miss, coalesced, or NULL */
    int no_store;               /* the reply says Cache-Control: no-store (every /api/ one) */
    double upstream_ms;
    size_t header_count;
    size_t body_bytes;
    int reject_status;          /* set by a parser hook: reply with it once the request ends */
    const char *reject_code;
    const char *reject_message;
    int replied_early;          /* a 413 went out from the header hook; close when done */
};

uint64_t kc_now_ns(void);

/* The conn record of a request (stored in req->cbarg once its headers are parsed). */
static inline struct kc_conn *kc_conn_of(evhtp_request_t *req)
{
    return req ? (struct kc_conn *)req->cbarg : NULL;
}

/* Writes a small complete response straight to the socket, for connections evhtp is about
 * to drop (limits hit before a request object exists). Best effort: it never blocks. */
void kc_write_raw_error(int fd, int status, const char *reason, const char *code,
                        const char *message);

/* Called by http.c after each reply: access log line + request metrics. */
void kc_server_log_access(struct kc_conn *kc, evhtp_request_t *req, int status, size_t bytes);

#endif
