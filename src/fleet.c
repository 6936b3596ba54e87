/* fleet.c — fleet mode's Redis protocol (kc/fleet.h): the envelope codec, the lease taken and the
 * document stored by one Lua script each, the publish subscription, and the history stream.
 *
 * Why Lua: "serve the stored document, else take the lease" must be one step. Done as GET then
 * SET NX, a replica could read "no document" just before the holder stores it and releases its
 * lease, then win the freed lease and collect the same TTL twice. Scripts run atomically in
 * Redis (2.6 and later), on a single primary; Redis Cluster is not supported (keys of one
 * script live in different slots).
 *
 * Big documents never cross the loop in one piece (issue #14 §1): the lease holder stages an
 * envelope or state over 256 KiB in Redis in 256 KiB pieces, a few per loop turn, before the
 * store script takes them; the script then announces such an envelope on the channel instead
 * of publishing it, and the acquire script answers it as its head line; the replicas that want
 * it fetch it in 256 KiB pieces. Sent whole, a 20,000-connector envelope (11 MB) held the
 * holder's loop ~22 ms (three copies) and every subscriber's hiredis copied it in one turn
 * (1-10 ms), wanted or not. */
#include "kc/fleet.h"

#include "kc/log.h"
#include "kc/redis.h"

#include <event2/util.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#define ENVELOPE_MAGIC "KCF1"

/* KEYS: doc, lease, state[, alerts]. ARGV: owner, lease_ms, margin_ms, notice_min. A document
 * bigger than notice_min comes as its head line and size (4): it is fetched in pieces. */
static const char acquire_lua[] =
    "local t = redis.call('PTTL', KEYS[1])\n"
    "if t > tonumber(ARGV[3]) then\n"
    "  local n = redis.call('STRLEN', KEYS[1])\n"
    "  if n > tonumber(ARGV[4]) then\n"
    "    local h = redis.call('GETRANGE', KEYS[1], 0, 159)\n"
    "    local e = string.find(h, '\\n', 1, true)\n"
    "    if e then return {4, string.sub(h, 1, e), t, n} end\n"
    "  end\n"
    "  return {1, redis.call('GET', KEYS[1]), t}\n"
    "end\n"
    "if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
    "  local a = ''\n"
    "  if KEYS[4] then a = redis.call('GET', KEYS[4]) or '' end\n"
    "  return {2, redis.call('GET', KEYS[3]) or '', a}\n"
    "end\n"
    "return {3, redis.call('PTTL', KEYS[2])}\n";

/* KEYS: doc. ARGV: the envelope's head line, first byte, last byte. That piece, or nil when
 * the document is no longer the one announced (replaced, expired). */
static const char fetch_lua[] =
    "if redis.call('GETRANGE', KEYS[1], 0, #ARGV[1] - 1) ~= ARGV[1] then return false end\n"
    "return redis.call('GETRANGE', KEYS[1], ARGV[2], ARGV[3])\n";

/* KEYS: doc, lease, state, staged envelope, staged state[, alerts]. ARGV: owner, envelope, doc_px,
 * state, state_px, channel, message head, alert_state, alerts_px, staged ("", "e", "s", "es":
 * the envelope or the state was staged in pieces under its key, then taken from there),
 * notice_min (an envelope bigger than this is announced — "KCN1 <size> <head line>" — not
 * published whole: every subscriber's hiredis would copy megabytes in one turn, wanted or
 * not). The state is written only while the lease is ours or gone: a replica that took over
 * an expired lease has the newer one coming. */
static const char store_lua[] =
    "local env, st = ARGV[2], ARGV[4]\n"
    "if string.find(ARGV[10], 'e', 1, true) then\n"
    "  env = redis.call('GET', KEYS[4])\n"
    "  redis.call('DEL', KEYS[4])\n"
    "end\n"
    "if string.find(ARGV[10], 's', 1, true) then\n"
    "  st = redis.call('GET', KEYS[5]) or ''\n"
    "  redis.call('DEL', KEYS[5])\n"
    "end\n"
    "if not env then return 0 end\n"
    "local mine = redis.call('GET', KEYS[2])\n"
    "if mine == ARGV[1] then redis.call('DEL', KEYS[2]) end\n"
    "redis.call('SET', KEYS[1], env, 'PX', ARGV[3])\n"
    "if mine == ARGV[1] or not mine then\n"
    "  if st ~= '' then redis.call('SET', KEYS[3], st, 'PX', ARGV[5]) end\n"
    "  if KEYS[6] and ARGV[8] ~= '' then redis.call('SET', KEYS[6], ARGV[8], 'PX', ARGV[9]) end\n"
    "end\n"
    "if #env > tonumber(ARGV[11]) then\n"
    "  local e = string.find(env, '\\n', 1, true) or 0\n"
    "  redis.call('PUBLISH', ARGV[6], ARGV[7] .. 'KCN1 ' .. #env .. ' ' .. string.sub(env, 1, e))\n"
    "else\n"
    "  redis.call('PUBLISH', ARGV[6], ARGV[7] .. env)\n"
    "end\n"
    "return 1\n";

/* A store whose envelope or state is big goes to Redis in pieces, a few per loop turn, before
 * the store script takes them: sent as one command, a 20,000-connector envelope (11 MB) was
 * copied three times in one turn (encoded, formatted by hiredis, appended to its output
 * buffer: 22 ms), and hiredis moved what the socket did not take yet on every write. */
#define STAGE_PIECE (256u << 10)
#define STAGE_WINDOW 4         /* pieces awaiting their reply: hiredis's output stays ~1 MiB */
#define STAGE_KEEP_MS 60000    /* pieces of a replica that died half-way go away */

