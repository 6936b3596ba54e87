/* alerts.c — alert rules over what each collection computed per connector: pending, firing and
 * resolved states per (cluster, connector, rule), transitions queued for the caller. Pure. */
#include "kc/alerts.h"

#include "kc/connect_model.h"
#include "kc/metrics.h"
#include "kc/timefmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024
#define MESSAGE_MAX 128
#define KEY_SEP '\x1f'

/* What each kind means; the table is indexed by enum kc_alert_kind. */
static const struct kind_info {
    const char *name; /* as in the config file */
    const char *severity;
    int integer_value; /* counts are written as JSON integers */
} kinds[] = {
    [KC_ALERT_ERROR_RATE] = {"error_rate", "warning", 0},
    [KC_ALERT_TASK_FAILED] = {"task_failed", "critical", 1},
    [KC_ALERT_ZERO_THROUGHPUT] = {"zero_throughput", "warning", 0},
    [KC_ALERT_LAG] = {"lag", "warning", 0},
    [KC_ALERT_JOLOKIA_DOWN] = {"jolokia_unreachable", "warning", 1},
};
#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

enum phase { PHASE_IDLE = 0, PHASE_PENDING, PHASE_FIRING };

struct rule_state {
    enum phase phase;
    int64_t pending_since, firing_since;
    double value;
    char message[MESSAGE_MAX];
};

/* A connector with at least one pending or firing rule. */
struct tracked {
    struct tracked *next; /* hash chain */
    unsigned hash;
    char *cluster, *connector;
    int64_t observed_ms; /* the last kc_alerts_observe (kc_alerts_sweep_unobserved) */
    struct rule_state rs[]; /* one per rule */
};

struct resolved {
    char *cluster, *connector;
    size_t rule;
    int64_t since, resolved_at;
    double value;
    char message[MESSAGE_MAX];
};

struct kc_alerts {
    const struct kc_alert_rule *rules;
    size_t nrules;
    struct tracked *buckets[NBUCKETS];
    size_t tracked, max_tracked;
    struct resolved *res; /* ring, oldest at res_head */
    size_t res_head, res_count, max_resolved;
    int64_t keep_ms;
    json_t *events[KC_ALERTS_MAX_EVENTS]; /* ring, oldest at ev_head */
    size_t ev_head, ev_count;
    size_t dropped;
};

/* ---- helpers ---- */

const char *kc_alerts_kind_name(enum kc_alert_kind kind)
{
    return (size_t)kind < KIND_COUNT ? kinds[kind].name : "unknown";
}

static const struct kind_info *kind_of(const struct kc_alert_rule *r)
{
    static const struct kind_info unknown = {"unknown", "warning", 0};
    return (size_t)r->kind < KIND_COUNT ? &kinds[r->kind] : &unknown;
}

static unsigned hash_key(const char *cluster, const char *connector)
{
    unsigned h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)cluster; *p; p++)
        h = (h ^ *p) * 16777619u;
    h = (h ^ (unsigned char)KEY_SEP) * 16777619u;
    for (const unsigned char *p = (const unsigned char *)connector; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static json_t *time_json(int64_t ms)
{
    char buf[KC_TIMEFMT_RFC3339_SIZE];
    return kc_timefmt_rfc3339_ms(ms, buf, sizeof buf) ? json_string(buf) : json_null();
}

static json_t *value_json(const struct kc_alert_rule *r, double v)
{
    return kind_of(r)->integer_value ? json_integer((json_int_t)v) : json_real(v);
}

/* A warning that says one of the connector's agents gave nothing: the collector writes
 * "jolokia <worker>: <why>". "no metrics for task" comes from a healthy agent. */
static int is_agent_failure(const char *w)
{
    if (strcmp(w, "jolokia: unavailable") == 0)
        return 1;
    return strncmp(w, "jolokia ", 8) == 0 && !strstr(w, ": no metrics for task");
}

struct facts {
    size_t agent_failures;
    const char *first_failure;
};

static void gather(const struct kc_metrics_calc *c, struct facts *f)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < c->warning_count; i++) {
        if (!is_agent_failure(c->warnings[i]))
            continue;
        if (!f->agent_failures++)
            f->first_failure = c->warnings[i];
    }
}

