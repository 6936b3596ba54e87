/* kc/summary_parse.h — a cluster summary (any JSON text, in fact) parsed across loop turns: each
 * member of the root and each element or member of a root member is parsed on its own
 * (json_loadb of that piece) and put in place, so the result equals json_loadb of the whole. */
#ifndef KC_SUMMARY_PARSE_H
#define KC_SUMMARY_PARSE_H

#include <jansson.h>
#include <stddef.h>

struct kc_summary_parser;

/* New parser over text (borrowed: it must outlive the parser, no NUL needed). NULL on OOM. */
struct kc_summary_parser *kc_summary_parser_new(const char *text, size_t len);

/* Parses about `budget` more bytes of the text (a piece bigger than that is parsed whole).
 * 1 when more remains, 0 when the document is complete, -1 when the text is not a JSON object
 * or array (malformed, truncated, trailing bytes — whatever json_loadb with flags 0 refuses —
 * or nested deeper than KC_JSPLIT_STACK levels, which json_loadb would still take) or on OOM.
 * After 0 or -1 it returns the same again. */
int kc_summary_parser_step(struct kc_summary_parser *p, size_t budget);

/* The document (new reference; the parser no longer holds it): complete after a step returned
 * 0; before that, or after -1, whatever was built so far (a root holding a long array must be
 * freed in slices too: kc_slice_json_decref). NULL when nothing was built or it was taken. */
json_t *kc_summary_parser_take(struct kc_summary_parser *p);

/* Frees the parser and anything not taken (json_decref in one go: take it first if it may be
 * big). NULL is fine. */
void kc_summary_parser_free(struct kc_summary_parser *p);

/* All steps at once (tests, small documents): what json_loadb(text, len, 0, NULL) returns. */
json_t *kc_summary_parse(const char *text, size_t len);

#endif
