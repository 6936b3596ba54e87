/* kc/metrics.h — the metrics document of one connector (README §4) and the cluster summary
 * row, computed from Connect's status, per-worker JMX results and the previous collection. */
#ifndef KC_METRICS_H
#define KC_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "kc/connect_model.h"
#include "kc/jolokia.h"

/* What one worker's agent gave for this collection. */
struct kc_metrics_source {
    const char *worker_id;           /* borrowed; NULL = the single agent answering for every
                                        worker (template without placeholders) */
    const struct kc_jmx_result *jmx; /* borrowed; NULL = this worker's read failed */
    const char *warning;             /* borrowed; why it failed, shown as is, e.g.
                                        "jolokia 127.0.0.2:8083: connection refused" */
};

struct kc_metrics_input {
    const char *cluster;                      /* borrowed */
    const struct kc_connector_status *status; /* borrowed; Connect is authoritative for tasks */
    const struct kc_metrics_source *sources;  /* borrowed; tasks find theirs by worker_id */
    size_t source_count;
    int64_t now_ms;      /* epoch ms when the collection ended: lastUpdated and the rate clock */
    int64_t duration_ns; /* collectionDuration */
};

/* What the previous collection of one connector left behind: its time and each task's totals
 * (plus the last bytes seen, kept for FAILED tasks): 32 bytes + 40 per task. Owned by the
 * caller (e.g. the cache entry), one per connector. */
struct kc_metrics_state;
struct kc_metrics_state *kc_metrics_state_new(void); /* new; NULL on allocation failure */
void kc_metrics_state_free(struct kc_metrics_state *st);
/* Fleet mode shares the previous sample: bytes of this build (layout-tagged), written into out
 * (encoded_size bytes); st may be NULL (an empty state). */
size_t kc_metrics_state_encoded_size(const struct kc_metrics_state *st);
void kc_metrics_state_encode(const struct kc_metrics_state *st, unsigned char *out);
/* Takes the encoded state when it is newer than st's: 0 taken, 1 older (st kept), -1 not an
 * encoding of this build or out of memory (st kept). */
int kc_metrics_state_merge(struct kc_metrics_state *st, const unsigned char *in, size_t len);

struct kc_task_counts {
    unsigned running, failed, paused, unassigned, restarting, other, total;
};

struct kc_metrics_task {
    const struct kc_task_status *status; /* borrowed from the input */
    double records, bytes, errors;       /* 0 where nothing was read */
};

/* The shared computation behind both builders (and history samples, Prometheus). */
struct kc_metrics_calc {
    double total_records, total_bytes, total_errors;
    double records_per_sec, bytes_per_sec;
    double error_rate;        /* percent: errors ÷ records taken in × 100 (Σ tasks' poll/read
                                 totals, a task without one counts its records), at most 100,
                                 0 when nothing was taken in */
    double recent_errors;     /* errors since the previous collection, reset-aware */
    int rates_from_attributes;/* 1 when rates are the tasks' *-rate sum (first collection) */
    int has_lag;
    double lag_max;           /* max consumer records-lag-max over tasks, if has_lag */
    double cpu_percent, memory_used_mb, memory_total_mb, thread_count;
    struct kc_task_counts counts;
    struct kc_metrics_task *tasks; /* owned, Connect's order (by id) */
    size_t task_count;
    char **warnings;          /* owned, deduplicated */
    size_t warning_count;
};

/* Computes *out from *in and the previous `state`, then updates `state` to this collection.
 * state may be NULL (every collection is then a first one). Rates: Δtotal ÷ elapsed seconds
 * summed over tasks whose counters did not go down; a task whose total decreased (restart,
 * move) or that has no previous value contributes its *-rate attribute instead, so a rate is
 * never negative. On the first collection (or elapsed <= 0) all rates are the *-rate sums.
 * Returns 0, -1 on allocation failure (*out then holds nothing; state unchanged).
 * Release with kc_metrics_calc_clear. */
int kc_metrics_compute(const struct kc_metrics_input *in, struct kc_metrics_state *state,
                       struct kc_metrics_calc *out);
void kc_metrics_calc_clear(struct kc_metrics_calc *c);

/* The document of README §4, new reference (NULL on allocation failure). Types are fixed per
 * field: totals, counts, threadCount, taskId, collectionDuration and recordsLagMax are JSON
 * integers; recordsPerSecond, bytesPerSecond, errorRate, cpuPercent, memoryUsedMB and
 * memoryTotalMB are JSON reals (dump with JSON_REAL_PRECISION(n) to shorten them). `lag` is
 * null for sources; for sinks {"recordsLagMax": n}, n null when no task reported a value (an
 * idle consumer's max is NaN: unknown is not 0). `stale` is false, `warnings` an array. */
json_t *kc_metrics_document(const struct kc_metrics_input *in, const struct kc_metrics_calc *c);

/* One row of the cluster summary, new reference: {name, type, state, tasks{running, failed,
 * paused, unassigned, restarting, total}, recordsPerSecond, bytesPerSecond, totalRecords,
 * totalBytes, totalErrors, errorRate, lag (integer recordsLagMax or null)}. */
json_t *kc_metrics_summary_row(const struct kc_metrics_input *in, const struct kc_metrics_calc *c);

/* compute + document / compute + row in one call; state updated as by kc_metrics_compute. */
json_t *kc_metrics_build_document(const struct kc_metrics_input *in,
                                  struct kc_metrics_state *state);
json_t *kc_metrics_build_summary_row(const struct kc_metrics_input *in,
                                     struct kc_metrics_state *state);

#endif
