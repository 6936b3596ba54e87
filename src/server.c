/* server.c — the HTTP listener: connection bookkeeping, limits enforced in evhtp's parser
 * hooks (headers, body, slow clients, connections), and graceful stop on SIGTERM/SIGINT. */
#include "conn.h"
#include "kc/config.h"
#include "kc/gateway.h"
#include "kc/http.h"
#include "kc/log.h"
#include "kc/metrics_service.h"
#include "kc/stats.h"
#include "kc/timefmt.h"
#include "conn_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct kc_server {
    struct kc_gateway *gw;
    evhtp_t *htp;
    LIST_HEAD(, kc_conn) conns;
    size_t conn_count;
    int ready;
    int stopping;
    int64_t stop_deadline_ms;
    struct event *sigterm_ev, *sigint_ev, *drain_timer;
    /* Every connection arms timers of the same two lengths, several times per request.
     * libevent's common timeouts keep such timers in a queue per length (O(1) to arm and
     * disarm) instead of its heap (O(log n) with n the open connections). */
    const struct timeval *header_timeout;
    struct kc_conn_io io;
};

uint64_t kc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int kc_server_ready(const struct kc_server *srv)
{
    return srv && srv->ready && !srv->stopping;
}

size_t kc_server_connection_count(const struct kc_server *srv)
{
    return srv ? srv->conn_count : 0;
}

size_t kc_server_idle_connection_count(const struct kc_server *srv)
{
    return srv ? srv->io.idle_count : 0;
}

void kc_server_log_access(struct kc_conn *kc, evhtp_request_t *req, int status, size_t bytes)
{
    double dur = (double)(kc_now_ns() - kc->start_ns) / 1e9;
    const char *method = kc_http_method(req);
    kc_stats_request(kc->route, method, status, dur);
    if (!kc_log_enabled(KC_LOG_INFO))
        return;
    /* The path is logged without its query string: queries may carry tokens. */
    const char *path = req->uri && req->uri->path && req->uri->path->full ? req->uri->path->full
                                                                          : "";
    kc_log(KC_LOG_INFO, "access", "{s:s,s:s,s:s,s:i,s:f,s:f,s:s?,s:I}", "method", method, "path",
           path, "route", kc->route ? kc->route : "other", "status", status, "duration_ms",
           dur * 1e3, "upstream_ms", kc->upstream_ms, "cache", kc->cache, "bytes",
           (json_int_t)bytes);
}

/* Writes a small complete response straight to the socket, for connections evhtp is about
 * to drop (limits hit before a request object exists). Best effort: it never blocks. */
void kc_write_raw_error(int fd, int status, const char *reason, const char *code,
                        const char *message)
{
    char body[256], head[512];
    int blen = snprintf(body, sizeof body, "{\"error\":\"%s\",\"message\":\"%s\"}", code, message);
    int hlen = snprintf(head, sizeof head,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        "Content-Length: %d\r\n\r\n",
                        status, reason, blen);
    if (send(fd, head, (size_t)hlen, MSG_DONTWAIT | MSG_NOSIGNAL) == hlen)
        (void)send(fd, body, (size_t)blen, MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
}

static void conn_reset_request(struct kc_conn *kc)
{
    kc->route = NULL;
    kc->cache = NULL;
    kc->no_store = 0;
    kc->upstream_ms = 0;
    kc->header_count = 0;
    kc->body_bytes = 0;
    kc->reject_status = 0;
    kc->reject_code = kc->reject_message = NULL;
    kc->replied_early = 0;
}

/* The slow-client guard is armed lazily: a request whose headers start while it is pending
 * leaves it alone, and when it fires it checks the request in progress, re-arming for the
 * rest of that request's time. A keep-alive connection thus arms it about once per timeout
 * instead of an add and a delete per request (600 of a cached GET's instructions). */
static void on_header_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct kc_conn *kc = arg;
    if (kc->replied_early) {
        /* The early answer is out and the body is consumed: now the connection can go. */
        evhtp_connection_free(kc->conn);
        return;
    }
    if (!kc->awaiting_headers)
        return; /* they came in time; the next request arms the guard again */
    uint64_t limit_ns = (uint64_t)kc->gw->cfg->header_timeout_ms * 1000000u;
    uint64_t waited_ns = kc_now_ns() - kc->start_ns;
    if (waited_ns < limit_ns) {
        uint64_t rest_us = (limit_ns - waited_ns + 999) / 1000;
        struct timeval rest = {(time_t)(rest_us / 1000000u), (suseconds_t)(rest_us % 1000000u)};
        evtimer_add(kc->header_timer, &rest);
        return;
    }
    KC_WARN("slow_client", "{s:s}", "reason", "request headers not complete in time");
    kc_write_raw_error(kc->conn->sock, 408, "Request Timeout", "request_timeout",
                       "request headers were not received in time");
    evhtp_connection_free(kc->conn); /* runs on_connection_fini, which frees kc */
}

