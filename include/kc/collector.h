/* kc/collector.h — one metrics collection: Connect's status, then ONE Jolokia bulk read per
 * worker involved, all on the loop; the result is a finished document (or the error body). */
#ifndef KC_COLLECTOR_H
#define KC_COLLECTOR_H

#include <jansson.h>

struct kc_gateway;
struct kc_cluster;
struct kc_collection;
struct kc_metrics_state;
struct kc_metrics_input;
struct kc_metrics_calc;

struct kc_collect_result {
    int status;      /* 200, or the error status of spec §5 (404, 503, 504, 502) */
    json_t *doc;     /* borrowed for the callback: the document or {"error","message"} */
    int degraded;    /* 200 with warnings (Jolokia failed): cache it briefly */
    int not_found;   /* Connect says the connector does not exist */
    int upstream_requests; /* Connect + Jolokia requests this collection made */
    /* Big documents (cluster summaries) come already serialised (KC_COLLECT_DUMP_FLAGS) and
     * compressed, both made in slices across loop turns; NULL otherwise. The callback may take
     * text->body and text->gz (set them to NULL); what is left is freed after it returns. */
    struct kc_collect_text *text;
    /* A summary's rows went to hooks.on_connector with this now_ms (epoch ms); 0 otherwise. */
    int64_t observed_ms;
};

struct kc_collect_text {
    char *body;            /* NUL-terminated */
    size_t len;
    unsigned char *gz;     /* gzip form, or NULL */
    size_t gz_len;
};

/* How documents are serialised (a sliced dump must give the same bytes as json_dumps). */
#define KC_COLLECT_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

/* Hooks into the owner (the metrics service): per-connector state and what each collection
 * computed for one connector (history samples, alerts, Prometheus). */
struct kc_collect_hooks {
    /* Borrowed state for `name`, created on demand; NULL if none can be kept. */
    struct kc_metrics_state *(*state_for)(void *owner, const char *cluster, const char *name);
    void (*on_connector)(void *owner, const char *cluster, const struct kc_metrics_input *in,
                         const struct kc_metrics_calc *calc);
    void *owner;
};

/* Called once unless cancelled; the collection is freed after the callback returns. */
typedef void (*kc_collect_done_fn)(const struct kc_collect_result *res, void *ctx);

struct kc_collection *kc_collect_connector(struct kc_gateway *gw, struct kc_cluster *cl,
                                           const char *name, const struct kc_collect_hooks *hooks,
                                           kc_collect_done_fn done, void *ctx);
/* Every connector of the cluster: ONE expand=status&expand=info call + one read per worker. */
struct kc_collection *kc_collect_cluster(struct kc_gateway *gw, struct kc_cluster *cl,
                                         const struct kc_collect_hooks *hooks,
                                         kc_collect_done_fn done, void *ctx);
void kc_collection_cancel(struct kc_collection *c);

/* Frees a parsed connector list, in slices across loop turns when it is big; *list is empty
 * at once. */
struct event_base;
struct kc_connector_list;
void kc_collect_list_dispose(struct event_base *base, struct kc_connector_list *list);

struct kc_fetch_result;
/* Why a Jolokia agent's answer gave nothing, as its warning says it ("connection refused",
 * "401 unauthorized (check …)", "HTTP 500"), written into buf; NULL for a 200 (parse it).
 * *outcome is the label of kconnect_upstream_requests_total ("ok" for a 200). */
const char *kc_collect_agent_failure(const struct kc_fetch_result *r, char *buf, size_t cap,
                                     const char **outcome);

#endif
