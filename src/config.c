/* config.c — loads kc_config from defaults, a JSON file, the environment and argv.
 * Scalar settings are one table; clusters and alert rules have small parsers of their own. */
#include "kc/config.h"

#include "kc/auth.h"
#include "kc/errline.h"
#include "kc/log.h"
#include "kc/redis_url.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

enum setting_type { SET_DURATION, SET_MILLIS, SET_SIZE, SET_BOOL, SET_STRING, SET_LOG_LEVEL };

struct setting {
    const char *env;       /* environment variable */
    const char *file_key;  /* key at the top level of the config file, NULL if none */
    enum setting_type type;
    size_t offset;         /* into struct kc_config */
    long long min, max;    /* accepted range for numbers (ms for durations) */
};

#define OFF(field) offsetof(struct kc_config, field)

/* Settings shared by every cluster (the cluster ones are below). */
static const struct setting settings[] = {
    {"METRICS_CACHE_TTL", "metricsCacheTTL", SET_DURATION, OFF(metrics_ttl_ms), 100, 3600000},
    {"KC_NEGATIVE_TTL", "negativeCacheTTL", SET_DURATION, OFF(negative_ttl_ms), 0, 600000},
    {"METRICS_HISTORY", "metricsHistory", SET_SIZE, OFF(history_samples), 2, 100000},
    {"KC_STREAM_MAX_ITEMS", "streamMaxItems", SET_SIZE, OFF(stream_max_items), 1, 4096},
    {"KC_BATCH_EXPAND_PERCENT", "batchExpandPercent", SET_SIZE, OFF(batch_expand_percent), 0,
     101},
    {"KC_CACHE_MAX_ENTRIES", "cacheMaxEntries", SET_SIZE, OFF(cache_max_entries), 16, 10000000},
    {"KC_CACHE_MAX_BYTES", "cacheMaxBytes", SET_SIZE, OFF(cache_max_bytes), 65536, 1LL << 40},
    {"KC_MAX_BODY_BYTES", "maxBodyBytes", SET_SIZE, OFF(max_body_bytes), 1024, 1LL << 30},
    {"KC_MAX_HEADERS", "maxHeaders", SET_SIZE, OFF(max_header_count), 8, 10000},
    {"KC_MAX_CONNECTIONS", "maxConnections", SET_SIZE, OFF(max_connections), 1, 1000000},
    {"KC_KEEPALIVE_TIMEOUT", "keepaliveTimeout", SET_DURATION, OFF(keepalive_timeout_ms), 100,
     86400000},
    {"KC_HEADER_TIMEOUT", "headerTimeout", SET_DURATION, OFF(header_timeout_ms), 100, 600000},
    {"KC_SHUTDOWN_TIMEOUT", "shutdownTimeout", SET_DURATION, OFF(shutdown_timeout_ms), 0,
     3600000},
    {"KC_UPSTREAM_MAX_INFLIGHT", "upstreamMaxInflight", SET_SIZE, OFF(upstream_max_inflight), 1,
     100000},
    {"KC_UPSTREAM_QUEUE", "upstreamQueue", SET_SIZE, OFF(upstream_queue_limit), 0, 10000000},
    {"KC_READ_ONLY", "readOnly", SET_BOOL, OFF(read_only), 0, 1},
    {"KC_AUTH_TOKEN", "authToken", SET_STRING, OFF(auth_token), 0, 0},
    {"KC_AUDIT_MAX_RECORDS", "auditMaxRecords", SET_SIZE, OFF(audit_max_records), 10, 1000000},
    {"KC_STATIC_DIR", "staticDir", SET_STRING, OFF(static_dir), 0, 0},
    {"LOG_LEVEL", "logLevel", SET_LOG_LEVEL, OFF(log_level), 0, 0},
    /* Fleet mode (redis.c); the URL is checked after loading, without echoing it. */
    {"KC_REDIS_URL", "redisUrl", SET_STRING, OFF(redis_url), 0, 0},
    {"KC_REDIS_PREFIX", "redisPrefix", SET_STRING, OFF(redis_prefix), 0, 0},
    {"KC_REDIS_TIMEOUT_MS", "redisTimeout", SET_MILLIS, OFF(redis_timeout_ms), 10, 60000},
};

