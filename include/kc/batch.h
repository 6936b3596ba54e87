/* kc/batch.h — the watched connectors of one cluster refreshed together: Connect's status of
 * each (or ONE expand list when that is cheaper), then ONE Jolokia bulk read per worker for all
 * of them (split above KC_BATCH_MAX_PER_POST connectors), then one document per connector.
 *
 * What it saves: N watched connectors on W workers cost N status calls and W bulk POSTs per
 * TTL, instead of N status calls and up to N × W POSTs when each refreshes on its own. */
#ifndef KC_BATCH_H
#define KC_BATCH_H

#include <stddef.h>

struct kc_gateway;
struct kc_cluster;
struct kc_collect_hooks;
struct kc_collect_result;
struct kc_batch;

/* Connectors per Jolokia POST: above it a worker's read is split (a bulk of 100 connectors is
 * ~700 read requests, ~90 KB of request; its answer a few hundred KB). */
#define KC_BATCH_MAX_PER_POST 100

/* How the batch asks Connect. */
enum kc_batch_connect {
    KC_BATCH_STATUS_EACH,  /* GET /connectors/{name}/status per connector */
    KC_BATCH_EXPAND_LIST,  /* ONE GET /connectors?expand=status&expand=info */
};

/* One connector's outcome. res is NULL when the batch could not decide it (its status call
 * failed, Connect is unreachable, it is missing from the expand list): the owner collects that
 * connector on its own, which gives the usual error documents. */
typedef void (*kc_batch_item_fn)(size_t index, const struct kc_collect_result *res, void *ctx);

struct kc_batch_stats {
    int connect_requests, jolokia_posts, split_posts; /* split: POSTs beyond one per agent */
    size_t list_connectors; /* connectors in the expand list read; 0 without one */
};
/* After every item has been called back. The batch is freed right after. */
typedef void (*kc_batch_done_fn)(const struct kc_batch_stats *st, void *ctx);

/* names[0..n) are copied. Returns NULL (nothing called back) on allocation failure or when
 * nothing could be sent. */
struct kc_batch *kc_collect_batch(struct kc_gateway *gw, struct kc_cluster *cl,
                                  const char *const *names, size_t n, enum kc_batch_connect how,
                                  const struct kc_collect_hooks *hooks, kc_batch_item_fn item,
                                  kc_batch_done_fn done, void *ctx);
/* Stops it: no callback runs after this. */
void kc_batch_cancel(struct kc_batch *b);

#endif