struct piece_src {
    const char *p;
    size_t n;
};

/* One store: sent at once when small, else queued (one staging at a time, in order, so the
 * stores of one key reach Redis in the order they were made). */
struct store_op {
    struct kc_fleet *f;
    TAILQ_ENTRY(store_op) link;      /* in f->stores */
    char *key;                       /* the metrics key */
    char head[160];                  /* the envelope's head line */
    struct piece_src env[4];         /* head, body, gz, alerts: the envelope in order */
    char *env_inline;                /* a small envelope, encoded */
    size_t env_len;
    char *alerts;                    /* copies of what the caller lends */
    char *state;                     /* taken */
    size_t state_len;
    char *alerts_cluster, *alert_state;
    size_t alert_state_len;
    int64_t doc_px;
    void (*release)(void *keep);     /* the doc's bytes are no longer needed */
    void *keep;
    unsigned staged;                 /* STAGED_ENV | STAGED_STATE */
    char *kstage[2];                 /* their staging keys */
    unsigned part;                   /* next piece: part 0 envelope, 1 state, 2 all sent */
    size_t seg, off;
    int started;                     /* a piece of the current part was sent (SET, then APPEND) */
    unsigned inflight;               /* pieces awaiting their reply */
    int failed;
};

enum { STAGED_ENV = 1, STAGED_STATE = 2 };

struct kc_fleet;
static struct kc_redis_cmd *fleet_send(struct kc_fleet *f, int argc, const char **argv,
                                       const size_t *lens, kc_redis_reply_fn done, void *ctx);

struct kc_fleet {
    struct kc_redis *redis;
    kc_fleet_doc_fn on_doc;
    void *ctx;
    char owner[96];
    char *channel;
    struct kc_fleet_stats stats;
    TAILQ_HEAD(, store_op) stores;   /* queued stores, the first one staging */
    LIST_HEAD(, fetch_op) fetches;   /* big envelopes being fetched */
    unsigned long stage_seq;         /* names the staging keys */
    unsigned long pending;           /* commands whose callback has f or a store as context */
    int closing;                     /* kc_fleet_free ran: the last such callback frees f */
};

/* ---- envelope ---- */

/* The envelope's head line into head[160]; its length. */
static int envelope_head(const struct kc_fleet_doc *d, char *head)
{
    return snprintf(head, 160, ENVELOPE_MAGIC " %d %u %" PRIu64 " %" PRId64 " %" PRId64
                                              " %zu %zu %zu\n",
                    d->status, d->flags, d->seq, d->made_ms, d->ttl_ms, d->body_len, d->gz_len,
                    d->alerts_len);
}

int kc_fleet_doc_encode(const struct kc_fleet_doc *d, char **out, size_t *out_len)
{
    char head[160];
    int n = envelope_head(d, head);
    size_t len = (size_t)n + d->body_len + d->gz_len + d->alerts_len;
    char *buf = malloc(len);
    if (!buf)
        return -1;
    char *p = buf;
    memcpy(p, head, (size_t)n), p += n;
    if (d->body_len)
        memcpy(p, d->body, d->body_len), p += d->body_len;
    if (d->gz_len)
        memcpy(p, d->gz, d->gz_len), p += d->gz_len;
    if (d->alerts_len)
        memcpy(p, d->alerts, d->alerts_len);
    *out = buf;
    *out_len = len;
    return 0;
}

/* The head line at buf (up to its '\n'): d's scalars and lengths; the line's length, or 0
 * when it is not a head of this version. */
static size_t head_parse(const char *buf, size_t len, struct kc_fleet_doc *d)
{
    memset(d, 0, sizeof *d);
    const char *nl = memchr(buf, '\n', len < 160 ? len : 160);
    if (!nl || len < 5 || memcmp(buf, ENVELOPE_MAGIC " ", 5) != 0)
        return 0;
    char head[160];
    memcpy(head, buf, (size_t)(nl - buf));
    head[nl - buf] = '\0';
    int status;
    unsigned flags;
    uint64_t seq;
    int64_t made, ttl;
    size_t bl, gl, al;
    int used = 0;
    if (sscanf(head, ENVELOPE_MAGIC " %d %u %" SCNu64 " %" SCNd64 " %" SCNd64 " %zu %zu %zu%n",
               &status, &flags, &seq, &made, &ttl, &bl, &gl, &al, &used) != 8 ||
        head[used] != '\0' || status < 100 || status > 599 || (flags & KC_FLEET_DOC_NOTICE))
        return 0;
    d->status = status;
    d->flags = flags;
    d->seq = seq;
    d->made_ms = made;
    d->ttl_ms = ttl;
    d->body_len = bl;
    d->gz_len = gl;
    d->alerts_len = al;
    return (size_t)(nl + 1 - buf);
}

int kc_fleet_doc_decode(const char *buf, size_t len, struct kc_fleet_doc *d)
{
    size_t hl = head_parse(buf, len, d);
    if (!hl)
        return -1;
    size_t rest = len - hl, bl = d->body_len, gl = d->gz_len, al = d->alerts_len;
    if (bl > rest || gl > rest - bl || al != rest - bl - gl) {
        memset(d, 0, sizeof *d);
        return -1;
    }
    d->body = buf + hl;
    d->gz = gl ? (const unsigned char *)d->body + bl : NULL;
    d->alerts = al ? d->body + bl + gl : NULL;
    return 0;
}

