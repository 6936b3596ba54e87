/* alert_webhook.c — POSTs each alert event to the configured URL through the curl multi loop:
 * in order, one at a time, retried with exponential backoff, bounded queue, never blocking. */
#include "kc/alerts.h"

#include "kc/config.h"
#include "kc/log.h"
#include "kc/upstream.h"
#include "kc/timefmt.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define WEBHOOK_POOL "webhook"
#define WEBHOOK_FIRST_DELAY_MS 1000
#define WEBHOOK_MAX_RESPONSE 65536

/* The head of the queue moves through these; the rest are QUEUED. */
enum delivery_state {
    DELIVERY_QUEUED,  /* waiting for its turn */
    DELIVERY_SENDING, /* fetch in flight */
    DELIVERY_BACKOFF, /* retry timer armed */
};

struct delivery {
    char *body;
    size_t len;
    int tries;
    enum delivery_state state;
    TAILQ_ENTRY(delivery) link;
};

struct kc_alert_webhook {
    struct event_base *base;
    struct kc_upstream *up;
    char *url; /* never logged */
    struct kc_endpoint_cfg endpoint;
    TAILQ_HEAD(, delivery) queue;
    size_t queued;
    struct kc_fetch *fetch; /* the head's request in flight, or NULL */
    struct event *retry;    /* the head's backoff timer */
    int64_t first_delay_ms;
};

static void send_head(struct kc_alert_webhook *wh);

static void delivery_free(struct delivery *d)
{
    free(d->body);
    free(d);
}

static void drop_head(struct kc_alert_webhook *wh)
{
    struct delivery *d = TAILQ_FIRST(&wh->queue);
    if (!d)
        return;
    TAILQ_REMOVE(&wh->queue, d, link);
    wh->queued--;
    delivery_free(d);
}

/* 2xx delivered; 4xx other than 408/429 will not get better by repeating. */
static int worth_retrying(const struct kc_fetch_result *r)
{
    if (r->error != KC_FETCH_OK)
        return 1;
    return r->status >= 500 || r->status == 408 || r->status == 429;
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct kc_alert_webhook *wh = arg;
    send_head(wh);
}

static void on_posted(const struct kc_fetch_result *r, void *arg)
{
    struct kc_alert_webhook *wh = arg;
    struct delivery *d = TAILQ_FIRST(&wh->queue);
    wh->fetch = NULL;
    int ok = r->error == KC_FETCH_OK && r->status >= 200 && r->status < 300;
    if (ok) {
        KC_DEBUG("alert_webhook_delivered", "{s:i,s:i}", "status", (int)r->status, "tries",
                 d->tries);
        drop_head(wh);
    } else if (worth_retrying(r) && d->tries < KC_ALERT_WEBHOOK_TRIES) {
        int64_t delay = wh->first_delay_ms << (d->tries - 1);
        KC_WARN("alert_webhook_retry", "{s:s,s:i,s:i,s:I}", "error",
                r->error == KC_FETCH_OK ? "http_status" : kc_fetch_error_name(r->error), "status",
                (int)r->status, "tries", d->tries, "retry_in_ms", (json_int_t)delay);
        d->state = DELIVERY_BACKOFF;
        struct timeval tv = kc_timeval_from_ms(delay);
        evtimer_add(wh->retry, &tv);
        return;
    } else {
        KC_WARN("alert_webhook_failed", "{s:s,s:i,s:i}", "error",
                r->error == KC_FETCH_OK ? "http_status" : kc_fetch_error_name(r->error), "status",
                (int)r->status, "tries", d->tries);
        drop_head(wh);
    }
    send_head(wh);
}

/* Starts the head's next attempt unless one is already under way. */
static void send_head(struct kc_alert_webhook *wh)
{
    struct delivery *d;
    while ((d = TAILQ_FIRST(&wh->queue))) {
        if (wh->fetch || evtimer_pending(wh->retry, NULL))
            return;
        d->tries++;
        d->state = DELIVERY_SENDING;
        struct kc_fetch_request rq = {
            .method = "POST",
            .url = wh->url,
            .body = d->body,
            .body_len = d->len,
            .content_type = "application/json",
            .endpoint = &wh->endpoint,
            .pool = WEBHOOK_POOL,
            .max_response_bytes = WEBHOOK_MAX_RESPONSE,
        };
        enum kc_fetch_error why = KC_FETCH_OK;
        wh->fetch = kc_upstream_fetch(wh->up, &rq, on_posted, wh, &why);
        if (wh->fetch)
            return;
        /* Could not even queue (no memory, pool full): this event is lost, try the next. */
        KC_WARN("alert_webhook_failed", "{s:s,s:i}", "error", kc_fetch_error_name(why), "tries",
                d->tries);
        drop_head(wh);
    }
}

struct kc_alert_webhook *kc_alert_webhook_new(struct event_base *base, struct kc_upstream *up,
                                              const char *url)
{
    struct kc_alert_webhook *wh = calloc(1, sizeof *wh);
    if (!wh)
        return NULL;
    wh->base = base;
    wh->up = up;
    wh->first_delay_ms = WEBHOOK_FIRST_DELAY_MS;
    wh->endpoint.tls_verify = 1;
    wh->endpoint.connect_timeout_ms = 2000;
    wh->endpoint.total_timeout_ms = 5000;
    TAILQ_INIT(&wh->queue);
    wh->url = strdup(url);
    wh->retry = evtimer_new(base, on_retry_timer, wh);
    if (!wh->url || !wh->retry) {
        kc_alert_webhook_free(wh);
        return NULL;
    }
    return wh;
}

void kc_alert_webhook_free(struct kc_alert_webhook *wh)
{
    if (!wh)
        return;
    if (wh->fetch)
        kc_fetch_cancel(wh->fetch);
    if (wh->retry)
        event_free(wh->retry);
    while (TAILQ_FIRST(&wh->queue))
        drop_head(wh);
    free(wh->url);
    free(wh);
}

int kc_alert_webhook_send(struct kc_alert_webhook *wh, const json_t *event)
{
    struct delivery *d = calloc(1, sizeof *d);
    char *body = json_dumps(event, JSON_COMPACT);
    if (!d || !body) {
        free(d);
        free(body);
        return -1;
    }
    d->body = body;
    d->len = strlen(body);
    d->state = DELIVERY_QUEUED;
    if (wh->queued >= KC_ALERT_WEBHOOK_QUEUE) {
        /* Full: the oldest waiting event goes, never the one in flight (its fetch owns it). */
        struct delivery *old = TAILQ_FIRST(&wh->queue);
        if (old && old->state != DELIVERY_QUEUED)
            old = TAILQ_NEXT(old, link);
        if (old) {
            KC_WARN("alert_webhook_dropped", "{s:s,s:I}", "reason", "queue full", "queued",
                    (json_int_t)wh->queued);
            TAILQ_REMOVE(&wh->queue, old, link);
            wh->queued--;
            delivery_free(old);
        }
    }
    TAILQ_INSERT_TAIL(&wh->queue, d, link);
    wh->queued++;
    send_head(wh);
    return 0;
}

size_t kc_alert_webhook_queued(const struct kc_alert_webhook *wh)
{
    return wh ? wh->queued : 0;
}

void kc_alert_webhook_set_backoff(struct kc_alert_webhook *wh, int64_t first_delay_ms)
{
    if (wh && first_delay_ms > 0)
        wh->first_delay_ms = first_delay_ms;
}
