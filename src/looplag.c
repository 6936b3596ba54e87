/* looplag.c — the loop-lag probe (kc/looplag.h). One timer; its lateness is measured against
 * the monotonic clock, not libevent's cached time, which is stale exactly when a turn was long.
 * The probe has the loop's higher priority: libevent runs it before (and in a turn without) the
 * I/O and slices that became ready with it, so its lateness is what is left of the turn during
 * which it fell due — at most that turn's length — not also the next turn's work. */
#include "kc/looplag.h"

#include <event2/event.h>
#include <stdlib.h>
#include <time.h>

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

struct kc_looplag {
    struct event *timer;
    int64_t due_us;     /* when the probe should run next */
    unsigned long long counts[NBUCKETS], count;
    double sum, max;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void kc_looplag_observe(struct kc_looplag *l, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    for (size_t i = 0; i < NBUCKETS; i++)
        if (seconds <= buckets[i])
            l->counts[i]++;
    l->count++;
    l->sum += seconds;
    if (seconds > l->max)
        l->max = seconds;
}

static void arm(struct kc_looplag *l)
{
    struct timeval tv = {0, KC_LOOPLAG_PERIOD_MS * 1000};
    l->due_us = now_us() + KC_LOOPLAG_PERIOD_MS * 1000;
    evtimer_add(l->timer, &tv);
}

static void on_probe(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct kc_looplag *l = arg;
    kc_looplag_observe(l, (double)(now_us() - l->due_us) / 1e6);
    arm(l);
}

struct kc_looplag *kc_looplag_start(struct event_base *base)
{
    struct kc_looplag *l = calloc(1, sizeof *l);
    if (!l || !(l->timer = evtimer_new(base, on_probe, l))) {
        free(l);
        return NULL;
    }
    event_priority_set(l->timer, 0); /* fails harmlessly on a base with one priority */
    arm(l);
    return l;
}

void kc_looplag_free(struct kc_looplag *l)
{
    if (!l)
        return;
    if (l->timer)
        event_free(l->timer);
    free(l);
}

void kc_looplag_render(const struct kc_looplag *l, FILE *out)
{
    if (!l)
        return;
    fprintf(out, "# HELP kconnect_loop_lag_seconds How late the event loop ran a timer due every "
                 "%d ms: a loop turn holding the CPU delays every client by this much.\n"
                 "# TYPE kconnect_loop_lag_seconds histogram\n",
            KC_LOOPLAG_PERIOD_MS);
    for (size_t i = 0; i < NBUCKETS; i++)
        fprintf(out, "kconnect_loop_lag_seconds_bucket{le=\"%g\"} %llu\n", buckets[i],
                l->counts[i]);
    fprintf(out,
            "kconnect_loop_lag_seconds_bucket{le=\"+Inf\"} %llu\n"
            "kconnect_loop_lag_seconds_sum %.9g\nkconnect_loop_lag_seconds_count %llu\n"
            "# HELP kconnect_loop_lag_max_seconds The largest loop lag seen since start.\n"
            "# TYPE kconnect_loop_lag_max_seconds gauge\nkconnect_loop_lag_max_seconds %.9g\n",
            l->count, l->sum, l->count, l->max);
}
