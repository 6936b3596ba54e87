/* sim_loggers.c — logger levels for /admin/loggers, with the semantics of Kafka 4.1's
 * log4j2-based Loggers class: namespaces are name prefixes, "root" covers everything. */
#include "sim_loggers.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Recorded: the worker's GET /admin/loggers before any change (Kafka 4.1.1). */
static const struct {
    const char *name, *level;
} CONFIGURED[] = {
    {"org.apache.kafka.clients", "WARN"},
    {"org.apache.kafka.common", "WARN"},
    {"root", "INFO"},
};

/* log4j2's Level.toLevel names. */
static const char *const LEVELS[] = {"OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE",
                                     "ALL"};

static void set_entry(struct sim_logger *e, const char *name, const char *level, int64_t ms)
{
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->level, sizeof e->level, "%s", level);
    e->last_modified = ms;
}

/* Inserts name at its sorted place; returns the new entry or NULL when full or too long. */
static struct sim_logger *insert(struct sim_loggers *l, const char *name)
{
    if (l->n == SIM_LOGGERS_MAX || strlen(name) >= SIM_LOGGER_NAME_MAX)
        return NULL;
    size_t i = 0;
    while (i < l->n && strcmp(l->v[i].name, name) < 0)
        i++;
    memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof l->v[0]);
    l->n++;
    set_entry(&l->v[i], name, "INFO", 0);
    return &l->v[i];
}

void sim_loggers_init(struct sim_loggers *l)
{
    l->n = 0;
    for (size_t i = 0; i < sizeof CONFIGURED / sizeof CONFIGURED[0]; i++) {
        struct sim_logger *e = insert(l, CONFIGURED[i].name);
        if (e)
            set_entry(e, CONFIGURED[i].name, CONFIGURED[i].level, 0);
    }
}

const struct sim_logger *sim_loggers_find(const struct sim_loggers *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

const char *sim_loggers_level(const char *in)
{
    for (size_t i = 0; in && i < sizeof LEVELS / sizeof LEVELS[0]; i++)
        if (strcasecmp(in, LEVELS[i]) == 0)
            return LEVELS[i];
    return NULL;
}

int sim_loggers_set(struct sim_loggers *l, const char *ns, const char *level, int64_t now_ms,
                    json_t *affected)
{
    bool root = strcmp(ns, "root") == 0;
    /* A namespace that is no configured logger yet becomes one (log4j2 adds a LoggerConfig). */
    if (!sim_loggers_find(l, ns) && !insert(l, ns))
        return -1;
    /* Connect matches with String.startsWith, so "org.a" also covers "org.ab" (as real). */
    for (size_t i = 0; i < l->n; i++) {
        /* The root LoggerConfig is named "" in log4j2: only "root" itself reaches it. */
        bool is_root = strcmp(l->v[i].name, "root") == 0;
        if (!root && (is_root || strncmp(l->v[i].name, ns, strlen(ns)) != 0))
            continue;
        snprintf(l->v[i].level, sizeof l->v[i].level, "%s", level);
        l->v[i].last_modified = now_ms;
        if (affected)
            json_array_append_new(affected, json_string(l->v[i].name));
    }
    return 0;
}
