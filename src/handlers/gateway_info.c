/* handlers/gateway_info.c — what the gateway knows about itself and its clusters:
 * /api/settings, /api/clusters (Connect version and reachability, probed in parallel),
 * /api/gateway/health (Connect and every Jolokia agent, with latency and troubleshooting). */
#include "kc/auth.h"
#include "kc/config.h"
#include "kc/connect.h"
#include "kc/gateway.h"
#include "kc/handlers.h"
#include "kc/http.h"
#include "kc/jolokia.h"
#include "kc/jsplit.h"
#include "kc/log.h"
#include "kc/metrics_service.h"
#include "kc/redis.h"
#include "kc/slice.h"

#include <stdlib.h>
#include <string.h>

#ifndef KC_VERSION
#define KC_VERSION "0.1.0"
#endif

static const char *const alert_kind_names[] = {
    [KC_ALERT_ERROR_RATE] = "error_rate",       [KC_ALERT_TASK_FAILED] = "task_failed",
    [KC_ALERT_ZERO_THROUGHPUT] = "zero_throughput", [KC_ALERT_LAG] = "lag",
    [KC_ALERT_JOLOKIA_DOWN] = "jolokia_unreachable",
};

void kc_handle_settings(struct kc_gateway *gw, evhtp_request_t *req)
{
    /* The alert rules go to the UI so its colours follow the same thresholds. */
    json_t *rules = json_array();
    for (size_t i = 0; rules && i < gw->cfg->alert_rule_count; i++) {
        const struct kc_alert_rule *r = &gw->cfg->alert_rules[i];
        json_array_append_new(rules, json_pack("{s:s,s:s,s:f,s:I}", "name", r->name, "kind",
                                               alert_kind_names[r->kind], "threshold",
                                               r->threshold, "forMs", (json_int_t)r->for_ms));
    }
    /* How a caller signs in: the console prompts for a token, or points at the proxy. */
    const struct kc_auth_cfg *a = gw->cfg->auth;
    json_t *auth = json_pack("{s:b,s:b}", "tokens", gw->cfg->auth_token || (a && a->token_count),
                             "proxy", a && a->proxy_count);
    json_t *doc = json_pack("{s:s,s:b,s:b,s:o*,s:I,s:I,s:o*}", "version", KC_VERSION, "readOnly",
                            gw->cfg->read_only, "authRequired",
                            gw->cfg->auth_token != NULL || a != NULL, "auth", auth,
                            "metricsCacheTtlMs", (json_int_t)gw->cfg->metrics_ttl_ms,
                            "historySamples", (json_int_t)gw->cfg->history_samples,
                            "alertRules", rules);
    if (!doc) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    kc_reply_json(req, 200, doc);
    json_decref(doc);
}

/* ---- probes: one Connect root call per cluster, then (health page) Jolokia per worker ---- */

struct probe_set;

/* The worker ids of a big expand=status answer, found by a scan in slices (5,000 connectors'
 * answer took 45-75 ms in one json_loadb, 20,000 170-300 ms): only the "worker_id" values,
 * of each connector (depth 4) and task (depth 5), are parsed. */
struct worker_scan {
    char *body;
    struct kc_jsplit split;
    json_t *seen;
    struct kc_slicer *slicer;
};

struct probe {
    struct probe_set *set;
    struct kc_connect_call *call;  /* Connect probe in flight */
    struct kc_fetch *fetch;        /* Jolokia probe in flight */
    struct worker_scan *scan;      /* the worker ids being found */
    json_t *result;                /* the entry being filled (owned by set->doc) */
    size_t cluster;
};

static void scan_free(struct worker_scan *ws)
{
    if (!ws)
        return;
    kc_slicer_free(ws->slicer);
    free(ws->body);
    json_decref(ws->seen);
    free(ws);
}

struct probe_set {
    struct kc_gateway *gw;
    struct kc_pending *pending;
    int health;                   /* 1: /api/gateway/health, 0: /api/clusters */
    json_t *doc;
    struct probe **probes; /* each allocated alone: in-flight calls hold their address */
    size_t nprobes, cap, outstanding;
};

static void set_free(struct probe_set *s)
{
    for (size_t i = 0; i < s->nprobes; i++) {
        if (s->probes[i]->call)
            kc_connect_cancel(s->probes[i]->call);
        if (s->probes[i]->fetch)
            kc_fetch_cancel(s->probes[i]->fetch);
        scan_free(s->probes[i]->scan);
        free(s->probes[i]);
    }
    free(s->probes);
    json_decref(s->doc);
    free(s);
}

