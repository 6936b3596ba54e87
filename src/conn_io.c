/* conn_io.c — fast paths between a connection's socket and libevhtp; see conn_io.h.
 *
 * Who calls whom, per connection (arg is always the gateway's kc_conn):
 *   socket readable -> on_socket_readable (recv) -> on_conn_readable -> evhtp read callback
 *                      -> flush_now -> on_conn_flushed -> evhtp write callback
 *   socket writable -> on_socket_writable -> on_conn_flushed -> evhtp write callback
 *   EOF/error/timeout -> on_conn_event -> evhtp event callback
 * evhtp may free the connection inside any of its callbacks; kc->alive tells.
 *
 * Both socket events are edge-triggered (EV_ET), so the rules that keep bytes from being
 * stranded are: a read that filled the buffer is followed by another (the event is made
 * active again) until recv comes up short; a write goes on until the output is empty or the
 * socket says EAGAIN, after which the kernel reports the next edge when there is room. Events
 * switched off and on (evhtp pausing a request) are re-registered with epoll_ctl, and the
 * kernel reports a socket already readable or writable at that moment. */
#include "conn_io.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_struct.h> /* ev_read, ev_write, timeout_read, timeout_write */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

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

static void on_conn_event(struct bufferevent *bev, short events, void *arg)
{
    struct kc_conn *kc = arg;
    kc->io->evhtp_eventcb(bev, events, kc->conn);
}

/* Bytes one write callback sends at most: a 5 MB Prometheus text or a 10 MB summary went into
 * a loopback socket in one 5–10 ms piece. Above it the write event is made active again: the
 * rest goes out after the loop's other ready callbacks (or in the next turn). */
#define WRITE_BYTES_PER_CALL (256u << 10)

enum { WROTE_NOTHING = 0, WROTE_ALL_IT_TOOK = 1, WROTE_BUDGET = 2, WRITE_FAILED = -1 };

/* Writes until the output is empty, the socket is full (edge-triggered: stopping earlier
 * would wait for an edge that never comes) or WRITE_BYTES_PER_CALL went out. WRITE_FAILED
 * with errno on an error or a closed peer (0 bytes written). The output's start is frozen
 * outside libevent's own write callback, hence the unfreeze around it. */
static int write_out(struct bufferevent *bev, evutil_socket_t fd)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    size_t sent = 0;
    int rc = WROTE_NOTHING;
    evbuffer_unfreeze(out, 1);
    while (evbuffer_get_length(out) > 0) {
        if (sent >= WRITE_BYTES_PER_CALL) {
            rc = WROTE_BUDGET;
            break;
        }
        int n = evbuffer_write_atmost(out, fd, (ev_ssize_t)(WRITE_BYTES_PER_CALL - sent));
        if (n > 0) {
            sent += (size_t)n;
            rc = WROTE_ALL_IT_TOOK;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        if (n == 0)
            errno = EPIPE;
        rc = WRITE_FAILED;
        break;
    }
    evbuffer_freeze(out, 1);
    return rc;
}

/* What libevent's write callback does after writing (bufferevent_sock.c): on an error, stop
 * writing and report; once the output is drained, drop the write event and tell the owner;
 * anything left waits for the socket's next writable edge, or, when the budget ran out
 * first, for the write callback made active again. */
static void after_write(struct kc_conn *kc, struct bufferevent *bev, int rc)
{
    if (rc == WRITE_FAILED) {
        int err = errno;
        bufferevent_incref(bev);
        bufferevent_disable(bev, EV_WRITE);
        errno = err;
        on_conn_event(bev, BEV_EVENT_WRITING | BEV_EVENT_ERROR, kc);
        bufferevent_decref(bev);
        return;
    }
    if (evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        if (rc == WROTE_BUDGET && event_pending(&bev->ev_write, EV_WRITE, NULL))
            event_active(&bev->ev_write, EV_WRITE, 1);
        return;
    }
    event_del(&bev->ev_write);
    if (rc != WROTE_NOTHING) {
        bufferevent_incref(bev);
        on_conn_flushed(bev, kc);
        bufferevent_decref(bev);
    }
}

