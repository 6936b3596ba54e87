/* test_fleet.c — the codecs fleet mode stores in Redis: the document envelope, a connector's
 * previous sample and a history sample. What comes back from Redis may be anything (another
 * build, a truncated write, an operator's SET): decoders refuse it, never misread it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kc/connect_model.h"
#include "kc/fleet.h"
#include "kc/history.h"
#include "kc/metrics.h"

static void test_envelope_round_trip(void **unused)
{
    (void)unused;
    static const unsigned char gz[] = {0x1f, 0x8b, 0x00, '\n', 0xff};
    struct kc_fleet_doc in = {
        .status = 200, .flags = KC_FLEET_DOC_GOOD, .seq = 1796495699283ull,
        .made_ms = 1796495699283, .ttl_ms = 4990, .body = "{\"a\":\"x\\ny\"}", .body_len = 12,
        .gz = gz, .gz_len = sizeof gz, .alerts = "{\"active\":[]}", .alerts_len = 13,
    };
    char *buf;
    size_t len;
    assert_int_equal(kc_fleet_doc_encode(&in, &buf, &len), 0);
    struct kc_fleet_doc out;
    assert_int_equal(kc_fleet_doc_decode(buf, len, &out), 0);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.flags, KC_FLEET_DOC_GOOD);
    assert_true(out.seq == in.seq && out.made_ms == in.made_ms && out.ttl_ms == 4990);
    assert_int_equal(out.body_len, 12);
    assert_memory_equal(out.body, in.body, 12);
    assert_int_equal(out.gz_len, sizeof gz);
    assert_memory_equal(out.gz, gz, sizeof gz);
    assert_int_equal(out.alerts_len, 13);
    assert_memory_equal(out.alerts, in.alerts, 13);

    /* Every truncation and a byte too many are refused. */
    for (size_t n = 0; n < len; n++)
        assert_int_equal(kc_fleet_doc_decode(buf, n, &out), -1);
    char *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 'x';
    assert_int_equal(kc_fleet_doc_decode(longer, len + 1, &out), -1);
    free(longer);
    free(buf);

    /* An error document: no gzip, no alerts. */
    struct kc_fleet_doc err = {.status = 404, .flags = KC_FLEET_DOC_NOT_FOUND, .seq = 3,
                               .body = "{}", .body_len = 2};
    assert_int_equal(kc_fleet_doc_encode(&err, &buf, &len), 0);
    assert_int_equal(kc_fleet_doc_decode(buf, len, &out), 0);
    assert_int_equal(out.status, 404);
    assert_null(out.gz);
    assert_null(out.alerts);
    free(buf);
}

static void test_envelope_garbage(void **unused)
{
    (void)unused;
    static const char *const bad[] = {
        "", "KCF1", "KCF1 \n", "KCF2 200 1 1 1 1 0 0 0\n", "KCF1 200 1 1 1 1 0 0 0 9\n",
        "KCF1 99 1 1 1 1 0 0 0\n", "KCF1 200 1 1 1 1 5 0 0\nabc",
        "KCF1 200 1 1 1 1 18446744073709551615 0 0\nabc", "KCF1 200 1 1 1 1 -1 0 0\n",
        "KCF1 200 x 1 1 1 0 0 0\n", "{\"status\":200}",
    };
    struct kc_fleet_doc out;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(kc_fleet_doc_decode(bad[i], strlen(bad[i]), &out), -1);
    assert_int_equal(kc_fleet_doc_decode("KCF1 200 0 1 1 1 3 0 0\nabc", 26, &out), 0);
}

/* A big envelope is announced by its size and head line: the notice tells what to fetch and
 * whether it is newer; anything that does not add up is refused. */