static void on_set_client_gone(void *arg)
{
    struct probe_set *s = arg;
    s->pending = NULL;
    set_free(s);
}

static void set_finish_if_done(struct probe_set *s)
{
    if (s->outstanding > 0)
        return;
    evhtp_request_t *req = kc_pending_end(s->pending);
    s->pending = NULL;
    if (req)
        kc_reply_json(req, 200, s->doc);
    set_free(s);
}

static struct probe *add_probe(struct probe_set *s, size_t cluster, json_t *result)
{
    if (s->nprobes == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct probe **grown = realloc(s->probes, cap * sizeof *grown);
        if (!grown)
            return NULL;
        s->probes = grown;
        s->cap = cap;
    }
    struct probe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    s->probes[s->nprobes++] = p;
    p->set = s;
    p->cluster = cluster;
    p->result = result;
    return p;
}

static const char *connect_hint(enum kc_fetch_error e, long status)
{
    if (e == KC_FETCH_REFUSED)
        return "Nothing listens at the Connect URL: check KAFKA_CONNECT_URL and that the worker "
               "is up.";
    if (e == KC_FETCH_DNS)
        return "The Connect host name does not resolve from the gateway.";
    if (e == KC_FETCH_TIMEOUT)
        return "Connect did not answer in time: the worker may be overloaded or a firewall drops "
               "packets.";
    if (e == KC_FETCH_TLS)
        return "TLS failed: check KAFKA_CONNECT_CA_FILE / KAFKA_CONNECT_TLS_VERIFY.";
    if (status == 401 || status == 403)
        return "Connect refused the credentials: check KAFKA_CONNECT_USERNAME/PASSWORD.";
    if (e != KC_FETCH_OK || status != 200)
        return "Connect answered unexpectedly: is the URL the Connect REST port (8083)?";
    return NULL;
}

static const char *jolokia_hint(enum kc_fetch_error e, long status)
{
    if (e == KC_FETCH_REFUSED)
        return "No Jolokia agent listens there: install the agent on the worker "
               "(-javaagent:jolokia-jvm-agent.jar=port=8778,host=0.0.0.0) and check JOLOKIA_URL.";
    if (e == KC_FETCH_DNS)
        return "The worker host from worker_id does not resolve: set "
               "rest.advertised.host.name to a resolvable name.";
    if (e == KC_FETCH_TIMEOUT)
        return "The agent did not answer in time: check network policies between the gateway and "
               "port 8778.";
    if (status == 401)
        return "Jolokia requires credentials: set JOLOKIA_USERNAME and JOLOKIA_PASSWORD.";
    if (status == 403)
        return "Jolokia's access policy forbids these reads.";
    if (e != KC_FETCH_OK || status != 200)
        return "The agent answered unexpectedly: is JOLOKIA_URL the agent's /jolokia context?";
    return NULL;
}

static void on_jolokia_probe(const struct kc_fetch_result *r, void *arg)
{
    struct probe *p = arg;
    struct probe_set *s = p->set;
    p->fetch = NULL;
    json_t *e = p->result;
    int ok = r->error == KC_FETCH_OK && r->status == 200;
    json_object_set_new(e, "latencyMs", json_real(r->total_ms));
    const char *agent = NULL;
    json_t *doc = ok ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    if (doc)
        agent = json_string_value(json_object_get(json_object_get(doc, "value"), "agent"));
    if (ok && !agent)
        ok = 0;
    json_object_set_new(e, "reachable", json_boolean(ok));
    json_object_set_new(e, "agentVersion", agent ? json_string(agent) : json_null());
    char err[160] = "";
    if (!ok) {
        if (r->error != KC_FETCH_OK)
            snprintf(err, sizeof err, "%s", r->error_text ? r->error_text : "failed");
        else if (r->status != 200)
            snprintf(err, sizeof err, "HTTP %ld", r->status);
        else
            snprintf(err, sizeof err, "the answer is not a Jolokia version document");
    }
    json_object_set_new(e, "error", ok ? json_null() : json_string(err));
    const char *hint = jolokia_hint(r->error, agent ? 200 : r->status ? r->status : 0);
    json_object_set_new(e, "hint", hint && !ok ? json_string(hint) : json_null());
    json_decref(doc);
    s->outstanding--;
    set_finish_if_done(s);
}