static void failed_tasks_message(const struct kc_metrics_calc *c, char *msg, size_t len)
{
    int n = snprintf(msg, len, "%u of %u tasks FAILED:", c->counts.failed, c->counts.total);
    for (size_t i = 0; i < c->task_count && n > 0 && (size_t)n < len; i++) {
        const struct kc_task_status *t = c->tasks[i].status;
        if (t && t->state == KC_STATE_FAILED)
            n += snprintf(msg + n, len - (size_t)n, " %d", t->id);
    }
}

/* 1 = the rule's condition holds, 0 = it does not, -1 = unknown (keep the current state).
 * msg may be NULL when only the answer matters. */
static int evaluate(const struct kc_alert_rule *r, const struct kc_metrics_input *in,
                    const struct kc_metrics_calc *c, const struct facts *f, double *value,
                    char *msg, size_t len)
{
    int holds = 0;
    switch (r->kind) {
    case KC_ALERT_ERROR_RATE:
        if (f->agent_failures)
            return -1;
        *value = c->error_rate;
        holds = *value > r->threshold;
        if (msg)
            snprintf(msg, len, "error rate %.2f%% above %g%%", *value, r->threshold);
        break;
    case KC_ALERT_TASK_FAILED:
        *value = c->counts.failed;
        holds = *value > r->threshold;
        if (msg)
            failed_tasks_message(c, msg, len);
        break;
    case KC_ALERT_ZERO_THROUGHPUT:
        if (in->status->state != KC_STATE_RUNNING)
            return 0; /* paused or stopped on purpose: not an alert */
        if (f->agent_failures)
            return -1;
        *value = c->records_per_sec;
        holds = *value <= r->threshold;
        if (msg)
            snprintf(msg, len, "%.2f records/s while RUNNING", *value);
        break;
    case KC_ALERT_LAG:
        if (f->agent_failures)
            return -1;
        if (!c->has_lag)
            return 0;
        *value = c->lag_max;
        holds = *value > r->threshold;
        if (msg)
            snprintf(msg, len, "consumer lag %.0f records above %g", *value, r->threshold);
        break;
    case KC_ALERT_JOLOKIA_DOWN:
        *value = (double)f->agent_failures;
        holds = f->agent_failures > 0;
        if (msg)
            snprintf(msg, len, "%s", f->first_failure ? f->first_failure : "");
        break;
    default:
        return 0;
    }
    return holds;
}

/* ---- events ---- */

static void queue_event(struct kc_alerts *a, json_t *ev)
{
    if (!ev) {
        a->dropped++;
        return;
    }
    if (a->ev_count == KC_ALERTS_MAX_EVENTS) {
        json_decref(a->events[a->ev_head]); /* nobody drains: the oldest goes */
        a->ev_head = (a->ev_head + 1) % KC_ALERTS_MAX_EVENTS;
        a->ev_count--;
        a->dropped++;
    }
    a->events[(a->ev_head + a->ev_count) % KC_ALERTS_MAX_EVENTS] = ev;
    a->ev_count++;
}

static json_t *message_json(const char *msg);

/* message: cut at MESSAGE_MAX bytes, maybe inside a UTF-8 sequence (message_json keeps the
 * valid prefix); value: NaN or infinite has no JSON form (null). Either would otherwise make
 * json_pack fail and the alert or its event vanish. */
static json_t *alert_json(const struct kc_alert_rule *r, const char *connector, double value,
                          const char *message, int64_t since)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:f}", "rule", r->name ? r->name : "", "kind",
                     kind_of(r)->name, "connector", connector, "severity", kind_of(r)->severity,
                     "message", message_json(message), "since", time_json(since), "value",
                     isfinite(value) ? value_json(r, value) : json_null(), "threshold",
                     r->threshold);
}

static void emit(struct kc_alerts *a, const char *what, const char *cluster, const char *connector,
                 size_t rule, const struct rule_state *rs, int64_t now)
{
    json_t *ev = alert_json(&a->rules[rule], connector, rs->value, rs->message, rs->firing_since);
    if (ev) {
        json_object_set_new(ev, "event", json_string(what));
        json_object_set_new(ev, "cluster", json_string(cluster));
        json_object_set_new(ev, "at", time_json(now));
        if (strcmp(what, "resolve") == 0)
            json_object_set_new(ev, "resolvedAt", time_json(now));
    }
    queue_event(a, ev);
}