int kc_fleet_notice_decode(const char *buf, size_t len, struct kc_fleet_doc *d)
{
    char *end;
    if (len < 6 || memcmp(buf, "KCN1 ", 5) != 0)
        return -1;
    unsigned long long n = strtoull(buf + 5, &end, 10);
    if (end == buf + 5 || (size_t)(end - buf) >= len || *end != ' ')
        return -1;
    const char *head = end + 1;
    size_t hl = head_parse(head, len - (size_t)(head - buf), d);
    if (!hl || hl != len - (size_t)(head - buf) ||
        n != hl + d->body_len + d->gz_len + d->alerts_len) {
        memset(d, 0, sizeof *d);
        return -1;
    }
    d->flags |= KC_FLEET_DOC_NOTICE;
    d->envelope_len = (size_t)n;
    d->head = head;
    d->head_len = hl;
    return 0;
}

/* ---- keys ---- */

/* P + kind + key, new. */
static char *key_of(const struct kc_fleet *f, const char *kind, const char *key)
{
    const char *p = kc_redis_prefix(f->redis);
    size_t n = strlen(p) + strlen(kind) + strlen(key) + 1;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s%s%s", p, kind, key);
    return k;
}

/* ---- publish ---- */

void *kc_fleet_doc_take_bytes(const struct kc_fleet_doc *d)
{
    if (d->src_owned) { /* fetched in pieces: the buffer is the fetch's until taken */
        void *b = *d->src_owned;
        *d->src_owned = NULL;
        return b;
    }
    return d->src_reply ? kc_redis_take(d->src_redis, d->src_reply) : NULL;
}

/* "<key length>:<key><envelope>" */
static void on_message(const char *channel, const char *data, size_t len,
                       const struct redisReply *data_reply, void *ctx)
{
    (void)channel;
    struct kc_fleet *f = ctx;
    if (f->closing)
        return; /* its owner is gone */
    f->stats.received++;
    char *end;
    unsigned long klen = strtoul(data, &end, 10);
    if (end == data || (size_t)(end - data) >= len || *end != ':' ||
        klen > len - (size_t)(end + 1 - data)) {
        f->stats.errors++;
        return;
    }
    const char *key = end + 1;
    struct kc_fleet_doc d;
    const char *env = key + klen;
    size_t env_len = len - (size_t)(env - data);
    int notice = env_len >= 5 && memcmp(env, "KCN1 ", 5) == 0;
    if (notice ? kc_fleet_notice_decode(env, env_len, &d) != 0
               : kc_fleet_doc_decode(env, env_len, &d) != 0) {
        f->stats.errors++;
        return;
    }
    if (!(d.flags & KC_FLEET_DOC_NOTICE)) {
        d.src_redis = f->redis;
        d.src_reply = data_reply; /* taken whole: the key's bytes go with it, a few bytes */
    }
    f->on_doc(key, klen, &d, f->ctx);
}

/* A glob pattern that matches exactly `s` (the prefix is the operator's text). */
static char *glob_escape(const char *s)
{
    char *out = malloc(2 * strlen(s) + 1), *p = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        if (strchr("*?[]\\", *s))
            *p++ = '\\';
        *p++ = *s;
    }
    *p = '\0';
    return out;
}

struct kc_fleet *kc_fleet_new(struct kc_redis *r, kc_fleet_doc_fn on_doc, void *ctx)
{
    struct kc_fleet *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->redis = r;
    f->on_doc = on_doc;
    f->ctx = ctx;
    TAILQ_INIT(&f->stores);
    LIST_INIT(&f->fetches);
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    uint32_t rnd = 0;
    evutil_secure_rng_get_bytes(&rnd, sizeof rnd);
    snprintf(f->owner, sizeof f->owner, "%s:%ld:%08" PRIx32, host, (long)getpid(), rnd);
    f->channel = key_of(f, "docs", "");
    char *pattern = f->channel ? glob_escape(f->channel) : NULL;
    if (!pattern || kc_redis_subscribe(r, pattern, on_message, f) != 0) {
        free(pattern);
        kc_fleet_free(f);
        return NULL;
    }
    free(pattern);
    return f;
}

static void store_op_free(struct store_op *op);
struct fetch_op;
static void fetch_cancel(struct fetch_op *op);
static void fetches_end(struct kc_fleet *f);

static void fleet_destroy(struct kc_fleet *f)
{
    free(f->channel);
    free(f);
}

/* A callback with f (or one of its stores) as context ran: the last one after kc_fleet_free
 * frees f — until kc_redis_free has called every pending callback, f must exist. */
static void fleet_cmd_done(struct kc_fleet *f)
{
    if (--f->pending == 0 && f->closing && TAILQ_EMPTY(&f->stores))
        fleet_destroy(f);
}

void kc_fleet_free(struct kc_fleet *f)
{
    if (!f)
        return;
    f->closing = 1;
    /* Stores not staging yet go now; one with pieces in flight waits for their callbacks. */
    struct store_op *op, *next;
    for (op = TAILQ_FIRST(&f->stores); op; op = next) {
        next = TAILQ_NEXT(op, link);
        if (op->inflight == 0) {
            TAILQ_REMOVE(&f->stores, op, link);
            store_op_free(op);
        }
    }
    fetches_end(f);
    if (f->pending == 0 && TAILQ_EMPTY(&f->stores))
        fleet_destroy(f);
}

int kc_fleet_active(const struct kc_fleet *f)
{
    return f && kc_redis_ready(f->redis);
}

const char *kc_fleet_owner(const struct kc_fleet *f)
{
    return f->owner;
}

/* ---- big envelopes fetched in pieces ---- */

#define FETCH_PIECE (256u << 10)
#define FETCH_WINDOW 4 /* pieces awaiting their reply */

/* One big envelope on its way here: GETRANGE pieces (fetch_lua) copied into one buffer as
 * their replies come, a few per loop turn. Cancelled, it stops asking and frees itself when
 * the pieces in flight have answered. */
