/* history.c — per-connector ring buffer of samples and its columnar JSON for charts.
 * Fixed memory per connector, chosen at creation; old samples fall off the end. */
#include "kc/history.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct kc_history_sample) == 56, "update the size in kc/history.h");

struct kc_history {
    size_t capacity;
    size_t head;  /* index of the oldest sample */
    size_t count;
    struct kc_history_sample *ring;
};

struct kc_history *kc_history_new(size_t capacity)
{
    if (capacity == 0 || capacity > SIZE_MAX / sizeof(struct kc_history_sample))
        return NULL;
    struct kc_history *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ring = calloc(capacity, sizeof *h->ring);
    if (!h->ring) {
        free(h);
        return NULL;
    }
    h->capacity = capacity;
    return h;
}

void kc_history_free(struct kc_history *h)
{
    if (!h)
        return;
    free(h->ring);
    free(h);
}

size_t kc_history_count(const struct kc_history *h)
{
    return h ? h->count : 0;
}

size_t kc_history_capacity(const struct kc_history *h)
{
    return h ? h->capacity : 0;
}

const struct kc_history_sample *kc_history_at(const struct kc_history *h, size_t i)
{
    if (!h || i >= h->count)
        return NULL;
    return &h->ring[(h->head + i) % h->capacity];
}

int kc_history_push(struct kc_history *h, const struct kc_history_sample *s)
{
    if (!h || !s)
        return -1;
    if (h->count && s->t_ms <= kc_history_at(h, h->count - 1)->t_ms)
        return -1;
    if (h->count < h->capacity) {
        h->ring[(h->head + h->count) % h->capacity] = *s;
        h->count++;
    } else {
        h->ring[h->head] = *s;
        h->head = (h->head + 1) % h->capacity;
    }
    return 0;
}

enum col {
    C_T, C_RPS, C_BPS, C_RECORDS, C_BYTES, C_ERRORS, C_ERATE, C_LAG, C_RUN, C_FAIL, C_OTHER,
    C_COUNT
};

static const char *const col_names[C_COUNT] = {
    "t", "recordsPerSecond", "bytesPerSecond", "totalRecords", "totalBytes", "totalErrors",
    "errorRate", "lag", "tasksRunning", "tasksFailed", "tasksOther",
};

static json_t *whole(double v)
{
    return json_integer(v > 0 ? (json_int_t)llround(v) : 0);
}

static json_t *cell(const struct kc_history_sample *s, enum col c)
{
    switch (c) {
    case C_T: return json_integer((json_int_t)s->t_ms);
    case C_RPS: return json_real(s->records_per_sec);
    case C_BPS: return json_real(s->bytes_per_sec);
    case C_RECORDS: return whole(s->total_records);
    case C_BYTES: return whole(s->total_bytes);
    case C_ERRORS: return whole(s->total_errors);
    case C_ERATE: return json_real(s->error_rate);
    case C_LAG: return isnan(s->lag) ? json_null() : whole(s->lag);
    case C_RUN: return json_integer(s->tasks_running);
    case C_FAIL: return json_integer(s->tasks_failed);
    case C_OTHER: return json_integer(s->tasks_other);
    case C_COUNT: break;
    }
    return NULL;
}

json_t *kc_history_to_json(const struct kc_history *h, int64_t since_ms, int64_t interval_ms)
{
    json_t *out = json_pack("{s:I,s:I}", "since", (json_int_t)since_ms, "interval_ms",
                            (json_int_t)interval_ms);
    if (!out)
        return NULL;
    json_t *cols[C_COUNT];
    for (int c = 0; c < C_COUNT; c++) {
        cols[c] = json_array();
        if (!cols[c] || json_object_set_new(out, col_names[c], cols[c]) < 0)
            goto fail;
    }
    size_t n = kc_history_count(h), first = n;
    /* samples are time-ordered: find the first newer than since from the newest end */
    const struct kc_history_sample *prev;
    while (first > 0 && (prev = kc_history_at(h, first - 1)) && prev->t_ms > since_ms)
        first--;
    for (size_t i = first; i < n; i++) {
        const struct kc_history_sample *s = kc_history_at(h, i);
        if (!s)
            break;
        for (int c = 0; c < C_COUNT; c++)
            if (json_array_append_new(cols[c], cell(s, (enum col)c)) < 0)
                goto fail;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* Text, so a sample in a Redis stream reads the same to any build and to an operator's
 * redis-cli: t,records/s,bytes/s,totals×3,errorRate,lag(or "-"),running,failed,other. */
int kc_history_sample_format(const struct kc_history_sample *s, char *buf, size_t cap)
{
    char lag[32] = "-";
    if (!isnan(s->lag))
        snprintf(lag, sizeof lag, "%.9g", (double)s->lag);
    int n = snprintf(buf, cap, "%lld,%.9g,%.9g,%.17g,%.17g,%.17g,%.9g,%s,%u,%u,%u",
                     (long long)s->t_ms, (double)s->records_per_sec, (double)s->bytes_per_sec,
                     s->total_records, s->total_bytes, s->total_errors, (double)s->error_rate,
                     lag, s->tasks_running, s->tasks_failed, s->tasks_other);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int kc_history_sample_parse(const char *text, size_t len, struct kc_history_sample *out)
{
    char buf[KC_HISTORY_SAMPLE_TEXT_MAX];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    long long t;
    double rps, bps, tr, tb, te, er;
    char lag[32];
    unsigned run, failed, other;
    int used = 0;
    if (sscanf(buf, "%lld,%lf,%lf,%lf,%lf,%lf,%lf,%31[^,],%u,%u,%u%n", &t, &rps, &bps, &tr, &tb,
               &te, &er, lag, &run, &failed, &other, &used) != 11 ||
        buf[used] != '\0' || run > UINT16_MAX || failed > UINT16_MAX || other > UINT16_MAX)
        return -1;
    char *end;
    double lagv = strcmp(lag, "-") == 0 ? NAN : strtod(lag, &end);
    if (!isnan(lagv) && *end != '\0')
        return -1;
    *out = (struct kc_history_sample){
        .t_ms = t, .records_per_sec = (float)rps, .bytes_per_sec = (float)bps,
        .total_records = tr, .total_bytes = tb, .total_errors = te, .error_rate = (float)er,
        .lag = (float)lagv, .tasks_running = (uint16_t)run, .tasks_failed = (uint16_t)failed,
        .tasks_other = (uint16_t)other,
    };
    return 0;
}
