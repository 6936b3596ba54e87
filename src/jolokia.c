/* jolokia.c — bulk read bodies for one worker's agent and the parse of their answers.
 * Answers are matched by position, beans by parsed ObjectName keys, tasks via a hash map. */
#include "kc/jolokia.h"
#include "kc/connect_model.h"
#include "kc/jsplit.h"
#include "kc/objectname.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- worker id → agent URL ---------------------------------------------------------- */

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = (*len + n + 1) * 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

char *kc_jolokia_url_for_worker(const char *tmpl, const char *worker_id)
{
    if (!tmpl || !worker_id || !*worker_id)
        return NULL;
    const char *colon = strrchr(worker_id, ':');
    size_t host_len = colon ? (size_t)(colon - worker_id) : strlen(worker_id);
    const char *port = colon ? colon + 1 : "";
    /* A bracketed IPv6 literal without a port ("[fd00::5]") has its last ':' inside. */
    if (colon && worker_id[0] == '[' && strchr(colon, ']')) {
        host_len = strlen(worker_id);
        port = "";
    } else if (colon && worker_id[0] != '[' && memchr(worker_id, ':', host_len)) {
        /* Unbracketed IPv6 without port: cannot be split reliably. */
        return NULL;
    }
    if (host_len == 0)
        return NULL;
    for (size_t i = 0; i < host_len; i++)
        if (strchr("/?#@ \t\r\n", worker_id[i]))
            return NULL;
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return NULL;

    char *out = NULL;
    size_t len = 0, cap = 0;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{host}", 6) == 0) {
            if (append(&out, &len, &cap, worker_id, host_len) < 0)
                goto fail;
            p += 6;
        } else if (strncmp(p, "{port}", 6) == 0) {
            if (!*port || append(&out, &len, &cap, port, strlen(port)) < 0)
                goto fail;
            p += 6;
        } else {
            const char *next = strchr(p, '{');
            size_t n = next ? (size_t)(next - p) : strlen(p);
            if (n == 0)
                n = 1; /* a '{' that starts no placeholder is literal */
            if (append(&out, &len, &cap, p, n) < 0)
                goto fail;
            p += n;
        }
    }
    /* The agent's endpoint is the folder "/jolokia/": the 1.x JVM agent (JDK HttpServer)
     * answers 404 to a POST on "/jolokia" without the slash (the 2.x one takes both). */
    if (!out || (out[len - 1] != '/' && !strchr(out, '?')))
        if (append(&out, &len, &cap, "/", 1) < 0)
            goto fail;
    return out;
fail:
    free(out);
    return NULL;
}

/* ---- request plan and body ------------------------------------------------------------ */

struct elem_def {
    const char *what; /* for warnings */
    int pattern;      /* a pattern read: 404 means "no such bean here", not an error */
    /* Its attributes may be NaN or ±Infinity (a Max stat with no samples, CPU load the JVM
     * cannot tell). Jolokia 2.0–2.4 cannot write those and fails the whole element with 400
     * java.lang.NumberFormatException (jolokia#934; 2.5+ and 1.x write null): for such an
     * element that answer means "no value", like null. They are read apart from the
     * counters, so a NaN never takes a total with it. */
    int may_be_nan;
    const char *attrs[5];
};

static const struct elem_def elem_defs[] = {
    [KC_JE_CONNECTOR_TASK] = {"connector-task-metrics", 1, 0, {"status"}},
    [KC_JE_SOURCE_TASK] = {"source-task-metrics", 1, 0,
                           {"source-record-write-total", "source-record-poll-total",
                            "source-record-write-rate", "source-record-poll-rate"}},
    [KC_JE_SINK_TASK] = {"sink-task-metrics", 1, 0,
                         {"sink-record-send-total", "sink-record-read-total",
                          "sink-record-send-rate"}},
    [KC_JE_TASK_ERROR] = {"task-error-metrics", 1, 0,
                          {"total-record-errors", "total-errors-logged", "total-record-failures"}},
    [KC_JE_PRODUCER_TOPIC] = {"producer-topic-metrics", 1, 0, {"byte-total", "byte-rate"}},
    [KC_JE_CONSUMER_FETCH] = {"consumer-fetch-manager-metrics", 1, 0,
                              {"bytes-consumed-total", "bytes-consumed-rate"}},
    /* NaN until the consumer has fetched (a task just started or moved by a rebalance). */
    [KC_JE_CONSUMER_LAG] = {"consumer-fetch-manager-metrics", 1, 1, {"records-lag-max"}},
    [KC_JE_MEMORY] = {"java.lang Memory", 0, 0, {"HeapMemoryUsage"}},
    [KC_JE_THREADING] = {"java.lang Threading", 0, 0, {"ThreadCount"}},
    [KC_JE_OS] = {"java.lang OperatingSystem", 0, 1, {"ProcessCpuLoad", "SystemCpuLoad"}},
};

