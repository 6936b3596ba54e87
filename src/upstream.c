/* upstream.c — libcurl multi on libevent (the hiperfifo shape) with per-pool concurrency
 * limits. Every fetch has one owner callback and a cancel path; nothing blocks the loop. */
#include "kc/upstream.h"

#include "kc/config.h"
#include "kc/log.h"
#include "kc/timefmt.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#define DEFAULT_MAX_RESPONSE (64u << 20)

/* Body bytes one fetch takes per loop turn. curl reads a readable socket up to 100 times its
 * 16 KiB buffer per call (1.6 MB, with a poll() per read), and a 17 MB connector list arrived
 * in 10–18 ms turns; above this much the write callback pauses the transfer and a 0 ms timer
 * resumes it on the next turn, so the rest of the loop runs in between (issue #14 §1). */
#define BODY_BYTES_PER_TURN (512u << 10)

struct pool {
    char *key;
    size_t inflight;
    TAILQ_HEAD(, kc_fetch) queue; /* waiting for a slot, FIFO */
    size_t queued;
    LIST_ENTRY(pool) link;
};

enum fetch_state { FETCH_QUEUED, FETCH_RUNNING };

struct kc_fetch {
    struct kc_upstream *up;
    struct pool *pool;
    enum fetch_state state;
    CURL *easy;
    struct curl_slist *headers;
    char *url;
    char *method;
    char *body;
    size_t body_len;
    char *content_type;
    const struct kc_endpoint_cfg *endpoint;
    size_t max_bytes;

    char *resp;             /* growing response body */
    size_t resp_len, resp_cap;
    size_t turn_bytes;      /* taken since the transfer last resumed */
    struct event *resume;   /* 0 ms timer that resumes a transfer paused by on_body */
    int too_large;
    char *location;
    double queued_at_ms, started_at_ms;

    kc_fetch_done_fn done;
    void *ctx;
    TAILQ_ENTRY(kc_fetch) qlink;  /* in pool->queue while queued */
    LIST_ENTRY(kc_fetch) alink;   /* in up->running while running */
};

struct kc_upstream {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    size_t max_inflight, queue_limit;
    LIST_HEAD(, pool) pools;
    LIST_HEAD(, kc_fetch) running;
    struct kc_upstream_stats stats;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *kc_fetch_error_name(enum kc_fetch_error e)
{
    static const char *const names[] = {"ok",      "refused", "timeout", "dns",    "too_large",
                                        "tls",     "protocol", "queue_full", "nomem"};
    return (size_t)e < sizeof names / sizeof names[0] ? names[e] : "unknown";
}

static enum kc_fetch_error classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return KC_FETCH_OK;
    case CURLE_COULDNT_CONNECT:
        return KC_FETCH_REFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return KC_FETCH_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return KC_FETCH_DNS;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        return KC_FETCH_TOO_LARGE;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return KC_FETCH_TLS;
    case CURLE_OUT_OF_MEMORY:
        return KC_FETCH_NOMEM;
    default:
        return KC_FETCH_PROTOCOL;
    }
}

static struct pool *pool_get(struct kc_upstream *u, const char *key)
{
    struct pool *p;
    LIST_FOREACH(p, &u->pools, link)
        if (strcmp(p->key, key) == 0)
            return p;
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->key = strdup(key);
    if (!p->key) {
        free(p);
        return NULL;
    }
    TAILQ_INIT(&p->queue);
    LIST_INSERT_HEAD(&u->pools, p, link);
    return p;
}

