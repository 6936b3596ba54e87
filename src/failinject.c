/* failinject.c — test-only fault injection: every Nth jansson allocation fails.
 * Installed after start-up, so it only hits what requests allocate. */
#include "kc/failinject.h"

#include "kc/log.h"

#include <jansson.h>
#include <stdlib.h>

static unsigned long every, count;

static void *failing_malloc(size_t n)
{
    if (every && ++count % every == 0)
        return NULL;
    return malloc(n);
}

int kc_failinject_setup_from_env(void)
{
    const char *v = getenv("KC_TEST_FAIL_JSON_ALLOC_EVERY");
    if (!v || !*v)
        return 0;
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (*end != '\0' || n < 2)
        return 0;
    KC_WARN("fault_injection", "{s:s,s:I}", "what", "json allocations fail", "every",
            (json_int_t)n);
    every = n;
    json_set_alloc_funcs(failing_malloc, free);
    return 1;
}
