/* streamq.c — parsing the query of GET /api/stream (the connectors and summaries one browser
 * watches through one connection) and its comma-separated resume ids. */
#include "kc/streamq.h"

#include "kc/urlenc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Form-decodes s[0..len) into new memory: '+' is a space. NULL with *bad = 1 for a bad escape
 * or an encoded NUL, NULL with *bad = 0 on allocation failure. */
static char *form_decode(const char *s, size_t len, int *bad)
{
    char *out = malloc(len + 1), *o = out;
    *bad = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= len || kc_hex_value(s[i + 1]) < 0 || kc_hex_value(s[i + 2]) < 0) {
                *bad = 1;
                free(out);
                return NULL;
            }
            int v = kc_hex_value(s[i + 1]) * 16 + kc_hex_value(s[i + 2]);
            if (v == 0) {
                *bad = 1;
                free(out);
                return NULL;
            }
            *o++ = (char)v;
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

void kc_streamq_clear(struct kc_streamq *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->items[i].cluster);
        free(q->items[i].name);
    }
    free(q->items);
    free(q->last_ids);
    memset(q, 0, sizeof *q);
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Adds (cluster, name), both taken; a duplicate is freed. 0, or -1 past max_items / on OOM
 * (*oom tells which). */
static int add_item(struct kc_streamq *q, char *cluster, char *name, size_t max_items, int *oom)
{
    for (size_t i = 0; i < q->n; i++) {
        if (same(q->items[i].cluster, cluster) && same(q->items[i].name, name)) {
            free(cluster);
            free(name);
            return 0;
        }
    }
    if (q->n >= max_items) {
        free(cluster);
        free(name);
        *oom = 0;
        return -1;
    }
    struct kc_streamq_item *ni = realloc(q->items, (q->n + 1) * sizeof *ni);
    if (!ni) {
        free(cluster);
        free(name);
        *oom = 1;
        return -1;
    }
    q->items = ni;
    q->items[q->n].cluster = cluster;
    q->items[q->n].name = name;
    q->n++;
    return 0;
}

int kc_streamq_parse(const char *query, size_t max_items, struct kc_streamq *q,
                     const char **code, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    const char *p = query ? query : "";
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        const char *val = eq ? eq + 1 : p + len;
        size_t vlen = (size_t)(p + len - val);
        int is_conn = klen == 9 && memcmp(p, "connector", 9) == 0;
        int is_sum = klen == 7 && memcmp(p, "summary", 7) == 0;
        int is_ids = klen == 11 && memcmp(p, "lastEventId", 11) == 0;
        if (is_conn || is_sum || is_ids) {
            int bad = 0;
            char *v = form_decode(val, vlen, &bad);
            if (!v) {
                *code = bad ? "bad_request" : "out_of_memory";
                snprintf(err, errlen, bad ? "malformed percent-encoding in the query" : "out of memory");
                kc_streamq_clear(q);
                return bad ? 400 : 503;
            }
            char *cluster = v, *name = NULL;
            if (is_ids) {
                free(q->last_ids);
                q->last_ids = v;
                cluster = NULL;
            } else if (is_conn) {
                char *slash = strchr(v, '/');
                if (!slash || slash == v || !slash[1]) {
                    *code = "bad_request";
                    snprintf(err, errlen, "connector=%.*s: give <cluster>/<connector name>",
                             (int)(vlen > 200 ? 200 : vlen), val);
                    free(v);
                    kc_streamq_clear(q);
                    return 400;
                }
                *slash = '\0';
                name = strdup(slash + 1);
                cluster = v;
                if (!name) {
                    free(v);
                    *code = "out_of_memory";
                    snprintf(err, errlen, "out of memory");
                    kc_streamq_clear(q);
                    return 503;
                }
            } else if (!*v) {
                *code = "bad_request";
                snprintf(err, errlen, "summary= needs a cluster name");
                free(v);
                kc_streamq_clear(q);
                return 400;
            }
            int oom = 0;
            if (cluster && add_item(q, cluster, name, max_items, &oom) != 0) {
                *code = oom ? "out_of_memory" : "too_many_connectors";
                if (oom)
                    snprintf(err, errlen, "out of memory");
                else
                    snprintf(err, errlen,
                             "one stream carries at most %zu connectors and summaries "
                             "(KC_STREAM_MAX_ITEMS); open another stream for the rest",
                             max_items);
                kc_streamq_clear(q);
                return oom ? 503 : 400;
            }
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    if (q->n == 0) {
        *code = "bad_request";
        snprintf(err, errlen, "name what to stream: connector=<cluster>/<name> and/or "
                              "summary=<cluster>, repeated");
        kc_streamq_clear(q);
        return 400;
    }
    return 0;
}

int kc_streamq_ids(const char *text, uint64_t *ids, size_t n)
{
    if (!text)
        return -1;
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        if (*p < '0' || *p > '9')
            return -1;
        errno = 0;
        char *end = NULL;
        (void)strtoull(p, &end, 10);
        if (errno || end == p)
            return -1;
        if (i + 1 < n ? *end != ',' : *end != '\0')
            return -1;
        p = end + 1;
    }
    p = text;
    for (size_t i = 0; i < n; i++) {
        char *end = NULL;
        ids[i] = strtoull(p, &end, 10);
        p = end + 1;
    }
    return 0;
}