/* One Jolokia /version probe per worker id in `seen`. */
static void probe_agents(struct probe_set *s, size_t cluster, json_t *agents, json_t *seen)
{
    const struct kc_cluster_cfg *cfg = s->gw->clusters[cluster].cfg;
    const char *name;
    json_t *v;
    json_object_foreach(seen, name, v)
    {
        char *url = kc_jolokia_url_for_worker(cfg->jolokia_url, name);
        if (!url)
            continue;
        json_t *a = json_pack("{s:s,s:s}", "workerId", name, "url", url);
        json_array_append_new(agents, a);
        struct probe *p = add_probe(s, cluster, a);
        char vurl[1200];
        snprintf(vurl, sizeof vurl, "%sversion", url); /* url ends in '/' */
        free(url);
        if (!p)
            continue;
        struct kc_fetch_request rq = {.method = "GET",
                                      .url = vurl,
                                      .endpoint = &cfg->jolokia,
                                      .pool = "jolokia-probe"};
        enum kc_fetch_error why;
        p->fetch = kc_upstream_fetch(s->gw->upstream, &rq, on_jolokia_probe, p, &why);
        if (p->fetch)
            s->outstanding++;
    }
}

/* One item of the scan; at its end the agents are probed and the Connect probe is over. */
static int scan_step(void *arg)
{
    struct probe *p = arg;
    struct worker_scan *ws = p->scan;
    struct kc_jsplit_item it;
    int rc = kc_jsplit_next(&ws->split, &it, 16u << 10);
    if (rc == KC_JSPLIT_PAUSE)
        return 1;
    if (rc == KC_JSPLIT_ITEM) {
        if ((it.depth == 4 || it.depth == 5) && it.key_len == 11 &&
            memcmp(ws->body + it.key_off, "\"worker_id\"", 11) == 0) {
            json_t *id = json_loadb(ws->body + it.val_off, it.val_len, JSON_DECODE_ANY, NULL);
            const char *wid = json_string_value(id);
            if (wid && *wid)
                json_object_set_new(ws->seen, wid, json_true());
            json_decref(id);
        }
        return 1;
    }
    /* The end, or garbage: the workers found so far are probed. */
    struct probe_set *s = p->set;
    probe_agents(s, p->cluster, json_object_get(p->result, "jolokia"), ws->seen);
    p->scan = NULL;
    scan_free(ws); /* its slicer too: allowed in a step that returns 0 (kc/slice.h) */
    s->outstanding--;
    set_finish_if_done(s);
    return 0;
}

/* Adds one Jolokia /version probe per distinct worker of the expand=status answer. 1 when
 * that goes on in slices (the Connect probe stays outstanding), 0 when done here. */
static int probe_workers(struct probe *p, const struct kc_fetch_result *r)
{
    struct probe_set *s = p->set;
    json_t *entry = p->result;
    const struct kc_cluster_cfg *cfg = s->gw->clusters[p->cluster].cfg;
    json_t *agents = json_array();
    json_object_set_new(entry, "jolokia", agents);
    if (!cfg->jolokia_url || r->error != KC_FETCH_OK || r->status != 200)
        return 0;
    struct worker_scan *ws = calloc(1, sizeof *ws);
    if (ws && (ws->seen = json_object()) &&
        (ws->slicer = kc_slicer_new(s->gw->base, scan_step, p)) &&
        (ws->body = kc_fetch_take_body(r))) {
        kc_jsplit_init(&ws->split, ws->body, r->body_len, 5);
        p->scan = ws;
        kc_slicer_start(ws->slicer);
        return 1;
    }
    scan_free(ws); /* out of memory: no agents listed */
    return 0;
}

static void on_connect_probe(const struct kc_fetch_result *r, void *arg)
{
    struct probe *p = arg;
    struct probe_set *s = p->set;
    p->call = NULL;
    json_t *e = p->result;
    json_t *conn = s->health ? json_object_get(e, "connect") : e;
    if (s->health && json_object_get(conn, "reachable")) {
        /* second phase: the connector list with worker ids */
        if (probe_workers(p, r))
            return;
        s->outstanding--;
        set_finish_if_done(s);
        return;
    }
    json_t *doc = r->error == KC_FETCH_OK ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    int ok = r->error == KC_FETCH_OK && r->status == 200 &&
             json_string_value(json_object_get(doc, "version"));
    json_object_set_new(conn, "reachable", json_boolean(ok));
    json_object_set_new(conn, "latencyMs", json_real(r->total_ms));
    json_object_set(conn, "version", ok ? json_object_get(doc, "version") : json_null());
    json_object_set(conn, "commit", ok && json_object_get(doc, "commit")
                                        ? json_object_get(doc, "commit") : json_null());
    json_object_set(conn, "kafkaClusterId",
                    ok && json_object_get(doc, "kafka_cluster_id")
                        ? json_object_get(doc, "kafka_cluster_id") : json_null());
    char err[200] = "";
    if (!ok) {
        if (r->error != KC_FETCH_OK)
            snprintf(err, sizeof err, "%s", r->error_text ? r->error_text : "failed");
        else
            snprintf(err, sizeof err, "HTTP %ld from GET /", r->status);
    }
    json_object_set_new(conn, "error", ok ? json_null() : json_string(err));
    if (s->health) {
        const char *hint = connect_hint(r->error, r->status);
        json_object_set_new(conn, "hint", hint && !ok ? json_string(hint) : json_null());
    }
    json_decref(doc);
    if (s->health && ok) {
        enum kc_fetch_error why;
        p->call = kc_connect_request(s->gw, &s->gw->clusters[p->cluster], "GET",
                                     "/connectors?expand=status", NULL, 0, on_connect_probe, p,
                                     &why);
        if (p->call)
            return;
    }
    if (s->health && !json_object_get(e, "jolokia"))
        json_object_set_new(e, "jolokia", json_array());
    s->outstanding--;
    set_finish_if_done(s);
}

