/* textbuf.c — kc/textbuf.h: fopencookie over an anonymous mapping grown by mremap. */
#include "kc/textbuf.h"

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
