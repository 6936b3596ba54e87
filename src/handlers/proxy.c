/* handlers/proxy.c — the Kafka Connect REST API under /api/{cluster}/…, route by route from a
 * table: upstream status and body pass through, config values are masked, masked values sent
 * back are restored from Connect first, roles and read-only mode refuse writes, and every
 * write leaves one audit record with its outcome. */
#include "kc/audit.h"
#include "kc/auth.h"
#include "kc/config.h"
#include "kc/connect.h"
#include "kc/gateway.h"
#include "kc/handlers.h"
#include "kc/http.h"
#include "kc/log.h"
#include "kc/redact.h"
#include "kc/urlenc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which answers carry connector configs that must be masked on the way out. */
enum body_shape {
    SHAPE_NONE,
    SHAPE_INFO,         /* ConnectorInfo: {"config":{…}} */
    SHAPE_CONFIG,       /* flat config map */
    SHAPE_TASKS,        /* [{"id":…,"config":{…}}] */
    SHAPE_TASKS_CONFIG, /* {"c-0":{…}} */
    SHAPE_LIST,         /* ?expand map, or a plain array of names */
    SHAPE_VALIDATE,     /* ConfigInfos */
};

/* Where a masked value sent back by the client can be restored from. */
enum restore_from { RESTORE_NONE, RESTORE_URL_NAME, RESTORE_BODY_NAME, RESTORE_CREATE_BODY };

struct proxy_route {
    const char *method;
    const char *pattern[5]; /* literal segments, "{c}" connector, "{t}" task, "{x}" other */
    const char *label;
    int mutation;
    int body;               /* the request must carry a JSON body */
    enum body_shape shape;
    enum restore_from restore;
    const char *queries;    /* allowed query parameter names, space separated */
};

static const struct proxy_route routes[] = {
    {"GET", {NULL}, "connect_root", 0, 0, SHAPE_NONE, RESTORE_NONE, ""},
    {"GET", {"connectors"}, "connectors_list", 0, 0, SHAPE_LIST, RESTORE_NONE, "expand"},
    {"POST", {"connectors"}, "connector_create", 1, 1, SHAPE_INFO, RESTORE_CREATE_BODY, ""},
    {"GET", {"connectors", "{c}"}, "connector_info", 0, 0, SHAPE_INFO, RESTORE_NONE, ""},
    {"DELETE", {"connectors", "{c}"}, "connector_delete", 1, 0, SHAPE_NONE, RESTORE_NONE, ""},
    {"GET", {"connectors", "{c}", "config"}, "connector_config", 0, 0, SHAPE_CONFIG, RESTORE_NONE,
     ""},
    {"PUT", {"connectors", "{c}", "config"}, "connector_config_put", 1, 1, SHAPE_INFO,
     RESTORE_URL_NAME, ""},
    {"PATCH", {"connectors", "{c}", "config"}, "connector_config_patch", 1, 1, SHAPE_INFO,
     RESTORE_URL_NAME, ""},
    {"GET", {"connectors", "{c}", "status"}, "connector_status", 0, 0, SHAPE_NONE, RESTORE_NONE,
     ""},
    {"GET", {"connectors", "{c}", "tasks"}, "connector_tasks", 0, 0, SHAPE_TASKS, RESTORE_NONE,
     ""},
    {"GET", {"connectors", "{c}", "tasks-config"}, "connector_tasks_config", 0, 0,
     SHAPE_TASKS_CONFIG, RESTORE_NONE, ""},
    {"GET", {"connectors", "{c}", "tasks", "{t}", "status"}, "task_status", 0, 0, SHAPE_NONE,
     RESTORE_NONE, ""},
    {"POST", {"connectors", "{c}", "tasks", "{t}", "restart"}, "task_restart", 1, 0, SHAPE_NONE,
     RESTORE_NONE, ""},
    {"GET", {"connectors", "{c}", "topics"}, "connector_topics", 0, 0, SHAPE_NONE, RESTORE_NONE,
     ""},
    {"PUT", {"connectors", "{c}", "topics", "reset"}, "connector_topics_reset", 1, 0, SHAPE_NONE,
     RESTORE_NONE, ""},
    {"PUT", {"connectors", "{c}", "pause"}, "connector_pause", 1, 0, SHAPE_NONE, RESTORE_NONE, ""},
    {"PUT", {"connectors", "{c}", "resume"}, "connector_resume", 1, 0, SHAPE_NONE, RESTORE_NONE,
     ""},
    {"PUT", {"connectors", "{c}", "stop"}, "connector_stop", 1, 0, SHAPE_NONE, RESTORE_NONE, ""},
    {"POST", {"connectors", "{c}", "restart"}, "connector_restart", 1, 0, SHAPE_NONE,
     RESTORE_NONE, "includeTasks onlyFailed"},
    {"GET", {"connectors", "{c}", "offsets"}, "connector_offsets", 0, 0, SHAPE_NONE, RESTORE_NONE,
     ""},
    {"PATCH", {"connectors", "{c}", "offsets"}, "connector_offsets_alter", 1, 1, SHAPE_NONE,
     RESTORE_NONE, ""},
    {"DELETE", {"connectors", "{c}", "offsets"}, "connector_offsets_reset", 1, 0, SHAPE_NONE,
     RESTORE_NONE, ""},
    {"GET", {"connector-plugins"}, "plugins", 0, 0, SHAPE_NONE, RESTORE_NONE, "connectorsOnly"},
    {"GET", {"connector-plugins", "{x}", "config"}, "plugin_config", 0, 0, SHAPE_NONE,
     RESTORE_NONE, "version"},
    /* validate changes nothing, so read-only mode allows it */
    {"PUT", {"connector-plugins", "{x}", "config", "validate"}, "plugin_validate", 0, 1,
     SHAPE_VALIDATE, RESTORE_BODY_NAME, ""},
    {"GET", {"admin", "loggers"}, "loggers", 0, 0, SHAPE_NONE, RESTORE_NONE, ""},
    {"GET", {"admin", "loggers", "{x}"}, "logger", 0, 0, SHAPE_NONE, RESTORE_NONE, ""},
    {"PUT", {"admin", "loggers", "{x}"}, "logger_set", 1, 1, SHAPE_NONE, RESTORE_NONE, "scope"},
};