struct fetch_op {
    struct kc_fleet *f;
    LIST_ENTRY(fetch_op) link;       /* in f->fetches */
    int listed;
    int notice;                      /* for a notice (kc_fleet_fetch), not an acquire */
    char *key;                       /* the metrics key */
    char *kdoc;                      /* P doc:<key> */
    char head[160];                  /* the head line the document must still have */
    size_t head_len;
    char *buf;                       /* the envelope (len bytes, NUL after) */
    size_t len, asked, got;
    unsigned inflight;
    int failed, cancelled;
    /* op (unlisted, freed after), buf (NULL when it failed; else the callee's if it takes it
     * through *bufp — see kc_fleet_doc.src_owned); never called once cancelled */
    void (*done)(struct fetch_op *op, char **bufp, void *ctx);
    void *ctx;
};

static void fetch_unlist(struct fetch_op *op)
{
    if (op->listed)
        LIST_REMOVE(op, link);
    op->listed = 0;
}

static void fetch_free(struct fetch_op *op)
{
    fetch_unlist(op);
    free(op->key);
    free(op->kdoc);
    free(op->buf);
    free(op);
}

static void fetch_cancel(struct fetch_op *op)
{
    op->cancelled = 1;
    fetch_unlist(op);
    if (op->inflight == 0)
        fetch_free(op);
}

/* Notices' fetches end with the fleet (those with pieces in flight free themselves); an
 * acquire's belongs to its operation, which its owner cancels. */
static void fetches_end(struct kc_fleet *f)
{
    struct fetch_op *op, *next;
    for (op = LIST_FIRST(&f->fetches); op; op = next) {
        next = LIST_NEXT(op, link);
        if (op->notice)
            fetch_cancel(op);
    }
}

static void on_fetch_piece(enum kc_redis_error err, const redisReply *reply, void *arg);

/* Asks for pieces up to the window. */
static void fetch_ask(struct fetch_op *op)
{
    while (!op->failed && !op->cancelled && op->inflight < FETCH_WINDOW && op->asked < op->len) {
        size_t n = op->len - op->asked < FETCH_PIECE ? op->len - op->asked : FETCH_PIECE;
        char from[24], to[24];
        snprintf(from, sizeof from, "%zu", op->asked);
        snprintf(to, sizeof to, "%zu", op->asked + n - 1);
        const char *argv[] = {"EVAL", fetch_lua, "1", op->kdoc, op->head, from, to};
        size_t lens[] = {4, strlen(fetch_lua), 1, strlen(op->kdoc), op->head_len, strlen(from),
                         strlen(to)};
        if (!fleet_send(op->f, 7, argv, lens, on_fetch_piece, op)) {
            op->failed = 1;
            break;
        }
        op->inflight++;
        op->asked += n;
    }
}

static void on_fetch_piece(enum kc_redis_error err, const redisReply *reply, void *arg)
{
    struct fetch_op *op = arg;
    struct kc_fleet *f = op->f;
    op->inflight--;
    /* Replies come in the order asked: this one is the piece at op->got. */
    size_t want = op->len - op->got < FETCH_PIECE ? op->len - op->got : FETCH_PIECE;
    if (!op->failed && !op->cancelled) {
        if (err == KC_REDIS_OK && reply->type == REDIS_REPLY_STRING && reply->len == want) {
            memcpy(op->buf + op->got, reply->str, want);
            op->got += want;
        } else {
            op->failed = 1; /* replaced or gone (nil), or Redis failed */
        }
    }
    if (f->closing)
        op->cancelled = 1;
    fetch_ask(op);
    if (op->inflight > 0) {
        fleet_cmd_done(f);
        return;
    }
    if (op->cancelled) {
        fetch_free(op);
    } else if (op->failed || op->got == op->len) {
        if (op->failed)
            f->stats.errors++;
        fetch_unlist(op); /* the callee may start another fetch of the key */
        char *buf = op->failed ? NULL : op->buf;
        op->done(op, &buf, op->ctx);
        op->buf = buf; /* NULL when taken */
        fetch_free(op);
    }
    fleet_cmd_done(f);
}

/* Starts fetching the envelope of len bytes under key whose head line is head. NULL when
 * nothing was sent. */
static struct fetch_op *fetch_start(struct kc_fleet *f, const char *key, const char *head,
                                    size_t head_len, size_t len,
                                    void (*done)(struct fetch_op *, char **, void *), void *ctx)
{
    struct fetch_op *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    LIST_INSERT_HEAD(&f->fetches, op, link);
    op->listed = 1;
    op->f = f;
    op->done = done;
    op->ctx = ctx;
    op->len = len;
    if (head_len >= sizeof op->head || head_len > len || !(op->key = strdup(key)) ||
        !(op->kdoc = key_of(f, "doc:", key)) || !(op->buf = malloc(len + 1))) {
        fetch_free(op);
        return NULL;
    }
    memcpy(op->head, head, head_len);
    op->head_len = head_len;
    op->buf[len] = '\0';
    fetch_ask(op);
    if (op->inflight == 0) { /* nothing could be sent */
        fetch_free(op);
        return NULL;
    }
    return op;
}

/* A notice's document is in: handed on like a publish (the callee may take the buffer). */
static void on_notice_fetched(struct fetch_op *op, char **bufp, void *ctx)
{
    struct kc_fleet *f = ctx;
    struct kc_fleet_doc d;
    if (!*bufp || kc_fleet_doc_decode(*bufp, op->len, &d) != 0)
        return;
    d.src_owned = bufp;
    f->on_doc(op->key, strlen(op->key), &d, f->ctx);
}

