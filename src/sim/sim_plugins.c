/* sim_plugins.c — installed plugins and config validation. Tables over code: a plugin is its
 * class, type and config definitions; validation walks the definitions. */
#include "sim_plugins.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define END                                                                                        \
    {                                                                                              \
        NULL, NULL, false, NULL, NULL, NULL, NULL, NULL                                            \
    }

/* ConnectorConfig: every connector has these. */
static const struct sim_config_def common_defs[] = {
    {"name", "STRING", true, NULL, "HIGH", "Common", "Connector name",
     "Globally unique name to use for this connector."},
    {"connector.class", "STRING", true, NULL, "HIGH", "Common", "Connector class",
     "Name or alias of the class for this connector."},
    {"tasks.max", "INT", false, "1", "HIGH", "Common", "Tasks max",
     "Maximum number of tasks to use for this connector."},
    {"key.converter", "CLASS", false, NULL, "LOW", "Common", "Key converter class",
     "Converter class used to convert between Kafka Connect format and the serialized form."},
    {"value.converter", "CLASS", false, NULL, "LOW", "Common", "Value converter class",
     "Converter class used to convert between Kafka Connect format and the serialized form."},
    {"header.converter", "CLASS", false, NULL, "LOW", "Common", "Header converter class",
     "HeaderConverter class used to convert between Kafka Connect format and the serialized form."},
    {"config.action.reload", "STRING", false, "restart", "LOW", "Common", "Reload Action",
     "The action that Connect should take on the connector when changes in external "
     "configuration providers result in a change in the connector's configuration properties."},
    {"transforms", "LIST", false, "", "LOW", "Transforms", "Transforms",
     "Aliases for the transformations to be applied to records."},
    {"predicates", "LIST", false, "", "LOW", "Predicates", "Predicates",
     "Aliases for the predicates used by transformations."},
    {"errors.retry.timeout", "LONG", false, "0", "MEDIUM", "Error Handling",
     "Retry Timeout for Errors",
     "The maximum duration in milliseconds that a failed operation "
     "will be reattempted."},
    {"errors.tolerance", "STRING", false, "none", "MEDIUM", "Error Handling", "Error Tolerance",
     "Behavior for tolerating errors during connector operation. 'none' or 'all'."},
    {"errors.log.enable", "BOOLEAN", false, "false", "MEDIUM", "Error Handling", "Log Errors",
     "If true, write each error and the details of the failed operation to the Connect log."},
    END,
};

static const struct sim_config_def sink_defs[] = {
    {"topics", "LIST", false, "", "HIGH", "Common", "Topics",
     "List of topics to consume, separated by commas"},
    {"topics.regex", "STRING", false, "", "HIGH", "Common", "Topics regex",
     "Regular expression giving topics to consume."},
    {"errors.deadletterqueue.topic.name", "STRING", false, "", "MEDIUM", "Error Handling",
     "Dead Letter Queue Topic Name", "The name of the topic to be used as the DLQ."},
    END,
};

static const struct sim_config_def jdbc_source_defs[] = {
    {"connection.url", "STRING", true, NULL, "HIGH", "Database", "JDBC URL",
     "JDBC connection URL."},
    {"connection.user", "STRING", false, NULL, "HIGH", "Database", "JDBC User",
     "JDBC connection user."},
    {"connection.password", "PASSWORD", false, NULL, "HIGH", "Database", "JDBC Password",
     "JDBC connection password."},
    {"table.whitelist", "LIST", false, "", "MEDIUM", "Database", "Table Whitelist",
     "List of tables to include in copying."},
    {"mode", "STRING", false, "", "HIGH", "Mode", "Table Loading Mode",
     "The mode for updating a table each time it is polled."},
    {"topic.prefix", "STRING", true, NULL, "HIGH", "Connector", "Topic Prefix",
     "Prefix to prepend to table names to generate the name of the Kafka topic."},
    {"poll.interval.ms", "INT", false, "5000", "HIGH", "Connector", "Poll Interval (ms)",
     "Frequency in ms to poll for new data in each table."},
    END,
};

static const struct sim_config_def jdbc_sink_defs[] = {
    {"connection.url", "STRING", true, NULL, "HIGH", "Connection", "JDBC URL",
     "JDBC connection URL."},
    {"connection.user", "STRING", false, NULL, "HIGH", "Connection", "JDBC User",
     "JDBC connection user."},
    {"connection.password", "PASSWORD", false, NULL, "HIGH", "Connection", "JDBC Password",
     "JDBC connection password."},
    {"insert.mode", "STRING", false, "insert", "HIGH", "Writes", "Insert Mode",
     "The insertion mode to use."},
    {"pk.mode", "STRING", false, "none", "HIGH", "Data Mapping", "Primary Key Mode",
     "The primary key mode."},
    {"auto.create", "BOOLEAN", false, "false", "MEDIUM", "DDL Support", "Auto-Create",
     "Whether to automatically create the destination table."},
    END,
};