static void fetch_free(struct kc_fetch *f)
{
    if (f->easy)
        curl_easy_cleanup(f->easy);
    if (f->resume)
        event_free(f->resume);
    curl_slist_free_all(f->headers);
    free(f->url);
    free(f->method);
    free(f->body);
    free(f->content_type);
    free(f->resp);
    free(f->location);
    free(f);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct kc_fetch *f = arg;
    f->turn_bytes = 0;
    /* Delivers the chunk curl held back (through on_body) and expires curl's timer at once,
     * which reads on; a transfer that completed meanwhile is reported by on_timer. */
    curl_easy_pause(f->easy, CURLPAUSE_CONT);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct kc_fetch *f = arg;
    size_t n = size * nmemb;
    if (f->turn_bytes >= BODY_BYTES_PER_TURN) {
        if (!f->resume)
            f->resume = evtimer_new(f->up->base, on_resume, f);
        if (f->resume) { /* without a timer it reads on, as before */
            struct timeval now = {0, 0};
            evtimer_add(f->resume, &now);
            return CURL_WRITEFUNC_PAUSE; /* curl keeps this chunk and hands it over again */
        }
    }
    f->turn_bytes += n;
    if (f->resp_len + n > f->max_bytes) {
        f->too_large = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (f->resp_len + n + 1 > f->resp_cap) {
        size_t cap = f->resp_cap ? f->resp_cap : 4096;
        while (cap < f->resp_len + n + 1)
            cap *= 2;
        char *grown = realloc(f->resp, cap);
        if (!grown)
            return 0;
        f->resp = grown;
        f->resp_cap = cap;
    }
    memcpy(f->resp + f->resp_len, data, n);
    f->resp_len += n;
    f->resp[f->resp_len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *arg)
{
    struct kc_fetch *f = arg;
    size_t n = size * nitems;
    static const char loc[] = "location:";
    if (n > sizeof loc - 1 && strncasecmp(data, loc, sizeof loc - 1) == 0) {
        const char *v = data + sizeof loc - 1;
        size_t len = n - (sizeof loc - 1);
        while (len && (*v == ' ' || *v == '\t'))
            v++, len--;
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        free(f->location);
        f->location = strndup(v, len);
    }
    /* A new response (after 100-continue or a redirect) starts a new body. */
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        f->resp_len = 0;
        free(f->location);
        f->location = NULL;
    }
    return n;
}

static int fetch_setup_easy(struct kc_fetch *f)
{
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    f->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, f->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, f);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, f);
    /* Let curl negotiate and decode compression: bodies must be plain before masking. */
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);

    const struct kc_endpoint_cfg *ep = f->endpoint;
    if (ep) {
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ep->connect_timeout_ms);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ep->total_timeout_ms);
        if (ep->username) {
            curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(e, CURLOPT_USERNAME, ep->username);
            curl_easy_setopt(e, CURLOPT_PASSWORD, ep->password ? ep->password : "");
        }
        if (ep->ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, ep->ca_file);
        if (!ep->tls_verify) {
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        }
    } else {
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    }

    f->headers = curl_slist_append(NULL, "Accept: application/json");
    /* No "Expect: 100-continue" round trip for our small JSON bodies. */
    f->headers = curl_slist_append(f->headers, "Expect:");
    if (f->body) {
        char ct[256];
        snprintf(ct, sizeof ct, "Content-Type: %s",
                 f->content_type ? f->content_type : "application/json");
        f->headers = curl_slist_append(f->headers, ct);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, f->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->body_len);
    } else {
        /* A bodyless POST would otherwise carry curl's default application/x-www-form-
         * urlencoded, which Connect's Jersey answers with 415 (restart, task restart). */
        f->headers = curl_slist_append(f->headers, "Content-Type:");
    }
    if (!f->headers)
        return -1;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers);
    if (strcmp(f->method, "GET") == 0 && !f->body)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else if (strcmp(f->method, "POST") != 0 || !f->body)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, f->method);
    if (strcmp(f->method, "POST") == 0 && !f->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    }
    if (strcmp(f->method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    return 0;
}

static void finish(struct kc_fetch *f, enum kc_fetch_error err, const char *text);

/* Takes a pool slot and hands the fetch to curl. On failure the slot is given back and -1
 * returned; no callback runs. curl starts the transfer from its timer, on a later loop turn,
 * so a caller is never re-entered from here. */
static int fetch_launch(struct kc_fetch *f)
{
    struct kc_upstream *u = f->up;
    f->state = FETCH_RUNNING;
    f->pool->inflight++;
    u->stats.inflight_now++;
    u->stats.started++;
    f->started_at_ms = now_ms();
    LIST_INSERT_HEAD(&u->running, f, alink);
    if (fetch_setup_easy(f) == 0 && curl_multi_add_handle(u->multi, f->easy) == CURLM_OK)
        return 0;
    LIST_REMOVE(f, alink);
    f->pool->inflight--;
    u->stats.inflight_now--;
    return -1;
}

/* Frees a running or queued fetch's slot and lets the next queued one in. */
static void release_slot(struct kc_fetch *f)
{
    struct kc_upstream *u = f->up;
    struct pool *p = f->pool;
    if (f->state == FETCH_RUNNING) {
        LIST_REMOVE(f, alink);
        if (f->easy)
            curl_multi_remove_handle(u->multi, f->easy);
        p->inflight--;
        u->stats.inflight_now--;
    } else {
        TAILQ_REMOVE(&p->queue, f, qlink);
        p->queued--;
        u->stats.queued_now--;
    }
}

static void admit_queued(struct kc_upstream *u, struct pool *p)
{
    while (p->inflight < u->max_inflight) {
        struct kc_fetch *next = TAILQ_FIRST(&p->queue);
        if (!next)
            break;
        TAILQ_REMOVE(&p->queue, next, qlink);
        p->queued--;
        u->stats.queued_now--;
        if (fetch_launch(next) != 0) {
            /* Not in any list now: answer its owner directly, as a failure. */
            struct kc_fetch_result r = {.error = KC_FETCH_NOMEM, .error_text = "out of memory",
                                        .body = ""};
            next->done(&r, next->ctx);
            fetch_free(next);
        }
    }
}

static void finish(struct kc_fetch *f, enum kc_fetch_error err, const char *text)
{
    struct kc_upstream *u = f->up;
    struct pool *p = f->pool;
    double t_end = now_ms();
    release_slot(f);

    struct kc_fetch_result r = {0};
    r.error = err;
    r.error_text = text;
    r.body = f->resp ? f->resp : "";
    r.body_len = f->resp_len;
    r.location = f->location;
    r.total_ms = t_end - f->started_at_ms;
    r.queue_ms = f->started_at_ms - f->queued_at_ms;
    r.fetch_ = f;
    if (err == KC_FETCH_OK) {
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &r.status);
        char *ct = NULL;
        curl_easy_getinfo(f->easy, CURLINFO_CONTENT_TYPE, &ct);
        r.content_type = ct;
        u->stats.completed++;
    } else {
        r.body = "";
        r.body_len = 0;
        u->stats.failed++;
    }
    f->done(&r, f->ctx);
    fetch_free(f);
    if (TAILQ_FIRST(&p->queue))
        admit_queued(u, p);
}

