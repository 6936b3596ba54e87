/* handlers/stream.c — GET /api/stream: one Server-Sent Events connection for every connector
 * and cluster summary a browser watches (its tabs share it); parsing and bounds only. */
#include "kc/auth.h"
#include "kc/config.h"
#include "kc/gateway.h"
#include "kc/handlers.h"
#include "kc/http.h"
#include "kc/metrics_service.h"
#include "kc/streamq.h"

#include <stdlib.h>

void kc_handle_stream(struct kc_gateway *gw, evhtp_request_t *req)
{
    const char *raw = req->uri && req->uri->query_raw ? (const char *)req->uri->query_raw : "";
    struct kc_streamq q;
    const char *code = "bad_request";
    char err[320];
    int status = kc_streamq_parse(raw, gw->cfg->stream_max_items, &q, &code, err, sizeof err);
    if (status) {
        kc_reply_error(req, status, code, "%s", err);
        return;
    }
    struct kc_stream_item *items = calloc(q.n, sizeof *items);
    uint64_t *ids = calloc(q.n, sizeof *ids);
    if (!items || !ids) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < q.n; i++) {
        items[i].cl = kc_gateway_cluster(gw, q.items[i].cluster);
        items[i].name = q.items[i].name;
        if (!items[i].cl) {
            kc_reply_error(req, 404, "unknown_cluster", "no cluster named \"%s\" is configured",
                           q.items[i].cluster);
            goto done;
        }
        /* The router let in a viewer of some cluster: each item needs viewer on its own. */
        const struct kc_identity *who = kc_routes_identity();
        char why[300];
        if (who && kc_auth_permit(who, q.items[i].cluster, KC_ROLE_VIEWER, "stream metrics", why,
                                  sizeof why) != 0) {
            kc_reply_error(req, 403, "forbidden", "%s", why);
            goto done;
        }
    }
    /* The browser's reconnect sends the last id back as Last-Event-ID; a client that opens a
     * new stream for a changed set passes the ids it has as lastEventId. An id list that does
     * not fit these items (another set, garbage) is ignored: every item starts afresh. */
    const char *h = kc_http_header(req, "Last-Event-ID");
    if (!(h && kc_streamq_ids(h, ids, q.n) == 0) && q.last_ids)
        kc_streamq_ids(q.last_ids, ids, q.n);
    for (size_t i = 0; i < q.n; i++)
        items[i].last_seq = ids[i];
    kc_metrics_serve_multi_stream(gw->metrics, req, items, q.n);
done:
    free(items);
    free(ids);
    kc_streamq_clear(&q);
}
