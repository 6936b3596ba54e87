/* conn_io.h (internal) — what the gateway puts between a client connection's socket and
 * libevhtp. Five things, each measured (test/bench/README.md):
 *
 *  - parsers are lent only while a request is in progress (parser_pool.h): 10,000 idle
 *    keep-alive connections cost 2.1 KB each instead of 6.3 KB;
 *  - bytes are read with one recv(), where libevent's bufferevent first asks the kernel how
 *    many are waiting (ioctl FIONREAD): ~5 % of the CPU at 1,000 busy connections;
 *  - a reply made while parsing is written before the callback returns, as nginx does,
 *    instead of arming the write event for the next loop turn: no epoll_ctl pair per request;
 *  - and it is written with one writev straight from the cached document, its header block
 *    formatted on the stack (http_wire.h), where evhtp_send_reply copied both into evbuffers
 *    (and the output buffer's callbacks armed and disarmed the write event): 24,800
 *    instructions per cached GET before, 16,900 after (callgrind, bench part 9);
 *  - both socket events are edge-triggered, as nginx's are: epoll then reports connections in
 *    the order their bytes came, where level-triggered it reports every ready one in the order
 *    of the previous turn, so under load a request that just missed a turn waited for the
 *    whole next one. Cache hits at 100 connections, 15 interleaved 2 s rounds: p99 best
 *    quartile 1.95 ms (level-triggered 2.10, nginx 2.45). Edge-triggered, no bytes may wait
 *    for an edge that does not come: conn_io.c reads again after a full read and writes until
 *    the socket says EAGAIN — it owns the writes as well as the reads.
 *
 * It does so by taking over the connection bufferevent's callbacks (and its two socket
 * events), calling libevhtp's own callbacks in between. A connection whose callbacks are not
 * the ones expected keeps libevhtp's plain path: correctness never depends on the fast paths.
 * The read and write events are reached through <event2/bufferevent_struct.h>, which
 * libevent publishes with a warning that it may change: written against Debian's 2.1.12 and
 * libevhtp 1.2.18, and CMakeLists.txt refuses to build with any other version of either. */
#ifndef KC_CONN_IO_H
#define KC_CONN_IO_H

#include "conn.h"
#include "parser_pool.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

struct kc_conn_io {
    struct kc_parser_pool parsers;
    size_t idle_count; /* connections whose parser is parked in `parsers` */
    /* libevhtp's bufferevent callbacks and libevent's socket read callback, the same for
     * every connection; taken from the first one. */
    bufferevent_data_cb evhtp_readcb, evhtp_writecb;
    bufferevent_event_cb evhtp_eventcb;
    event_callback_fn socket_readcb, socket_writecb;
    /* Every recv() lands here first (one loop, one read at a time); see conn_io.c. */
    char read_buf[16384];
};

/* A reply's bytes, handed to kc_conn_io_send. */
struct kc_conn_io_reply {
    const char *head;                /* status line and headers; copied if not sent at once */
    size_t head_len;
    const void *body;                /* copied if not sent at once, unless lent */
    size_t body_len;
    void (*release)(void *owner);    /* a lent body: called once it is sent (or dropped) */
    void *owner;
    struct evbuffer *body_buf;       /* instead of body: this buffer's bytes, moved out */
};

/* Puts a reply on the connection, in order after anything already queued. While evhtp parses
 * this connection's input (on_conn_readable) with nothing queued, it is written to the socket
 * at once, with one writev from where the bytes are: no copy, no write event; the request
 * is finished (evhtp's write callback) when the parse returns. Whatever the socket does not
 * take then, and every reply made at another time, is queued in the connection's output.
 * Returns 0, or -1 when the rest could not be queued (out of memory): the reply is cut
 * short, and the caller closes the connection after it. */
int kc_conn_io_send(struct kc_conn *kc, evhtp_connection_t *conn, const struct kc_conn_io_reply *r);

/* Called once a connection is accepted and evhtp has set it up; kc->io must be set. */
void kc_conn_io_attach(struct kc_conn *kc);

/* Called from the connection's fini hook, before kc is freed. */
void kc_conn_io_detach(struct kc_conn *kc);

/* Frees the spare parsers (after every connection is gone). */
void kc_conn_io_clear(struct kc_conn_io *io);

#endif
