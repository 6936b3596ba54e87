/* sim_plugins.h — the plugins the simulated workers have installed, their config definitions
 * and Connect's config validation (ConfigInfos), as tables. */
#ifndef SIM_PLUGINS_H
#define SIM_PLUGINS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct sim_config_def {
    const char *name;
    const char *type;          /* BOOLEAN STRING INT LONG LIST CLASS PASSWORD */
    bool required;             /* no default at all (ConfigDef.NO_DEFAULT_VALUE) */
    const char *default_value; /* NULL = null default */
    const char *importance;    /* HIGH MEDIUM LOW */
    const char *group;
    const char *display_name;
    const char *documentation;
};

struct sim_plugin {
    const char *cls;
    const char *type;    /* source sink converter header_converter transformation predicate */
    const char *version; /* NULL = the Kafka version of the worker */
    const struct sim_config_def *defs; /* plugin-specific connector configs, NULL-terminated */
};

/* Connector plugins first, then the rest; NULL-terminated. */
extern const struct sim_plugin sim_plugins[];

/* Finds a connector plugin by class, simple name or alias (simple name minus "Connector").
 * Returns a static entry or NULL. */
const struct sim_plugin *sim_plugins_find_connector(const char *name);

/* GET /connector-plugins/{p}/config: new JSON array of definitions. */
json_t *sim_plugins_config_defs(const struct sim_plugin *p);

/* Validates config (borrowed flat map) for plugin p; given_class is the connector.class as
 * the client wrote it. Returns a new ConfigInfos object; *error_count gets the error total.
 * When messages is non-NULL it gets a new array of every error message, in order. */
json_t *sim_plugins_validate(const struct sim_plugin *p, const char *given_class,
                             const json_t *config, int *error_count, json_t **messages);

#endif
