/* sim_http.c — listeners that track their connections (so "down" and shutdown can close
 * them all), timer-delayed replies with a cancel path, and small request/reply helpers. */
#include "sim_http.h"

#include "kc/urlenc.h"

#include "sim_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* One open connection; freed by its connection_fini hook. */
struct conn_node {
    struct sim_listener *l;
    evhtp_connection_t *conn;
    struct conn_node *prev, *next;
};

/* One paused request waiting for its timer; freed by its request_fini hook or on fire. */
struct deferred {
    struct event *timer;
    evhtp_request_t *r;
    sim_http_cb cb;
    void *arg;
};

struct sim_listener {
    struct event_base *base; /* borrowed */
    evhtp_t *htp;            /* owned */
    char addr[INET_ADDRSTRLEN];
    uint16_t port;
    bool bound;
    sim_http_cb cb;
    void *arg;
    struct conn_node *conns; /* open connections */
};

static evhtp_res on_connection_fini(evhtp_connection_t *conn, void *arg)
{
    struct conn_node *n = arg;
    (void)conn;
    if (n->prev)
        n->prev->next = n->next;
    else
        n->l->conns = n->next;
    if (n->next)
        n->next->prev = n->prev;
    free(n);
    return EVHTP_RES_OK;
}

static evhtp_res on_post_accept(evhtp_connection_t *conn, void *arg)
{
    struct sim_listener *l = arg;
    struct conn_node *n = calloc(1, sizeof *n);
    if (!n)
        return EVHTP_RES_ERROR; /* evhtp drops the connection */
    n->l = l;
    n->conn = conn;
    n->next = l->conns;
    if (l->conns)
        l->conns->prev = n;
    l->conns = n;
    evhtp_connection_set_hook(conn, evhtp_hook_on_connection_fini, (evhtp_hook)on_connection_fini,
                              n);
    return EVHTP_RES_OK;
}

static void on_request(evhtp_request_t *r, void *arg)
{
    struct sim_listener *l = arg;
    l->cb(r, l->arg);
}

struct sim_listener *sim_http_listener_new(struct event_base *base, const char *addr,
                                           sim_http_cb cb, void *arg)
{
    struct sim_listener *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->base = base;
    l->cb = cb;
    l->arg = arg;
    snprintf(l->addr, sizeof l->addr, "%s", addr);
    l->htp = evhtp_new(base, NULL);
    if (!l->htp) {
        free(l);
        return NULL;
    }
    evhtp_set_gencb(l->htp, on_request, l);
    evhtp_set_post_accept_cb(l->htp, on_post_accept, l);
    evhtp_set_max_body_size(l->htp, SIM_HTTP_MAX_BODY);
    return l;
}

int sim_http_listener_bind(struct sim_listener *l, uint16_t port)
{
    if (l->bound)
        return 0;
    if (evhtp_bind_socket(l->htp, l->addr, port, 1024) < 0) {
        if (!errno)
            errno = EADDRINUSE;
        return -1;
    }
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    if (getsockname(evconnlistener_get_fd(l->htp->server), (struct sockaddr *)&sin, &len) < 0) {
        int e = errno;
        evhtp_unbind_socket(l->htp);
        errno = e;
        return -1;
    }
    l->port = ntohs(sin.sin_port);
    l->bound = true;
    return 0;
}

void sim_http_listener_unbind(struct sim_listener *l)
{
    if (l->bound) {
        evhtp_unbind_socket(l->htp);
        l->bound = false;
    }
    /* Freeing a connection runs its fini hook, which unlinks the head node. */
    while (l->conns)
        evhtp_connection_free(l->conns->conn);
}

bool sim_http_listener_bound(const struct sim_listener *l)
{
    return l->bound;
}

uint16_t sim_http_listener_port(const struct sim_listener *l)
{
    return l->port;
}

const char *sim_http_listener_addr(const struct sim_listener *l)
{
    return l->addr;
}

void sim_http_listener_free(struct sim_listener *l)
{
    if (!l)
        return;
    sim_http_listener_unbind(l);
    evhtp_free(l->htp);
    free(l);
}

static evhtp_res on_deferred_fini(evhtp_request_t *r, void *arg)
{
    struct deferred *d = arg;
    (void)r;
    event_free(d->timer);
    free(d);
    return EVHTP_RES_OK;
}