int kc_fleet_fetch(struct kc_fleet *f, const char *key, const struct kc_fleet_doc *notice)
{
    if (!(notice->flags & KC_FLEET_DOC_NOTICE) || !notice->head)
        return -1;
    struct fetch_op *op, *next;
    for (op = LIST_FIRST(&f->fetches); op; op = next) {
        next = LIST_NEXT(op, link);
        if (!op->notice || strcmp(op->key, key) != 0)
            continue;
        if (op->head_len == notice->head_len && memcmp(op->head, notice->head, op->head_len) == 0)
            return 0; /* that one is on its way */
        fetch_cancel(op); /* an older one of the key: the newer replaces it */
    }
    op = fetch_start(f, key, notice->head, notice->head_len, notice->envelope_len,
                     on_notice_fetched, f);
    if (!op)
        return -1;
    op->notice = 1;
    return 0;
}

struct kc_fleet_op;
static int acquire_fetch(struct kc_fleet_op *op, const char *head, size_t head_len, size_t len,
                         int64_t remaining_ms);

/* ---- operations with an answer ---- */

/* The caller's handle of a command whose answer it waits for: freed after the callback ran, or
 * by kc_fleet_op_cancel (then the callback never runs). */
struct kc_fleet_op {
    struct kc_fleet *f;
    struct kc_redis_cmd *cmd;
    kc_fleet_acquire_fn acquired;
    kc_fleet_history_fn history;
    void *ctx;
    struct fetch_op *fetch;  /* a big document found: fetched before the callback */
    char *key;               /* acquires: the metrics key */
    int64_t remaining_ms;    /* the document's, when found */
    struct timespec found;
};

static void fleet_op_free(struct kc_fleet_op *op)
{
    free(op->key);
    free(op);
}

void kc_fleet_op_cancel(struct kc_fleet_op *op)
{
    if (!op)
        return;
    if (op->fetch)
        fetch_cancel(op->fetch);
    else
        kc_redis_cancel(op->cmd);
    fleet_op_free(op);
}

/* The big document an acquire found is in (or not: replaced meanwhile — then the caller asks
 * again at once, as after a lost lease that just ended). */
static void on_acquire_fetched(struct fetch_op *fop, char **bufp, void *ctx)
{
    struct kc_fleet_op *op = ctx;
    struct kc_fleet *f = op->f;
    op->fetch = NULL;
    struct kc_fleet_acquired a = {.outcome = KC_FLEET_LOST, .remaining_ms = 0};
    if (*bufp && kc_fleet_doc_decode(*bufp, fop->len, &a.doc) == 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t spent = (int64_t)(now.tv_sec - op->found.tv_sec) * 1000 +
                        (now.tv_nsec - op->found.tv_nsec) / 1000000;
        a.outcome = KC_FLEET_HIT;
        a.remaining_ms = op->remaining_ms > spent ? op->remaining_ms - spent : 0;
        a.doc.src_owned = bufp;
        f->stats.hits++;
    }
    kc_fleet_acquire_fn done = op->acquired;
    void *c = op->ctx;
    fleet_op_free(op); /* first: the callback may start the next operation */
    done(&a, c);
}

static int acquire_fetch(struct kc_fleet_op *op, const char *head, size_t head_len, size_t len,
                         int64_t remaining_ms)
{
    clock_gettime(CLOCK_MONOTONIC, &op->found);
    op->remaining_ms = remaining_ms;
    op->fetch = fetch_start(op->f, op->key, head, head_len, len, on_acquire_fetched, op);
    if (!op->fetch)
        return -1;
    op->cmd = NULL; /* answered: hiredis frees it */
    return 0;
}

/* ---- acquire ---- */

static int is_str(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING;
}

static void on_acquired(enum kc_redis_error err, const redisReply *reply, void *arg)
{
    struct kc_fleet_op *op = arg;
    struct kc_fleet *f = op->f;
    struct kc_fleet_acquired a = {.outcome = KC_FLEET_ERROR};
    if (err == KC_REDIS_OK && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER) {
        const redisReply *const *e = (const redisReply *const *)reply->element;
        switch (e[0]->integer) {
        case 1:
            if (reply->elements == 3 && is_str(e[1]) && e[2]->type == REDIS_REPLY_INTEGER &&
                kc_fleet_doc_decode(e[1]->str, e[1]->len, &a.doc) == 0) {
                a.doc.src_redis = f->redis;
                a.doc.src_reply = e[1];
                a.outcome = KC_FLEET_HIT;
                a.remaining_ms = e[2]->integer;
                f->stats.hits++;
            }
            break;
        case 2:
            if (reply->elements == 3 && is_str(e[1]) && is_str(e[2])) {
                a.outcome = KC_FLEET_WON;
                a.state = e[1]->str;
                a.state_len = e[1]->len;
                a.alert_state = e[2]->str;
                a.alert_state_len = e[2]->len;
                f->stats.lease_wins++;
            }
            break;
        case 4:
            if (reply->elements == 4 && is_str(e[1]) && e[2]->type == REDIS_REPLY_INTEGER &&
                e[3]->type == REDIS_REPLY_INTEGER && e[3]->integer > 0 &&
                acquire_fetch(op, e[1]->str, e[1]->len, (size_t)e[3]->integer,
                              e[2]->integer) == 0)
                return; /* the callback runs when the pieces are in */
            break;
        case 3:
            if (e[1]->type == REDIS_REPLY_INTEGER) {
                a.outcome = KC_FLEET_LOST;
                a.remaining_ms = e[1]->integer > 0 ? e[1]->integer : 0;
                f->stats.lease_losses++;
            }
            break;
        }
    }
    if (a.outcome == KC_FLEET_ERROR) {
        f->stats.errors++;
        if (err == KC_REDIS_OK && reply->type == REDIS_REPLY_ERROR)
            KC_WARN("fleet_acquire_refused", "{s:s}", "error", reply->str ? reply->str : "");
    }
    kc_fleet_acquire_fn done = op->acquired;
    void *ctx = op->ctx;
    fleet_op_free(op); /* first: the callback may start the next operation */
    done(&a, ctx);
}

