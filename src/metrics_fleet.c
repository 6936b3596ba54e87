/* metrics_fleet.c — fleet mode for the metrics service's slots: a collection goes through the
 * fleet's lease, a fresh stored document or another replica's publish is applied to the slot,
 * the lease holder stores its document, previous samples and the cluster's alert state
 * (kc/fleet.h has the Redis side).
 *
 * A big cluster summary never holds the loop (issue #14 §1). Applied (fleet_apply): its bytes
 * arrive in 256 KiB pieces (fleet.c) or as a reply taken from hiredis, never copied again;
 * the summary Prometheus needs is parsed 8 KiB per step (kc/summary_parse.h); the document,
 * summary and alerts go in together on a turn of their own; a newer document replaces the job
 * and the slot's end frees it. Stored (ms_fleet_store): the previous samples are written 512
 * rows per step, and fleet.c stages the envelope in pieces. Measured with the turn shim
 * (release build, 2 cores shared by three replicas, redis-server and connect-sim), the longest
 * loop turn of the replica applying a published or a stored summary, and of the holder
 * storing it (loop-thread CPU time; wall time the same on a quiet machine):
 *                      5,000 connectors (2.4 MB)       20,000 connectors (9.8 MB)
 *   replica, before    63-78 ms (one json_loadb)       243-304 ms
 *   holder, before     11-14 ms (state, 3 copies)      34-42 ms
 *   replica, after     2.5 ms                          2.5-3.6 ms
 *   holder, after      3.6-4.3 ms (the collection's    under 4 ms
 *                      sliced frees share its turns) */
#include "metrics_internal.h"

/* ---- fleet mode: state shared through Redis ---- */

/* How long a replica may hold a collection: every upstream step timed out, plus a second. */
int64_t ms_lease_ms(const struct kc_cluster *cl)
{
    return 2 * (int64_t)cl->cfg->connect.total_timeout_ms +
           (int64_t)cl->cfg->jolokia.total_timeout_ms + 1000;
}

/* State blob: "KS1 <last event id>\n", then per connector [u32 name length][name][u32 state
 * length][state] (kc_metrics_state encoding). A connector collection stores its own; a summary
 * the states of every connector it computed. */
#define STATE_MAGIC "KS1 "

static void blob_put_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t blob_get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Appends one connector's state to the blob at *buf (grown as needed). -1 on OOM. */
static int blob_add(char **buf, size_t *len, size_t *cap, const char *name,
                    const struct kc_metrics_state *st)
{
    size_t nlen = strlen(name), slen = kc_metrics_state_encoded_size(st);
    size_t need = *len + 8 + nlen + slen;
    if (need > *cap) {
        size_t ncap = *cap * 2 > need ? *cap * 2 : need;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = ncap;
    }
    unsigned char *p = (unsigned char *)*buf + *len;
    blob_put_u32(p, (uint32_t)nlen);
    memcpy(p + 4, name, nlen);
    blob_put_u32(p + 4 + nlen, (uint32_t)slen);
    kc_metrics_state_encode(st, p + 8 + nlen);
    *len = need;
    return 0;
}

/* A state blob being written: STATE_MAGIC "<seq>\n", then blob_add's records. */
struct state_blob {
    char *buf;
    size_t len, cap;
};

static int state_blob_begin(struct state_blob *b, uint64_t seq)
{
    b->cap = 4096;
    if (!(b->buf = malloc(b->cap)))
        return -1;
    b->len = (size_t)snprintf(b->buf, b->cap, STATE_MAGIC "%llu\n", (unsigned long long)seq);
    return 0;
}

/* The states of the summary's rows [from, to) (the connectors it computed). -1 on OOM. */
static int state_blob_rows(struct slot *s, const json_t *rows, size_t from, size_t to,
                           struct state_blob *b)
{
    for (size_t i = from; i < to; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(rows, i), "name"));
        struct slot *cs = name ? ms_slot_get(s->ms, s->cl, name, 0) : NULL;
        if (cs && cs->state && blob_add(&b->buf, &b->len, &b->cap, name, cs->state) != 0)
            return -1;
    }
    return 0;
}

/* Takes the stored states that are newer than ours: rates stay right when the collector moves
 * from one replica to another. */
