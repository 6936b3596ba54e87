/* conn_io.h (internal) — what the gateway puts between a client connection's socket and
 * libevhtp. Four things, each measured (test/bench/README.md):
 *
 *  - parsers are lent only while a request is in progress (parser_pool.h): 10,000 idle
 *    keep-alive connections cost 2.1 KB each instead of 6.3 KB;
 *  - bytes are read with one recv(), where libevent's bufferevent first asks the kernel how
 *    many are waiting (ioctl FIONREAD): ~5 % of the CPU at 1,000 busy connections;
 *  - a reply made while parsing is written before the callback returns, as nginx does,
 *    instead of arming the write event for the next loop turn: no epoll_ctl pair per request;
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

/* Called once a connection is accepted and evhtp has set it up; kc->io must be set. */
void kc_conn_io_attach(struct kc_conn *kc);

/* Called from the connection's fini hook, before kc is freed. */
void kc_conn_io_detach(struct kc_conn *kc);

/* Frees the spare parsers (after every connection is gone). */
void kc_conn_io_clear(struct kc_conn_io *io);

#endif