/* Redis as the gateway sees it now (no probe: its own PING heartbeat keeps this current).
 * The URL is the masked one; the password never leaves redis.c. */
static json_t *redis_health(const struct kc_gateway *gw)
{
    if (!gw->redis)
        return json_pack("{s:b,s:s}", "configured", 0, "mode", "local");
    struct kc_redis_stats st;
    kc_redis_stats(gw->redis, &st);
    return json_pack("{s:b,s:s,s:s,s:s,s:b,s:o,s:s,s:s?,s:o*}", "configured", 1, "url",
                     kc_redis_display_url(gw->redis), "prefix", kc_redis_prefix(gw->redis),
                     "state", kc_redis_state_name(st.state), "reachable", st.reachable,
                     "latencyMs", st.latency_ms >= 0 ? json_real(st.latency_ms) : json_null(),
                     "mode", kc_redis_ready(gw->redis) ? "fleet" : "local", "error",
                     st.last_error, "fleet", kc_metrics_service_fleet_json(gw->metrics));
}

static void start_probes(struct kc_gateway *gw, evhtp_request_t *req, int health)
{
    struct probe_set *s = calloc(1, sizeof *s);
    if (!s) {
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    s->gw = gw;
    s->health = health;
    json_t *list = json_array();
    if (health)
        s->doc = json_pack("{s:s,s:I,s:o,s:o}", "version", KC_VERSION, "uptimeSeconds",
                           (json_int_t)((kc_wall_ms() - gw->started_at_ms) / 1000), "clusters",
                           list, "redis", redis_health(gw));
    else
        s->doc = json_pack("{s:o}", "clusters", list);
    if (!s->doc) {
        set_free(s);
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    s->pending = kc_pending_start(req, on_set_client_gone, s);
    if (!s->pending) {
        set_free(s);
        kc_reply_error(req, 503, "out_of_memory", "out of memory");
        return;
    }
    s->outstanding = 1; /* held until every probe is started */
    for (size_t i = 0; i < gw->cluster_count; i++) {
        const struct kc_cluster_cfg *cfg = gw->clusters[i].cfg;
        json_t *entry;
        if (health) {
            json_t *urls = json_array();
            for (size_t k = 0; k < cfg->connect_url_count; k++)
                json_array_append_new(urls, json_string(cfg->connect_urls[k]));
            entry = json_pack("{s:s,s:{s:s,s:o},s:s?}", "name", cfg->name, "connect", "url",
                              cfg->connect_urls[gw->clusters[i].active_url], "urls", urls,
                              "jolokiaUrl", cfg->jolokia_url);
        } else {
            entry = json_pack("{s:s,s:b}", "name", cfg->name, "metrics", cfg->jolokia_url != NULL);
        }
        json_array_append_new(list, entry);
        struct probe *p = add_probe(s, i, entry);
        if (!p)
            continue;
        enum kc_fetch_error why;
        p->call = kc_connect_request(gw, &gw->clusters[i], "GET", "/", NULL, 0, on_connect_probe,
                                     p, &why);
        if (p->call) {
            s->outstanding++;
        } else {
            json_t *conn = health ? json_object_get(entry, "connect") : entry;
            json_object_set_new(conn, "reachable", json_false());
            json_object_set_new(conn, "error", json_string(kc_fetch_error_name(why)));
        }
    }
    s->outstanding--;
    set_finish_if_done(s);
}

void kc_handle_clusters(struct kc_gateway *gw, evhtp_request_t *req)
{
    start_probes(gw, req, 0);
}

void kc_handle_gateway_health(struct kc_gateway *gw, evhtp_request_t *req)
{
    start_probes(gw, req, 1);
}