/* Per-cluster endpoint settings: env names apply to the `default` cluster only. */
struct endpoint_setting {
    const char *env_prefix; /* KAFKA_CONNECT or JOLOKIA */
    const char *file_prefix; /* connect or jolokia */
    size_t offset;          /* of the kc_endpoint_cfg in kc_cluster_cfg */
};

static const struct endpoint_setting endpoint_settings[] = {
    {"KAFKA_CONNECT", "connect", offsetof(struct kc_cluster_cfg, connect)},
    {"JOLOKIA", "jolokia", offsetof(struct kc_cluster_cfg, jolokia)},
};

int64_t kc_config_parse_duration(const char *text)
{
    if (!text || !*text)
        return -1;
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    if (errno || end == text || !isfinite(v) || v < 0)
        return -1;
    double scale;
    if (*end == '\0' || strcmp(end, "s") == 0)
        scale = 1000;
    else if (strcmp(end, "ms") == 0)
        scale = 1;
    else if (strcmp(end, "m") == 0)
        scale = 60000;
    else if (strcmp(end, "h") == 0)
        scale = 3600000;
    else
        return -1;
    double ms = v * scale;
    if (ms > 9.0e15)
        return -1;
    return (int64_t)llround(ms);
}

int kc_config_parse_bool(const char *text)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return 1;
        if (strcasecmp(text, no[i]) == 0)
            return 0;
    }
    return -1;
}

static int parse_size(const char *text, long long *out)
{
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

static void replace_string(char **slot, const char *value)
{
    free(*slot);
    *slot = value ? strdup(value) : NULL;
}

/* Applies one textual value to a setting. `origin` names it for the error line. */
static int apply_setting(struct kc_config *cfg, const struct setting *s, const char *value,
                         const char *origin, char *err, size_t errlen)
{
    char *base = (char *)cfg;
    switch (s->type) {
    case SET_DURATION:
    case SET_MILLIS: {
        /* SET_MILLIS (the *_MS settings): a plain number means milliseconds. */
        long long plain;
        int64_t ms = s->type == SET_MILLIS && parse_size(value, &plain) == 0
                         ? (int64_t)plain
                         : kc_config_parse_duration(value);
        if (ms < s->min || ms > s->max) {
            kc_errline(err, errlen,
                       "invalid %s: \"%s\" (want a duration like 5s or 500ms, %lldms..%lldms)",
                       origin, value, s->min, s->max);
            return -1;
        }
        *(int64_t *)(base + s->offset) = ms;
        return 0;
    }
    case SET_SIZE: {
        long long v;
        if (parse_size(value, &v) != 0 || v < s->min || v > s->max) {
            kc_errline(err, errlen, "invalid %s: \"%s\" (want an integer %lld..%lld)", origin,
                       value, s->min, s->max);
            return -1;
        }
        *(size_t *)(base + s->offset) = (size_t)v;
        return 0;
    }
    case SET_BOOL: {
        int b = kc_config_parse_bool(value);
        if (b < 0) {
            kc_errline(err, errlen, "invalid %s: \"%s\" (want true or false)", origin, value);
            return -1;
        }
        *(int *)(base + s->offset) = b;
        return 0;
    }
    case SET_STRING:
        replace_string((char **)(base + s->offset), *value ? value : NULL);
        return 0;
    case SET_LOG_LEVEL: {
        enum kc_log_level lvl;
        if (kc_log_parse_level(value, &lvl) != 0) {
            kc_errline(err, errlen, "invalid %s: \"%s\" (want debug, info, warn or error)", origin,
                       value);
            return -1;
        }
        *(int *)(base + s->offset) = (int)lvl;
        return 0;
    }
    }
    return -1;
}

/* Config-file values may be JSON numbers/booleans as well as strings. */
static int json_to_text(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    else
        return -1;
    return 0;
}

static int parse_listen(struct kc_config *cfg, const char *value, const char *origin, char *err,
                        size_t errlen)
{
    const char *colon = strrchr(value, ':');
    char host[64];
    if (!colon || (size_t)(colon - value) >= sizeof host) {
        kc_errline(err, errlen, "invalid %s: \"%s\" (want HOST:PORT, e.g. 0.0.0.0:8080)", origin,
                   value);
        return -1;
    }
    memcpy(host, value, (size_t)(colon - value));
    host[colon - value] = '\0';
    if (host[0] == '\0' || strcmp(host, "*") == 0)
        snprintf(host, sizeof host, "0.0.0.0");
    else if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    struct in_addr a;
    long long port;
    if (inet_pton(AF_INET, host, &a) != 1 || parse_size(colon + 1, &port) != 0 || port > 65535) {
        kc_errline(err, errlen,
                   "invalid %s: \"%s\" (want an IPv4 address and port, e.g. 0.0.0.0:8080)",
                   origin, value);
        return -1;
    }
    replace_string(&cfg->listen_host, host);
    cfg->listen_port = (int)port;
    return 0;
}

static int validate_url(const char *url, const char *origin, char *err, size_t errlen)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        kc_errline(err, errlen, "invalid %s: \"%s\" (want an http:// or https:// URL)", origin,
                   url);
        return -1;
    }
    const char *host = strstr(url, "://") + 3;
    if (*host == '\0' || *host == '/') {
        kc_errline(err, errlen, "invalid %s: \"%s\" (no host)", origin, url);
        return -1;
    }
    return 0;
}

