/* auth.c — identity and roles: the `auth` config, tokens checked by SHA-256 in constant time,
 * forwarded identities from trusted proxies only, and the table of the role each route needs. */
#include "kc/auth.h"

#include "kc/config.h"
#include "kc/errline.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const role_names[] = {"none", "viewer", "operator", "admin"};

const char *kc_role_name(enum kc_role r)
{
    return (unsigned)r < sizeof role_names / sizeof role_names[0] ? role_names[r] : "none";
}

int kc_role_parse(const char *text, enum kc_role *out)
{
    for (int r = KC_ROLE_VIEWER; r <= KC_ROLE_ADMIN; r++) {
        if (text && strcmp(text, role_names[r]) == 0) {
            *out = (enum kc_role)r;
            return 0;
        }
    }
    return -1;
}

/* ---- the route → role table (README "Roles" mirrors it; test_roles.py walks that) ---- */

#define CL 1  /* the role on the request's cluster */
#define ANY 0 /* the role on any cluster: routes that belong to none */

static const struct kc_auth_route route_table[] = {
    /* the gateway's own */
    {"settings", KC_ROLE_NONE, "read the settings", ANY},
    {"whoami", KC_ROLE_NONE, "ask who they are", ANY},
    {"clusters", KC_ROLE_VIEWER, "list clusters", ANY},
    {"gateway_health", KC_ROLE_VIEWER, "read the gateway's health", ANY},
    {"audit", KC_ROLE_ADMIN, "read the audit trail", ANY},
    {"stream", KC_ROLE_VIEWER, "stream metrics", ANY},
    {"cluster_metrics", KC_ROLE_VIEWER, "read metrics", CL},
    {"alerts", KC_ROLE_VIEWER, "read alerts", CL},
    {"connector_metrics", KC_ROLE_VIEWER, "read metrics", CL},
    {"connector_history", KC_ROLE_VIEWER, "read metrics history", CL},
    {"connector_stream", KC_ROLE_VIEWER, "stream metrics", CL},
    /* Kafka Connect's, proxied (handlers/proxy.c) */
    {"connect_root", KC_ROLE_VIEWER, "read the Connect version", CL},
    {"connectors_list", KC_ROLE_VIEWER, "list connectors", CL},
    {"connector_info", KC_ROLE_VIEWER, "read connectors", CL},
    {"connector_config", KC_ROLE_VIEWER, "read connector configs", CL},
    {"connector_status", KC_ROLE_VIEWER, "read connector status", CL},
    {"connector_tasks", KC_ROLE_VIEWER, "read tasks", CL},
    {"connector_tasks_config", KC_ROLE_VIEWER, "read task configs", CL},
    {"task_status", KC_ROLE_VIEWER, "read task status", CL},
    {"connector_topics", KC_ROLE_VIEWER, "read connector topics", CL},
    {"connector_offsets", KC_ROLE_VIEWER, "read offsets", CL},
    {"plugins", KC_ROLE_VIEWER, "list plugins", CL},
    {"plugin_config", KC_ROLE_VIEWER, "read plugin configs", CL},
    {"loggers", KC_ROLE_VIEWER, "read logger levels", CL},
    {"logger", KC_ROLE_VIEWER, "read logger levels", CL},
    {"connector_pause", KC_ROLE_OPERATOR, "pause connectors", CL},
    {"connector_resume", KC_ROLE_OPERATOR, "resume connectors", CL},
    {"connector_stop", KC_ROLE_OPERATOR, "stop connectors", CL},
    {"connector_restart", KC_ROLE_OPERATOR, "restart connectors", CL},
    {"task_restart", KC_ROLE_OPERATOR, "restart tasks", CL},
    {"connector_topics_reset", KC_ROLE_OPERATOR, "reset connector topics", CL},
    {"connector_create", KC_ROLE_ADMIN, "create connectors", CL},
    {"connector_config_put", KC_ROLE_ADMIN, "change connector configs", CL},
    {"connector_config_patch", KC_ROLE_ADMIN, "change connector configs", CL},
    {"connector_delete", KC_ROLE_ADMIN, "delete connectors", CL},
    {"connector_offsets_alter", KC_ROLE_ADMIN, "alter offsets", CL},
    {"connector_offsets_reset", KC_ROLE_ADMIN, "reset offsets", CL},
    {"logger_set", KC_ROLE_ADMIN, "change logger levels", CL},
    /* changes nothing, but its answers describe plugins' internals: the issue gives it admin */
    {"plugin_validate", KC_ROLE_ADMIN, "validate configs", CL},
};

