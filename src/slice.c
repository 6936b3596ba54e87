/* slice.c — bounded slices of heavy work across loop turns (kc/slice.h). Why slices and not a
 * worker thread: every structure the work touches (cache, slots, alerts, jansson documents,
 * which are not thread-safe) belongs to the loop; slicing keeps the one-thread design and its
 * cancel paths (free the slicer, nothing runs later) while no turn holds the loop for long. */
#include "kc/slice.h"

#include <event2/event.h>
#include <stdlib.h>
#include <time.h>

struct kc_slicer {
    struct event *ev;
    kc_slice_step_fn step;
    void *ctx;
};

static struct kc_slice_stats stats;

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void account(int64_t wall0, int64_t cpu0)
{
    double wall = (double)(clock_us(CLOCK_MONOTONIC) - wall0) / 1e6;
    double cpu = (double)(clock_us(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e6;
    stats.slices++;
    if (wall > stats.max_seconds)
        stats.max_seconds = wall;
    if (cpu > stats.max_cpu_seconds)
        stats.max_cpu_seconds = cpu;
    if (cpu > 2.5 * KC_SLICE_BUDGET_US / 1e6)
        stats.over_budget++;
}

static void on_slice(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct kc_slicer *s = arg;
    int64_t wall0 = clock_us(CLOCK_MONOTONIC), cpu0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
    for (;;) {
        int more = s->step(s->ctx);
        if (!more) {
            account(wall0, cpu0); /* s may be gone */
            return;
        }
        if (more == KC_SLICE_NEXT_TURN || clock_us(CLOCK_MONOTONIC) - wall0 >= KC_SLICE_BUDGET_US)
            break;
    }
    account(wall0, cpu0);
    kc_slicer_start(s);
}

struct kc_slicer *kc_slicer_new(struct event_base *base, kc_slice_step_fn step, void *ctx)
{
    struct kc_slicer *s = calloc(1, sizeof *s);
    if (!s || !(s->ev = evtimer_new(base, on_slice, s))) {
        free(s);
        return NULL;
    }
    s->step = step;
    s->ctx = ctx;
    return s;
}

void kc_slicer_start(struct kc_slicer *s)
{
    struct timeval now = {0, 0};
    evtimer_add(s->ev, &now);
}

void kc_slicer_free(struct kc_slicer *s)
{
    if (!s)
        return;
    event_free(s->ev);
    free(s);
}

struct disposer {
    struct kc_slicer *slicer;
    kc_slice_step_fn step;
    void *ctx;
    struct disposer *prev, *next;
};

static struct disposer *disposers; /* keeps pending jobs reachable */

static int on_dispose(void *arg)
{
    struct disposer *d = arg;
    if (d->step(d->ctx))
        return 1;
    if (d->prev)
        d->prev->next = d->next;
    else
        disposers = d->next;
    if (d->next)
        d->next->prev = d->prev;
    kc_slicer_free(d->slicer);
    free(d);
    return 0;
}

void kc_slice_dispose(struct event_base *base, kc_slice_step_fn step, void *ctx)
{
    struct disposer *d = calloc(1, sizeof *d);
    if (d && (d->slicer = kc_slicer_new(base, on_dispose, d))) {
        d->step = step;
        d->ctx = ctx;
        d->next = disposers;
        if (disposers)
            disposers->prev = d;
        disposers = d;
        kc_slicer_start(d->slicer);
        return;
    }
    free(d);
    while (step(ctx))
        ;
}

#define JSON_ROWS_PER_STEP 64

static int json_rows_step(void *arg)
{
    json_t *doc = arg;
    json_t *rows = json_object_get(doc, "connectors");
    size_t n = json_array_size(rows);
    for (int k = 0; k < JSON_ROWS_PER_STEP && n > 0; k++)
        json_array_remove(rows, --n);
    if (n > 0)
        return 1;
    json_decref(doc);
    return 0;
}

void kc_slice_json_decref(struct event_base *base, json_t *doc)
{
    if (doc && doc->refcount == 1 &&
        json_array_size(json_object_get(doc, "connectors")) > 4 * JSON_ROWS_PER_STEP) {
        kc_slice_dispose(base, json_rows_step, doc);
        return;
    }
    json_decref(doc);
}

void kc_slice_stats(struct kc_slice_stats *out)
{
    *out = stats;
}

void kc_slice_render(FILE *out)
{
    fprintf(out,
            "# HELP kconnect_slices_total Slices of heavy work (big parses, builds, dumps, "
            "compression, Prometheus text) run on the loop, each bounded to about %d us.\n"
            "# TYPE kconnect_slices_total counter\nkconnect_slices_total %llu\n"
            "# HELP kconnect_slice_max_seconds The longest slice since start (wall time).\n"
            "# TYPE kconnect_slice_max_seconds gauge\nkconnect_slice_max_seconds %.9g\n"
            "# HELP kconnect_slice_max_cpu_seconds The longest slice since start in the loop "
            "thread's CPU time (not counting time other processes took the core).\n"
            "# TYPE kconnect_slice_max_cpu_seconds gauge\nkconnect_slice_max_cpu_seconds %.9g\n"
            "# HELP kconnect_slices_over_budget_total Slices whose CPU time passed 2.5 times the "
            "budget (one unit of work too big to split).\n"
            "# TYPE kconnect_slices_over_budget_total counter\n"
            "kconnect_slices_over_budget_total %llu\n",
            KC_SLICE_BUDGET_US, stats.slices, stats.max_seconds, stats.max_cpu_seconds,
            stats.over_budget);
}