static void state_blob_load(struct slot *s, const char *blob, size_t len)
{
    const char *nl = memchr(blob, '\n', len < 32 ? len : 32);
    if (!nl || len < 4 || memcmp(blob, STATE_MAGIC, 4) != 0)
        return;
    s->fleet_seq = strtoull(blob + 4, NULL, 10);
    const unsigned char *p = (const unsigned char *)nl + 1, *end = (const unsigned char *)blob + len;
    char name[1024];
    while (end - p >= 8) {
        uint32_t nlen = blob_get_u32(p);
        if (nlen >= sizeof name || (size_t)(end - p) < 8 + (size_t)nlen)
            return;
        uint32_t slen = blob_get_u32(p + 4 + nlen);
        if ((size_t)(end - p) - 8 - nlen < slen)
            return;
        memcpy(name, p + 4, nlen);
        name[nlen] = '\0';
        struct slot *cs = s->name ? (strcmp(s->name, name) == 0 ? s : NULL)
                                  : ms_slot_get(s->ms, s->cl, name, 1);
        if (cs && (cs->state || (cs->state = kc_metrics_state_new())))
            kc_metrics_state_merge(cs->state, p + 8 + nlen, slen);
        p += 8 + nlen + slen;
    }
}

struct fleet_apply;
static void fleet_apply_free(struct fleet_apply *job, int sliced);

/* ---- the lease holder's store ---- */

/* Above this many rows a summary's state blob is written in slices (20,000 rows: 11 ms in one
 * go — a slot lookup and an encoding per connector); a step takes 512 rows, ~0.3 ms. */
#define STORE_SLICE_ROWS 1024
#define STORE_ROWS_PER_STEP 512
/* The collection that just ended frees its structures in slices at the same time (slice.c's
 * budget is per slicer, not per turn): two full slices made 4-5 ms turns at 20,000 connectors.
 * Three steps (~1 ms) a turn keep the sum near 3 ms; the store is sent ~10 turns later. */
#define STORE_STEPS_PER_TURN 3

/* A big summary's store on its way: the state blob written in slices, then handed to the
 * fleet (which stages the envelope and the blob in pieces). Owned by the slot
 * (s->fleet_store); the slot's end or its next store drops it. */
struct fleet_store {
    struct slot *slot;
    struct kc_slicer *slicer;
    struct kc_doc *doc;      /* a reference: its bytes are the envelope's body and gzip */
    json_t *summary;         /* a reference: its rows name the connectors */
    size_t row;
    unsigned steps;
    struct state_blob blob;
    unsigned flags;          /* KC_FLEET_DOC_* */
    int64_t fresh_ms;
    char *alerts_doc, *alert_state;
};

static void doc_release(void *keep)
{
    kc_doc_unref(keep);
}

/* Hands the document, the state blob (taken; NULL: leave the stored one) and the alerts to the
 * fleet, which keeps the document's bytes (a reference) as long as it sends them. */
static void fleet_store_send(struct slot *s, struct kc_doc *d, unsigned flags, int64_t fresh_ms,
                             char *state, size_t state_len, const char *alerts_doc,
                             const char *alert_state)
{
    struct kc_fleet_doc fd = {
        .status = d->status,
        .flags = flags,
        .seq = d->seq,
        .made_ms = d->made_ms,
        .ttl_ms = fresh_ms,
        .body = d->body,
        .body_len = d->len,
        .gz = d->gz,
        .gz_len = d->gz_len,
        .alerts = alerts_doc,
        .alerts_len = alerts_doc ? strlen(alerts_doc) : 0,
    };
    struct kc_fleet_store st = {
        .doc = &fd, .doc_px = fresh_ms, .state = state, .state_len = state_len,
        .alerts_cluster = alert_state ? s->cl->cfg->name : NULL,
        .alert_state = alert_state, .alert_state_len = alert_state ? strlen(alert_state) : 0,
        .release = doc_release, .keep = kc_doc_ref(d),
    };
    kc_fleet_store(s->ms->fleet, s->entry->key, &st);
}

/* sliced: the summary may be the last reference to 20,000 rows (0 at the slot's end: the
 * service may be going away). */
