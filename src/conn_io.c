/* conn_io.c — fast paths between a connection's socket and libevhtp; see conn_io.h.
 *
 * Who calls whom, per connection (arg is always the gateway's kc_conn):
 *   socket readable -> on_socket_readable (recv) -> on_conn_readable -> evhtp read callback
 *                      -> flush_now -> on_conn_flushed -> evhtp write callback
 *   write event     -> libevent writes -> on_conn_flushed -> evhtp write callback
 *   EOF/error/timeout -> on_conn_event -> evhtp event callback
 * evhtp may free the connection inside any of its callbacks; kc->alive tells. */
#include "conn_io.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_struct.h> /* ev_read, ev_write, timeout_read */
#include <sys/socket.h>

/* Between requests a connection gives its parser back. Only when nothing is in progress:
 * no request (evhtp frees a finished one before this runs), not paused, and no buffered
 * input, which a pipelining client's next request would be. */
static void park_parser(struct kc_conn_io *io, evhtp_connection_t *conn)
{
    if (!conn->parser || conn->request || (conn->flags & EVHTP_CONN_FLAG_PAUSED) ||
        evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0)
        return;
    kc_parser_pool_give(&io->parsers, conn->parser);
    conn->parser = NULL;
    io->idle_count++;
}

/* Output flushed: evhtp finishes the request (or closes the connection); if it stays open
 * and idle, its parser goes back to the pool. */
static void on_conn_flushed(struct bufferevent *bev, void *arg)
{
    struct kc_conn *kc = arg;
    struct kc_conn_io *io = kc->io;
    evhtp_connection_t *conn = kc->conn;
    int alive = 1;
    kc->alive = &alive;
    io->evhtp_writecb(bev, conn);
    if (!alive)
        return; /* evhtp closed it; kc is gone */
    kc->alive = NULL;
    park_parser(io, conn);
}

/* Writes what is waiting right away. When all of it went out, the rest is what libevent's
 * own write callback does on a drained buffer (bufferevent_sock.c): drop the write event and
 * tell the owner; anything left (a full socket buffer, an error) stays with the write event.
 * The output's start is frozen outside that callback, hence the unfreeze around it. */
static void flush_now(struct kc_conn *kc)
{
    struct bufferevent *bev = kc->conn->bev;
    struct evbuffer *out = bufferevent_get_output(bev);
    if (evbuffer_get_length(out) == 0 || !(bufferevent_get_enabled(bev) & EV_WRITE))
        return;
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write(out, kc->conn->sock);
    evbuffer_freeze(out, 1);
    if (n <= 0 || evbuffer_get_length(out) > 0)
        return;
    event_del(&bev->ev_write);
    on_conn_flushed(bev, kc);
}

/* Bytes are in the input buffer: the connection needs a parser before evhtp reads them.
 * Every path on which evhtp parses without this callback (a resume, a flushed reply with
 * input waiting) starts from a request in progress or from buffered input, and then the
 * parser was never taken away. A reply made while parsing goes out before returning. */
static void on_conn_readable(struct bufferevent *bev, void *arg)
{
    struct kc_conn *kc = arg;
    struct kc_conn_io *io = kc->io;
    evhtp_connection_t *conn = kc->conn;
    if (!conn->parser) {
        if (!(conn->parser = kc_parser_pool_take(&io->parsers, conn))) {
            kc_write_raw_error(conn->sock, 503, "Service Unavailable", "out_of_memory",
                               "out of memory");
            evhtp_connection_free(conn);
            return;
        }
        io->idle_count--;
    }
    int alive = 1;
    kc->alive = &alive;
    io->evhtp_readcb(bev, conn);
    if (!alive)
        return;
    kc->alive = NULL;
    flush_now(kc);
}

static void on_conn_event(struct bufferevent *bev, short events, void *arg)
{
    struct kc_conn *kc = arg;
    kc->io->evhtp_eventcb(bev, events, kc->conn);
}

/* The socket is readable: one recv(), then what libevent's read callback would do
 * (bufferevent_sock.c) without its FIONREAD probe. Timeouts go to libevent's own callback.
 * The bytes land in the server's read buffer first and are then copied into the input
 * buffer, which thereby gets a chain sized to them, as libevent sizes it from FIONREAD: a
 * typical request is a few hundred bytes, and reserving a big chain for every read made
 * glibc serve each one from its large bins (slower, and with occasional consolidation).
 * The input's end is frozen outside a read, hence the unfreeze. */