/* Splits a comma list of Connect URLs into the cluster, trimming spaces and trailing '/'. */
static int set_connect_urls(struct kc_cluster_cfg *c, const char *list, const char *origin,
                            char *err, size_t errlen)
{
    for (size_t i = 0; i < c->connect_url_count; i++)
        free(c->connect_urls[i]);
    c->connect_url_count = 0;

    char *copy = strdup(list);
    if (!copy) {
        kc_errline(err, errlen, "out of memory reading %s", origin);
        return -1;
    }
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '/'))
            tok[--n] = '\0';
        if (n == 0)
            continue;
        if (validate_url(tok, origin, err, errlen) != 0) {
            rc = -1;
            break;
        }
        if (c->connect_url_count == KC_MAX_CONNECT_URLS) {
            kc_errline(err, errlen, "invalid %s: more than %d URLs", origin, KC_MAX_CONNECT_URLS);
            rc = -1;
            break;
        }
        c->connect_urls[c->connect_url_count++] = strdup(tok);
    }
    free(copy);
    if (rc == 0 && c->connect_url_count == 0) {
        kc_errline(err, errlen, "invalid %s: no URL given", origin);
        rc = -1;
    }
    return rc;
}

static int set_jolokia_url(struct kc_cluster_cfg *c, const char *url, const char *origin,
                           char *err, size_t errlen)
{
    if (!url || !*url) {
        replace_string(&c->jolokia_url, NULL);
        return 0;
    }
    if (validate_url(url, origin, err, errlen) != 0)
        return -1;
    char *copy = strdup(url);
    size_t n = strlen(copy);
    while (n > 0 && copy[n - 1] == '/')
        copy[--n] = '\0';
    free(c->jolokia_url);
    c->jolokia_url = copy;
    return 0;
}

static void endpoint_defaults(struct kc_endpoint_cfg *e, long connect_ms, long total_ms)
{
    e->tls_verify = 1;
    e->connect_timeout_ms = connect_ms;
    e->total_timeout_ms = total_ms;
}

static void endpoint_free(struct kc_endpoint_cfg *e)
{
    free(e->username);
    free(e->password);
    free(e->ca_file);
}

static struct kc_cluster_cfg *add_cluster(struct kc_config *cfg, const char *name)
{
    struct kc_cluster_cfg *grown =
        realloc(cfg->clusters, (cfg->cluster_count + 1) * sizeof *cfg->clusters);
    if (!grown)
        return NULL;
    cfg->clusters = grown;
    struct kc_cluster_cfg *c = &cfg->clusters[cfg->cluster_count++];
    memset(c, 0, sizeof *c);
    c->name = strdup(name);
    endpoint_defaults(&c->connect, 2000, 10000);
    endpoint_defaults(&c->jolokia, 2000, 3000);
    return c;
}