static void fleet_store_free(struct fleet_store *job, int sliced)
{
    kc_slicer_free(job->slicer);
    kc_doc_unref(job->doc);
    if (sliced)
        kc_slice_json_decref(job->slot->ms->gw->base, job->summary);
    else
        json_decref(job->summary);
    free(job->blob.buf);
    free(job->alerts_doc);
    free(job->alert_state);
    free(job);
}

static int on_store_step(void *arg)
{
    struct fleet_store *job = arg;
    struct slot *s = job->slot;
    const json_t *rows = json_object_get(job->summary, "connectors");
    size_t n = json_array_size(rows), to = job->row + STORE_ROWS_PER_STEP;
    if (to > n)
        to = n;
    if (job->blob.buf && state_blob_rows(s, rows, job->row, to, &job->blob) != 0) {
        free(job->blob.buf); /* OOM: the fleet keeps the previous state */
        job->blob.buf = NULL;
    }
    job->row = to;
    if (to < n) /* a third of a slice per turn: see STORE_STEPS_PER_TURN */
        return ++job->steps % STORE_STEPS_PER_TURN ? 1 : KC_SLICE_NEXT_TURN;
    s->fleet_store = NULL;
    fleet_store_send(s, job->doc, job->flags, job->fresh_ms, job->blob.buf, job->blob.len,
                     job->alerts_doc, job->alert_state);
    job->blob.buf = NULL; /* taken */
    fleet_store_free(job, 1);
    return 0;
}

void ms_fleet_slot_end(struct slot *s)
{
    if (s->fleet_apply) {
        fleet_apply_free(s->fleet_apply, 0); /* the service may be going away: no slices */
        s->fleet_apply = NULL;
    }
    if (s->fleet_store) {
        fleet_store_free(s->fleet_store, 0);
        s->fleet_store = NULL;
    }
}

/* The lease holder leaves its document, states (and the cluster's alerts) for the fleet. A big
 * summary's state blob is written in slices first; the fleet sends big parts in pieces. */
void ms_fleet_store(struct slot *s, const struct kc_collect_result *res, struct kc_doc *d,
                    int64_t fresh_ms)
{
    struct kc_metrics_service *ms = s->ms;
    char *alerts_doc = NULL, *alert_state = NULL;
    if (!s->name && ms->alerts) {
        json_t *a = kc_metrics_service_alerts(ms, s->cl->cfg->name);
        json_t *st = kc_alerts_export(ms->alerts, s->cl->cfg->name);
        alerts_doc = a ? json_dumps(a, JSON_COMPACT) : NULL;
        alert_state = st ? json_dumps(st, JSON_COMPACT) : NULL;
        json_decref(a);
        json_decref(st);
        free(s->fleet_alerts);
        s->fleet_alerts = alerts_doc ? strdup(alerts_doc) : NULL;
    }
    unsigned flags = (res->status == 200 && !res->degraded ? KC_FLEET_DOC_GOOD : 0) |
                     (res->not_found ? KC_FLEET_DOC_NOT_FOUND : 0);
    if (s->fleet_store) { /* superseded: this one stores and releases the lease */
        fleet_store_free(s->fleet_store, 1);
        s->fleet_store = NULL;
    }
    const json_t *rows = json_object_get(res->doc, "connectors");
    struct fleet_store *job = NULL;
    if (res->status == 200 && !s->name && json_array_size(rows) > STORE_SLICE_ROWS &&
        (job = calloc(1, sizeof *job)) &&
        (job->slicer = kc_slicer_new(ms->gw->base, on_store_step, job)) &&
        state_blob_begin(&job->blob, d->seq) == 0) {
        job->slot = s;
        job->doc = kc_doc_ref(d);
        job->summary = json_incref(res->doc);
        job->flags = flags;
        job->fresh_ms = fresh_ms;
        job->alerts_doc = alerts_doc;
        job->alert_state = alert_state;
        s->fleet_store = job;
        kc_slicer_start(job->slicer);
        return;
    }
    if (job) {
        kc_slicer_free(job->slicer);
        free(job);
    }
    struct state_blob b = {0};
    if (res->status == 200 && state_blob_begin(&b, d->seq) == 0) {
        int rc = s->name ? (s->state ? blob_add(&b.buf, &b.len, &b.cap, s->name, s->state) : 0)
                         : state_blob_rows(s, rows, 0, json_array_size(rows), &b);
        if (rc != 0) {
            free(b.buf); /* OOM: the fleet keeps the previous state */
            b.buf = NULL;
        }
    }
    fleet_store_send(s, d, flags, fresh_ms, b.buf, b.len, alerts_doc, alert_state);
    free(alerts_doc);
    free(alert_state);
}

