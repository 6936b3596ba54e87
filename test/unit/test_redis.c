/* test_redis.c — KC_REDIS_URL parsing, the masked URL, and the Redis settings of the config,
 * table-driven; no sockets (the client itself is covered by integration/test_redis.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kc/config.h"
#include "kc/redis.h"

static void test_good_urls(void **state)
{
    (void)state;
    static const struct {
        const char *text, *host, *user, *password;
        int port, db;
        const char *masked;
    } cases[] = {
        {"redis://127.0.0.1", "127.0.0.1", NULL, NULL, 6379, 0, "redis://127.0.0.1:6379/0"},
        {"redis://redis:6380/3", "redis", NULL, NULL, 6380, 3, "redis://redis:6380/3"},
        {"redis://localhost/", "localhost", NULL, NULL, 6379, 0, "redis://localhost:6379/0"},
        {"REDIS://h.example.com:1/15", "h.example.com", NULL, NULL, 1, 15,
         "redis://h.example.com:1/15"},
        {"redis://:s3cret@10.0.0.5:6379/1", "10.0.0.5", NULL, "s3cret", 6379, 1,
         "redis://:********@10.0.0.5:6379/1"},
        /* An unencoded '@' and '/' in the password: the last '@' ends the user info. */
        {"redis://:p@ss/w:rd@redis:6379", "redis", NULL, "p@ss/w:rd", 6379, 0,
         "redis://:********@redis:6379/0"},
        {"redis://:p%40%25%3A%2F%20x@redis", "redis", NULL, "p@%:/ x", 6379, 0,
         "redis://:********@redis:6379/0"},
        {"redis://fleet:pw@redis:7000/2", "redis", "fleet", "pw", 7000, 2,
         "redis://fleet:********@redis:7000/2"},
        {"redis://[::1]:6390/4", "::1", NULL, NULL, 6390, 4, "redis://[::1]:6390/4"},
        {"redis://:x@[fe80::1]", "fe80::1", NULL, "x", 6379, 0,
         "redis://:********@[fe80::1]:6379/0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kc_redis_url u;
        char err[200] = "";
        assert_int_equal(kc_redis_url_parse(cases[i].text, &u, err, sizeof err), 0);
        assert_string_equal(u.host, cases[i].host);
        assert_int_equal(u.port, cases[i].port);
        assert_int_equal(u.db, cases[i].db);
        if (cases[i].user)
            assert_string_equal(u.username, cases[i].user);
        else
            assert_null(u.username);
        if (cases[i].password)
            assert_string_equal(u.password, cases[i].password);
        else
            assert_null(u.password);
        char *m = kc_redis_url_masked(&u);
        assert_string_equal(m, cases[i].masked);
        if (cases[i].password)
            assert_null(strstr(m, cases[i].password));
        free(m);
        kc_redis_url_clear(&u);
    }
}

static void test_bad_urls(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why; /* a word the error line must hold */
    } cases[] = {
        {"", "empty"},
        {"rediss://:pw@redis:6380", "TLS"},
        {"http://redis:6379", "redis://"},
        {"redis://", "no host"},
        {"redis://:6379", "no host"},
        {"redis://redis:0", "port"},
        {"redis://redis:65536", "port"},
        {"redis://redis:63x9", "port"},
        {"redis://redis:6379/x", "database"},
        {"redis://redis:6379/1?timeout=1", "unexpected"},
        {"redis://pwonly@redis", "':'"},
        {"redis://:@redis", "empty password"},
        {"redis://:bad%zzpw@redis", "escape"},
        {"redis://:nul%00@redis", "escape"},
        {"redis://[::1", "IPv6"},
        {"redis://[not-v6]:6379", "IPv6"},
        {"redis://bad host:6379", "host"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kc_redis_url u;
        char err[200] = "";
        assert_int_equal(kc_redis_url_parse(cases[i].text, &u, err, sizeof err), -1);
        assert_null(u.host);
        assert_null(u.password);
        if (!strstr(err, cases[i].why))
            fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].text, err, cases[i].why);
    }
}

/* The config refuses a bad URL naming the setting, and never repeats the password. */
static void test_config(void **state)
{
    (void)state;
    static const struct {
        const char *url, *prefix, *timeout;
        int ok;
        int64_t timeout_ms;
        const char *err_has;
    } cases[] = {
        {NULL, NULL, NULL, 1, 500, NULL},
        {"redis://:hunter2@redis:6379/1", "fleet-a:", "250", 1, 250, NULL},
        {"redis://redis", NULL, "2s", 1, 2000, NULL},
        {"rediss://:hunter2@redis:6380", NULL, NULL, 0, 0, "invalid KC_REDIS_URL: rediss://"},
        {"redis://:hunter2@redis:99999", NULL, NULL, 0, 0, "invalid KC_REDIS_URL: bad port"},
        {"redis://redis", "has space", NULL, 0, 0, "invalid KC_REDIS_PREFIX"},
        {"redis://redis", NULL, "5", 0, 0, "invalid KC_REDIS_TIMEOUT_MS"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].url)
            setenv("KC_REDIS_URL", cases[i].url, 1);
        else
            unsetenv("KC_REDIS_URL");
        if (cases[i].prefix)
            setenv("KC_REDIS_PREFIX", cases[i].prefix, 1);
        else
            unsetenv("KC_REDIS_PREFIX");
        if (cases[i].timeout)
            setenv("KC_REDIS_TIMEOUT_MS", cases[i].timeout, 1);
        else
            unsetenv("KC_REDIS_TIMEOUT_MS");
        struct kc_config cfg;
        char err[512] = "";
        char *argv[] = {"kconnect-console", NULL};
        int rc = kc_config_load(&cfg, 1, argv, err, sizeof err);
        if (cases[i].ok) {
            assert_int_equal(rc, 0);
            assert_int_equal(cfg.redis_timeout_ms, cases[i].timeout_ms);
            if (cases[i].prefix)
                assert_string_equal(cfg.redis_prefix, cases[i].prefix);
            else
                assert_null(cfg.redis_prefix);
        } else {
            assert_int_equal(rc, -1);
            if (!strstr(err, cases[i].err_has))
                fail_msg("error \"%s\" lacks \"%s\"", err, cases[i].err_has);
            assert_null(strstr(err, "hunter2"));
            assert_null(strchr(err, '\n'));
        }
        kc_config_free(&cfg);
    }
    unsetenv("KC_REDIS_URL");
    unsetenv("KC_REDIS_PREFIX");
    unsetenv("KC_REDIS_TIMEOUT_MS");
}

/* Without a client (local mode) the helpers answer local and the default prefix. */
static void test_local_mode(void **state)
{
    (void)state;
    assert_int_equal(kc_redis_ready(NULL), 0);
    assert_string_equal(kc_redis_prefix(NULL), "kc:");
    struct kc_redis_stats st;
    kc_redis_stats(NULL, &st);
    assert_int_equal(st.state, KC_REDIS_DISABLED);
    assert_string_equal(kc_redis_state_name(KC_REDIS_BACKOFF), "BACKOFF");
    kc_redis_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_local_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