/* Endpoint keys of one cluster in the file: connectUsername, jolokiaCaFile, ... */
static int apply_endpoint_file(struct kc_endpoint_cfg *e, const char *prefix, const json_t *obj,
                               const char *cluster, char *err, size_t errlen)
{
    static const struct {
        const char *suffix;
        enum setting_type type;
        size_t offset;
    } keys[] = {
        {"Username", SET_STRING, offsetof(struct kc_endpoint_cfg, username)},
        {"Password", SET_STRING, offsetof(struct kc_endpoint_cfg, password)},
        {"CaFile", SET_STRING, offsetof(struct kc_endpoint_cfg, ca_file)},
        {"TlsVerify", SET_BOOL, offsetof(struct kc_endpoint_cfg, tls_verify)},
        {"ConnectTimeout", SET_DURATION, offsetof(struct kc_endpoint_cfg, connect_timeout_ms)},
        {"Timeout", SET_DURATION, offsetof(struct kc_endpoint_cfg, total_timeout_ms)},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char key[64], origin[160], text[512];
        snprintf(key, sizeof key, "%s%s", prefix, keys[i].suffix);
        const json_t *v = json_object_get(obj, key);
        if (!v)
            continue;
        snprintf(origin, sizeof origin, "clusters[%s].%s", cluster, key);
        if (json_to_text(v, text, sizeof text) != 0) {
            kc_errline(err, errlen, "invalid %s: wrong JSON type", origin);
            return -1;
        }
        char *slot = (char *)e + keys[i].offset;
        if (keys[i].type == SET_STRING) {
            replace_string((char **)slot, text);
        } else if (keys[i].type == SET_BOOL) {
            int b = kc_config_parse_bool(text);
            if (b < 0) {
                kc_errline(err, errlen, "invalid %s: \"%s\" (want true or false)", origin, text);
                return -1;
            }
            *(int *)slot = b;
        } else {
            int64_t ms = kc_config_parse_duration(text);
            if (ms < 1 || ms > 3600000) {
                kc_errline(err, errlen, "invalid %s: \"%s\" (want a duration like 2s)", origin,
                           text);
                return -1;
            }
            *(long *)slot = (long)ms;
        }
    }
    return 0;
}

static int valid_cluster_name(const char *name)
{
    if (!*name || strlen(name) > 64)
        return 0;
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return 0;
    }
    /* These path segments under /api/ are the gateway's own. */
    return strcmp(name, "clusters") != 0 && strcmp(name, "settings") != 0 &&
           strcmp(name, "gateway") != 0 && strcmp(name, "whoami") != 0 &&
           strcmp(name, "audit") != 0 && strcmp(name, "stream") != 0;
}

static const struct {
    const char *name;
    enum kc_alert_kind kind;
} alert_kinds[] = {
    {"error_rate", KC_ALERT_ERROR_RATE},         {"task_failed", KC_ALERT_TASK_FAILED},
    {"zero_throughput", KC_ALERT_ZERO_THROUGHPUT}, {"lag", KC_ALERT_LAG},
    {"jolokia_unreachable", KC_ALERT_JOLOKIA_DOWN},
};

