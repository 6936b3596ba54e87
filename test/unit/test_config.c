/* test_config.c — settings from env and file: defaults, durations, errors naming the setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc/config.h"

static const char *const env_names[] = {
    "KAFKA_CONNECT_URL", "JOLOKIA_URL", "METRICS_CACHE_TTL", "KC_CONFIG", "LISTEN_ADDR",
    "KC_READ_ONLY", "LOG_LEVEL", "KAFKA_CONNECT_PASSWORD", "KC_MAX_BODY_BYTES",
};

static int clear_env(void **state)
{
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
    return 0;
}

static void test_durations(void **state)
{
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {{"5s", 5000}, {"500ms", 500}, {"5", 5000}, {"0.5", 500}, {"2m", 120000},
                 {"1h", 3600000}, {"", -1}, {"5x", -1}, {"-1s", -1}, {"s", -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(kc_config_parse_duration(cases[i].text), cases[i].ms);
}

static void test_defaults(void **state)
{
    struct kc_config cfg;
    char err[256] = "";
    char *argv[] = {"kconnect-console", NULL};
    assert_int_equal(kc_config_load(&cfg, 1, argv, err, sizeof err), 0);
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 8080);
    assert_int_equal(cfg.metrics_ttl_ms, 5000);
    assert_int_equal(cfg.cluster_count, 1);
    assert_string_equal(cfg.clusters[0].name, "default");
    assert_string_equal(cfg.clusters[0].connect_urls[0], "http://localhost:8083");
    assert_null(cfg.clusters[0].jolokia_url);
    kc_config_free(&cfg);
}

static void test_env(void **state)
{
    setenv("KAFKA_CONNECT_URL", "http://a:8083/, http://b:8083", 1);
    setenv("JOLOKIA_URL", "http://{host}:8778/jolokia/", 1);
    setenv("METRICS_CACHE_TTL", "500ms", 1);
    setenv("LISTEN_ADDR", "127.0.0.1:0", 1);
    setenv("KAFKA_CONNECT_PASSWORD", "pw", 1);
    struct kc_config cfg;
    char err[256] = "";
    char *argv[] = {"kconnect-console", NULL};
    assert_int_equal(kc_config_load(&cfg, 1, argv, err, sizeof err), 0);
    assert_int_equal(cfg.clusters[0].connect_url_count, 2);
    assert_string_equal(cfg.clusters[0].connect_urls[0], "http://a:8083");
    assert_string_equal(cfg.clusters[0].connect_urls[1], "http://b:8083");
    assert_string_equal(cfg.clusters[0].jolokia_url, "http://{host}:8778/jolokia");
    assert_string_equal(cfg.clusters[0].connect.password, "pw");
    assert_int_equal(cfg.metrics_ttl_ms, 500);
    assert_int_equal(cfg.listen_port, 0);
    kc_config_free(&cfg);
}

/* Loads with one env setting that must be refused; returns the refusal in err. */
static void load_refused(const char *env, const char *value, char *err, size_t errlen)
{
    clear_env(NULL);
    setenv(env, value, 1);
    struct kc_config cfg;
    char *argv[] = {"kconnect-console", NULL};
    assert_int_equal(kc_config_load(&cfg, 1, argv, err, errlen), -1);
    kc_config_free(&cfg);
    for (const unsigned char *c = (const unsigned char *)err; *c; c++)
        assert_true(*c >= 0x20 && *c != 0x7f);
}

