/* sim_http.h — the thin HTTP shell over libevhtp shared by the three front ends: listeners
 * that can be closed and re-bound on the same port, delayed replies, and reply helpers. */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include <evhtp/evhtp.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_HTTP_MAX_BODY (16u * 1024u * 1024u)

struct sim_listener;
typedef void (*sim_http_cb)(evhtp_request_t *r, void *arg);

/* A listener on addr (dotted IPv4, copied) whose every request goes to cb(r, arg).
 * Not bound yet. Returns NULL on allocation failure. */
struct sim_listener *sim_http_listener_new(struct event_base *base, const char *addr,
                                           sim_http_cb cb, void *arg);
/* Binds to port (0 = ephemeral). Returns 0, or -1 with errno set. */
int sim_http_listener_bind(struct sim_listener *l, uint16_t port);
/* Closes the listening socket (new connects are refused) and every open connection. */
void sim_http_listener_unbind(struct sim_listener *l);
bool sim_http_listener_bound(const struct sim_listener *l);
uint16_t sim_http_listener_port(const struct sim_listener *l);
const char *sim_http_listener_addr(const struct sim_listener *l);
/* Unbinds and frees everything, including requests still waiting on a delay. */
void sim_http_listener_free(struct sim_listener *l);

/* Pauses r and calls cb(r, arg) after delay_ms on a timer (the loop never blocks); cb must
 * reply. If the connection is freed first, cb is never called. Returns 0 or -1. */
int sim_http_defer(struct sim_listener *l, evhtp_request_t *r, unsigned delay_ms, sim_http_cb cb,
                   void *arg);

/* Replies with body (borrowed, len bytes) and the given Content-Type (NULL = none). */
void sim_http_reply(evhtp_request_t *r, int status, const char *ctype, const char *body,
                    size_t len);
/* Replies with v serialised by sim_json_dump (v borrowed). */
void sim_http_reply_json(evhtp_request_t *r, int status, const char *ctype, const json_t *v,
                         int dump_flags);
void sim_http_add_header(evhtp_request_t *r, const char *key, const char *value);
/* Request header value (borrowed) or NULL. */
const char *sim_http_header(evhtp_request_t *r, const char *name);

/* Decodes %XX escapes of in[0..len) into a new string; NULL when an escape is malformed,
 * the result holds a NUL byte, or on allocation failure. '+' stays '+'. */
char *sim_http_pct_decode(const char *in, size_t len);

/* The nth (0-based) value of query parameter key, percent-decoded into out. Returns 1 when
 * found, 0 when not (out is then ""). */
int sim_http_query(evhtp_request_t *r, const char *key, int nth, char *out, size_t cap);
/* A query flag: "true" (any case) → true; missing or anything else → false. */
bool sim_http_query_bool(evhtp_request_t *r, const char *key, bool dflt);

/* The raw (still percent-encoded) request path without the query. */
const char *sim_http_path(evhtp_request_t *r);
const char *sim_http_method_name(evhtp_request_t *r);

#endif
