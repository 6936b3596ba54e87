/* test_doccache.c — the document cache: lookup, LRU order, entry and byte bounds, pins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/doccache.h"

static struct kc_doc *doc_of(const char *text)
{
    return kc_doc_new_take(200, strdup(text), strlen(text));
}

static void test_put_get_and_seq(void **state)
{
    struct kc_doccache *c = kc_doccache_new(10, 1 << 20);
    struct kc_doccache_entry *e = kc_doccache_put(c, "a");
    assert_non_null(e);
    assert_ptr_equal(kc_doccache_get(c, "a"), e);
    assert_null(kc_doccache_get(c, "b"));
    kc_doccache_set_doc(c, e, doc_of("{\"x\":1}"), 100, 80);
    assert_int_equal(e->doc->seq, 1);
    kc_doccache_set_doc(c, e, doc_of("{\"x\":2}"), 200, 180);
    assert_int_equal(e->doc->seq, 2);
    assert_int_equal(e->fresh_until_ms, 200);
    struct kc_doc *kept = kc_doc_ref(e->doc);
    kc_doccache_remove(c, e);
    assert_string_equal(kept->body, "{\"x\":2}"); /* readers keep their reference */
    kc_doc_unref(kept);
    kc_doccache_free(c);
}

static void test_entry_bound_evicts_lru_but_not_pinned(void **state)
{
    struct kc_doccache *c = kc_doccache_new(3, 1 << 20);
    struct kc_doccache_entry *a = kc_doccache_put(c, "a");
    kc_doccache_put(c, "b");
    kc_doccache_put(c, "c");
    a->pins = 1;               /* a collection is running for "a" */
    kc_doccache_get(c, "b");   /* b is now more recent than c */
    kc_doccache_put(c, "d");   /* over the bound: c is the oldest unpinned */
    assert_int_equal(kc_doccache_count(c), 3);
    assert_non_null(kc_doccache_get(c, "a"));
    assert_non_null(kc_doccache_get(c, "b"));
    assert_null(kc_doccache_get(c, "c"));
    assert_non_null(kc_doccache_get(c, "d"));
    a->pins = 0;
    kc_doccache_free(c);
}

static void test_byte_bound(void **state)
{
    struct kc_doccache *c = kc_doccache_new(1000, 64 * 1024);
    char *big = malloc(20000);
    memset(big, 'x', 19999);
    big[19999] = '\0';
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        struct kc_doccache_entry *e = kc_doccache_put(c, key);
        kc_doccache_set_doc(c, e, kc_doc_new_take(200, strdup(big), 19999), 1, 1);
    }
    assert_true(kc_doccache_bytes(c) <= 64 * 1024);
    assert_non_null(kc_doccache_get(c, "k9"));
    assert_null(kc_doccache_get(c, "k0"));
    free(big);
    kc_doccache_free(c);
}

static void test_many_keys(void **state)
{
    struct kc_doccache *c = kc_doccache_new(20000, 1 << 30);
    for (int i = 0; i < 12000; i++) {
        char key[16];
        snprintf(key, sizeof key, "conn-%05d", i);
        assert_non_null(kc_doccache_put(c, key));
    }
    assert_int_equal(kc_doccache_count(c), 12000);
    assert_non_null(kc_doccache_get(c, "conn-00000"));
    assert_non_null(kc_doccache_get(c, "conn-11999"));
    kc_doccache_free(c);
}

static void test_gzip_made_once_for_large(void **state)
{
    size_t n = 5000;
    char *body = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + i % 7);
    body[n] = '\0';
    struct kc_doc *d = kc_doc_new_take(200, body, n);
    assert_non_null(d->gz);
    assert_true(d->gz_len < n);
    kc_doc_unref(d);
    struct kc_doc *small = doc_of("{}");
    assert_null(small->gz);
    kc_doc_unref(small);
}

/* A document inside one block (a fleet envelope): served from it, freed as one (ASan checks). */
static void test_doc_in_block(void **state)
{
    (void)state;
    static const char env[] = "HEAD\n{\"a\":1}GZBYTESalerts";
    char *block = malloc(sizeof env);
    memcpy(block, env, sizeof env);
    struct kc_doc *d = kc_doc_new_in_block_take(200, block, block + 5, 7,
                                                (unsigned char *)block + 12, 7);
    assert_non_null(d);
    assert_memory_equal(d->body, "{\"a\":1}", 7);
    assert_memory_equal(d->gz, "GZBYTES", 7);
    struct kc_doccache *c = kc_doccache_new(10, 1 << 20);
    struct kc_doccache_entry *e = kc_doccache_put(c, "k");
    kc_doccache_set_doc(c, e, kc_doc_ref(d), 1, 1);
    kc_doc_unref(d);
    kc_doccache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_and_seq),
        cmocka_unit_test(test_entry_bound_evicts_lru_but_not_pinned),
        cmocka_unit_test(test_byte_bound),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_gzip_made_once_for_large),
        cmocka_unit_test(test_doc_in_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