struct kc_fleet_op *kc_fleet_acquire(struct kc_fleet *f, const char *key, int64_t lease_ms,
                                      int64_t margin_ms, const char *alerts_cluster,
                                      kc_fleet_acquire_fn done, void *ctx)
{
    struct kc_fleet_op *op = calloc(1, sizeof *op);
    char *kdoc = key_of(f, "doc:", key), *klease = key_of(f, "lease:", key),
         *kstate = key_of(f, "state:", key),
         *kalerts = alerts_cluster ? key_of(f, "alerts:", alerts_cluster) : NULL;
    struct kc_redis_cmd *cmd = NULL;
    if (op && kdoc && klease && kstate && (!alerts_cluster || kalerts) &&
        (op->key = strdup(key))) {
        op->f = f;
        op->acquired = done;
        op->ctx = ctx;
        char lease[24], margin[24], notice_min[24];
        snprintf(lease, sizeof lease, "%" PRId64, lease_ms);
        snprintf(margin, sizeof margin, "%" PRId64, margin_ms);
        snprintf(notice_min, sizeof notice_min, "%u", KC_FLEET_NOTICE_MIN);
        const char *argv[12];
        int argc = 0;
        argv[argc++] = "EVAL", argv[argc++] = acquire_lua, argv[argc++] = kalerts ? "4" : "3";
        argv[argc++] = kdoc, argv[argc++] = klease, argv[argc++] = kstate;
        if (kalerts)
            argv[argc++] = kalerts;
        argv[argc++] = f->owner, argv[argc++] = lease, argv[argc++] = margin;
        argv[argc++] = notice_min;
        enum kc_redis_error why;
        cmd = op->cmd = kc_redis_command(f->redis, argc, argv, NULL, on_acquired, op, &why);
    }
    if (!cmd) {
        if (op)
            fleet_op_free(op);
        op = NULL;
    }
    free(kdoc), free(klease), free(kstate), free(kalerts);
    return op;
}

/* ---- store ---- */

/* Sends one command whose callback gets f or a store of f as context (counted in f->pending). */
static struct kc_redis_cmd *fleet_send(struct kc_fleet *f, int argc, const char **argv,
                                       const size_t *lens, kc_redis_reply_fn done, void *ctx)
{
    enum kc_redis_error why;
    struct kc_redis_cmd *c = kc_redis_command(f->redis, argc, argv, lens, done, ctx, &why);
    if (c)
        f->pending++;
    return c;
}

static void on_stored(enum kc_redis_error err, const redisReply *reply, void *arg)
{
    struct kc_fleet *f = arg;
    if (err != KC_REDIS_OK || reply->type == REDIS_REPLY_ERROR) {
        f->stats.errors++;
        if (err == KC_REDIS_OK)
            KC_WARN("fleet_store_refused", "{s:s}", "error", reply->str ? reply->str : "");
    }
    fleet_cmd_done(f);
}

static void store_release(struct store_op *op)
{
    if (op->release)
        op->release(op->keep);
    op->release = NULL;
}

static void store_op_free(struct store_op *op)
{
    store_release(op);
    free(op->key);
    free(op->env_inline);
    free(op->alerts);
    free(op->state);
    free(op->alerts_cluster);
    free(op->alert_state);
    free(op->kstage[0]);
    free(op->kstage[1]);
    free(op);
}

/* The store script, with whatever was staged taken from its staging key. 0, or -1 when
 * nothing was sent. */
static int store_send(struct store_op *op)
{
    struct kc_fleet *f = op->f;
    char *kdoc = key_of(f, "doc:", op->key), *klease = key_of(f, "lease:", op->key),
         *kstate = key_of(f, "state:", op->key),
         *kalerts = op->alerts_cluster ? key_of(f, "alerts:", op->alerts_cluster) : NULL;
    size_t klen = strlen(op->key);
    char *head = malloc(klen + 24);
    int rc = -1;
    if (kdoc && klease && kstate && head && (!op->alerts_cluster || kalerts)) {
        int hn = snprintf(head, klen + 24, "%zu:%s", klen, op->key);
        char doc_px[24], state_px[24], alerts_px[24], staged[3] = "", notice_min[24];
        snprintf(notice_min, sizeof notice_min, "%u", KC_FLEET_NOTICE_MIN);
        snprintf(doc_px, sizeof doc_px, "%" PRId64, op->doc_px > 0 ? op->doc_px : 1);
        snprintf(state_px, sizeof state_px, "%d", KC_FLEET_STATE_KEEP_MS);
        snprintf(alerts_px, sizeof alerts_px, "%d", KC_FLEET_ALERTS_KEEP_MS);
        snprintf(staged, sizeof staged, "%s%s", op->staged & STAGED_ENV ? "e" : "",
                 op->staged & STAGED_STATE ? "s" : "");
        const char *stage_env = op->kstage[0] ? op->kstage[0] : "",
                   *stage_state = op->kstage[1] ? op->kstage[1] : "";
        const char *argv[20];
        size_t lens[20];
        int argc = 0;
#define ARG(p, n) (argv[argc] = (p), lens[argc++] = (n))
#define STR(p) ARG((p), strlen(p))
        STR("EVAL"), STR(store_lua), STR(kalerts ? "6" : "5"), STR(kdoc), STR(klease), STR(kstate);
        STR(stage_env), STR(stage_state);
        if (kalerts)
            STR(kalerts);
        STR(f->owner);
        /* binary: never through strlen */
        ARG(op->env_inline ? op->env_inline : "", op->env_inline ? op->env_len : 0);
        STR(doc_px);
        ARG(op->state && !(op->staged & STAGED_STATE) ? op->state : "",
            op->state && !(op->staged & STAGED_STATE) ? op->state_len : 0);
        STR(state_px);
        STR(f->channel);
        ARG(head, (size_t)hn);
        ARG(op->alert_state ? op->alert_state : "", op->alert_state ? op->alert_state_len : 0);
        STR(alerts_px);
        STR(staged);
        STR(notice_min);
#undef STR
#undef ARG
        if (fleet_send(f, argc, argv, lens, on_stored, f)) {
            f->stats.published++;
            rc = 0;
        }
    }
    free(kdoc), free(klease), free(kstate), free(kalerts), free(head);
    return rc;
}

