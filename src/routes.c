/* routes.c — the router: health probes, CORS, API identity and roles, then the handler for the
 * path. Paths are matched segment by segment; names are percent-decoded exactly once here. */
#include "kc/auth.h"
#include "kc/config.h"
#include "kc/gateway.h"
#include "kc/handlers.h"
#include "kc/http.h"
#include "kc/log.h"
#include "kc/static_files.h"
#include "kc/urlenc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *request_path(evhtp_request_t *req)
{
    return req->uri && req->uri->path && req->uri->path->full ? req->uri->path->full : "/";
}

static int method_is(evhtp_request_t *req, htp_method m)
{
    return evhtp_request_get_method(req) == m;
}

static const char *allowed_origin(struct kc_gateway *gw, evhtp_request_t *req)
{
    const char *origin = kc_http_header(req, "Origin");
    if (!origin)
        return NULL;
    for (size_t i = 0; i < gw->cfg->cors_origin_count; i++)
        if (strcmp(gw->cfg->cors_origins[i], "*") == 0 ||
            strcasecmp(gw->cfg->cors_origins[i], origin) == 0)
            return origin;
    return NULL;
}

/* Returns 1 when the request was answered (preflight). */
static int handle_cors(struct kc_gateway *gw, evhtp_request_t *req)
{
    const char *origin = allowed_origin(gw, req);
    int preflight = method_is(req, htp_method_OPTIONS) &&
                    kc_http_header(req, "Access-Control-Request-Method") != NULL;
    if (origin) {
        kc_reply_header(req, "Access-Control-Allow-Origin", origin);
        kc_reply_header_const(req, "Vary", "Origin");
    }
    if (!preflight)
        return 0;
    kc_http_note_route(req, "cors_preflight");
    if (!origin) {
        kc_reply_error(req, 403, "cors_forbidden", "origin not allowed");
        return 1;
    }
    kc_reply_header_const(req, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
    kc_reply_header_const(req, "Access-Control-Allow-Headers", "Content-Type, Authorization");
    kc_reply_header_const(req, "Access-Control-Max-Age", "600");
    kc_reply_empty(req, 204);
    return 1;
}

/* Who calls: a bearer token in the Authorization header, or — for GETs only, because a
 * browser's EventSource cannot send headers — an access_token query parameter, or a user that
 * a trusted proxy forwards. Queries are never logged, so a token reaches no log either way. */
static enum kc_auth_result identify(struct kc_gateway *gw, evhtp_request_t *req,
                                    struct kc_identity *who)
{
    const struct kc_auth_cfg *a = gw->cfg->auth;
    struct kc_auth_request in = {0};
    in.authorization = kc_http_header(req, "Authorization");
    in.peer = req->conn ? req->conn->saddr : NULL;
    if (a) {
        in.user = kc_http_header(req, a->user_header);
        in.groups = kc_http_header(req, a->groups_header);
    }
    char *query_token = NULL;
    if (!in.authorization && method_is(req, htp_method_GET) && req->uri && req->uri->query) {
        const char *q = evhtp_kv_find(req->uri->query, "access_token");
        int bad = 0;
        if (q)
            in.query_token = (query_token = kc_urldec_segment(q, strlen(q), &bad)) ? query_token
                                                                                  : "";
    }
    enum kc_auth_result r = kc_auth_identify(a, gw->cfg->auth_token, &in, who);
    if (query_token) {
        memset(query_token, 0, strlen(query_token));
        free(query_token);
    }
    return r;
}

static void reply_unauthorized(struct kc_gateway *gw, evhtp_request_t *req,
                               enum kc_auth_result r)
{
    const struct kc_auth_cfg *a = gw->cfg->auth;
    int tokens = gw->cfg->auth_token || (a && a->token_count);
    int proxy = a && a->proxy_count;
    kc_http_note_route(req, "unauthorized");
    kc_reply_header_const(req, "WWW-Authenticate", "Bearer realm=\"kconnect-console\"");
    /* For the console: ask for a token, or send the user through the proxy. */
    kc_reply_header_const(req, "X-Sign-In", tokens && proxy ? "token, proxy"
                                            : proxy         ? "proxy"
                                                            : "token");
    if (r == KC_AUTH_BAD_TOKEN)
        kc_reply_error(req, 401, "unauthorized", "the bearer token is not valid");
    else if (proxy && tokens)
        kc_reply_error(req, 401, "unauthorized",
                       "sign in through the proxy, or send a valid bearer token");
    else if (proxy)
        kc_reply_error(req, 401, "unauthorized", "sign in through the proxy");
    else
        kc_reply_error(req, 401, "unauthorized", "a valid bearer token is required");
}

/* The role a route needs (the table in auth.c; a route it does not know answers GET only and
 * needs viewer): 1 when refused with 403. cluster NULL = a route of no cluster. */
static int refused(evhtp_request_t *req, const struct kc_identity *who, const char *cluster,
                   const char *label)
{
    const struct kc_auth_route *r = kc_auth_route(label);
    char msg[300];
    if (kc_auth_permit(who, cluster, r ? r->role : KC_ROLE_VIEWER, r ? r->what : "read this",
                       msg, sizeof msg) == 0)
        return 0;
    kc_reply_error(req, 403, "forbidden", "%s", msg);
    return 1;
}

/* The identity of the request being dispatched, for handlers that need it synchronously. */
static const struct kc_identity *current_identity;

const struct kc_identity *kc_routes_identity(void)
{
    return current_identity;
}

/* Splits "a/b%20c/d" into decoded segments, written one after the other into text, which
 * holds strlen(rest) + 1 bytes (each decoded segment and its NUL fit where its encoding and
 * the slash after it were). Returns 0, or an HTTP status to reply with. */
static int split_segments(const char *rest, struct kc_api_path *p, char *text)
{
    p->nseg = 0;
    while (*rest == '/')
        rest++;
    while (*rest) {
        const char *end = strchr(rest, '/');
        size_t len = end ? (size_t)(end - rest) : strlen(rest);
        if (p->nseg == KC_API_MAX_SEGMENTS)
            return 404;
        long n = kc_urldec_segment_into(rest, len, text);
        if (n < 0)
            return 400;
        p->seg[p->nseg++] = text;
        text += n + 1;
        if (!end)
            break;
        rest = end + 1;
        if (*rest == '\0') /* a trailing slash is ignored, as Jersey does */
            break;
    }
    return 0;
}

/* The gateway's own routes under /api/{cluster}/; "*" matches any one segment (a connector
 * name). Everything else under the cluster is Kafka Connect's, proxied. All are read-only. */
static const struct {
    const char *pattern[4];
    const char *label;
    void (*handle)(struct kc_gateway *, evhtp_request_t *, const struct kc_api_path *);
} cluster_routes[] = {
    {{"metrics"}, "cluster_metrics", kc_handle_cluster_metrics},
    {{"alerts"}, "alerts", kc_handle_alerts},
    {{"connectors", "*", "metrics"}, "connector_metrics", kc_handle_connector_metrics},
    {{"connectors", "*", "metrics", "history"}, "connector_history", kc_handle_connector_history},
    {{"connectors", "*", "metrics", "stream"}, "connector_stream", kc_handle_connector_stream},
};

static int pattern_matches(const char *const pattern[4], const struct kc_api_path *p)
{
    size_t n = 0;
    while (n < 4 && pattern[n])
        n++;
    if (n != p->nseg)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(pattern[i], "*") != 0 && strcmp(pattern[i], p->seg[i]) != 0)
            return 0;
    return 1;
}

