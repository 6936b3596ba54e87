/* textbuf.c — kc/textbuf.h: fopencookie over an anonymous mapping grown by mremap. */
#include "kc/textbuf.h"

#include "kc/slice.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#define TEXTBUF_MIN (1u << 20)

static ssize_t tb_write(void *cookie, const char *buf, size_t size)
{
    struct kc_textbuf *tb = cookie;
    if (size > tb->cap - tb->len) {
        size_t cap = tb->cap ? tb->cap : TEXTBUF_MIN;
        while (cap - tb->len < size)
            cap *= 2;
        void *p = tb->data ? mremap(tb->data, tb->cap, cap, MREMAP_MAYMOVE)
                           : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                  -1, 0);
        if (p == MAP_FAILED)
            return 0; /* stdio reports the error; the text stays as it was */
        tb->data = p;
        tb->cap = cap;
    }
    memcpy(tb->data + tb->len, buf, size);
    tb->len += size;
    return (ssize_t)size;
}

FILE *kc_textbuf_open(struct kc_textbuf *tb)
{
    memset(tb, 0, sizeof *tb);
    cookie_io_functions_t io = {.write = tb_write};
    return fopencookie(tb, "w", io);
}

void kc_textbuf_release(struct kc_textbuf *tb)
{
    if (tb->data)
        munmap(tb->data, tb->cap);
    memset(tb, 0, sizeof *tb);
}

/* A big text is unmapped a piece per slice step: 20,000 connectors' Prometheus text (tens of
 * MB of touched pages) took 3-4 ms to unmap in one turn. */
#define UNMAP_PIECE (1u << 20)

struct unmap_job {
    char *data;
    size_t cap, done;
};

static int unmap_step(void *arg)
{
    struct unmap_job *j = arg;
    size_t n = j->cap - j->done < UNMAP_PIECE ? j->cap - j->done : UNMAP_PIECE;
    munmap(j->data + j->done, n); /* pieces start on page boundaries: the mapping's and 1 MiB */
    j->done += n;
    if (j->done < j->cap)
        return 1;
    free(j);
    return 0;
}

void kc_textbuf_release_sliced(struct event_base *base, struct kc_textbuf *tb)
{
    struct unmap_job *j = tb->cap > UNMAP_PIECE ? malloc(sizeof *j) : NULL;
    if (!j) {
        kc_textbuf_release(tb);
        return;
    }
    j->data = tb->data;
    j->cap = tb->cap;
    j->done = 0;
    memset(tb, 0, sizeof *tb);
    kc_slice_dispose(base, unmap_step, j);
}
