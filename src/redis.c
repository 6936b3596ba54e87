/* redis.c — the Redis client of fleet mode: URL parsing, two hiredis async connections on the
 * gateway's loop, our own timers (hiredis 0.14 has none), and the state machine that falls back. */
#include "kc/redis.h"

#include "kc/config.h"
#include "kc/log.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <jansson.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KC_REDIS_MAX_SUBS 8
/* A Redis that stalls is noticed by a PING that gets no answer: every HEARTBEAT_MS plus the
 * command timeout (500 ms by default) keeps the fallback under one second. */
#define HEARTBEAT_MS 250
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* ------------------------------------------------------------------------- the client ---- */

struct kc_redis;

/* One hiredis connection. hiredis frees the context itself after a failed connect and after
 * on_disconnect; ac is cleared in those callbacks so nothing frees it twice. */
struct link {
    struct kc_redis *r;
    redisAsyncContext *ac; /* owned unless NULL */
    const char *name;      /* "command" or "pubsub", for logs */
    int connected;
};

typedef void (*internal_fn)(struct kc_redis *r, const char *step, enum kc_redis_error err,
                            const redisReply *reply);

/* One sent command. hiredis owns the pointer (privdata) until it calls on_reply exactly once —
 * with the reply, or with NULL when the context goes away — and on_reply frees it. `finished`
 * says the caller has been answered (timeout) or has cancelled: the later call only frees. */
struct kc_redis_cmd {
    struct kc_redis *r;
    struct event *timer;
    kc_redis_reply_fn done; /* public commands */
    void *ctx;
    internal_fn internal;   /* handshake and heartbeat */
    const char *step;
    struct timespec sent;
    int finished;
};

struct sub {
    struct kc_redis *r;
    char *pattern;
    kc_redis_message_fn on_message;
    void *ctx;
};

/* A lookup can outlive its attempt: evdns answers a cancel later, from the loop. */
struct lookup {
    struct kc_redis *r; /* NULL once abandoned */
    struct evdns_getaddrinfo_request *req;
};

struct kc_redis {
    struct event_base *base;
    struct kc_redis_url url;
    char *display_url;
    char *prefix;
    int64_t timeout_ms, connect_timeout_ms;

    enum kc_redis_state state;
    struct link cmd, pubsub;
    struct evdns_base *dns;
    struct lookup *lookup;
    char addr[INET6_ADDRSTRLEN];
    struct event *timer;   /* the state's timer: connect deadline, backoff, or heartbeat */
    struct event *drop_ev; /* teardown runs from the loop, never inside a hiredis callback */
    int handshake_left;
    int ping_outstanding;
    int64_t backoff_ms;
    unsigned attempts;
    int freeing;
    int ever_ready;

    double latency_ms;
    char last_error[112];
    unsigned long long commands, timeouts, errors, reconnects, fallbacks;

    struct sub subs[KC_REDIS_MAX_SUBS];
    size_t nsubs;

    kc_redis_change_fn on_change; /* fleet mode entered or left */
    void *change_ctx;
    redisReply *lent;             /* the reply a callback is being handed (kc_redis_take) */
};

static const char *const state_names[] = {
    [KC_REDIS_DISABLED] = "DISABLED",   [KC_REDIS_RESOLVING] = "RESOLVING",
    [KC_REDIS_CONNECTING] = "CONNECTING", [KC_REDIS_HANDSHAKE] = "HANDSHAKE",
    [KC_REDIS_READY] = "READY",         [KC_REDIS_BACKOFF] = "BACKOFF",
};

const char *kc_redis_state_name(enum kc_redis_state s)
{
    return s <= KC_REDIS_BACKOFF ? state_names[s] : "?";
}

static double ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void arm(struct event *ev, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(ev, &tv);
}

/* The leading upper-case word of a Redis error ("WRONGPASS", "READONLY", "OOM"): the rest of
 * the message is Redis's prose, which we do not repeat anywhere. */
