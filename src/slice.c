/* slice.c — bounded slices of heavy work across loop turns (kc/slice.h). Why slices and not a
 * worker thread: every structure the work touches (cache, slots, alerts, jansson documents,
 * which are not thread-safe) belongs to the loop; slicing keeps the one-thread design and its
 * cancel paths (free the slicer, nothing runs later) while no turn holds the loop for long. */
#include "kc/slice.h"

#include <event2/event.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <time.h>

/* Every slicer of a loop shares ONE budget per turn: a scheduler with one 0 ms timer runs the
 * ready slicers' steps round robin until KC_SLICE_BUDGET_US is spent. With a timer per slicer,
 * two jobs at once (a collection and the freeing of the last summary, a scrape) each took
 * their 2 ms in the same turn. */
struct sched {
    struct event_base *base;
    struct event *ev;
    TAILQ_HEAD(, kc_slicer) ready, later; /* later: asked for a fresh turn */
    size_t slicers;                       /* alive; the scheduler goes with the last one */
    int in_turn, running_freed;
    struct kc_slicer *running;
    struct sched *next;
};

struct kc_slicer {
    struct sched *sched;
    kc_slice_step_fn step;
    void *ctx;
    int queued; /* 1 in ready, 2 in later, 0 in neither */
    TAILQ_ENTRY(kc_slicer) link;
};

static struct kc_slice_stats stats;
static struct sched *scheds; /* one per event_base that has slicers (one in the gateway) */

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

static void unqueue(struct kc_slicer *s)
{
    if (s->queued == 1)
        TAILQ_REMOVE(&s->sched->ready, s, link);
    else if (s->queued == 2)
        TAILQ_REMOVE(&s->sched->later, s, link);
    s->queued = 0;
}

static void enqueue(struct kc_slicer *s, int which)
{
    unqueue(s);
    TAILQ_INSERT_TAIL(which == 1 ? &s->sched->ready : &s->sched->later, s, link);
    s->queued = which;
}

static void arm(struct sched *sc)
{
    struct timeval now = {0, 0};
    evtimer_add(sc->ev, &now);
}

static void sched_free(struct sched *sc)
{
    for (struct sched **link = &scheds; *link; link = &(*link)->next)
        if (*link == sc) {
            *link = sc->next;
            break;
        }
    event_free(sc->ev);
    free(sc);
}

/* One turn's slice: steps of the ready slicers, round robin, until the budget is spent. */
static void on_turn(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct sched *sc = arg;
    struct kc_slicer *s;
    while ((s = TAILQ_FIRST(&sc->later)))
        enqueue(s, 1);
    int64_t wall0 = clock_us(CLOCK_MONOTONIC), cpu0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
    sc->in_turn = 1;
    while ((s = TAILQ_FIRST(&sc->ready))) {
        unqueue(s);
        sc->running = s;
        sc->running_freed = 0;
        int more = s->step(s->ctx);
        sc->running = NULL;
        if (!sc->running_freed) { /* else s is gone */
            if (more == KC_SLICE_NEXT_TURN)
                enqueue(s, 2);
            else if (more && !s->queued)
                enqueue(s, 1);
            /* 0: over, unless the step started it again (then it is queued) */
        }
        if (clock_us(CLOCK_MONOTONIC) - wall0 >= KC_SLICE_BUDGET_US)
            break;
    }
    sc->in_turn = 0;
    account(wall0, cpu0);
    if (sc->slicers == 0) {
        sched_free(sc);
        return;
    }
    if (TAILQ_FIRST(&sc->ready) || TAILQ_FIRST(&sc->later))
        arm(sc);
}

static struct sched *sched_for(struct event_base *base)
{
    for (struct sched *sc = scheds; sc; sc = sc->next)
        if (sc->base == base)
            return sc;
    struct sched *sc = calloc(1, sizeof *sc);
    if (!sc || !(sc->ev = evtimer_new(base, on_turn, sc))) {
        free(sc);
        return NULL;
    }
    sc->base = base;
    TAILQ_INIT(&sc->ready);
    TAILQ_INIT(&sc->later);
    sc->next = scheds;
    scheds = sc;
    return sc;
}

struct kc_slicer *kc_slicer_new(struct event_base *base, kc_slice_step_fn step, void *ctx)
{
    struct kc_slicer *s = calloc(1, sizeof *s);
    if (!s || !(s->sched = sched_for(base))) {
        free(s);
        return NULL;
    }
    s->sched->slicers++;
    s->step = step;
    s->ctx = ctx;
    return s;
}

void kc_slicer_start(struct kc_slicer *s)
{
    if (s->queued)
        return;
    enqueue(s, 1);
    if (!s->sched->in_turn)
        arm(s->sched);
}

void kc_slicer_free(struct kc_slicer *s)
{
    if (!s)
        return;
    struct sched *sc = s->sched;
    unqueue(s);
    if (sc->running == s)
        sc->running_freed = 1;
    free(s);
    if (--sc->slicers == 0 && !sc->in_turn)
        sched_free(sc);
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
