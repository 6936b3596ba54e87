/* doccache.c — string-keyed hash of documents with an LRU list and entry/byte bounds.
 * Pinned entries (a collection, waiters or subscribers) are never evicted. */
#include "kc/doccache.h"

#include "kc/http.h"

#include <stdlib.h>
#include <string.h>

#define GZIP_MIN 1024

struct kc_doccache {
    struct kc_doccache_entry **buckets;
    size_t nbuckets, count, bytes;
    size_t max_entries, max_bytes;
    struct kc_doccache_entry *lru_head, *lru_tail; /* head = most recent */
};

struct kc_doc *kc_doc_new_take(int status, char *body, size_t len)
{
    size_t gz_len = 0;
    unsigned char *gz = NULL;
    if (body && len > GZIP_MIN)
        /* Big documents (a 5,000-connector summary) take zlib's fastest level: the loop is
         * not held for ~100 ms, at the price of a somewhat larger answer. */
        gz = kc_gzip(body, len, len > (256u << 10) ? KC_GZIP_FASTEST : KC_GZIP_FAST, &gz_len);
    return kc_doc_new_take_gz(status, body, len, gz, gz_len);
}

/* A document of its parts; NULL on OOM (the caller frees the parts). */
static struct kc_doc *doc_new(int status, void *block, char *body, size_t len,
                              unsigned char *gz, size_t gz_len)
{
    struct kc_doc *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->refs = 1;
    d->status = status;
    d->block = block;
    d->body = body;
    d->len = len;
    d->gz = gz;
    d->gz_len = gz ? gz_len : 0;
    return d;
}

struct kc_doc *kc_doc_new_take_gz(int status, char *body, size_t len, unsigned char *gz,
                                  size_t gz_len)
{
    struct kc_doc *d = doc_new(status, NULL, body, len, gz, gz_len);
    if (!d) {
        free(body);
        free(gz);
    }
    return d;
}

struct kc_doc *kc_doc_new_in_block_take(int status, void *block, char *body, size_t len,
                                        unsigned char *gz, size_t gz_len)
{
    struct kc_doc *d = doc_new(status, block, body, len, gz, gz_len);
    if (!d)
        free(block);
    return d;
}

struct kc_doc *kc_doc_ref(struct kc_doc *d)
{
    if (d)
        d->refs++;
    return d;
}

void kc_doc_unref(struct kc_doc *d)
{
    if (!d || --d->refs > 0)
        return;
    if (d->block) {
        free(d->block);
    } else {
        free(d->body);
        free(d->gz);
    }
    free(d);
}

size_t kc_doc_bytes(const struct kc_doc *d)
{
    return d ? sizeof *d + d->len + d->gz_len : 0;
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static size_t entry_bytes(const struct kc_doccache_entry *e)
{
    return sizeof *e + strlen(e->key) + 1 + kc_doc_bytes(e->doc) + e->user_bytes;
}

struct kc_doccache *kc_doccache_new(size_t max_entries, size_t max_bytes)
{
    struct kc_doccache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->nbuckets = 1024;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    return c;
}

static void lru_unlink(struct kc_doccache *c, struct kc_doccache_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct kc_doccache *c, struct kc_doccache_entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

static void entry_destroy(struct kc_doccache_entry *e)
{
    kc_doc_unref(e->doc);
    if (e->user && e->user_free)
        e->user_free(e->user);
    free(e->key);
    free(e);
}

void kc_doccache_free(struct kc_doccache *c)
{
    if (!c)
        return;
    struct kc_doccache_entry *e = c->lru_head;
    while (e) {
        struct kc_doccache_entry *next = e->lru_next;
        entry_destroy(e);
        e = next;
    }
    free(c->buckets);
    free(c);
}

static void grow(struct kc_doccache *c)
{
    size_t n = c->nbuckets * 2;
    struct kc_doccache_entry **b = calloc(n, sizeof *b);
    if (!b)
        return; /* keep the longer chains; still correct */
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct kc_doccache_entry *e = c->buckets[i];
        while (e) {
            struct kc_doccache_entry *next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

struct kc_doccache_entry *kc_doccache_get(struct kc_doccache *c, const char *key)
{
    uint32_t h = fnv1a(key);
    for (struct kc_doccache_entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext) {
        if (e->hash == h && strcmp(e->key, key) == 0) {
            if (c->lru_head != e) {
                lru_unlink(c, e);
                lru_push_front(c, e);
            }
            return e;
        }
    }
    return NULL;
}

struct kc_doccache_entry *kc_doccache_put(struct kc_doccache *c, const char *key)
{
    struct kc_doccache_entry *e = kc_doccache_get(c, key);
    if (e)
        return e;
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->key = strdup(key);
    if (!e->key) {
        free(e);
        return NULL;
    }
    e->hash = fnv1a(key);
    if (c->count + 1 > c->nbuckets)
        grow(c);
    size_t b = e->hash & (c->nbuckets - 1);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    lru_push_front(c, e);
    c->count++;
    c->bytes += entry_bytes(e);
    /* The new entry is pinned by nobody yet but is the most recent: trim spares it last. */
    e->pins++;
    kc_doccache_trim(c);
    e->pins--;
    return e;
}

void kc_doccache_set_doc(struct kc_doccache *c, struct kc_doccache_entry *e, struct kc_doc *doc,
                         int64_t fresh_until_ms, int64_t refresh_from_ms)
{
    c->bytes -= entry_bytes(e);
    uint64_t seq = e->doc ? e->doc->seq : 0;
    kc_doc_unref(e->doc);
    e->doc = doc;
    if (doc && doc->seq <= seq)
        doc->seq = seq + 1; /* a fleet document comes with its own, larger one */
    e->fresh_until_ms = fresh_until_ms;
    e->refresh_from_ms = refresh_from_ms;
    c->bytes += entry_bytes(e);
    e->pins++;
    kc_doccache_trim(c);
    e->pins--;
}

void kc_doccache_account(struct kc_doccache *c, struct kc_doccache_entry *e, size_t user_bytes)
{
    c->bytes -= entry_bytes(e);
    e->user_bytes = user_bytes;
    c->bytes += entry_bytes(e);
}

void kc_doccache_remove(struct kc_doccache *c, struct kc_doccache_entry *e)
{
    struct kc_doccache_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(c, e);
    c->count--;
    c->bytes -= entry_bytes(e);
    entry_destroy(e);
}

void kc_doccache_trim(struct kc_doccache *c)
{
    struct kc_doccache_entry *e = c->lru_tail;
    while (e && (c->count > c->max_entries || c->bytes > c->max_bytes)) {
        struct kc_doccache_entry *prev = e->lru_prev;
        if (e->pins == 0)
            kc_doccache_remove(c, e);
        e = prev;
    }
}

size_t kc_doccache_count(const struct kc_doccache *c)
{
    return c->count;
}

size_t kc_doccache_bytes(const struct kc_doccache *c)
{
    return c->bytes;
}