static void on_socket_readable(evutil_socket_t fd, short what, void *arg)
{
    struct bufferevent *bev = arg;
    struct kc_conn *kc = bev->cbarg;
    if (!(what & EV_READ)) {
        kc->io->socket_readcb(fd, what, bev);
        return;
    }
    struct evbuffer *in = bufferevent_get_input(bev);
    ssize_t n = recv(fd, kc->io->read_buf, sizeof kc->io->read_buf, 0);
    int err = errno;
    if (n > 0) {
        evbuffer_unfreeze(in, 0);
        if (evbuffer_add(in, kc->io->read_buf, (size_t)n) != 0) {
            n = -1;
            err = ENOMEM;
        }
        evbuffer_freeze(in, 0);
    }
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == EINTR))
        return; /* nothing after all; the event stays armed */
    /* libevent would run the callbacks deferred, on a later pass of the loop (libevhtp asks
     * for BEV_OPT_DEFER_CALLBACKS); running them now saves that pass. The reference keeps the
     * bufferevent valid if evhtp frees the connection meanwhile. */
    bufferevent_incref(bev);
    if (n > 0) {
        on_conn_readable(bev, kc);
    } else {
        /* As libevent: stop reading, report. errno is cleared on EOF because libevhtp
         * takes EOF with errno EAGAIN for a spurious wake-up and keeps reading. */
        errno = n == 0 ? 0 : err;
        bufferevent_disable(bev, EV_READ);
        on_conn_event(bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), kc);
    }
    bufferevent_decref(bev);
}

/* Takes over the socket's read event: same event, flags, timeout and argument (libevent's
 * finalizer, which frees the bufferevent, gets that argument too), our callback. */
static int take_read_event(struct kc_conn *kc)
{
    struct bufferevent *bev = kc->conn->bev;
    struct event *rev = &bev->ev_read;
    event_callback_fn cb = event_get_callback(rev);
    if (event_get_callback_arg(rev) != bev ||
        (kc->io->socket_readcb && cb != kc->io->socket_readcb))
        return -1;
    kc->io->socket_readcb = cb;
    int armed = event_pending(rev, EV_READ, NULL);
    event_del(rev);
    if (event_assign(rev, event_get_base(rev), event_get_fd(rev), event_get_events(rev),
                     on_socket_readable, bev) != 0)
        return -1;
    if (armed)
        event_add(rev, evutil_timerisset(&bev->timeout_read) ? &bev->timeout_read : NULL);
    return 0;
}

void kc_conn_io_attach(struct kc_conn *kc)
{
    struct kc_conn_io *io = kc->io;
    bufferevent_data_cb readcb, writecb;
    bufferevent_event_cb eventcb;
    void *cbarg;
    bufferevent_getcb(kc->conn->bev, &readcb, &writecb, &eventcb, &cbarg);
    if (!readcb || !writecb || !eventcb || cbarg != kc->conn)
        return;
#ifndef EVHTP_DISABLE_SSL
    if (kc->conn->ssl)
        return; /* the socket carries TLS records: reading and writing them is OpenSSL's */
#endif
    if (!io->evhtp_readcb) {
        io->evhtp_readcb = readcb;
        io->evhtp_writecb = writecb;
        io->evhtp_eventcb = eventcb;
    } else if (readcb != io->evhtp_readcb || writecb != io->evhtp_writecb ||
               eventcb != io->evhtp_eventcb) {
        return;
    }
    bufferevent_setcb(kc->conn->bev, on_conn_readable, on_conn_flushed, on_conn_event, kc);
    (void)take_read_event(kc); /* if not, libevent reads (with its probe) and calls us */
    park_parser(io, kc->conn);
}

void kc_conn_io_detach(struct kc_conn *kc)
{
    if (kc->alive)
        *kc->alive = 0;
    if (kc->io && !kc->conn->parser)
        kc->io->idle_count--; /* closed while idle */
}

void kc_conn_io_clear(struct kc_conn_io *io)
{
    kc_parser_pool_clear(&io->parsers);
}
