/* test_prom.c — Prometheus rendering of cluster summaries: family grouping, label escaping,
 * base units (ratio, bytes), tasks and workers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/prom.h"

static const char summary_a[] =
    "{\"connectors\":["
    "{\"name\":\"orders-src\",\"type\":\"source\",\"state\":\"RUNNING\","
    "\"tasks\":{\"running\":1,\"failed\":1,\"paused\":0,\"unassigned\":0,\"restarting\":0,\"total\":2},"
    "\"recordsPerSecond\":12.5,\"bytesPerSecond\":100.0,\"totalRecords\":1000,\"totalBytes\":5000,"
    "\"totalErrors\":5,\"errorRate\":0.5,\"lag\":null,"
    "\"taskList\":[[0,\"RUNNING\",\"w1:8083\",600,3000,2],[1,\"FAILED\",\"w2:8083\",400,2000,3]]},"
    "{\"name\":\"say \\\"hi\\\"\\\\\\n\",\"type\":\"sink\",\"state\":\"PAUSED\","
    "\"tasks\":{\"running\":0,\"failed\":0,\"paused\":1,\"unassigned\":0,\"restarting\":0,\"total\":1},"
    "\"recordsPerSecond\":0.0,\"bytesPerSecond\":0.0,\"totalRecords\":7,\"totalBytes\":70,"
    "\"totalErrors\":0,\"errorRate\":0.0,\"lag\":42,\"taskList\":[]}],"
    "\"workers\":[{\"workerId\":\"w1:8083\",\"heapUsedMB\":1.0,\"heapMaxMB\":2.0,\"cpuPercent\":50.0,"
    "\"threadCount\":10,\"jolokia\":{\"reachable\":true}},"
    "{\"workerId\":\"w2:8083\",\"heapUsedMB\":null,\"jolokia\":{\"reachable\":false}}]}";

static char *render(const struct kc_prom_cluster *cl, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    kc_prom_render_connectors(out, cl, n);
    fclose(out);
    return text;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_values_units_and_labels(void **state)
{
    json_t *a = json_loads(summary_a, 0, NULL);
    assert_non_null(a);
    struct kc_prom_cluster cl[] = {{"prod", a, 1}, {"dev", NULL, 0}};
    char *text = render(cl, 2);
    static const char *const expected[] = {
        "kconnect_connect_up{cluster=\"prod\"} 1\n",
        "kconnect_connect_up{cluster=\"dev\"} 0\n",
        "kconnect_connector_records_total{cluster=\"prod\",connector=\"orders-src\",type=\"source\"} 1000\n",
        "kconnect_connector_error_ratio{cluster=\"prod\",connector=\"orders-src\",type=\"source\"} 0.005\n",
        "kconnect_connector_records_per_second{cluster=\"prod\",connector=\"orders-src\",type=\"source\"} 12.5\n",
        /* quotes, backslash and newline escaped as the text format wants */
        "connector=\"say \\\"hi\\\"\\\\\\n\"",
        "kconnect_connector_lag_records{cluster=\"prod\",connector=\"say \\\"hi\\\"\\\\\\n\"} 42\n",
        "kconnect_connector_state{cluster=\"prod\",connector=\"orders-src\",type=\"source\",state=\"RUNNING\"} 1\n",
        "kconnect_connector_state{cluster=\"prod\",connector=\"orders-src\",type=\"source\",state=\"PAUSED\"} 0\n",
        "kconnect_connector_tasks{cluster=\"prod\",connector=\"orders-src\",state=\"FAILED\"} 1\n",
        "kconnect_task_state{cluster=\"prod\",connector=\"orders-src\",task=\"1\",state=\"FAILED\"} 1\n",
        "kconnect_task_bytes_total{cluster=\"prod\",connector=\"orders-src\",task=\"0\"} 3000\n",
        "kconnect_worker_heap_used_bytes{cluster=\"prod\",worker=\"w1:8083\"} 1048576\n",
        "kconnect_worker_cpu_ratio{cluster=\"prod\",worker=\"w1:8083\"} 0.5\n",
        "kconnect_jolokia_up{cluster=\"prod\",worker=\"w2:8083\"} 0\n",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        if (!strstr(text, expected[i]))
            fail_msg("missing: %s\n--- got ---\n%s", expected[i], text);
    }
    /* a source has no lag sample; a worker without heap data has no heap sample */
    assert_null(strstr(text, "kconnect_connector_lag_records{cluster=\"prod\",connector=\"orders-src\""));
    assert_null(strstr(text, "kconnect_worker_heap_used_bytes{cluster=\"prod\",worker=\"w2:8083\"}"));
    free(text);
    json_decref(a);
}

static void test_each_family_declared_once_before_its_samples(void **state)
{
    json_t *a = json_loads(summary_a, 0, NULL);
    struct kc_prom_cluster cl[] = {{"prod", a, 1}, {"dev", a, 1}};
    char *text = render(cl, 2);
    static const char *const families[] = {
        "kconnect_connect_up", "kconnect_connector_records_total", "kconnect_connector_state",
        "kconnect_connector_tasks", "kconnect_task_state", "kconnect_worker_threads",
        "kconnect_jolokia_up"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        char help[128], type[128];
        snprintf(help, sizeof help, "# HELP %s ", families[i]);
        snprintf(type, sizeof type, "# TYPE %s ", families[i]);
        assert_int_equal(count(text, help), 1);
        assert_int_equal(count(text, type), 1);
        /* every sample of the family comes after its TYPE line and before the next family */
        const char *t = strstr(text, type);
        char sample[128];
        snprintf(sample, sizeof sample, "\n%s{", families[i]);
        assert_true(strstr(text, sample) > t);
    }
    free(text);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_units_and_labels),
        cmocka_unit_test(test_each_family_declared_once_before_its_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