static int load_alerts(struct kc_config *cfg, const json_t *alerts, char *err, size_t errlen)
{
    const json_t *rules = json_object_get(alerts, "rules");
    if (rules && !json_is_array(rules)) {
        kc_errline(err, errlen, "invalid alerts.rules: want an array");
        return -1;
    }
    size_t n = json_array_size(rules);
    cfg->alert_rules_configured = rules != NULL;
    if (n) {
        cfg->alert_rules = calloc(n, sizeof *cfg->alert_rules);
        if (!cfg->alert_rules) {
            kc_errline(err, errlen, "out of memory reading alerts.rules");
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(rules, i);
        const char *kind = json_string_value(json_object_get(r, "kind"));
        const char *name = json_string_value(json_object_get(r, "name"));
        struct kc_alert_rule *rule = &cfg->alert_rules[i];
        size_t k;
        for (k = 0; kind && k < sizeof alert_kinds / sizeof alert_kinds[0]; k++)
            if (strcmp(kind, alert_kinds[k].name) == 0)
                break;
        if (!kind || k == sizeof alert_kinds / sizeof alert_kinds[0]) {
            kc_errline(err, errlen,
                       "invalid alerts.rules[%zu].kind: want error_rate, task_failed, "
                       "zero_throughput, lag or jolokia_unreachable",
                       i);
            return -1;
        }
        rule->kind = alert_kinds[k].kind;
        rule->name = strdup(name ? name : kind);
        const json_t *t = json_object_get(r, "threshold");
        rule->threshold = json_is_number(t) ? json_number_value(t) : 0;
        if ((rule->kind == KC_ALERT_ERROR_RATE || rule->kind == KC_ALERT_LAG) &&
            !json_is_number(t)) {
            kc_errline(err, errlen, "invalid alerts.rules[%zu].threshold: want a number", i);
            return -1;
        }
        const char *for_text = json_string_value(json_object_get(r, "for"));
        rule->for_ms = for_text ? kc_config_parse_duration(for_text) : 0;
        if (rule->for_ms < 0) {
            kc_errline(err, errlen, "invalid alerts.rules[%zu].for: want a duration like 5m", i);
            return -1;
        }
        cfg->alert_rule_count = i + 1;
    }
    const char *hook = json_string_value(json_object_get(json_object_get(alerts, "webhook"), "url"));
    if (hook) {
        if (validate_url(hook, "alerts.webhook.url", err, errlen) != 0)
            return -1;
        replace_string(&cfg->alert_webhook_url, hook);
    }
    return 0;
}

/* Without alerts.rules, a fresh install still shows what an operator must see first: a FAILED
 * task and an agent that gives nothing. `"rules": []` turns them off. */
static int default_alert_rules(struct kc_config *cfg, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        enum kc_alert_kind kind;
    } defaults[] = {{"task-failed", KC_ALERT_TASK_FAILED},
                    {"jolokia-unreachable", KC_ALERT_JOLOKIA_DOWN}};
    if (cfg->alert_rules_configured)
        return 0;
    size_t n = sizeof defaults / sizeof defaults[0];
    cfg->alert_rules = calloc(n, sizeof *cfg->alert_rules);
    for (size_t i = 0; cfg->alert_rules && i < n; i++) {
        cfg->alert_rules[i].kind = defaults[i].kind;
        if (!(cfg->alert_rules[i].name = strdup(defaults[i].name)))
            break;
        cfg->alert_rule_count = i + 1;
    }
    if (cfg->alert_rule_count != n) {
        kc_errline(err, errlen, "out of memory setting the default alert rules");
        return -1;
    }
    return 0;
}

