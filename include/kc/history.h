/* kc/history.h — a fixed-capacity ring of metric samples per connector, for trend charts.
 * Memory: 56 bytes per sample + 48 per ring; e.g. 720 samples (1 h at 5 s) = 40 KiB/connector. */
#ifndef KC_HISTORY_H
#define KC_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* One collection's figures. Rates are floats (7 significant digits is plenty for a chart);
 * totals are doubles, exact up to 2^53. lag is NaN when there is none (sources, idle sinks). */
struct kc_history_sample {
    int64_t t_ms;                         /* epoch ms */
    double total_records, total_bytes, total_errors;
    float records_per_sec, bytes_per_sec;
    float error_rate;                     /* percent */
    float lag;                            /* records-lag-max, NaN = none */
    uint16_t tasks_running, tasks_failed, tasks_other;
};

struct kc_history;

/* New ring holding up to `capacity` samples; NULL when capacity is 0 or memory runs out. */
struct kc_history *kc_history_new(size_t capacity);
void kc_history_free(struct kc_history *h);

/* Copies *s in, overwriting the oldest sample when full. Samples must move forward in time:
 * one not newer than the newest is dropped (returns -1), so a chart's x values stay sorted
 * even when the wall clock steps back. Returns 0 when stored. */
int kc_history_push(struct kc_history *h, const struct kc_history_sample *s);

size_t kc_history_count(const struct kc_history *h);
size_t kc_history_capacity(const struct kc_history *h);
/* i = 0 is the oldest; borrowed, valid until the next push; NULL when out of range. */
const struct kc_history_sample *kc_history_at(const struct kc_history *h, size_t i);

/* Columnar JSON of the samples with t_ms > since_ms (oldest first), new reference:
 * {"since":since_ms,"interval_ms":interval_ms,"t":[ms…],"recordsPerSecond":[…],
 *  "bytesPerSecond":[…],"totalRecords":[int…],"totalBytes":[int…],"totalErrors":[int…],
 *  "errorRate":[…],"lag":[int|null…],"tasksRunning":[…],"tasksFailed":[…],"tasksOther":[…]}
 * — one array per series, as uPlot takes them (t is in ms: divide by 1000 or set uPlot's
 * `ms: 1`). Rates are reals: dump with JSON_REAL_PRECISION(7) to print them as stored.
 * NULL on allocation failure; h may be NULL (empty columns). */
json_t *kc_history_to_json(const struct kc_history *h, int64_t since_ms, int64_t interval_ms);

/* Fleet mode keeps history in Redis streams: one sample as a line of text (at most
 * KC_HISTORY_SAMPLE_TEXT_MAX bytes) and back. format returns the length or -1 when cap is too
 * small; parse returns 0 or -1 on anything that is not such a line. */
#define KC_HISTORY_SAMPLE_TEXT_MAX 256
int kc_history_sample_format(const struct kc_history_sample *s, char *buf, size_t cap);
int kc_history_sample_parse(const char *text, size_t len, struct kc_history_sample *out);

#endif