static const struct sim_config_def s3_sink_defs[] = {
    {"s3.bucket.name", "STRING", true, NULL, "HIGH", "S3", "S3 Bucket", "The S3 Bucket."},
    {"s3.region", "STRING", false, "us-west-2", "MEDIUM", "S3", "AWS region",
     "The AWS region to be used the connector."},
    {"aws.access.key.id", "STRING", false, "", "HIGH", "S3", "AWS Access Key ID",
     "The AWS access key ID used to authenticate personal AWS credentials."},
    {"aws.secret.access.key", "PASSWORD", false, "", "HIGH", "S3", "AWS Secret Access Key",
     "The secret access key used to authenticate personal AWS credentials."},
    {"flush.size", "INT", true, NULL, "HIGH", "Connector", "Flush Size",
     "Number of records written to store before invoking file commits."},
    {"storage.class", "CLASS", true, NULL, "HIGH", "Storage", "Storage Class",
     "The underlying storage layer."},
    {"format.class", "CLASS", true, NULL, "HIGH", "Connector", "Format class",
     "The format class to use when writing data to the store."},
    END,
};

static const struct sim_config_def file_source_defs[] = {
    {"file", "STRING", false, NULL, "HIGH", "", "file",
     "Source filename. If not specified, the standard input will be used"},
    {"topic", "LIST", true, NULL, "HIGH", "", "topic", "The topic to publish data to"},
    {"batch.size", "INT", false, "2000", "LOW", "", "batch.size",
     "The maximum number of records the source task can read from the file each time it is polled"},
    END,
};

static const struct sim_config_def file_sink_defs[] = {
    {"file", "STRING", false, NULL, "HIGH", "", "file",
     "Destination filename. If not specified, the standard output will be used"},
    END,
};

static const struct sim_config_def postgres_defs[] = {
    {"database.hostname", "STRING", true, NULL, "HIGH", "Connection", "Hostname",
     "Resolvable hostname or IP address of the database server."},
    {"database.port", "INT", false, "5432", "HIGH", "Connection", "Port",
     "Port of the database server."},
    {"database.user", "STRING", true, NULL, "HIGH", "Connection", "User",
     "Name of the database user to be used when connecting to the database."},
    {"database.password", "PASSWORD", false, NULL, "HIGH", "Connection", "Password",
     "Password of the database user to be used when connecting to the database."},
    {"database.dbname", "STRING", true, NULL, "HIGH", "Connection", "Database",
     "The name of the database from which the connector should capture changes"},
    {"topic.prefix", "STRING", true, NULL, "HIGH", "Connection", "Topic prefix",
     "Topic prefix that identifies and provides a namespace for the particular database server."},
    {"table.include.list", "LIST", false, NULL, "HIGH", "Filters", "Include Tables",
     "The tables for which changes are to be captured"},
    {"plugin.name", "STRING", false, "decoderbufs", "MEDIUM", "Connection", "Plugin",
     "The name of the Postgres logical decoding plugin installed on the server."},
    END,
};

static const struct sim_config_def datagen_defs[] = {
    {"kafka.topic", "STRING", true, NULL, "HIGH", "Datagen", "Kafka topic", "Topic to write to"},
    {"quickstart", "STRING", false, "", "MEDIUM", "Datagen", "Quickstart",
     "Name of quickstart to use"},
    {"max.interval", "LONG", false, "500", "MEDIUM", "Datagen", "Max interval",
     "Max interval between messages (ms)"},
    {"iterations", "INT", false, "-1", "MEDIUM", "Datagen", "Iterations",
     "Number of messages to send from each task, or less than 1 for unlimited"},
    END,
};

static const struct sim_config_def mirror_defs[] = {
    {"source.cluster.alias", "STRING", true, NULL, "HIGH", "", "source.cluster.alias",
     "Alias of source cluster"},
    {"target.cluster.alias", "STRING", false, "target", "HIGH", "", "target.cluster.alias",
     "Alias of target cluster. Used in metrics reporting."},
    END,
};