#define MASK KC_REDACT_MASK

struct proxy_op {
    struct kc_gateway *gw;
    struct kc_cluster *cl;
    const struct proxy_route *route;
    struct kc_pending *pending;
    struct kc_connect_call *call;
    char *method;
    char *path;         /* encoded upstream path with the allowed query */
    char *connector;    /* decoded connector name of the URL or body, or NULL */
    json_t *body;       /* the client's JSON body, masked values restored before forwarding */
    double upstream_ms;
    json_t *audit;      /* a write's audit record, written when op is freed */
    int status;         /* answered to the client; 0 = the client left first */
    char *error;        /* Connect's or the gateway's error message, for the audit record */
};

/* What the client was answered, for the audit record. error may be NULL. */
static void op_note(struct proxy_op *op, int status, const char *error)
{
    op->status = status;
    free(op->error);
    op->error = error ? strdup(error) : NULL;
}

static void op_free(struct proxy_op *op)
{
    if (op->audit) {
        const char *outcome = op->status == 0                       ? "abandoned"
                              : op->status >= 200 && op->status < 300 ? "ok"
                                                                      : "failed";
        kc_audit_end_take(op->gw->audit, op->audit, op->status, outcome,
                          op->status ? op->error
                                     : "the client left before the answer; the change may "
                                       "have been made");
    }
    free(op->error);
    if (op->call)
        kc_connect_cancel(op->call);
    free(op->method);
    free(op->path);
    free(op->connector);
    json_decref(op->body);
    free(op);
}

/* The client left: forget the upstream call, nothing else refers to op. */
static void on_client_gone(void *arg)
{
    struct proxy_op *op = arg;
    op->pending = NULL;
    op_free(op);
}

static int segment_matches(const char *pattern, const char *seg)
{
    if (pattern[0] == '{')
        return 1;
    return strcmp(pattern, seg) == 0;
}

