/* http.c — every reply the gateway sends (headers, gzip, resume of paused requests) and the
 * pending-request record that survives a client disconnecting while an upstream call runs. */
#include "kc/http.h"

#include "conn.h"
#include "conn_io.h"
#include "http_wire.h"
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

void kc_http_note_no_store(evhtp_request_t *req)
{
    struct kc_conn *kc = kc_conn_of(req);
    if (kc)
        kc->no_store = 1;
    else if (!evhtp_header_find(req->headers_out, "Cache-Control"))
        kc_reply_header_const(req, "Cache-Control", "no-store");
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

/* A reply's body: bytes (copied if they cannot go out at once, or lent when release is set),
 * or what the handler put into req->buffer_out. */
struct reply_body {
    const void *data;
    size_t len;
    void (*release)(void *owner);
    void *owner;
    int in_buffer_out;
};

#define REPLY_MAX_FIELDS 8

/* Nothing of the reply could be formatted (no memory for a header block over 4 KiB): the
 * fields become ordinary headers and libevhtp sends the reply its own way. */
static void send_reply_by_evhtp(evhtp_request_t *req, int status, const struct kc_wire_field *fields,
                                size_t field_count, const struct reply_body *body, int sends_body)
{
    for (size_t i = 0; i < field_count; i++)
        kc_reply_header_const(req, fields[i].name, fields[i].value);
    if (!sends_body)
        evbuffer_drain(req->buffer_out, evbuffer_get_length(req->buffer_out));
    else if (!body->in_buffer_out && body->len > 0)
        evbuffer_add(req->buffer_out, body->data, body->len);
    if (body->release)
        body->release(body->owner);
    req->flags &= (uint16_t)~EVHTP_REQ_FLAG_FINISHED; /* evhtp_send_reply sets it itself */
    evhtp_send_reply(req, status);
}

/* The single exit: status line and headers in one piece (http_wire.h), the body (none for
 * HEAD, 1xx, 204, 304), access log, resume if paused. `fields` are the caller's own headers
 * (static strings); the handler's are in req->headers_out. */
static void send_reply(evhtp_request_t *req, int status, const struct kc_wire_field *fields,
                       size_t field_count, const struct reply_body *body)
{
    struct kc_conn *kc = kc_conn_of(req);
    evhtp_connection_t *conn = req->conn;
    int paused = conn && (conn->flags & EVHTP_CONN_FLAG_PAUSED);
    struct kc_wire_field all[REPLY_MAX_FIELDS + 3];
    size_t n = 0;
    for (size_t i = 0; i < field_count && i < REPLY_MAX_FIELDS; i++)
        all[n++] = fields[i];
    /* A handler's own Cache-Control (static files) stays. */
    if (kc && kc->no_store && !evhtp_header_find(req->headers_out, "Cache-Control"))
        all[n++] = (struct kc_wire_field){"Cache-Control", "no-store"};
    all[n++] = (struct kc_wire_field){"X-Content-Type-Options", "nosniff"};
    if (kc && kc->cache)
        all[n++] = (struct kc_wire_field){"X-Cache", kc->cache}; /* static strings */

    size_t body_len = body->in_buffer_out ? evbuffer_get_length(req->buffer_out) : body->len;
    int has_body = status >= 200 && status != 204 && status != 304;
    int sends_body = has_body && req->method != htp_method_HEAD;
    if (kc)
        kc_server_log_access(kc, req, status, sends_body ? body_len : 0);

    /* What evhtp_send_reply records: the status (its text comes from it) and that the request
     * is finished, which its write callback reads once the reply is out. */
    req->status = status;
    req->flags |= EVHTP_REQ_FLAG_FINISHED;
    struct kc_wire_head h = {
        .status = status,
        .reason = evhtp_request_get_status_code_str(req),
        .http_minor = req->proto == EVHTP_PROTO_11,
        .keep_alive = (req->flags & EVHTP_REQ_FLAG_KEEPALIVE) != 0,
        .headers = req->headers_out,
        .fields = all,
        .field_count = n,
        .content_length = has_body ? (long long)body_len : -1,
    };
    char stack[4096];
    char *head = stack;
    size_t head_len = kc_wire_head_format(&h, stack, sizeof stack);
    if (head_len > sizeof stack && (head = malloc(head_len)))
        kc_wire_head_format(&h, head, head_len);
    if (!head) {
        send_reply_by_evhtp(req, status, all, n, body, sends_body);
    } else {
        struct kc_conn_io_reply r = {.head = head, .head_len = head_len};
        if (sends_body && body->in_buffer_out) {
            r.body_buf = req->buffer_out;
        } else if (sends_body) {
            r.body = body->data;
            r.body_len = body->len;
            r.release = body->release;
            r.owner = body->owner;
        } else if (body->release) {
            body->release(body->owner);
        }
        if (kc_conn_io_send(kc, conn, &r) != 0)
            req->flags &= (uint16_t)~EVHTP_REQ_FLAG_KEEPALIVE; /* cut short: close once out */
        if (head != stack)
            free(head);
    }
    if (paused)
        evhtp_request_resume(req);
}

/* The caller's fields for a body of content_type, gzip-encoded or not, with or without a
 * gzip form. Returns their count. */
static size_t body_fields(struct kc_wire_field *f, const char *content_type, int zipped, int has_gz)
{
    size_t n = 0;
    if (content_type)
        f[n++] = (struct kc_wire_field){"Content-Type", content_type};
    if (zipped)
        f[n++] = (struct kc_wire_field){"Content-Encoding", "gzip"};
    if (has_gz)
        f[n++] = (struct kc_wire_field){"Vary", "Accept-Encoding"};
    return n;
}

void kc_reply_prepared(evhtp_request_t *req, int status, const char *content_type,
                       const void *body, size_t len, const void *gz, size_t gz_len)
{
    int zipped = gz && kc_http_accepts_gzip(req);
    struct kc_wire_field f[3];
    size_t n = body_fields(f, content_type, zipped, gz != NULL);
    struct reply_body b = {.data = zipped ? gz : body, .len = zipped ? gz_len : len};
    send_reply(req, status, f, n, &b);
}

void kc_reply_prepared_shared(evhtp_request_t *req, int status, const char *content_type,
                              const void *body, size_t len, const void *gz, size_t gz_len,
                              void (*release)(void *owner), void *owner)
{
    int zipped = gz && kc_http_accepts_gzip(req);
    struct kc_wire_field f[3];
    size_t n = body_fields(f, content_type, zipped, gz != NULL);
    struct reply_body b = {.data = zipped ? gz : body, .len = zipped ? gz_len : len,
                           .release = release, .owner = owner};
    send_reply(req, status, f, n, &b);
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
    struct reply_body b = {0};
    send_reply(req, status, NULL, 0, &b);
}

void kc_reply_finish(evhtp_request_t *req, int status)
{
    struct reply_body b = {.in_buffer_out = 1};
    send_reply(req, status, NULL, 0, &b);
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
    kc_http_note_no_store(req); /* never cached, /api/ or not */
    struct kc_wire_field f[1] = {{"Content-Type", "application/json"}};
    struct reply_body b = {.data = body, .len = strlen(body)};
    send_reply(req, text ? status : 503, f, 1, &b);
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