static void error_code(const redisReply *reply, char *out, size_t n)
{
    size_t k = 0;
    const char *s = reply && reply->str ? reply->str : "";
    while (k + 1 < n && s[k] >= 'A' && s[k] <= 'Z')
        out[k] = s[k], k++;
    out[k] = '\0';
    if (k == 0)
        snprintf(out, n, "ERR");
}

static void start_attempt(struct kc_redis *r);

/* Any failure: leave READY (a fallback), record why, tear the link down from the loop, and
 * retry after a jittered exponential backoff. Later failures of the same attempt are ignored. */
static void fail(struct kc_redis *r, const char *why)
{
    if (r->freeing || r->state == KC_REDIS_BACKOFF)
        return;
    enum kc_redis_state was = r->state;
    if (was == KC_REDIS_READY)
        r->fallbacks++;
    r->state = KC_REDIS_BACKOFF; /* before on_change: its callee sees local mode */
    int repeated = strcmp(r->last_error, why) == 0 && was != KC_REDIS_READY;
    snprintf(r->last_error, sizeof r->last_error, "%s", why);
    if (r->lookup) { /* evdns calls on_resolved later with a cancel; it frees the lookup */
        r->lookup->r = NULL;
        if (r->lookup->req)
            evdns_getaddrinfo_cancel(r->lookup->req);
        r->lookup = NULL;
    }
    event_active(r->drop_ev, EV_TIMEOUT, 0);
    uint32_t rnd = 0;
    evutil_secure_rng_get_bytes(&rnd, sizeof rnd);
    int64_t delay = r->backoff_ms / 2 + (int64_t)(rnd % (uint32_t)(r->backoff_ms / 2 + 1));
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
    event_del(r->timer);
    arm(r->timer, delay);
    if (repeated)
        KC_DEBUG("redis_unavailable", "{s:s,s:s,s:I}", "url", r->display_url, "error", why,
                 "retry_ms", (json_int_t)delay);
    else
        KC_WARN("redis_unavailable", "{s:s,s:s,s:s,s:s,s:I}", "url", r->display_url, "error", why,
                "was", kc_redis_state_name(was), "mode", "local", "retry_ms", (json_int_t)delay);
    if (was == KC_REDIS_READY && r->on_change)
        r->on_change(0, r->change_ctx);
}

static void free_link(struct link *l)
{
    redisAsyncContext *ac = l->ac;
    l->ac = NULL; /* first: on_disconnect then sees a context it no longer owns */
    l->connected = 0;
    if (ac)
        redisAsyncFree(ac); /* pending commands' on_reply run now, with NULL */
}

static void on_drop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct kc_redis *r = arg;
    free_link(&r->cmd);
    free_link(&r->pubsub);
}

static void on_reply(redisAsyncContext *ac, void *reply_ptr, void *privdata)
{
    (void)ac;
    struct kc_redis_cmd *cmd = privdata;
    struct kc_redis *r = cmd->r;
    const redisReply *reply = reply_ptr;
    event_free(cmd->timer);
    if (!cmd->finished) {
        enum kc_redis_error err = reply ? KC_REDIS_OK : KC_REDIS_DISCONNECTED;
        if (reply && reply->type == REDIS_REPLY_ERROR)
            r->errors++;
        if (cmd->internal) {
            /* Latency is measured around PING only, so it means the same on every scrape. */
            if (reply && reply->type != REDIS_REPLY_ERROR && strcmp(cmd->step, "PING") == 0)
                r->latency_ms = ms_since(&cmd->sent);
            cmd->internal(r, cmd->step, err, reply);
        } else {
            r->lent = reply_ptr;
            cmd->done(err, reply, cmd->ctx);
            r->lent = NULL;
            /* Errors that mean "this Redis cannot serve the fleet now" end fleet mode. */
            static const char *const fatal[] = {"NOAUTH", "WRONGPASS", "READONLY", "OOM",
                                                "LOADING", "MASTERDOWN"};
            if (reply && reply->type == REDIS_REPLY_ERROR) {
                char code[24], why[96];
                error_code(reply, code, sizeof code);
                for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
                    if (strcmp(code, fatal[i]) == 0) {
                        snprintf(why, sizeof why, "Redis refused a command (%s)", code);
                        fail(r, why);
                    }
            }
        }
    }
    free(cmd);
}

