/* fuzz_path.c — libFuzzer target for request paths: one percent-encoded segment decoded and
 * re-encoded (kc_urldec_segment / kc_urlenc_segment round trip), and the redaction walker
 * kc_redact_connect_body over arbitrary JSON, which must leave no secret value behind. */
#include "kc/redact.h"
#include "kc/urlenc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void path_round_trip(const char *data, size_t size)
{
    int bad = 0;
    char *dec = kc_urldec_segment(data, size, &bad);
    if (!dec)
        return;
    char *enc = kc_urlenc_segment(dec);
    if (!enc)
        abort();
    for (const char *c = enc; *c; c++)
        if (*c == '/' || *c == '?' || *c == '#' || *c == ' ' || *c == '+' || (unsigned char)*c > 0x7e)
            abort(); /* an encoded segment stays one segment */
    char *again = kc_urldec_segment(enc, strlen(enc), &bad);
    if (!again || strcmp(again, dec) != 0)
        abort();
    free(again);
    free(enc);
    free(dec);

    /* raw → encode → decode is the identity for any string without NUL */
    char *raw = strndup(data, size);
    if (!raw)
        return;
    char *e = kc_urlenc_segment(raw);
    char *d = e ? kc_urldec_segment(e, strlen(e), &bad) : NULL;
    if (e && (!d || strcmp(d, raw) != 0))
        abort();
    free(d);
    free(e);
    free(raw);
}

/* After a deep walk no secret key anywhere holds a readable string. */
static void check_masked(const json_t *v, int depth)
{
    if (depth > 80)
        return;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            if (json_is_string(x) && json_string_length(x) > 0 && kc_redact_is_secret_key(k) &&
                strcmp(json_string_value(x), KC_REDACT_MASK) != 0)
                abort();
            check_masked(x, depth + 1);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) check_masked(x, depth + 1);
    }
}

static void redact(const char *data, size_t size)
{
    json_t *body = json_loadb(data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!body)
        return;
    for (int shape = KC_REDACT_ANY; shape <= KC_REDACT_VALIDATE; shape++) {
        json_t *copy = json_deep_copy(body);
        if (!copy)
            continue;
        int n = kc_redact_connect_body((enum kc_redact_shape)shape, copy);
        if (n >= 0 && shape == KC_REDACT_ANY)
            check_masked(copy, 0);
        if (n >= 0 && json_is_object(copy) && json_is_object(body)) {
            const char *first = NULL;
            json_t *incoming = json_deep_copy(copy);
            if (incoming) {
                kc_redact_restore_masked(incoming, body, &first);
                json_decref(incoming);
            }
        }
        json_decref(copy);
    }
    if (json_is_object(body)) {
        json_t *flat = json_deep_copy(body);
        if (flat) {
            kc_redact_config(flat);
            json_decref(flat);
        }
    }
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    path_round_trip((const char *)data, size);
    redact((const char *)data, size);
    return 0;
}
