/* fuzz_connect_model.c — libFuzzer target for Connect's status document
 * (kc_connect_model_parse_status_text) and the ?expand=status&expand=info map
 * (kc_connect_model_parse_list). */
#include "kc/connect_model.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_status(const struct kc_connector_status *st)
{
    if (!st->name)
        abort(); /* success promises a usable name */
    (void)kc_connect_model_state_name(st->state);
    (void)kc_connect_model_type_name(st->type);
    for (size_t i = 0; i < st->task_count; i++) {
        if (i > 0 && st->tasks[i - 1].id > st->tasks[i].id)
            abort(); /* tasks are sorted by id */
        (void)kc_connect_model_task_queryable(&st->tasks[i]);
        if (st->tasks[i].worker_id)
            (void)strlen(st->tasks[i].worker_id);
    }
    for (size_t i = 0; i < st->topic_count; i++)
        (void)strlen(st->topics[i]);
    const char *workers[4];
    (void)kc_connect_model_task_workers(st, workers, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kc_connector_status st;
    if (kc_connect_model_parse_status_text((const char *)data, size, &st) == 0) {
        check_status(&st);
        kc_connect_model_status_clear(&st);
    }

    json_t *map = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (map) {
        struct kc_connector_list list;
        if (kc_connect_model_parse_list(map, &list) == 0) {
            for (size_t i = 0; i < list.count; i++) {
                check_status(&list.items[i]);
                if (i > 0 && strcmp(list.items[i - 1].name, list.items[i].name) > 0)
                    abort(); /* sorted by name */
                if (kc_connect_model_list_find(&list, list.items[i].name) == NULL)
                    abort();
            }
            (void)kc_connect_model_list_find(&list, "orders-src");
            kc_connect_model_list_clear(&list);
        }
        /* a map entry as a status document with its info */
        if (json_is_object(map)) {
            const char *k;
            json_t *v;
            json_object_foreach(map, k, v)
            {
                struct kc_connector_status one;
                if (kc_connect_model_parse_status(json_object_get(v, "status"),
                                                  json_object_get(v, "info"), k, &one) == 0) {
                    check_status(&one);
                    kc_connect_model_status_clear(&one);
                }
            }
        }
        json_decref(map);
    }
    return 0;
}
