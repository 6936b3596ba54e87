/* kc/failinject.h — allocation-failure injection for tests: makes every Nth JSON allocation
 * fail so the request paths' out-of-memory handling runs for real. Off unless configured. */
#ifndef KC_FAILINJECT_H
#define KC_FAILINJECT_H

/* Reads KC_TEST_FAIL_JSON_ALLOC_EVERY (test-only; unset in production). Call once, after
 * startup allocations are done. Returns 1 when injection is on. */
int kc_failinject_setup_from_env(void);

#endif
