/* log.c — JSON-lines logger on stderr with a global level.
 * One fwrite per line so lines from one process never interleave. */
#include "kc/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static enum kc_log_level min_level = KC_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int kc_log_parse_level(const char *name, enum kc_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum kc_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *out = KC_LOG_WARN;
        return 0;
    }
    return -1;
}

void kc_log_set_level(enum kc_log_level level)
{
    min_level = level;
}

int kc_log_enabled(enum kc_log_level level)
{
    return level >= min_level;
}

void kc_log(enum kc_log_level level, const char *event, const char *fields_fmt, ...)
{
    if (!kc_log_enabled(level))
        return;

    json_t *line = NULL;
    if (fields_fmt) {
        va_list ap;
        va_start(ap, fields_fmt);
        json_error_t err;
        line = json_vpack_ex(&err, 0, fields_fmt, ap);
        va_end(ap);
    }
    if (!line)
        line = json_object();
    if (!line)
        return;

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(tv.tv_usec / 1000));

    /* Put the fixed keys first so lines read well; jansson keeps insertion order. */
    json_t *ordered = json_pack("{s:s,s:s,s:s}", "ts", ts, "level", level_names[level], "event",
                                event ? event : "log");
    if (ordered) {
        json_object_update(ordered, line);
        char *text = json_dumps(ordered, JSON_COMPACT);
        if (text) {
            size_t n = strlen(text);
            text[n] = '\n';
            fwrite(text, 1, n + 1, stderr);
            fflush(stderr);
            free(text);
        }
        json_decref(ordered);
    }
    json_decref(line);
}