static void on_cmd_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct kc_redis_cmd *cmd = arg;
    struct kc_redis *r = cmd->r;
    cmd->finished = 1; /* the wrapper stays hiredis's until the drop frees the context */
    r->timeouts++;
    if (cmd->internal)
        cmd->internal(r, cmd->step, KC_REDIS_TIMEOUT, NULL);
    else
        cmd->done(KC_REDIS_TIMEOUT, NULL, cmd->ctx);
    fail(r, "command timed out");
}

/* Sends on link l. Returns the command (owned by hiredis until on_reply) or NULL. */
static struct kc_redis_cmd *send_cmd(struct kc_redis *r, struct link *l, int argc,
                                     const char **argv, const size_t *argvlen, internal_fn internal,
                                     const char *step, kc_redis_reply_fn done, void *ctx)
{
    if (!l->ac)
        return NULL;
    struct kc_redis_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd)
        return NULL;
    cmd->r = r;
    cmd->internal = internal;
    cmd->step = step;
    cmd->done = done;
    cmd->ctx = ctx;
    cmd->timer = evtimer_new(r->base, on_cmd_timeout, cmd);
    if (!cmd->timer) {
        free(cmd);
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &cmd->sent);
    if (redisAsyncCommandArgv(l->ac, on_reply, cmd, argc, argv, argvlen) != REDIS_OK) {
        event_free(cmd->timer);
        free(cmd);
        return NULL;
    }
    arm(cmd->timer, r->timeout_ms);
    r->commands++;
    return cmd;
}

static void enter_ready(struct kc_redis *r)
{
    r->state = KC_REDIS_READY;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->last_error[0] = '\0';
    r->ever_ready = 1;
    event_del(r->timer);
    arm(r->timer, HEARTBEAT_MS);
    KC_INFO("redis_ready", "{s:s,s:s,s:s,s:f}", "url", r->display_url, "address", r->addr,
            "mode", "fleet", "latency_ms", r->latency_ms);
    if (r->on_change)
        r->on_change(1, r->change_ctx);
}

static void on_internal(struct kc_redis *r, const char *step, enum kc_redis_error err,
                        const redisReply *reply)
{
    char why[96];
    if (err == KC_REDIS_TIMEOUT)
        return; /* on_cmd_timeout fails the link */
    if (err != KC_REDIS_OK) {
        fail(r, "connection lost");
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        char code[24];
        error_code(reply, code, sizeof code);
        snprintf(why, sizeof why, "%s refused (%s)", step, code);
        fail(r, why);
        return;
    }
    if (strcmp(step, "PING") == 0) {
        r->ping_outstanding = 0;
    }
    if (r->state == KC_REDIS_CONNECTING || r->state == KC_REDIS_HANDSHAKE) {
        if (--r->handshake_left == 0)
            enter_ready(r);
    }
}

static struct kc_redis_cmd *send_ping(struct kc_redis *r, struct link *l)
{
    const char *argv[] = {"PING"};
    struct kc_redis_cmd *c = send_cmd(r, l, 1, argv, NULL, on_internal, "PING", NULL,
                                      NULL);
    if (c)
        r->ping_outstanding = 1;
    return c;
}

static void on_sub_reply(redisAsyncContext *ac, void *reply_ptr, void *privdata)
{
    (void)ac;
    const redisReply *m = reply_ptr;
    struct sub *s = privdata;
    if (!m || m->type != REDIS_REPLY_ARRAY || m->elements != 4 || !m->element[0]->str ||
        strcmp(m->element[0]->str, "pmessage") != 0 || !m->element[2]->str || !m->element[3]->str)
        return; /* confirmations, and the NULL of a context going away */
    s->r->lent = reply_ptr;
    s->on_message(m->element[2]->str, m->element[3]->str, (size_t)m->element[3]->len,
                  m->element[3], s->ctx);
    s->r->lent = NULL;
}