/* The next piece of the staged parts (its bytes in *p, *n), the key and whether it starts its
 * part. 0 when every piece was sent. */
static int store_next_piece(struct store_op *op, const char **p, size_t *n, const char **key,
                            int *first)
{
    for (;;) {
        if (op->part > 1)
            return 0;
        struct piece_src state_src = {op->state, op->state_len};
        const struct piece_src *src = op->part == 0 ? op->env : &state_src;
        size_t nsrc = op->part == 0 ? 4 : 1;
        if (!(op->staged & (op->part == 0 ? STAGED_ENV : STAGED_STATE)) || op->seg == nsrc) {
            op->part++, op->seg = 0, op->off = 0, op->started = 0;
            continue;
        }
        if (op->off == src[op->seg].n) {
            op->seg++, op->off = 0;
            continue;
        }
        size_t left = src[op->seg].n - op->off;
        *p = src[op->seg].p + op->off;
        *n = left < STAGE_PIECE ? left : STAGE_PIECE;
        *key = op->kstage[op->part];
        *first = !op->started;
        op->off += *n;
        op->started = 1;
        return 1;
    }
}

static void on_piece(enum kc_redis_error err, const redisReply *reply, void *arg);

/* Moves the first queued store on: pieces up to the window, then (every reply in, none
 * refused) the store script. Returns 1 when that store is over (sent or given up, and freed),
 * 0 while it waits for replies. */
static int store_pump(struct store_op *op)
{
    struct kc_fleet *f = op->f;
    while (!op->failed && op->inflight < STAGE_WINDOW) {
        const char *p, *key;
        size_t n;
        int first;
        if (!store_next_piece(op, &p, &n, &key, &first))
            break;
        char keep_ms[24];
        snprintf(keep_ms, sizeof keep_ms, "%d", STAGE_KEEP_MS);
        const char *set[] = {"SET", key, p, "PX", keep_ms}, *append[] = {"APPEND", key, p};
        size_t set_lens[] = {3, strlen(key), n, 2, strlen(keep_ms)},
               append_lens[] = {6, strlen(key), n};
        if (!(first ? fleet_send(f, 5, set, set_lens, on_piece, op)
                    : fleet_send(f, 3, append, append_lens, on_piece, op)))
            op->failed = 1;
        else
            op->inflight++;
    }
    if (op->inflight > 0)
        return 0;
    if (!op->failed && op->part > 1 && store_send(op) != 0)
        op->failed = 1;
    if (op->failed) {
        f->stats.errors++;
        /* What was staged goes: now if Redis takes it, else with its TTL. */
        for (int i = 0; i < 2; i++)
            if (op->kstage[i]) {
                const char *del[] = {"DEL", op->kstage[i]};
                fleet_send(f, 2, del, NULL, on_stored, f);
            }
    }
    TAILQ_REMOVE(&f->stores, op, link);
    store_op_free(op);
    return 1;
}

static void stores_run(struct kc_fleet *f)
{
    struct store_op *op;
    while (!f->closing && (op = TAILQ_FIRST(&f->stores)) && store_pump(op))
        ;
}

static void on_piece(enum kc_redis_error err, const redisReply *reply, void *arg)
{
    struct store_op *op = arg;
    struct kc_fleet *f = op->f;
    op->inflight--;
    if (err != KC_REDIS_OK || reply->type == REDIS_REPLY_ERROR)
        op->failed = 1;
    if (f->closing) {
        if (op->inflight == 0) {
            TAILQ_REMOVE(&f->stores, op, link);
            store_op_free(op);
        }
    } else {
        stores_run(f);
    }
    fleet_cmd_done(f);
}

static int same_key_queued(const struct kc_fleet *f, const char *key)
{
    const struct store_op *op;
    TAILQ_FOREACH(op, &f->stores, link)
    {
        if (strcmp(op->key, key) == 0)
            return 1;
    }
    return 0;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *c = malloc(n + 1);
    if (c) {
        if (n)
            memcpy(c, p, n);
        c[n] = '\0';
    }
    return c;
}