const struct sim_plugin sim_plugins[] = {
    {"io.confluent.connect.jdbc.JdbcSinkConnector", "sink", "10.7.6", jdbc_sink_defs},
    {"io.confluent.connect.jdbc.JdbcSourceConnector", "source", "10.7.6", jdbc_source_defs},
    {"io.confluent.connect.s3.S3SinkConnector", "sink", "10.5.13", s3_sink_defs},
    {"io.confluent.kafka.connect.datagen.DatagenConnector", "source", "0.6.5", datagen_defs},
    {"io.debezium.connector.postgresql.PostgresConnector", "source", "2.7.3.Final", postgres_defs},
    {"org.apache.kafka.connect.file.FileStreamSinkConnector", "sink", NULL, file_sink_defs},
    {"org.apache.kafka.connect.file.FileStreamSourceConnector", "source", NULL, file_source_defs},
    {"org.apache.kafka.connect.mirror.MirrorSourceConnector", "source", NULL, mirror_defs},
    /* The rest as a Kafka 4.1.1 worker lists them with connectorsOnly=false (recorded), in
     * its order: transformations, predicates, converters, header converters. */
    {"org.apache.kafka.connect.transforms.Cast$Key", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.Cast$Value", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.DropHeaders", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.ExtractField$Key", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.ExtractField$Value", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.Filter", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.Flatten$Key", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.Flatten$Value", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.HeaderFrom$Key", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.HeaderFrom$Value", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.HoistField$Key", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.HoistField$Value", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.InsertField$Key", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.InsertField$Value", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.InsertHeader", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.MaskField$Key", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.MaskField$Value", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.RegexRouter", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.ReplaceField$Key", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.ReplaceField$Value", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.SetSchemaMetadata$Key", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.SetSchemaMetadata$Value", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.TimestampConverter$Key", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.TimestampConverter$Value", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.TimestampRouter", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.ValueToKey", "transformation", NULL, NULL},
    {"org.apache.kafka.connect.transforms.predicates.HasHeaderKey", "predicate", NULL, NULL},
    {"org.apache.kafka.connect.transforms.predicates.RecordIsTombstone", "predicate", NULL, NULL},
    {"org.apache.kafka.connect.transforms.predicates.TopicNameMatches", "predicate", NULL, NULL},
    {"io.confluent.connect.avro.AvroConverter", "converter", "7.9.0", NULL},
    {"org.apache.kafka.connect.converters.BooleanConverter", "converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.ByteArrayConverter", "converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.DoubleConverter", "converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.FloatConverter", "converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.IntegerConverter", "converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.LongConverter", "converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.ShortConverter", "converter", NULL, NULL},
    {"org.apache.kafka.connect.json.JsonConverter", "converter", NULL, NULL},
    {"org.apache.kafka.connect.storage.StringConverter", "converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.BooleanConverter", "header_converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.ByteArrayConverter", "header_converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.DoubleConverter", "header_converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.FloatConverter", "header_converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.IntegerConverter", "header_converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.LongConverter", "header_converter", NULL, NULL},
    {"org.apache.kafka.connect.converters.ShortConverter", "header_converter", NULL, NULL},
    {"org.apache.kafka.connect.json.JsonConverter", "header_converter", NULL, NULL},
    {"org.apache.kafka.connect.storage.SimpleHeaderConverter", "header_converter", NULL, NULL},
    {"org.apache.kafka.connect.storage.StringConverter", "header_converter", NULL, NULL},
    {NULL, NULL, NULL, NULL},
};

static bool is_connector(const struct sim_plugin *p)
{
    return strcmp(p->type, "source") == 0 || strcmp(p->type, "sink") == 0;
}

const struct sim_plugin *sim_plugins_find_connector(const char *name)
{
    for (const struct sim_plugin *p = sim_plugins; p->cls; p++) {
        if (!is_connector(p))
            continue;
        const char *simple = strrchr(p->cls, '.');
        simple = simple ? simple + 1 : p->cls;
        size_t slen = strlen(simple);
        size_t alias_len =
            slen > 9 && strcmp(simple + slen - 9, "Connector") == 0 ? slen - 9 : slen;
        if (strcmp(name, p->cls) == 0 || strcmp(name, simple) == 0 ||
            (strlen(name) == alias_len && strncmp(name, simple, alias_len) == 0))
            return p;
    }
    return NULL;
}

/* Visits common, sink-only (for sinks) and the plugin's own definitions, in that order. */
typedef void (*def_visit)(const struct sim_config_def *d, int order, void *arg);

static void each_def(const struct sim_plugin *p, def_visit fn, void *arg)
{
    const struct sim_config_def *lists[3] = {
        common_defs, strcmp(p->type, "sink") == 0 ? sink_defs : NULL, p->defs};
    int order = 1;
    for (int l = 0; l < 3; l++)
        for (const struct sim_config_def *d = lists[l]; d && d->name; d++)
            fn(d, order++, arg);
}

static json_t *def_json(const struct sim_config_def *d, int order)
{
    return json_pack("{s:s,s:s,s:b,s:s?,s:s,s:s,s:s,s:i,s:s,s:s,s:[]}", "name", d->name, "type",
                     d->type, "required", d->required, "default_value", d->default_value,
                     "importance", d->importance, "documentation", d->documentation, "group",
                     d->group, "order", order, "width", "NONE", "display_name", d->display_name,
                     "dependents");
}

static void add_def(const struct sim_config_def *d, int order, void *arg)
{
    json_array_append_new(arg, def_json(d, order));
}

json_t *sim_plugins_config_defs(const struct sim_plugin *p)
{
    json_t *out = json_array();
    if (out)
        each_def(p, add_def, out);
    return out;
}

struct validation {
    const json_t *config;
    json_t *groups;
    json_t *configs;
    json_t *messages;
    int errors;
    bool sink;
};

static bool parses_int(const char *v, long long min, long long max)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    return *v && !*end && errno == 0 && n >= min && n <= max;
}

