/* test_stepsort.c — the merge sort in steps must leave exactly what a stable sort leaves, for
 * any size and any step budget, and keep equal keys in their first order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kc/stepsort.h"

/* Wider than a pointer, as the connector statuses it sorts are. */
struct item {
    int key;
    int order; /* position before sorting: tells stability */
    char pad[40];
};

static int cmp_key(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

/* Stable reference: insertion sort. */
static void reference_sort(struct item *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct item t = v[i];
        size_t j = i;
        for (; j > 0 && cmp_key(&v[j - 1], &t) > 0; j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
}

static void fill(struct item *v, size_t n, unsigned seed, int key_range)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i].key = (int)((seed >> 8) % (unsigned)key_range);
        v[i].order = (int)i;
        memset(v[i].pad, (int)(i & 0x7f), sizeof v[i].pad);
    }
}

static void check(size_t n, size_t budget, int key_range, unsigned seed)
{
    struct item *got = calloc(n ? n : 1, sizeof *got), *want = calloc(n ? n : 1, sizeof *want);
    assert_non_null(got);
    assert_non_null(want);
    fill(got, n, seed, key_range);
    memcpy(want, got, n * sizeof *got);
    reference_sort(want, n);
    struct kc_stepsort *s = kc_stepsort_new(got, n, sizeof *got, cmp_key);
    assert_non_null(s);
    int rc, steps = 0;
    while ((rc = kc_stepsort_step(s, budget)) == 1)
        steps++;
    assert_int_equal(rc, 0);
    kc_stepsort_free(s);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].key, want[i].key);
        assert_int_equal(got[i].order, want[i].order); /* stable, and the whole element moved */
        assert_memory_equal(got[i].pad, want[i].pad, sizeof got[i].pad);
    }
    if (n > 64 && budget < n)
        assert_true(steps > 1); /* it did work in pieces */
    free(got);
    free(want);
}

static void test_sizes_and_budgets(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 2, 3, 7, 16, 17, 100, 1000, 4097};
    const size_t budgets[] = {1, 3, 64, 1000, (size_t)-1};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (size_t b = 0; b < sizeof budgets / sizeof *budgets; b++) {
            check(sizes[a], budgets[b], 1000000, (unsigned)(a * 31 + b));
            check(sizes[a], budgets[b], 3, (unsigned)(a * 17 + b)); /* many ties */
        }
}

static void test_sorted_and_reversed(void **state)
{
    (void)state;
    enum { N = 2000 };
    struct item *v = calloc(N, sizeof *v);
    assert_non_null(v);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N; i++) {
            v[i].key = pass ? N - i : i;
            v[i].order = i;
        }
        struct kc_stepsort *s = kc_stepsort_new(v, N, sizeof *v, cmp_key);
        assert_non_null(s);
        while (kc_stepsort_step(s, 50) == 1)
            ;
        kc_stepsort_free(s);
        for (int i = 1; i < N; i++)
            assert_true(v[i - 1].key < v[i].key);
    }
    free(v);
}

/* Abandoned half-way (its collection cancelled): freed without leaks, the array untouched. */
static void test_free_midway(void **state)
{
    (void)state;
    enum { N = 500 };
    struct item v[N], before[N];
    fill(v, N, 7, 100);
    memcpy(before, v, sizeof v);
    struct kc_stepsort *s = kc_stepsort_new(v, N, sizeof *v, cmp_key);
    assert_non_null(s);
    assert_int_equal(kc_stepsort_step(s, 100), 1);
    assert_int_equal(kc_stepsort_step(s, 100), 1);
    kc_stepsort_free(s);
    assert_memory_equal(v, before, sizeof v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_budgets),
        cmocka_unit_test(test_sorted_and_reversed),
        cmocka_unit_test(test_free_midway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
