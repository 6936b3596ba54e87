/* jsplit.c — the resumable JSON structure scanner (kc/jsplit.h): a byte state machine whose
 * whole state lives in the struct, so it stops anywhere and goes on at the next loop turn. */
#include "kc/jsplit.h"

#include <string.h>

enum { EXP_FIRST, EXP_KEY, EXP_COLON, EXP_VALUE, EXP_NEXT };

void kc_jsplit_init(struct kc_jsplit *s, const char *text, size_t len, unsigned max_depth)
{
    memset(s, 0, sizeof *s);
    s->text = text;
    s->len = len;
    s->max_depth = max_depth < 1 ? 1 : max_depth > KC_JSPLIT_MAX_DEPTH ? KC_JSPLIT_MAX_DEPTH
                                                                         : max_depth;
}

void kc_jsplit_line_col(const char *text, size_t off, int *line, int *col)
{
    int l = 1;
    size_t start = 0;
    for (size_t i = 0; i < off; i++)
        if (text[i] == '\n') {
            l++;
            start = i + 1;
        }
    *line = l;
    *col = (int)(off - start) + 1;
}

static int is_scalar_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '+' || c == '-' || c == '.';
}

static int digits(const char *p, const char *end, const char **out)
{
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    *out = q;
    return q > p;
}

/* true, false, null, or a number as RFC 8259 spells it. */
static int scalar_ok(const char *p, size_t n)
{
    if ((n == 4 && (memcmp(p, "true", 4) == 0 || memcmp(p, "null", 4) == 0)) ||
        (n == 5 && memcmp(p, "false", 5) == 0))
        return 1;
    const char *end = p + n, *q = p;
    if (q < end && *q == '-')
        q++;
    if (q < end && *q == '0')
        q++;
    else if (!digits(q, end, &q))
        return 0;
    if (q < end && *q == '.' && !digits(q + 1, end, &q))
        return 0;
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (!digits(q, end, &q))
            return 0;
    }
    return q == end;
}

/* The value in the innermost open container ended at `end`: 1 when it is reported. */
static int value_end(struct kc_jsplit *s, size_t end, struct kc_jsplit_item *it)
{
    struct kc_jsplit_frame *f = &s->frames[s->depth - 1];
    f->expect = EXP_NEXT;
    size_t index = f->index++;
    if (s->depth > s->max_depth)
        return 0;
    it->depth = s->depth;
    it->container = f->type;
    it->index = index;
    it->key_off = f->type == '{' ? f->key_off : 0;
    it->key_len = f->type == '{' ? f->key_len : 0;
    it->val_off = f->val_off;
    it->val_len = end - f->val_off;
    it->parent_key_off = it->parent_key_len = 0;
    if (s->depth >= 2 && s->frames[s->depth - 2].type == '{') {
        it->parent_key_off = s->frames[s->depth - 2].key_off;
        it->parent_key_len = s->frames[s->depth - 2].key_len;
    }
    return 1;
}

static int push(struct kc_jsplit *s, char type)
{
    if (s->depth >= KC_JSPLIT_STACK)
        return -1;
    struct kc_jsplit_frame *f = &s->frames[s->depth++];
    memset(f, 0, sizeof *f);
    f->type = type;
    f->expect = EXP_FIRST;
    return 0;
}

/* A value starts at s->pos with byte c (the container expects one). 0, or -1 for garbage. */
static int start_value(struct kc_jsplit *s, unsigned char c)
{
    s->frames[s->depth - 1].val_off = s->pos;
    if (c == '"') {
        s->in_string = 1;
        s->str_is_key = 0;
        s->str_off = s->pos++;
        return 0;
    }
    if (c == '{' || c == '[') {
        if (push(s, (char)c) < 0)
            return -1;
        s->pos++;
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
        s->in_scalar = 1;
        s->scalar_off = s->pos++;
        return 0;
    }
    return -1;
}