static void test_notice(void **unused)
{
    (void)unused;
    struct kc_fleet_doc in = {.status = 200, .flags = KC_FLEET_DOC_GOOD, .seq = 42,
                              .made_ms = 1796495699283, .ttl_ms = 5000, .body = "{\"a\":1}",
                              .body_len = 7, .alerts = "{}", .alerts_len = 2};
    char *env;
    size_t env_len;
    assert_int_equal(kc_fleet_doc_encode(&in, &env, &env_len), 0);
    size_t head_len = (size_t)((char *)memchr(env, '\n', env_len) - env) + 1;
    char notice[256];
    int n = snprintf(notice, sizeof notice, "KCN1 %zu %.*s", env_len, (int)head_len, env);
    struct kc_fleet_doc out;
    assert_int_equal(kc_fleet_notice_decode(notice, (size_t)n, &out), 0);
    assert_true(out.flags & KC_FLEET_DOC_NOTICE);
    assert_true(out.flags & KC_FLEET_DOC_GOOD);
    assert_int_equal(out.seq, 42);
    assert_int_equal(out.made_ms, 1796495699283);
    assert_int_equal(out.envelope_len, env_len);
    assert_int_equal(out.head_len, head_len);
    assert_memory_equal(out.head, env, head_len);
    assert_null(out.body);
    /* the whole envelope is no notice, and a notice is no envelope */
    assert_int_equal(kc_fleet_notice_decode(env, env_len, &out), -1);
    assert_int_equal(kc_fleet_doc_decode(notice, (size_t)n, &out), -1);
    char bad[256];
    static const char *const wrong[] = {"KCN1 %zu %.*sx", "KCN1 %zu  %.*s", "KCN2 %zu %.*s",
                                        "KCN1 1%zu %.*s"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        int m = snprintf(bad, sizeof bad, wrong[i], env_len, (int)head_len, env);
        assert_int_equal(kc_fleet_notice_decode(bad, (size_t)m, &out), -1);
    }
    static const char *const garbage[] = {"", "KCN1", "KCN1 ", "KCN1 x KCF1", "KCN1 10\n"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        assert_int_equal(kc_fleet_notice_decode(garbage[i], strlen(garbage[i]), &out), -1);
    /* a head claiming to be a notice is not an envelope's */
    assert_int_equal(kc_fleet_doc_decode("KCF1 200 4 1 1 1 3 0 0\nabc", 26, &out), -1);
    free(env);
}

/* A previous sample stored by one replica is taken by the next collector as it was written;
 * anything else is refused and the taker keeps its own. */
static void test_state_round_trip(void **unused)
{
    (void)unused;
    char name[] = "c", worker[] = "w1:8083";
    struct kc_task_status tasks[2] = {{.id = 0, .state = KC_STATE_RUNNING, .worker_id = worker},
                                      {.id = 1, .state = KC_STATE_RUNNING, .worker_id = worker}};
    struct kc_connector_status st = {.name = name, .state = KC_STATE_RUNNING, .tasks = tasks,
                                     .task_count = 2, .worker_id = worker};
    struct kc_metrics_input in = {.cluster = "default", .status = &st, .now_ms = 1000};
    struct kc_metrics_state *a = kc_metrics_state_new();
    struct kc_metrics_calc calc;
    assert_int_equal(kc_metrics_compute(&in, a, &calc), 0);
    kc_metrics_calc_clear(&calc);

    size_t n = kc_metrics_state_encoded_size(a);
    unsigned char *buf = malloc(n);
    kc_metrics_state_encode(a, buf);
    struct kc_metrics_state *b = kc_metrics_state_new();
    assert_int_equal(kc_metrics_state_merge(b, buf, n), 0);
    /* Not newer than what b holds now: kept. */
    assert_int_equal(kc_metrics_state_merge(b, buf, n), 1);
    /* Truncated, extended, or another layout: refused, b unchanged. */
    assert_int_equal(kc_metrics_state_merge(b, buf, n - 1), -1);
    unsigned char *other = malloc(n + 8);
    memcpy(other, buf, n);
    assert_int_equal(kc_metrics_state_merge(b, other, n + 8), -1);
    other[0] = 'X';
    assert_int_equal(kc_metrics_state_merge(b, other, n), -1);
    free(other);

    /* The encodings of a and b are the same bytes. */
    unsigned char *again = malloc(n);
    kc_metrics_state_encode(b, again);
    assert_memory_equal(buf, again, n);
    free(again);
    free(buf);

    /* An empty (never valid) state is never taken over a valid one. */
    n = kc_metrics_state_encoded_size(NULL);
    buf = malloc(n);
    kc_metrics_state_encode(NULL, buf);
    assert_int_equal(kc_metrics_state_merge(b, buf, n), 1);
    free(buf);
    kc_metrics_state_free(a);
    kc_metrics_state_free(b);
}

static void test_history_sample_text(void **unused)
{
    (void)unused;
    struct kc_history_sample s = {
        .t_ms = 1796495699283, .total_records = 9007199254740992.0, .total_bytes = 3963518786,
        .total_errors = 1883, .records_per_sec = 800.9f, .bytes_per_sec = 664932.3f,
        .error_rate = 0.0394f, .lag = NAN, .tasks_running = 2, .tasks_failed = 1,
        .tasks_other = 65535,
    };
    char text[KC_HISTORY_SAMPLE_TEXT_MAX];
    int n = kc_history_sample_format(&s, text, sizeof text);
    assert_true(n > 0);
    struct kc_history_sample back;
    assert_int_equal(kc_history_sample_parse(text, (size_t)n, &back), 0);
    assert_true(back.t_ms == s.t_ms && back.total_records == s.total_records);
    assert_true(back.records_per_sec == s.records_per_sec && back.error_rate == s.error_rate);
    assert_true(isnan(back.lag) && back.tasks_other == 65535 && back.tasks_failed == 1);
    s.lag = 42.5f;
    n = kc_history_sample_format(&s, text, sizeof text);
    assert_int_equal(kc_history_sample_parse(text, (size_t)n, &back), 0);
    assert_true(back.lag == 42.5f);
    assert_int_equal(kc_history_sample_format(&s, text, 10), -1);

    static const char *const bad[] = {"", "1,2,3", "1,2,3,4,5,6,7,-,1,2,3,4",
                                      "1,2,3,4,5,6,7,x,1,2,3", "1,2,3,4,5,6,7,-,70000,2,3",
                                      "1,2,3,4,5,6,7,-,1,2,3 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(kc_history_sample_parse(bad[i], strlen(bad[i]), &back), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_round_trip),
        cmocka_unit_test(test_envelope_garbage),
        cmocka_unit_test(test_notice),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_history_sample_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
