/* objectname.c — JMX ObjectName quoting (Kafka's jmxSanitize) and parsing into key sets.
 * Jolokia echoes names in canonical or registration order, so callers look keys up by name. */
#include "kc/objectname.h"

#include <stdlib.h>
#include <string.h>

/* Kafka's allowed set [A-Za-z0-9_\-%. \t]; anything else forces quotes. */
static int is_plain_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '%' || c == '.' || c == ' ' || c == '\t';
}

int kc_objectname_needs_quote(const char *v)
{
    if (!v)
        return 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (!is_plain_char(*p))
            return 1;
    return 0;
}

/* Writes the escaped form of v at out (NULL = just count); returns the length. */
static size_t escape_into(const char *v, char *out)
{
    size_t n = 0;
    for (const char *p = v; *p; p++) {
        char esc = 0;
        switch (*p) {
        case '"': esc = '"'; break;
        case '*': esc = '*'; break;
        case '?': esc = '?'; break;
        case '\\': esc = '\\'; break;
        case '\n': esc = 'n'; break;
        default: break;
        }
        if (esc) {
            if (out) {
                out[n] = '\\';
                out[n + 1] = esc;
            }
            n += 2;
        } else {
            if (out)
                out[n] = *p;
            n++;
        }
    }
    return n;
}

char *kc_objectname_quote_pattern(const char *literal, const char *wildcard)
{
    if (!literal)
        literal = "";
    if (!wildcard)
        wildcard = "";
    size_t wl = strlen(wildcard);
    if (!kc_objectname_needs_quote(literal)) {
        size_t ll = strlen(literal);
        char *s = malloc(ll + wl + 1);
        if (!s)
            return NULL;
        memcpy(s, literal, ll);
        memcpy(s + ll, wildcard, wl + 1);
        return s;
    }
    size_t el = escape_into(literal, NULL);
    char *s = malloc(el + wl + 3);
    if (!s)
        return NULL;
    s[0] = '"';
    escape_into(literal, s + 1);
    memcpy(s + 1 + el, wildcard, wl);
    s[1 + el + wl] = '"';
    s[2 + el + wl] = '\0';
    return s;
}

char *kc_objectname_quote_value(const char *v)
{
    return kc_objectname_quote_pattern(v, "");
}

void kc_objectname_clear(struct kc_objectname *on)
{
    if (!on)
        return;
    free(on->buf);
    memset(on, 0, sizeof *on);
}

/* Parses one value starting at *pp inside the private buffer and NUL-terminates it, unescaping
 * quoted values in place (written from the opening quote's position; never longer). Returns the
 * value's start, NULL when malformed; *sep receives the ',' or NUL that ended it and *pp points
 * just past that separator. */
static char *parse_value(char **pp, int *quoted, char *sep)
{
    char *p = *pp;
    if (*p != '"') {
        char *start = p;
        *quoted = 0;
        while (*p && *p != ',') {
            if (*p == '=' || *p == ':' || *p == '"' || *p == '\n')
                return NULL;
            p++;
        }
        *sep = *p;
        *p = '\0';
        *pp = *sep ? p + 1 : p;
        return start;
    }
    *quoted = 1;
    char *start = p, *w = p;
    p++;
    for (;;) {
        if (*p == '\0' || *p == '\n')
            return NULL;
        if (*p == '"')
            break;
        if (*p == '\\') {
            p++;
            switch (*p) {
            case '"': *w++ = '"'; break;
            case '*': *w++ = '*'; break;
            case '?': *w++ = '?'; break;
            case '\\': *w++ = '\\'; break;
            case 'n': *w++ = '\n'; break;
            default: return NULL; /* Java's ObjectName rejects any other escape */
            }
            p++;
            continue;
        }
        *w++ = *p++;
    }
    p++; /* past the closing quote; w < p, so terminating at w keeps *p intact */
    if (*p != '\0' && *p != ',')
        return NULL;
    *sep = *p;
    *w = '\0';
    *pp = *sep ? p + 1 : p;
    return start;
}

int kc_objectname_parse(const char *name, struct kc_objectname *out)
{
    memset(out, 0, sizeof *out);
    if (!name)
        return -1;
    char *buf = strdup(name);
    if (!buf)
        return -1;
    char *colon = strchr(buf, ':');
    if (!colon || colon == buf) {
        free(buf);
        return -1;
    }
    *colon = '\0';
    out->buf = buf;
    out->domain = buf;
    char *p = colon + 1;
    for (;;) {
        char *key = p;
        while (*p && *p != '=' && *p != ',' && *p != ':' && *p != '"' && *p != '*' && *p != '?')
            p++;
        if (*p != '=' || p == key)
            goto bad; /* also rejects an empty key list and a trailing comma */
        *p++ = '\0';
        int quoted = 0;
        char sep = 0;
        char *val = parse_value(&p, &quoted, &sep);
        if (!val)
            goto bad;
        for (size_t i = 0; i < out->count; i++)
            if (strcmp(out->props[i].key, key) == 0)
                goto bad;
        if (out->count == KC_OBJECTNAME_MAX_KEYS)
            goto bad;
        out->props[out->count].key = key;
        out->props[out->count].value = val;
        out->props[out->count].quoted = quoted;
        out->count++;
        if (sep == '\0')
            break;
    }
    return 0;
bad:
    kc_objectname_clear(out);
    return -1;
}

const char *kc_objectname_get(const struct kc_objectname *on, const char *key, int *quoted)
{
    for (size_t i = 0; i < on->count; i++) {
        if (strcmp(on->props[i].key, key) == 0) {
            if (quoted)
                *quoted = on->props[i].quoted;
            return on->props[i].value;
        }
    }
    return NULL;
}