const struct kc_auth_route *kc_auth_route(const char *label)
{
    for (size_t i = 0; label && i < sizeof route_table / sizeof route_table[0]; i++)
        if (strcmp(route_table[i].label, label) == 0)
            return &route_table[i];
    return NULL;
}

const struct kc_auth_route *kc_auth_routes(size_t *count)
{
    *count = sizeof route_table / sizeof route_table[0];
    return route_table;
}

/* ---- config ---- */

static void map_free(struct kc_role_map *m)
{
    for (size_t i = 0; i < m->count; i++)
        free(m->grants[i].cluster);
    free(m->grants);
    m->grants = NULL;
    m->count = 0;
}

static int parse_map(const json_t *v, struct kc_role_map *m, const char *origin, char *err,
                     size_t errlen)
{
    if (!json_is_object(v) || json_object_size(v) == 0) {
        kc_errline(err, errlen, "invalid %s: want an object of cluster → role, e.g. "
                                "{\"prod\": \"operator\", \"*\": \"viewer\"}", origin);
        return -1;
    }
    m->grants = calloc(json_object_size(v), sizeof *m->grants);
    if (!m->grants) {
        kc_errline(err, errlen, "out of memory reading %s", origin);
        return -1;
    }
    const char *cluster;
    const json_t *role;
    json_object_foreach((json_t *)(uintptr_t)v, cluster, role)
    {
        enum kc_role r;
        if (kc_role_parse(json_string_value(role), &r) != 0) {
            kc_errline(err, errlen, "invalid %s[%s]: want viewer, operator or admin", origin,
                       cluster);
            return -1;
        }
        m->grants[m->count].cluster = strdup(cluster);
        if (!m->grants[m->count].cluster) {
            kc_errline(err, errlen, "out of memory reading %s", origin);
            return -1;
        }
        m->grants[m->count++].role = r;
    }
    return 0;
}

static int only_keys(const json_t *obj, const char *const *allowed, const char *origin, char *err,
                     size_t errlen)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)obj, key, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (!allowed[i]) {
            kc_errline(err, errlen, "invalid %s: unknown key \"%s\"", origin, key);
            return -1;
        }
    }
    return 0;
}

