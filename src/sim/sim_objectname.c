/* sim_objectname.c — parsing, quoting and matching of JMX ObjectNames.
 * Pure string code with bounded buffers; the bean tables and Jolokia build on it. */
#include "sim_objectname.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_safe_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '%' || c == '.' || c == ' ' || c == '\t';
}

size_t sim_objectname_quote(const char *value, char *out, size_t cap)
{
    size_t len = strlen(value);
    bool safe = true;
    for (size_t i = 0; i < len && safe; i++)
        safe = is_safe_char((unsigned char)value[i]);
    if (safe) {
        if (len + 1 > cap)
            return 0;
        memcpy(out, value, len + 1);
        return len;
    }
    size_t o = 0;
    if (cap < 3)
        return 0;
    out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        char c = value[i];
        const char *rep = NULL;
        switch (c) {
        case '"':
            rep = "\\\"";
            break;
        case '*':
            rep = "\\*";
            break;
        case '?':
            rep = "\\?";
            break;
        case '\\':
            rep = "\\\\";
            break;
        case '\n':
            rep = "\\n";
            break;
        default:
            break;
        }
        size_t need = rep ? 2 : 1;
        if (o + need + 2 > cap)
            return 0;
        if (rep) {
            out[o++] = rep[0];
            out[o++] = rep[1];
        } else {
            out[o++] = c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return o;
}

size_t sim_objectname_unquote(const char *value, char *out, size_t cap)
{
    size_t len = strlen(value);
    if (len == 0 || value[0] != '"') {
        if (len + 1 > cap)
            return (size_t)-1;
        memcpy(out, value, len + 1);
        return len;
    }
    if (len < 2 || value[len - 1] != '"')
        return (size_t)-1;
    size_t o = 0;
    for (size_t i = 1; i + 1 < len; i++) {
        char c = value[i];
        if (c == '\\') {
            if (i + 2 >= len)
                return (size_t)-1;
            c = value[++i];
            if (c == 'n')
                c = '\n';
        }
        if (o + 1 >= cap)
            return (size_t)-1;
        out[o++] = c;
    }
    out[o] = '\0';
    return o;
}

bool sim_objectname_wildmatch(const char *p, const char *s)
{
    const char *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (*p == '*') {
            star_p = ++p;
            star_s = s;
            continue;
        }
        if (*p == '\\' && p[1]) {
            /* An escape matches the same two characters of the written value. */
            if (s[0] == '\\' && s[1] == p[1]) {
                p += 2;
                s += 2;
                continue;
            }
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
            continue;
        }
        if (!star_p)
            return false;
        p = star_p;
        s = ++star_s;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

bool sim_objectname_is_pattern(const struct sim_objectname *on)
{
    if (on->domain_pattern || on->list_pattern)
        return true;
    for (size_t i = 0; i < on->nprops; i++)
        if (on->value_pattern[i])
            return true;
    return false;
}

void sim_objectname_clear(struct sim_objectname *on)
{
    free(on->buf);
    memset(on, 0, sizeof *on);
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errcap, __VA_ARGS__);                                                        \
        sim_objectname_clear(on);                                                                  \
        return -1;                                                                                 \
    } while (0)

int sim_objectname_parse(const char *s, struct sim_objectname *on, char *err, size_t errcap)
{
    memset(on, 0, sizeof *on);
    on->buf = strdup(s);
    if (!on->buf)
        FAIL("out of memory");
    char *colon = strchr(on->buf, ':');
    if (!colon)
        FAIL("Key properties cannot be empty");
    *colon = '\0';
    on->domain = on->buf;
    if (strchr(on->domain, '\n'))
        FAIL("Invalid character '\\n' in domain name");
    on->domain_pattern = strpbrk(on->domain, "*?") != NULL;

    char *p = colon + 1;
    if (*p == '\0')
        FAIL("Key properties cannot be empty");
    while (*p) {
        if (p[0] == '*' && (p[1] == ',' || p[1] == '\0')) {
            if (on->list_pattern)
                FAIL("Cannot have several '*' characters in pattern property list");
            on->list_pattern = true;
            p += p[1] ? 2 : 1;
            continue;
        }
        if (on->nprops == SIM_ON_MAX_PROPS)
            FAIL("Too many key properties");
        char *key = p;
        while (*p && *p != '=' && *p != ',') {
            if (strchr(":*?\n", *p))
                FAIL("Invalid character '%c' in key part of property", *p);
            p++;
        }
        if (*p != '=' || p == key)
            FAIL("Unable to compute key property list: key \"%.*s\" has no value", (int)(p - key),
                 key);
        *p++ = '\0';
        char *val = p;
        bool pat = false;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0' || *p == '\n')
                    FAIL("Missing termination quote");
                if (*p == '\\') {
                    if (p[1] == '\0' || !strchr("\\\"*?n", p[1]))
                        FAIL("Invalid escape sequence '\\%c' in quoted value", p[1] ? p[1] : ' ');
                    p += 2;
                    continue;
                }
                if (*p == '*' || *p == '?')
                    pat = true;
                if (*p == '"')
                    break;
                p++;
            }
            p++;
            if (*p != ',' && *p != '\0')
                FAIL("Invalid quote in value part of property");
        } else {
            while (*p && *p != ',') {
                if (strchr("=:\"\n", *p))
                    FAIL("Invalid character '%c' in value part of property", *p);
                if (*p == '*' || *p == '?')
                    pat = true;
                p++;
            }
            if (p == val)
                FAIL("Invalid value \"\" for key %s", key);
        }
        if (*p == ',') {
            *p++ = '\0';
            if (*p == '\0')
                FAIL("Invalid ending comma");
        }
        for (size_t i = 0; i < on->nprops; i++)
            if (strcmp(on->props[i].key, key) == 0)
                FAIL("key `%s' already defined", key);
        on->props[on->nprops].key = key;
        on->props[on->nprops].value = val;
        on->value_pattern[on->nprops] = pat;
        on->nprops++;
    }
    if (on->nprops == 0 && !on->list_pattern)
        FAIL("Key properties cannot be empty");
    return 0;
}

