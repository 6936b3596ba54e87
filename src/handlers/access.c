/* handlers/access.c — the caller's side of roles: GET /api/whoami (identity, role per cluster
 * and the route table, for the console) and GET /api/audit (the trail, for admins). */
#include "kc/audit.h"
#include "kc/auth.h"
#include "kc/config.h"
#include "kc/gateway.h"
#include "kc/handlers.h"
#include "kc/http.h"
#include "kc/urlenc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_DEFAULT_LIMIT 200

void kc_handle_whoami(struct kc_gateway *gw, evhtp_request_t *req, const struct kc_identity *who)
{
    json_t *roles = json_object(), *groups = json_array(), *routes = json_object();
    for (size_t i = 0; roles && i < gw->cluster_count; i++)
        json_object_set_new(roles, gw->clusters[i].cfg->name,
                            json_string(kc_role_name(kc_identity_role(who, gw->clusters[i].cfg->name))));
    for (size_t i = 0; groups && i < who->group_count; i++)
        json_array_append_new(groups, json_string(who->groups[i]));
    size_t n;
    const struct kc_auth_route *table = kc_auth_routes(&n);
    for (size_t i = 0; routes && i < n; i++)
        json_object_set_new(routes, table[i].label,
                            json_pack("{s:s,s:s,s:b}", "role", kc_role_name(table[i].role), "what",
                                      table[i].what, "perCluster", table[i].cluster_scope));
    json_t *user = json_string(who->user);
    json_t *doc = json_pack("{s:o*,s:s,s:o*,s:o*,s:b,s:b,s:b,s:o*}", "user", user, "auth",
                            who->source, "groups", groups, "roles", roles, "admin",
                            kc_identity_role(who, NULL) == KC_ROLE_ADMIN, "readOnly",
                            gw->cfg->read_only, "authConfigured",
                            gw->cfg->auth != NULL || gw->cfg->auth_token != NULL, "routes", routes);
    if (!doc || !user) {
        json_decref(doc);
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    kc_reply_json(req, 200, doc);
    json_decref(doc);
}

/* ---- GET /api/audit ---- */

struct audit_op {
    struct kc_gateway *gw;
    struct kc_pending *pending;
    struct kc_audit_read *read;
    struct kc_audit_query q;
    char *user, *connector;
    unsigned char *admin_of; /* per gw->clusters index: the caller is admin there */
};

static void audit_op_free(struct audit_op *op)
{
    kc_audit_read_cancel(op->read);
    free(op->user);
    free(op->connector);
    free(op->admin_of);
    free(op);
}

/* An admin sees the records of the clusters they administer. */
static int visible(const char *cluster, void *ctx)
{
    struct audit_op *op = ctx;
    for (size_t i = 0; i < op->gw->cluster_count; i++)
        if (strcmp(op->gw->clusters[i].cfg->name, cluster) == 0)
            return op->admin_of[i];
    return 0;
}

static void reply_records(struct audit_op *op, evhtp_request_t *req, const json_t *records,
                          const char *source)
{
    json_t *out = json_array();
    if (out)
        kc_audit_filter(records, &op->q, visible, op, out);
    json_t *doc = out ? json_pack("{s:s,s:I,s:o}", "source", source, "limit",
                                  (json_int_t)op->q.limit, "records", out)
                      : NULL;
    if (doc)
        kc_reply_json(req, 200, doc);
    else
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
    json_decref(doc);
}

static void reply_local(struct audit_op *op, evhtp_request_t *req)
{
    json_t *records = kc_audit_local(op->gw->audit);
    if (!records) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    reply_records(op, req, records, "local");
    json_decref(records);
}

static void on_client_gone(void *arg)
{
    struct audit_op *op = arg;
    op->pending = NULL;
    audit_op_free(op);
}

static void on_fleet_records(const json_t *records, void *ctx)
{
    struct audit_op *op = ctx;
    op->read = NULL;
    evhtp_request_t *req = kc_pending_end(op->pending);
    op->pending = NULL;
    if (req) {
        /* Redis failed: this replica's own records are better than nothing. */
        if (records)
            reply_records(op, req, records, "fleet");
        else
            reply_local(op, req);
    }
    audit_op_free(op);
}

/* A decoded query parameter (new), NULL when absent; *bad on a broken escape. */
static char *query_param(evhtp_request_t *req, const char *name, int *bad)
{
    if (!req->uri || !req->uri->query)
        return NULL;
    const char *v = evhtp_kv_find(req->uri->query, name);
    if (!v || !*v)
        return NULL;
    char *out = kc_urldec_segment(v, strlen(v), bad);
    if (!out && !*bad)
        *bad = 2; /* out of memory */
    return out;
}

static int parse_count(const char *text, long long *out)
{
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

void kc_handle_audit(struct kc_gateway *gw, evhtp_request_t *req, const struct kc_identity *who)
{
    struct audit_op *op = calloc(1, sizeof *op);
    if (!op || !(op->admin_of = calloc(gw->cluster_count + 1, 1))) {
        free(op);
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    op->gw = gw;
    for (size_t i = 0; i < gw->cluster_count; i++)
        op->admin_of[i] = kc_identity_role(who, gw->clusters[i].cfg->name) == KC_ROLE_ADMIN;
    int bad = 0;
    char *since = query_param(req, "since", &bad);
    char *limit = query_param(req, "limit", &bad);
    op->user = query_param(req, "user", &bad);
    op->connector = query_param(req, "connector", &bad);
    op->q.user = op->user;
    op->q.connector = op->connector;
    long long v;
    op->q.limit = AUDIT_DEFAULT_LIMIT;
    if (!bad && since) {
        if (parse_count(since, &v) == 0)
            op->q.since_ms = v;
        else
            bad = 1;
    }
    if (!bad && limit) {
        if (parse_count(limit, &v) == 0 && v > 0)
            op->q.limit = (size_t)v;
        else
            bad = 1;
    }
    free(since);
    free(limit);
    if (bad) {
        audit_op_free(op);
        if (bad == 2)
            kc_reply_error(req, 503, "out_of_memory", "out of memory");
        else
            kc_reply_error(req, 400, "bad_request",
                           "since (epoch milliseconds) and limit (a positive count) are numbers; "
                           "user and connector are percent-encoded");
        return;
    }
    /* Fleet mode: the stream (answered on a later loop turn); else this replica's ring. */
    op->read = kc_audit_fleet_read(gw->audit, on_fleet_records, op);
    if (op->read && (op->pending = kc_pending_start(req, on_client_gone, op)))
        return;
    reply_local(op, req);
    audit_op_free(op); /* cancels a read whose wait could not start */
}
