/* test_sha256.c — the FIPS 180-4 / NIST example vectors (one block, two blocks, a million
 * 'a'), the padding edges around 55/56/64 bytes, hex parsing and the equal check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/sha256.h"

static void hex_of(const uint8_t d[KC_SHA256_LEN], char out[65])
{
    for (int i = 0; i < KC_SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check(const void *data, size_t len, const char *want)
{
    uint8_t d[KC_SHA256_LEN];
    char hex[65];
    kc_sha256(data, len, d);
    hex_of(d, hex);
    assert_string_equal(hex, want);
}

static void test_fips_vectors(void **state)
{
    static const struct {
        const char *msg, *digest;
    } cases[] = {
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlm"
         "nopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
        {"The quick brown fox jumps over the lazy dog",
         "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(cases[i].msg, strlen(cases[i].msg), cases[i].digest);
}

static void test_million_a(void **state)
{
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    check(a, n, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* Lengths where the padding spills into a second block (56..63) or fills one exactly (64). */
static void test_padding_edges(void **state)
{
    static const struct {
        size_t n;
        const char *digest;
    } cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    };
    char buf[64];
    memset(buf, 'a', sizeof buf);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(buf, cases[i].n, cases[i].digest);
}

static void test_hex_and_equal(void **state)
{
    uint8_t a[KC_SHA256_LEN], b[KC_SHA256_LEN];
    kc_sha256("abc", 3, a);
    assert_int_equal(
        kc_sha256_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", b), 0);
    assert_true(kc_sha256_equal(a, b));
    b[31] ^= 1;
    assert_false(kc_sha256_equal(a, b));
    static const char *const bad[] = {
        "", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015adf",
        "za7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(kc_sha256_from_hex(bad[i], b), -1);
    assert_int_equal(kc_sha256_from_hex(NULL, b), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_edges),
        cmocka_unit_test(test_hex_and_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
