/* kc/sha256.h — SHA-256 (FIPS 180-4), for the bearer tokens of `auth.tokens`, which the config
 * stores only as hex digests. Small and self-contained: libcrypto is not linked directly. */
#ifndef KC_SHA256_H
#define KC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define KC_SHA256_LEN 32

/* Digest of len bytes of data into out. */
void kc_sha256(const void *data, size_t len, uint8_t out[KC_SHA256_LEN]);
/* Parses 64 hex digits (either case) into out: 0, or -1 when text is not exactly that. */
int kc_sha256_from_hex(const char *text, uint8_t out[KC_SHA256_LEN]);
/* 1 when the two digests are equal; the time taken does not depend on where they differ. */
int kc_sha256_equal(const uint8_t a[KC_SHA256_LEN], const uint8_t b[KC_SHA256_LEN]);

#endif
