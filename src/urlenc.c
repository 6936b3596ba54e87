/* urlenc.c — percent-encoding for path segments (RFC 3986 unreserved set kept as is).
 * Pure functions; used both for client paths (decode once) and upstream URLs (encode). */
#include "kc/urlenc.h"

#include <stdlib.h>
#include <string.h>

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

char *kc_urlenc_segment(const char *raw)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(raw);
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
        if (is_unreserved(*p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

int kc_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long kc_urldec_segment_into(const char *enc, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (enc[i] != '%') {
            out[o++] = enc[i];
            continue;
        }
        if (i + 2 >= len)
            return -1;
        int h = kc_hex_value(enc[i + 1]), l = kc_hex_value(enc[i + 2]);
        if (h < 0 || l < 0 || (h == 0 && l == 0))
            return -1;
        out[o++] = (char)(h * 16 + l);
        i += 2;
    }
    out[o] = '\0';
    return (long)o;
}

char *kc_urldec_segment(const char *enc, size_t len, int *bad)
{
    *bad = 0;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    if (kc_urldec_segment_into(enc, len, out) < 0) {
        *bad = 1;
        free(out);
        return NULL;
    }
    return out;
}
