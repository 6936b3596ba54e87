/* kc/slice.h — cooperative slicing of CPU-heavy work on the one event loop: step functions
 * run until a time budget of the turn is spent, then a 0 ms timer gives the loop back (I/O,
 * other timers, other clients) and the work goes on at the next turn. The budget is the
 * turn's, shared by every slicer of the loop (round robin, a step at a time). */
#ifndef KC_SLICE_H
#define KC_SLICE_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* Wall time the slices of one turn may take together: a turn holding the loop stays well under
 * the 5 ms goal while the loop's own I/O work fits beside it. */
#define KC_SLICE_BUDGET_US 1500

struct event_base;
struct kc_slicer;

/* Does one bounded unit of work (a few tens of microseconds: 16–64 KiB parsed, dumped or
 * compressed, a few dozen rows built or rendered). Returns 1 when more remains, 0 when the job
 * is over: the step has then handed on (it may have freed the slicer — nothing touches it). */
typedef int (*kc_slice_step_fn)(void *ctx);
/* A step's "more remains, but start it on a fresh turn": for a last step that hands a finished
 * result on (replies, callbacks), so it never shares a turn with a full slice of work. */
#define KC_SLICE_NEXT_TURN 2

/* New slicer (not running); NULL on OOM. */
struct kc_slicer *kc_slicer_new(struct event_base *base, kc_slice_step_fn step, void *ctx);
/* Runs the steps from the next loop turn on (idempotent while armed). */
void kc_slicer_start(struct kc_slicer *s);
/* Cancels and frees (may be called from within a step only if the step then returns 0). */
void kc_slicer_free(struct kc_slicer *s);

/* Frees something big in slices too (5,000 connectors' parsed list is 20+ ms of free()):
 * step(ctx) frees a bounded part and returns 1 while more remains, 0 once everything (ctx
 * included) is freed. Jobs not yet done stay reachable from a list (no leak at exit). When no
 * slicer can be made, it all happens now. */
void kc_slice_dispose(struct event_base *base, kc_slice_step_fn step, void *ctx);

/* json_decref for documents that may be big (a cluster summary): when this is the last
 * reference and it holds a long "connectors" array, the rows are freed in slices. */
void kc_slice_json_decref(struct event_base *base, json_t *doc);

/* Process-wide figures for /metrics: slices run, the longest one (wall and thread CPU time). */
struct kc_slice_stats {
    unsigned long long slices;
    double max_seconds, max_cpu_seconds;
    unsigned long long over_budget; /* slices whose CPU time passed 2.5 × the budget */
};
void kc_slice_stats(struct kc_slice_stats *out);
void kc_slice_render(FILE *out);

#endif