static int load_file(struct kc_config *cfg, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        kc_errline(err, errlen, "invalid KC_CONFIG file %s: %s (line %d)", path, jerr.text,
                   jerr.line);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        kc_errline(err, errlen, "invalid KC_CONFIG file %s: want a JSON object", path);
        goto out;
    }
    char text[1024];
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const json_t *v = json_object_get(root, settings[i].file_key);
        if (!v)
            continue;
        char origin[96];
        snprintf(origin, sizeof origin, "config key %s", settings[i].file_key);
        if (json_to_text(v, text, sizeof text) != 0) {
            kc_errline(err, errlen, "invalid %s: wrong JSON type", origin);
            goto out;
        }
        if (apply_setting(cfg, &settings[i], text, origin, err, errlen) != 0)
            goto out;
    }
    const char *listen = json_string_value(json_object_get(root, "listen"));
    if (listen && parse_listen(cfg, listen, "config key listen", err, errlen) != 0)
        goto out;
    const json_t *origins = json_object_get(root, "corsAllowedOrigins");
    if (json_is_array(origins) && json_array_size(origins) > 0) {
        cfg->cors_origins = calloc(json_array_size(origins), sizeof(char *));
        for (size_t i = 0; cfg->cors_origins && i < json_array_size(origins); i++) {
            const char *o = json_string_value(json_array_get(origins, i));
            if (o)
                cfg->cors_origins[cfg->cors_origin_count++] = strdup(o);
        }
    }

    const json_t *clusters = json_object_get(root, "clusters");
    if (clusters && !json_is_array(clusters)) {
        kc_errline(err, errlen, "invalid config key clusters: want an array");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(clusters); i++) {
        const json_t *c = json_array_get(clusters, i);
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!name || !valid_cluster_name(name)) {
            kc_errline(err, errlen,
                       "invalid clusters[%zu].name: want 1-64 of [A-Za-z0-9._-], not a reserved "
                       "word",
                       i);
            goto out;
        }
        if (kc_config_find_cluster(cfg, name)) {
            kc_errline(err, errlen, "invalid clusters[%zu].name: \"%s\" appears twice", i, name);
            goto out;
        }
        struct kc_cluster_cfg *cl = add_cluster(cfg, name);
        if (!cl) {
            kc_errline(err, errlen, "out of memory reading clusters");
            goto out;
        }
        char origin[128];
        const char *url = json_string_value(json_object_get(c, "connectUrl"));
        snprintf(origin, sizeof origin, "clusters[%s].connectUrl", name);
        if (!url) {
            kc_errline(err, errlen, "invalid %s: missing", origin);
            goto out;
        }
        if (set_connect_urls(cl, url, origin, err, errlen) != 0)
            goto out;
        snprintf(origin, sizeof origin, "clusters[%s].jolokiaUrl", name);
        if (set_jolokia_url(cl, json_string_value(json_object_get(c, "jolokiaUrl")), origin, err,
                            errlen) != 0)
            goto out;
        if (apply_endpoint_file(&cl->connect, "connect", c, name, err, errlen) != 0 ||
            apply_endpoint_file(&cl->jolokia, "jolokia", c, name, err, errlen) != 0)
            goto out;
    }
    const json_t *alerts = json_object_get(root, "alerts");
    if (alerts && load_alerts(cfg, alerts, err, errlen) != 0)
        goto out;
    const json_t *auth = json_object_get(root, "auth");
    if (auth && kc_auth_cfg_parse(auth, &cfg->auth, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* Env settings of the `default` cluster: KAFKA_CONNECT_URL, JOLOKIA_URL and the endpoint
 * credentials/TLS/timeouts. A file that defines clusters makes them optional. */
static int apply_cluster_env(struct kc_config *cfg, char *err, size_t errlen)
{
    const char *url = getenv("KAFKA_CONNECT_URL");
    struct kc_cluster_cfg *c = NULL;
    for (size_t i = 0; i < cfg->cluster_count; i++)
        if (strcmp(cfg->clusters[i].name, "default") == 0)
            c = &cfg->clusters[i];
    if (!c && (url || cfg->cluster_count == 0))
        c = add_cluster(cfg, "default");
    if (!c)
        return cfg->cluster_count ? 0 : -1;
    if (url || c->connect_url_count == 0) {
        if (set_connect_urls(c, url ? url : "http://localhost:8083", "KAFKA_CONNECT_URL", err,
                             errlen) != 0)
            return -1;
    }
    const char *jurl = getenv("JOLOKIA_URL");
    if (jurl && set_jolokia_url(c, jurl, "JOLOKIA_URL", err, errlen) != 0)
        return -1;

    for (size_t i = 0; i < sizeof endpoint_settings / sizeof endpoint_settings[0]; i++) {
        const struct endpoint_setting *es = &endpoint_settings[i];
        struct kc_endpoint_cfg *e = (struct kc_endpoint_cfg *)((char *)c + es->offset);
        char name[64];
        const char *v;
        snprintf(name, sizeof name, "%s_USERNAME", es->env_prefix);
        if ((v = getenv(name)))
            replace_string(&e->username, *v ? v : NULL);
        snprintf(name, sizeof name, "%s_PASSWORD", es->env_prefix);
        if ((v = getenv(name)))
            replace_string(&e->password, *v ? v : NULL);
        snprintf(name, sizeof name, "%s_CA_FILE", es->env_prefix);
        if ((v = getenv(name)))
            replace_string(&e->ca_file, *v ? v : NULL);
        snprintf(name, sizeof name, "%s_TLS_VERIFY", es->env_prefix);
        if ((v = getenv(name))) {
            int b = kc_config_parse_bool(v);
            if (b < 0) {
                kc_errline(err, errlen, "invalid %s: \"%s\" (want true or false)", name, v);
                return -1;
            }
            e->tls_verify = b;
        }
    }
    static const struct {
        const char *env;
        size_t endpoint;
        size_t field;
    } timeouts[] = {
        {"KC_CONNECT_TIMEOUT_MS", offsetof(struct kc_cluster_cfg, connect),
         offsetof(struct kc_endpoint_cfg, connect_timeout_ms)},
        {"KC_REQUEST_TIMEOUT_MS", offsetof(struct kc_cluster_cfg, connect),
         offsetof(struct kc_endpoint_cfg, total_timeout_ms)},
        {"JOLOKIA_TIMEOUT_MS", offsetof(struct kc_cluster_cfg, jolokia),
         offsetof(struct kc_endpoint_cfg, total_timeout_ms)},
    };
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        const char *v = getenv(timeouts[i].env);
        if (!v)
            continue;
        long long ms;
        if (parse_size(v, &ms) != 0 || ms < 1 || ms > 3600000) {
            kc_errline(err, errlen, "invalid %s: \"%s\" (want milliseconds 1..3600000)",
                       timeouts[i].env, v);
            return -1;
        }
        for (size_t k = 0; k < cfg->cluster_count; k++) {
            char *ep = (char *)&cfg->clusters[k] + timeouts[i].endpoint;
            *(long *)(ep + timeouts[i].field) = (long)ms;
        }
    }
    return 0;
}

/* The Redis URL holds a password: its error line names the setting and the reason, never the
 * text. The prefix goes into every key, so it stays short and printable. */
static int validate_redis(struct kc_config *cfg, char *err, size_t errlen)
{
    const char *origin = getenv("KC_REDIS_URL") ? "KC_REDIS_URL" : "config key redisUrl";
    if (cfg->redis_url) {
        struct kc_redis_url u;
        char why[200];
        if (kc_redis_url_parse(cfg->redis_url, &u, why, sizeof why) != 0) {
            kc_errline(err, errlen, "invalid %s: %s", origin, why);
            return -1;
        }
        kc_redis_url_clear(&u);
    }
    if (cfg->redis_prefix) {
        size_t n = strlen(cfg->redis_prefix);
        int ok = n <= 64;
        for (size_t i = 0; ok && i < n; i++)
            ok = cfg->redis_prefix[i] > ' ' && cfg->redis_prefix[i] < 127;
        if (!ok) {
            kc_errline(err, errlen, "invalid %s: want up to 64 printable characters, no spaces",
                       getenv("KC_REDIS_PREFIX") ? "KC_REDIS_PREFIX" : "config key redisPrefix");
            return -1;
        }
    }
    return 0;
}

static void set_defaults(struct kc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen_host = strdup("0.0.0.0");
    cfg->listen_port = 8080;
    cfg->metrics_ttl_ms = 5000;
    cfg->negative_ttl_ms = 1000;
    cfg->history_samples = 720;
    cfg->stream_max_items = 64;
    cfg->batch_expand_percent = 50; /* measured crossover: test/bench part 8 */
    cfg->cache_max_entries = 10000;
    cfg->cache_max_bytes = 64u << 20;
    cfg->max_body_bytes = 1u << 20;
    cfg->max_header_count = 100;
    cfg->max_connections = 20000;
    cfg->keepalive_timeout_ms = 60000;
    cfg->header_timeout_ms = 10000;
    cfg->shutdown_timeout_ms = 20000;
    cfg->upstream_max_inflight = 64;
    cfg->upstream_queue_limit = 1024;
    cfg->log_level = KC_LOG_INFO;
    cfg->redis_timeout_ms = 500;
    cfg->audit_max_records = 1000;
}

static const char *arg_value(int argc, char **argv, const char *flag)
{
    size_t n = strlen(flag);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], flag) == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], flag, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    }
    return NULL;
}