static int send_subscribe(struct kc_redis *r, struct sub *s)
{
    if (!r->pubsub.ac)
        return 0;
    /* No timer: a subscription never completes. Its callback runs for every message, and with
     * NULL when the context goes away; the sub lives as long as r. */
    return redisAsyncCommand(r->pubsub.ac, on_sub_reply, s, "PSUBSCRIBE %s", s->pattern) ==
                   REDIS_OK
               ? 0
               : -1;
}

/* Queues the handshake: hiredis sends it as soon as the TCP connect completes. */
static int queue_handshake(struct kc_redis *r, struct link *l)
{
    int queued = 0;
    if (r->url.password) {
        const char *argv[3] = {"AUTH", r->url.username, r->url.password};
        int argc = 3;
        if (!r->url.username) {
            argv[1] = r->url.password;
            argc = 2;
        }
        if (!send_cmd(r, l, argc, argv, NULL, on_internal, "AUTH", NULL, NULL))
            return -1;
        queued++;
    }
    if (l == &r->cmd) {
        char db[16], probe[160];
        snprintf(db, sizeof db, "%d", r->url.db);
        const char *sel[] = {"SELECT", db};
        if (!send_cmd(r, l, 2, sel, NULL, on_internal, "SELECT", NULL, NULL))
            return -1;
        /* A replica (READONLY) or a full Redis (OOM) answers PING but cannot hold the fleet's
         * state: one small write with a TTL finds out before fleet mode starts. */
        snprintf(probe, sizeof probe, "%sprobe", r->prefix);
        const char *set[] = {"SET", probe, "1", "PX", "10000"};
        if (!send_cmd(r, l, 5, set, NULL, on_internal, "write probe", NULL, NULL))
            return -1;
        queued += 2;
    }
    if (!send_ping(r, l))
        return -1;
    queued++;
    if (l == &r->pubsub)
        for (size_t i = 0; i < r->nsubs; i++)
            if (send_subscribe(r, &r->subs[i]) != 0)
                return -1;
    r->handshake_left += queued;
    return 0;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct link *l = ac->data;
    struct kc_redis *r = l->r;
    if (l->ac != ac)
        return;
    if (status != REDIS_OK) {
        l->ac = NULL; /* hiredis frees it when we return */
        char why[96];
        snprintf(why, sizeof why, "connect failed: %.60s", ac->errstr);
        fail(r, why);
        return;
    }
    l->connected = 1;
    if (r->state == KC_REDIS_CONNECTING)
        r->state = KC_REDIS_HANDSHAKE;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    struct link *l = ac->data;
    if (l->ac != ac)
        return; /* we freed it ourselves */
    l->ac = NULL;
    l->connected = 0;
    fail(l->r, "connection lost");
}