/* Writes what is waiting right away, instead of arming the write event for the next turn.
 * A reply written while parsing is finished here if it went out whole, as after_write would;
 * if not, it already had its WRITE_BYTES_PER_CALL, and the rest waits for the write event
 * (made active, in case the socket has room and no edge will come). */
static void flush_now(struct kc_conn *kc)
{
    struct bufferevent *bev = kc->conn->bev;
    int wrote_direct = kc->wrote_direct;
    kc->wrote_direct = 0;
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        if (wrote_direct) {
            bufferevent_incref(bev);
            on_conn_flushed(bev, kc);
            bufferevent_decref(bev);
        }
        return;
    }
    if (!(bufferevent_get_enabled(bev) & EV_WRITE))
        return;
    if (wrote_direct) {
        if (event_pending(&bev->ev_write, EV_WRITE, NULL))
            event_active(&bev->ev_write, EV_WRITE, 1);
        return;
    }
    after_write(kc, bev, write_out(bev, kc->conn->sock));
}

struct lent_body {
    void (*release)(void *owner);
    void *owner;
};

static void on_lent_body_sent(const void *data, size_t len, void *arg)
{
    (void)data, (void)len;
    struct lent_body *l = arg;
    l->release(l->owner);
    free(l);
}

/* Up to this many pieces go into one writev: the head and a body buffer's extents. */
#define DIRECT_PIECES 8

/* The reply's pieces as iovecs, WRITE_BYTES_PER_CALL bytes at most (the rest is queued and
 * goes out in later callbacks, as any big reply does); 0 when the body buffer has more
 * extents than fit. */
static int reply_pieces(const struct kc_conn_io_reply *r, struct iovec *iov)
{
    int n = 0;
    iov[n++] = (struct iovec){(void *)(uintptr_t)r->head, r->head_len};
    if (r->body_buf) {
        struct evbuffer_iovec ext[DIRECT_PIECES - 1];
        int extents = evbuffer_peek(r->body_buf, -1, NULL, ext, DIRECT_PIECES - 1);
        if (extents > DIRECT_PIECES - 1)
            return 0;
        for (int i = 0; i < extents; i++)
            iov[n++] = (struct iovec){ext[i].iov_base, ext[i].iov_len};
    } else if (r->body_len > 0) {
        iov[n++] = (struct iovec){(void *)(uintptr_t)r->body, r->body_len};
    }
    size_t budget = WRITE_BYTES_PER_CALL;
    for (int i = 0; i < n; i++) {
        if (iov[i].iov_len >= budget) {
            iov[i].iov_len = budget;
            return i + 1;
        }
        budget -= iov[i].iov_len;
    }
    return n;
}

int kc_conn_io_send(struct kc_conn *kc, evhtp_connection_t *conn, const struct kc_conn_io_reply *r)
{
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    size_t sent = 0;
    struct iovec iov[DIRECT_PIECES];
    int pieces;
    if (kc && kc->parsing && evbuffer_get_length(out) == 0 && (pieces = reply_pieces(r, iov)) > 0) {
        /* An error (or EAGAIN) queues everything: write_out meets it again and reports it. */
        ssize_t n = writev(conn->sock, iov, pieces);
        if (n > 0) {
            sent = (size_t)n;
            kc->wrote_direct = 1;
        }
    }
    int rc = 0;
    if (sent < r->head_len)
        rc |= evbuffer_add(out, r->head + sent, r->head_len - sent);
    size_t body_sent = sent > r->head_len ? sent - r->head_len : 0;
    if (r->body_buf) {
        evbuffer_drain(r->body_buf, body_sent);
        rc |= evbuffer_add_buffer(out, r->body_buf);
    } else if (body_sent < r->body_len) {
        const char *rest = (const char *)r->body + body_sent;
        size_t rest_len = r->body_len - body_sent;
        struct lent_body *l = r->release ? malloc(sizeof *l) : NULL;
        if (l) {
            *l = (struct lent_body){r->release, r->owner};
            if (evbuffer_add_reference(out, rest, rest_len, on_lent_body_sent, l) == 0)
                return rc ? -1 : 0;
            free(l);
        }
        rc |= evbuffer_add(out, rest, rest_len); /* not lent, or lending failed: a copy */
    }
    if (r->release)
        r->release(r->owner);
    return rc ? -1 : 0;
}