static void dispatch_cluster(struct kc_gateway *gw, evhtp_request_t *req, struct kc_api_path *p)
{
    for (size_t i = 0; i < sizeof cluster_routes / sizeof cluster_routes[0]; i++) {
        if (!pattern_matches(cluster_routes[i].pattern, p))
            continue;
        kc_http_note_route(req, cluster_routes[i].label);
        if (!method_is(req, htp_method_GET) && !method_is(req, htp_method_HEAD)) {
            kc_reply_header_const(req, "Allow", "GET, HEAD");
            kc_reply_error(req, 405, "method_not_allowed", "this route only answers GET");
            return;
        }
        if (refused(req, p->who, p->cluster->cfg->name, cluster_routes[i].label))
            return;
        cluster_routes[i].handle(gw, req, p);
        return;
    }
    kc_handle_proxy(gw, req, p);
}

static void dispatch_api(struct kc_gateway *gw, evhtp_request_t *req, const char *path,
                         const struct kc_identity *who)
{
    const char *rest = path + 4; /* after "/api" */
    if (*rest == '/')
        rest++;
    const char *slash = strchr(rest, '/');
    size_t first_len = slash ? (size_t)(slash - rest) : strlen(rest);
    char first[80];
    if (first_len == 0 || first_len >= sizeof first) {
        kc_http_note_route(req, "api_unknown");
        kc_reply_error(req, 404, "not_found", "no such API route");
        return;
    }
    memcpy(first, rest, first_len);
    first[first_len] = '\0';
    int get = method_is(req, htp_method_GET) || method_is(req, htp_method_HEAD);
    const char *tail = slash ? slash : "";

    static const struct {
        const char *first, *tail, *route;
        void (*fn)(struct kc_gateway *, evhtp_request_t *);
    } fixed[] = {
        {"settings", "", "settings", kc_handle_settings},
        {"clusters", "", "clusters", kc_handle_clusters},
        {"gateway", "/health", "gateway_health", kc_handle_gateway_health},
        {"stream", "", "stream", kc_handle_stream},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(first, fixed[i].first) == 0 && strcmp(tail, fixed[i].tail) == 0) {
            kc_http_note_route(req, fixed[i].route);
            if (!get) {
                kc_reply_header_const(req, "Allow", "GET, HEAD");
                kc_reply_error(req, 405, "method_not_allowed", "this route only answers GET");
                return;
            }
            if (refused(req, who, NULL, fixed[i].route))
                return;
            fixed[i].fn(gw, req);
            return;
        }
    }
    /* The gateway's routes about the caller. */
    static const struct {
        const char *first, *route;
        void (*fn)(struct kc_gateway *, evhtp_request_t *, const struct kc_identity *);
    } own[] = {
        {"whoami", "whoami", kc_handle_whoami},
        {"audit", "audit", kc_handle_audit},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        if (strcmp(first, own[i].first) == 0 && *tail == '\0') {
            kc_http_note_route(req, own[i].route);
            if (!get) {
                kc_reply_header_const(req, "Allow", "GET, HEAD");
                kc_reply_error(req, 405, "method_not_allowed", "this route only answers GET");
                return;
            }
            if (refused(req, who, NULL, own[i].route))
                return;
            own[i].fn(gw, req, who);
            return;
        }
    }

    struct kc_api_path p = {0};
    p.who = who;
    char cluster_name[sizeof first];
    int bad = kc_urldec_segment_into(first, first_len, cluster_name) < 0;
    p.cluster = bad ? NULL : kc_gateway_cluster(gw, cluster_name);
    if (!p.cluster) {
        kc_http_note_route(req, "unknown_cluster");
        kc_reply_error(req, 404, "unknown_cluster", "no cluster named \"%s\" is configured",
                       bad ? "?" : cluster_name);
        return;
    }
    /* The decoded segments: on the stack for everyday paths, on the heap for longer ones. */
    char text_stack[512];
    size_t text_size = strlen(tail) + 1;
    char *text = text_size <= sizeof text_stack ? text_stack : malloc(text_size);
    int status = text ? split_segments(tail, &p, text) : 503;
    if (status) {
        kc_http_note_route(req, "bad_path");
        if (status == 400)
            kc_reply_error(req, 400, "bad_request", "malformed percent-encoding in the path");
        else if (status == 404)
            kc_reply_error(req, 404, "not_found", "no such API route");
        else
            kc_reply_error(req, 503, "out_of_memory", "out of memory");
    } else {
        dispatch_cluster(gw, req, &p);
    }
    if (text != text_stack)
        free(text);
}

