/* kc/doccache.h — a bounded cache of finished answers (documents) keyed by string, with the
 * bookkeeping coalescing needs. Pure data structure: no I/O, time is passed in. */
#ifndef KC_DOCCACHE_H
#define KC_DOCCACHE_H

#include <stddef.h>
#include <stdint.h>

/* An immutable answer shared by the cache and every reader: status, JSON body, and its gzip
 * form made once (bodies over 1 KiB). Reference counted. */
struct kc_doc {
    unsigned refs;
    int status;
    char *body;
    size_t len;
    unsigned char *gz; /* NULL when small or compression failed */
    size_t gz_len;
    uint64_t seq;      /* increases with every document of an entry (SSE event id) */
    int64_t made_ms;   /* wall clock */
    void *block;       /* when not NULL, body and gz point into it and it is what is freed */
};

/* Takes ownership of body (malloc'ed, len bytes). Returns a doc with one reference, or NULL
 * (body freed) on allocation failure. */
struct kc_doc *kc_doc_new_take(int status, char *body, size_t len);
/* The same with the gzip form already made (fleet mode: as the collecting replica made it);
 * takes both buffers (gz may be NULL). */
struct kc_doc *kc_doc_new_take_gz(int status, char *body, size_t len, unsigned char *gz,
                                  size_t gz_len);
/* The same over bytes that already sit in one malloc'ed block (a fleet envelope as hiredis
 * received it: megabytes not copied): takes block; body and gz (NULL when none) point into it
 * and need not be NUL-terminated. */
struct kc_doc *kc_doc_new_in_block_take(int status, void *block, char *body, size_t len,
                                        unsigned char *gz, size_t gz_len);
struct kc_doc *kc_doc_ref(struct kc_doc *d);
void kc_doc_unref(struct kc_doc *d);
size_t kc_doc_bytes(const struct kc_doc *d);

struct kc_doccache_entry {
    char *key;                 /* owned */
    struct kc_doc *doc;        /* current document (one reference), or NULL */
    int64_t fresh_until_ms;    /* monotonic: serve doc without upstream traffic until then */
    int64_t refresh_from_ms;   /* monotonic: a hit from here on starts a refresh */
    unsigned pins;             /* collections, waiters and subscribers using it: never evicted */
    void *user;                /* owner's per-key state (previous sample, history...) */
    void (*user_free)(void *user);
    size_t user_bytes;         /* what user holds, counted against the byte bound */
    /* private */
    struct kc_doccache_entry *hnext, *lru_prev, *lru_next;
    uint32_t hash;
};

struct kc_doccache;

struct kc_doccache *kc_doccache_new(size_t max_entries, size_t max_bytes);
void kc_doccache_free(struct kc_doccache *c);

/* Borrowed entry or NULL; a found entry becomes most recently used. */
struct kc_doccache_entry *kc_doccache_get(struct kc_doccache *c, const char *key);
/* Existing or new entry (NULL on allocation failure). May evict other unpinned entries. */
struct kc_doccache_entry *kc_doccache_put(struct kc_doccache *c, const char *key);
/* Replaces the entry's document (takes the caller's reference to doc). Its seq becomes the
 * previous one + 1, unless the caller set a larger one. */
void kc_doccache_set_doc(struct kc_doccache *c, struct kc_doccache_entry *e, struct kc_doc *doc,
                         int64_t fresh_until_ms, int64_t refresh_from_ms);
/* Re-counts user_bytes after the owner changed it. */
void kc_doccache_account(struct kc_doccache *c, struct kc_doccache_entry *e, size_t user_bytes);
void kc_doccache_remove(struct kc_doccache *c, struct kc_doccache_entry *e);
/* Evicts least recently used unpinned entries while over a bound. */
void kc_doccache_trim(struct kc_doccache *c);

size_t kc_doccache_count(const struct kc_doccache *c);
size_t kc_doccache_bytes(const struct kc_doccache *c);

#endif