int kc_fleet_store(struct kc_fleet *f, const char *key, struct kc_fleet_store *st)
{
    const struct kc_fleet_doc *d = st->doc;
    struct store_op *op = calloc(1, sizeof *op);
    if (!op) {
        free(st->state);
        st->state = NULL;
        if (st->release)
            st->release(st->keep);
        return -1;
    }
    op->f = f;
    op->release = st->release;
    op->keep = st->keep;
    op->state = st->state; /* taken */
    op->state_len = st->state ? st->state_len : 0;
    st->state = NULL;
    op->doc_px = st->doc_px;
    int ok = (op->key = strdup(key)) != NULL;
    if (ok && st->alerts_cluster)
        ok = (op->alerts_cluster = strdup(st->alerts_cluster)) &&
             (op->alert_state = dup_bytes(st->alert_state ? st->alert_state : "",
                                          st->alert_state_len));
    op->alert_state_len = st->alert_state_len;
    size_t hn = (size_t)envelope_head(d, op->head);
    op->env_len = hn + d->body_len + d->gz_len + d->alerts_len;
    if (ok && op->env_len > STAGE_PIECE) {
        /* Staged straight from the document's memory (kept until release): no copy here. */
        op->staged |= STAGED_ENV;
        ok = !d->alerts_len || (op->alerts = dup_bytes(d->alerts, d->alerts_len));
        op->env[0] = (struct piece_src){op->head, hn};
        op->env[1] = (struct piece_src){d->body, d->body_len};
        op->env[2] = (struct piece_src){(const char *)d->gz, d->gz_len};
        op->env[3] = (struct piece_src){op->alerts, d->alerts_len};
    } else if (ok) {
        ok = kc_fleet_doc_encode(d, &op->env_inline, &op->env_len) == 0;
        store_release(op);
    }
    if (ok && op->state_len > STAGE_PIECE)
        op->staged |= STAGED_STATE;
    for (int i = 0; ok && i < 2; i++)
        if (op->staged & (i ? STAGED_STATE : STAGED_ENV)) {
            char name[160];
            snprintf(name, sizeof name, "stage:%s:%lu:%c", f->owner, ++f->stage_seq, "es"[i]);
            ok = (op->kstage[i] = key_of(f, name, "")) != NULL;
        }
    if (!ok || !kc_redis_ready(f->redis)) {
        store_op_free(op);
        return -1;
    }
    if (!op->staged && !same_key_queued(f, key)) { /* the common case: one command now */
        int rc = store_send(op);
        store_op_free(op);
        return rc;
    }
    TAILQ_INSERT_TAIL(&f->stores, op, link);
    stores_run(f);
    return 0;
}

/* ---- history ---- */

int kc_fleet_history_add(struct kc_fleet *f, const char *key, const char *sample, size_t len,
                         size_t max_samples, int64_t keep_ms)
{
    char *k = key_of(f, "hist:", key);
    if (!k)
        return -1;
    char max[24], keep[24];
    snprintf(max, sizeof max, "%zu", max_samples);
    snprintf(keep, sizeof keep, "%" PRId64, keep_ms);
    const char *xadd[] = {"XADD", k, "MAXLEN", "~", max, "*", "s", sample};
    size_t xlens[] = {4, strlen(k), 6, 1, strlen(max), 1, 1, len};
    const char *expire[] = {"PEXPIRE", k, keep};
    int rc = fleet_send(f, 8, xadd, xlens, on_stored, f) &&
                     fleet_send(f, 3, expire, NULL, on_stored, f)
                 ? 0
                 : -1;
    free(k);
    return rc;
}

static void on_history(enum kc_redis_error err, const redisReply *reply, void *arg)
{
    struct kc_fleet_op *op = arg;
    size_t n = 0;
    const char **samples = NULL;
    size_t *lens = NULL;
    int ok = err == KC_REDIS_OK && reply->type == REDIS_REPLY_ARRAY;
    if (ok && reply->elements > 0) {
        samples = calloc(reply->elements, sizeof *samples);
        lens = calloc(reply->elements, sizeof *lens);
        ok = samples && lens;
        /* [[id, [field, value, …]], …], newest first (XREVRANGE): read back to front. */
        for (size_t i = reply->elements; ok && i-- > 0;) {
            const redisReply *e = reply->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            const redisReply *fields = e->element[1];
            for (size_t j = 0; j + 1 < fields->elements; j += 2)
                if (is_str(fields->element[j]) && strcmp(fields->element[j]->str, "s") == 0 &&
                    is_str(fields->element[j + 1])) {
                    samples[n] = fields->element[j + 1]->str;
                    lens[n++] = fields->element[j + 1]->len;
                }
        }
    }
    kc_fleet_history_fn done = op->history;
    void *ctx = op->ctx;
    free(op);
    done(ok, ok ? samples : NULL, ok ? lens : NULL, ok ? n : 0, ctx);
    free(samples);
    free(lens);
}

struct kc_fleet_op *kc_fleet_history_read(struct kc_fleet *f, const char *key, size_t max_samples,
                                           kc_fleet_history_fn done, void *ctx)
{
    struct kc_fleet_op *op = calloc(1, sizeof *op);
    char *k = key_of(f, "hist:", key);
    struct kc_redis_cmd *cmd = NULL;
    if (op && k) {
        op->f = f;
        op->history = done;
        op->ctx = ctx;
        char count[24];
        snprintf(count, sizeof count, "%zu", max_samples);
        /* The newest max_samples: MAXLEN ~ trims lazily, so the stream may hold a few more. */
        const char *argv[] = {"XREVRANGE", k, "+", "-", "COUNT", count};
        enum kc_redis_error why;
        cmd = op->cmd = kc_redis_command(f->redis, 6, argv, NULL, on_history, op, &why);
    }
    if (!cmd) {
        free(op);
        op = NULL;
    }
    free(k);
    return op;
}

/* ---- counters ---- */

void kc_fleet_stats(const struct kc_fleet *f, struct kc_fleet_stats *out)
{
    if (f)
        *out = f->stats;
    else
        memset(out, 0, sizeof *out);
}

void kc_fleet_count_fallback(struct kc_fleet *f)
{
    f->stats.local_fallbacks++;
}

void kc_fleet_count_applied(struct kc_fleet *f)
{
    f->stats.applied++;
}

void kc_fleet_count_expired_wait(struct kc_fleet *f)
{
    f->stats.lease_expired_waits++;
}
