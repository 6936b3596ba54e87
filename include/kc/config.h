/* kc/config.h — the gateway's settings: defaults, environment, and the JSON config file.
 * Loaded once at start; invalid input is refused with one line naming the setting. */
#ifndef KC_CONFIG_H
#define KC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define KC_MAX_CONNECT_URLS 8

struct kc_auth_cfg;

/* How to reach one kind of upstream (a Connect cluster, or its Jolokia agents). */
struct kc_endpoint_cfg {
    char *username;          /* NULL = no basic auth; never logged */
    char *password;
    char *ca_file;           /* NULL = system CAs */
    int tls_verify;          /* 1 = verify peer and host (default) */
    long connect_timeout_ms;
    long total_timeout_ms;
};

struct kc_cluster_cfg {
    char *name;
    char *connect_urls[KC_MAX_CONNECT_URLS]; /* failover order, no trailing slash */
    size_t connect_url_count;
    char *jolokia_url;       /* single URL or template with {host}/{port}; NULL = no metrics */
    struct kc_endpoint_cfg connect;
    struct kc_endpoint_cfg jolokia;
};

enum kc_alert_kind {
    KC_ALERT_ERROR_RATE,      /* errorRate (percent) above threshold */
    KC_ALERT_TASK_FAILED,     /* any task FAILED */
    KC_ALERT_ZERO_THROUGHPUT, /* records/s == 0 for `for_ms` while RUNNING */
    KC_ALERT_LAG,             /* sink lag above threshold */
    KC_ALERT_JOLOKIA_DOWN,    /* an agent of the connector's workers unreachable */
};

struct kc_alert_rule {
    char *name;
    enum kc_alert_kind kind;
    double threshold;
    int64_t for_ms;
};

struct kc_config {
    char *listen_host;       /* dotted IP (evhtp needs one) */
    int listen_port;
    char *static_dir;        /* dev flag: serve static/ from disk; NULL = embedded */

    struct kc_cluster_cfg *clusters;
    size_t cluster_count;

    int64_t metrics_ttl_ms;
    int64_t negative_ttl_ms;
    size_t batch_expand_percent; /* a batch asks for the expand list from this share of the
                                    cluster's connectors (101 = never) */
    size_t history_samples;
    size_t stream_max_items;   /* connectors and summaries one /api/stream may carry */
    size_t cache_max_entries;
    size_t cache_max_bytes;

    size_t max_body_bytes;
    size_t max_header_count;
    size_t max_connections;
    int64_t keepalive_timeout_ms;
    int64_t header_timeout_ms;
    int64_t shutdown_timeout_ms;
    size_t upstream_max_inflight; /* per upstream host */
    size_t upstream_queue_limit;

    int read_only;
    char *auth_token;             /* bearer token required on /api when set; never logged */
    struct kc_auth_cfg *auth;     /* the `auth` key (kc/auth.h): roles; NULL = not configured */
    size_t audit_max_records;     /* the audit ring (and the fleet's Redis stream) */
    char **cors_origins;          /* allowlist; NULL/0 = same-origin only */
    size_t cors_origin_count;
    int log_level;                /* enum kc_log_level */

    struct kc_alert_rule *alert_rules;
    size_t alert_rule_count;
    int alert_rules_configured; /* alerts.rules was in the file (even []): no default rules */
    char *alert_webhook_url;

    char *redis_url;              /* NULL = local mode; holds a password: never logged */
    char *redis_prefix;           /* NULL = "kc:" */
    int64_t redis_timeout_ms;     /* per command */
};

/* Fills *cfg from defaults, then the config file (argv --config or KC_CONFIG), then the
 * environment, then argv (--listen). On error returns -1 and writes one line naming the
 * setting into err. Either way the caller owns *cfg and frees it with kc_config_free (after
 * an error it may hold what was read before the bad setting). */
int kc_config_load(struct kc_config *cfg, int argc, char **argv, char *err, size_t errlen);
void kc_config_free(struct kc_config *cfg);

/* "5s", "500ms", "2m", "1h", or plain seconds ("5", "0.5") → milliseconds. -1 on error. */
int64_t kc_config_parse_duration(const char *text);
/* "true/false/1/0/yes/no/on/off" → 1/0; -1 on error. */
int kc_config_parse_bool(const char *text);

const struct kc_cluster_cfg *kc_config_find_cluster(const struct kc_config *cfg, const char *name);

#endif