/* The ConfigDef-style error for value v of definition d, or "" when it is fine. */
static void check_value(const struct sim_config_def *d, const char *v, char *err, size_t cap)
{
    err[0] = '\0';
    if (!v) {
        if (d->required)
            snprintf(err, cap, "Missing required configuration \"%s\" which has no default value.",
                     d->name);
        return;
    }
    if (strcmp(d->type, "INT") == 0 && !parses_int(v, -2147483648LL, 2147483647LL))
        snprintf(err, cap, "Invalid value %s for configuration %s: Not a number of type INT", v,
                 d->name);
    else if (strcmp(d->type, "LONG") == 0 &&
             !parses_int(v, -9223372036854775807LL - 1, 9223372036854775807LL))
        snprintf(err, cap, "Invalid value %s for configuration %s: Not a number of type LONG", v,
                 d->name);
    else if (strcmp(d->type, "BOOLEAN") == 0 && strcasecmp(v, "true") != 0 &&
             strcasecmp(v, "false") != 0)
        snprintf(err, cap,
                 "Invalid value %s for configuration %s: Expected value to be either true or false",
                 v, d->name);
    else if (strcmp(d->name, "tasks.max") == 0 && strtol(v, NULL, 10) < 1)
        snprintf(err, cap, "Invalid value %s for configuration tasks.max: Value must be at least 1",
                 v);
    else if (strcmp(d->name, "errors.tolerance") == 0 && strcmp(v, "none") != 0 &&
             strcmp(v, "all") != 0)
        snprintf(err, cap,
                 "Invalid value %s for configuration errors.tolerance: String must be one of: "
                 "none, all",
                 v);
}

static void validate_def(const struct sim_config_def *d, int order, void *arg)
{
    struct validation *val = arg;
    const char *given = json_string_value(json_object_get(val->config, d->name));
    const char *v = given ? given : d->default_value;
    char err[512];
    check_value(d, given ? given : (d->required ? NULL : d->default_value), err, sizeof err);
    if (!err[0] && val->sink && strcmp(d->name, "topics") == 0) {
        const char *re = json_string_value(json_object_get(val->config, "topics.regex"));
        if ((!given || !*given) && (!re || !*re))
            snprintf(err, sizeof err, "Must configure one of topics or topics.regex");
    }
    json_t *errors = json_array();
    if (err[0]) {
        json_array_append_new(errors, json_string(err));
        if (val->messages)
            json_array_append_new(val->messages, json_string(err));
        val->errors++;
    }
    /* Connect never echoes a password: the value comes back as "[hidden]". */
    if (v && strcmp(d->type, "PASSWORD") == 0)
        v = "[hidden]";
    json_array_append_new(val->configs,
                          json_pack("{s:o,s:{s:s,s:s?,s:[],s:o,s:b}}", "definition",
                                    def_json(d, order), "value", "name", d->name, "value", v,
                                    "recommended_values", "errors", errors, "visible", 1));
    /* groups: distinct, in order of first appearance */
    bool seen = false;
    for (size_t i = 0; i < json_array_size(val->groups) && !seen; i++)
        seen = strcmp(json_string_value(json_array_get(val->groups, i)), d->group) == 0;
    if (!seen && d->group[0])
        json_array_append_new(val->groups, json_string(d->group));
}

json_t *sim_plugins_validate(const struct sim_plugin *p, const char *given_class,
                             const json_t *config, int *error_count, json_t **messages)
{
    struct validation val = {
        .config = config,
        .groups = json_array(),
        .configs = json_array(),
        .messages = messages ? json_array() : NULL,
        .sink = strcmp(p->type, "sink") == 0,
    };
    each_def(p, validate_def, &val);
    *error_count = val.errors;
    if (messages)
        *messages = val.messages;
    return json_pack("{s:s,s:i,s:o,s:o}", "name", given_class, "error_count", val.errors, "groups",
                     val.groups, "configs", val.configs);
}