static int parse_tokens(const json_t *tokens, struct kc_auth_cfg *a, char *err, size_t errlen)
{
    if (!json_is_array(tokens)) {
        kc_errline(err, errlen, "invalid auth.tokens: want an array");
        return -1;
    }
    if (json_array_size(tokens) == 0)
        return 0;
    a->tokens = calloc(json_array_size(tokens), sizeof *a->tokens);
    if (!a->tokens) {
        kc_errline(err, errlen, "out of memory reading auth.tokens");
        return -1;
    }
    static const char *const keys[] = {"name", "sha256", "roles", NULL};
    for (size_t i = 0; i < json_array_size(tokens); i++) {
        const json_t *t = json_array_get(tokens, i);
        char origin[96];
        snprintf(origin, sizeof origin, "auth.tokens[%zu]", i);
        if (!json_is_object(t)) {
            kc_errline(err, errlen, "invalid %s: want an object", origin);
            return -1;
        }
        if (json_object_get(t, "token")) {
            kc_errline(err, errlen, "invalid %s: store the token's SHA-256 (\"sha256\"), never the "
                                    "token itself", origin);
            return -1;
        }
        if (only_keys(t, keys, origin, err, errlen) != 0)
            return -1;
        const char *name = json_string_value(json_object_get(t, "name"));
        if (!name || !*name || strlen(name) >= KC_IDENTITY_USER_MAX) {
            kc_errline(err, errlen, "invalid %s.name: want 1-%d characters", origin,
                       KC_IDENTITY_USER_MAX - 1);
            return -1;
        }
        for (size_t k = 0; k < a->token_count; k++) {
            if (strcmp(a->tokens[k].name, name) == 0) {
                kc_errline(err, errlen, "invalid %s.name: \"%s\" appears twice", origin, name);
                return -1;
            }
        }
        struct kc_auth_token *tok = &a->tokens[a->token_count++];
        tok->name = strdup(name);
        if (!tok->name) {
            kc_errline(err, errlen, "out of memory reading %s", origin);
            return -1;
        }
        if (kc_sha256_from_hex(json_string_value(json_object_get(t, "sha256")), tok->sha256) !=
            0) {
            kc_errline(err, errlen, "invalid auth.tokens[%s].sha256: want the 64 hex digits of the "
                                    "token's SHA-256 (sha256sum)", name);
            return -1;
        }
        snprintf(origin, sizeof origin, "auth.tokens[%s].roles", name);
        if (parse_map(json_object_get(t, "roles"), &tok->roles, origin, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int parse_groups(const json_t *groups, struct kc_auth_cfg *a, char *err, size_t errlen)
{
    if (!json_is_object(groups)) {
        kc_errline(err, errlen, "invalid auth.groups: want an object of group → roles");
        return -1;
    }
    if (json_object_size(groups) > KC_AUTH_MAX_GROUPS) {
        kc_errline(err, errlen, "invalid auth.groups: at most %d groups", KC_AUTH_MAX_GROUPS);
        return -1;
    }
    if (json_object_size(groups) == 0)
        return 0;
    a->groups = calloc(json_object_size(groups), sizeof *a->groups);
    if (!a->groups) {
        kc_errline(err, errlen, "out of memory reading auth.groups");
        return -1;
    }
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)groups, name, v)
    {
        struct kc_auth_group *g = &a->groups[a->group_count++];
        char origin[160];
        snprintf(origin, sizeof origin, "auth.groups[%.100s]", name);
        if (!*name || strchr(name, ',')) {
            kc_errline(err, errlen, "invalid %s: a group name is not empty and has no comma",
                       origin);
            return -1;
        }
        if (!(g->name = strdup(name))) {
            kc_errline(err, errlen, "out of memory reading %s", origin);
            return -1;
        }
        if (parse_map(v, &g->roles, origin, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int parse_header_name(const json_t *v, const char *def, char **out, const char *origin,
                             char *err, size_t errlen)
{
    const char *name = v ? json_string_value(v) : def;
    size_t n = name ? strlen(name) : 0;
    int ok = n > 0 && n < 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
             (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_';
    if (!ok) {
        kc_errline(err, errlen, "invalid %s: want an HTTP header name", origin);
        return -1;
    }
    if (!(*out = strdup(name))) {
        kc_errline(err, errlen, "out of memory reading %s", origin);
        return -1;
    }
    return 0;
}

int kc_auth_cfg_parse(const json_t *auth, struct kc_auth_cfg **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!json_is_object(auth)) {
        kc_errline(err, errlen, "invalid config key auth: want an object");
        return -1;
    }
    static const char *const keys[] = {"tokens", "trustedProxies", "userHeader", "groupsHeader",
                                       "groups", NULL};
    if (only_keys(auth, keys, "config key auth", err, errlen) != 0)
        return -1;
    struct kc_auth_cfg *a = calloc(1, sizeof *a);
    if (!a) {
        kc_errline(err, errlen, "out of memory reading auth");
        return -1;
    }
    int rc = -1;
    const json_t *tokens = json_object_get(auth, "tokens");
    if (tokens && parse_tokens(tokens, a, err, errlen) != 0)
        goto out;
    const json_t *groups = json_object_get(auth, "groups");
    if (groups && parse_groups(groups, a, err, errlen) != 0)
        goto out;
    const json_t *proxies = json_object_get(auth, "trustedProxies");
    if (proxies && !json_is_array(proxies)) {
        kc_errline(err, errlen, "invalid auth.trustedProxies: want an array of addresses or CIDRs");
        goto out;
    }
    if (json_array_size(proxies)) {
        a->proxies = calloc(json_array_size(proxies), sizeof *a->proxies);
        if (!a->proxies) {
            kc_errline(err, errlen, "out of memory reading auth.trustedProxies");
            goto out;
        }
    }
    for (size_t i = 0; i < json_array_size(proxies); i++) {
        const char *text = json_string_value(json_array_get(proxies, i));
        if (!text || kc_cidr_parse(text, &a->proxies[a->proxy_count]) != 0) {
            kc_errline(err, errlen,
                       "invalid auth.trustedProxies[%zu]: want an IPv4 or IPv6 address or CIDR, "
                       "e.g. 10.0.0.0/8 or fd00::/8",
                       i);
            goto out;
        }
        a->proxy_count++;
    }
    if (parse_header_name(json_object_get(auth, "userHeader"), "X-Forwarded-User",
                          &a->user_header, "auth.userHeader", err, errlen) != 0 ||
        parse_header_name(json_object_get(auth, "groupsHeader"), "X-Forwarded-Groups",
                          &a->groups_header, "auth.groupsHeader", err, errlen) != 0)
        goto out;
    rc = 0;
out:
    if (rc == 0)
        *out = a;
    else
        kc_auth_cfg_free(a);
    return rc;
}

static int check_map(const struct kc_role_map *m, const struct kc_config *cfg, const char *origin,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < m->count; i++) {
        const char *c = m->grants[i].cluster;
        if (strcmp(c, "*") != 0 && !kc_config_find_cluster(cfg, c)) {
            kc_errline(err, errlen, "invalid %s: no cluster named \"%.64s\" is configured",
                       origin, c);
            return -1;
        }
    }
    return 0;
}

int kc_auth_cfg_check_clusters(const struct kc_auth_cfg *a, const struct kc_config *cfg,
                               char *err, size_t errlen)
{
    char origin[200];
    for (size_t i = 0; a && i < a->token_count; i++) {
        snprintf(origin, sizeof origin, "auth.tokens[%.128s].roles", a->tokens[i].name);
        if (check_map(&a->tokens[i].roles, cfg, origin, err, errlen) != 0)
            return -1;
    }
    for (size_t i = 0; a && i < a->group_count; i++) {
        snprintf(origin, sizeof origin, "auth.groups[%.128s]", a->groups[i].name);
        if (check_map(&a->groups[i].roles, cfg, origin, err, errlen) != 0)
            return -1;
    }
    return 0;
}

void kc_auth_cfg_free(struct kc_auth_cfg *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->token_count; i++) {
        free(a->tokens[i].name);
        map_free(&a->tokens[i].roles);
    }
    free(a->tokens);
    for (size_t i = 0; i < a->group_count; i++) {
        free(a->groups[i].name);
        map_free(&a->groups[i].roles);
    }
    free(a->groups);
    free(a->proxies);
    free(a->user_header);
    free(a->groups_header);
    free(a);
}

/* ---- addresses ---- */

int kc_cidr_parse(const char *text, struct kc_cidr *out)
{
    char buf[64];
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, text, n + 1);
    char *slash = strchr(buf, '/');
    long prefix = -1;
    if (slash) {
        *slash = '\0';
        char *end = NULL;
        if (!slash[1] || slash[1] == '-' || slash[1] == '+')
            return -1;
        prefix = strtol(slash + 1, &end, 10);
        if (*end)
            return -1;
    }
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        if (prefix > 32)
            return -1;
        out->prefix = prefix < 0 ? 32 : (unsigned)prefix;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        if (prefix > 128)
            return -1;
        out->prefix = prefix < 0 ? 128 : (unsigned)prefix;
    } else {
        return -1;
    }
    return 0;
}

/* The peer as (family, bytes); an IPv4-mapped IPv6 peer (::ffff:a.b.c.d) is IPv4. */
static int peer_bytes(const struct sockaddr *peer, uint8_t out[16])
{
    if (!peer)
        return 0;
    if (peer->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)(const void *)peer)->sin_addr, 4);
        return AF_INET;
    }
    if (peer->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            memcpy(out, a6->s6_addr + 12, 4);
            return AF_INET;
        }
        memcpy(out, a6->s6_addr, 16);
        return AF_INET6;
    }
    return 0;
}

