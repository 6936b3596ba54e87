/* fuzz_objectname.c — libFuzzer target for kc_objectname_parse (the ObjectNames Jolokia echoes
 * back) and the quoting round trip: a value quoted as Kafka does parses back to itself. */
#include "kc/objectname.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0'; /* names arrive as C strings; an embedded NUL just ends the name */

    struct kc_objectname on;
    if (kc_objectname_parse(s, &on) == 0) {
        if (on.count > KC_OBJECTNAME_MAX_KEYS || !on.domain)
            abort();
        for (size_t i = 0; i < on.count; i++) {
            int q = -1;
            const char *v = kc_objectname_get(&on, on.props[i].key, &q);
            if (!v || q != on.props[i].quoted)
                abort(); /* keys are unique: get finds this one */
        }
        (void)kc_objectname_get(&on, "connector", NULL);
        kc_objectname_clear(&on);
    }

    /* round trip: quote(v) as the value of a key parses back to v */
    char *q = s[0] ? kc_objectname_quote_value(s) : NULL; /* a key needs a value */
    if (q) {
        if (kc_objectname_needs_quote(s) != (q[0] == '"' && strcmp(q, s) != 0))
            abort();
        size_t n = strlen(q) + 32;
        char *name = malloc(n);
        if (name) {
            snprintf(name, n, "kafka.connect:connector=%s,task=0", q);
            struct kc_objectname back;
            if (kc_objectname_parse(name, &back) != 0)
                abort(); /* anything we quote must parse */
            const char *v = kc_objectname_get(&back, "connector", NULL);
            if (!v || strcmp(v, s) != 0)
                abort();
            kc_objectname_clear(&back);
            free(name);
        }
        free(q);
    }
    char *p = kc_objectname_quote_pattern(s, "*");
    free(p);
    free(s);
    return 0;
}
