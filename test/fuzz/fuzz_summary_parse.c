/* fuzz_summary_parse.c — libFuzzer target for the summary parsed in pieces (kc/summary_parse.h):
 * differential against json_loadb of the whole text, at a budget taken from the input. */
#include "kc/summary_parse.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t budget = 1 + data[0] % 64; /* small budgets: every piece boundary is a pause */
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    json_t *want = json_loadb(text, len, 0, NULL);
    struct kc_summary_parser *p = kc_summary_parser_new(text, len);
    if (!p)
        abort();
    int rc;
    while ((rc = kc_summary_parser_step(p, budget)) == 1)
        ;
    json_t *got = kc_summary_parser_take(p);
    kc_summary_parser_free(p);
    if (rc == 0) {
        /* jsplit refuses nesting deeper than its stack that jansson takes: never the reverse */
        if (!want || !json_equal(want, got))
            abort();
        char *a = json_dumps(want, JSON_COMPACT), *b = json_dumps(got, JSON_COMPACT);
        if (!a || !b || strcmp(a, b) != 0)
            abort();
        free(a);
        free(b);
    }
    json_decref(got);
    json_decref(want);
    return 0;
}
