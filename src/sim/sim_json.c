/* sim_json.c — a small JSON writer over jansson trees, because jansson prints reals as %.17g
 * ("0.10000000000000001", "12843117.0") where the JVM prints 0.1 and 1.2843117E7. */
#include "sim_json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *sim_json_double(double d)
{
    return isfinite(d) ? json_real(d) : json_null();
}

/* Shortest decimal digits that read back as d: fills digits (no dot, no sign) and returns the
 * exponent of the first digit (d = D.DDD × 10^exp). */
static int shortest_digits(double d, char *digits, size_t cap)
{
    char tmp[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp is "D.DDDe±XX" or "De±XX" */
    size_t n = 0;
    const char *p = tmp;
    for (; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9' && n + 1 < cap)
            digits[n++] = *p;
    }
    /* Trailing zeros carry no information ("1.0e+07" at the limit precision). */
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    return *p == 'e' ? atoi(p + 1) : 0;
}

size_t sim_json_format_double(double d, char *buf, size_t cap)
{
    if (cap == 0)
        return 0;
    if (isnan(d))
        return (size_t)snprintf(buf, cap, "NaN");
    if (isinf(d))
        return (size_t)snprintf(buf, cap, d > 0 ? "Infinity" : "-Infinity");
    if (d == 0.0)
        return (size_t)snprintf(buf, cap, signbit(d) ? "-0.0" : "0.0");

    char digits[24];
    const char *sign = d < 0 ? "-" : "";
    int exp = shortest_digits(fabs(d), digits, sizeof digits);
    size_t nd = strlen(digits);
    char out[64];
    size_t o = 0;

    if (exp >= -3 && exp < 7) {
        /* Plain notation, at least one digit after the point. */
        if (exp < 0) {
            o += (size_t)snprintf(out + o, sizeof out - o, "0.");
            for (int i = -1; i > exp; i--)
                out[o++] = '0';
            for (size_t i = 0; i < nd; i++)
                out[o++] = digits[i];
        } else {
            for (int i = 0; i <= exp; i++)
                out[o++] = (size_t)i < nd ? digits[i] : '0';
            out[o++] = '.';
            if ((size_t)exp + 1 < nd) {
                for (size_t i = (size_t)exp + 1; i < nd; i++)
                    out[o++] = digits[i];
            } else {
                out[o++] = '0';
            }
        }
        out[o] = '\0';
    } else {
        /* Java's "computerized scientific notation": D.DDDE±N with at least one fraction digit. */
        out[o++] = digits[0];
        out[o++] = '.';
        if (nd > 1) {
            for (size_t i = 1; i < nd; i++)
                out[o++] = digits[i];
        } else {
            out[o++] = '0';
        }
        snprintf(out + o, sizeof out - o, "E%d", exp);
    }
    return (size_t)snprintf(buf, cap, "%s%s", sign, out);
}

static int dump_string(const char *s, size_t len, struct evbuffer *out, int flags)
{
    static const char hex[] = "0123456789abcdef";
    if (evbuffer_add(out, "\"", 1) < 0)
        return -1;
    size_t run = 0; /* bytes copied verbatim in one go */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t elen = 0;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c == '/' && (flags & SIM_JSON_ESCAPE_SLASH)) {
            memcpy(esc, "\\/", 2);
            elen = 2;
        } else if (c < 0x20) {
            const char *named = c == '\n'   ? "\\n"
                                : c == '\t' ? "\\t"
                                : c == '\r' ? "\\r"
                                : c == '\b' ? "\\b"
                                : c == '\f' ? "\\f"
                                            : NULL;
            if (named) {
                memcpy(esc, named, 2);
                elen = 2;
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                elen = 6;
            }
        }
        if (elen) {
            if (run && evbuffer_add(out, s + i - run, run) < 0)
                return -1;
            run = 0;
            if (evbuffer_add(out, esc, elen) < 0)
                return -1;
        } else {
            run++;
        }
    }
    if (run && evbuffer_add(out, s + len - run, run) < 0)
        return -1;
    return evbuffer_add(out, "\"", 1);
}

int sim_json_dump(const json_t *v, struct evbuffer *out, int flags)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        int first = 1;
        if (evbuffer_add(out, "{", 1) < 0)
            return -1;
        /* json_object_foreach takes a non-const object; iteration does not modify it. */
        json_t *obj = (json_t *)(uintptr_t)v;
        json_object_foreach(obj, key, val)
        {
            if (!first && evbuffer_add(out, ",", 1) < 0)
                return -1;
            first = 0;
            if (dump_string(key, strlen(key), out, flags) < 0 || evbuffer_add(out, ":", 1) < 0 ||
                sim_json_dump(val, out, flags) < 0)
                return -1;
        }
        return evbuffer_add(out, "}", 1);
    }
    case JSON_ARRAY: {
        if (evbuffer_add(out, "[", 1) < 0)
            return -1;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i && evbuffer_add(out, ",", 1) < 0)
                return -1;
            if (sim_json_dump(json_array_get(v, i), out, flags) < 0)
                return -1;
        }
        return evbuffer_add(out, "]", 1);
    }
    case JSON_STRING:
        return dump_string(json_string_value(v), json_string_length(v), out, flags);
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return evbuffer_add(out, num, strlen(num));
    case JSON_REAL: {
        double d = json_real_value(v);
        if (!isfinite(d))
            return evbuffer_add(out, "null", 4);
        size_t n = sim_json_format_double(d, num, sizeof num);
        return evbuffer_add(out, num, n);
    }
    case JSON_TRUE:
        return evbuffer_add(out, "true", 4);
    case JSON_FALSE:
        return evbuffer_add(out, "false", 5);
    case JSON_NULL:
    default:
        return evbuffer_add(out, "null", 4);
    }
}