int kc_config_load(struct kc_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    set_defaults(cfg);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--config", 8) != 0 && strncmp(argv[i], "--listen", 8) != 0) {
            kc_errline(err, errlen, "unknown argument %s (usage: kconnect-console [--config FILE] "
                                    "[--listen HOST:PORT])",
                       argv[i]);
            return -1;
        }
        if (strchr(argv[i], '=') == NULL)
            i++;
    }
    const char *file = arg_value(argc, argv, "--config");
    if (!file)
        file = getenv("KC_CONFIG");
    if (file && *file && load_file(cfg, file, err, errlen) != 0)
        return -1;
    if (default_alert_rules(cfg, err, errlen) != 0)
        return -1;

    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const char *v = getenv(settings[i].env);
        if (v && apply_setting(cfg, &settings[i], v, settings[i].env, err, errlen) != 0)
            return -1;
    }
    const char *listen = getenv("LISTEN_ADDR");
    if (listen && parse_listen(cfg, listen, "LISTEN_ADDR", err, errlen) != 0)
        return -1;
    listen = arg_value(argc, argv, "--listen");
    if (listen && parse_listen(cfg, listen, "--listen", err, errlen) != 0)
        return -1;
    const char *origins = getenv("CORS_ALLOWED_ORIGINS");
    if (origins && *origins) {
        for (size_t i = 0; i < cfg->cors_origin_count; i++)
            free(cfg->cors_origins[i]);
        free(cfg->cors_origins);
        cfg->cors_origin_count = 0;
        size_t n = 1;
        for (const char *p = origins; *p; p++)
            n += *p == ',';
        cfg->cors_origins = calloc(n, sizeof(char *));
        char *copy = strdup(origins), *save = NULL;
        for (char *t = strtok_r(copy, ", ", &save); t && cfg->cors_origins;
             t = strtok_r(NULL, ", ", &save))
            cfg->cors_origins[cfg->cors_origin_count++] = strdup(t);
        free(copy);
    }
    if (apply_cluster_env(cfg, err, errlen) != 0) {
        if (!*err)
            kc_errline(err, errlen, "out of memory configuring clusters");
        return -1;
    }
    /* After the env's `default` cluster exists: roles may name it. */
    if (kc_auth_cfg_check_clusters(cfg->auth, cfg, err, errlen) != 0)
        return -1;
    return validate_redis(cfg, err, errlen);
}