/* Elements read from a task's producer or consumer (client-id beans), not Connect's own. */
static int is_client_elem(enum kc_jolokia_elem e)
{
    return e == KC_JE_PRODUCER_TOPIC || e == KC_JE_CONSUMER_FETCH || e == KC_JE_CONSUMER_LAG;
}

#define PRODUCER_PREFIX "connector-producer-"
#define CONSUMER_PREFIX "connector-consumer-"

unsigned kc_jolokia_what_for_type(int connector_type)
{
    switch (connector_type) {
    case KC_TYPE_SOURCE: return KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE;
    case KC_TYPE_SINK: return KC_JOLOKIA_TASKS | KC_JOLOKIA_SINK;
    default: return KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_SINK;
    }
}

int kc_jolokia_plan_init(struct kc_jolokia_plan *plan, const char *connector, unsigned what)
{
    memset(plan, 0, sizeof *plan);
    if (!(what & (KC_JOLOKIA_TASKS | KC_JOLOKIA_SOURCE | KC_JOLOKIA_SINK | KC_JOLOKIA_JVM)))
        return -1;
    if (connector && !(plan->connector = strdup(connector)))
        return -1;
    plan->what = what;
    if (what & KC_JOLOKIA_TASKS)
        plan->elems[plan->count++] = KC_JE_CONNECTOR_TASK;
    if (what & KC_JOLOKIA_SOURCE)
        plan->elems[plan->count++] = KC_JE_SOURCE_TASK;
    if (what & KC_JOLOKIA_SINK)
        plan->elems[plan->count++] = KC_JE_SINK_TASK;
    if (what & KC_JOLOKIA_TASKS)
        plan->elems[plan->count++] = KC_JE_TASK_ERROR;
    if (what & KC_JOLOKIA_SOURCE)
        plan->elems[plan->count++] = KC_JE_PRODUCER_TOPIC;
    if (what & KC_JOLOKIA_SINK) {
        plan->elems[plan->count++] = KC_JE_CONSUMER_FETCH;
        plan->elems[plan->count++] = KC_JE_CONSUMER_LAG;
    }
    if (what & KC_JOLOKIA_JVM) {
        plan->elems[plan->count++] = KC_JE_MEMORY;
        plan->elems[plan->count++] = KC_JE_THREADING;
        plan->elems[plan->count++] = KC_JE_OS;
    }
    return 0;
}

void kc_jolokia_plan_clear(struct kc_jolokia_plan *plan)
{
    if (!plan)
        return;
    free(plan->connector);
    memset(plan, 0, sizeof *plan);
}

/* The mbean pattern of element e; new memory. */
static char *elem_mbean(const struct kc_jolokia_plan *plan, enum kc_jolokia_elem e)
{
    char *q = NULL, *out = NULL;
    const char *conn = "*";
    if (plan->connector) {
        const char *prefix = e == KC_JE_PRODUCER_TOPIC ? PRODUCER_PREFIX : CONSUMER_PREFIX;
        if (is_client_elem(e)) {
            size_t n = strlen(prefix) + strlen(plan->connector) + 2;
            char *lit = malloc(n);
            if (!lit)
                return NULL;
            snprintf(lit, n, "%s%s-", prefix, plan->connector);
            q = kc_objectname_quote_pattern(lit, "*");
            free(lit);
        } else {
            q = kc_objectname_quote_value(plan->connector);
        }
        if (!q)
            return NULL;
        conn = q;
    }
    int rc = -1;
    switch (e) {
    case KC_JE_CONNECTOR_TASK:
    case KC_JE_SOURCE_TASK:
    case KC_JE_SINK_TASK:
    case KC_JE_TASK_ERROR:
        rc = asprintf(&out, "kafka.connect:type=%s,connector=%s,task=*", elem_defs[e].what, conn);
        break;
    case KC_JE_PRODUCER_TOPIC:
        rc = asprintf(&out, "kafka.producer:type=producer-topic-metrics,client-id=%s,topic=*",
                      conn);
        break;
    case KC_JE_CONSUMER_FETCH:
    case KC_JE_CONSUMER_LAG:
        rc = asprintf(&out, "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=%s",
                      conn);
        break;
    case KC_JE_MEMORY: rc = asprintf(&out, "java.lang:type=Memory"); break;
    case KC_JE_THREADING: rc = asprintf(&out, "java.lang:type=Threading"); break;
    case KC_JE_OS: rc = asprintf(&out, "java.lang:type=OperatingSystem"); break;
    }
    free(q);
    return rc < 0 ? NULL : out;
}

