/* kc/redis.h — an optional Redis client on the gateway's loop (hiredis 0.14 async + libevent):
 * the foundation of fleet mode. Redis trouble never breaks the gateway: it falls back to local. */
#ifndef KC_REDIS_H
#define KC_REDIS_H

#include <stddef.h>

#include "kc/redis_url.h"

struct event_base;
struct kc_config;
struct kc_redis;
struct kc_redis_cmd;
struct redisReply; /* hiredis */

/* ---- the client ---- */

enum kc_redis_state {
    KC_REDIS_DISABLED = 0, /* no KC_REDIS_URL: local mode, nothing runs */
    KC_REDIS_RESOLVING,    /* evdns lookup of the host name */
    KC_REDIS_CONNECTING,   /* TCP connects of both connections */
    KC_REDIS_HANDSHAKE,    /* AUTH, SELECT, write probe, PING */
    KC_REDIS_READY,        /* fleet mode */
    KC_REDIS_BACKOFF,      /* failed; waiting before the next attempt */
};

enum kc_redis_error {
    KC_REDIS_OK = 0,       /* a reply arrived (it may be a Redis error reply) */
    KC_REDIS_TIMEOUT,      /* no reply within the command timeout; the link is dropped */
    KC_REDIS_DISCONNECTED, /* the link went away before the reply */
    KC_REDIS_NOT_READY,    /* not sent: not in fleet mode (kc_redis_command only) */
    KC_REDIS_NOMEM,
};

/* Called exactly once per command that kc_redis_command accepted, unless cancelled first.
 * reply is borrowed for the call (NULL unless err == KC_REDIS_OK). */
typedef void (*kc_redis_reply_fn)(enum kc_redis_error err, const struct redisReply *reply,
                                  void *ctx);
/* A published message on a subscribed channel; strings borrowed for the call. data is the
 * string of data_reply, which kc_redis_take may take during the call. */
typedef void (*kc_redis_message_fn)(const char *channel, const char *data, size_t len,
                                    const struct redisReply *data_reply, void *ctx);

/* Takes the bytes of a string reply out of hiredis's hands, during the reply or message
 * callback that lent it (str is that reply, or one of its elements): the same memory, now the
 * caller's (new: free() it; a NUL follows its len bytes), and hiredis frees an empty reply. No
 * copy: a published cluster summary is megabytes, and copying 12 MB of fresh pages holds the
 * loop ~7 ms. NULL when str is not such a string (then copy it). */
char *kc_redis_take(struct kc_redis *r, const struct redisReply *str);

/* New client from cfg (borrowed; must outlive it) on base; starts connecting at once. NULL on
 * OOM or when cfg has no Redis URL. */
struct kc_redis *kc_redis_new(struct event_base *base, const struct kc_config *cfg);
/* Drops both connections; pending commands get KC_REDIS_DISCONNECTED (cancelled ones nothing).
 * Call before event_base_free. NULL is fine. */
void kc_redis_free(struct kc_redis *r);

/* Fleet mode: READY. NULL (local mode) → 0. */
int kc_redis_ready(const struct kc_redis *r);
/* The key prefix (default "kc:"), borrowed. */
const char *kc_redis_prefix(const struct kc_redis *r);

/* Sends one command (argv copied) on the command connection with the command timeout.
 * Returns a handle valid until the callback has run or kc_redis_cancel; NULL with *why set
 * (NOT_READY, NOMEM) when nothing was sent — the callback then never runs. */
struct kc_redis_cmd *kc_redis_command(struct kc_redis *r, int argc, const char **argv,
                                      const size_t *argvlen, kc_redis_reply_fn done, void *ctx,
                                      enum kc_redis_error *why);
/* Abandons a command whose callback has not run: the callback never runs. The reply, if it
 * comes, is dropped. */
void kc_redis_cancel(struct kc_redis_cmd *cmd);

/* Subscribes (PSUBSCRIBE, so glob patterns work) on the pub/sub connection, now if it is up and
 * again after every reconnect. Up to 8 patterns, for the client's lifetime. -1 when full/OOM. */
int kc_redis_subscribe(struct kc_redis *r, const char *pattern, kc_redis_message_fn on_message,
                       void *ctx);

/* Told when fleet mode starts (ready = 1) or ends (0, a fallback: commands in flight then get
 * KC_REDIS_DISCONNECTED or KC_REDIS_TIMEOUT on their own). One observer. */
typedef void (*kc_redis_change_fn)(int ready, void *ctx);
void kc_redis_on_change(struct kc_redis *r, kc_redis_change_fn fn, void *ctx);

struct kc_redis_stats {
    enum kc_redis_state state;
    int reachable;          /* READY and the last PING answered */
    double latency_ms;      /* round trip of the last PING; -1 before the first */
    const char *last_error; /* static text, never a credential; NULL when none */
    unsigned long long commands, timeouts, errors, reconnects, fallbacks;
};
void kc_redis_stats(const struct kc_redis *r, struct kc_redis_stats *out);
const char *kc_redis_state_name(enum kc_redis_state s);
/* The URL with the password masked, borrowed. */
const char *kc_redis_display_url(const struct kc_redis *r);

#endif