void kc_config_free(struct kc_config *cfg)
{
    free(cfg->listen_host);
    free(cfg->static_dir);
    if (cfg->auth_token) /* a credential: do not leave it in freed memory */
        memset(cfg->auth_token, 0, strlen(cfg->auth_token));
    free(cfg->auth_token);
    kc_auth_cfg_free(cfg->auth);
    for (size_t i = 0; i < cfg->cluster_count; i++) {
        struct kc_cluster_cfg *c = &cfg->clusters[i];
        free(c->name);
        for (size_t k = 0; k < c->connect_url_count; k++)
            free(c->connect_urls[k]);
        free(c->jolokia_url);
        endpoint_free(&c->connect);
        endpoint_free(&c->jolokia);
    }
    free(cfg->clusters);
    for (size_t i = 0; i < cfg->cors_origin_count; i++)
        free(cfg->cors_origins[i]);
    free(cfg->cors_origins);
    for (size_t i = 0; i < cfg->alert_rule_count; i++)
        free(cfg->alert_rules[i].name);
    free(cfg->alert_rules);
    free(cfg->alert_webhook_url);
    if (cfg->redis_url) /* a credential: do not leave it in freed memory */
        memset(cfg->redis_url, 0, strlen(cfg->redis_url));
    free(cfg->redis_url);
    free(cfg->redis_prefix);
    memset(cfg, 0, sizeof *cfg);
}

const struct kc_cluster_cfg *kc_config_find_cluster(const struct kc_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->cluster_count; i++)
        if (strcmp(cfg->clusters[i].name, name) == 0)
            return &cfg->clusters[i];
    return NULL;
}
