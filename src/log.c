/* log.c — JSON-lines logger on stderr with a global level.
 * One fwrite per line so lines from one process never interleave. */
#include "kc/log.h"

#include "kc/timefmt.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

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

/* One line: the fixed keys first so lines read well (jansson keeps insertion order). */
static void write_line(enum kc_log_level level, const char *event, const json_t *fields)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char ts[KC_TIMEFMT_RFC3339_SIZE];
    kc_timefmt_rfc3339_ms((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, ts, sizeof ts);

    json_t *ordered = json_pack("{s:s,s:s,s:s}", "ts", ts, "level", level_names[level], "event",
                                event ? event : "log");
    if (ordered) {
        if (fields)
            json_object_update(ordered, (json_t *)(uintptr_t)fields);
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
    write_line(level, event, line);
    json_decref(line);
}

void kc_log_always(const char *event, const json_t *fields)
{
    write_line(KC_LOG_INFO, event, fields);
}
