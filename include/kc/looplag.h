/* kc/looplag.h — how late the loop runs timers: a probe timer every KC_LOOPLAG_PERIOD_MS
 * measures the time between its due time and its run. Any loop turn that holds the CPU longer
 * than the period shows as lag, so operators see stalls (a big parse, a big dump) that delay
 * every client. Rendered by /metrics as kconnect_loop_lag_seconds (histogram) and
 * kconnect_loop_lag_max_seconds. */
#ifndef KC_LOOPLAG_H
#define KC_LOOPLAG_H

#include <stdint.h>
#include <stdio.h>

#define KC_LOOPLAG_PERIOD_MS 10
/* The loop has two priorities: 0 for the probe, 1 for everything else (main.c). */
#define KC_LOOP_PRIORITIES 2
/* Callbacks of priority 1 stop being run in a turn once this much time has passed in it
 * (main.c): a turn is this plus its last callback, itself bounded by slicing (kc/slice.h). */
#define KC_LOOP_TURN_US 1500

struct event_base;
struct kc_looplag;

/* Starts the probe on base; NULL on OOM (the gateway then runs without it). */
struct kc_looplag *kc_looplag_start(struct event_base *base);
void kc_looplag_free(struct kc_looplag *l);

/* Records one observed lateness (the probe's own callback; exposed for tests). */
void kc_looplag_observe(struct kc_looplag *l, double seconds);
/* The Prometheus families; l may be NULL (nothing written). */
void kc_looplag_render(const struct kc_looplag *l, FILE *out);

#endif
