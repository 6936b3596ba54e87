/* timefmt.c — RFC 3339 UTC timestamps with milliseconds for lastUpdated and logs.
 * gmtime_r on the whole seconds; milliseconds floor so 1999 ms is ".999", never ".1000". */
#include "kc/timefmt.h"

#include <stdio.h>
#include <time.h>

char *kc_timefmt_rfc3339_ms(int64_t epoch_ms, char *buf, size_t size)
{
    if (!buf || size == 0)
        return NULL;
    buf[0] = '\0';
    int64_t secs = epoch_ms / 1000, ms = epoch_ms % 1000;
    if (ms < 0) { /* floor for times before 1970 */
        ms += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return NULL;
    int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    if (n < 0 || (size_t)n >= size) {
        buf[0] = '\0';
        return NULL;
    }
    return buf;
}
