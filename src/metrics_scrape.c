/* metrics_scrape.c — GET /metrics: every cluster's summary (one collection per TTL however
 * many scrapers), rendered as Prometheus text in slices when big, then the gateway's own
 * families. */
#include "metrics_internal.h"

/* ---- Prometheus ---- */

static void scrape_free(struct prom_scrape *sc)
{
    for (size_t i = 0; i < sc->nlinks; i++) {
        if (sc->links[i].waiting) {
            LIST_REMOVE(&sc->links[i], link);
            sc->links[i].slot->entry->pins--;
        }
    }
    kc_slicer_free(sc->slicer);
    if (sc->out)
        fclose(sc->out);
    kc_textbuf_release_sliced(sc->ms->gw->base, &sc->text);
    for (size_t i = 0; sc->cl && i < sc->ncl; i++)
        kc_slice_json_decref(sc->ms->gw->base, (json_t *)(uintptr_t)sc->cl[i].summary);
    free(sc->cl);
    kc_gzip_job_free(sc->gz);
    free(sc);
}

static void on_scrape_gone(void *arg)
{
    struct prom_scrape *sc = arg;
    sc->pending = NULL;
    scrape_free(sc); /* the cancel path: a render in slices stops here */
}

/* Takes a reference to every summary and opens the text. 0, or -1 on OOM. */
static int render_begin(struct prom_scrape *sc, size_t *rows)
{
    *rows = 0;
    sc->out = kc_textbuf_open(&sc->text);
    sc->cl = calloc(sc->nlinks + 1, sizeof *sc->cl);
    if (!sc->out || !sc->cl)
        return -1;
    sc->ncl = sc->nlinks;
    for (size_t i = 0; i < sc->nlinks; i++) {
        struct slot *s = sc->links[i].slot;
        sc->cl[i].name = s->cl->cfg->name;
        sc->cl[i].summary = json_incref(s->summary);
        sc->cl[i].connect_up = s->entry->doc && s->entry->doc->status == 200;
        *rows += json_array_size(json_object_get(s->summary, "connectors"));
    }
    return 0;
}

/* The gateway's own families, after the connectors'. */
static void render_tail(struct prom_scrape *sc)
{
    struct kc_metrics_service *ms = sc->ms;
    FILE *out = sc->out;
    struct kc_upstream_stats up;
    kc_upstream_stats(ms->gw->upstream, &up);
    struct kc_stats_gauges g = {
        .open_connections = kc_server_connection_count(ms->gw->server),
        .idle_connections = kc_server_idle_connection_count(ms->gw->server),
        .inflight_requests = kc_pending_count(),
        .stream_subscribers = ms->subscribers,
        .stream_connections = ms->stream_count,
        .upstream_inflight = (size_t)up.inflight_now,
        .upstream_queued = (size_t)up.queued_now,
    };
    kc_stats_render(out, &g);
    kc_looplag_render(ms->gw->looplag, out);
    kc_slice_render(out);
    if (ms->gw->redis) {
        struct kc_redis_stats rs;
        kc_redis_stats(ms->gw->redis, &rs);
        kc_prom_render_redis(out, &rs);
        struct kc_fleet_stats fs;
        kc_fleet_stats(ms->fleet, &fs);
        kc_prom_render_fleet(out, &fs);
    }
}

/* One unit of the render: rows of text, then compression. 1 = more, 0 = done (or failed). */
static int render_step(struct prom_scrape *sc, size_t rows)
{
    if (!sc->rendered) {
        if (kc_prom_render_connectors_step(sc->out, sc->cl, sc->ncl, &sc->cur, rows))
            return 1;
        render_tail(sc);
        fclose(sc->out);
        sc->out = NULL;
        sc->rendered = 1;
        if (sc->gzip && sc->text.len > 1024 &&
            !(sc->gz = kc_gzip_job_new(sc->text.data, sc->text.len,
                                       sc->text.len > (256u << 10) ? KC_GZIP_FASTEST
                                                                   : KC_GZIP_FAST)))
            return 0;
        return sc->gz != NULL;
    }
    int rc = kc_gzip_job_step(sc->gz, rows == (size_t)-1 ? sc->text.len : 64u << 10);
    if (rc < 0) {
        kc_gzip_job_free(sc->gz); /* sent plain */
        sc->gz = NULL;
    }
    return rc == 1;
}

struct lent_scrape {
    struct event_base *base;
    struct kc_textbuf text;
    unsigned char *gz;
};

static void lent_scrape_release(void *arg)
{
    struct lent_scrape *ls = arg;
    kc_textbuf_release_sliced(ls->base, &ls->text);
    free(ls->gz);
    free(ls);
}

