/* fuzz_jolokia.c — libFuzzer target for kc_jolokia_parse_bulk, the parse of a Jolokia agent's
 * bulk answer, under a plan for one connector and under the all-connectors plan. */
#include "kc/connect_model.h"
#include "kc/jolokia.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const NAMES[] = {"orders-src", "orders-sink", "eu:orders", "say \"hi\"*",
                                    "my conn.v2", "café-sink", "orders-src-2", ""};
#define NNAMES (sizeof NAMES / sizeof NAMES[0])

static void touch(const struct kc_jmx_result *r)
{
    size_t n = kc_jolokia_result_task_count(r);
    for (size_t i = 0; i < n; i++) {
        const struct kc_jmx_task *t = kc_jolokia_result_task_at(r, i);
        if (t && t->connector) {
            const struct kc_jmx_task *u = kc_jolokia_result_task(r, t->connector, t->task);
            if (u != t && (!u || strcmp(u->connector, t->connector) != 0 || u->task != t->task))
                abort(); /* lookup must find the task it enumerated */
            (void)strlen(t->status);
        }
    }
    const struct kc_jmx_jvm *j = kc_jolokia_result_jvm(r);
    (void)j;
    for (size_t i = 0; i < kc_jolokia_result_warning_count(r); i++)
        (void)strlen(kc_jolokia_result_warning(r, i));
}

/* Byte 0: plan selection (bit 0: all connectors, bits 1-3: what, bit 4: known-names set);
 * byte 1: connector name index; the rest is the agent's body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned sel = data[0];
    const char *name = NAMES[data[1] % NNAMES];
    const char *body = (const char *)data + 2;
    size_t len = size - 2;

    unsigned what = KC_JOLOKIA_TASKS | KC_JOLOKIA_JVM;
    what |= (sel & 2) ? KC_JOLOKIA_SOURCE : 0;
    what |= (sel & 4) ? KC_JOLOKIA_SINK : 0;
    if (sel & 8)
        what = kc_jolokia_what_for_type((int)(sel >> 5) % 3) | KC_JOLOKIA_JVM;

    struct kc_jolokia_plan plan;
    if (kc_jolokia_plan_init(&plan, (sel & 1) ? NULL : name, what) != 0)
        return 0;
    struct kc_jolokia_names *known = NULL;
    if ((sel & 1) && (sel & 16))
        known = kc_jolokia_names_new(NAMES, NNAMES);
    struct kc_jmx_result *r = kc_jolokia_result_new();
    if (r) {
        kc_jolokia_parse_bulk(&plan, body, len, "jolokia 127.0.0.1:8083", known, r);
        /* parsing into a result that already holds data adds to it */
        kc_jolokia_parse_bulk(&plan, body, len, "jolokia 127.0.0.1:8083", known, r);
        touch(r);
        kc_jolokia_result_free(r);
    }
    /* the other plan over the same bytes */
    struct kc_jolokia_plan other;
    if (kc_jolokia_plan_init(&other, (sel & 1) ? name : NULL, what) == 0) {
        struct kc_jmx_result *r2 = kc_jolokia_result_new();
        if (r2) {
            kc_jolokia_parse_bulk(&other, body, len, "w", NULL, r2);
            touch(r2);
            kc_jolokia_result_free(r2);
        }
        kc_jolokia_plan_clear(&other);
    }
    kc_jolokia_names_free(known);
    kc_jolokia_plan_clear(&plan);
    return 0;
}