static void test_errors_name_the_setting(void **state)
{
    static const struct {
        const char *env, *value;
    } cases[] = {{"METRICS_CACHE_TTL", "soon"}, {"KAFKA_CONNECT_URL", "ftp://x"},
                 {"LISTEN_ADDR", "nowhere"},     {"KC_READ_ONLY", "maybe"},
                 {"LOG_LEVEL", "loud"},          {"KC_MAX_BODY_BYTES", "-5"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        load_refused(cases[i].env, cases[i].value, err, sizeof err);
        assert_non_null(strstr(err, cases[i].env));
    }
}

/* A refusal quotes the bad value: control bytes in it are shown escaped, so the message stays
 * one line and a value cannot forge another (found by fuzz_config: a newline in a duration). */
static void test_refusals_stay_one_line(void **state)
{
    char err[256];
    load_refused("METRICS_CACHE_TTL", "5s\nkconnect-console: listening on 0.0.0.0:8080", err,
                 sizeof err);
    assert_non_null(strstr(err, "\"5s\\nkconnect-console: listening"));

    load_refused("LOG_LEVEL", "loud\r\t\x1b[2K\x7f", err, sizeof err);
    assert_non_null(strstr(err, "\"loud\\r\\t\\x1b[2K\\x7f\""));

    /* cut to the buffer, never inside an escape */
    char small[32];
    load_refused("LOG_LEVEL", "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", small, sizeof small);
    size_t n = strlen(small);
    assert_true(n < sizeof small);
    assert_true(n >= sizeof small - 2);
    assert_true(small[n - 2] == '\\' && small[n - 1] == 'n');
}

static void test_file_with_clusters(void **state)
{
    char path[] = "/tmp/kc-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"listen\":\"127.0.0.1:9000\",\"metricsCacheTTL\":\"2s\",\"readOnly\":true,"
          "\"clusters\":[{\"name\":\"prod\",\"connectUrl\":\"http://p:8083\","
          "\"jolokiaUrl\":\"http://{host}:8778/jolokia\",\"jolokiaUsername\":\"u\","
          "\"jolokiaPassword\":\"p\",\"connectTlsVerify\":false},"
          "{\"name\":\"dev\",\"connectUrl\":\"http://d:8083\"}]}",
          f);
    fclose(f);
    char flag[64];
    snprintf(flag, sizeof flag, "--config=%s", path);
    char *argv[] = {"kconnect-console", flag, NULL};
    struct kc_config cfg;
    char err[256] = "";
    assert_int_equal(kc_config_load(&cfg, 2, argv, err, sizeof err), 0);
    assert_int_equal(cfg.cluster_count, 2);
    assert_string_equal(cfg.clusters[0].name, "prod");
    assert_int_equal(cfg.clusters[0].connect.tls_verify, 0);
    assert_string_equal(cfg.clusters[0].jolokia.username, "u");
    assert_null(kc_config_find_cluster(&cfg, "default"));
    assert_non_null(kc_config_find_cluster(&cfg, "dev"));
    assert_int_equal(cfg.read_only, 1);
    assert_int_equal(cfg.metrics_ttl_ms, 2000);
    assert_int_equal(cfg.listen_port, 9000);
    kc_config_free(&cfg);

    f = fopen(path, "w");
    fputs("{\"clusters\":[{\"name\":\"x y\",\"connectUrl\":\"http://p\"}]}", f);
    fclose(f);
    assert_int_equal(kc_config_load(&cfg, 2, argv, err, sizeof err), -1);
    assert_non_null(strstr(err, "clusters[0].name"));
    kc_config_free(&cfg);

    /* The gateway's own segments under /api/ cannot name a cluster. */
    static const char *const reserved[] = {"clusters", "settings", "gateway", "whoami", "audit",
                                           "stream"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        f = fopen(path, "w");
        fprintf(f, "{\"clusters\":[{\"name\":\"%s\",\"connectUrl\":\"http://p\"}]}",
                reserved[i]);
        fclose(f);
        assert_int_equal(kc_config_load(&cfg, 2, argv, err, sizeof err), -1);
        assert_non_null(strstr(err, "clusters[0].name"));
        kc_config_free(&cfg);
    }
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_env, clear_env),
        cmocka_unit_test_setup(test_errors_name_the_setting, clear_env),
        cmocka_unit_test_setup(test_refusals_stay_one_line, clear_env),
        cmocka_unit_test_setup(test_file_with_clusters, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