static evhtp_res on_headers_start(evhtp_request_t *req, void *arg)
{
    struct kc_conn *kc = arg;
    conn_reset_request(kc);
    kc->start_ns = kc_now_ns();
    kc->awaiting_headers = 1;
    struct kc_server *srv = kc->gw->server;
    if (kc->header_timer && !srv->stopping && !evtimer_pending(kc->header_timer, NULL))
        evtimer_add(kc->header_timer, srv->header_timeout);
    return EVHTP_RES_OK;
}

static evhtp_res on_header(evhtp_request_t *req, evhtp_header_t *hdr, void *arg)
{
    struct kc_conn *kc = arg;
    if (++kc->header_count > kc->gw->cfg->max_header_count && !kc->reject_status) {
        kc->reject_status = 431;
        kc->reject_code = "headers_too_large";
        kc->reject_message = "too many request headers";
    }
    return EVHTP_RES_OK;
}

static evhtp_res on_headers(evhtp_request_t *req, evhtp_headers_t *hdrs, void *arg)
{
    struct kc_conn *kc = arg;
    kc->awaiting_headers = 0; /* the guard, still armed, lets go when it fires */
    /* The router finds its way back to this record through the callback argument. */
    req->cbarg = kc;
    const char *cl = evhtp_header_find(hdrs, "Content-Length");
    if (cl) {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || n > kc->gw->cfg->max_body_bytes) {
            /* Answer now, as nginx does, instead of after a body the client may never send
             * (or only after a 100-continue that will not come). The body that does come is
             * read and discarded (on_body), so closing never resets the answer away. */
            kc_write_raw_error(kc->conn->sock, 413, "Payload Too Large", "body_too_large",
                               "request body exceeds the configured limit");
            kc_stats_request("rejected", kc_http_method(req), 413,
                             (double)(kc_now_ns() - kc->start_ns) / 1e9);
            kc->reject_status = 413;
            kc->replied_early = 1;
        }
    }
    return EVHTP_RES_OK;
}

/* Body bytes beyond the limit are discarded as they arrive, so a large upload costs no memory;
 * the request then ends with 413. */
static evhtp_res on_body(evhtp_request_t *req, struct evbuffer *buf, void *arg)
{
    struct kc_conn *kc = arg;
    kc->body_bytes += evbuffer_get_length(buf);
    if (kc->body_bytes > kc->gw->cfg->max_body_bytes && !kc->reject_status) {
        kc->reject_status = 413;
        kc->reject_code = "body_too_large";
        kc->reject_message = "request body exceeds the configured limit";
    }
    if (kc->reject_status == 413) {
        evbuffer_drain(buf, evbuffer_get_length(buf));
        evbuffer_drain(req->buffer_in, evbuffer_get_length(req->buffer_in));
    }
    return EVHTP_RES_OK;
}

/* libevhtp 1.2.18 stops parsing after each message and parses input it already holds
 * (pipelined requests) only through a resume; after a reply sent from inside the request
 * callback nothing resumes, so those requests would wait for the keep-alive timeout. When a
 * finished reply has flushed and input is waiting, a pause + resume has evhtp parse it on the
 * next turn. Only pipelining clients pay for this. */
static evhtp_res on_write(evhtp_connection_t *conn, void *arg)
{
    if ((conn->flags & (EVHTP_CONN_FLAG_PAUSED | EVHTP_CONN_FLAG_WAITING)) || !conn->request ||
        !(conn->request->flags & EVHTP_REQ_FLAG_FINISHED) ||
        evbuffer_get_length(bufferevent_get_input(conn->bev)) == 0)
        return EVHTP_RES_OK;
    evhtp_connection_pause(conn);
    evhtp_connection_resume(conn);
    return EVHTP_RES_OK;
}

static evhtp_res on_connection_fini(evhtp_connection_t *conn, void *arg)
{
    struct kc_conn *kc = arg;
    struct kc_server *srv = kc->gw->server;
    kc_conn_io_detach(kc);
    /* evhtp drops a connection whose request it cannot parse without a word; say why
     * before the socket closes. A header or request line over 8 KiB (libevhtp's fixed
     * parser limit) gets 431, anything else malformed 400. */
    htpparse_error perr = conn->parser ? htparser_get_error(conn->parser) : htparse_error_none;
    if (perr != htparse_error_none && perr != htparse_error_user) {
        if (perr == htparse_error_too_big)
            kc_write_raw_error(conn->sock, 431, "Request Header Fields Too Large",
                               "headers_too_large", "a request header or line exceeds 8 KiB");
        else
            kc_write_raw_error(conn->sock, 400, "Bad Request", "bad_request",
                               "the request is not valid HTTP/1.1");
        kc_stats_request("malformed", "?", perr == htparse_error_too_big ? 431 : 400, 0);
    }
    LIST_REMOVE(kc, link);
    srv->conn_count--;
    if (kc->header_timer)
        event_free(kc->header_timer);
    free(kc);
    return EVHTP_RES_OK;
}

