/* fuzz_metrics.c — libFuzzer target for the metrics document: a Connect status answer and a
 * Jolokia bulk answer (both from the input) → kc_metrics_build_document / summary row, twice,
 * so the second collection goes through the rate-from-deltas path. */
#include "kc/connect_model.h"
#include "kc/jolokia.h"
#include "kc/metrics.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SEP "\n#####\n"
#define MAX_WORKERS 8

static void build(const struct kc_connector_status *st, const struct kc_metrics_source *src,
                  size_t nsrc, struct kc_metrics_state *state, int64_t now)
{
    struct kc_metrics_input in = {.cluster = "default", .status = st, .sources = src,
                                  .source_count = nsrc, .now_ms = now, .duration_ns = 1234567};
    json_t *doc = kc_metrics_build_document(&in, state);
    if (doc) {
        char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(6));
        free(text);
        json_decref(doc);
    }
    json_t *row = kc_metrics_build_summary_row(&in, NULL);
    json_decref(row);
}

/* Input: byte 0 flags, then "<status json>\n#####\n<jolokia bulk>[\n#####\n<second bulk>]". */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    const char *sep = memmem(p, n, SEP, strlen(SEP));
    size_t status_len = sep ? (size_t)(sep - p) : n;
    const char *j1 = sep ? sep + strlen(SEP) : "";
    size_t j1_len = sep ? n - status_len - strlen(SEP) : 0;
    const char *j2 = NULL;
    size_t j2_len = 0;
    const char *sep2 = j1_len ? memmem(j1, j1_len, SEP, strlen(SEP)) : NULL;
    if (sep2) {
        j2 = sep2 + strlen(SEP);
        j2_len = j1_len - (size_t)(j2 - j1);
        j1_len = (size_t)(sep2 - j1);
    }

    struct kc_connector_status st;
    if (kc_connect_model_parse_status_text(p, status_len, &st) != 0)
        return 0;

    struct kc_jolokia_plan plan;
    unsigned what = kc_jolokia_what_for_type(st.type) | KC_JOLOKIA_JVM;
    if (kc_jolokia_plan_init(&plan, st.name, what) != 0) {
        kc_connect_model_status_clear(&st);
        return 0;
    }
    struct kc_jmx_result *r1 = kc_jolokia_result_new();
    struct kc_jmx_result *r2 = kc_jolokia_result_new();
    if (r1)
        kc_jolokia_parse_bulk(&plan, j1, j1_len, "jolokia a", NULL, r1);
    if (r2 && j2)
        kc_jolokia_parse_bulk(&plan, j2, j2_len, "jolokia b", NULL, r2);

    const char *workers[MAX_WORKERS];
    size_t nw = kc_connect_model_task_workers(&st, workers, MAX_WORKERS);
    if (nw > MAX_WORKERS)
        nw = MAX_WORKERS;
    struct kc_metrics_source src[MAX_WORKERS + 1];
    size_t nsrc = 0;
    if (flags & 1) {
        /* one agent for every worker (template without placeholders) */
        src[nsrc++] = (struct kc_metrics_source){NULL, r1, r1 ? NULL : "jolokia: out of memory"};
    } else {
        for (size_t i = 0; i < nw; i++) {
            int down = (flags >> (1 + i % 7)) & 1;
            src[nsrc++] = (struct kc_metrics_source){
                workers[i], down ? NULL : (i % 2 ? r2 : r1),
                down ? "jolokia 127.0.0.2:8083: connection refused" : NULL};
        }
    }

    struct kc_metrics_state *state = kc_metrics_state_new();
    build(&st, src, nsrc, state, 1767225600000LL);
    /* second collection: the same answers a few seconds later, then an earlier clock */
    build(&st, src, nsrc, state, 1767225605000LL);
    build(&st, src, nsrc, state, 1767225601000LL);
    kc_metrics_state_free(state);

    kc_jolokia_result_free(r1);
    kc_jolokia_result_free(r2);
    kc_jolokia_plan_clear(&plan);
    kc_connect_model_status_clear(&st);
    return 0;
}
