/* http_wire.c — a reply's status line and header block in one piece; see http_wire.h.
 * One pass: every piece is counted, and copied while it still fits. */
#include "http_wire.h"

#include <string.h>
#include <strings.h>

struct wire_out {
    char *buf;
    size_t cap, len; /* len counts every piece, also those past cap (then nothing is copied) */
};

static void put(struct wire_out *w, const char *s, size_t n)
{
    if (w->len <= w->cap && n <= w->cap - w->len)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_str(struct wire_out *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_uint(struct wire_out *w, unsigned long long v)
{
    char digits[24];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(w, digits + i, sizeof digits - i);
}

static void put_field(struct wire_out *w, const char *name, size_t name_len, const char *value,
                      size_t value_len)
{
    put(w, name, name_len);
    put(w, ": ", 2);
    put(w, value, value_len);
    put(w, "\r\n", 2);
}

static int is_named(const char *name, size_t len, const char *want, size_t want_len)
{
    return len == want_len && strncasecmp(name, want, want_len) == 0;
}

size_t kc_wire_head_format(const struct kc_wire_head *h, char *out, size_t cap)
{
    struct wire_out w = {out, cap, 0};
    int has_length = 0, has_type = 0;

    put(&w, h->http_minor ? "HTTP/1.1 " : "HTTP/1.0 ", 9);
    put_uint(&w, (unsigned)h->status);
    put(&w, " ", 1);
    put_str(&w, h->reason);
    put(&w, "\r\n", 2);
    if (h->headers) {
        const evhtp_kv_t *kv;
        TAILQ_FOREACH(kv, h->headers, next) {
            has_length |= is_named(kv->key, kv->klen, "Content-Length", 14);
            has_type |= is_named(kv->key, kv->klen, "Content-Type", 12);
            put_field(&w, kv->key, kv->klen, kv->val, kv->vlen);
        }
    }
    for (size_t i = 0; i < h->field_count; i++) {
        const struct kc_wire_field *f = &h->fields[i];
        size_t name_len = strlen(f->name);
        has_type |= is_named(f->name, name_len, "Content-Type", 12);
        put_field(&w, f->name, name_len, f->value, strlen(f->value));
    }
    if (h->content_length >= 0 && !has_length) {
        put(&w, "Content-Length: ", 16);
        put_uint(&w, (unsigned long long)h->content_length);
        put(&w, "\r\n", 2);
    }
    if (h->http_minor && !h->keep_alive)
        put(&w, "Connection: close\r\n", 19);
    else if (!h->http_minor && h->keep_alive)
        put(&w, "Connection: keep-alive\r\n", 24);
    if (h->content_length > 0 && !has_type)
        put(&w, "Content-Type: text/plain\r\n", 26);
    put(&w, "\r\n", 2);
    return w.len;
}
