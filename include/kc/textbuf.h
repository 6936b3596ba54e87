/* kc/textbuf.h — a growing text buffer behind a FILE* (for fprintf-style renderers) that never
 * copies what it holds when it grows. Prometheus text of 5,000 connectors is ~12 MB: with
 * open_memstream, glibc grows it by realloc, and past its dynamic mmap threshold that copies
 * the whole text — 5–12 ms in one loop turn. Here the memory is mapped directly and grown with
 * mremap, which moves pages, not bytes. */
#ifndef KC_TEXTBUF_H
#define KC_TEXTBUF_H

#include <stddef.h>
#include <stdio.h>

struct kc_textbuf {
    char *data; /* the text so far (not NUL-terminated); NULL before the first write */
    size_t len;
    size_t cap; /* bytes mapped */
};

/* A FILE* appending to tb (zeroed first); NULL on failure. fclose() ends writing and keeps the
 * text in tb. */
FILE *kc_textbuf_open(struct kc_textbuf *tb);
/* Unmaps the text. tb may be empty. */
void kc_textbuf_release(struct kc_textbuf *tb);
/* The same, a megabyte per loop turn for a big text (kc/slice.h); tb is empty at once. */
struct event_base;
void kc_textbuf_release_sliced(struct event_base *base, struct kc_textbuf *tb);

#endif