static evhtp_res on_accept(evhtp_connection_t *conn, void *arg)
{
    struct kc_gateway *gw = arg;
    struct kc_server *srv = gw->server;
    if (srv->conn_count >= gw->cfg->max_connections || srv->stopping) {
        kc_write_raw_error(conn->sock, 503, "Service Unavailable", "too_many_connections",
                           srv->stopping ? "the gateway is shutting down"
                                         : "connection limit reached, try again later");
        return EVHTP_RES_ERROR;
    }
    struct kc_conn *kc = calloc(1, sizeof *kc);
    if (!kc) {
        kc_write_raw_error(conn->sock, 503, "Service Unavailable", "out_of_memory",
                           "out of memory");
        return EVHTP_RES_ERROR;
    }
    kc->gw = gw;
    kc->conn = conn;
    kc->header_timer = evtimer_new(conn->evbase, on_header_timeout, kc);
    LIST_INSERT_HEAD(&srv->conns, kc, link);
    srv->conn_count++;
    evhtp_connection_set_hook(conn, evhtp_hook_on_headers_start, (evhtp_hook)on_headers_start, kc);
    evhtp_connection_set_hook(conn, evhtp_hook_on_header, (evhtp_hook)on_header, kc);
    evhtp_connection_set_hook(conn, evhtp_hook_on_headers, (evhtp_hook)on_headers, kc);
    evhtp_connection_set_hook(conn, evhtp_hook_on_read, (evhtp_hook)on_body, kc);
    evhtp_connection_set_hook(conn, evhtp_hook_on_write, (evhtp_hook)on_write, kc);
    evhtp_connection_set_hook(conn, evhtp_hook_on_connection_fini, (evhtp_hook)on_connection_fini,
                              kc);
    kc->io = &srv->io;
    kc_conn_io_attach(kc);
    return EVHTP_RES_OK;
}

static void on_request(evhtp_request_t *req, void *arg)
{
    struct kc_conn *kc = kc_conn_of(req);
    if (!kc) {
        evhtp_send_reply(req, 500);
        return;
    }
    struct kc_gateway *gw = kc->gw;
    if (kc->replied_early) {
        /* Nothing more to say on this connection: stop parsing and close it from the loop
         * (never from inside evhtp's parser). */
        evhtp_request_pause(req);
        struct timeval now = {0, 0};
        if (kc->header_timer)
            evtimer_add(kc->header_timer, &now);
        return;
    }
    if (kc->reject_status) {
        /* The connection cannot be trusted to be in sync with the client any more. */
        evhtp_request_set_keepalive(req, 0);
        kc_http_note_route(req, "rejected");
        kc_reply_error(req, kc->reject_status, kc->reject_code, "%s", kc->reject_message);
        return;
    }
    if (gw->server->stopping)
        evhtp_request_set_keepalive(req, 0);
    kc_routes_dispatch(gw, req);
}

/* Requests still waiting on an upstream, plus replies not yet flushed to their clients. */
static size_t unfinished(struct kc_server *srv)
{
    size_t n = kc_pending_count();
    struct kc_conn *kc;
    LIST_FOREACH(kc, &srv->conns, link)
    {
        if (kc->conn->bev && evbuffer_get_length(bufferevent_get_output(kc->conn->bev)) > 0)
            n++;
    }
    return n;
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct kc_server *srv = arg;
    size_t waiting = unfinished(srv);
    if (waiting == 0 || kc_mono_ms() >= srv->stop_deadline_ms) {
        if (waiting)
            KC_WARN("shutdown_deadline", "{s:I}", "abandoned_requests", (json_int_t)waiting);
        event_base_loopbreak(srv->gw->base);
        return;
    }
    struct timeval tv = {0, 20000};
    evtimer_add(srv->drain_timer, &tv);
}

