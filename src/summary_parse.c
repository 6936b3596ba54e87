/* summary_parse.c — a JSON document parsed in pieces across loop turns (kc/summary_parse.h), for
 * the cluster summaries another replica publishes (metrics_fleet.c).
 *
 * Design: kc_jsplit reports every value that ends at depth 1 or 2. A root member that is a
 * container with something inside becomes an empty container of ours, put in the root at once,
 * and each of its elements or members is json_loadb'ed on its own as it ends; any other root
 * member (a scalar, a string, an empty container) is json_loadb'ed when it ends. A summary is
 * one long "connectors" array of ~500-byte rows beside small members, so no piece costs more
 * than a few microseconds and a step stops after `budget` bytes. Keys are decoded by jansson
 * too, and members are set in text order, so duplicates, escapes, UTF-8 and numbers come out
 * exactly as from one json_loadb — the unit test compares both on a 5,000-row summary and on
 * malformed, truncated and odd texts. Measured (release build, thread CPU time, the gateway's
 * malloc settings): json_loadb of a 5,000-connector summary (2.4 MB) takes 71 ms in one call,
 * of 20,000 (9.8 MB) 284-291 ms; in 8 KiB steps the whole costs ~10 % more (79 / 325 ms), a
 * step ~0.27 ms on average and 0.48 ms at most (32 KiB steps: ~1 ms, at most 1.8 ms). */
#include "kc/summary_parse.h"

#include "kc/jsplit.h"

#include <stdint.h>
#include <stdlib.h>

struct kc_summary_parser {
    struct kc_jsplit split;
    json_t *root; /* the document so far (ours) */
    json_t *open; /* the root member being filled piece by piece (borrowed from root), or NULL */
    int state;    /* 1 parsing, 0 complete, -1 failed */
};

struct kc_summary_parser *kc_summary_parser_new(const char *text, size_t len)
{
    struct kc_summary_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    kc_jsplit_init(&p->split, text, len, 2);
    p->state = 1;
    return p;
}

/* The text of one piece as jansson parses it inside a document. New reference or NULL. */
static json_t *piece(const struct kc_summary_parser *p, size_t off, size_t len)
{
    return json_loadb(p->split.text + off, len, JSON_DECODE_ANY, NULL);
}

/* Puts v (taken) into container c: under the key token at key_off (quotes included) for an
 * object, at the end for an array. 0, or -1 (a key jansson refuses, OOM). */
static int put(const struct kc_summary_parser *p, json_t *c, size_t key_off, size_t key_len,
               json_t *v)
{
    if (!v)
        return -1;
    if (json_is_array(c))
        return json_array_append_new(c, v);
    json_t *k = piece(p, key_off, key_len);
    int rc = json_is_string(k) ? json_object_set_new(c, json_string_value(k), v) : -1;
    if (!json_is_string(k))
        json_decref(v);
    json_decref(k);
    return rc;
}

static int place(struct kc_summary_parser *p, const struct kc_jsplit_item *it)
{
    if (!p->root && !(p->root = p->split.frames[0].type == '{' ? json_object() : json_array()))
        return -1;
    if (it->depth == 1) {
        if (p->open) { /* the member just filled ended: it is in place already */
            p->open = NULL;
            return 0;
        }
        return put(p, p->root, it->key_off, it->key_len, piece(p, it->val_off, it->val_len));
    }
    if (!p->open) {
        json_t *c = it->container == '{' ? json_object() : json_array();
        if (!c)
            return -1;
        /* Set before it is filled, as jansson would set it after: the same place in the
         * root's order, and a partial document can still be freed in slices. */
        if (put(p, p->root, it->parent_key_off, it->parent_key_len, json_incref(c)) != 0) {
            json_decref(c);
            return -1;
        }
        p->open = c;
        json_decref(c); /* the root holds it */
    }
    return put(p, p->open, it->key_off, it->key_len, piece(p, it->val_off, it->val_len));
}

int kc_summary_parser_step(struct kc_summary_parser *p, size_t budget)
{
    if (p->state != 1)
        return p->state;
    size_t start = p->split.pos;
    while (p->split.pos - start < budget) {
        struct kc_jsplit_item it;
        int rc = kc_jsplit_next(&p->split, &it, budget);
        if (rc == KC_JSPLIT_PAUSE)
            continue;
        if (rc == KC_JSPLIT_END) {
            if (!p->root &&
                !(p->root = p->split.frames[0].type == '{' ? json_object() : json_array()))
                return p->state = -1;
            return p->state = 0;
        }
        if (rc == KC_JSPLIT_ERROR || place(p, &it) != 0)
            return p->state = -1;
    }
    return 1;
}

json_t *kc_summary_parser_take(struct kc_summary_parser *p)
{
    json_t *doc = p->root;
    p->root = p->open = NULL;
    if (p->state == 1)
        p->state = -1; /* nothing left to build on */
    return doc;
}

void kc_summary_parser_free(struct kc_summary_parser *p)
{
    if (!p)
        return;
    json_decref(p->root);
    free(p);
}

json_t *kc_summary_parse(const char *text, size_t len)
{
    struct kc_summary_parser *p = kc_summary_parser_new(text, len);
    if (!p)
        return NULL;
    int rc;
    while ((rc = kc_summary_parser_step(p, SIZE_MAX)) == 1)
        ;
    json_t *doc = rc == 0 ? kc_summary_parser_take(p) : NULL;
    kc_summary_parser_free(p);
    return doc;
}