static void on_deferred_timer(evutil_socket_t fd, short what, void *arg)
{
    struct deferred *d = arg;
    evhtp_request_t *r = d->r;
    sim_http_cb cb = d->cb;
    void *cb_arg = d->arg;
    (void)fd;
    (void)what;
    evhtp_request_unset_hook(r, evhtp_hook_on_request_fini);
    event_free(d->timer);
    free(d);
    cb(r, cb_arg);
    /* After the reply, as evhtp wants; r may be freed on the next loop turn. */
    evhtp_request_resume(r);
}

int sim_http_defer(struct sim_listener *l, evhtp_request_t *r, unsigned delay_ms, sim_http_cb cb,
                   void *arg)
{
    struct deferred *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    d->timer = evtimer_new(l->base, on_deferred_timer, d);
    if (!d->timer) {
        free(d);
        return -1;
    }
    d->r = r;
    d->cb = cb;
    d->arg = arg;
    struct timeval tv = {.tv_sec = delay_ms / 1000, .tv_usec = (delay_ms % 1000) * 1000};
    evhtp_request_set_hook(r, evhtp_hook_on_request_fini, (evhtp_hook)on_deferred_fini, d);
    evhtp_request_pause(r);
    evtimer_add(d->timer, &tv);
    return 0;
}

void sim_http_add_header(evhtp_request_t *r, const char *key, const char *value)
{
    evhtp_headers_add_header(r->headers_out, evhtp_header_new(key, value, 1, 1));
}

const char *sim_http_header(evhtp_request_t *r, const char *name)
{
    return evhtp_header_find(r->headers_in, name);
}

void sim_http_reply(evhtp_request_t *r, int status, const char *ctype, const char *body, size_t len)
{
    if (ctype)
        sim_http_add_header(r, "Content-Type", ctype);
    if (len)
        evbuffer_add(r->buffer_out, body, len);
    evhtp_send_reply(r, (evhtp_res)status);
}

void sim_http_reply_json(evhtp_request_t *r, int status, const char *ctype, const json_t *v,
                         int dump_flags)
{
    sim_http_add_header(r, "Content-Type", ctype);
    if (v && sim_json_dump(v, r->buffer_out, dump_flags) < 0) {
        evbuffer_drain(r->buffer_out, evbuffer_get_length(r->buffer_out));
        status = 500;
    }
    evhtp_send_reply(r, (evhtp_res)status);
}

/* One decoder for the gateway and the simulator: src/urlenc.c. */
char *sim_http_pct_decode(const char *in, size_t len)
{
    int bad = 0;
    return kc_urldec_segment(in, len, &bad);
}

int sim_http_query(evhtp_request_t *r, const char *key, int nth, char *out, size_t cap)
{
    out[0] = '\0';
    const char *q = r->uri ? (const char *)r->uri->query_raw : NULL;
    size_t klen = strlen(key);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t plen = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', plen);
        size_t name_len = eq ? (size_t)(eq - q) : plen;
        if (name_len == klen && strncmp(q, key, klen) == 0 && nth-- == 0) {
            const char *v = eq ? eq + 1 : q + plen;
            size_t vlen = (size_t)(q + plen - v);
            char *dec = sim_http_pct_decode(v, vlen);
            if (dec) {
                /* Query strings use '+' for space. */
                for (char *p = dec; *p; p++)
                    if (*p == '+')
                        *p = ' ';
                snprintf(out, cap, "%s", dec);
                free(dec);
            }
            return 1;
        }
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

bool sim_http_query_bool(evhtp_request_t *r, const char *key, bool dflt)
{
    char v[16];
    if (!sim_http_query(r, key, 0, v, sizeof v))
        return dflt;
    return strcasecmp(v, "true") == 0;
}

const char *sim_http_path(evhtp_request_t *r)
{
    return r->uri && r->uri->path && r->uri->path->full ? r->uri->path->full : "/";
}

const char *sim_http_method_name(evhtp_request_t *r)
{
    switch (evhtp_request_get_method(r)) {
    case htp_method_GET:
        return "GET";
    case htp_method_HEAD:
        return "HEAD";
    case htp_method_POST:
        return "POST";
    case htp_method_PUT:
        return "PUT";
    case htp_method_DELETE:
        return "DELETE";
    case htp_method_PATCH:
        return "PATCH";
    case htp_method_OPTIONS:
        return "OPTIONS";
    default:
        return "OTHER";
    }
}
