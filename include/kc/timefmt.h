/* kc/timefmt.h — timestamps as the API writes them (RFC 3339, UTC, milliseconds), and
 * millisecond durations as libevent's timers take them. Pure; the caller supplies the clock. */
#ifndef KC_TIMEFMT_H
#define KC_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

/* "2025-10-22T05:30:15.123Z" is 24 characters; this size leaves room for years > 9999. */
#define KC_TIMEFMT_RFC3339_SIZE 40

/* Formats epoch milliseconds into buf (size >= KC_TIMEFMT_RFC3339_SIZE recommended).
 * Returns buf, or NULL (buf set to "") when it does not fit or the time is out of range. */
char *kc_timefmt_rfc3339_ms(int64_t epoch_ms, char *buf, size_t size);

/* A duration of ms >= 0 milliseconds as a struct timeval. */
static inline struct timeval kc_timeval_from_ms(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

#endif
