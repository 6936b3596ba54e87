/* sim_loggers.h — the worker's log4j2 logger levels behind /admin/loggers: the configured
 * loggers of the recorded worker, changed at runtime by PUT (one worker or the cluster). */
#ifndef SIM_LOGGERS_H
#define SIM_LOGGERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_LOGGERS_MAX 64     /* configured loggers kept; a PUT beyond it is refused */
#define SIM_LOGGER_NAME_MAX 256

struct sim_logger {
    char name[SIM_LOGGER_NAME_MAX];
    char level[8];         /* log4j2 level name, upper case */
    int64_t last_modified; /* wall ms of the last runtime change; 0 = never (null) */
};

/* Kept sorted by name: Connect answers from a sorted map. */
struct sim_loggers {
    struct sim_logger v[SIM_LOGGERS_MAX];
    size_t n;
};

/* The loggers the recorded Kafka 4.1 worker had configured. */
void sim_loggers_init(struct sim_loggers *l);
/* Borrowed entry or NULL when name is not a configured logger. */
const struct sim_logger *sim_loggers_find(const struct sim_loggers *l, const char *name);
/* Canonical level name (static) for what a client sent, case-insensitively; NULL if invalid. */
const char *sim_loggers_level(const char *in);
/* Sets namespace ns and every configured logger whose name starts with it (all for "root") to
 * level, as Connect's Loggers.setLevel does; appends the affected names, sorted, to affected
 * (borrowed, may be NULL). Returns 0, or -1 when a new logger does not fit. */
int sim_loggers_set(struct sim_loggers *l, const char *ns, const char *level, int64_t now_ms,
                    json_t *affected);

#endif
