/* test_connect_model.c — ConnectorStateInfo and the expand map into structs: real shapes,
 * missing and extra fields, and garbage refused with -1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/connect_model.h"

static json_t *load_fixture(const char *rel)
{
    const char *dir = getenv("KC_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "test/fixtures", rel);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("fixture %s: %s", path, err.text);
    return j;
}

static void test_status_fixture(void **state)
{
    (void)state;
    json_t *j = load_fixture("connect/status-orders-sink.json");
    struct kc_connector_status st;
    assert_int_equal(kc_connect_model_parse_status(j, NULL, NULL, &st), 0);
    json_decref(j);
    assert_string_equal(st.name, "orders-sink");
    assert_int_equal(st.type, KC_TYPE_SINK);
    assert_int_equal(st.state, KC_STATE_RUNNING);
    assert_string_equal(st.worker_id, "10.20.0.11:8083");
    assert_null(st.trace);
    assert_int_equal(st.task_count, 3);
    /* sorted by id whatever the order on the wire */
    assert_int_equal(st.tasks[0].id, 0);
    assert_int_equal(st.tasks[1].id, 1);
    assert_int_equal(st.tasks[1].state, KC_STATE_FAILED);
    assert_string_equal(st.tasks[1].state_text, "FAILED");
    assert_non_null(strstr(st.tasks[1].trace, "disk full"));
    assert_int_equal(st.tasks[2].state, KC_STATE_UNASSIGNED);
    assert_string_equal(st.tasks[2].worker_id, "");
    assert_true(kc_connect_model_task_queryable(&st.tasks[0]));
    assert_false(kc_connect_model_task_queryable(&st.tasks[2]));
    const char *workers[4];
    assert_int_equal(kc_connect_model_task_workers(&st, workers, 4), 2);
    assert_string_equal(workers[0], "10.20.0.11:8083");
    assert_string_equal(workers[1], "10.20.0.12:8083");
    assert_int_equal(kc_connect_model_task_workers(&st, workers, 1), 2); /* count beyond cap */
    kc_connect_model_status_clear(&st);
}

static void test_expand_list(void **state)
{
    (void)state;
    json_t *j = load_fixture("connect/expand-list.json");
    struct kc_connector_list list;
    assert_int_equal(kc_connect_model_parse_list(j, &list), 0);
    json_decref(j); /* the list keeps its own references to configs */
    /* {} and {"info":null} are dropped, "broken" (task without id) too */
    assert_int_equal(list.count, 3);
    assert_string_equal(list.items[0].name, "old-worker");
    assert_string_equal(list.items[1].name, "orders-sink");
    assert_string_equal(list.items[2].name, "orders-src");
    const struct kc_connector_status *src = kc_connect_model_list_find(&list, "orders-src");
    assert_non_null(src);
    assert_int_equal(src->type, KC_TYPE_SOURCE);
    assert_string_equal(src->class_name, "org.example.OrdersSource");
    assert_string_equal(json_string_value(json_object_get(src->config, "tasks.max")), "2");
    assert_string_equal(src->tasks[0].worker_id, "[fd00::5]:8083");
    assert_int_equal(src->topic_count, 0);
    const struct kc_connector_status *sink = kc_connect_model_list_find(&list, "orders-sink");
    assert_int_equal(sink->task_count, 0);
    assert_int_equal(sink->topic_count, 2);
    assert_string_equal(sink->topics[0], "orders");
    assert_string_equal(sink->topics[1], "orders-dlq");
    /* pre-1.0 status without "type": taken from info */
    const struct kc_connector_status *old = kc_connect_model_list_find(&list, "old-worker");
    assert_int_equal(old->type, KC_TYPE_SINK);
    assert_int_equal(old->state, KC_STATE_PAUSED);
    assert_null(kc_connect_model_list_find(&list, "just-created"));
    assert_null(kc_connect_model_list_find(&list, "orders"));
    kc_connect_model_list_clear(&list);
}

struct text_case {
    const char *body;
    int rc;
    const char *name;
    enum kc_connector_type type;
    enum kc_state state;
    size_t tasks;
};

static const struct text_case text_cases[] = {
    {"{\"name\":\"a\",\"connector\":{\"state\":\"RUNNING\",\"worker_id\":\"w:1\"},\"tasks\":[],"
     "\"type\":\"source\"}", 0, "a", KC_TYPE_SOURCE, KC_STATE_RUNNING, 0},
    {"{\"name\":\"a\"}", 0, "a", KC_TYPE_UNKNOWN, KC_STATE_OTHER, 0},
    {"{\"name\":\"s\",\"connector\":{\"state\":\"STOPPED\"},\"type\":\"unknown\"}", 0, "s",
     KC_TYPE_UNKNOWN, KC_STATE_STOPPED, 0},
    {"{\"name\":\"n\",\"connector\":{\"state\":\"HIBERNATING\"},\"tasks\":[{\"id\":3}]}", 0, "n",
     KC_TYPE_UNKNOWN, KC_STATE_OTHER, 1},
    {"[]", -1, NULL, 0, 0, 0},
    {"\"x\"", -1, NULL, 0, 0, 0},
    {"{}", -1, NULL, 0, 0, 0},
    {"{\"name\":\"\"}", -1, NULL, 0, 0, 0},
    {"{\"name\":42}", -1, NULL, 0, 0, 0},
    {"{\"name\":\"a\",\"tasks\":{}}", -1, NULL, 0, 0, 0},
    {"{\"name\":\"a\",\"tasks\":[{\"id\":\"0\"}]}", -1, NULL, 0, 0, 0},
    {"{\"name\":\"a\",\"tasks\":[{\"id\":-1}]}", -1, NULL, 0, 0, 0},
    {"{\"name\":\"a\",\"tasks\":[7]}", -1, NULL, 0, 0, 0},
    {"{\"name\":\"a\",\"connector\":\"RUNNING\"}", -1, NULL, 0, 0, 0},
    {"<html>502</html>", -1, NULL, 0, 0, 0},
    {"{\"error_code\":404,\"message\":\"No status found for connector x\"}", -1, NULL, 0, 0, 0},
};

static void test_status_text_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
        const struct text_case *c = &text_cases[i];
        struct kc_connector_status st;
        int rc = kc_connect_model_parse_status_text(c->body, strlen(c->body), &st);
        if (rc != c->rc)
            fail_msg("case %zu (%s): rc %d", i, c->body, rc);
        if (rc == 0) {
            assert_string_equal(st.name, c->name);
            assert_int_equal(st.type, c->type);
            assert_int_equal(st.state, c->state);
            assert_int_equal(st.task_count, c->tasks);
            kc_connect_model_status_clear(&st);
        } else {
            assert_null(st.name);
        }
    }
}

static void test_names(void **state)
{
    (void)state;
    static const char *const states[] = {"UNASSIGNED", "RUNNING", "PAUSED", "FAILED",
                                         "RESTARTING", "STOPPED"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(kc_connect_model_state_name(kc_connect_model_state_parse(states[i])),
                            states[i]);
    assert_int_equal(kc_connect_model_state_parse("running"), KC_STATE_OTHER);
    assert_string_equal(kc_connect_model_type_name(KC_TYPE_SINK), "sink");
    assert_string_equal(kc_connect_model_type_name(KC_TYPE_UNKNOWN), "unknown");
    json_t *notmap = json_array();
    struct kc_connector_list list;
    assert_int_equal(kc_connect_model_parse_list(notmap, &list), -1);
    json_decref(notmap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_fixture),
        cmocka_unit_test(test_expand_list),
        cmocka_unit_test(test_status_text_cases),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