char *kc_fetch_take_body(const struct kc_fetch_result *r)
{
    struct kc_fetch *f = r->fetch_;
    if (!f || r->error != KC_FETCH_OK || !f->resp || r->body != f->resp)
        return NULL;
    char *body = f->resp;
    f->resp = NULL;
    f->resp_len = f->resp_cap = 0;
    return body;
}

static void check_multi_info(struct kc_upstream *u)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(u->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct kc_fetch *f = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
        CURLcode rc = msg->data.result;
        enum kc_fetch_error err = f->too_large ? KC_FETCH_TOO_LARGE : classify(rc);
        finish(f, err, err == KC_FETCH_OK ? NULL : curl_easy_strerror(rc));
    }
}

static void on_socket_event(evutil_socket_t fd, short kind, void *arg)
{
    struct kc_upstream *u = arg;
    int action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running = 0;
    curl_multi_socket_action(u->multi, fd, action, &running);
    /* No evtimer_del when nothing runs: a completion callback may just have added a handle
     * and curl armed the timer for it. curl disarms it itself (timeout -1). */
    check_multi_info(u);
}

static void on_timer(evutil_socket_t fd, short kind, void *arg)
{
    struct kc_upstream *u = arg;
    int running = 0;
    curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(u);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms our timer; never drives curl from here. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *arg)
{
    struct kc_upstream *u = arg;
    if (timeout_ms < 0) {
        evtimer_del(u->timer);
        return 0;
    }
    struct timeval tv = kc_timeval_from_ms(timeout_ms);
    evtimer_add(u->timer, &tv);
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION: mirrors curl's interest in a socket as a libevent event. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *socketp)
{
    struct kc_upstream *u = arg;
    struct event *ev = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (ev) {
            event_free(ev);
            curl_multi_assign(u->multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (!ev) {
        ev = event_new(u->base, s, kind, on_socket_event, u);
        if (!ev)
            return -1;
        curl_multi_assign(u->multi, s, ev);
    } else {
        event_del(ev);
        event_assign(ev, u->base, s, kind, on_socket_event, u);
    }
    event_add(ev, NULL);
    return 0;
}

struct kc_upstream *kc_upstream_new(struct event_base *base, size_t max_inflight_per_pool,
                                    size_t queue_limit_per_pool)
{
    struct kc_upstream *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->base = base;
    u->max_inflight = max_inflight_per_pool ? max_inflight_per_pool : 1;
    u->queue_limit = queue_limit_per_pool;
    LIST_INIT(&u->pools);
    LIST_INIT(&u->running);
    u->multi = curl_multi_init();
    u->timer = evtimer_new(base, on_timer, u);
    if (!u->multi || !u->timer) {
        kc_upstream_free(u);
        return NULL;
    }
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    /* Keep enough idle connections for every pool to reuse its sockets. */
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, (long)(u->max_inflight * 8 + 32));
    return u;
}

void kc_upstream_free(struct kc_upstream *u)
{
    if (!u)
        return;
    struct kc_fetch *f;
    while ((f = LIST_FIRST(&u->running)))
        kc_fetch_cancel(f);
    struct pool *p;
    while ((p = LIST_FIRST(&u->pools))) {
        while ((f = TAILQ_FIRST(&p->queue)))
            kc_fetch_cancel(f);
        LIST_REMOVE(p, link);
        free(p->key);
        free(p);
    }
    if (u->multi)
        curl_multi_cleanup(u->multi);
    if (u->timer)
        event_free(u->timer);
    free(u);
}

struct kc_fetch *kc_upstream_fetch(struct kc_upstream *u, const struct kc_fetch_request *rq,
                                   kc_fetch_done_fn done, void *ctx, enum kc_fetch_error *why)
{
    enum kc_fetch_error dummy;
    if (!why)
        why = &dummy;
    *why = KC_FETCH_NOMEM;
    struct pool *p = pool_get(u, rq->pool ? rq->pool : "default");
    if (!p)
        return NULL;
    if (p->inflight >= u->max_inflight && p->queued >= u->queue_limit) {
        u->stats.rejected++;
        *why = KC_FETCH_QUEUE_FULL;
        return NULL;
    }
    struct kc_fetch *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->up = u;
    f->pool = p;
    f->done = done;
    f->ctx = ctx;
    f->endpoint = rq->endpoint;
    f->max_bytes = rq->max_response_bytes ? rq->max_response_bytes : DEFAULT_MAX_RESPONSE;
    f->url = strdup(rq->url);
    f->method = strdup(rq->method ? rq->method : "GET");
    if (rq->content_type)
        f->content_type = strdup(rq->content_type);
    if (rq->body) {
        f->body = malloc(rq->body_len + 1);
        if (f->body) {
            memcpy(f->body, rq->body, rq->body_len);
            f->body[rq->body_len] = '\0';
            f->body_len = rq->body_len;
        }
    }
    if (!f->url || !f->method || (rq->body && !f->body) || (rq->content_type && !f->content_type)) {
        fetch_free(f);
        return NULL;
    }
    f->queued_at_ms = now_ms();
    *why = KC_FETCH_OK;
    if (p->inflight < u->max_inflight) {
        if (fetch_launch(f) != 0) {
            fetch_free(f);
            *why = KC_FETCH_NOMEM;
            return NULL;
        }
    } else {
        f->state = FETCH_QUEUED;
        TAILQ_INSERT_TAIL(&p->queue, f, qlink);
        p->queued++;
        u->stats.queued_now++;
    }
    return f;
}

void kc_fetch_cancel(struct kc_fetch *f)
{
    if (!f)
        return;
    struct kc_upstream *u = f->up;
    struct pool *p = f->pool;
    release_slot(f);
    fetch_free(f);
    if (TAILQ_FIRST(&p->queue))
        admit_queued(u, p);
}

void kc_upstream_stats(const struct kc_upstream *u, struct kc_upstream_stats *out)
{
    *out = u->stats;
}
