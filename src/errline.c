/* errline.c — one-line error messages: see kc/errline.h. */
#include "kc/errline.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void kc_errline(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    char raw[1024]; /* refusals are a sentence and a quoted value; longer ones are cut */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);

    static const char hex[] = "0123456789abcdef";
    size_t out = 0;
    for (const unsigned char *c = (const unsigned char *)raw; *c; c++) {
        char piece[4] = {(char)*c};
        size_t n = 1;
        if (*c < 0x20 || *c == 0x7f) {
            piece[0] = '\\';
            piece[1] = *c == '\n' ? 'n' : *c == '\r' ? 'r' : *c == '\t' ? 't' : 'x';
            n = 2;
            if (piece[1] == 'x') {
                piece[2] = hex[*c >> 4];
                piece[3] = hex[*c & 0xf];
                n = 4;
            }
        }
        if (out + n >= errlen)
            break;
        memcpy(err + out, piece, n);
        out += n;
    }
    err[out] = '\0';
}