json_t *kc_alerts_take_event(struct kc_alerts *a)
{
    if (!a || a->ev_count == 0)
        return NULL;
    json_t *ev = a->events[a->ev_head];
    a->ev_head = (a->ev_head + 1) % KC_ALERTS_MAX_EVENTS;
    a->ev_count--;
    return ev;
}

/* ---- resolved list ---- */

static void resolved_clear(struct resolved *r)
{
    free(r->cluster);
    free(r->connector);
    memset(r, 0, sizeof *r);
}

static void resolved_drop_oldest(struct kc_alerts *a)
{
    resolved_clear(&a->res[a->res_head]);
    a->res_head = (a->res_head + 1) % a->max_resolved;
    a->res_count--;
}

static void remember_resolved(struct kc_alerts *a, const struct tracked *t, size_t rule,
                              int64_t now)
{
    if (a->max_resolved == 0)
        return;
    if (a->res_count == a->max_resolved)
        resolved_drop_oldest(a);
    struct resolved *r = &a->res[(a->res_head + a->res_count) % a->max_resolved];
    r->cluster = strdup(t->cluster);
    r->connector = strdup(t->connector);
    if (!r->cluster || !r->connector) {
        resolved_clear(r);
        a->dropped++;
        return;
    }
    r->rule = rule;
    r->since = t->rs[rule].firing_since;
    r->resolved_at = now;
    r->value = t->rs[rule].value;
    memcpy(r->message, t->rs[rule].message, sizeof r->message);
    a->res_count++;
}

static void prune_resolved(struct kc_alerts *a, int64_t now)
{
    while (a->res_count && now - a->res[a->res_head].resolved_at > a->keep_ms)
        resolved_drop_oldest(a);
}

/* ---- tracked connectors ---- */

static struct tracked **find_link(struct kc_alerts *a, const char *cluster, const char *connector,
                                  unsigned h)
{
    struct tracked **link = &a->buckets[h % NBUCKETS];
    for (; *link; link = &(*link)->next)
        if ((*link)->hash == h && strcmp((*link)->cluster, cluster) == 0 &&
            strcmp((*link)->connector, connector) == 0)
            return link;
    return link;
}

static void tracked_free(struct tracked *t)
{
    free(t->cluster);
    free(t->connector);
    free(t);
}

static struct tracked *tracked_new(const struct kc_alerts *a, const char *cluster,
                                   const char *connector, unsigned h)
{
    struct tracked *t = calloc(1, sizeof *t + a->nrules * sizeof t->rs[0]);
    if (!t)
        return NULL;
    t->cluster = strdup(cluster);
    t->connector = strdup(connector);
    if (!t->cluster || !t->connector) {
        tracked_free(t);
        return NULL;
    }
    t->hash = h;
    return t;
}

static struct tracked *track(struct kc_alerts *a, struct tracked **link, const char *cluster,
                             const char *connector, unsigned h)
{
    if (a->tracked >= a->max_tracked) {
        a->dropped++;
        return NULL;
    }
    struct tracked *t = tracked_new(a, cluster, connector, h);
    if (!t)
        return NULL;
    *link = t;
    a->tracked++;
    return t;
}

static void untrack(struct kc_alerts *a, struct tracked **link)
{
    struct tracked *t = *link;
    *link = t->next;
    tracked_free(t);
    a->tracked--;
}

/* Resolves every firing rule of t (the connector went away) and unlinks it. */
static void resolve_all_and_untrack(struct kc_alerts *a, struct tracked **link, int64_t now)
{
    struct tracked *t = *link;
    for (size_t i = 0; i < a->nrules; i++) {
        if (t->rs[i].phase != PHASE_FIRING)
            continue;
        snprintf(t->rs[i].message, sizeof t->rs[i].message, "%s", "the connector no longer exists");
        remember_resolved(a, t, i, now);
        emit(a, "resolve", t->cluster, t->connector, i, &t->rs[i], now);
    }
    untrack(a, link);
}

static int idle(const struct kc_alerts *a, const struct tracked *t)
{
    for (size_t i = 0; i < a->nrules; i++)
        if (t->rs[i].phase != PHASE_IDLE)
            return 0;
    return 1;
}