static void render_reply(struct prom_scrape *sc, evhtp_request_t *req)
{
    if (!sc->rendered) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    size_t gz_len = 0;
    unsigned char *gz = sc->gz ? kc_gzip_job_take(sc->gz, &gz_len) : NULL;
    /* The text (and its gzip form) go to the client without a copy; they are released when
     * sent. */
    struct lent_scrape *ls = malloc(sizeof *ls);
    if (!ls) {
        kc_reply_prepared(req, 200, "text/plain; version=0.0.4; charset=utf-8", sc->text.data,
                          sc->text.len, gz, gz_len);
        free(gz);
        return;
    }
    ls->base = sc->ms->gw->base;
    ls->text = sc->text;
    ls->gz = gz;
    memset(&sc->text, 0, sizeof sc->text);
    kc_reply_prepared_shared(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                             ls->text.data, ls->text.len, gz, gz_len, lent_scrape_release, ls);
}

static int on_render_slice(void *arg)
{
    struct prom_scrape *sc = arg;
    if (render_step(sc, PROM_ROWS_PER_STEP))
        return 1;
    evhtp_request_t *req = kc_pending_end(sc->pending);
    sc->pending = NULL;
    if (req)
        render_reply(sc, req);
    scrape_free(sc);
    return 0;
}

/* Renders and replies, in one go for small summaries, else in slices across loop turns (the
 * request stays pending; the scrape is freed when done or when its client leaves). Takes sc:
 * it is freed here or by the slices. `pending` is sc->pending when the request is paused. */
static void scrape_render(struct prom_scrape *sc, evhtp_request_t *req)
{
    size_t rows = 0;
    if (render_begin(sc, &rows) != 0) {
        if (sc->pending)
            kc_pending_end(sc->pending);
        sc->pending = NULL;
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        scrape_free(sc);
        return;
    }
    if (rows > PROM_SLICE_ROWS &&
        (sc->slicer = kc_slicer_new(sc->ms->gw->base, on_render_slice, sc)) &&
        (sc->pending || (sc->pending = kc_pending_start(req, on_scrape_gone, sc)))) {
        kc_slicer_start(sc->slicer);
        return;
    }
    while (render_step(sc, (size_t)-1))
        ;
    if (sc->pending)
        kc_pending_end(sc->pending);
    sc->pending = NULL;
    render_reply(sc, req);
    scrape_free(sc);
}

static void scrape_part_done(struct prom_scrape *sc)
{
    if (--sc->outstanding > 0)
        return;
    /* Rendering may take slices: the pending stays until the reply. */
    if (!kc_pending_request(sc->pending)) {
        kc_pending_end(sc->pending);
        sc->pending = NULL;
        scrape_free(sc);
        return;
    }
    scrape_render(sc, kc_pending_request(sc->pending));
}

void ms_notify_scrapes(struct slot *s)
{
    struct scrape_link *l;
    while ((l = LIST_FIRST(&s->scrapes))) {
        LIST_REMOVE(l, link);
        l->waiting = 0;
        s->entry->pins--;
        scrape_part_done(l->scrape);
    }
}

void kc_metrics_serve_prometheus(struct kc_metrics_service *ms, evhtp_request_t *req)
{
    size_t n = ms->gw->cluster_count;
    struct prom_scrape *sc = calloc(1, sizeof *sc + n * sizeof sc->links[0]);
    if (!sc) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    sc->ms = ms;
    sc->outstanding = 1; /* held while linking */
    int64_t now = kc_mono_ms();
    for (size_t i = 0; i < n; i++) {
        struct slot *s = ms_slot_get(ms, &ms->gw->clusters[i], NULL, 1);
        if (!s)
            continue;
        struct scrape_link *l = &sc->links[sc->nlinks++];
        l->scrape = sc;
        l->slot = s;
        if (s->entry->doc && now < s->entry->fresh_until_ms) {
            kc_stats_cache("cluster_metrics", KC_CACHE_HIT);
            if (now >= s->entry->refresh_from_ms)
                ms_schedule_refresh(s, now);
            continue;
        }
        kc_stats_cache("cluster_metrics", busy(s) ? KC_CACHE_COALESCED : KC_CACHE_MISS);
        l->waiting = 1;
        s->entry->pins++;
        LIST_INSERT_HEAD(&s->scrapes, l, link);
        sc->outstanding++;
        if (!busy(s))
            ms_start_collection(s, 0);
    }
    sc->gzip = kc_http_accepts_gzip(req);
    if (sc->outstanding == 1) {
        scrape_render(sc, req);
        return;
    }
    sc->pending = kc_pending_start(req, on_scrape_gone, sc);
    if (!sc->pending) {
        scrape_free(sc);
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    scrape_part_done(sc);
}