static void fleet_stop_waiting(struct slot *s)
{
    if (!s->fleet_waiting)
        return;
    s->fleet_waiting = 0;
    LIST_REMOVE(s, fleet_link);
    s->entry->pins--;
    if (s->fleet_timer)
        evtimer_del(s->fleet_timer);
}

/* ---- a document from the fleet, applied ---- */

/* Above this a published summary is parsed in slices (kc/summary_parse.h): json_loadb of a
 * 5,000-connector summary (2.4 MB) held the loop ~70 ms, of 20,000 (10 MB) ~250 ms. Below it
 * one json_loadb takes well under a millisecond. */
#define FLEET_SLICE_BYTES (64u << 10)
/* Summary text one step parses: ~0.3 ms (32 KiB took 1-1.8 ms, so a slice that looks at the
 * clock between steps overran its 2 ms by up to a step). */
#define FLEET_PARSE_STEP (8u << 10)

/* A big published summary on its way into its slot. The envelope's bytes — the buffer its
 * fetch filled piece by piece, or a reply's string taken from hiredis (not copied again: 11 MB
 * of fresh pages cost up to 10 ms) — become the document's block; the summary is parsed in
 * slices; only the last step installs it, so readers see the old document or the new one,
 * never half. Owned by the slot (s->fleet_apply), which it pins and keeps busy (readers wait
 * for it); a newer document or the slot's end cancels it. */
struct fleet_apply {
    struct slot *slot;
    struct kc_slicer *slicer;
    struct kc_summary_parser *parser; /* NULL once the parse ended */
    json_t *summary;                  /* the parsed summary; NULL if it did not parse */
    void *block;                      /* the envelope's bytes (ours) */
    size_t body_off, gz_off, alerts_off;
    struct kc_fleet_doc fd;           /* status, flags, seq, times, lengths (pointers unused) */
    int64_t fresh_until_ms, refresh_from_ms; /* monotonic, fixed when the publish came */
    int64_t started_ms;
    unsigned steps;
};

/* Drops the job (sliced: a partial summary of 20,000 rows is 20+ ms of free()). */
static void fleet_apply_free(struct fleet_apply *job, int sliced)
{
    struct event_base *base = job->slot->ms->gw->base;
    json_t *partial = job->parser ? kc_summary_parser_take(job->parser) : NULL;
    kc_summary_parser_free(job->parser);
    if (sliced) {
        kc_slice_json_decref(base, partial);
        kc_slice_json_decref(base, job->summary);
    } else {
        json_decref(partial);
        json_decref(job->summary);
    }
    kc_slicer_free(job->slicer);
    free(job->block);
    free(job);
}

/* Puts the fleet's document d (taken) into slot s as the current one, with the parsed summary
 * (taken; NULL keeps the previous one for Prometheus) and the alerts of fd, then hands it on to
 * waiters, streams and scrapes. */
static void fleet_install(struct slot *s, const struct kc_fleet_doc *fd, struct kc_doc *d,
                          json_t *summary, int64_t fresh, int64_t refresh_from)
{
    struct kc_metrics_service *ms = s->ms;
    d->seq = fd->seq; /* kc_doccache_set_doc raises it above ours if a local fallback passed it */
    d->made_ms = fd->made_ms;
    if (fd->seq > s->fleet_seq)
        s->fleet_seq = fd->seq;
    if (!s->name) {
        if (summary) { /* Prometheus renders from the parsed summary */
            kc_slice_json_decref(ms->gw->base, s->summary);
            s->summary = summary;
        }
        free(s->fleet_alerts);
        s->fleet_alerts = NULL;
        if (fd->alerts_len && (s->fleet_alerts = malloc(fd->alerts_len + 1))) {
            memcpy(s->fleet_alerts, fd->alerts, fd->alerts_len);
            s->fleet_alerts[fd->alerts_len] = '\0';
        }
    } else {
        json_decref(summary);
    }
    kc_doccache_set_doc(ms->cache, s->entry, d, fresh, refresh_from);
    kc_fleet_count_applied(ms->fleet);
    ms_after_new_doc(s, (fd->flags & KC_FLEET_DOC_NOT_FOUND) != 0, kc_mono_ms());
}