/* ---- public ---- */

struct kc_alerts *kc_alerts_new(const struct kc_alert_rule *rules, size_t n)
{
    struct kc_alerts *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->rules = rules;
    a->nrules = n;
    a->max_tracked = KC_ALERTS_MAX_TRACKED;
    a->max_resolved = KC_ALERTS_MAX_RESOLVED;
    a->keep_ms = KC_ALERTS_RESOLVED_KEEP_MS;
    a->res = calloc(a->max_resolved, sizeof *a->res);
    if (!a->res) {
        free(a);
        return NULL;
    }
    return a;
}

void kc_alerts_free(struct kc_alerts *a)
{
    if (!a)
        return;
    for (size_t b = 0; b < NBUCKETS; b++)
        while (a->buckets[b])
            untrack(a, &a->buckets[b]);
    while (a->res_count)
        resolved_drop_oldest(a);
    free(a->res);
    json_t *ev;
    while ((ev = kc_alerts_take_event(a)))
        json_decref(ev);
    free(a);
}

void kc_alerts_set_limits(struct kc_alerts *a, size_t max_tracked, size_t max_resolved,
                          int64_t resolved_keep_ms)
{
    struct resolved *res = calloc(max_resolved ? max_resolved : 1, sizeof *res);
    if (!res)
        return;
    while (a->res_count)
        resolved_drop_oldest(a); /* the ring changes size: start it afresh */
    free(a->res);
    a->res = res;
    a->res_head = 0;
    a->max_resolved = max_resolved;
    a->max_tracked = max_tracked;
    a->keep_ms = resolved_keep_ms;
}

void kc_alerts_observe(struct kc_alerts *a, const char *cluster, const struct kc_metrics_input *in,
                       const struct kc_metrics_calc *calc, int64_t now_ms)
{
    if (!a || a->nrules == 0 || !cluster || !in || !in->status || !in->status->name || !calc)
        return;
    const char *connector = in->status->name;
    struct facts f;
    gather(calc, &f);
    unsigned h = hash_key(cluster, connector);
    struct tracked **link = find_link(a, cluster, connector, h);
    struct tracked *t = *link;
    if (!t) {
        /* Most connectors are healthy: they take no memory until a condition holds. */
        int any = 0;
        for (size_t i = 0; i < a->nrules && !any; i++) {
            double v = 0;
            any = evaluate(&a->rules[i], in, calc, &f, &v, NULL, 0) == 1;
        }
        if (!any || !(t = track(a, link, cluster, connector, h)))
            return;
    }
    t->observed_ms = now_ms;
    for (size_t i = 0; i < a->nrules; i++) {
        const struct kc_alert_rule *r = &a->rules[i];
        struct rule_state *rs = &t->rs[i];
        double v = 0;
        char msg[MESSAGE_MAX] = "";
        int c = evaluate(r, in, calc, &f, &v, msg, sizeof msg);
        if (c < 0)
            continue;
        if (c == 0) {
            if (rs->phase == PHASE_FIRING) {
                remember_resolved(a, t, i, now_ms);
                emit(a, "resolve", cluster, connector, i, rs, now_ms);
            }
            rs->phase = PHASE_IDLE;
            continue;
        }
        if (rs->phase == PHASE_IDLE) {
            rs->phase = PHASE_PENDING;
            rs->pending_since = now_ms;
        }
        /* While firing, value and message follow the latest collection. */
        rs->value = v;
        memcpy(rs->message, msg, sizeof rs->message);
        if (rs->phase == PHASE_PENDING && now_ms - rs->pending_since >= r->for_ms) {
            rs->phase = PHASE_FIRING;
            rs->firing_since = now_ms;
            emit(a, "fire", cluster, connector, i, rs, now_ms);
        }
    }
    if (idle(a, t))
        untrack(a, link);
}

void kc_alerts_sweep_unobserved(struct kc_alerts *a, const char *cluster, int64_t since_ms,
                                int64_t now_ms)
{
    if (!a)
        return;
    for (size_t b = 0; b < NBUCKETS; b++) {
        struct tracked **link = &a->buckets[b];
        while (*link) {
            struct tracked *t = *link;
            if (t->observed_ms < since_ms && strcmp(t->cluster, cluster) == 0)
                resolve_all_and_untrack(a, link, now_ms);
            else
                link = &t->next;
        }
    }
}

