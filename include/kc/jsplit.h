/* kc/jsplit.h — a resumable structural scanner over one JSON text held in memory: it reports
 * each value that ends at depth 1..max_depth as byte ranges, so a big upstream body is parsed
 * piece by piece (jansson per small piece) across loop turns instead of in one call. */
#ifndef KC_JSPLIT_H
#define KC_JSPLIT_H

#include <stddef.h>

#define KC_JSPLIT_MAX_DEPTH 8  /* deepest reported level */
#define KC_JSPLIT_STACK 64     /* deeper nesting is refused as garbage */

/* One value that ended. Offsets are into the scanned text. */
struct kc_jsplit_item {
    unsigned depth;            /* 1 = a member or element of the root container */
    char container;            /* '{' or '[': the container it belongs to */
    size_t index;              /* its position in that container */
    size_t key_off, key_len;   /* the member's key as a JSON string token (quotes included);
                                  0/0 in arrays */
    size_t val_off, val_len;   /* the value's text */
    size_t parent_key_off, parent_key_len; /* the key of the container itself in its parent
                                              (depth >= 2 and the parent is an object), else 0/0 */
};

struct kc_jsplit_frame {
    char type;                 /* '{' or '[' */
    unsigned char expect;      /* private parser state */
    size_t index;
    size_t key_off, key_len, val_off;
};

struct kc_jsplit {
    const char *text;          /* borrowed: must outlive the scanner */
    size_t len, pos;
    unsigned max_depth;
    unsigned depth;            /* open containers */
    int started, done;
    size_t scalar_off;         /* where the scalar being scanned began (in_scalar) */
    int in_string, in_scalar, escape;
    int str_is_key;
    size_t str_off;
    struct kc_jsplit_frame frames[KC_JSPLIT_STACK];
};

enum { KC_JSPLIT_ERROR = -1, KC_JSPLIT_END = 0, KC_JSPLIT_ITEM = 1, KC_JSPLIT_PAUSE = 2 };

/* The root must be an object or an array; max_depth is 1..KC_JSPLIT_MAX_DEPTH. */
void kc_jsplit_init(struct kc_jsplit *s, const char *text, size_t len, unsigned max_depth);

/* Scans on: KC_JSPLIT_ITEM with *it filled, KC_JSPLIT_PAUSE after about `budget` bytes without
 * an item (call again), KC_JSPLIT_END when the root closed and only whitespace follows, or
 * KC_JSPLIT_ERROR (malformed or truncated; s->pos is where). Only structure is checked here:
 * strings (escapes, control characters), brackets, commas and colons, scalar spellings; the
 * pieces the caller parses get jansson's full checks. */
int kc_jsplit_next(struct kc_jsplit *s, struct kc_jsplit_item *it, size_t budget);

/* 1-based line and column of byte offset `off` (for error messages). */
void kc_jsplit_line_col(const char *text, size_t off, int *line, int *col);

#endif