int kc_jsplit_next(struct kc_jsplit *s, struct kc_jsplit_item *it, size_t budget)
{
    const char *t = s->text;
    size_t stop = budget < s->len - s->pos ? s->pos + budget : s->len;
    while (s->pos < s->len) {
        if (s->pos >= stop)
            return KC_JSPLIT_PAUSE;
        if (s->in_string) {
            size_t p = s->pos;
            while (p < s->len) {
                unsigned char c = (unsigned char)t[p];
                if (s->escape) {
                    if (!strchr("\"\\/bfnrtu", c) || c == '\0')
                        goto garbage_at_p;
                    s->escape = 0;
                } else if (c == '\\') {
                    s->escape = 1;
                } else if (c == '"') {
                    break;
                } else if (c < 0x20) {
                    goto garbage_at_p;
                }
                p++;
            }
            s->pos = p;
            if (p == s->len)
                break; /* truncated */
            s->pos++;
            s->in_string = 0;
            struct kc_jsplit_frame *f = &s->frames[s->depth - 1];
            if (s->str_is_key) {
                f->key_off = s->str_off;
                f->key_len = s->pos - s->str_off;
                f->expect = EXP_COLON;
                continue;
            }
            if (value_end(s, s->pos, it))
                return KC_JSPLIT_ITEM;
            continue;
        garbage_at_p:
            s->pos = p;
            return KC_JSPLIT_ERROR;
        }
        unsigned char c = (unsigned char)t[s->pos];
        if (s->in_scalar) {
            if (is_scalar_char(c)) {
                s->pos++;
                continue;
            }
            s->in_scalar = 0;
            if (!scalar_ok(t + s->scalar_off, s->pos - s->scalar_off)) {
                s->pos = s->scalar_off;
                return KC_JSPLIT_ERROR;
            }
            if (value_end(s, s->pos, it))
                return KC_JSPLIT_ITEM;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            s->pos++;
            continue;
        }
        if (!s->started) {
            if (c != '{' && c != '[')
                return KC_JSPLIT_ERROR;
            s->started = 1;
            push(s, (char)c);
            s->pos++;
            continue;
        }
        if (s->done)
            return KC_JSPLIT_ERROR; /* something after the root */
        struct kc_jsplit_frame *f = &s->frames[s->depth - 1];
        char close = f->type == '{' ? '}' : ']';
        switch (f->expect) {
        case EXP_FIRST:
            if (c == (unsigned char)close)
                goto close_container;
            if (f->type == '[') {
                if (start_value(s, c) < 0)
                    return KC_JSPLIT_ERROR;
                continue;
            }
            /* an object's first member: a key, as after a comma */
            __attribute__((fallthrough));
        case EXP_KEY:
            if (c != '"')
                return KC_JSPLIT_ERROR;
            s->in_string = 1;
            s->str_is_key = 1;
            s->str_off = s->pos++;
            continue;
        case EXP_COLON:
            if (c != ':')
                return KC_JSPLIT_ERROR;
            f->expect = EXP_VALUE;
            s->pos++;
            continue;
        case EXP_VALUE:
            if (start_value(s, c) < 0)
                return KC_JSPLIT_ERROR;
            continue;
        case EXP_NEXT:
            if (c == ',') {
                f->expect = f->type == '{' ? EXP_KEY : EXP_VALUE;
                s->pos++;
                continue;
            }
            if (c == (unsigned char)close)
                goto close_container;
            return KC_JSPLIT_ERROR;
        default:
            return KC_JSPLIT_ERROR;
        }
    close_container:
        s->pos++;
        if (--s->depth == 0) {
            s->done = 1;
            continue;
        }
        if (value_end(s, s->pos, it))
            return KC_JSPLIT_ITEM;
    }
    if (s->done && !s->in_string && !s->in_scalar)
        return KC_JSPLIT_END;
    return KC_JSPLIT_ERROR; /* truncated */
}