static int open_link(struct kc_redis *r, struct link *l)
{
    redisAsyncContext *ac = redisAsyncConnect(r->addr, r->url.port);
    if (!ac)
        return -1;
    if (ac->err) { /* e.g. refused at once on loopback: no callback will come */
        redisAsyncFree(ac);
        return -1;
    }
    ac->data = l;
    l->ac = ac;
    l->connected = 0;
    if (redisLibeventAttach(ac, r->base) != REDIS_OK) {
        free_link(l);
        return -1;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return queue_handshake(r, l);
}

static void connect_both(struct kc_redis *r)
{
    r->state = KC_REDIS_CONNECTING;
    r->handshake_left = 0;
    r->ping_outstanding = 0;
    /* hiredis resolves the host itself with getaddrinfo, which blocks: it only ever gets the
     * numeric address found by evdns. */
    if (open_link(r, &r->cmd) != 0 || open_link(r, &r->pubsub) != 0)
        fail(r, "connect failed");
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
    struct lookup *lk = arg;
    struct kc_redis *r = lk->r;
    lk->req = NULL;
    if (!r) { /* abandoned: a cancel, or a late answer */
        if (res)
            evutil_freeaddrinfo(res);
        free(lk);
        return;
    }
    r->lookup = NULL;
    free(lk);
    const struct evutil_addrinfo *pick = NULL;
    for (const struct evutil_addrinfo *a = res; result == 0 && a; a = a->ai_next)
        if (a->ai_family == AF_INET || (a->ai_family == AF_INET6 && !pick))
            if (!pick || pick->ai_family != AF_INET)
                pick = a;
    if (pick) {
        const void *sa = pick->ai_family == AF_INET
                             ? (const void *)&((const struct sockaddr_in *)pick->ai_addr)->sin_addr
                             : (const void *)&((const struct sockaddr_in6 *)pick->ai_addr)->sin6_addr;
        evutil_inet_ntop(pick->ai_family, sa, r->addr, sizeof r->addr);
    }
    if (res)
        evutil_freeaddrinfo(res);
    if (!pick) {
        fail(r, "host name does not resolve");
        return;
    }
    connect_both(r);
}

static void start_attempt(struct kc_redis *r)
{
    if (r->attempts++ > 0)
        r->reconnects++;
    event_del(r->timer);
    arm(r->timer, r->connect_timeout_ms); /* covers lookup, connect and handshake */
    unsigned char sa[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, r->url.host, sa) == 1 || inet_pton(AF_INET6, r->url.host, sa) == 1) {
        snprintf(r->addr, sizeof r->addr, "%s", r->url.host);
        connect_both(r);
        return;
    }
    r->state = KC_REDIS_RESOLVING;
    if (!r->dns)
        r->dns = evdns_base_new(r->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                             EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    struct lookup *lk = r->dns ? calloc(1, sizeof *lk) : NULL;
    if (!lk) {
        fail(r, "out of memory");
        return;
    }
    lk->r = r;
    r->lookup = lk;
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    /* May answer at once (hosts file) and then returns NULL, with lk already freed. */
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(r->dns, r->url.host, NULL, &hints, on_resolved, lk);
    if (req && r->lookup == lk)
        lk->req = req;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct kc_redis *r = arg;
    switch (r->state) {
    case KC_REDIS_RESOLVING:
    case KC_REDIS_CONNECTING:
    case KC_REDIS_HANDSHAKE:
        r->timeouts++;
        fail(r, r->state == KC_REDIS_RESOLVING ? "name lookup timed out" : "connect timed out");
        break;
    case KC_REDIS_BACKOFF:
        start_attempt(r);
        break;
    case KC_REDIS_READY:
        /* One PING at a time; it has the command timeout like any other command. */
        if (!r->ping_outstanding && !send_ping(r, &r->cmd))
            fail(r, "cannot send PING");
        if (r->state == KC_REDIS_READY)
            arm(r->timer, HEARTBEAT_MS);
        break;
    case KC_REDIS_DISABLED:
        break;
    }
}

struct kc_redis *kc_redis_new(struct event_base *base, const struct kc_config *cfg)
{
    if (!cfg->redis_url)
        return NULL;
    struct kc_redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    char err[160];
    r->base = base;
    r->cmd.r = r->pubsub.r = r;
    r->cmd.name = "command";
    r->pubsub.name = "pubsub";
    r->latency_ms = -1;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->timeout_ms = cfg->redis_timeout_ms > 0 ? cfg->redis_timeout_ms : 500;
    r->connect_timeout_ms = r->timeout_ms * 2 > 2000 ? r->timeout_ms * 2 : 2000;
    r->prefix = strdup(cfg->redis_prefix ? cfg->redis_prefix : "kc:");
    if (kc_redis_url_parse(cfg->redis_url, &r->url, err, sizeof err) != 0 || !r->prefix ||
        !(r->display_url = kc_redis_url_masked(&r->url)) ||
        !(r->timer = evtimer_new(base, on_timer, r)) ||
        !(r->drop_ev = event_new(base, -1, 0, on_drop, r))) {
        kc_redis_free(r);
        return NULL;
    }
    KC_INFO("redis_configured", "{s:s,s:s,s:I}", "url", r->display_url, "prefix", r->prefix,
            "timeout_ms", (json_int_t)r->timeout_ms);
    start_attempt(r);
    return r;
}

void kc_redis_free(struct kc_redis *r)
{
    if (!r)
        return;
    r->freeing = 1;
    if (r->timer)
        event_free(r->timer);
    if (r->drop_ev)
        event_free(r->drop_ev);
    free_link(&r->cmd);
    free_link(&r->pubsub);
    if (r->lookup) {
        struct lookup *lk = r->lookup;
        lk->r = NULL;
        r->lookup = NULL;
        if (lk->req)
            evdns_getaddrinfo_cancel(lk->req);
    }
    if (r->dns) {
        /* A cancelled lookup answers from the loop: one turn lets it free itself. */
        event_base_loop(r->base, EVLOOP_NONBLOCK);
        evdns_base_free(r->dns, 0);
    }
    for (size_t i = 0; i < r->nsubs; i++)
        free(r->subs[i].pattern);
    kc_redis_url_clear(&r->url);
    free(r->display_url);
    free(r->prefix);
    free(r);
}

int kc_redis_ready(const struct kc_redis *r)
{
    return r && r->state == KC_REDIS_READY;
}

const char *kc_redis_prefix(const struct kc_redis *r)
{
    return r ? r->prefix : "kc:";
}

const char *kc_redis_display_url(const struct kc_redis *r)
{
    return r ? r->display_url : NULL;
}

struct kc_redis_cmd *kc_redis_command(struct kc_redis *r, int argc, const char **argv,
                                      const size_t *argvlen, kc_redis_reply_fn done, void *ctx,
                                      enum kc_redis_error *why)
{
    if (!kc_redis_ready(r)) {
        *why = KC_REDIS_NOT_READY;
        return NULL;
    }
    struct kc_redis_cmd *c = send_cmd(r, &r->cmd, argc, argv, argvlen, NULL, NULL, done, ctx);
    if (!c)
        *why = KC_REDIS_NOMEM;
    return c;
}

char *kc_redis_take(struct kc_redis *r, const struct redisReply *str)
{
    /* Found in the lent reply rather than cast from const: only what hiredis handed us now. */
    redisReply *top = r ? r->lent : NULL, *hit = top == str ? top : NULL;
    for (size_t i = 0; top && !hit && top->type == REDIS_REPLY_ARRAY && i < top->elements; i++)
        if (top->element[i] == str)
            hit = top->element[i];
    if (!hit || hit->type != REDIS_REPLY_STRING || !hit->str)
        return NULL;
    /* hiredis frees a string reply's bytes with free() (0.14: free; 1.x: hi_free, which is
     * free unless hiredisSetAllocators changed it — never here): NULL leaves nothing to free. */
    char *bytes = hit->str;
    hit->str = NULL;
    hit->len = 0;
    return bytes;
}

void kc_redis_cancel(struct kc_redis_cmd *cmd)
{
    if (!cmd || cmd->finished)
        return;
    cmd->finished = 1;
    event_del(cmd->timer);
}

int kc_redis_subscribe(struct kc_redis *r, const char *pattern, kc_redis_message_fn on_message,
                       void *ctx)
{
    if (!r || r->nsubs == KC_REDIS_MAX_SUBS)
        return -1;
    struct sub *s = &r->subs[r->nsubs];
    if (!(s->pattern = strdup(pattern)))
        return -1;
    s->r = r;
    s->on_message = on_message;
    s->ctx = ctx;
    r->nsubs++;
    if (r->state == KC_REDIS_HANDSHAKE || r->state == KC_REDIS_READY ||
        r->state == KC_REDIS_CONNECTING)
        (void)send_subscribe(r, s); /* a failure drops the link; the reconnect subscribes */
    return 0;
}

void kc_redis_on_change(struct kc_redis *r, kc_redis_change_fn fn, void *ctx)
{
    if (!r)
        return;
    r->on_change = fn;
    r->change_ctx = ctx;
}

void kc_redis_stats(const struct kc_redis *r, struct kc_redis_stats *out)
{
    memset(out, 0, sizeof *out);
    out->latency_ms = -1;
    if (!r)
        return;
    out->state = r->state;
    out->reachable = r->state == KC_REDIS_READY;
    out->latency_ms = r->latency_ms;
    out->last_error = r->last_error[0] ? r->last_error : NULL;
    out->commands = r->commands;
    out->timeouts = r->timeouts;
    out->errors = r->errors;
    out->reconnects = r->reconnects;
    out->fallbacks = r->fallbacks;
}
