/* kc/http.h — replying to clients and waiting on upstreams without losing track of them.
 * Every reply of the gateway goes through kc_reply_*: one place for headers, gzip, access log. */
#ifndef KC_HTTP_H
#define KC_HTTP_H

#include <evhtp/evhtp.h>
#include <jansson.h>
#include <stddef.h>

/* Facts about the current request for the access log and /metrics. Strings are static. */
void kc_http_note_route(evhtp_request_t *req, const char *route);
void kc_http_note_cache(evhtp_request_t *req, const char *cache_status); /* hit|miss|coalesced */
void kc_http_note_upstream(evhtp_request_t *req, double upstream_ms);
/* The reply will say Cache-Control: no-store unless the handler sets its own (every /api/
 * reply and every error). */
void kc_http_note_no_store(evhtp_request_t *req);

int kc_http_accepts_gzip(evhtp_request_t *req);
const char *kc_http_header(evhtp_request_t *req, const char *name); /* borrowed or NULL */
const char *kc_http_method(evhtp_request_t *req);

/* Adds a response header (both strings copied). */
void kc_reply_header(evhtp_request_t *req, const char *name, const char *value);
/* Same for strings that live as long as the program (literals, static tables): not copied,
 * which saves four allocations per header on the hot path. */
void kc_reply_header_const(evhtp_request_t *req, const char *name, const char *value);

/* Sends a complete reply (content_type must be a static string). If the request was paused
 * waiting on an upstream, it is resumed; do not touch req afterwards. `body` is borrowed for
 * the call: written to the socket at once, or copied into the output for what the socket does
 * not take. JSON bodies over 1 KiB are gzip-compressed when the client accepts it. HEAD, 204
 * and 304 answers carry no body (HEAD: the length the body would have). */
void kc_reply_bytes(evhtp_request_t *req, int status, const char *content_type, const void *body,
                    size_t len);
/* Same, with a body already compressed once by the caller (cached documents); gz may be NULL. */
void kc_reply_prepared(evhtp_request_t *req, int status, const char *content_type,
                       const void *body, size_t len, const void *gz, size_t gz_len);
/* The same for a big body that outlives this call: what the socket does not take at once of
 * the chosen bytes (body or gz) is lent to the connection's output, not copied (a 10 MB
 * summary copied is several ms of one loop turn), and release(owner) runs once they are sent
 * or dropped — exactly once, also on failure. */
void kc_reply_prepared_shared(evhtp_request_t *req, int status, const char *content_type,
                              const void *body, size_t len, const void *gz, size_t gz_len,
                              void (*release)(void *owner), void *owner);
void kc_reply_json(evhtp_request_t *req, int status, const json_t *doc); /* doc borrowed */
void kc_reply_empty(evhtp_request_t *req, int status);
/* Sends the headers and body the handler already put into req (static files by reference). */
void kc_reply_finish(evhtp_request_t *req, int status);
/* The one writer of gateway-made errors: {"error":code,"message":…}. */
void kc_reply_error(evhtp_request_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* gzip-compresses len bytes at zlib `level` into a new buffer (caller frees); NULL on
 * failure. FAST for answers made per request or per collection, BEST for files made once. */
#define KC_GZIP_FASTEST 1
#define KC_GZIP_FAST 6
#define KC_GZIP_BEST 9
unsigned char *kc_gzip(const void *data, size_t len, int level, size_t *out_len);
/* The same in pieces, for big bodies compressed on the loop (kc/slice.h): each step deflates
 * at most `budget` input bytes. data is borrowed and must outlive the job. */
struct kc_gzip_job;
struct kc_gzip_job *kc_gzip_job_new(const void *data, size_t len, int level); /* NULL on OOM */
/* 1 when more remains, 0 when done, -1 when zlib failed. */
int kc_gzip_job_step(struct kc_gzip_job *j, size_t budget);
/* After step returned 0: the gzip bytes (new; caller frees). */
unsigned char *kc_gzip_job_take(struct kc_gzip_job *j, size_t *out_len);
void kc_gzip_job_free(struct kc_gzip_job *j);

/* A request paused while the gateway waits on something asynchronous.
 * When the client disconnects first, `gone(owner)` is called once and the pending is freed by
 * this module: the owner must drop its pointer there. Otherwise the owner ends the wait with
 * kc_pending_end, which frees the pending and returns the request to reply on. */
struct kc_pending;
typedef void (*kc_pending_gone_fn)(void *owner);

struct kc_pending *kc_pending_start(evhtp_request_t *req, kc_pending_gone_fn gone, void *owner);
/* Returns the paused request (reply with kc_reply_*), or NULL if the client has left. */
evhtp_request_t *kc_pending_end(struct kc_pending *p);
size_t kc_pending_count(void);
/* The request still waiting (borrowed; valid until kc_pending_end or the gone callback). */
evhtp_request_t *kc_pending_request(const struct kc_pending *p);

#endif
