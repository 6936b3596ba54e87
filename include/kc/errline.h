/* kc/errline.h — one-line error messages that quote what the operator gave.
 * A refusal (of a config value, a header, a setting) names the bad value, and that value may
 * hold anything: the message must stay one line, with nothing hidden in it. */
#ifndef KC_ERRLINE_H
#define KC_ERRLINE_H

#include <stddef.h>

/* printf into err (errlen bytes, always terminated when errlen > 0), every control byte of the
 * result written as \n, \r, \t or \xHH. The message is cut, never a byte of an escape, when it
 * does not fit. */
void kc_errline(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
