/* test_history.c — ring wraparound, time ordering, `since` filtering and the columnar JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "kc/history.h"

static struct kc_history_sample sample(int64_t t)
{
    struct kc_history_sample s = {0};
    s.t_ms = t;
    s.total_records = (double)t * 10;
    s.total_bytes = 9007199254740992.0; /* 2^53 stays exact */
    s.total_errors = 1;
    s.records_per_sec = 125.5f;
    s.bytes_per_sec = 15680.0f;
    s.error_rate = 0.5f;
    s.lag = ((t / 1000) % 2) ? NAN : (float)t;
    s.tasks_running = 2;
    s.tasks_failed = 1;
    s.tasks_other = 0;
    return s;
}

static void test_wraparound(void **state)
{
    (void)state;
    assert_null(kc_history_new(0));
    struct kc_history *h = kc_history_new(4);
    assert_int_equal(kc_history_capacity(h), 4);
    for (int64_t t = 1; t <= 10; t++) {
        struct kc_history_sample s = sample(t * 1000);
        assert_int_equal(kc_history_push(h, &s), 0);
        assert_int_equal(kc_history_count(h), t < 4 ? t : 4);
    }
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(kc_history_at(h, i)->t_ms, (int64_t)(7 + i) * 1000);
    assert_null(kc_history_at(h, 4));
    /* not newer than the newest: dropped */
    struct kc_history_sample old = sample(10000);
    assert_int_equal(kc_history_push(h, &old), -1);
    old.t_ms = 5000;
    assert_int_equal(kc_history_push(h, &old), -1);
    assert_int_equal(kc_history_at(h, 3)->t_ms, 10000);
    kc_history_free(h);
}

static const struct {
    int64_t since;
    size_t n;
    int64_t first_t;
} since_cases[] = {
    {0, 4, 7000}, {6999, 4, 7000}, {7000, 3, 8000}, {9500, 1, 10000}, {10000, 0, 0},
    {INT64_MAX, 0, 0}, {-5, 4, 7000},
};

static void test_since_json(void **state)
{
    (void)state;
    struct kc_history *h = kc_history_new(4);
    for (int64_t t = 1; t <= 10; t++) {
        struct kc_history_sample s = sample(t * 1000);
        kc_history_push(h, &s);
    }
    for (size_t i = 0; i < sizeof since_cases / sizeof since_cases[0]; i++) {
        json_t *j = kc_history_to_json(h, since_cases[i].since, 5000);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "since")), since_cases[i].since);
        assert_int_equal(json_integer_value(json_object_get(j, "interval_ms")), 5000);
        static const char *const cols[] = {"t", "recordsPerSecond", "bytesPerSecond",
                                           "totalRecords", "totalBytes", "totalErrors",
                                           "errorRate", "lag", "tasksRunning", "tasksFailed",
                                           "tasksOther"};
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
            assert_int_equal(json_array_size(json_object_get(j, cols[c])), since_cases[i].n);
        if (since_cases[i].n) {
            json_t *t = json_object_get(j, "t");
            assert_int_equal(json_integer_value(json_array_get(t, 0)), since_cases[i].first_t);
            json_t *lag = json_object_get(j, "lag");
            int64_t t0 = since_cases[i].first_t / 1000;
            assert_true((t0 % 2) ? json_is_null(json_array_get(lag, 0))
                                 : json_is_integer(json_array_get(lag, 0)));
            assert_true(json_real_value(json_array_get(json_object_get(j, "recordsPerSecond"),
                                                       0)) == 125.5);
            assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "totalBytes"), 0)),
                             9007199254740992LL);
            assert_int_equal(
                json_integer_value(json_array_get(json_object_get(j, "totalRecords"), 0)),
                since_cases[i].first_t * 10);
        }
        json_decref(j);
    }
    kc_history_free(h);
    json_t *empty = kc_history_to_json(NULL, 0, 5000);
    assert_int_equal(json_array_size(json_object_get(empty, "t")), 0);
    json_decref(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_since_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
