/* http.c — every reply the gateway sends (headers, gzip, resume of paused requests) and the
 * pending-request record that survives a client disconnecting while an upstream call runs. */
#include "kc/http.h"

#include "conn.h"
#include "kc/log.h"

#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <zlib.h>

#define GZIP_MIN_BYTES 1024

void kc_http_note_route(evhtp_request_t *req, const char *route)
{
    struct kc_conn *kc = kc_conn_of(req);
    if (kc)
        kc->route = route;
}

void kc_http_note_cache(evhtp_request_t *req, const char *cache_status)
{
    struct kc_conn *kc = kc_conn_of(req);
    if (kc)
        kc->cache = cache_status;
}

void kc_http_note_upstream(evhtp_request_t *req, double upstream_ms)
{
    struct kc_conn *kc = kc_conn_of(req);
    if (kc)
        kc->upstream_ms += upstream_ms;
}

const char *kc_http_header(evhtp_request_t *req, const char *name)
{
    return evhtp_header_find(req->headers_in, name);
}

const char *kc_http_method(evhtp_request_t *req)
{
    return htparser_get_methodstr_m(evhtp_request_get_method(req));
}

/* True when Accept-Encoding lists gzip (or x-gzip, or *) without q=0. */
int kc_http_accepts_gzip(evhtp_request_t *req)
{
    const char *p = kc_http_header(req, "Accept-Encoding");
    if (!p)
        return 0;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t len = (size_t)(p - tok);
        int named = (len == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
                    (len == 6 && strncasecmp(tok, "x-gzip", 6) == 0) || (len == 1 && *tok == '*');
        double q = 1.0;
        while (*p && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                    q = strtod(p + 2, NULL);
            } else {
                p++;
            }
        }
        if (named && q > 0.0)
            return 1;
    }
    return 0;
}

void kc_reply_header(evhtp_request_t *req, const char *name, const char *value)
{
    evhtp_headers_add_header(req->headers_out, evhtp_header_new(name, value, 1, 1));
}

void kc_reply_header_const(evhtp_request_t *req, const char *name, const char *value)
{
    evhtp_headers_add_header(req->headers_out, evhtp_header_new(name, value, 0, 0));
}

unsigned char *kc_gzip(const void *data, size_t len, int level, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 15 + 16: zlib writes a gzip header and trailer. */
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&zs, (uLong)len);
    unsigned char *out = malloc(cap);
    if (!out) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

struct kc_gzip_job {
    z_stream zs;
    const unsigned char *data;
    size_t len, fed;
    unsigned char *out;
    size_t cap;
};

struct kc_gzip_job *kc_gzip_job_new(const void *data, size_t len, int level)
{
    struct kc_gzip_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    if (deflateInit2(&j->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(j);
        return NULL;
    }
    j->data = data;
    j->len = len;
    j->cap = deflateBound(&j->zs, (uLong)len);
    if (!(j->out = malloc(j->cap))) {
        kc_gzip_job_free(j);
        return NULL;
    }
    j->zs.next_out = j->out;
    j->zs.avail_out = (uInt)j->cap;
    return j;
}

int kc_gzip_job_step(struct kc_gzip_job *j, size_t budget)
{
    size_t n = j->len - j->fed < budget ? j->len - j->fed : budget;
    j->zs.next_in = (Bytef *)(uintptr_t)(j->data + j->fed);
    j->zs.avail_in = (uInt)n;
    j->fed += n;
    int last = j->fed == j->len;
    int rc = deflate(&j->zs, last ? Z_FINISH : Z_NO_FLUSH);
    if (last)
        return rc == Z_STREAM_END ? 0 : -1;
    return rc == Z_OK && j->zs.avail_in == 0 ? 1 : -1;
}

unsigned char *kc_gzip_job_take(struct kc_gzip_job *j, size_t *out_len)
{
    unsigned char *out = j->out;
    *out_len = j->zs.total_out;
    j->out = NULL;
    return out;
}

void kc_gzip_job_free(struct kc_gzip_job *j)
{
    if (!j)
        return;
    deflateEnd(&j->zs);
    free(j->out);
    free(j);
}

static int is_compressible(const char *content_type)
{
    return content_type && (strncmp(content_type, "application/json", 16) == 0 ||
                            strncmp(content_type, "text/", 5) == 0 ||
                            strncmp(content_type, "application/javascript", 22) == 0);
}

/* The single exit: status line, common headers, body, access log, resume if paused. */
static void send_reply(evhtp_request_t *req, int status, size_t body_len)
{
    struct kc_conn *kc = kc_conn_of(req);
    int paused = req->conn && (req->conn->flags & EVHTP_CONN_FLAG_PAUSED);
    kc_reply_header_const(req, "X-Content-Type-Options", "nosniff");
    if (kc) {
        if (kc->cache)
            kc_reply_header_const(req, "X-Cache", kc->cache); /* static strings */
        kc_server_log_access(kc, req, status, body_len);
    }
    evhtp_send_reply(req, status);
    if (paused)
        evhtp_request_resume(req);
}

void kc_reply_prepared(evhtp_request_t *req, int status, const char *content_type,
                       const void *body, size_t len, const void *gz, size_t gz_len)
{
    if (content_type)
        kc_reply_header_const(req, "Content-Type", content_type); /* always a static string */
    if (gz && kc_http_accepts_gzip(req)) {
        kc_reply_header_const(req, "Content-Encoding", "gzip");
        kc_reply_header_const(req, "Vary", "Accept-Encoding");
        evbuffer_add(req->buffer_out, gz, gz_len);
        send_reply(req, status, gz_len);
        return;
    }
    if (gz)
        kc_reply_header_const(req, "Vary", "Accept-Encoding");
    evbuffer_add(req->buffer_out, body, len);
    send_reply(req, status, len);
}

struct lent {
    void (*release)(void *owner);
    void *owner;
};

static void on_lent_sent(const void *data, size_t len, void *arg)
{
    (void)data, (void)len;
    struct lent *l = arg;
    l->release(l->owner);
    free(l);
}

void kc_reply_prepared_shared(evhtp_request_t *req, int status, const char *content_type,
                              const void *body, size_t len, const void *gz, size_t gz_len,
                              void (*release)(void *owner), void *owner)
{
    int zipped = gz && kc_http_accepts_gzip(req);
    const void *bytes = zipped ? gz : body;
    size_t n = zipped ? gz_len : len;
    struct lent *l = malloc(sizeof *l);
    if (!l || n == 0 ||
        evbuffer_add_reference(req->buffer_out, bytes, n, on_lent_sent, l) != 0) {
        free(l); /* lending failed (or nothing to lend): copy, then release now */
        kc_reply_prepared(req, status, content_type, body, len, gz, gz_len);
        release(owner);
        return;
    }
    l->release = release;
    l->owner = owner;
    if (content_type)
        kc_reply_header_const(req, "Content-Type", content_type);
    if (zipped) {
        kc_reply_header_const(req, "Content-Encoding", "gzip");
        kc_reply_header_const(req, "Vary", "Accept-Encoding");
    } else if (gz) {
        kc_reply_header_const(req, "Vary", "Accept-Encoding");
    }
    send_reply(req, status, n);
}

void kc_reply_bytes(evhtp_request_t *req, int status, const char *content_type, const void *body,
                    size_t len)
{
    if (len > GZIP_MIN_BYTES && is_compressible(content_type) && kc_http_accepts_gzip(req)) {
        size_t gz_len = 0;
        unsigned char *gz = kc_gzip(body, len, KC_GZIP_FAST, &gz_len);
        if (gz) {
            kc_reply_prepared(req, status, content_type, body, len, gz, gz_len);
            free(gz);
            return;
        }
    }
    kc_reply_prepared(req, status, content_type, body, len, NULL, 0);
}

void kc_reply_json(evhtp_request_t *req, int status, const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text) {
        kc_reply_error(req, 500, "out_of_memory", "could not serialise the response");
        return;
    }
    kc_reply_bytes(req, status, "application/json", text, strlen(text));
    free(text);
}