static void begin_stop(struct kc_server *srv, const char *signame)
{
    if (srv->stopping) {
        /* A second signal: stop now. */
        event_base_loopbreak(srv->gw->base);
        return;
    }
    srv->stopping = 1;
    srv->ready = 0;
    KC_INFO("shutdown", "{s:s,s:I,s:I}", "signal", signame, "in_flight",
            (json_int_t)kc_pending_count(), "deadline_ms",
            (json_int_t)srv->gw->cfg->shutdown_timeout_ms);
    evhtp_unbind_socket(srv->htp);
    kc_metrics_service_close_streams(srv->gw->metrics);
    srv->stop_deadline_ms = kc_mono_ms() + srv->gw->cfg->shutdown_timeout_ms;
    on_drain_tick(-1, 0, srv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    begin_stop(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static const struct timeval *common_timeout(struct event_base *base, int64_t ms)
{
    struct timeval tv = kc_timeval_from_ms(ms);
    return event_base_init_common_timeout(base, &tv);
}

struct kc_server *kc_server_start(struct kc_gateway *gw)
{
    struct kc_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->gw = gw;
    gw->server = srv;
    LIST_INIT(&srv->conns);
    srv->htp = evhtp_new(gw->base, NULL);
    if (!srv->htp)
        goto fail;
    /* NODELAY for small JSON replies; no automatic "100 Continue": limits are checked first. */
    srv->htp->flags = (uint16_t)((srv->htp->flags | EVHTP_FLAG_ENABLE_NODELAY) &
                                 ~EVHTP_FLAG_ENABLE_100_CONT);
    evhtp_set_gencb(srv->htp, on_request, gw);
    evhtp_set_post_accept_cb(srv->htp, on_accept, gw);
    const struct timeval *idle_timeout = common_timeout(gw->base, gw->cfg->keepalive_timeout_ms);
    srv->header_timeout = common_timeout(gw->base, gw->cfg->header_timeout_ms);
    if (!idle_timeout || !srv->header_timeout)
        goto fail;
    /* evhtp copies the value into every connection's bufferevent (read and write timeout);
     * the copy stays a common timeout, which libevent recognises by its tv_usec bits. */
    evhtp_set_timeouts(srv->htp, idle_timeout, idle_timeout);
    if (evhtp_bind_socket(srv->htp, gw->cfg->listen_host, (uint16_t)gw->cfg->listen_port, 4096) !=
        0) {
        fprintf(stderr, "kconnect-console: cannot listen on %s:%d: %s\n", gw->cfg->listen_host,
                gw->cfg->listen_port, strerror(errno));
        goto fail;
    }
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    if (getsockname(evconnlistener_get_fd(srv->htp->server), (struct sockaddr *)&sin, &len) != 0)
        goto fail;
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin.sin_addr, host, sizeof host);

    srv->sigterm_ev = evsignal_new(gw->base, SIGTERM, on_signal, srv);
    srv->sigint_ev = evsignal_new(gw->base, SIGINT, on_signal, srv);
    srv->drain_timer = evtimer_new(gw->base, on_drain_tick, srv);
    if (!srv->sigterm_ev || !srv->sigint_ev || !srv->drain_timer)
        goto fail;
    evsignal_add(srv->sigterm_ev, NULL);
    evsignal_add(srv->sigint_ev, NULL);
    srv->ready = 1;
    printf("listening on %s:%d\n", host, ntohs(sin.sin_port));
    fflush(stdout);
    KC_INFO("listening", "{s:s,s:i}", "host", host, "port", ntohs(sin.sin_port));
    return srv;
fail:
    kc_server_free(srv);
    gw->server = NULL;
    return NULL;
}

void kc_server_run(struct kc_server *srv)
{
    event_base_dispatch(srv->gw->base);
}

void kc_server_free(struct kc_server *srv)
{
    if (!srv)
        return;
    /* libevhtp's bufferevents run their callbacks deferred (BEV_OPT_DEFER_CALLBACKS), and a
     * scheduled callback holds a reference on its bufferevent: one still waiting when the
     * loop stopped (a reply written, evhtp not yet told) would keep that bufferevent alive
     * past its connection's free. One more non-blocking turn runs them. */
    event_base_loop(srv->gw->base, EVLOOP_NONBLOCK);
    /* Freeing a connection runs its fini hooks: pending requests tell their owners. */
    struct kc_conn *kc;
    while ((kc = LIST_FIRST(&srv->conns)))
        evhtp_connection_free(kc->conn);
    if (srv->sigterm_ev)
        event_free(srv->sigterm_ev);
    if (srv->sigint_ev)
        event_free(srv->sigint_ev);
    if (srv->drain_timer)
        event_free(srv->drain_timer);
    kc_conn_io_clear(&srv->io);
    if (srv->htp) {
        evhtp_unbind_socket(srv->htp); /* evhtp_free leaves the listener alone */
        evhtp_free(srv->htp);
    }
    free(srv);
}
