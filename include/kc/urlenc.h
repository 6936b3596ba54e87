/* kc/urlenc.h — percent-encoding of one URL path segment and its decoding, done exactly once.
 * Connector names may hold spaces, '%', quotes, '/' and UTF-8: they travel as one segment. */
#ifndef KC_URLENC_H
#define KC_URLENC_H

#include <stddef.h>

/* Returns a new string with every byte outside RFC 3986 unreserved as %XX (space is %20,
 * never '+'). NULL on allocation failure. */
char *kc_urlenc_segment(const char *raw);

/* Decodes %XX in place-free fashion into a new string; '+' stays '+'. Returns NULL for a bad
 * escape, an encoded NUL, or allocation failure (*bad = 1 for the first two). */
char *kc_urldec_segment(const char *enc, size_t len, int *bad);

/* The same into out, which holds len + 1 bytes (a decoded segment is never longer). Returns
 * the decoded length, or -1 for a bad escape or an encoded NUL. */
long kc_urldec_segment_into(const char *enc, size_t len, char *out);

/* The value of one hex digit (either case), or -1. */
int kc_hex_value(int c);

#endif
