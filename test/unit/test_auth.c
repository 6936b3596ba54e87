/* test_auth.c — the `auth` config (accepted and refused), CIDRs (IPv4, IPv6, mapped), who a
 * request is (tokens, KC_AUTH_TOKEN, forwarded users from trusted and untrusted peers), the
 * highest role winning, refusal sentences and the route table. Table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/auth.h"
#include "kc/config.h"

/* a well-formed digest for the refusal cases (the sample config hashes its tokens itself) */
#define CI_SHA "bd1c7f5af3bd5bb57fc4ab5b10bc4b3d9e0a4e2b7b4a2cbeee2e41b3dbf06a8c"

static char ci_hex[65], ops_hex[65];

static void hex_of(const char *token, char out[65])
{
    uint8_t d[KC_SHA256_LEN];
    kc_sha256(token, strlen(token), d);
    for (int i = 0; i < KC_SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static struct kc_auth_cfg *parse_ok(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    struct kc_auth_cfg *a = NULL;
    char err[256] = "";
    int rc = kc_auth_cfg_parse(j, &a, err, sizeof err);
    if (rc != 0)
        fail_msg("parse failed: %s", err);
    json_decref(j);
    return a;
}

static struct kc_auth_cfg *sample(void)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"tokens\":[{\"name\":\"ci-bot\",\"sha256\":\"%s\",\"roles\":{\"prod\":\"operator\","
             "\"*\":\"viewer\"}},{\"name\":\"ops\",\"sha256\":\"%s\",\"roles\":{\"staging\":"
             "\"admin\"}}],\"trustedProxies\":[\"10.0.0.0/8\",\"fd00::/8\",\"127.0.0.1\"],"
             "\"groups\":{\"kafka-admins\":{\"*\":\"admin\"},\"kafka-ops\":{\"prod\":\"operator\","
             "\"*\":\"viewer\"},\"staging-viewers\":{\"staging\":\"viewer\"}}}",
             ci_hex, ops_hex);
    return parse_ok(text);
}

static int setup(void **state)
{
    hex_of("ci-secret-1", ci_hex);
    hex_of("ops-secret-2", ops_hex);
    return 0;
}

static void test_parse_sample(void **state)
{
    struct kc_auth_cfg *a = sample();
    assert_int_equal(a->token_count, 2);
    assert_string_equal(a->tokens[0].name, "ci-bot");
    assert_int_equal(a->tokens[0].roles.count, 2);
    assert_int_equal(a->group_count, 3);
    assert_int_equal(a->proxy_count, 3);
    assert_string_equal(a->user_header, "X-Forwarded-User");
    assert_string_equal(a->groups_header, "X-Forwarded-Groups");
    kc_auth_cfg_free(a);
}

static void test_parse_refused(void **state)
{
    static const struct {
        const char *json, *err_has;
    } cases[] = {
        {"[]", "config key auth"},
        {"{\"token\":1}", "unknown key \"token\""},
        {"{\"tokens\":{}}", "auth.tokens: want an array"},
        {"{\"tokens\":[{\"name\":\"a\",\"token\":\"plain\",\"roles\":{\"*\":\"admin\"}}]}",
         "never the token itself"},
        {"{\"tokens\":[{\"name\":\"a\",\"sha256\":\"abc\",\"roles\":{\"*\":\"admin\"}}]}",
         "auth.tokens[a].sha256"},
        {"{\"tokens\":[{\"sha256\":\"" CI_SHA "\",\"roles\":{\"*\":\"admin\"}}]}",
         "auth.tokens[0].name"},
        {"{\"tokens\":[{\"name\":\"a\",\"sha256\":\"" CI_SHA "\",\"roles\":{\"*\":\"root\"}}]}",
         "want viewer, operator or admin"},
        {"{\"tokens\":[{\"name\":\"a\",\"sha256\":\"" CI_SHA "\",\"roles\":{}}]}",
         "auth.tokens[a].roles"},
        {"{\"tokens\":[{\"name\":\"a\",\"sha256\":\"" CI_SHA "\",\"roles\":{\"*\":\"admin\"}},"
         "{\"name\":\"a\",\"sha256\":\"" CI_SHA "\",\"roles\":{\"*\":\"admin\"}}]}",
         "appears twice"},
        {"{\"trustedProxies\":[\"10.0.0.0/33\"]}", "auth.trustedProxies[0]"},
        {"{\"trustedProxies\":\"10.0.0.0/8\"}", "auth.trustedProxies"},
        {"{\"userHeader\":\"X User\"}", "auth.userHeader"},
        {"{\"groups\":{\"a,b\":{\"*\":\"viewer\"}}}", "auth.groups[a,b]"},
        {"{\"groups\":{\"ops\":\"admin\"}}", "auth.groups[ops]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_loads(cases[i].json, 0, NULL);
        assert_non_null(j);
        struct kc_auth_cfg *a = (struct kc_auth_cfg *)1;
        char err[256] = "";
        assert_int_equal(kc_auth_cfg_parse(j, &a, err, sizeof err), -1);
        assert_null(a);
        if (!strstr(err, cases[i].err_has))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].err_has);
        /* the error line never echoes a digest */
        assert_null(strstr(err, CI_SHA));
        json_decref(j);
    }
}