int kc_cidr_contains(const struct kc_cidr *c, const struct sockaddr *peer)
{
    uint8_t p[16];
    if (peer_bytes(peer, p) != c->family)
        return 0;
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(p, c->addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (p[full] & mask) == (c->addr[full] & mask);
}

void kc_auth_peer_text(const struct sockaddr *peer, char *out, size_t cap)
{
    uint8_t b[16];
    int family = peer_bytes(peer, b);
    if (!family || !inet_ntop(family, b, out, (socklen_t)cap))
        snprintf(out, cap, "unknown");
}

/* ---- identity ---- */

static void identity_reset(struct kc_identity *id)
{
    memset(id, 0, sizeof *id);
    id->source = "none";
}

/* A forwarded user name, without surrounding blanks, is printable UTF-8 text short enough to
 * keep: copied into out (KC_IDENTITY_USER_MAX). 0 when it is not. */
static int take_user(const char *u, char *out)
{
    if (!u)
        return 0;
    while (*u == ' ' || *u == '\t')
        u++;
    size_t n = strlen(u);
    while (n > 0 && (u[n - 1] == ' ' || u[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= KC_IDENTITY_USER_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] < 0x20 || u[i] == 0x7f)
            return 0;
    memcpy(out, u, n);
    out[n] = '\0';
    /* Bytes that are not UTF-8 could not be written to the JSON of whoami and the trail. */
    json_t *probe = json_string(out);
    json_decref(probe);
    return probe != NULL;
}

static int list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == n && memcmp(start, name, n) == 0)
            return 1;
    }
    return 0;
}