bool sim_objectname_match(const struct sim_objectname *pat, const char *domain,
                          const struct sim_on_kv *kv, size_t n)
{
    if (pat->domain_pattern ? !sim_objectname_wildmatch(pat->domain, domain)
                            : strcmp(pat->domain, domain) != 0)
        return false;
    if (!pat->list_pattern && n != pat->nprops)
        return false;
    for (size_t i = 0; i < pat->nprops; i++) {
        const char *v = NULL;
        for (size_t j = 0; j < n && !v; j++)
            if (strcmp(kv[j].key, pat->props[i].key) == 0)
                v = kv[j].value;
        if (!v)
            return false;
        if (pat->value_pattern[i] ? !sim_objectname_wildmatch(pat->props[i].value, v)
                                  : strcmp(pat->props[i].value, v) != 0)
            return false;
    }
    return true;
}

size_t sim_objectname_format(const char *domain, const struct sim_on_kv *kv, size_t n,
                             bool canonical, bool list_pattern, char *out, size_t cap)
{
    size_t order[SIM_ON_MAX_PROPS];
    if (n > SIM_ON_MAX_PROPS)
        return 0;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    if (canonical) {
        /* Insertion sort: at most a handful of keys. */
        for (size_t i = 1; i < n; i++) {
            size_t k = order[i], j = i;
            while (j > 0 && strcmp(kv[order[j - 1]].key, kv[k].key) > 0) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = k;
        }
    }
    int len = snprintf(out, cap, "%s:", domain);
    if (len < 0 || (size_t)len >= cap)
        return 0;
    size_t o = (size_t)len;
    for (size_t i = 0; i < n; i++) {
        len = snprintf(out + o, cap - o, "%s%s=%s", i ? "," : "", kv[order[i]].key,
                       kv[order[i]].value);
        if (len < 0 || (size_t)len >= cap - o)
            return 0;
        o += (size_t)len;
    }
    if (list_pattern) {
        len = snprintf(out + o, cap - o, "%s*", n ? "," : "");
        if (len < 0 || (size_t)len >= cap - o)
            return 0;
        o += (size_t)len;
    }
    return o;
}