/* The socket has room again: write on. Timeouts go to libevent's own callback. */
static void on_socket_writable(evutil_socket_t fd, short what, void *arg)
{
    struct bufferevent *bev = arg;
    struct kc_conn *kc = bev->cbarg;
    if (!(what & EV_WRITE)) {
        kc->io->socket_writecb(fd, what, bev);
        return;
    }
    after_write(kc, bev, write_out(bev, fd));
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
    kc->parsing = 1;
    io->evhtp_readcb(bev, conn);
    if (!alive)
        return;
    kc->alive = NULL;
    kc->parsing = 0;
    flush_now(kc);
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
        return; /* nothing after all; the next edge comes with the next bytes */
    /* libevent would run the callbacks deferred, on a later pass of the loop (libevhtp asks
     * for BEV_OPT_DEFER_CALLBACKS); running them now saves that pass. The reference keeps the
     * bufferevent valid if evhtp frees the connection meanwhile. */
    bufferevent_incref(bev);
    if (n > 0) {
        on_conn_readable(bev, kc);
        /* A full buffer may have left bytes behind, and no edge will say so: read again
         * (later in this turn) unless evhtp stopped reading or closed the connection. */
        if ((size_t)n == sizeof kc->io->read_buf && event_pending(&bev->ev_read, EV_READ, NULL))
            event_active(&bev->ev_read, EV_READ, 1);
    } else {
        /* As libevent: stop reading, report. errno is cleared on EOF because libevhtp
         * takes EOF with errno EAGAIN for a spurious wake-up and keeps reading. */
        errno = n == 0 ? 0 : err;
        bufferevent_disable(bev, EV_READ);
        on_conn_event(bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), kc);
    }
    bufferevent_decref(bev);
}

/* Re-creates one of the socket's events with our callback, edge-triggered: same event, fd,
 * flags, timeout and argument (libevent's finalizer, which frees the bufferevent, gets that
 * argument too). Re-armed if it was armed. */
static int take_event(struct event *ev, event_callback_fn cb, struct bufferevent *bev,
                      const struct timeval *timeout)
{
    short what = event_get_events(ev) & (EV_READ | EV_WRITE);
    int armed = event_pending(ev, what, NULL);
    event_del(ev);
    if (event_assign(ev, event_get_base(ev), event_get_fd(ev), event_get_events(ev) | EV_ET, cb,
                     bev) != 0)
        return -1;
    if (armed)
        event_add(ev, evutil_timerisset(timeout) ? timeout : NULL);
    return 0;
}

/* Takes over both socket events. libevent refuses an fd with one edge-triggered and one
 * level-triggered event, so it is both or neither: everything is checked first. */
static int take_socket_events(struct kc_conn *kc)
{
    struct bufferevent *bev = kc->conn->bev;
    struct kc_conn_io *io = kc->io;
    event_callback_fn rcb = event_get_callback(&bev->ev_read);
    event_callback_fn wcb = event_get_callback(&bev->ev_write);
    if (event_get_callback_arg(&bev->ev_read) != bev ||
        event_get_callback_arg(&bev->ev_write) != bev ||
        event_get_fd(&bev->ev_read) != event_get_fd(&bev->ev_write) ||
        (io->socket_readcb && (rcb != io->socket_readcb || wcb != io->socket_writecb)))
        return -1;
    io->socket_readcb = rcb;
    io->socket_writecb = wcb;
    if (take_event(&bev->ev_read, on_socket_readable, bev, &bev->timeout_read) != 0 ||
        take_event(&bev->ev_write, on_socket_writable, bev, &bev->timeout_write) != 0)
        return -1;
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
    (void)take_socket_events(kc); /* if not, libevent reads (with its probe) and calls us */
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
