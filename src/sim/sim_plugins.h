/* sim_plugins.h — the plugins the simulated workers have installed, their config definitions
 * and Connect's config validation (ConfigInfos), as tables. */
#ifndef SIM_PLUGINS_H
#define SIM_PLUGINS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* What validate recommends for a key (ConfigValueInfo.recommended_values). */
enum sim_recommend {
    SIM_REC_NONE,
    SIM_REC_SELF,              /* the value itself: a plugin's one installed version */
    SIM_REC_CONVERTERS,        /* the installed converters */
    SIM_REC_HEADER_CONVERTERS, /* the installed header converters */
};

/* One ConfigDef key. Rows may stop after documentation: the rest then means order by
 * position in its group, width NONE, no worker default, nothing recommended, every version. */
struct sim_config_def {
    const char *name;
    const char *type;          /* BOOLEAN STRING INT LONG SHORT LIST CLASS PASSWORD */
    bool required;             /* no default at all (ConfigDef.NO_DEFAULT_VALUE) */
    const char *default_value; /* NULL = null default; SIM_PLUGIN_VERSION = the plugin's */
    const char *importance;    /* HIGH MEDIUM LOW */
    const char *group;         /* NULL: a plugin ConfigDef without groups */
    const char *display_name;
    const char *documentation;
    int order;                 /* as Connect numbers it; 0 = position in its group */
    const char *width;         /* NULL = NONE */
    /* The default validate shows, where the worker's config fills it in (converters, plugin
     * versions: SIM_PLUGIN_VERSION / SIM_KAFKA_VERSION); NULL = default_value. */
    const char *validate_default;
    enum sim_recommend recommend;
    int min_version;           /* first Kafka (major*100+minor) with the key; 0 = always */
};

/* Placeholders in default_value / validate_default, resolved per request. */
#define SIM_PLUGIN_VERSION "\x01plugin-version"
#define SIM_KAFKA_VERSION "\x01kafka-version"

/* The worker answering: its Kafka version as text and as major*100+minor. */
struct sim_worker_version {
    const char *text;
    int number;
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
json_t *sim_plugins_config_defs(const struct sim_plugin *p, struct sim_worker_version w);

/* Validates config (borrowed flat map) for plugin p; given_class is the connector.class as
 * the client wrote it. Returns a new ConfigInfos object; *error_count gets the error total.
 * When messages is non-NULL it gets a new array of every error message, in order. */
json_t *sim_plugins_validate(const struct sim_plugin *p, struct sim_worker_version w,
                             const char *given_class, const json_t *config, int *error_count,
                             json_t **messages);

#endif