/* The job's last step, on a turn of its own: the document and summary go in at once. */
static void fleet_apply_finish(struct fleet_apply *job)
{
    struct slot *s = job->slot;
    s->fleet_apply = NULL;
    s->entry->pins--;
    struct kc_fleet_doc fd = job->fd;
    char *block = job->block;
    fd.alerts = fd.alerts_len ? block + job->alerts_off : NULL; /* read before block is gone */
    struct kc_doc *cur = s->entry->doc;
    if (cur && (fd.seq == cur->seq || fd.made_ms < cur->made_ms)) {
        /* Something newer came in meanwhile (nothing should while the job keeps the slot
         * busy): keep it, answer whoever waits. */
        fleet_apply_free(job, 1);
        ms_deliver(s);
        ms_notify_scrapes(s);
        return;
    }
    struct kc_doc *d = kc_doc_new_in_block_take(
        fd.status, block, block + job->body_off, fd.body_len,
        fd.gz_len ? (unsigned char *)block + job->gz_off : NULL, fd.gz_len);
    json_t *summary = job->summary;
    int64_t fresh = job->fresh_until_ms, refresh_from = job->refresh_from_ms;
    job->block = NULL; /* d's now (or freed, if d could not be made) */
    job->summary = NULL;
    KC_DEBUG("fleet_summary_applied", "{s:s,s:I,s:I,s:i,s:I}", "cluster", s->cl->cfg->name,
             "seq", (json_int_t)fd.seq, "bytes", (json_int_t)fd.body_len, "steps", job->steps,
             "ms", (json_int_t)(kc_mono_ms() - job->started_ms));
    fleet_apply_free(job, 1);
    if (!d) { /* OOM: like a lost publish */
        kc_slice_json_decref(s->ms->gw->base, summary);
        if (s->entry->doc) {
            ms_deliver(s);
            ms_notify_scrapes(s);
        } else if (!TAILQ_EMPTY(&s->waiters) || !LIST_EMPTY(&s->scrapes)) {
            ms_start_collection(s, 0);
        }
        return;
    }
    fleet_install(s, &fd, d, summary, fresh, refresh_from); /* fd.alerts: in d's block */
}

static int on_apply_step(void *arg)
{
    struct fleet_apply *job = arg;
    job->steps++;
    if (job->parser) {
        int rc = kc_summary_parser_step(job->parser, FLEET_PARSE_STEP);
        if (rc == 1)
            return 1;
        json_t *doc = kc_summary_parser_take(job->parser);
        kc_summary_parser_free(job->parser);
        job->parser = NULL;
        if (rc == 0) {
            job->summary = doc;
        } else {
            /* As json_loadb failing did: the document is served, Prometheus keeps the last. */
            kc_slice_json_decref(job->slot->ms->gw->base, doc);
            KC_WARN("fleet_summary_unparsed", "{s:s,s:I}", "cluster", job->slot->cl->cfg->name,
                    "bytes", (json_int_t)job->fd.body_len);
        }
        return KC_SLICE_NEXT_TURN; /* the install gets a turn of its own */
    }
    fleet_apply_finish(job); /* frees the job and its slicer */
    return 0;
}

/* Starts applying the summary fd of slot s in slices. 0, or -1 when it cannot (the bytes are
 * not Redis's to take, OOM): the caller applies it at once. On success the slot is busy until
 * the job installs the document or is cancelled. */
static int fleet_apply_start(struct slot *s, const struct kc_fleet_doc *fd, int64_t fresh,
                             int64_t refresh_from)
{
    struct fleet_apply *job = calloc(1, sizeof *job);
    if (!job)
        return -1;
    job->slot = s;
    if (!(job->slicer = kc_slicer_new(s->ms->gw->base, on_apply_step, job)) ||
        !(job->block = kc_fleet_doc_take_bytes(fd))) {
        kc_slicer_free(job->slicer);
        free(job);
        return -1;
    }
    const char *block = job->block; /* the envelope (after the message's key) lies inside */
    job->body_off = (size_t)(fd->body - block);
    job->gz_off = fd->gz_len ? (size_t)((const char *)fd->gz - block) : 0;
    job->alerts_off = fd->alerts_len ? (size_t)(fd->alerts - block) : 0;
    job->fd = *fd;
    job->fd.body = NULL, job->fd.gz = NULL, job->fd.alerts = NULL;
    job->fd.src_redis = NULL, job->fd.src_reply = NULL;
    job->fresh_until_ms = fresh;
    job->refresh_from_ms = refresh_from;
    job->started_ms = kc_mono_ms();
    /* Without a parser (OOM) the first step installs the document as a failed parse would:
     * served, and Prometheus keeps the last summary. */
    job->parser = kc_summary_parser_new(block + job->body_off, fd->body_len);
    s->fleet_apply = job;
    s->entry->pins++;
    kc_slicer_start(job->slicer);
    return 0;
}

