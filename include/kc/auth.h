/* kc/auth.h — who may do what: the `auth` config (tokens stored as SHA-256, trusted proxies,
 * groups), the identity of a request, roles per cluster and the route → role table. Pure. */
#ifndef KC_AUTH_H
#define KC_AUTH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "kc/sha256.h"

struct kc_config;

/* Ordered: a higher role may do everything a lower one may. */
enum kc_role { KC_ROLE_NONE = 0, KC_ROLE_VIEWER, KC_ROLE_OPERATOR, KC_ROLE_ADMIN };

const char *kc_role_name(enum kc_role r); /* "none", "viewer", "operator", "admin" */
/* "viewer" / "operator" / "admin" → 0 and *out; -1 otherwise. */
int kc_role_parse(const char *text, enum kc_role *out);

/* {"prod": "operator", "*": "viewer"}: "*" is every cluster. */
struct kc_role_grant {
    char *cluster;
    enum kc_role role;
};
struct kc_role_map {
    struct kc_role_grant *grants;
    size_t count;
};

struct kc_auth_token {
    char *name; /* in audit records and whoami; the token itself is never kept */
    uint8_t sha256[KC_SHA256_LEN];
    struct kc_role_map roles;
};

struct kc_auth_group {
    char *name;
    struct kc_role_map roles;
};

struct kc_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned prefix;
};

#define KC_AUTH_MAX_GROUPS 64 /* configured groups; an identity can hold all of them */

struct kc_auth_cfg {
    struct kc_auth_token *tokens;
    size_t token_count;
    struct kc_auth_group *groups;
    size_t group_count;
    struct kc_cidr *proxies; /* trustedProxies */
    size_t proxy_count;
    char *user_header;       /* default X-Forwarded-User */
    char *groups_header;     /* default X-Forwarded-Groups */
};

/* Parses the config file's `auth` object into a new *out. 0, or -1 with one line in err naming
 * the setting (never a token or digest). */
int kc_auth_cfg_parse(const json_t *auth, struct kc_auth_cfg **out, char *err, size_t errlen);
/* Every cluster a role map names must be configured ("*" aside): a typo must not pass. */
int kc_auth_cfg_check_clusters(const struct kc_auth_cfg *a, const struct kc_config *cfg,
                               char *err, size_t errlen);
void kc_auth_cfg_free(struct kc_auth_cfg *a); /* NULL is fine */

/* "10.0.0.0/8", "::1", "fd00::/8", "127.0.0.1" → 0; -1 when not an address or prefix. */
int kc_cidr_parse(const char *text, struct kc_cidr *out);
/* Whether peer (AF_INET or AF_INET6; IPv4-mapped IPv6 counts as IPv4) lies inside c. */
int kc_cidr_contains(const struct kc_cidr *c, const struct sockaddr *peer);
/* The peer address as text ("10.1.2.3", "::1"), or "unknown". */
void kc_auth_peer_text(const struct sockaddr *peer, char *out, size_t cap);

/* ---- identity ---- */

#define KC_IDENTITY_USER_MAX 128

struct kc_identity {
    char user[KC_IDENTITY_USER_MAX]; /* token name, forwarded user, or a fixed word */
    const char *source;              /* static: token, proxy, env-token, anonymous */
    int admin_everywhere;            /* KC_AUTH_TOKEN, or no authentication configured */
    const struct kc_role_map *maps[KC_AUTH_MAX_GROUPS]; /* borrowed from the config */
    size_t map_count;
    const char *groups[KC_AUTH_MAX_GROUPS];             /* matched group names, borrowed */
    size_t group_count;
};

/* What a request offers. Strings borrowed; NULL when absent. */
struct kc_auth_request {
    const char *authorization; /* the Authorization header */
    const char *query_token;   /* a decoded access_token query parameter (GETs only) */
    const struct sockaddr *peer;
    const char *user;          /* the value of auth.userHeader */
    const char *groups;        /* the value of auth.groupsHeader, a comma list */
};

enum kc_auth_result {
    KC_AUTH_OK = 0,
    KC_AUTH_MISSING,   /* nothing that identifies the caller */
    KC_AUTH_BAD_TOKEN, /* a token that matches none */
};

/* Identifies a request. a may be NULL (no `auth`), env_token NULL (no KC_AUTH_TOKEN); with
 * neither, everyone is the admin "anonymous" as before roles existed. A valid token wins; a
 * forwarded user counts only from a peer inside trustedProxies. */
enum kc_auth_result kc_auth_identify(const struct kc_auth_cfg *a, const char *env_token,
                                     const struct kc_auth_request *in, struct kc_identity *out);

/* The highest role of all that apply on cluster; cluster NULL = on any cluster (the highest
 * anywhere), for the gateway's routes that belong to no cluster. */
enum kc_role kc_identity_role(const struct kc_identity *id, const char *cluster);

/* ---- the route → role table ---- */

struct kc_auth_route {
    const char *label;  /* the router's / proxy table's route label */
    enum kc_role role;  /* needed; KC_ROLE_NONE = any identity */
    const char *what;   /* for the refusal: "role viewer may not <what> on cluster prod" */
    int cluster_scope;  /* 1: the role on the request's cluster; 0: on any cluster */
};

/* The entry of label, or NULL when the table does not know it. */
const struct kc_auth_route *kc_auth_route(const char *label);
/* The whole table, for /api/whoami and the tests. */
const struct kc_auth_route *kc_auth_routes(size_t *count);

/* 0 when id holds need on cluster (NULL = any); else -1 and the refusal sentence in msg. */
int kc_auth_permit(const struct kc_identity *id, const char *cluster, enum kc_role need,
                   const char *what, char *msg, size_t cap);

#endif