char *kc_jolokia_plan_body(const struct kc_jolokia_plan *plan, size_t *len)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < plan->count; i++) {
        enum kc_jolokia_elem e = plan->elems[i];
        char *mbean = elem_mbean(plan, e);
        json_t *attrs = json_array();
        json_t *m = mbean ? json_string(mbean) : NULL;
        free(mbean);
        if (!attrs || !m) {
            json_decref(attrs);
            json_decref(m);
            goto fail;
        }
        for (size_t a = 0; a < 5 && elem_defs[e].attrs[a]; a++)
            if (json_array_append_new(attrs, json_string(elem_defs[e].attrs[a])) < 0) {
                json_decref(attrs);
                json_decref(m);
                goto fail;
            }
        json_t *rq = json_pack("{s:s,s:o,s:o}", "type", "read", "mbean", m, "attribute", attrs);
        if (!rq || json_array_append_new(arr, rq) < 0)
            goto fail;
    }
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (s && len)
        *len = strlen(s);
    return s;
fail:
    json_decref(arr);
    return NULL;
}

/* ---- hashing ---------------------------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#define FNV_OFFSET 14695981039346656037ULL

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* ---- name set --------------------------------------------------------------------------- */

struct kc_jolokia_names {
    size_t mask;
    const char **slots;
};

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

struct kc_jolokia_names *kc_jolokia_names_sized(size_t count)
{
    struct kc_jolokia_names *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    size_t cap = pow2_at_least(count * 2 + 1);
    s->slots = calloc(cap, sizeof *s->slots);
    if (!s->slots) {
        free(s);
        return NULL;
    }
    s->mask = cap - 1;
    return s;
}

void kc_jolokia_names_add(struct kc_jolokia_names *s, const char *name)
{
    size_t h = (size_t)mix(hash_bytes(name, strlen(name), FNV_OFFSET)) & s->mask;
    while (s->slots[h] && strcmp(s->slots[h], name) != 0)
        h = (h + 1) & s->mask;
    s->slots[h] = name;
}

struct kc_jolokia_names *kc_jolokia_names_new(const char *const *names, size_t count)
{
    struct kc_jolokia_names *s = kc_jolokia_names_sized(count);
    for (size_t i = 0; s && i < count; i++)
        if (names[i])
            kc_jolokia_names_add(s, names[i]);
    return s;
}

void kc_jolokia_names_free(struct kc_jolokia_names *set)
{
    if (!set)
        return;
    free(set->slots);
    free(set);
}

static int names_contains_n(const struct kc_jolokia_names *set, const char *name, size_t n)
{
    size_t h = (size_t)mix(hash_bytes(name, n, FNV_OFFSET)) & set->mask;
    for (const char *e; (e = set->slots[h]); h = (h + 1) & set->mask)
        if (strncmp(e, name, n) == 0 && e[n] == '\0')
            return 1;
    return 0;
}

int kc_jolokia_names_contains(const struct kc_jolokia_names *set, const char *name)
{
    return set && name && names_contains_n(set, name, strlen(name));
}

/* ---- result ----------------------------------------------------------------------------- */

struct kc_jmx_result {
    struct kc_jmx_task *tasks;
    size_t count, cap;
    uint32_t *slots; /* index + 1 into tasks; 0 = empty */
    size_t mask;
    struct kc_jmx_jvm jvm;
    char **warnings;
    size_t warning_count, warning_cap;
};

struct kc_jmx_result *kc_jolokia_result_new(void)
{
    return calloc(1, sizeof(struct kc_jmx_result));
}

void kc_jolokia_result_free(struct kc_jmx_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        free((void *)(uintptr_t)r->tasks[i].connector);
    free(r->tasks);
    free(r->slots);
    for (size_t i = 0; i < r->warning_count; i++)
        free(r->warnings[i]);
    free(r->warnings);
    free(r);
}

static uint64_t task_hash(const char *name, size_t n, int task)
{
    uint64_t h = hash_bytes(name, n, FNV_OFFSET);
    return mix(h ^ ((uint64_t)(unsigned)task * 0x9E3779B97F4A7C15ULL));
}

static struct kc_jmx_task *find_task_n(const struct kc_jmx_result *r, const char *name, size_t n,
                                       int task, size_t *slot_out)
{
    if (!r->slots) {
        if (slot_out)
            *slot_out = 0;
        return NULL;
    }
    size_t h = (size_t)task_hash(name, n, task) & r->mask;
    for (uint32_t v; (v = r->slots[h]); h = (h + 1) & r->mask) {
        struct kc_jmx_task *t = &r->tasks[v - 1];
        if (t->task == task && strncmp(t->connector, name, n) == 0 && t->connector[n] == '\0')
            return t;
    }
    if (slot_out)
        *slot_out = h;
    return NULL;
}

static int grow_index(struct kc_jmx_result *r)
{
    size_t cap = r->slots ? (r->mask + 1) * 2 : 64;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    free(r->slots);
    r->slots = slots;
    r->mask = cap - 1;
    for (size_t i = 0; i < r->count; i++) {
        const struct kc_jmx_task *t = &r->tasks[i];
        size_t h = (size_t)task_hash(t->connector, strlen(t->connector), t->task) & r->mask;
        while (r->slots[h])
            h = (h + 1) & r->mask;
        r->slots[h] = (uint32_t)(i + 1);
    }
    return 0;
}

