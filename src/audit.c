/* audit.c — the audit trail: records built from the identity and the route (never a body,
 * query or token), a ring of the newest N, and in fleet mode a capped, expiring Redis stream. */
#include "kc/audit.h"

#include "kc/auth.h"
#include "kc/gateway.h"
#include "kc/log.h"
#include "kc/redis.h"
#include "kc/timefmt.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fleet's stream lives this long after its last record (every key has a TTL). */
#define STREAM_KEEP_MS (90LL * 24 * 3600 * 1000)
/* Connect's error messages can be long (stack traces in some versions): the trail keeps the
 * head, enough to tell what went wrong. */
#define ERROR_MAX 400

struct kc_audit {
    struct kc_redis *redis;
    json_t **ring; /* capacity slots; newest at (head - 1) */
    size_t capacity, count, head;
    struct kc_audit_stats stats;
};

struct kc_audit *kc_audit_new(size_t capacity, struct kc_redis *redis)
{
    struct kc_audit *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->capacity = capacity ? capacity : 1;
    a->ring = calloc(a->capacity, sizeof *a->ring);
    if (!a->ring) {
        free(a);
        return NULL;
    }
    a->redis = redis;
    return a;
}

void kc_audit_free(struct kc_audit *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->capacity; i++)
        json_decref(a->ring[i]);
    free(a->ring);
    free(a);
}

/* A JSON string of text that may not be UTF-8 (a connector name decoded from the URL): bytes
 * that are not become '?', so the record is never lost to an encoding error. */
static json_t *safe_string(const char *text)
{
    if (!text)
        return json_null();
    json_t *s = json_string(text);
    if (s)
        return s;
    char *copy = strdup(text);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    s = json_string(copy);
    free(copy);
    return s;
}

/* At most max bytes of text, cut at a character boundary, with an ellipsis. */
static json_t *cut_string(const char *text, size_t max)
{
    size_t n = strlen(text);
    if (n <= max)
        return safe_string(text);
    while (n > 0 && (n > max || ((unsigned char)text[n] & 0xC0) == 0x80))
        n--;
    char *copy = malloc(n + 4);
    if (!copy)
        return NULL;
    memcpy(copy, text, n);
    memcpy(copy + n, "\xe2\x80\xa6", 4); /* … */
    json_t *s = safe_string(copy);
    free(copy);
    return s;
}

json_t *kc_audit_begin(const struct kc_identity *id, const char *role, const char *peer,
                       const char *cluster, const char *method, const char *route,
                       const char *path, const char *connector)
{
    int64_t now = kc_wall_ms();
    char at[KC_TIMEFMT_RFC3339_SIZE];
    kc_timefmt_rfc3339_ms(now, at, sizeof at);
    json_t *groups = json_array();
    for (size_t i = 0; groups && i < id->group_count; i++)
        json_array_append_new(groups, safe_string(id->groups[i]));
    return json_pack("{s:s,s:s,s:I,s:o,s:s,s:s,s:o*,s:s,s:s,s:s,s:s,s:o,s:o}", "kind", "audit",
                     "at", at, "atMs", (json_int_t)now, "user", safe_string(id->user), "auth",
                     id->source, "role", role, "groups", groups, "peer", peer, "cluster",
                     cluster, "method", method, "route", route, "path", safe_string(path),
                     "connector", safe_string(connector));
}

void kc_audit_set_connector(json_t *rec, const char *connector)
{
    if (rec && connector)
        json_object_set_new(rec, "connector", safe_string(connector));
}

static void on_stream_reply(enum kc_redis_error err, const redisReply *reply, void *ctx)
{
    struct kc_audit *a = ctx;
    if (err != KC_REDIS_OK || (reply && reply->type == REDIS_REPLY_ERROR))
        a->stats.fleet_errors++;
}

static char *stream_key(const struct kc_audit *a)
{
    const char *p = kc_redis_prefix(a->redis);
    size_t n = strlen(p) + sizeof "audit";
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%saudit", p);
    return k;
}

static void fleet_add(struct kc_audit *a, const char *text)
{
    char *k = stream_key(a);
    if (!k) {
        a->stats.fleet_errors++;
        return;
    }
    char max[24], keep[24];
    snprintf(max, sizeof max, "%zu", a->capacity);
    snprintf(keep, sizeof keep, "%lld", (long long)STREAM_KEEP_MS);
    const char *xadd[] = {"XADD", k, "MAXLEN", "~", max, "*", "r", text};
    const char *expire[] = {"PEXPIRE", k, keep};
    enum kc_redis_error why;
    if (kc_redis_command(a->redis, 8, xadd, NULL, on_stream_reply, a, &why) &&
        kc_redis_command(a->redis, 3, expire, NULL, on_stream_reply, a, &why))
        a->stats.fleet_added++;
    else
        a->stats.fleet_errors++;
    free(k);
}

