/* metrics_batch.c — the batched refresh of watched connectors: each cluster's queue of slots
 * whose refresh ahead is due, run as ONE batch (kc/batch.h) when the earliest is due. */
#include "metrics_internal.h"

/* ---- batched refresh: the watched connectors of a cluster together ---- */

int ms_batching(const struct slot *s)
{
    /* Fleet mode keeps one lease per connector (a batch would need the fleet to agree on its
     * members): there each connector refreshes on its own. */
    return s->name && !s->ms->fleet && s->ms->batches;
}

static struct cluster_batch *batch_of(const struct slot *s)
{
    return &s->ms->batches[s->cl - s->ms->gw->clusters];
}

/* A batch starts this long before its earliest member expires: its last duration and a
 * quarter more, plus 20 ms (at most a fifth of the TTL). Less than a single connector's twice
 * its duration: a batch of hundreds takes ~100 ms, and twice that would make it run ~1.1 times
 * per TTL. A batch that runs late only makes readers of an expired member wait for it (they
 * join it: never a collection of their own). */
static int64_t batch_margin(const struct cluster_batch *cb)
{
    int64_t ttl = cb->ms->gw->cfg->metrics_ttl_ms;
    int64_t margin = cb->last_duration_ms + cb->last_duration_ms / 4 + 20;
    return margin > ttl / 5 ? ttl / 5 : margin;
}

static void batch_arm(struct cluster_batch *cb, int64_t now)
{
    struct timeval tv = kc_timeval_from_ms(cb->due_ms > now ? cb->due_ms - now : 0);
    evtimer_add(cb->timer, &tv);
}

/* Joins the next batch of its cluster; the batch runs when its earliest member is due. */
void ms_batch_enqueue(struct slot *s, int64_t now)
{
    struct cluster_batch *cb = batch_of(s);
    if (s->batch_state != BATCH_NONE)
        return;
    int64_t due = s->entry->fresh_until_ms - batch_margin(cb);
    s->batch_state = BATCH_QUEUED;
    LIST_INSERT_HEAD(&cb->queue, s, batch_link);
    if (cb->queued++ == 0 || due < cb->due_ms) {
        cb->due_ms = due;
        if (!cb->inflight)
            batch_arm(cb, now);
    }
}

void ms_batch_dequeue(struct slot *s)
{
    if (s->batch_state != BATCH_QUEUED)
        return;
    LIST_REMOVE(s, batch_link);
    batch_of(s)->queued--;
    s->batch_state = BATCH_NONE;
}

static void on_batch_item(size_t index, const struct kc_collect_result *res, void *arg)
{
    struct cluster_batch *cb = arg;
    struct slot *s = index < cb->nslots ? cb->slots[index] : NULL;
    if (!s)
        return;
    cb->slots[index] = NULL;
    s->batch_state = BATCH_NONE;
    if (!res) {
        /* The batch could not tell (its status call failed, …): on its own, with the usual
         * error documents. */
        s->entry->pins--;
        ms_start_local_collection(s);
        return;
    }
    ms_on_collected(res, s); /* takes the batch's pin */
}

static void on_batch_done(const struct kc_batch_stats *st, void *arg)
{
    struct cluster_batch *cb = arg;
    int64_t now = kc_mono_ms();
    kc_stats_batch(cb->nslots, (size_t)st->connect_requests, (size_t)st->jolokia_posts,
                   (size_t)st->split_posts);
    cb->inflight = NULL;
    cb->last_duration_ms = now - cb->started_ms;
    if (st->list_connectors)
        cb->cluster_size = st->list_connectors;
    KC_DEBUG("batch_collected", "{s:s,s:I,s:i,s:i,s:i,s:I}", "cluster", cb->cl->cfg->name,
             "connectors", (json_int_t)cb->nslots, "connect_requests", st->connect_requests,
             "jolokia_posts", st->jolokia_posts, "split_posts", st->split_posts, "duration_ms",
             (json_int_t)cb->last_duration_ms);
    free(cb->slots);
    cb->slots = NULL;
    cb->nslots = 0;
    if (cb->queued)
        batch_arm(cb, now);
}

/* Connect: a status call per connector, or ONE expand list when it costs less. The list carries
 * every connector of the cluster, so it pays off from a share of them on:
 * KC_BATCH_EXPAND_PERCENT (measured in test/bench part 8). The cluster's size is known from its
 * last summary or the last list a batch read; unknown, a batch of 64 or more asks for the list
 * (and so learns it). Below BATCH_EXPAND_MIN connectors the calls are too few to matter. */
#define BATCH_EXPAND_MIN 32
static enum kc_batch_connect batch_connect_way(struct cluster_batch *cb, size_t n)
{
    struct kc_metrics_service *ms = cb->ms;
    size_t percent = ms->gw->cfg->batch_expand_percent;
    if (percent > 100)
        return KC_BATCH_STATUS_EACH;
    struct slot *summary = ms_slot_get(ms, cb->cl, NULL, 0);
    size_t total = summary && summary->summary
                       ? json_array_size(json_object_get(summary->summary, "connectors"))
                       : cb->cluster_size;
    if (n < BATCH_EXPAND_MIN)
        return KC_BATCH_STATUS_EACH; /* a few calls: never worth a whole cluster's list */
    if (total == 0)
        return n >= 64 ? KC_BATCH_EXPAND_LIST : KC_BATCH_STATUS_EACH;
    return n * 100 >= total * percent ? KC_BATCH_EXPAND_LIST : KC_BATCH_STATUS_EACH;
}

void ms_on_batch_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct cluster_batch *cb = arg;
    struct kc_metrics_service *ms = cb->ms;
    if (cb->inflight || cb->queued == 0)
        return;
    size_t n = cb->queued;
    const char **names = calloc(n, sizeof *names);
    struct slot **slots = calloc(n, sizeof *slots);
    struct slot *s;
    if (!names || !slots) {
        free(names);
        free(slots);
        while ((s = LIST_FIRST(&cb->queue))) {
            ms_batch_dequeue(s);
            ms_start_local_collection(s);
        }
        return;
    }
    int64_t now = kc_mono_ms();
    size_t i = 0;
    while ((s = LIST_FIRST(&cb->queue))) {
        LIST_REMOVE(s, batch_link);
        s->batch_state = BATCH_INFLIGHT;
        s->batch_index = i;
        s->background = 1;
        s->collect_started_ms = now;
        s->entry->pins++;
        if (s->refresh_timer)
            evtimer_del(s->refresh_timer);
        slots[i] = s;
        names[i++] = s->name;
    }
    cb->queued = 0;
    cb->slots = slots;
    cb->nslots = n;
    cb->started_ms = now;
    cb->inflight = kc_collect_batch(ms->gw, cb->cl, names, n, batch_connect_way(cb, n),
                                    &ms->hooks, on_batch_item, on_batch_done, cb);
    free(names);
    if (cb->inflight)
        return;
    cb->slots = NULL;
    cb->nslots = 0;
    for (i = 0; i < n; i++) {
        slots[i]->batch_state = BATCH_NONE;
        slots[i]->entry->pins--;
        ms_start_local_collection(slots[i]);
    }
    free(slots);
}
