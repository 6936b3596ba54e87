/* metrics.c — turns Connect status + per-worker JMX numbers into the metrics document and the
 * summary row; rates and recent errors come from the previous collection's per-task totals. */
#include "kc/metrics.h"
#include "kc/timefmt.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HAS_RECORDS 1u
#define HAS_BYTES 2u
#define HAS_ERRORS 4u
#define HAS_LAST_BYTES 8u /* last_bytes holds a value seen at some collection */

struct prev_task {
    int id;
    unsigned has;
    double records, bytes, errors; /* at the previous collection, for deltas */
    double last_bytes;             /* last bytes ever seen: what a FAILED task shows */
};

struct kc_metrics_state {
    int64_t t_ms;
    int valid;
    size_t count;
    struct prev_task *tasks; /* sorted by id */
};

struct kc_metrics_state *kc_metrics_state_new(void)
{
    return calloc(1, sizeof(struct kc_metrics_state));
}

void kc_metrics_state_free(struct kc_metrics_state *st)
{
    if (!st)
        return;
    free(st->tasks);
    free(st);
}

/* The encoding is this build's memory image behind a tag naming its layout: the replicas of a
 * fleet run one version, and a state another build wrote is refused (rates then restart from
 * the tasks' *-rate attributes for one collection), never misread. */
struct state_head {
    char tag[4];          /* "KMS1" */
    uint32_t task_size;   /* sizeof(struct prev_task) */
    int64_t t_ms;
    uint32_t count;
    uint32_t valid;
};

size_t kc_metrics_state_encoded_size(const struct kc_metrics_state *st)
{
    return sizeof(struct state_head) + (st ? st->count : 0) * sizeof(struct prev_task);
}

void kc_metrics_state_encode(const struct kc_metrics_state *st, unsigned char *out)
{
    struct state_head h = {.tag = {'K', 'M', 'S', '1'}, .task_size = sizeof(struct prev_task)};
    if (st) {
        h.t_ms = st->t_ms;
        h.count = (uint32_t)st->count;
        h.valid = (uint32_t)st->valid;
    }
    memcpy(out, &h, sizeof h);
    if (h.count)
        memcpy(out + sizeof h, st->tasks, h.count * sizeof(struct prev_task));
}

int kc_metrics_state_merge(struct kc_metrics_state *st, const unsigned char *in, size_t len)
{
    struct state_head h;
    if (len < sizeof h)
        return -1;
    memcpy(&h, in, sizeof h);
    if (memcmp(h.tag, "KMS1", 4) != 0 || h.task_size != sizeof(struct prev_task) ||
        h.count > (len - sizeof h) / sizeof(struct prev_task) ||
        len != sizeof h + (size_t)h.count * sizeof(struct prev_task))
        return -1;
    if (!h.valid || (st->valid && st->t_ms >= h.t_ms))
        return 1;
    struct prev_task *tasks = NULL;
    if (h.count) {
        if (!(tasks = malloc(h.count * sizeof *tasks)))
            return -1;
        memcpy(tasks, in + sizeof h, h.count * sizeof *tasks);
        for (uint32_t i = 1; i < h.count; i++)
            if (tasks[i - 1].id >= tasks[i].id) { /* prev_find needs them sorted */
                free(tasks);
                return -1;
            }
    }
    free(st->tasks);
    st->tasks = tasks;
    st->count = h.count;
    st->t_ms = h.t_ms;
    st->valid = 1;
    return 0;
}