void kc_audit_end_take(struct kc_audit *a, json_t *rec, int status, const char *outcome,
                       const char *error)
{
    if (!rec)
        return;
    json_object_set_new(rec, "status", status ? json_integer(status) : json_null());
    json_object_set_new(rec, "outcome", json_string(outcome));
    json_object_set_new(rec, "error", error && *error ? cut_string(error, ERROR_MAX) : json_null());
    kc_log_always("audit", rec);
    if (!a) {
        json_decref(rec);
        return;
    }
    a->stats.records++;
    if (a->redis && kc_redis_ready(a->redis)) {
        char *text = json_dumps(rec, JSON_COMPACT);
        if (text)
            fleet_add(a, text);
        else
            a->stats.fleet_errors++;
        free(text);
    }
    json_decref(a->ring[a->head]);
    a->ring[a->head] = rec;
    a->head = (a->head + 1) % a->capacity;
    if (a->count < a->capacity)
        a->count++;
}

int kc_audit_matches(const json_t *rec, const struct kc_audit_query *q)
{
    if (!json_is_object(rec))
        return 0;
    if (q->since_ms > 0 && json_integer_value(json_object_get(rec, "atMs")) < q->since_ms)
        return 0;
    const char *user = json_string_value(json_object_get(rec, "user"));
    if (q->user && (!user || strcmp(user, q->user) != 0))
        return 0;
    const char *conn = json_string_value(json_object_get(rec, "connector"));
    if (q->connector && (!conn || strcmp(conn, q->connector) != 0))
        return 0;
    return 1;
}

void kc_audit_filter(const json_t *records, const struct kc_audit_query *q,
                     kc_audit_visible_fn visible, void *ctx, json_t *out)
{
    size_t i;
    const json_t *rec;
    json_array_foreach(records, i, rec)
    {
        if (json_array_size(out) >= q->limit)
            break;
        const char *cluster = json_string_value(json_object_get(rec, "cluster"));
        if (kc_audit_matches(rec, q) && (!visible || (cluster && visible(cluster, ctx))))
            json_array_append(out, (json_t *)(uintptr_t)rec);
    }
}

json_t *kc_audit_local(const struct kc_audit *a)
{
    json_t *out = json_array();
    for (size_t i = 0; out && i < a->count; i++) {
        size_t slot = (a->head + a->capacity - 1 - i) % a->capacity;
        json_array_append(out, a->ring[slot]);
    }
    return out;
}

/* ---- the fleet's stream ---- */

struct kc_audit_read {
    struct kc_redis_cmd *cmd;
    kc_audit_read_fn done;
    void *ctx;
};

static void on_stream_read(enum kc_redis_error err, const redisReply *reply, void *arg)
{
    struct kc_audit_read *r = arg;
    json_t *records = NULL;
    if (err == KC_REDIS_OK && reply->type == REDIS_REPLY_ARRAY && (records = json_array())) {
        /* [[id, [field, value, …]], …], newest first (XREVRANGE). */
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *e = reply->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            const redisReply *f = e->element[1];
            for (size_t j = 0; j + 1 < f->elements; j += 2) {
                if (f->element[j]->type != REDIS_REPLY_STRING ||
                    f->element[j + 1]->type != REDIS_REPLY_STRING ||
                    strcmp(f->element[j]->str, "r") != 0)
                    continue;
                json_t *rec = json_loadb(f->element[j + 1]->str, f->element[j + 1]->len, 0, NULL);
                if (json_is_object(rec))
                    json_array_append_new(records, rec);
                else
                    json_decref(rec);
            }
        }
    }
    kc_audit_read_fn done = r->done;
    void *ctx = r->ctx;
    free(r);
    done(records, ctx);
    json_decref(records);
}

struct kc_audit_read *kc_audit_fleet_read(struct kc_audit *a, kc_audit_read_fn done, void *ctx)
{
    if (!a || !a->redis || !kc_redis_ready(a->redis))
        return NULL;
    struct kc_audit_read *r = calloc(1, sizeof *r);
    char *k = stream_key(a);
    if (r && k) {
        r->done = done;
        r->ctx = ctx;
        char count[24];
        snprintf(count, sizeof count, "%zu", a->capacity);
        const char *argv[] = {"XREVRANGE", k, "+", "-", "COUNT", count};
        enum kc_redis_error why;
        r->cmd = kc_redis_command(a->redis, 6, argv, NULL, on_stream_read, r, &why);
    }
    free(k);
    if (r && !r->cmd) {
        free(r);
        r = NULL;
    }
    return r;
}

void kc_audit_read_cancel(struct kc_audit_read *r)
{
    if (!r)
        return;
    kc_redis_cancel(r->cmd);
    free(r);
}

void kc_audit_stats(const struct kc_audit *a, struct kc_audit_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    *out = a->stats;
    out->ring_size = a->count;
    out->capacity = a->capacity;
}