/* A document from the fleet (a fresh one in Redis, or another replica's publish), valid for
 * remaining_ms more. Older than ours (or ours, echoed back): only its freshness counts. A big
 * summary is applied in slices; a newer one arriving meanwhile replaces that job. */
static void fleet_apply(struct slot *s, const struct kc_fleet_doc *fd, int64_t remaining_ms)
{
    struct kc_metrics_service *ms = s->ms;
    int64_t now = kc_mono_ms();
    int64_t ttl = ms->gw->cfg->metrics_ttl_ms;
    if (remaining_ms > ttl)
        remaining_ms = ttl;
    int64_t fresh = now + remaining_ms;
    int64_t refresh_from = fd->flags & KC_FLEET_DOC_GOOD ? fresh - ttl / 5 : fresh;
    struct fleet_apply *job = s->fleet_apply;
    if (job && (fd->seq == job->fd.seq || fd->made_ms < job->fd.made_ms)) {
        /* The one being applied (as Redis holds it), or older: the job stands. */
        if (fd->seq == job->fd.seq && fresh > job->fresh_until_ms) {
            job->fresh_until_ms = fresh;
            job->refresh_from_ms = refresh_from;
        }
        return;
    }
    struct kc_doc *cur = s->entry->doc;
    int known = cur && (fd->seq == cur->seq || fd->made_ms < cur->made_ms);
    if ((fd->flags & KC_FLEET_DOC_NOTICE) && !known) {
        /* A big one, only announced: fetched in pieces, it comes back here whole (or, if it
         * was replaced meanwhile, its successor's notice does). The slot keeps waiting. */
        kc_fleet_fetch(ms->fleet, s->entry->key, fd);
        return;
    }
    if (job) {
        KC_DEBUG("fleet_apply_superseded", "{s:s,s:I,s:I}", "cluster", s->cl->cfg->name,
                 "seq", (json_int_t)job->fd.seq, "by", (json_int_t)fd->seq);
        s->fleet_apply = NULL;
        s->entry->pins--;
        fleet_apply_free(job, 1);
    }
    fleet_stop_waiting(s);
    if (known) {
        if (fd->seq == cur->seq && fresh > s->entry->fresh_until_ms) {
            s->entry->fresh_until_ms = fresh;
            s->entry->refresh_from_ms = refresh_from;
        }
        ms_deliver(s);
        ms_notify_scrapes(s);
        if (s->subscriber_count > 0)
            ms_schedule_refresh(s, now);
        return;
    }
    if (!s->name && fd->status == 200 && fd->body_len > FLEET_SLICE_BYTES &&
        fleet_apply_start(s, fd, fresh, refresh_from) == 0)
        return;
    char *body = malloc(fd->body_len + 1);
    unsigned char *gz = fd->gz_len ? malloc(fd->gz_len) : NULL;
    if (!body || (fd->gz_len && !gz)) {
        free(body);
        free(gz);
        return; /* like a lost publish: the wait times out and the slot asks again */
    }
    memcpy(body, fd->body, fd->body_len);
    body[fd->body_len] = '\0';
    if (gz)
        memcpy(gz, fd->gz, fd->gz_len);
    struct kc_doc *d = kc_doc_new_take_gz(fd->status, body, fd->body_len, gz, fd->gz_len);
    if (!d)
        return;
    json_t *summary = !s->name && fd->status == 200 ? json_loadb(fd->body, fd->body_len, 0, NULL)
                                                    : NULL;
    fleet_install(s, fd, d, summary, fresh, refresh_from);
}