static void test_check_clusters(void **state)
{
    struct kc_cluster_cfg clusters[2] = {{.name = (char *)"prod"}, {.name = (char *)"staging"}};
    struct kc_config cfg = {.clusters = clusters, .cluster_count = 2};
    struct kc_auth_cfg *a = sample();
    char err[256] = "";
    assert_int_equal(kc_auth_cfg_check_clusters(a, &cfg, err, sizeof err), 0);
    cfg.cluster_count = 1; /* no staging: ops' and staging-viewers' grants name a stranger */
    assert_int_equal(kc_auth_cfg_check_clusters(a, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "no cluster named \"staging\""));
    assert_int_equal(kc_auth_cfg_check_clusters(NULL, &cfg, err, sizeof err), 0);
    kc_auth_cfg_free(a);
}

/* ---- addresses ---- */

static void sockaddr_of(const char *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1)
        in4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
        in6->sin6_family = AF_INET6;
    else
        fail_msg("bad test address %s", ip);
}

static void test_cidr(void **state)
{
    static const struct {
        const char *cidr, *peer;
        int inside;
    } cases[] = {
        {"10.0.0.0/8", "10.1.2.3", 1},
        {"10.0.0.0/8", "11.0.0.1", 0},
        {"10.0.0.0/8", "::ffff:10.9.9.9", 1}, /* IPv4-mapped counts as IPv4 */
        {"192.168.1.0/25", "192.168.1.127", 1},
        {"192.168.1.0/25", "192.168.1.128", 0},
        {"127.0.0.1", "127.0.0.1", 1},
        {"127.0.0.1", "127.0.0.2", 0},
        {"0.0.0.0/0", "203.0.113.9", 1},
        {"0.0.0.0/0", "2001:db8::1", 0},
        {"::1", "::1", 1},
        {"::1", "127.0.0.1", 0},
        {"fd00::/8", "fd12:3456::1", 1},
        {"fd00::/8", "fe80::1", 0},
        {"2001:db8::/33", "2001:db8:7fff::1", 1},
        {"2001:db8::/33", "2001:db8:8000::1", 0},
        {"::/0", "2001:db8::1", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kc_cidr c;
        struct sockaddr_storage ss;
        assert_int_equal(kc_cidr_parse(cases[i].cidr, &c), 0);
        sockaddr_of(cases[i].peer, &ss);
        if (kc_cidr_contains(&c, (struct sockaddr *)&ss) != cases[i].inside)
            fail_msg("case %zu: %s in %s", i, cases[i].peer, cases[i].cidr);
    }
    static const char *const bad[] = {"", "abc", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
                                      "10.0.0.0/8x", "::1/129", "10.0.0/8", "10.0.0.0/+8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct kc_cidr c;
        if (kc_cidr_parse(bad[i], &c) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    char text[64];
    struct sockaddr_storage ss;
    sockaddr_of("::ffff:10.1.2.3", &ss);
    kc_auth_peer_text((struct sockaddr *)&ss, text, sizeof text);
    assert_string_equal(text, "10.1.2.3");
    sockaddr_of("fd00::1", &ss);
    kc_auth_peer_text((struct sockaddr *)&ss, text, sizeof text);
    assert_string_equal(text, "fd00::1");
    kc_auth_peer_text(NULL, text, sizeof text);
    assert_string_equal(text, "unknown");
}

/* ---- identity and roles ---- */

static void test_identify(void **state)
{
    struct kc_auth_cfg *a = sample();
    struct sockaddr_storage trusted, stranger, trusted6;
    sockaddr_of("10.2.3.4", &trusted);
    sockaddr_of("192.0.2.7", &stranger);
    sockaddr_of("fd00::5", &trusted6);
    static const struct {
        const char *authorization, *query, *peer, *user, *groups, *env;
        enum kc_auth_result result;
        const char *who, *source, *prod, *staging;
    } cases[] = {
        /* tokens */
        {"Bearer ci-secret-1", NULL, "s", NULL, NULL, NULL, KC_AUTH_OK, "ci-bot", "token",
         "operator", "viewer"},
        {"bearer ops-secret-2", NULL, "s", NULL, NULL, NULL, KC_AUTH_OK, "ops", "token", "none",
         "admin"},
        {NULL, "ci-secret-1", "s", NULL, NULL, NULL, KC_AUTH_OK, "ci-bot", "token", "operator",
         "viewer"},
        {"Bearer wrong", NULL, "s", NULL, NULL, NULL, KC_AUTH_BAD_TOKEN, NULL, NULL, NULL, NULL},
        {"Bearer ", NULL, "s", NULL, NULL, NULL, KC_AUTH_BAD_TOKEN, NULL, NULL, NULL, NULL},
        {"Token ci-secret-1", NULL, "s", NULL, NULL, NULL, KC_AUTH_BAD_TOKEN, NULL, NULL, NULL,
         NULL},
        /* the digest is not the token: a leaked config grants nothing */
        {"Bearer <ci-digest>", NULL, "s", NULL, NULL, NULL, KC_AUTH_BAD_TOKEN, NULL, NULL, NULL,
         NULL},
        /* the header wins over the query */
        {"Bearer wrong", "ci-secret-1", "s", NULL, NULL, NULL, KC_AUTH_BAD_TOKEN, NULL, NULL,
         NULL, NULL},
        {NULL, NULL, "s", NULL, NULL, NULL, KC_AUTH_MISSING, NULL, NULL, NULL, NULL},
        /* KC_AUTH_TOKEN beside `auth`: one more admin token */
        {"Bearer env-tok", NULL, "s", NULL, NULL, "env-tok", KC_AUTH_OK, "KC_AUTH_TOKEN",
         "env-token", "admin", "admin"},
        {"Bearer ci-secret-1", NULL, "s", NULL, NULL, "env-tok", KC_AUTH_OK, "ci-bot", "token",
         "operator", "viewer"},
        /* forwarded identities: only from trusted peers */
        {NULL, NULL, "t", "alice", "kafka-ops", NULL, KC_AUTH_OK, "alice", "proxy", "operator",
         "viewer"},
        {NULL, NULL, "t6", "alice", "kafka-ops", NULL, KC_AUTH_OK, "alice", "proxy", "operator",
         "viewer"},
        {NULL, NULL, "s", "alice", "kafka-admins", NULL, KC_AUTH_MISSING, NULL, NULL, NULL, NULL},
        {NULL, NULL, "t", "bob", " staging-viewers , kafka-ops,unknown", NULL, KC_AUTH_OK, "bob",
         "proxy", "operator", "viewer"},
        {NULL, NULL, "t", "carol", "kafka-ops,kafka-admins", NULL, KC_AUTH_OK, "carol", "proxy",
         "admin", "admin"},
        {NULL, NULL, "t", "dave", NULL, NULL, KC_AUTH_OK, "dave", "proxy", "none", "none"},
        {NULL, NULL, "t", "kafka", "kafka-opsx,xkafka-ops", NULL, KC_AUTH_OK, "kafka", "proxy",
         "none", "none"},
        {NULL, NULL, "t", "", "kafka-admins", NULL, KC_AUTH_MISSING, NULL, NULL, NULL, NULL},
        {NULL, NULL, "t", "  ", "kafka-admins", NULL, KC_AUTH_MISSING, NULL, NULL, NULL, NULL},
        {NULL, NULL, "t", " alice ", "kafka-ops", NULL, KC_AUTH_OK, "alice", "proxy", "operator",
         "viewer"},
        {NULL, NULL, "t", "b\xff" "d", "kafka-admins", NULL, KC_AUTH_MISSING, NULL, NULL, NULL,
         NULL},
        {NULL, NULL, "t", "eve\x01", "kafka-admins", NULL, KC_AUTH_MISSING, NULL, NULL, NULL,
         NULL},
        /* a token that matches wins over a forwarded user; one that does not is the proxy's */
        {"Bearer ci-secret-1", NULL, "t", "alice", "kafka-admins", NULL, KC_AUTH_OK, "ci-bot",
         "token", "operator", "viewer"},
        {"Bearer proxy-id-token", NULL, "t", "alice", "kafka-admins", NULL, KC_AUTH_OK, "alice",
         "proxy", "admin", "admin"},
    };
    char ci_bearer[80];
    snprintf(ci_bearer, sizeof ci_bearer, "Bearer %s", ci_hex);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kc_auth_request in = {0};
        in.authorization = cases[i].authorization && strcmp(cases[i].authorization,
                                                            "Bearer <ci-digest>") == 0
                               ? ci_bearer
                               : cases[i].authorization;
        in.query_token = cases[i].query;
        in.peer = (const struct sockaddr *)(strcmp(cases[i].peer, "t") == 0    ? &trusted
                                            : strcmp(cases[i].peer, "t6") == 0 ? &trusted6
                                                                               : &stranger);
        in.user = cases[i].user;
        in.groups = cases[i].groups;
        struct kc_identity id;
        enum kc_auth_result r = kc_auth_identify(a, cases[i].env, &in, &id);
        if (r != cases[i].result)
            fail_msg("case %zu: result %d, want %d", i, r, cases[i].result);
        if (r != KC_AUTH_OK)
            continue;
        assert_string_equal(id.user, cases[i].who);
        assert_string_equal(id.source, cases[i].source);
        if (strcmp(kc_role_name(kc_identity_role(&id, "prod")), cases[i].prod) != 0 ||
            strcmp(kc_role_name(kc_identity_role(&id, "staging")), cases[i].staging) != 0)
            fail_msg("case %zu: prod %s staging %s", i,
                     kc_role_name(kc_identity_role(&id, "prod")),
                     kc_role_name(kc_identity_role(&id, "staging")));
    }
    kc_auth_cfg_free(a);
}

static void test_no_auth_and_env_only(void **state)
{
    struct kc_auth_request in = {0};
    struct kc_identity id;
    assert_int_equal(kc_auth_identify(NULL, NULL, &in, &id), KC_AUTH_OK);
    assert_string_equal(id.user, "anonymous");
    assert_int_equal(kc_identity_role(&id, "anything"), KC_ROLE_ADMIN);
    /* KC_AUTH_TOKEN alone: as before roles, and forwarded headers mean nothing */
    in.user = "mallory";
    assert_int_equal(kc_auth_identify(NULL, "s3cret", &in, &id), KC_AUTH_MISSING);
    in.authorization = "Bearer s3cret";
    assert_int_equal(kc_auth_identify(NULL, "s3cret", &in, &id), KC_AUTH_OK);
    assert_string_equal(id.user, "KC_AUTH_TOKEN");
    in.authorization = "Bearer s3cre";
    assert_int_equal(kc_auth_identify(NULL, "s3cret", &in, &id), KC_AUTH_BAD_TOKEN);
    in.authorization = NULL;
    in.query_token = "s3cret";
    assert_int_equal(kc_auth_identify(NULL, "s3cret", &in, &id), KC_AUTH_OK);
}

static void test_highest_role_wins_and_refusals(void **state)
{
    struct kc_auth_cfg *a = parse_ok(
        "{\"groups\":{\"g1\":{\"prod\":\"viewer\",\"*\":\"operator\"},\"g2\":{\"prod\":\"admin\"}},"
        "\"trustedProxies\":[\"127.0.0.0/8\"]}");
    struct sockaddr_storage lo;
    sockaddr_of("127.0.0.1", &lo);
    struct kc_auth_request in = {.peer = (struct sockaddr *)&lo, .user = "u", .groups = "g1"};
    struct kc_identity id;
    assert_int_equal(kc_auth_identify(a, NULL, &in, &id), KC_AUTH_OK);
    /* "*": operator beats the narrower prod: viewer */
    assert_int_equal(kc_identity_role(&id, "prod"), KC_ROLE_OPERATOR);
    assert_int_equal(kc_identity_role(&id, NULL), KC_ROLE_OPERATOR);
    char msg[200];
    assert_int_equal(kc_auth_permit(&id, "prod", KC_ROLE_OPERATOR, "restart connectors", msg,
                                    sizeof msg), 0);
    assert_int_equal(kc_auth_permit(&id, "prod", KC_ROLE_ADMIN, "delete connectors", msg,
                                    sizeof msg), -1);
    assert_string_equal(msg, "role operator may not delete connectors on cluster prod");
    assert_int_equal(kc_auth_permit(&id, NULL, KC_ROLE_ADMIN, "read the audit trail", msg,
                                    sizeof msg), -1);
    assert_string_equal(msg, "role operator may not read the audit trail (admin on a cluster "
                             "is needed)");
    in.groups = "g1,g2";
    assert_int_equal(kc_auth_identify(a, NULL, &in, &id), KC_AUTH_OK);
    assert_int_equal(kc_identity_role(&id, "prod"), KC_ROLE_ADMIN);
    assert_int_equal(kc_identity_role(&id, "staging"), KC_ROLE_OPERATOR);
    in.groups = NULL;
    assert_int_equal(kc_auth_identify(a, NULL, &in, &id), KC_AUTH_OK);
    assert_int_equal(kc_auth_permit(&id, "prod", KC_ROLE_VIEWER, "list connectors", msg,
                                    sizeof msg), -1);
    assert_string_equal(msg, "role none may not list connectors on cluster prod");
    assert_int_equal(kc_auth_permit(&id, "prod", KC_ROLE_NONE, "ask who they are", msg,
                                    sizeof msg), 0);
    kc_auth_cfg_free(a);
}

/* Every label of the proxy's table and the router's, with the role the issue gives it. */
static void test_route_table(void **state)
{
    static const struct {
        const char *label;
        enum kc_role role;
    } want[] = {
        {"connect_root", KC_ROLE_VIEWER}, {"connectors_list", KC_ROLE_VIEWER},
        {"connector_info", KC_ROLE_VIEWER}, {"connector_config", KC_ROLE_VIEWER},
        {"connector_status", KC_ROLE_VIEWER}, {"connector_tasks", KC_ROLE_VIEWER},
        {"connector_tasks_config", KC_ROLE_VIEWER}, {"task_status", KC_ROLE_VIEWER},
        {"connector_topics", KC_ROLE_VIEWER}, {"connector_offsets", KC_ROLE_VIEWER},
        {"plugins", KC_ROLE_VIEWER}, {"plugin_config", KC_ROLE_VIEWER},
        {"loggers", KC_ROLE_VIEWER}, {"logger", KC_ROLE_VIEWER},
        {"cluster_metrics", KC_ROLE_VIEWER}, {"alerts", KC_ROLE_VIEWER},
        {"connector_metrics", KC_ROLE_VIEWER}, {"connector_history", KC_ROLE_VIEWER},
        {"connector_stream", KC_ROLE_VIEWER}, {"clusters", KC_ROLE_VIEWER},
        {"gateway_health", KC_ROLE_VIEWER}, {"settings", KC_ROLE_NONE}, {"whoami", KC_ROLE_NONE},
        {"connector_pause", KC_ROLE_OPERATOR}, {"connector_resume", KC_ROLE_OPERATOR},
        {"connector_stop", KC_ROLE_OPERATOR}, {"connector_restart", KC_ROLE_OPERATOR},
        {"task_restart", KC_ROLE_OPERATOR}, {"connector_topics_reset", KC_ROLE_OPERATOR},
        {"connector_create", KC_ROLE_ADMIN}, {"connector_config_put", KC_ROLE_ADMIN},
        {"connector_config_patch", KC_ROLE_ADMIN}, {"connector_delete", KC_ROLE_ADMIN},
        {"connector_offsets_alter", KC_ROLE_ADMIN}, {"connector_offsets_reset", KC_ROLE_ADMIN},
        {"logger_set", KC_ROLE_ADMIN}, {"plugin_validate", KC_ROLE_ADMIN},
        {"audit", KC_ROLE_ADMIN},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct kc_auth_route *r = kc_auth_route(want[i].label);
        if (!r)
            fail_msg("no entry for %s", want[i].label);
        if (r->role != want[i].role)
            fail_msg("%s needs %s, want %s", want[i].label, kc_role_name(r->role),
                     kc_role_name(want[i].role));
        assert_non_null(r->what);
    }
    size_t n;
    const struct kc_auth_route *t = kc_auth_routes(&n);
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            assert_string_not_equal(t[i].label, t[k].label);
    assert_null(kc_auth_route("no_such_route"));
    assert_null(kc_auth_route(NULL));
    enum kc_role r;
    assert_int_equal(kc_role_parse("operator", &r), 0);
    assert_int_equal(r, KC_ROLE_OPERATOR);
    assert_int_equal(kc_role_parse("none", &r), -1);
    assert_int_equal(kc_role_parse("Admin", &r), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sample),
        cmocka_unit_test(test_parse_refused),
        cmocka_unit_test(test_check_clusters),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_identify),
        cmocka_unit_test(test_no_auth_and_env_only),
        cmocka_unit_test(test_highest_role_wins_and_refusals),
        cmocka_unit_test(test_route_table),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
