/* kc/alerts.h — alert rules evaluated at each metrics collection (pure core), and the webhook
 * that POSTs each fire/resolve event through the upstream client (thin I/O shell). */
#ifndef KC_ALERTS_H
#define KC_ALERTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "kc/config.h"

struct kc_metrics_input;
struct kc_metrics_calc;

/* Defaults of the bounds (kc_alerts_set_limits changes them, e.g. in tests). */
#define KC_ALERTS_MAX_TRACKED 10000        /* connectors with a pending or firing rule */
#define KC_ALERTS_MAX_RESOLVED 200         /* recently resolved alerts kept per instance */
#define KC_ALERTS_RESOLVED_KEEP_MS 3600000 /* … and for at most this long */
#define KC_ALERTS_MAX_EVENTS 1024          /* transitions not yet taken (oldest dropped) */

/* ---- evaluator (src/alerts.c): plain data in, plain data out, no I/O ---- */

/* State per (cluster, connector, rule): idle → pending (condition holds, waiting `for`) →
 * firing → resolved (kept in a bounded list). Only connectors with a pending or firing rule
 * take memory. */
struct kc_alerts;

/* `rules` is borrowed and must outlive the evaluator (the config does). New; NULL on
 * allocation failure. */
struct kc_alerts *kc_alerts_new(const struct kc_alert_rule *rules, size_t n);
void kc_alerts_free(struct kc_alerts *a);
void kc_alerts_set_limits(struct kc_alerts *a, size_t max_tracked, size_t max_resolved,
                          int64_t resolved_keep_ms);

/* Evaluates every rule for the connector `in->status` of `cluster` (all borrowed) at now_ms
 * (epoch ms; also the `for` clock). Transitions are queued for kc_alerts_take_event.
 * Conditions that depend on Jolokia data (error rate, zero throughput, lag) hold their state
 * while the connector's agents fail: unknown is neither a fire nor a resolve. */
void kc_alerts_observe(struct kc_alerts *a, const char *cluster, const struct kc_metrics_input *in,
                       const struct kc_metrics_calc *calc, int64_t now_ms);

/* Connectors that disappeared, after a whole-cluster summary whose every row was observed at
 * since_ms or later: resolves (and forgets) every tracked connector of `cluster` not observed
 * since then. No lookups: asked "is it still there?" by binary search over the summary's rows,
 * 20,000 connectors took ~8 ms. */
void kc_alerts_sweep_unobserved(struct kc_alerts *a, const char *cluster, int64_t since_ms,
                                int64_t now_ms);
/* One connector that Connect no longer knows: resolves and forgets it. */
void kc_alerts_forget(struct kc_alerts *a, const char *cluster, const char *connector,
                      int64_t now_ms);

/* The oldest queued transition, taken (new reference; NULL when none):
 * {"event":"fire"|"resolve","cluster","connector","rule","kind","severity","message","value",
 *  "threshold","since","at"} plus "resolvedAt" on resolve; times RFC 3339. */
json_t *kc_alerts_take_event(struct kc_alerts *a);

/* New reference: {"cluster","rules":n,"active":[{"rule","kind","connector","severity",
 * "message","since","value","threshold"}],"resolved":[{…,"since","resolvedAt"}],
 * "dropped":n}. Active oldest first; resolved newest first. Resolved alerts older than the
 * keep time are pruned here. NULL on allocation failure. */
json_t *kc_alerts_json(struct kc_alerts *a, const char *cluster, int64_t now_ms);

/* One cluster's state, for the next evaluator of that cluster (fleet mode: another replica may
 * take the collection lease). Shape, compact because it is stored per cluster each collection:
 *   {"v":1,"rules":[name, …],
 *    "tracked":{connector:[[rule, "p"|"f", since, value, message], …], …},
 *    "resolved":[[connector, rule, since, resolvedAt, value, message], …]}
 * `rule` indexes "rules" (the exporter's rule names, in config order); "p" is pending since
 * (the `for` clock), "f" firing since; times epoch ms; resolved oldest first. Only connectors with
 * a pending or firing rule appear. New reference; NULL on allocation failure. */
json_t *kc_alerts_export(const struct kc_alerts *a, const char *cluster);
/* Replaces every tracked connector and resolved alert of `cluster` with `state` (borrowed; as
 * exported, possibly by another process running the same rules). Queues no events. Entries that
 * do not fit (a rule whose name differs from this evaluator's rule at that index, malformed,
 * duplicate) are skipped; the max_tracked bound holds (connectors past it count as dropped) and
 * the newest max_resolved resolved alerts of all clusters are kept. 0; -1 when state is not an
 * export (not an object, "v" not 1, a member missing or of the wrong type) or on allocation
 * failure, and a is then unchanged. */
int kc_alerts_import(struct kc_alerts *a, const char *cluster, const json_t *state);

/* Counters for tests and logs. */
size_t kc_alerts_tracked(const struct kc_alerts *a); /* connectors with state */
size_t kc_alerts_resolved_count(const struct kc_alerts *a);
size_t kc_alerts_dropped(const struct kc_alerts *a); /* untracked (cap) + dropped events */

/* The rule kind as written in the config file ("error_rate", …). */
const char *kc_alerts_kind_name(enum kc_alert_kind kind);

/* ---- webhook (src/alert_webhook.c) ---- */

struct event_base;
struct kc_upstream;
struct kc_alert_webhook;

#define KC_ALERT_WEBHOOK_QUEUE 256 /* events waiting; when full the oldest is dropped */
#define KC_ALERT_WEBHOOK_TRIES 5   /* attempts per event: backoff 1 s, 2 s, 4 s, 8 s */

/* Delivers events in order, one at a time, through `up` (pool "webhook"). `url` is copied and
 * never logged (webhook URLs often carry a token). base and up are borrowed and must outlive
 * the webhook. New; NULL on allocation failure. */
struct kc_alert_webhook *kc_alert_webhook_new(struct event_base *base, struct kc_upstream *up,
                                              const char *url);
/* Cancels the fetch in flight and every retry timer; queued events are dropped. */
void kc_alert_webhook_free(struct kc_alert_webhook *wh);
/* Queues `event` (borrowed; serialized now). Never blocks. 0, or -1 on allocation failure. */
int kc_alert_webhook_send(struct kc_alert_webhook *wh, const json_t *event);
/* Test/diagnostic counters. */
size_t kc_alert_webhook_queued(const struct kc_alert_webhook *wh);
/* Changes the first retry delay (doubles each try); tests use a short one. */
void kc_alert_webhook_set_backoff(struct kc_alert_webhook *wh, int64_t first_delay_ms);

#endif