static int trusted_peer(const struct kc_auth_cfg *a, const struct sockaddr *peer)
{
    for (size_t i = 0; i < a->proxy_count; i++)
        if (kc_cidr_contains(&a->proxies[i], peer))
            return 1;
    return 0;
}

enum kc_auth_result kc_auth_identify(const struct kc_auth_cfg *a, const char *env_token,
                                     const struct kc_auth_request *in, struct kc_identity *out)
{
    identity_reset(out);
    if (!a && !env_token) {
        snprintf(out->user, sizeof out->user, "anonymous");
        out->source = "anonymous";
        out->admin_everywhere = 1;
        return KC_AUTH_OK;
    }
    /* The header wins over the query, as before roles: a query token is for EventSource. */
    const char *token = NULL;
    int offered = 0;
    if (in->authorization) {
        offered = 1;
        if (strncasecmp(in->authorization, "Bearer ", 7) == 0)
            token = in->authorization + 7;
    } else if (in->query_token) {
        offered = 1;
        token = in->query_token;
    }
    if (token && *token) {
        uint8_t digest[KC_SHA256_LEN];
        kc_sha256(token, strlen(token), digest);
        /* Every configured digest is compared, matched or not: the time taken tells nothing. */
        size_t match = (size_t)-1;
        for (size_t i = 0; a && i < a->token_count; i++)
            if (kc_sha256_equal(digest, a->tokens[i].sha256))
                match = i;
        int env_match = 0;
        if (env_token) {
            uint8_t env_digest[KC_SHA256_LEN];
            kc_sha256(env_token, strlen(env_token), env_digest);
            env_match = kc_sha256_equal(digest, env_digest);
        }
        if (match != (size_t)-1) {
            snprintf(out->user, sizeof out->user, "%s", a->tokens[match].name);
            out->source = "token";
            out->maps[out->map_count++] = &a->tokens[match].roles;
            return KC_AUTH_OK;
        }
        if (env_match) {
            snprintf(out->user, sizeof out->user, "KC_AUTH_TOKEN");
            out->source = "env-token";
            out->admin_everywhere = 1;
            return KC_AUTH_OK;
        }
    }
    /* A proxy in front may pass its own Authorization on; its forwarded user still counts. */
    if (a && in->user && trusted_peer(a, in->peer) && take_user(in->user, out->user)) {
        out->source = "proxy";
        for (size_t i = 0; in->groups && i < a->group_count; i++) {
            if (list_has(in->groups, a->groups[i].name)) {
                out->maps[out->map_count++] = &a->groups[i].roles;
                out->groups[out->group_count++] = a->groups[i].name;
            }
        }
        return KC_AUTH_OK;
    }
    return offered ? KC_AUTH_BAD_TOKEN : KC_AUTH_MISSING;
}

enum kc_role kc_identity_role(const struct kc_identity *id, const char *cluster)
{
    if (id->admin_everywhere)
        return KC_ROLE_ADMIN;
    enum kc_role best = KC_ROLE_NONE;
    for (size_t m = 0; m < id->map_count; m++) {
        const struct kc_role_map *map = id->maps[m];
        for (size_t i = 0; i < map->count; i++) {
            const struct kc_role_grant *g = &map->grants[i];
            if ((!cluster || strcmp(g->cluster, "*") == 0 || strcmp(g->cluster, cluster) == 0) &&
                g->role > best)
                best = g->role;
        }
    }
    return best;
}

int kc_auth_permit(const struct kc_identity *id, const char *cluster, enum kc_role need,
                   const char *what, char *msg, size_t cap)
{
    enum kc_role have = kc_identity_role(id, cluster);
    if (have >= need)
        return 0;
    if (cluster)
        snprintf(msg, cap, "role %s may not %s on cluster %s", kc_role_name(have), what, cluster);
    else
        snprintf(msg, cap, "role %s may not %s (%s on a cluster is needed)", kc_role_name(have),
                 what, kc_role_name(need));
    return -1;
}
