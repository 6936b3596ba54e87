/* stepsort.c — bottom-up merge sort in resumable steps (kc/stepsort.h).
 *
 * Indices are sorted, not elements: a pass moves size_t values however big an element is, and
 * the elements move once, at the end (copied aside, then placed in order). Each pass merges
 * runs of `width` from one index array into the other; the merge in progress is remembered
 * (i, j, k), so a step may stop anywhere. Ties take the left run first: stable.
 * 20,000 connector statuses: ~300,000 comparisons, done in slices of the loop (kc/slice.h). */
#include "kc/stepsort.h"

#include <stdlib.h>
#include <string.h>

enum phase { MERGE, COPY, PLACE, DONE };

struct kc_stepsort {
    char *base;
    size_t n, size;
    int (*cmp)(const void *, const void *);
    enum phase phase;
    size_t *from, *to; /* index arrays: a pass merges from -> to */
    char *copy;        /* the elements in their old order, during COPY and PLACE */
    size_t width;      /* run length of the pass in progress */
    size_t lo;         /* start of the next pair of runs */
    int merging;       /* a pair is being merged: */
    size_t i, iend, j, jend, k;
    size_t cursor;     /* COPY and PLACE progress */
};

struct kc_stepsort *kc_stepsort_new(void *base, size_t n, size_t size,
                                    int (*cmp)(const void *, const void *))
{
    struct kc_stepsort *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->n = n;
    s->size = size;
    s->cmp = cmp;
    s->width = 1;
    if (n < 2) {
        s->phase = DONE;
        return s;
    }
    s->from = malloc(n * sizeof *s->from);
    s->to = malloc(n * sizeof *s->to);
    if (!s->from || !s->to) {
        kc_stepsort_free(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        s->from[i] = i;
    return s;
}

static const void *element(const struct kc_stepsort *s, size_t idx)
{
    return s->base + idx * s->size;
}

static size_t merge_some(struct kc_stepsort *s, size_t budget)
{
    size_t done = 0;
    while (done < budget) {
        if (!s->merging) {
            if (s->lo >= s->n) { /* pass over */
                size_t *t = s->from;
                s->from = s->to;
                s->to = t;
                s->width *= 2;
                s->lo = 0;
                if (s->width >= s->n) {
                    s->phase = COPY;
                    return done;
                }
            }
            s->i = s->k = s->lo;
            s->iend = s->j = s->lo + s->width < s->n ? s->lo + s->width : s->n;
            s->jend = s->lo + 2 * s->width < s->n ? s->lo + 2 * s->width : s->n;
            s->merging = 1;
        }
        while (done < budget && s->k < s->jend) {
            if (s->i < s->iend &&
                (s->j >= s->jend ||
                 s->cmp(element(s, s->from[s->i]), element(s, s->from[s->j])) <= 0))
                s->to[s->k++] = s->from[s->i++];
            else
                s->to[s->k++] = s->from[s->j++];
            done++;
        }
        if (s->k == s->jend) {
            s->merging = 0;
            s->lo = s->jend;
        }
    }
    return done;
}

int kc_stepsort_step(struct kc_stepsort *s, size_t budget)
{
    if (budget == 0)
        budget = 1;
    switch (s->phase) {
    case MERGE:
        merge_some(s, budget);
        return 1;
    case COPY:
        if (!s->copy && !(s->copy = malloc(s->n * s->size)))
            return -1;
        if (s->cursor < s->n) {
            size_t m = s->n - s->cursor < budget ? s->n - s->cursor : budget;
            memcpy(s->copy + s->cursor * s->size, s->base + s->cursor * s->size, m * s->size);
            s->cursor += m;
            if (s->cursor < s->n)
                return 1;
        }
        s->cursor = 0;
        s->phase = PLACE;
        return 1;
    case PLACE: {
        size_t end = s->n - s->cursor < budget ? s->n : s->cursor + budget;
        for (; s->cursor < end; s->cursor++)
            memcpy(s->base + s->cursor * s->size, s->copy + s->from[s->cursor] * s->size,
                   s->size);
        if (s->cursor < s->n)
            return 1;
        free(s->copy);
        s->copy = NULL;
        s->phase = DONE;
        return 0;
    }
    case DONE:
        break;
    }
    return 0;
}

void kc_stepsort_free(struct kc_stepsort *s)
{
    if (!s)
        return;
    free(s->from);
    free(s->to);
    free(s->copy);
    free(s);
}