/* The entry for (name[0..n), task), created empty when new; NULL on allocation failure. */
static struct kc_jmx_task *get_task(struct kc_jmx_result *r, const char *name, size_t n, int task)
{
    size_t slot;
    struct kc_jmx_task *t = find_task_n(r, name, n, task, &slot);
    if (t)
        return t;
    if (!r->slots || (r->count + 1) * 10 > (r->mask + 1) * 7) {
        if (r->count >= UINT32_MAX - 1 || grow_index(r) < 0)
            return NULL;
        find_task_n(r, name, n, task, &slot);
    }
    if (r->count == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        struct kc_jmx_task *nt = realloc(r->tasks, ncap * sizeof *nt);
        if (!nt)
            return NULL;
        r->tasks = nt;
        r->cap = ncap;
    }
    char *copy = strndup(name, n);
    if (!copy)
        return NULL;
    t = &r->tasks[r->count];
    memset(t, 0, sizeof *t);
    t->connector = copy;
    t->task = task;
    r->slots[slot] = (uint32_t)(++r->count);
    return t;
}

const struct kc_jmx_task *kc_jolokia_result_task(const struct kc_jmx_result *r,
                                                 const char *connector, int task)
{
    if (!r || !connector)
        return NULL;
    return find_task_n(r, connector, strlen(connector), task, NULL);
}

size_t kc_jolokia_result_task_count(const struct kc_jmx_result *r)
{
    return r ? r->count : 0;
}

const struct kc_jmx_task *kc_jolokia_result_task_at(const struct kc_jmx_result *r, size_t i)
{
    return r && i < r->count ? &r->tasks[i] : NULL;
}

const struct kc_jmx_jvm *kc_jolokia_result_jvm(const struct kc_jmx_result *r)
{
    return r ? &r->jvm : NULL;
}

size_t kc_jolokia_result_warning_count(const struct kc_jmx_result *r)
{
    return r ? r->warning_count : 0;
}

const char *kc_jolokia_result_warning(const struct kc_jmx_result *r, size_t i)
{
    return r && i < r->warning_count ? r->warnings[i] : NULL;
}

int kc_jolokia_result_add_warning(struct kc_jmx_result *r, const char *text)
{
    if (r->warning_count == r->warning_cap) {
        size_t ncap = r->warning_cap ? r->warning_cap * 2 : 4;
        char **nw = realloc(r->warnings, ncap * sizeof *nw);
        if (!nw)
            return -1;
        r->warnings = nw;
        r->warning_cap = ncap;
    }
    char *c = strdup(text);
    if (!c)
        return -1;
    r->warnings[r->warning_count++] = c;
    return 0;
}

__attribute__((format(printf, 3, 4)))
static int warnf(struct kc_jmx_result *r, const char *label, const char *fmt, ...)
{
    char detail[384], msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s: %s", label ? label : "jolokia", detail);
    return kc_jolokia_result_add_warning(r, msg);
}

/* ---- parse -------------------------------------------------------------------------------- */

/* A JSON number (int or real; `1.2843117E7` parses as real) → *out. null (JMX NaN/Infinity),
 * strings (ignoreErrors markers) and absence → 0, leaving *out alone. */
static int get_num(const json_t *obj, const char *key, double *out)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return 1;
}