void kc_routes_dispatch(struct kc_gateway *gw, evhtp_request_t *req)
{
    const char *path = request_path(req);
    if (handle_cors(gw, req))
        return;
    if (strcmp(path, "/health") == 0) {
        kc_http_note_route(req, "health");
        kc_reply_bytes(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
        return;
    }
    if (strcmp(path, "/ready") == 0) {
        kc_http_note_route(req, "ready");
        if (kc_server_ready(gw->server))
            kc_reply_bytes(req, 200, "application/json", "{\"status\":\"ready\"}", 18);
        else
            kc_reply_error(req, 503, "not_ready", "the gateway is starting or shutting down");
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        kc_http_note_route(req, "prometheus");
        kc_handle_prometheus(gw, req);
        return;
    }
    if (strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0) {
        struct kc_identity who;
        enum kc_auth_result r = identify(gw, req, &who);
        if (r != KC_AUTH_OK) {
            reply_unauthorized(gw, req, r);
            return;
        }
        kc_http_note_no_store(req);
        current_identity = &who;
        dispatch_api(gw, req, path, &who);
        current_identity = NULL;
        return;
    }
    kc_http_note_route(req, "static");
    if (!method_is(req, htp_method_GET) && !method_is(req, htp_method_HEAD)) {
        kc_reply_error(req, 405, "method_not_allowed", "static files only answer GET");
        return;
    }
    if (kc_static_serve(req, path, gw->cfg->static_dir) != 0)
        kc_reply_error(req, 404, "not_found", "no such file");
}