static const struct prev_task *prev_find(const struct kc_metrics_state *st, int id)
{
    if (!st)
        return NULL;
    size_t lo = 0, hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->tasks[mid].id == id)
            return &st->tasks[mid];
        if (st->tasks[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void kc_metrics_calc_clear(struct kc_metrics_calc *c)
{
    if (!c)
        return;
    free(c->tasks);
    for (size_t i = 0; i < c->warning_count; i++)
        free(c->warnings[i]);
    free(c->warnings);
    memset(c, 0, sizeof *c);
}

static int add_warning(struct kc_metrics_calc *c, const char *text)
{
    if (!text || !*text)
        return 0;
    for (size_t i = 0; i < c->warning_count; i++)
        if (strcmp(c->warnings[i], text) == 0)
            return 0;
    char **nw = realloc(c->warnings, (c->warning_count + 1) * sizeof *nw);
    if (!nw)
        return -1;
    c->warnings = nw;
    if (!(nw[c->warning_count] = strdup(text)))
        return -1;
    c->warning_count++;
    return 0;
}

/* The source answering for worker_id: an exact match, else the single-agent entry. */
static long find_source(const struct kc_metrics_input *in, const char *worker_id)
{
    long fallback = -1;
    for (size_t i = 0; i < in->source_count; i++) {
        const char *w = in->sources[i].worker_id;
        if (!w) {
            if (fallback < 0)
                fallback = (long)i;
        } else if (strcmp(w, worker_id) == 0) {
            return (long)i;
        }
    }
    return fallback;
}

static void count_state(struct kc_task_counts *k, enum kc_state s)
{
    k->total++;
    switch (s) {
    case KC_STATE_RUNNING: k->running++; break;
    case KC_STATE_FAILED: k->failed++; break;
    case KC_STATE_PAUSED: k->paused++; break;
    case KC_STATE_UNASSIGNED: k->unassigned++; break;
    case KC_STATE_RESTARTING: k->restarting++; break;
    default: k->other++; break;
    }
}

/* Contribution of one counter to "events since the previous collection": the delta when both
 * values exist and it is not negative; after a reset (decrease) the value itself, since every
 * event it counts happened after the restart, i.e. inside the interval. *ok = 0 when no delta
 * can be formed (no previous value, or a reset) so the caller falls back to the rate attribute. */
static double delta_of(int has_now, double now, int has_prev, double prev, int *ok, int *reset)
{
    *ok = 0;
    *reset = 0;
    if (!has_now || !has_prev)
        return 0;
    if (now < prev) {
        *reset = 1;
        return now;
    }
    *ok = 1;
    return now - prev;
}

int kc_metrics_compute(const struct kc_metrics_input *in, struct kc_metrics_state *state,
                       struct kc_metrics_calc *out)
{
    memset(out, 0, sizeof *out);
    const struct kc_connector_status *st = in->status;
    size_t n = st->task_count;
    struct prev_task *next = NULL;
    unsigned char used_small[64];
    unsigned char *used = used_small;
    if (in->source_count > sizeof used_small && !(used = calloc(in->source_count, 1)))
        return -1;
    if (used == used_small)
        memset(used_small, 0, sizeof used_small);
    if (n && (!(out->tasks = calloc(n, sizeof *out->tasks)) || !(next = calloc(n, sizeof *next))))
        goto fail;
    out->task_count = n;

    double elapsed = state && state->valid ? (double)(in->now_ms - state->t_ms) / 1000.0 : 0;
    int have_prev = state && state->valid && elapsed > 0;
    out->rates_from_attributes = !have_prev;
    double d_records = 0, d_bytes = 0, attr_records = 0, attr_bytes = 0, taken = 0;

    for (size_t i = 0; i < n; i++) {
        const struct kc_task_status *ts = &st->tasks[i];
        struct kc_metrics_task *mt = &out->tasks[i];
        struct prev_task *nx = &next[i];
        const struct prev_task *pv = prev_find(state, ts->id);
        mt->status = ts;
        nx->id = ts->id;
        count_state(&out->counts, ts->state);

        const struct kc_jmx_task *jt = NULL;
        if (kc_connect_model_task_queryable(ts)) {
            long si = find_source(in, ts->worker_id);
            if (si < 0) {
                char msg[300];
                snprintf(msg, sizeof msg, "jolokia %.200s: not queried", ts->worker_id);
                if (add_warning(out, msg) < 0)
                    goto fail;
            } else {
                const struct kc_metrics_source *src = &in->sources[si];
                used[si] = 1;
                if (src->jmx)
                    jt = kc_jolokia_result_task(src->jmx, st->name, ts->id);
                /* A running task with no bean at all on a healthy agent is worth saying;
                 * missing client beans alone are normal (no record sent yet, FAILED task). */
                if (src->jmx && !jt &&
                    (ts->state == KC_STATE_RUNNING || ts->state == KC_STATE_PAUSED)) {
                    char msg[300];
                    snprintf(msg, sizeof msg, "jolokia %.200s: no metrics for task %d",
                             src->worker_id ? src->worker_id : ts->worker_id, ts->id);
                    if (add_warning(out, msg) < 0)
                        goto fail;
                }
            }
        }
        unsigned has = jt ? jt->has : 0;
        if (has & KC_JT_RECORDS) {
            mt->records = jt->records_total;
            nx->has |= HAS_RECORDS;
        }
        if (has & KC_JT_BYTES) {
            mt->bytes = jt->bytes_total;
            nx->has |= HAS_BYTES | HAS_LAST_BYTES;
            nx->last_bytes = mt->bytes;
        } else if (pv && (pv->has & HAS_LAST_BYTES)) {
            nx->has |= HAS_LAST_BYTES; /* remembered across collections until seen again */
            nx->last_bytes = pv->last_bytes;
            if (ts->state == KC_STATE_FAILED) {
                /* Its client beans closed with it: show the last bytes seen, and count them as
                 * unchanged so the rate is not disturbed. */
                mt->bytes = pv->last_bytes;
                nx->has |= HAS_BYTES;
            }
        }
        if (has & KC_JT_ERRORS) {
            mt->errors = jt->errors_total;
            nx->has |= HAS_ERRORS;
        }
        /* Records the task took in; a task without the attribute counts its sent ones. */
        taken += (has & KC_JT_TAKEN) ? fmax(jt->taken_total, mt->records) : mt->records;
        nx->records = mt->records;
        nx->bytes = mt->bytes;
        nx->errors = mt->errors;
        out->total_records += mt->records;
        out->total_bytes += mt->bytes;
        out->total_errors += mt->errors;
        if (has & KC_JT_LAG) {
            out->lag_max = out->has_lag ? fmax(out->lag_max, jt->lag_max) : jt->lag_max;
            out->has_lag = 1;
        }

        double rec_attr = (has & KC_JT_RECORDS_RATE) ? jt->records_rate : 0;
        double byte_attr = (has & KC_JT_BYTES_RATE) ? jt->bytes_rate : 0;
        if (!have_prev) {
            attr_records += rec_attr;
            attr_bytes += byte_attr;
            continue;
        }
        int ok, reset;
        double d = delta_of(nx->has & HAS_RECORDS, mt->records, pv && (pv->has & HAS_RECORDS),
                            pv ? pv->records : 0, &ok, &reset);
        if (ok)
            d_records += d;
        else
            attr_records += rec_attr;
        d = delta_of(nx->has & HAS_BYTES, mt->bytes, pv && (pv->has & HAS_BYTES),
                     pv ? pv->bytes : 0, &ok, &reset);
        if (ok)
            d_bytes += d;
        else
            attr_bytes += byte_attr;
        d = delta_of(nx->has & HAS_ERRORS, mt->errors, pv && (pv->has & HAS_ERRORS),
                     pv ? pv->errors : 0, &ok, &reset);
        if (ok || reset)
            out->recent_errors += d; /* a task with no previous value adds 0, as a first run */
    }
    out->records_per_sec = (have_prev ? d_records / elapsed : 0) + attr_records;
    out->bytes_per_sec = (have_prev ? d_bytes / elapsed : 0) + attr_bytes;
    /* Over the records taken in, not the ones sent: a record that fails conversion is an error
     * and never sent, so errors ÷ sent says 0 % for a sink whose every record fails. */
    out->error_rate = taken > 0 ? fmin(out->total_errors / taken * 100.0, 100.0) : 0;

    /* Resources of the workers that run this connector's tasks; warnings of those only. */
    for (size_t i = 0; i < in->source_count; i++) {
        if (!used[i])
            continue;
        const struct kc_metrics_source *src = &in->sources[i];
        if (!src->jmx) {
            if (add_warning(out, src->warning ? src->warning : "jolokia: unavailable") < 0)
                goto fail;
            continue;
        }
        for (size_t w = 0; w < kc_jolokia_result_warning_count(src->jmx); w++)
            if (add_warning(out, kc_jolokia_result_warning(src->jmx, w)) < 0)
                goto fail;
        const struct kc_jmx_jvm *jvm = kc_jolokia_result_jvm(src->jmx);
        if (jvm->has & KC_JVM_CPU)
            out->cpu_percent = fmax(out->cpu_percent, jvm->process_cpu_load * 100.0);
        if (jvm->has & KC_JVM_HEAP) {
            out->memory_used_mb += jvm->heap_used / 1048576.0;
            /* max is -1 when the heap has no defined limit: committed is the best bound. */
            out->memory_total_mb +=
                (jvm->heap_max >= 0 ? jvm->heap_max : jvm->heap_committed) / 1048576.0;
        }
        if (jvm->has & KC_JVM_THREADS)
            out->thread_count += jvm->thread_count;
    }

    if (state) {
        free(state->tasks);
        state->tasks = next; /* already sorted: Connect's tasks are sorted by id */
        state->count = n;
        state->t_ms = in->now_ms;
        state->valid = 1;
        next = NULL;
    }
    free(next);
    if (used != used_small)
        free(used);
    return 0;
fail:
    free(next);
    if (used != used_small)
        free(used);
    kc_metrics_calc_clear(out);
    return -1;
}

/* Totals are whole counts sent as JSON integers; doubles hold them exactly below 2^53. */
static json_int_t to_int(double v)
{
    if (!(v > 0))
        return 0;
    if (v >= 9.2e18)
        return (json_int_t)9200000000000000000LL;
    return (json_int_t)llround(v);
}

static json_t *lag_value(const struct kc_metrics_input *in, const struct kc_metrics_calc *c,
                         int flat)
{
    if (in->status->type == KC_TYPE_SOURCE || (in->status->type == KC_TYPE_UNKNOWN && !c->has_lag))
        return json_null();
    json_t *n = c->has_lag ? json_integer(to_int(c->lag_max)) : json_null();
    if (flat || !n)
        return n;
    return json_pack("{s:o}", "recordsLagMax", n);
}

json_t *kc_metrics_document(const struct kc_metrics_input *in, const struct kc_metrics_calc *c)
{
    const struct kc_connector_status *st = in->status;
    json_t *tasks = json_array(), *warnings = json_array();
    if (!tasks || !warnings)
        goto fail;
    for (size_t i = 0; i < c->task_count; i++) {
        const struct kc_metrics_task *t = &c->tasks[i];
        const struct kc_task_status *ts = t->status;
        const char *state = ts->state_text[0] ? ts->state_text : "UNKNOWN";
        json_t *o = json_pack("{s:i,s:I,s:I,s:I,s:s,s:s?}", "taskId", ts->id, "recordsProcessed",
                              to_int(t->records), "bytesProcessed", to_int(t->bytes),
                              "errorCount", to_int(t->errors), "state", state, "workerId",
                              ts->worker_id && ts->worker_id[0] ? ts->worker_id : NULL);
        if (!o || json_array_append_new(tasks, o) < 0)
            goto fail;
    }
    for (size_t i = 0; i < c->warning_count; i++)
        if (json_array_append_new(warnings, json_string(c->warnings[i])) < 0)
            goto fail;
    char when[KC_TIMEFMT_RFC3339_SIZE];
    if (!kc_timefmt_rfc3339_ms(in->now_ms, when, sizeof when))
        goto fail;
    json_t *lag = lag_value(in, c, 0);
    if (!lag)
        goto fail;
    /* json_pack steals the "o" arguments even when it fails. */
    return json_pack("{s:s, s:{s:f,s:f,s:I,s:I}, s:{s:I,s:f,s:I}, s:{s:f,s:f,s:f,s:I},"
                     " s:o, s:s, s:I, s:s?, s:s, s:s, s:o, s:b, s:o}",
                     "connectorName", st->name,
                     "throughput", "recordsPerSecond", c->records_per_sec, "bytesPerSecond",
                     c->bytes_per_sec, "totalRecords", to_int(c->total_records), "totalBytes",
                     to_int(c->total_bytes),
                     "errors", "totalErrors", to_int(c->total_errors), "errorRate", c->error_rate,
                     "recentErrorCount", to_int(c->recent_errors),
                     "resources", "cpuPercent", c->cpu_percent, "memoryUsedMB",
                     c->memory_used_mb, "memoryTotalMB", c->memory_total_mb, "threadCount",
                     to_int(c->thread_count),
                     "tasks", tasks, "lastUpdated", when, "collectionDuration",
                     (json_int_t)(in->duration_ns > 0 ? in->duration_ns : 0),
                     "cluster", in->cluster, "type", kc_connect_model_type_name(st->type),
                     "state", st->state_text[0] ? st->state_text : "UNKNOWN", "lag", lag,
                     "stale", 0, "warnings", warnings);
fail:
    json_decref(tasks);
    json_decref(warnings);
    return NULL;
}

json_t *kc_metrics_summary_row(const struct kc_metrics_input *in, const struct kc_metrics_calc *c)
{
    const struct kc_connector_status *st = in->status;
    json_t *lag = lag_value(in, c, 1);
    if (!lag)
        return NULL;
    const struct kc_task_counts *k = &c->counts;
    return json_pack("{s:s,s:s,s:s,s:{s:i,s:i,s:i,s:i,s:i,s:i},s:f,s:f,s:I,s:I,s:I,s:f,s:o}",
                     "name", st->name, "type", kc_connect_model_type_name(st->type), "state",
                     st->state_text[0] ? st->state_text : "UNKNOWN", "tasks", "running",
                     (int)k->running, "failed", (int)k->failed, "paused", (int)k->paused,
                     "unassigned", (int)k->unassigned, "restarting", (int)k->restarting, "total",
                     (int)k->total, "recordsPerSecond", c->records_per_sec, "bytesPerSecond",
                     c->bytes_per_sec, "totalRecords", to_int(c->total_records), "totalBytes",
                     to_int(c->total_bytes), "totalErrors", to_int(c->total_errors), "errorRate",
                     c->error_rate, "lag", lag);
}

json_t *kc_metrics_build_document(const struct kc_metrics_input *in,
                                  struct kc_metrics_state *state)
{
    struct kc_metrics_calc c;
    if (kc_metrics_compute(in, state, &c) < 0)
        return NULL;
    json_t *doc = kc_metrics_document(in, &c);
    kc_metrics_calc_clear(&c);
    return doc;
}

json_t *kc_metrics_build_summary_row(const struct kc_metrics_input *in,
                                     struct kc_metrics_state *state)
{
    struct kc_metrics_calc c;
    if (kc_metrics_compute(in, state, &c) < 0)
        return NULL;
    json_t *row = kc_metrics_summary_row(in, &c);
    kc_metrics_calc_clear(&c);
    return row;
}