/* Task id: unquoted decimal digits only (task="0" is a different bean), at most 9 of them. */
static int parse_task_id(const char *s, size_t n, int quoted, int *out)
{
    if (quoted || n == 0 || n > 9)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Splits "<prefix><connector>-<digits>" and checks the connector is the one asked for (or a
 * known one): a pattern on "orders-src-" also returns "orders-src-2-0", which belongs to
 * connector "orders-src-2". Since digits hold no '-', the split at the last '-' is the only
 * candidate; the known-name check is what rejects foreign and non-Connect clients. */
static int resolve_client(const struct kc_jolokia_plan *plan, const struct kc_jolokia_names *known,
                          const char *client_id, const char *prefix, const char **name,
                          size_t *name_len, int *task)
{
    size_t pl = strlen(prefix);
    if (strncmp(client_id, prefix, pl) != 0)
        return -1;
    const char *rest = client_id + pl;
    const char *dash = strrchr(rest, '-');
    if (!dash || dash == rest)
        return -1;
    if (parse_task_id(dash + 1, strlen(dash + 1), 0, task) < 0)
        return -1;
    size_t n = (size_t)(dash - rest);
    if (plan->connector) {
        if (strlen(plan->connector) != n || memcmp(plan->connector, rest, n) != 0)
            return -1;
    } else if (known && !names_contains_n(known, rest, n)) {
        return -1;
    }
    *name = rest;
    *name_len = n;
    return 0;
}

static int on_task_bean(const struct kc_jolokia_plan *plan, enum kc_jolokia_elem e,
                        const struct kc_objectname *on, const json_t *attrs,
                        struct kc_jmx_result *out)
{
    int quoted = 0;
    const char *conn = kc_objectname_get(on, "connector", NULL);
    const char *task_s = kc_objectname_get(on, "task", &quoted);
    int task;
    if (!conn || !task_s || parse_task_id(task_s, strlen(task_s), quoted, &task) < 0)
        return 0;
    if (plan->connector && strcmp(conn, plan->connector) != 0)
        return 0; /* the pattern is exact, but never trust a prefix match */
    struct kc_jmx_task *t = get_task(out, conn, strlen(conn), task);
    if (!t)
        return -1;
    double v;
    switch (e) {
    case KC_JE_CONNECTOR_TASK: {
        const char *st = json_string_value(json_object_get(attrs, "status"));
        if (st) {
            snprintf(t->status, sizeof t->status, "%s", st);
            t->has |= KC_JT_STATUS;
        }
        break;
    }
    case KC_JE_SOURCE_TASK:
    case KC_JE_SINK_TASK: {
        int src = e == KC_JE_SOURCE_TASK;
        if (get_num(attrs, src ? "source-record-write-total" : "sink-record-send-total", &v)) {
            t->records_total = v;
            t->has |= KC_JT_RECORDS;
        }
        if (get_num(attrs, src ? "source-record-poll-total" : "sink-record-read-total", &v)) {
            t->taken_total = v;
            t->has |= KC_JT_TAKEN;
        }
        if (get_num(attrs, src ? "source-record-write-rate" : "sink-record-send-rate", &v)) {
            t->records_rate = v;
            t->has |= KC_JT_RECORDS_RATE;
        }
        break;
    }
    case KC_JE_TASK_ERROR:
        if (get_num(attrs, "total-record-errors", &v)) {
            t->errors_total = v;
            t->has |= KC_JT_ERRORS;
        }
        if (get_num(attrs, "total-errors-logged", &v)) {
            t->errors_logged = v;
            t->has |= KC_JT_ERRORS_LOGGED;
        }
        if (get_num(attrs, "total-record-failures", &v)) {
            t->record_failures = v;
            t->has |= KC_JT_RECORD_FAILURES;
        }
        break;
    default:
        break;
    }
    return 0;
}

static int on_client_bean(const struct kc_jolokia_plan *plan, const struct kc_jolokia_names *known,
                          enum kc_jolokia_elem e, const struct kc_objectname *on,
                          const json_t *attrs, struct kc_jmx_result *out)
{
    const char *cid = kc_objectname_get(on, "client-id", NULL);
    if (!cid)
        return 0;
    int producer = e == KC_JE_PRODUCER_TOPIC;
    /* Producer bytes are per topic (summed); consumer figures are the client-level bean's. */
    if (producer != (kc_objectname_get(on, "topic", NULL) != NULL) ||
        kc_objectname_get(on, "partition", NULL))
        return 0;
    const char *name;
    size_t n;
    int task;
    if (resolve_client(plan, known, cid, producer ? PRODUCER_PREFIX : CONSUMER_PREFIX, &name, &n,
                       &task) < 0)
        return 0;
    struct kc_jmx_task *t = get_task(out, name, n, task);
    if (!t)
        return -1;
    double v;
    if (producer) {
        if (get_num(attrs, "byte-total", &v)) {
            t->bytes_total = (t->has & KC_JT_BYTES) ? t->bytes_total + v : v;
            t->has |= KC_JT_BYTES;
        }
        if (get_num(attrs, "byte-rate", &v)) {
            t->bytes_rate = (t->has & KC_JT_BYTES_RATE) ? t->bytes_rate + v : v;
            t->has |= KC_JT_BYTES_RATE;
        }
    } else {
        if (get_num(attrs, "bytes-consumed-total", &v)) {
            t->bytes_total = v;
            t->has |= KC_JT_BYTES;
        }
        if (get_num(attrs, "bytes-consumed-rate", &v)) {
            t->bytes_rate = v;
            t->has |= KC_JT_BYTES_RATE;
        }
        if (get_num(attrs, "records-lag-max", &v)) {
            t->lag_max = v;
            t->has |= KC_JT_LAG;
        }
    }
    return 0;
}

static const char *expected_type(enum kc_jolokia_elem e)
{
    return elem_defs[e].what;
}

static int on_pattern_value(const struct kc_jolokia_plan *plan,
                            const struct kc_jolokia_names *known, enum kc_jolokia_elem e,
                            json_t *value, struct kc_jmx_result *out)
{
    const char *bean;
    json_t *attrs;
    const char *domain = e == KC_JE_PRODUCER_TOPIC ? "kafka.producer"
                         : is_client_elem(e)       ? "kafka.consumer"
                                                   : "kafka.connect";
    json_object_foreach(value, bean, attrs) {
        if (!json_is_object(attrs))
            continue;
        struct kc_objectname on;
        if (kc_objectname_parse(bean, &on) < 0)
            continue;
        int rc = 0;
        const char *type = kc_objectname_get(&on, "type", NULL);
        if (strcmp(on.domain, domain) == 0 && type && strcmp(type, expected_type(e)) == 0) {
            if (is_client_elem(e))
                rc = on_client_bean(plan, known, e, &on, attrs, out);
            else
                rc = on_task_bean(plan, e, &on, attrs, out);
        }
        kc_objectname_clear(&on);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static void on_jvm_value(enum kc_jolokia_elem e, const json_t *value, struct kc_jmx_jvm *jvm)
{
    double v;
    switch (e) {
    case KC_JE_MEMORY: {
        /* A list of one attribute gives {"HeapMemoryUsage":{…}}; tolerate the bare composite. */
        const json_t *h = json_object_get(value, "HeapMemoryUsage");
        if (!h && json_object_get(value, "used"))
            h = value;
        double used, max;
        if (get_num(h, "used", &used) && get_num(h, "max", &max)) {
            jvm->heap_used = used;
            jvm->heap_max = max;
            jvm->heap_committed = 0;
            get_num(h, "committed", &jvm->heap_committed);
            jvm->has |= KC_JVM_HEAP;
        }
        break;
    }
    case KC_JE_THREADING:
        if (json_is_number(value)) {
            jvm->thread_count = json_number_value(value);
            jvm->has |= KC_JVM_THREADS;
        } else if (get_num(value, "ThreadCount", &v)) {
            jvm->thread_count = v;
            jvm->has |= KC_JVM_THREADS;
        }
        break;
    case KC_JE_OS:
        if (json_is_number(value)) {
            v = json_number_value(value);
        } else if (!get_num(value, "ProcessCpuLoad", &v)) {
            v = -1;
        }
        if (v >= 0) {
            jvm->process_cpu_load = v;
            jvm->has |= KC_JVM_CPU;
        }
        if (get_num(value, "SystemCpuLoad", &v) && v >= 0) {
            jvm->system_cpu_load = v;
            jvm->has |= KC_JVM_SYSCPU;
        }
        break;
    default:
        break;
    }
}

int kc_jolokia_parse_bulk(const struct kc_jolokia_plan *plan, const char *body, size_t len,
                          const char *label, const struct kc_jolokia_names *known,
                          struct kc_jmx_result *out)
{
    json_error_t err;
    json_t *root = body ? json_loadb(body, len, 0, &err) : NULL;
    if (!root) {
        /* Position only: the body may echo anything, including what a proxy put there. */
        warnf(out, label, "invalid JSON in bulk answer (line %d, column %d)", body ? err.line : 0,
              body ? err.column : 0);
        return -1;
    }
    if (!json_is_array(root)) {
        long st = json_is_object(root) ? (long)json_integer_value(json_object_get(root, "status"))
                                       : 0;
        const char *et = json_string_value(json_object_get(root, "error_type"));
        warnf(out, label, "bulk request rejected: status %ld (%s)", st, et ? et : "not an array");
        json_decref(root);
        return -1;
    }
    size_t n = json_array_size(root);
    if (n != plan->count)
        warnf(out, label, "bulk answer has %zu elements for %zu requests", n, plan->count);
    int rc = kc_jolokia_parse_bulk_slice(plan, root, 0, label, known, out);
    json_decref(root);
    return rc;
}

int kc_jolokia_parse_bulk_slice(const struct kc_jolokia_plan *plan, const json_t *answer,
                                size_t first, const char *label,
                                const struct kc_jolokia_names *known, struct kc_jmx_result *out)
{
    size_t have = json_array_size(answer);
    size_t n = first < have ? have - first : 0;
    if (n > plan->count)
        n = plan->count;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        enum kc_jolokia_elem e = plan->elems[i];
        json_t *el = json_array_get(answer, first + i);
        json_t *status = json_object_get(el, "status");
        if (!json_is_integer(status)) {
            warnf(out, label, "%s read: malformed answer", elem_defs[e].what);
            continue;
        }
        long st = (long)json_integer_value(status);
        if (st == 404 && elem_defs[e].pattern)
            continue; /* no such bean on this worker: no data, not an error */
        const char *et = json_string_value(json_object_get(el, "error_type"));
        if (st == 400 && elem_defs[e].may_be_nan && et &&
            strcmp(et, "java.lang.NumberFormatException") == 0)
            continue; /* a NaN a 2.0–2.4 agent could not write: no value (see elem_def) */
        if (st != 200) {
            rc = warnf(out, label, "%s read failed: status %ld (%s)", elem_defs[e].what, st,
                       et ? et : "no error_type");
            continue;
        }
        json_t *value = json_object_get(el, "value");
        if (elem_defs[e].pattern) {
            if (json_is_object(value))
                rc = on_pattern_value(plan, known, e, value, out);
        } else {
            on_jvm_value(e, value, &out->jvm);
        }
    }
    return rc < 0 ? -1 : 0;
}

/* ---- parse in pieces ------------------------------------------------------------------- */

struct bean_range {
    size_t key_off, key_len, val_off, val_len;
};

struct kc_jolokia_parser {
    const struct kc_jolokia_plan *plan;
    const struct kc_jolokia_names *known;
    struct kc_jmx_result *out;
    const char *body;
    size_t len;
    char label[300];
    int whole;                   /* not an array: parsed in one call */
    size_t warn_base;            /* warnings before this parse: its first one goes there */
    struct kc_jsplit split;
    size_t elements;             /* elements closed so far */
    int rc;
    /* the element being read; "status" may come after "value" (Jolokia writes it last) */
    json_int_t status;
    int has_status;
    char error_type[128];
    int has_error_type;
    size_t value_off, value_len;
    int has_value;
    struct bean_range *beans;    /* members of its "value" map, applied once the status is 200 */
    size_t nbeans, beans_cap, bean_next;
    int applying;
    enum kc_jolokia_elem applying_e;
    char *buf;                   /* scratch: '{' key ':' value '}' of one bean */
    size_t buf_cap;
};

struct kc_jolokia_parser *kc_jolokia_parser_new(const struct kc_jolokia_plan *plan,
                                                const char *body, size_t len, const char *label,
                                                const struct kc_jolokia_names *known,
                                                struct kc_jmx_result *out)
{
    struct kc_jolokia_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->plan = plan;
    p->known = known;
    p->out = out;
    p->body = body;
    p->len = body ? len : 0;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "jolokia");
    p->warn_base = out->warning_count;
    size_t i = 0;
    while (i < p->len && strchr(" \t\r\n", body[i]))
        i++;
    p->whole = i == p->len || body[i] != '[';
    kc_jsplit_init(&p->split, body ? body : "", p->len, 3);
    return p;
}

void kc_jolokia_parser_free(struct kc_jolokia_parser *p)
{
    if (!p)
        return;
    free(p->beans);
    free(p->buf);
    free(p);
}

/* Moves the warnings this parse added last (from index `from`) to the front of its own. */
static void warnings_to_front(struct kc_jolokia_parser *p, size_t from)
{
    struct kc_jmx_result *r = p->out;
    size_t k = r->warning_count - from;
    if (k == 0 || from <= p->warn_base)
        return;
    char *moved[8];
    if (k > 8)
        return;
    memcpy(moved, r->warnings + from, k * sizeof *moved);
    memmove(r->warnings + p->warn_base + k, r->warnings + p->warn_base,
            (from - p->warn_base) * sizeof *moved);
    memcpy(r->warnings + p->warn_base, moved, k * sizeof *moved);
}

/* Invalid JSON at byte `off`: the one warning that counts, first. */
static int parser_garbage(struct kc_jolokia_parser *p, size_t off)
{
    int line, col;
    kc_jsplit_line_col(p->body, off, &line, &col);
    size_t from = p->out->warning_count;
    warnf(p->out, p->label, "invalid JSON in bulk answer (line %d, column %d)", line, col);
    warnings_to_front(p, from);
    return -1;
}

static void element_reset(struct kc_jolokia_parser *p)
{
    p->has_status = p->has_error_type = p->has_value = 0;
    p->nbeans = p->bean_next = 0;
    p->applying = 0;
}

static int token_is(const struct kc_jolokia_parser *p, size_t off, size_t len, const char *tok)
{
    return strlen(tok) == len && memcmp(p->body + off, tok, len) == 0;
}

/* A member of the current element ("status", "error_type", "value"). 0, or -1 for garbage. */
static int element_member(struct kc_jolokia_parser *p, const struct kc_jsplit_item *it)
{
    if (token_is(p, it->key_off, it->key_len, "\"value\"")) {
        p->value_off = it->val_off;
        p->value_len = it->val_len;
        p->has_value = 1;
        return 0;
    }
    int status = token_is(p, it->key_off, it->key_len, "\"status\"");
    if (!status && !token_is(p, it->key_off, it->key_len, "\"error_type\""))
        return 0;
    json_error_t err;
    json_t *v = json_loadb(p->body + it->val_off, it->val_len, JSON_DECODE_ANY, &err);
    if (!v)
        return -1;
    if (status && json_is_integer(v)) {
        p->status = json_integer_value(v);
        p->has_status = 1;
    } else if (!status && json_is_string(v)) {
        snprintf(p->error_type, sizeof p->error_type, "%s", json_string_value(v));
        p->has_error_type = 1;
    } else if (status) {
        p->has_status = 0; /* present but not an integer: malformed */
    }
    json_decref(v);
    return 0;
}

static int add_bean(struct kc_jolokia_parser *p, const struct kc_jsplit_item *it)
{
    if (p->nbeans == p->beans_cap) {
        size_t ncap = p->beans_cap ? p->beans_cap * 2 : 256;
        struct bean_range *nb = realloc(p->beans, ncap * sizeof *nb);
        if (!nb)
            return -1;
        p->beans = nb;
        p->beans_cap = ncap;
    }
    p->beans[p->nbeans++] = (struct bean_range){it->key_off, it->key_len, it->val_off, it->val_len};
    return 0;
}

/* The element closed: judge it as kc_jolokia_parse_bulk does. Starts applying its beans, or
 * returns 0 / -1 (OOM, garbage). */
static int element_end(struct kc_jolokia_parser *p)
{
    size_t i = p->elements++;
    if (i >= p->plan->count) {
        element_reset(p);
        return 0;
    }
    enum kc_jolokia_elem e = p->plan->elems[i];
    int rc = 0;
    const char *et = p->has_error_type ? p->error_type : NULL;
    if (!p->has_status) {
        warnf(p->out, p->label, "%s read: malformed answer", elem_defs[e].what);
    } else if (p->status == 404 && elem_defs[e].pattern) {
        /* no such bean on this worker */
    } else if (p->status == 400 && elem_defs[e].may_be_nan && et &&
               strcmp(et, "java.lang.NumberFormatException") == 0) {
        /* a NaN a 2.0–2.4 agent could not write */
    } else if (p->status != 200) {
        rc = warnf(p->out, p->label, "%s read failed: status %ld (%s)", elem_defs[e].what,
                   (long)p->status, et ? et : "no error_type");
    } else if (elem_defs[e].pattern) {
        if (p->has_value && p->body[p->value_off] == '{' && p->nbeans > 0) {
            p->applying = 1;
            p->applying_e = e;
            return 0;
        }
    } else {
        json_error_t err;
        json_t *v = p->has_value
                        ? json_loadb(p->body + p->value_off, p->value_len, JSON_DECODE_ANY, &err)
                        : NULL;
        if (p->has_value && !v)
            return parser_garbage(p, p->value_off + (size_t)err.position);
        on_jvm_value(e, v, &p->out->jvm);
        json_decref(v);
    }
    element_reset(p);
    return rc < 0 ? -1 : 0;
}

/* Applies beans of the element until `budget` bytes of them are done: 1 more, 0 done, -1. */
static int apply_beans(struct kc_jolokia_parser *p, size_t budget)
{
    size_t done = 0;
    while (p->bean_next < p->nbeans && done < budget) {
        const struct bean_range *b = &p->beans[p->bean_next++];
        size_t need = b->key_len + b->val_len + 3;
        if (need > p->buf_cap) {
            char *nb = realloc(p->buf, need);
            if (!nb)
                return -1;
            p->buf = nb;
            p->buf_cap = need;
        }
        p->buf[0] = '{';
        memcpy(p->buf + 1, p->body + b->key_off, b->key_len);
        p->buf[1 + b->key_len] = ':';
        memcpy(p->buf + 2 + b->key_len, p->body + b->val_off, b->val_len);
        p->buf[need - 1] = '}';
        json_error_t err;
        json_t *one = json_loadb(p->buf, need, 0, &err);
        if (!one) {
            size_t pos = (size_t)err.position;
            return parser_garbage(p, pos <= 1 + b->key_len ? b->key_off + (pos ? pos - 1 : 0)
                                                            : b->val_off + (pos - 2 - b->key_len));
        }
        int rc = on_pattern_value(p->plan, p->known, p->applying_e, one, p->out);
        json_decref(one);
        if (rc < 0)
            return -1;
        done += need;
    }
    if (p->bean_next < p->nbeans)
        return 1;
    element_reset(p);
    return 0;
}

int kc_jolokia_parser_step(struct kc_jolokia_parser *p, size_t budget)
{
    if (p->whole)
        return kc_jolokia_parse_bulk(p->plan, p->body, p->len, p->label, p->known, p->out);
    size_t start = p->split.pos, applied = 0;
    while (p->split.pos - start + applied < budget) {
        if (p->applying) {
            int rc = apply_beans(p, budget);
            if (rc < 0)
                return -1;
            applied += budget; /* a step applies one budget's worth at most */
            continue;
        }
        struct kc_jsplit_item it;
        int rc = kc_jsplit_next(&p->split, &it, budget);
        if (rc == KC_JSPLIT_PAUSE)
            continue;
        if (rc == KC_JSPLIT_ERROR)
            return parser_garbage(p, p->split.pos);
        if (rc == KC_JSPLIT_END) {
            if (p->elements != p->plan->count) {
                size_t from = p->out->warning_count;
                warnf(p->out, p->label, "bulk answer has %zu elements for %zu requests",
                      p->elements, p->plan->count);
                warnings_to_front(p, from);
            }
            return p->rc;
        }
        if (it.depth == 1) {
            if (element_end(p) < 0)
                return -1;
        } else if (it.depth == 2 && it.key_len) {
            if (element_member(p, &it) < 0)
                return parser_garbage(p, it.val_off);
        } else if (it.depth == 3 && it.key_len &&
                   token_is(p, it.parent_key_off, it.parent_key_len, "\"value\"")) {
            if (add_bean(p, &it) < 0)
                return -1;
        }
    }
    return 1;
}