void kc_alerts_forget(struct kc_alerts *a, const char *cluster, const char *connector,
                      int64_t now_ms)
{
    if (!a)
        return;
    struct tracked **link = find_link(a, cluster, connector, hash_key(cluster, connector));
    if (*link)
        resolve_all_and_untrack(a, link, now_ms);
}

struct active_ref {
    const struct tracked *t;
    size_t rule;
};

static int cmp_active(const void *x, const void *y)
{
    const struct active_ref *p = x, *q = y;
    int64_t ps = p->t->rs[p->rule].firing_since, qs = q->t->rs[q->rule].firing_since;
    if (ps != qs)
        return ps < qs ? -1 : 1;
    int c = strcmp(p->t->connector, q->t->connector);
    if (c)
        return c;
    return p->rule < q->rule ? -1 : p->rule > q->rule;
}

static json_t *active_json(struct kc_alerts *a, const char *cluster)
{
    size_t n = 0, cap = 0;
    struct active_ref *refs = NULL;
    for (size_t b = 0; b < NBUCKETS; b++)
        for (const struct tracked *t = a->buckets[b]; t; t = t->next) {
            if (strcmp(t->cluster, cluster) != 0)
                continue;
            for (size_t i = 0; i < a->nrules; i++) {
                if (t->rs[i].phase != PHASE_FIRING)
                    continue;
                if (n == cap) {
                    size_t ncap = cap ? cap * 2 : 16;
                    struct active_ref *nr = realloc(refs, ncap * sizeof *nr);
                    if (!nr) {
                        free(refs);
                        return NULL;
                    }
                    refs = nr;
                    cap = ncap;
                }
                refs[n++] = (struct active_ref){t, i};
            }
        }
    if (n > 1)
        qsort(refs, n, sizeof *refs, cmp_active);
    json_t *arr = json_array();
    for (size_t k = 0; arr && k < n; k++) {
        const struct rule_state *rs = &refs[k].t->rs[refs[k].rule];
        if (json_array_append_new(arr, alert_json(&a->rules[refs[k].rule], refs[k].t->connector,
                                                  rs->value, rs->message, rs->firing_since)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(refs);
    return arr;
}

static json_t *resolved_json(struct kc_alerts *a, const char *cluster)
{
    json_t *arr = json_array();
    for (size_t k = a->res_count; arr && k-- > 0;) {
        const struct resolved *r = &a->res[(a->res_head + k) % a->max_resolved];
        if (strcmp(r->cluster, cluster) != 0)
            continue;
        json_t *o = alert_json(&a->rules[r->rule], r->connector, r->value, r->message, r->since);
        if (o)
            json_object_set_new(o, "resolvedAt", time_json(r->resolved_at));
        if (json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

json_t *kc_alerts_json(struct kc_alerts *a, const char *cluster, int64_t now_ms)
{
    prune_resolved(a, now_ms);
    return json_pack("{s:s,s:I,s:o,s:o,s:I}", "cluster", cluster, "rules", (json_int_t)a->nrules,
                     "active", active_json(a, cluster), "resolved", resolved_json(a, cluster),
                     "dropped", (json_int_t)a->dropped);
}

/* ---- state export / import (fleet mode: the next lease holder continues) ---- */

#define STATE_VERSION 1

static const char *rule_name(const struct kc_alert_rule *r)
{
    return r->name ? r->name : "";
}

/* Messages are cut at MESSAGE_MAX bytes, possibly inside a UTF-8 sequence, which jansson
 * refuses: the longest valid prefix goes instead, so one message never fails an export. */
static json_t *message_json(const char *msg)
{
    json_t *s = NULL;
    for (size_t len = strlen(msg); !s && len > 0; len--)
        s = json_stringn(msg, len);
    return s ? s : json_string("");
}

/* JSON has no NaN or infinity (json_real refuses them). */
static double finite_or_zero(double v)
{
    return isfinite(v) ? v : 0;
}

static json_t *tracked_state_json(const struct kc_alerts *a, const struct tracked *t)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < a->nrules; i++) {
        const struct rule_state *rs = &t->rs[i];
        if (rs->phase == PHASE_IDLE)
            continue;
        int firing = rs->phase == PHASE_FIRING;
        json_t *e = json_pack("[I,s,I,f,o]", (json_int_t)i, firing ? "f" : "p",
                              (json_int_t)(firing ? rs->firing_since : rs->pending_since),
                              finite_or_zero(rs->value), message_json(rs->message));
        if (json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

json_t *kc_alerts_export(const struct kc_alerts *a, const char *cluster)
{
    if (!a || !cluster)
        return NULL;
    json_t *rules = json_array(), *tracked = json_object(), *resolved = json_array();
    json_t *doc = json_pack("{s:i,s:o,s:o,s:o}", "v", STATE_VERSION, "rules", rules, "tracked",
                            tracked, "resolved", resolved);
    if (!doc)
        return NULL; /* json_pack took the members, even on failure */
    for (size_t i = 0; i < a->nrules; i++)
        if (json_array_append_new(rules, json_string(rule_name(&a->rules[i]))) != 0)
            goto fail;
    for (size_t b = 0; b < NBUCKETS; b++)
        for (const struct tracked *t = a->buckets[b]; t; t = t->next)
            if (strcmp(t->cluster, cluster) == 0 &&
                json_object_set_new(tracked, t->connector, tracked_state_json(a, t)) != 0)
                goto fail;
    for (size_t k = 0; k < a->res_count; k++) {
        const struct resolved *r = &a->res[(a->res_head + k) % a->max_resolved];
        if (strcmp(r->cluster, cluster) != 0)
            continue;
        json_t *e = json_pack("[s,I,I,I,f,o]", r->connector, (json_int_t)r->rule,
                              (json_int_t)r->since, (json_int_t)r->resolved_at,
                              finite_or_zero(r->value), message_json(r->message));
        if (json_array_append_new(resolved, e) != 0)
            goto fail;
    }
    return doc;
fail:
    json_decref(doc);
    return NULL;
}

/* What an import builds before it touches the evaluator, so that -1 leaves it unchanged. */
struct import {
    const struct kc_alerts *a;
    const char *cluster;
    unsigned char *rule_ok;   /* [nrules]: the export's rule at that index has our name */
    struct tracked **buckets; /* [NBUCKETS]: the new tracked connectors of cluster */
    size_t ntracked, room, dropped;
    struct resolved *res; /* the new resolved ring, oldest first from 0 */
    size_t res_count;
};

/* jansson's unpack and object iteration take a json_t * but only read it. */
static json_t *readonly(const json_t *j)
{
    return (json_t *)(uintptr_t)j;
}

/* Times from the export stay within 0 … year 9999, so `now - since` cannot overflow. */
static int valid_time(json_int_t ms)
{
    return ms >= 0 && ms <= 253402300799999LL;
}

/* Counts are written as integers (value_json): a double past 2^53 would not convert. */
static int valid_value(double v)
{
    return fabs(v) <= 9007199254740992.0;
}

/* A rule index from the export, or -1 when it names no rule of ours. */
static long import_rule(const struct import *im, json_int_t idx)
{
    if (idx < 0 || (uint64_t)idx >= im->a->nrules || !im->rule_ok[idx])
        return -1;
    return (long)idx;
}

/* Fills rs (zeroed, one per rule) from one connector's list; unknown or malformed entries are
 * skipped. 1 when a rule is pending or firing. */
static int import_rule_states(const struct import *im, const json_t *list, struct rule_state *rs)
{
    int any = 0;
    size_t k;
    const json_t *e;
    json_array_foreach(list, k, e) {
        json_int_t idx, since;
        const char *phase, *msg;
        double value;
        if (json_unpack(readonly(e), "[I,s,I,F,s]", &idx, &phase, &since, &value, &msg) != 0)
            continue;
        long i = import_rule(im, idx);
        if (i < 0 || !valid_time(since) || !valid_value(value) ||
            (strcmp(phase, "p") != 0 && strcmp(phase, "f") != 0))
            continue;
        rs[i].phase = phase[0] == 'f' ? PHASE_FIRING : PHASE_PENDING;
        rs[i].pending_since = rs[i].firing_since = since;
        rs[i].value = value;
        snprintf(rs[i].message, sizeof rs[i].message, "%s", msg);
        any = 1;
    }
    return any;
}

static int import_tracked(struct import *im, const json_t *tracked)
{
    const struct kc_alerts *a = im->a;
    struct rule_state *rs = calloc(a->nrules ? a->nrules : 1, sizeof *rs);
    if (!rs)
        return -1;
    const char *connector;
    const json_t *list;
    json_object_foreach(readonly(tracked), connector, list) {
        if (!json_is_array(list))
            continue;
        memset(rs, 0, a->nrules * sizeof *rs);
        if (!import_rule_states(im, list, rs))
            continue;
        unsigned h = hash_key(im->cluster, connector);
        struct tracked **link = &im->buckets[h % NBUCKETS];
        for (; *link; link = &(*link)->next)
            if ((*link)->hash == h && strcmp((*link)->connector, connector) == 0)
                break;
        if (*link) /* a key with an embedded NUL can repeat another one */
            continue;
        if (im->ntracked >= im->room) {
            im->dropped++;
            continue;
        }
        struct tracked *t = tracked_new(a, im->cluster, connector, h);
        if (!t) {
            free(rs);
            return -1;
        }
        memcpy(t->rs, rs, a->nrules * sizeof *rs);
        *link = t;
        im->ntracked++;
    }
    free(rs);
    return 0;
}

static int cmp_resolved_at(const void *x, const void *y)
{
    const struct resolved *p = x, *q = y;
    return p->resolved_at < q->resolved_at ? -1 : p->resolved_at > q->resolved_at;
}

/* The new ring: the evaluator's resolved alerts of other clusters merged with the imported
 * ones by resolution time (pruning walks the ring oldest first), the newest max_resolved kept. */
static int import_resolved(struct import *im, const json_t *arr)
{
    const struct kc_alerts *a = im->a;
    if (a->max_resolved == 0)
        return 0;
    size_t n = json_array_size(arr), first = n > a->max_resolved ? n - a->max_resolved : 0;
    struct resolved *in = calloc(n - first ? n - first : 1, sizeof *in);
    im->res = calloc(a->max_resolved, sizeof *im->res);
    if (!in || !im->res) {
        free(in);
        return -1;
    }
    /* The export lists them oldest first: only the newest can be kept anyway. */
    size_t nin = 0;
    for (size_t k = first; k < n; k++) {
        json_int_t idx, since, at;
        const char *connector, *msg;
        double value;
        if (json_unpack(json_array_get(arr, k), "[s,I,I,I,F,s]", &connector, &idx, &since, &at,
                        &value, &msg) != 0 ||
            import_rule(im, idx) < 0 || !valid_time(since) || !valid_time(at) ||
            !valid_value(value))
            continue;
        struct resolved *r = &in[nin];
        r->cluster = strdup(im->cluster);
        r->connector = strdup(connector);
        if (!r->cluster || !r->connector) {
            resolved_clear(r);
            goto oom;
        }
        r->rule = (size_t)idx;
        r->since = since;
        r->resolved_at = at;
        r->value = value;
        snprintf(r->message, sizeof r->message, "%s", msg);
        nin++;
    }
    /* Insertion sort keeps equal times in export order (qsort is not stable); nin is small. */
    for (size_t i = 1; i < nin; i++)
        for (size_t j = i; j > 0 && cmp_resolved_at(&in[j - 1], &in[j]) > 0; j--) {
            struct resolved tmp = in[j];
            in[j] = in[j - 1];
            in[j - 1] = tmp;
        }
    /* Merge from the newest end; the entries of other clusters are copied (the old ring keeps
     * them until the import commits). */
    size_t old = a->res_count, keep = a->max_resolved, w = keep;
    size_t i = nin;
    while (w > 0 && (i > 0 || old > 0)) {
        const struct resolved *o = NULL;
        while (old > 0) {
            o = &a->res[(a->res_head + old - 1) % a->max_resolved];
            if (strcmp(o->cluster, im->cluster) != 0)
                break;
            o = NULL;
            old--;
        }
        if (!o && i == 0)
            break;
        struct resolved *dst = &im->res[--w];
        if (o && (i == 0 || o->resolved_at > in[i - 1].resolved_at)) {
            *dst = *o;
            dst->cluster = strdup(o->cluster);
            dst->connector = strdup(o->connector);
            old--;
            if (!dst->cluster || !dst->connector)
                goto oom;
        } else {
            *dst = in[--i];
            memset(&in[i], 0, sizeof in[i]);
        }
    }
    /* Slide the kept entries to the front: the ring starts at 0. */
    im->res_count = keep - w;
    memmove(im->res, im->res + w, im->res_count * sizeof *im->res);
    memset(im->res + im->res_count, 0, w * sizeof *im->res);
    for (size_t k = 0; k < nin; k++)
        resolved_clear(&in[k]); /* imported ones older than every kept one */
    free(in);
    return 0;
oom:
    for (size_t k = 0; k < nin; k++)
        resolved_clear(&in[k]);
    free(in);
    for (size_t k = 0; k < a->max_resolved; k++)
        resolved_clear(&im->res[k]);
    free(im->res);
    im->res = NULL;
    return -1;
}

static void import_free(struct import *im)
{
    if (im->buckets)
        for (size_t b = 0; b < NBUCKETS; b++)
            while (im->buckets[b]) {
                struct tracked *t = im->buckets[b];
                im->buckets[b] = t->next;
                tracked_free(t);
            }
    free(im->buckets);
    if (im->res)
        for (size_t k = 0; k < im->res_count; k++)
            resolved_clear(&im->res[k]);
    free(im->res);
    free(im->rule_ok);
}

int kc_alerts_import(struct kc_alerts *a, const char *cluster, const json_t *state)
{
    json_t *v = json_object_get(state, "v"), *rules = json_object_get(state, "rules");
    json_t *tracked = json_object_get(state, "tracked");
    json_t *resolved = json_object_get(state, "resolved");
    if (!a || !cluster || !json_is_integer(v) || json_integer_value(v) != STATE_VERSION ||
        !json_is_array(rules) || !json_is_object(tracked) || !json_is_array(resolved))
        return -1;

    size_t old_tracked = 0;
    for (size_t b = 0; b < NBUCKETS; b++)
        for (const struct tracked *t = a->buckets[b]; t; t = t->next)
            old_tracked += strcmp(t->cluster, cluster) == 0;
    size_t others = a->tracked - old_tracked;
    struct import im = {
        .a = a,
        .cluster = cluster,
        .rule_ok = calloc(a->nrules ? a->nrules : 1, 1),
        .buckets = calloc(NBUCKETS, sizeof *im.buckets),
        .room = a->max_tracked > others ? a->max_tracked - others : 0,
    };
    if (!im.rule_ok || !im.buckets)
        goto fail;
    for (size_t i = 0; i < a->nrules && i < json_array_size(rules); i++) {
        const char *name = json_string_value(json_array_get(rules, i));
        im.rule_ok[i] = name && strcmp(name, rule_name(&a->rules[i])) == 0;
    }
    if (import_tracked(&im, tracked) != 0 || import_resolved(&im, resolved) != 0)
        goto fail;

    /* Commit: nothing below allocates. */
    for (size_t b = 0; b < NBUCKETS; b++) {
        struct tracked **link = &a->buckets[b];
        while (*link)
            if (strcmp((*link)->cluster, cluster) == 0)
                untrack(a, link);
            else
                link = &(*link)->next;
        *link = im.buckets[b]; /* link is the chain's end */
        im.buckets[b] = NULL;
    }
    a->tracked += im.ntracked;
    a->dropped += im.dropped;
    if (a->max_resolved) {
        while (a->res_count)
            resolved_drop_oldest(a);
        free(a->res);
        a->res = im.res;
        a->res_head = 0;
        a->res_count = im.res_count;
        im.res = NULL;
    }
    import_free(&im);
    return 0;
fail:
    import_free(&im);
    return -1;
}

size_t kc_alerts_tracked(const struct kc_alerts *a)
{
    return a ? a->tracked : 0;
}

size_t kc_alerts_resolved_count(const struct kc_alerts *a)
{
    return a ? a->res_count : 0;
}

size_t kc_alerts_dropped(const struct kc_alerts *a)
{
    return a ? a->dropped : 0;
}