/* The lease holder died or its publish was lost: ask again (a fresh document, or the lease). */
static void on_fleet_wait_over(evutil_socket_t fd, short what, void *arg)
{
    struct slot *s = arg;
    fleet_stop_waiting(s);
    kc_fleet_count_expired_wait(s->ms->fleet);
    ms_start_collection(s, s->background);
}

static void fleet_wait(struct slot *s, int64_t lease_left_ms)
{
    if (!s->fleet_timer && !(s->fleet_timer = evtimer_new(s->ms->gw->base, on_fleet_wait_over, s))) {
        kc_fleet_count_fallback(s->ms->fleet);
        ms_start_local_collection(s);
        return;
    }
    s->fleet_waiting = 1;
    LIST_INSERT_HEAD(&s->ms->fleet_waiting, s, fleet_link);
    s->entry->pins++;
    struct timeval tv = kc_timeval_from_ms(lease_left_ms + 50);
    evtimer_add(s->fleet_timer, &tv);
}

/* The lease is ours: the previous samples (and the cluster's alert state) the last holder
 * stored become ours, then this replica collects for the fleet. */
static void fleet_won(struct slot *s, const struct kc_fleet_acquired *a)
{
    struct kc_metrics_service *ms = s->ms;
    if (a->state_len)
        state_blob_load(s, a->state, a->state_len);
    if (!s->name && ms->alerts && a->alert_state_len) {
        json_t *st = json_loadb(a->alert_state, a->alert_state_len, 0, NULL);
        if (st)
            kc_alerts_import(ms->alerts, s->cl->cfg->name, st);
        json_decref(st);
    }
    s->fleet_holder = 1;
    ms_start_local_collection(s);
}

void ms_on_fleet_acquired(const struct kc_fleet_acquired *a, void *arg)
{
    struct slot *s = arg;
    s->fleet_op = NULL;
    s->entry->pins--;
    switch (a->outcome) {
    case KC_FLEET_HIT:
        fleet_apply(s, &a->doc, a->remaining_ms);
        break;
    case KC_FLEET_WON:
        fleet_won(s, a);
        break;
    case KC_FLEET_LOST:
        fleet_wait(s, a->remaining_ms);
        break;
    case KC_FLEET_ERROR:
    default:
        kc_fleet_count_fallback(s->ms->fleet);
        ms_start_local_collection(s);
        break;
    }
}

/* Redis left: whoever waits for another replica's publish collects here instead. */
void ms_on_redis_change(int ready, void *arg)
{
    struct kc_metrics_service *ms = arg;
    if (ready)
        return;
    struct slot *s;
    while ((s = LIST_FIRST(&ms->fleet_waiting))) {
        fleet_stop_waiting(s);
        kc_fleet_count_fallback(ms->fleet);
        ms_start_local_collection(s);
    }
}

/* A document some replica published: the slots here that want this key take it (waiters,
 * streams, a local copy to serve); a key nobody asked for here is not kept. */
void ms_on_fleet_doc(const char *key, size_t key_len, const struct kc_fleet_doc *doc,
                     void *ctx)
{
    struct kc_metrics_service *ms = ctx;
    char buf[256];
    char *k = key_len < sizeof buf ? buf : malloc(key_len + 1);
    if (!k)
        return;
    memcpy(k, key, key_len);
    k[key_len] = '\0';
    struct kc_doccache_entry *e = kc_doccache_get(ms->cache, k);
    if (k != buf)
        free(k);
    if (e && e->user && !((struct slot *)e->user)->collection)
        fleet_apply(e->user, doc, doc->ttl_ms);
}

json_t *kc_metrics_service_fleet_json(const struct kc_metrics_service *ms)
{
    struct kc_fleet_stats f;
    kc_fleet_stats(ms->fleet, &f);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "hits", (json_int_t)f.hits,
                     "leaseWins", (json_int_t)f.lease_wins, "leaseLosses",
                     (json_int_t)f.lease_losses, "leaseExpiredWaits",
                     (json_int_t)f.lease_expired_waits, "published", (json_int_t)f.published,
                     "received", (json_int_t)f.received, "applied", (json_int_t)f.applied,
                     "localFallbacks", (json_int_t)f.local_fallbacks, "errors",
                     (json_int_t)f.errors);
}
