/* kc/stepsort.h — a stable merge sort that runs in bounded steps, for arrays too big to sort
 * within one loop turn: qsort of 20,000 connector statuses by name took ~5 ms of a turn. */
#ifndef KC_STEPSORT_H
#define KC_STEPSORT_H

#include <stddef.h>

struct kc_stepsort;

/* Sorts base[0..n) (elements of `size` bytes, as qsort does) once the steps are done; base is
 * not touched before the last steps and must stay put until then. NULL on OOM. */
struct kc_stepsort *kc_stepsort_new(void *base, size_t n, size_t size,
                                    int (*cmp)(const void *, const void *));

/* About `budget` units of work (an element compared and moved, or copied). 1 = more remains,
 * 0 = base is sorted, -1 = out of memory (base is unchanged). */
int kc_stepsort_step(struct kc_stepsort *s, size_t budget);

void kc_stepsort_free(struct kc_stepsort *s);

#endif