/* Finds the route for the path; *path_known tells a 405 from a 404. */
static const struct proxy_route *find_route(const char *method, const struct kc_api_path *p,
                                            int *path_known)
{
    *path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct proxy_route *r = &routes[i];
        size_t n = 0;
        while (n < 5 && r->pattern[n])
            n++;
        if (n != p->nseg)
            continue;
        size_t k;
        for (k = 0; k < n; k++)
            if (!segment_matches(r->pattern[k], p->seg[k]))
                break;
        if (k < n)
            continue;
        *path_known = 1;
        if (strcmp(r->method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
            return r;
    }
    return NULL;
}

static int query_allowed(const char *allowed, const char *key, size_t key_len)
{
    const char *p = allowed;
    while (*p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == key_len && strncmp(p, key, n) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* Keeps only allowed parameters whose values are plain words: nothing else reaches Connect. */
static int append_query(char *out, size_t cap, const char *allowed, const char *raw)
{
    size_t used = strlen(out);
    int first = 1;
    while (raw && *raw) {
        const char *amp = strchr(raw, '&');
        size_t len = amp ? (size_t)(amp - raw) : strlen(raw);
        const char *eq = memchr(raw, '=', len);
        size_t key_len = eq ? (size_t)(eq - raw) : len;
        int plain = strspn(raw, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=_.-") >= len;
        if (plain && query_allowed(allowed, raw, key_len)) {
            if (used + len + 2 >= cap)
                return -1;
            out[used++] = first ? '?' : '&';
            memcpy(out + used, raw, len);
            used += len;
            out[used] = '\0';
            first = 0;
        }
        if (!amp)
            break;
        raw = amp + 1;
    }
    return 0;
}

static char *build_upstream_path(const struct kc_api_path *p, const struct proxy_route *r,
                                 const char *raw_query)
{
    size_t cap = 64;
    for (size_t i = 0; i < p->nseg; i++)
        cap += strlen(p->seg[i]) * 3 + 1;
    cap += raw_query ? strlen(raw_query) + 1 : 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < p->nseg; i++) {
        char *enc = kc_urlenc_segment(p->seg[i]);
        if (!enc) {
            free(out);
            return NULL;
        }
        used += (size_t)snprintf(out + used, cap - used, "/%s", enc);
        free(enc);
    }
    if (used == 0)
        snprintf(out, cap, "/");
    if (append_query(out, cap, r->queries, raw_query) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static const enum kc_redact_shape redact_shapes[] = {
    [SHAPE_NONE] = KC_REDACT_ANY,
    [SHAPE_INFO] = KC_REDACT_CONNECTOR_INFO,
    [SHAPE_CONFIG] = KC_REDACT_CONFIG,
    [SHAPE_TASKS] = KC_REDACT_TASKS,
    [SHAPE_TASKS_CONFIG] = KC_REDACT_TASKS_CONFIG,
    [SHAPE_LIST] = KC_REDACT_EXPAND_LIST,
    [SHAPE_VALIDATE] = KC_REDACT_VALIDATE,
};

/* Connect's Location names the worker; point the client at the gateway's own route instead. */
static void add_location(struct proxy_op *op, evhtp_request_t *req, const json_t *doc)
{
    const char *name = json_string_value(json_object_get(doc, "name"));
    if (!name)
        return;
    char *enc = kc_urlenc_segment(name);
    if (!enc)
        return;
    char loc[1024];
    snprintf(loc, sizeof loc, "/api/%s/connectors/%s", op->cl->cfg->name, enc);
    free(enc);
    kc_reply_header(req, "Location", loc);
}

static json_t *body_config(struct proxy_op *op);

/* The <title> of an HTML error page (Jetty's own refusals), printable ASCII only, or "". */
static void html_title(const char *body, size_t len, char *out, size_t cap)
{
    out[0] = '\0';
    const char *end = body + len, *p = body;
    static const char open[] = "<title>";
    while (p + sizeof open - 1 <= end && memcmp(p, open, sizeof open - 1) != 0)
        p++;
    if (p + sizeof open - 1 > end)
        return;
    p += sizeof open - 1;
    size_t n = 0;
    while (p < end && *p != '<' && n + 1 < cap) {
        unsigned char c = (unsigned char)*p++;
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    out[n] = '\0';
}

static void reply_upstream(struct proxy_op *op, evhtp_request_t *req,
                           const struct kc_fetch_result *r)
{
    kc_http_note_upstream(req, op->upstream_ms);
    if (r->error != KC_FETCH_OK) {
        const char *code;
        int status = kc_connect_error_status(r->error, &code);
        char msg[400];
        snprintf(msg, sizeof msg, "kafka connect %s: %s",
                 status == 504 ? "timed out" : "is unreachable",
                 r->error_text ? r->error_text : kc_fetch_error_name(r->error));
        op_note(op, status, msg);
        kc_reply_error(req, status, code, "%s", msg);
        return;
    }
    int status = (int)r->status;
    if (r->body_len == 0) {
        op_note(op, status, NULL);
        kc_reply_empty(req, status);
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(r->body, r->body_len, JSON_ALLOW_NUL, &jerr);
    if (!doc) {
        KC_WARN("connect_garbage", "{s:s,s:i,s:s}", "cluster", op->cl->cfg->name, "status",
                status, "route", op->route->label);
        char title[128];
        html_title(r->body, r->body_len, title, sizeof title);
        op_note(op, status >= 400 && status < 500 ? status : 502, title[0] ? title : "not JSON");
        if (status >= 400 && status < 500)
            /* Connect's HTTP server refused the request itself (Jetty 12: "Ambiguous URI path
             * separator" for %2F in a name): the request is at fault, not Connect. */
            kc_reply_error(req, status, "connect_rejected",
                           "kafka connect refused the request with HTTP %d%s%s", status,
                           title[0] ? ": " : "", title);
        else
            kc_reply_error(req, 502, "bad_gateway",
                           "kafka connect answered HTTP %d with a body that is not JSON", status);
        return;
    }
    if (status == 201 && op->route->shape == SHAPE_INFO)
        add_location(op, req, doc);
    /* Connect quotes values it refused; those of the request's secrets are masked too (a
     * restored one is a value the client never saw). */
    int scrubbed = op->body ? kc_redact_scrub_doc(doc, body_config(op)) : 0;
    /* The message after scrubbing: a secret Connect quotes never reaches the trail. */
    op_note(op, scrubbed < 0 ? 502 : status,
            scrubbed < 0 ? "unmaskable answer"
            : status >= 400 ? json_string_value(json_object_get(doc, "message"))
                            : NULL);
    if (scrubbed < 0) {
        kc_reply_error(req, 502, "bad_gateway", "kafka connect answered a body this gateway "
                                                "could not mask");
    } else if (status >= 200 && status < 300 && op->route->shape != SHAPE_NONE) {
        if (kc_redact_connect_body(redact_shapes[op->route->shape], doc) < 0) {
            op_note(op, 502, "kafka connect answered a body too deep to mask");
            kc_reply_error(req, 502, "bad_gateway", "kafka connect answered a body too deep to mask");
        } else {
            kc_reply_json(req, status, doc);
        }
    } else if (scrubbed > 0) {
        kc_reply_json(req, status, doc);
    } else {
        /* Status documents and Connect's own errors carry no config: they pass through as
         * they are, byte for byte. */
        kc_reply_bytes(req, status, "application/json", r->body, r->body_len);
    }
    json_decref(doc);
}

static void on_forward_done(const struct kc_fetch_result *r, void *arg)
{
    struct proxy_op *op = arg;
    op->call = NULL;
    op->upstream_ms += r->total_ms;
    evhtp_request_t *req = kc_pending_end(op->pending);
    op->pending = NULL;
    if (req)
        reply_upstream(op, req, r);
    op_free(op);
}

static void fail_pending(struct proxy_op *op, int status, const char *code, const char *msg)
{
    evhtp_request_t *req = kc_pending_end(op->pending);
    op->pending = NULL;
    if (req) {
        op_note(op, status, msg);
        kc_http_note_upstream(req, op->upstream_ms);
        kc_reply_error(req, status, code, "%s", msg);
    }
    op_free(op);
}

static void forward(struct proxy_op *op)
{
    char *text = NULL;
    if (op->body) {
        text = json_dumps(op->body, JSON_COMPACT);
        if (!text) {
            fail_pending(op, 503, "out_of_memory", "out of memory");
            return;
        }
    }
    enum kc_fetch_error why;
    op->call = kc_connect_request(op->gw, op->cl, op->method, op->path, text,
                                  text ? strlen(text) : 0, on_forward_done, op, &why);
    free(text);
    if (!op->call) {
        const char *code;
        int status = kc_connect_error_status(why, &code);
        fail_pending(op, status, code,
                     why == KC_FETCH_QUEUE_FULL ? "too many requests waiting for kafka connect"
                                                : "out of memory");
    }
}

/* The flat config map inside the client's body (create bodies nest it under "config"). */
static json_t *body_config(struct proxy_op *op)
{
    if (op->route->restore == RESTORE_CREATE_BODY)
        return json_object_get(op->body, "config");
    return op->body;
}

static void on_current_config(const struct kc_fetch_result *r, void *arg)
{
    struct proxy_op *op = arg;
    op->call = NULL;
    op->upstream_ms += r->total_ms;
    if (!op->pending) {
        op_free(op);
        return;
    }
    if (r->error != KC_FETCH_OK) {
        const char *code;
        int status = kc_connect_error_status(r->error, &code);
        fail_pending(op, status, code,
                     "kafka connect is unreachable: could not read the current config to keep "
                     "masked values");
        return;
    }
    if (r->status != 200 && r->status != 404) {
        /* Connect could not tell the current config (a real cluster answers 409 during a
         * rebalance): its answer is the client's, to retry; not "send the real value". */
        evhtp_request_t *req = kc_pending_end(op->pending);
        op->pending = NULL;
        if (req)
            reply_upstream(op, req, r);
        op_free(op);
        return;
    }
    json_t *current = NULL;
    if (r->status == 200)
        current = json_loadb(r->body, r->body_len, 0, NULL);
    if (r->status == 200 && !json_is_object(current)) {
        json_decref(current);
        fail_pending(op, 502, "bad_gateway", "kafka connect answered the config with garbage");
        return;
    }
    const char *missing = NULL;
    int rc = kc_redact_restore_masked(body_config(op), current, &missing);
    if (rc != 0) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "config key \"%s\" holds the mask " MASK " but the connector has no value to "
                 "keep; send the real value",
                 missing ? missing : "?");
        json_decref(current);
        fail_pending(op, 400, "masked_value", msg);
        return;
    }
    json_decref(current);
    forward(op);
}

static int has_masked_value(json_t *config)
{
    const char *key;
    json_t *v;
    json_object_foreach(config, key, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), MASK) == 0)
            return 1;
    }
    return 0;
}

/* The connector whose current config can restore masked values: the URL's for a config
 * write, the body's "name" for create and validate. NULL when there is none. */
static const char *connector_name_for_restore(struct proxy_op *op, const struct kc_api_path *p)
{
    if (op->route->restore == RESTORE_URL_NAME)
        return p->seg[1];
    return json_string_value(json_object_get(op->body, "name"));
}

/* Parses the client's JSON body into op->body. 0, or an error reply was sent (-1). */
static int read_body(struct proxy_op *op, evhtp_request_t *req)
{
    size_t len = evbuffer_get_length(req->buffer_in);
    if (len == 0) {
        op_note(op, 400, "this route needs a JSON request body");
        kc_reply_error(req, 400, "bad_json", "this route needs a JSON request body");
        return -1;
    }
    json_error_t jerr;
    op->body = json_loadb((const char *)evbuffer_pullup(req->buffer_in, -1), len, 0, &jerr);
    if (!op->body) {
        op_note(op, 400, "request body is not valid JSON");
        kc_reply_error(req, 400, "bad_json", "request body is not valid JSON: %s (at %d:%d)",
                       jerr.text, jerr.line, jerr.column);
        return -1;
    }
    return 0;
}

/* Masked values in the body: read the connector's real config first (on_current_config),
 * then forward. Takes op: on every path it is either waiting or freed. */
static void start_restore(struct proxy_op *op, evhtp_request_t *req, const char *name)
{
    char *enc = (op->connector = strdup(name)) ? kc_urlenc_segment(op->connector) : NULL;
    char path[1024];
    if (!enc || strlen(enc) > 900) {
        free(enc);
        op_note(op, 400, "connector name too long");
        op_free(op);
        kc_reply_error(req, 400, "bad_request", "connector name too long");
        return;
    }
    snprintf(path, sizeof path, "/connectors/%s/config", enc);
    free(enc);
    op->pending = kc_pending_start(req, on_client_gone, op);
    if (!op->pending) {
        op_note(op, 503, "out of memory");
        op_free(op);
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    enum kc_fetch_error why;
    op->call = kc_connect_request(op->gw, op->cl, "GET", path, NULL, 0, on_current_config, op,
                                  &why);
    if (!op->call) {
        const char *code;
        int status = kc_connect_error_status(why, &code);
        fail_pending(op, status, code, "could not read the current connector config");
    }
}

/* The audit record of a write, begun before anything is decided (new; NULL on OOM). The
 * connector is the URL's; a create's comes from its body later. */
static json_t *begin_audit(struct kc_gateway *gw, evhtp_request_t *req,
                           const struct kc_api_path *p, const struct proxy_route *route)
{
    char peer[64];
    kc_auth_peer_text(req->conn ? req->conn->saddr : NULL, peer, sizeof peer);
    const char *connector =
        p->nseg >= 2 && strcmp(route->pattern[0], "connectors") == 0 ? p->seg[1] : NULL;
    const char *path = req->uri && req->uri->path && req->uri->path->full ? req->uri->path->full
                                                                          : "";
    json_t *rec = kc_audit_begin(p->who,
                                 kc_role_name(kc_identity_role(p->who, p->cluster->cfg->name)),
                                 peer, p->cluster->cfg->name, route->method, route->label, path,
                                 connector);
    /* A create names its connector in the body: even a refused one says which (the name only). */
    size_t len = evbuffer_get_length(req->buffer_in);
    if (rec && route->restore == RESTORE_CREATE_BODY && len) {
        json_t *body = json_loadb((const char *)evbuffer_pullup(req->buffer_in, -1), len, 0, NULL);
        kc_audit_set_connector(rec, json_string_value(json_object_get(body, "name")));
        json_decref(body);
    }
    return rec;
}

void kc_handle_proxy(struct kc_gateway *gw, evhtp_request_t *req, const struct kc_api_path *p)
{
    const char *method = kc_http_method(req);
    int path_known;
    const struct proxy_route *route = find_route(method, p, &path_known);
    if (!route) {
        kc_http_note_route(req, path_known ? "proxy_method" : "proxy_unknown");
        if (path_known)
            kc_reply_error(req, 405, "method_not_allowed", "%s is not allowed on this route",
                           method);
        else
            kc_reply_error(req, 404, "not_found", "no such Kafka Connect route");
        return;
    }
    kc_http_note_route(req, route->label);
    /* Refused by role or by read-only mode, a write is still audited; Connect never sees it. */
    json_t *audit = route->mutation ? begin_audit(gw, req, p, route) : NULL;
    const struct kc_auth_route *need = kc_auth_route(route->label);
    char why[300];
    if (kc_auth_permit(p->who, p->cluster->cfg->name,
                       need ? need->role : route->mutation ? KC_ROLE_ADMIN : KC_ROLE_VIEWER,
                       need ? need->what : "use this route", why, sizeof why) != 0) {
        kc_audit_end_take(gw->audit, audit, 403, "forbidden", why);
        kc_reply_error(req, 403, "forbidden", "%s", why);
        return;
    }
    if (route->mutation && gw->cfg->read_only) {
        static const char ro[] = "this gateway is read-only (KC_READ_ONLY): changes are refused";
        kc_audit_end_take(gw->audit, audit, 403, "read_only", ro);
        kc_reply_error(req, 403, "read_only", "%s", ro);
        return;
    }

    struct proxy_op *op = calloc(1, sizeof *op);
    if (op) {
        op->gw = gw;
        op->cl = p->cluster;
        op->route = route;
        op->audit = audit;
        audit = NULL;
        op->method = strdup(route->method);
        const char *query = req->uri ? (const char *)req->uri->query_raw : NULL;
        op->path = build_upstream_path(p, route, query);
    }
    if (!op || !op->method || !op->path) {
        if (op) {
            op_note(op, 503, "out of memory");
            op_free(op);
        }
        kc_audit_end_take(gw->audit, audit, 503, "failed", "out of memory");
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    if (route->body && read_body(op, req) != 0) {
        op_free(op);
        return;
    }
    json_t *cfg = body_config(op);
    if (route->restore != RESTORE_NONE && json_is_object(cfg) && has_masked_value(cfg)) {
        const char *name = connector_name_for_restore(op, p);
        if (!name) {
            op_note(op, 400, "the body holds masked values but names no connector");
            op_free(op);
            kc_reply_error(req, 400, "masked_value",
                           "the body holds " MASK " values but names no connector to keep them "
                           "from");
            return;
        }
        start_restore(op, req, name);
        return;
    }
    op->pending = kc_pending_start(req, on_client_gone, op);
    if (!op->pending) {
        op_note(op, 503, "out of memory");
        op_free(op);
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    forward(op);
}