void kc_reply_empty(evhtp_request_t *req, int status)
{
    send_reply(req, status, 0);
}

void kc_reply_finish(evhtp_request_t *req, int status)
{
    send_reply(req, status, evbuffer_get_length(req->buffer_out));
}

void kc_reply_error(evhtp_request_t *req, int status, const char *code, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_t *doc = json_pack("{s:s,s:s}", "error", code, "message", message);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    /* Without memory for JSON, a fixed body still tells the client what happened. */
    static const char fallback[] = "{\"error\":\"out_of_memory\",\"message\":\"out of memory\"}";
    const char *body = text ? text : fallback;
    kc_reply_header_const(req, "Content-Type", "application/json");
    if (!evhtp_header_find(req->headers_out, "Cache-Control"))
        kc_reply_header_const(req, "Cache-Control", "no-store");
    evbuffer_add(req->buffer_out, body, strlen(body));
    send_reply(req, text ? status : 503, strlen(body));
    free(text);
}

/* ---- pending requests ---- */

struct kc_pending {
    evhtp_request_t *req;
    struct event *watch; /* EV_READ on the client socket: evhtp stops reading while paused */
    kc_pending_gone_fn gone;
    void *owner;
};

static size_t pending_count;

size_t kc_pending_count(void)
{
    return pending_count;
}

evhtp_request_t *kc_pending_request(const struct kc_pending *p)
{
    return p ? p->req : NULL;
}

static void pending_free(struct kc_pending *p)
{
    if (p->watch)
        event_free(p->watch);
    pending_count--;
    free(p);
}

/* evhtp_hook_on_request_fini: the request is being freed (client gone, or shutdown). */
static evhtp_res on_pending_request_fini(evhtp_request_t *req, void *arg)
{
    struct kc_pending *p = arg;
    p->req = NULL;
    kc_pending_gone_fn gone = p->gone;
    void *owner = p->owner;
    pending_free(p);
    if (gone)
        gone(owner);
    return EVHTP_RES_OK;
}

/* The paused client's socket became readable: EOF means it left; anything else (a pipelined
 * request) is left for evhtp, and the watch is dropped so it cannot spin. */
static void on_client_readable(evutil_socket_t fd, short what, void *arg)
{
    struct kc_pending *p = arg;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) {
        event_del(p->watch);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    /* Freeing the connection runs on_pending_request_fini, which frees p. */
    evhtp_connection_free(p->req->conn);
}

struct kc_pending *kc_pending_start(evhtp_request_t *req, kc_pending_gone_fn gone, void *owner)
{
    struct kc_pending *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->req = req;
    p->gone = gone;
    p->owner = owner;
    pending_count++;
    evhtp_connection_t *c = req->conn;
    p->watch = event_new(c->evbase, c->sock, EV_READ | EV_PERSIST, on_client_readable, p);
    if (p->watch)
        event_add(p->watch, NULL);
    evhtp_request_set_hook(req, evhtp_hook_on_request_fini, (evhtp_hook)on_pending_request_fini,
                           p);
    evhtp_request_pause(req);
    return p;
}

evhtp_request_t *kc_pending_end(struct kc_pending *p)
{
    evhtp_request_t *req = p->req;
    if (req)
        evhtp_request_unset_hook(req, evhtp_hook_on_request_fini);
    pending_free(p);
    return req;
}
