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
        NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, SIM_REC_NONE, 0            \
    }
/* The tail of a row in the sim's own plugin tables: ordered by position, no width. */
#define PLAIN 0, NULL, NULL, SIM_REC_NONE, 0
#define PLUGIN_VERSION SIM_PLUGIN_VERSION
#define KAFKA_VERSION SIM_KAFKA_VERSION

/* ConnectorConfig: every connector has these. */
/* ConnectorConfig, SourceConnectorConfig and SinkConnectorConfig as Kafka 4.1.1 defines them
 * (ported from the recorded /config and validate answers: texts, orders, widths). */
static const struct sim_config_def common_defs[] = {
    {"name", "STRING", true, NULL, "HIGH", "Common", "Connector name",
     "Globally unique name to use for this connector.",
     1, "MEDIUM", NULL, SIM_REC_NONE, 0},
    {"connector.class", "STRING", true, NULL, "HIGH", "Common", "Connector class",
     "Name or alias of the class for this connector. Must be a subclass of "
     "org.apache.kafka.connect.connector.Connector. If the connector is "
     "org.apache.kafka.connect.file.FileStreamSinkConnector, you can either specify this "
     "full name,  or use \"FileStreamSink\" or \"FileStreamSinkConnector\" to make the "
     "configuration a bit shorter",
     2, "LONG", NULL, SIM_REC_NONE, 0},
    {"connector.plugin.version", "STRING", false, PLUGIN_VERSION, "MEDIUM", "Common", "Connector version",
     "Version of the connector.",
     3, "MEDIUM", PLUGIN_VERSION, SIM_REC_SELF, 401},
    {"tasks.max", "INT", false, "1", "HIGH", "Common", "Tasks max",
     "Maximum number of tasks to use for this connector.",
     4, "SHORT", NULL, SIM_REC_NONE, 0},
    {"tasks.max.enforce", "BOOLEAN", false, "true", "LOW", "Common", "Enforce tasks max",
     "(Deprecated) Whether to enforce that the tasks.max property is respected by the "
     "connector. By default, connectors that generate too many tasks will fail, and "
     "existing sets of tasks that exceed the tasks.max property will also be failed. If "
     "this property is set to false, then connectors will be allowed to generate more than"
     " the maximum number of tasks, and existing sets of tasks that exceed the tasks.max "
     "property will be allowed to run. This property is deprecated and will be removed in "
     "an upcoming major release.",
     5, "SHORT", NULL, SIM_REC_NONE, 308},
    {"key.converter", "CLASS", false, NULL, "LOW", "Common", "Key converter class",
     "Converter class used to convert between Kafka Connect format and the serialized form"
     " that is written to Kafka. This controls the format of the keys in messages written "
     "to or read from Kafka, and since this is independent of connectors it allows any "
     "connector to work with any serialization format. Examples of common formats include "
     "JSON and Avro.",
     6, "SHORT", "org.apache.kafka.connect.json.JsonConverter", SIM_REC_CONVERTERS, 0},
    {"key.converter.plugin.version", "STRING", false, NULL, "LOW", "Common", "Key converter version",
     "Version of the key converter.",
     7, "SHORT", KAFKA_VERSION, SIM_REC_SELF, 401},
    {"value.converter", "CLASS", false, NULL, "LOW", "Common", "Value converter class",
     "Converter class used to convert between Kafka Connect format and the serialized form"
     " that is written to Kafka. This controls the format of the values in messages "
     "written to or read from Kafka, and since this is independent of connectors it allows"
     " any connector to work with any serialization format. Examples of common formats "
     "include JSON and Avro.",
     8, "SHORT", "org.apache.kafka.connect.json.JsonConverter", SIM_REC_CONVERTERS, 0},
    {"value.converter.plugin.version", "STRING", false, NULL, "LOW", "Common", "Value converter version",
     "Version of the value converter.",
     9, "SHORT", KAFKA_VERSION, SIM_REC_SELF, 401},
    {"header.converter", "CLASS", false, NULL, "LOW", "Common", "Header converter class",
     "HeaderConverter class used to convert between Kafka Connect format and the "
     "serialized form that is written to Kafka. This controls the format of the header "
     "values in messages written to or read from Kafka, and since this is independent of "
     "connectors it allows any connector to work with any serialization format. Examples "
     "of common formats include JSON and Avro. By default, the SimpleHeaderConverter is "
     "used to serialize header values to strings and deserialize them by inferring the "
     "schemas.",
     10, "SHORT", "org.apache.kafka.connect.storage.SimpleHeaderConverter", SIM_REC_HEADER_CONVERTERS, 0},
    {"header.converter.plugin.version", "STRING", false, NULL, "LOW", "Common", "Header converter version",
     "Version of the header converter.",
     11, "SHORT", KAFKA_VERSION, SIM_REC_SELF, 401},
    {"transforms", "LIST", false, "", "LOW", "Transforms", "Transforms",
     "Aliases for the transformations to be applied to records.",
     12, "LONG", NULL, SIM_REC_NONE, 0},
    {"predicates", "LIST", false, "", "LOW", "Predicates", "Predicates",
     "Aliases for the predicates used by transformations.",
     13, "LONG", NULL, SIM_REC_NONE, 0},
    {"config.action.reload", "STRING", false, "restart", "LOW", "Common", "Reload Action",
     "The action that Connect should take on the connector when changes in external "
     "configuration providers result in a change in the connector's configuration "
     "properties. A value of 'none' indicates that Connect will do nothing. A value of "
     "'restart' indicates that Connect should restart/reload the connector with the "
     "updated configuration properties.The restart may actually be scheduled in the future"
     " if the external configuration provider indicates that a configuration value will "
     "expire in the future.",
     14, "MEDIUM", NULL, SIM_REC_NONE, 0},
    {"errors.retry.timeout", "LONG", false, "0", "MEDIUM", "Error Handling", "Retry Timeout for Errors",
     "The maximum duration in milliseconds that a failed operation will be reattempted. "
     "The default is 0, which means no retries will be attempted. Use -1 for infinite "
     "retries.",
     1, "MEDIUM", NULL, SIM_REC_NONE, 0},
    {"errors.retry.delay.max.ms", "LONG", false, "60000", "MEDIUM", "Error Handling", "Maximum Delay Between Retries for Errors",
     "The maximum duration in milliseconds between consecutive retry attempts. Jitter will"
     " be added to the delay once this limit is reached to prevent thundering herd issues.",
     2, "MEDIUM", NULL, SIM_REC_NONE, 0},
    {"errors.tolerance", "STRING", false, "none", "MEDIUM", "Error Handling", "Error Tolerance",
     "Behavior for tolerating errors during connector operation. 'none' is the default "
     "value and signals that any error will result in an immediate connector task failure;"
     " 'all' changes the behavior to skip over problematic records.",
     3, "SHORT", NULL, SIM_REC_NONE, 0},
    {"errors.log.enable", "BOOLEAN", false, "false", "MEDIUM", "Error Handling", "Log Errors",
     "If true, write each error and the details of the failed operation and problematic "
     "record to the Connect application log. This is 'false' by default, so that only "
     "errors that are not tolerated are reported.",
     4, "SHORT", NULL, SIM_REC_NONE, 0},
    {"errors.log.include.messages", "BOOLEAN", false, "false", "MEDIUM", "Error Handling", "Log Error Details",
     "Whether to include in the log the Connect record that resulted in a failure. For "
     "sink records, the topic, partition, offset, and timestamp will be logged. For source"
     " records, the key and value (and their schemas), all headers, and the timestamp, "
     "Kafka topic, Kafka partition, source partition, and source offset will be logged. "
     "This is 'false' by default, which will prevent record keys, values, and headers from"
     " being written to log files.",
     5, "SHORT", NULL, SIM_REC_NONE, 0},
    END,
};

static const struct sim_config_def source_defs[] = {
    {"topic.creation.groups", "LIST", false, "", "LOW", "Topic Creation", "Topic Creation Groups",
     "Groups of configurations for topics created by source connectors",
     1, "LONG", NULL, SIM_REC_NONE, 206},
    {"exactly.once.support", "STRING", false, "requested", "MEDIUM", "Exactly Once Support", "Exactly once support",
     "Permitted values are requested, required. If set to \"required\", forces a preflight"
     " check for the connector to ensure that it can provide exactly-once semantics with "
     "the given configuration. Some connectors may be capable of providing exactly-once "
     "semantics but not signal to Connect that they support this; in that case, "
     "documentation for the connector should be consulted carefully before creating it, "
     "and the value for this property should be set to \"requested\". Additionally, if the"
     " value is set to \"required\" but the worker that performs preflight validation does"
     " not have exactly-once support enabled for source connectors, requests to create or "
     "validate the connector will fail.",
     2, "SHORT", NULL, SIM_REC_NONE, 303},
    {"transaction.boundary", "STRING", false, "poll", "MEDIUM", "Exactly Once Support", "Transaction Boundary",
     "Permitted values are: poll, interval, connector. If set to 'poll', a new producer "
     "transaction will be started and committed for every batch of records that each task "
     "from this connector provides to Connect. If set to 'connector', relies on "
     "connector-defined transaction boundaries; note that not all connectors are capable "
     "of defining their own transaction boundaries, and in that case, attempts to "
     "instantiate a connector with this value will fail. Finally, if set to 'interval', "
     "commits transactions only after a user-defined time interval has passed.",
     3, "SHORT", NULL, SIM_REC_NONE, 303},
    {"transaction.boundary.interval.ms", "LONG", false, NULL, "LOW", "Exactly Once Support", "Transaction boundary interval",
     "If 'transaction.boundary' is set to 'interval', determines the interval for producer"
     " transaction commits by connector tasks. If unset, defaults to the value of the "
     "worker-level 'offset.flush.interval.ms' property. It has no effect if a different "
     "transaction.boundary is specified.",
     4, "SHORT", NULL, SIM_REC_NONE, 303},
    {"offsets.storage.topic", "STRING", false, NULL, "LOW", "offsets.topic", "Offsets topic",
     "The name of a separate offsets topic to use for this connector. If empty or not "
     "specified, the worker’s global offsets topic name will be used. If specified, the "
     "offsets topic will be created if it does not already exist on the Kafka cluster "
     "targeted by this connector (which may be different from the one used for the "
     "worker's global offsets topic if the bootstrap.servers property of the connector's "
     "producer has been overridden from the worker's). Only applicable in distributed "
     "mode; in standalone mode, setting this property will have no effect.",
     1, "LONG", NULL, SIM_REC_NONE, 305},
    END,
};

static const struct sim_config_def sink_defs[] = {
    {"topics", "LIST", false, "", "HIGH", "Common", "Topics",
     "List of topics to consume, separated by commas",
     4, "LONG", NULL, SIM_REC_NONE, 0},
    {"topics.regex", "STRING", false, "", "HIGH", "Common", "Topics regex",
     "Regular expression giving topics to consume. Under the hood, the regex is compiled "
     "to a <code>java.util.regex.Pattern</code>. Only one of topics or topics.regex should"
     " be specified.",
     4, "LONG", NULL, SIM_REC_NONE, 0},
    {"errors.deadletterqueue.topic.name", "STRING", false, "", "MEDIUM", "Error Handling", "Dead Letter Queue Topic Name",
     "The name of the topic to be used as the dead letter queue (DLQ) for messages that "
     "result in an error when processed by this sink connector, or its transformations or "
     "converters. The topic name is blank by default, which means that no messages are to "
     "be recorded in the DLQ.",
     6, "MEDIUM", NULL, SIM_REC_NONE, 0},
    {"errors.deadletterqueue.topic.replication.factor", "SHORT", false, "3", "MEDIUM", "Error Handling", "Dead Letter Queue Topic Replication Factor",
     "Replication factor used to create the dead letter queue topic when it doesn't "
     "already exist.",
     7, "MEDIUM", NULL, SIM_REC_NONE, 0},
    {"errors.deadletterqueue.context.headers.enable", "BOOLEAN", false, "false", "MEDIUM", "Error Handling", "Enable Error Context Headers",
     "If true, add headers containing error context to the messages written to the dead "
     "letter queue. To avoid clashing with headers from the original record, all error "
     "context header keys, all error context header keys will start with "
     "<code>__connect.errors.</code>",
     8, "MEDIUM", NULL, SIM_REC_NONE, 201},
    END,
};
static const struct sim_config_def jdbc_source_defs[] = {
    {"connection.url", "STRING", true, NULL, "HIGH", "Database", "JDBC URL",
     "JDBC connection URL.", PLAIN},
    {"connection.user", "STRING", false, NULL, "HIGH", "Database", "JDBC User",
     "JDBC connection user.", PLAIN},
    {"connection.password", "PASSWORD", false, NULL, "HIGH", "Database", "JDBC Password",
     "JDBC connection password.", PLAIN},
    {"table.whitelist", "LIST", false, "", "MEDIUM", "Database", "Table Whitelist",
     "List of tables to include in copying.", PLAIN},
    {"mode", "STRING", false, "", "HIGH", "Mode", "Table Loading Mode",
     "The mode for updating a table each time it is polled.", PLAIN},
    {"topic.prefix", "STRING", true, NULL, "HIGH", "Connector", "Topic Prefix",
     "Prefix to prepend to table names to generate the name of the Kafka topic.", PLAIN},
    {"poll.interval.ms", "INT", false, "5000", "HIGH", "Connector", "Poll Interval (ms)",
     "Frequency in ms to poll for new data in each table.", PLAIN},
    END,
};

static const struct sim_config_def jdbc_sink_defs[] = {
    {"connection.url", "STRING", true, NULL, "HIGH", "Connection", "JDBC URL",
     "JDBC connection URL.", PLAIN},
    {"connection.user", "STRING", false, NULL, "HIGH", "Connection", "JDBC User",
     "JDBC connection user.", PLAIN},
    {"connection.password", "PASSWORD", false, NULL, "HIGH", "Connection", "JDBC Password",
     "JDBC connection password.", PLAIN},
    {"insert.mode", "STRING", false, "insert", "HIGH", "Writes", "Insert Mode",
     "The insertion mode to use.", PLAIN},
    {"pk.mode", "STRING", false, "none", "HIGH", "Data Mapping", "Primary Key Mode",
     "The primary key mode.", PLAIN},
    {"auto.create", "BOOLEAN", false, "false", "MEDIUM", "DDL Support", "Auto-Create",
     "Whether to automatically create the destination table.", PLAIN},
    END,
};

static const struct sim_config_def s3_sink_defs[] = {
    {"s3.bucket.name", "STRING", true, NULL, "HIGH", "S3", "S3 Bucket", "The S3 Bucket.", PLAIN},
    {"s3.region", "STRING", false, "us-west-2", "MEDIUM", "S3", "AWS region",
     "The AWS region to be used the connector.", PLAIN},
    {"aws.access.key.id", "STRING", false, "", "HIGH", "S3", "AWS Access Key ID",
     "The AWS access key ID used to authenticate personal AWS credentials.", PLAIN},
    {"aws.secret.access.key", "PASSWORD", false, "", "HIGH", "S3", "AWS Secret Access Key",
     "The secret access key used to authenticate personal AWS credentials.", PLAIN},
    {"flush.size", "INT", true, NULL, "HIGH", "Connector", "Flush Size",
     "Number of records written to store before invoking file commits.", PLAIN},
    {"storage.class", "CLASS", true, NULL, "HIGH", "Storage", "Storage Class",
     "The underlying storage layer.", PLAIN},
    {"format.class", "CLASS", true, NULL, "HIGH", "Connector", "Format class",
     "The format class to use when writing data to the store.", PLAIN},
    END,
};

/* FileStream's ConfigDefs have no groups: order -1 (recorded). */
static const struct sim_config_def file_source_defs[] = {
    {"file", "STRING", false, NULL, "HIGH", NULL, "file",
     "Source filename. If not specified, the standard input will be used",
     -1, "NONE", NULL, SIM_REC_NONE, 0},
    {"topic", "STRING", true, NULL, "HIGH", NULL, "topic",
     "The topic to publish data to",
     -1, "NONE", NULL, SIM_REC_NONE, 0},
    {"batch.size", "INT", false, "2000", "LOW", NULL, "batch.size",
     "The maximum number of records the source task can read from the file each time it is"
     " polled",
     -1, "NONE", NULL, SIM_REC_NONE, 0},
    END,
};

static const struct sim_config_def file_sink_defs[] = {
    {"file", "STRING", false, NULL, "HIGH", NULL, "file",
     "Destination filename. If not specified, the standard output will be used",
     -1, "NONE", NULL, SIM_REC_NONE, 0},
    END,
};

/* StringConverterConfig: validate lists it under key.converter./value.converter. when given. */
static const struct sim_config_def string_converter_defs[] = {
    {"converter.type", "STRING", true, NULL, "LOW", NULL, "converter.type",
     "How this converter will be used.",
     -1, "NONE", NULL, SIM_REC_NONE, 0},
    {"converter.encoding", "STRING", false, "UTF-8", "HIGH", NULL, "Encoding",
     "The name of the Java character set to use for encoding strings as byte arrays.",
     -1, "MEDIUM", NULL, SIM_REC_NONE, 0},
    END,
};

static const struct sim_config_def postgres_defs[] = {
    {"database.hostname", "STRING", true, NULL, "HIGH", "Connection", "Hostname",
     "Resolvable hostname or IP address of the database server.", PLAIN},
    {"database.port", "INT", false, "5432", "HIGH", "Connection", "Port",
     "Port of the database server.", PLAIN},
    {"database.user", "STRING", true, NULL, "HIGH", "Connection", "User",
     "Name of the database user to be used when connecting to the database.", PLAIN},
    {"database.password", "PASSWORD", false, NULL, "HIGH", "Connection", "Password",
     "Password of the database user to be used when connecting to the database.", PLAIN},
    {"database.dbname", "STRING", true, NULL, "HIGH", "Connection", "Database",
     "The name of the database from which the connector should capture changes", PLAIN},
    {"topic.prefix", "STRING", true, NULL, "HIGH", "Connection", "Topic prefix",
     "Topic prefix that identifies and provides a namespace for the particular database server.", PLAIN},
    {"table.include.list", "LIST", false, NULL, "HIGH", "Filters", "Include Tables",
     "The tables for which changes are to be captured", PLAIN},
    {"plugin.name", "STRING", false, "decoderbufs", "MEDIUM", "Connection", "Plugin",
     "The name of the Postgres logical decoding plugin installed on the server.", PLAIN},
    END,
};

static const struct sim_config_def datagen_defs[] = {
    {"kafka.topic", "STRING", true, NULL, "HIGH", "Datagen", "Kafka topic", "Topic to write to", PLAIN},
    {"quickstart", "STRING", false, "", "MEDIUM", "Datagen", "Quickstart",
     "Name of quickstart to use", PLAIN},
    {"max.interval", "LONG", false, "500", "MEDIUM", "Datagen", "Max interval",
     "Max interval between messages (ms)", PLAIN},
    {"iterations", "INT", false, "-1", "MEDIUM", "Datagen", "Iterations",
     "Number of messages to send from each task, or less than 1 for unlimited", PLAIN},
    END,
};

static const struct sim_config_def mirror_defs[] = {
    {"source.cluster.alias", "STRING", true, NULL, "HIGH", "", "source.cluster.alias",
     "Alias of source cluster", PLAIN},
    {"target.cluster.alias", "STRING", false, "target", "HIGH", "", "target.cluster.alias",
     "Alias of target cluster. Used in metrics reporting.", PLAIN},
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

/* Per request: which plugin, which worker, and whether validate is asking. */
struct def_ctx {
    const struct sim_plugin *p;
    struct sim_worker_version w;
    bool validating;
    const char *prefix; /* "key.converter." for a converter's own keys, else "" */
    int group_pos[8];   /* order 0: positions handed out per group so far */
    const char *groups[8];
};

typedef void (*def_visit)(const struct sim_config_def *d, struct def_ctx *ctx, void *arg);

static void visit_list(const struct sim_config_def *list, struct def_ctx *ctx, def_visit fn,
                       void *arg)
{
    for (const struct sim_config_def *d = list; d && d->name; d++)
        if (d->min_version <= ctx->w.number)
            fn(d, ctx, arg);
}

/* The connector-level lists: ConnectorConfig, then the source or sink additions. */
static void visit_connector(struct def_ctx *ctx, def_visit fn, void *arg)
{
    visit_list(common_defs, ctx, fn, arg);
    visit_list(strcmp(ctx->p->type, "sink") == 0 ? sink_defs : source_defs, ctx, fn, arg);
}

/* Kafka 4.1: /config lists the plugin's own ConfigDef first, validate lists it after the
 * connector-level keys (both recorded). */
static void each_def(struct def_ctx *ctx, def_visit fn, void *arg)
{
    if (!ctx->validating)
        visit_list(ctx->p->defs, ctx, fn, arg);
    visit_connector(ctx, fn, arg);
    if (ctx->validating)
        visit_list(ctx->p->defs, ctx, fn, arg);
}

static const char *resolve(const char *v, const struct def_ctx *ctx)
{
    if (v && strcmp(v, SIM_PLUGIN_VERSION) == 0)
        return ctx->p->version ? ctx->p->version : ctx->w.text;
    if (v && strcmp(v, SIM_KAFKA_VERSION) == 0)
        return ctx->w.text;
    return v;
}

/* The default shown: validate sees the worker's fill-ins (converters, versions). */
static const char *def_default(const struct sim_config_def *d, const struct def_ctx *ctx)
{
    return resolve(ctx->validating && d->validate_default ? d->validate_default
                                                          : d->default_value,
                   ctx);
}

static int def_order(const struct sim_config_def *d, struct def_ctx *ctx)
{
    if (d->order || !d->group)
        return d->group ? d->order : -1;
    size_t i = 0;
    while (i < 8 && ctx->groups[i] && strcmp(ctx->groups[i], d->group) != 0)
        i++;
    if (i == 8)
        return 1;
    ctx->groups[i] = d->group;
    return ++ctx->group_pos[i];
}

static json_t *def_json(const struct sim_config_def *d, struct def_ctx *ctx)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", ctx->prefix, d->name);
    return json_pack("{s:s,s:s,s:b,s:s?,s:s,s:s,s:s?,s:i,s:s,s:s,s:[]}", "name", name, "type",
                     d->type, "required", d->required, "default_value", def_default(d, ctx),
                     "importance", d->importance, "documentation", d->documentation, "group",
                     d->group, "order", def_order(d, ctx), "width",
                     d->width ? d->width : "NONE", "display_name", d->display_name,
                     "dependents");
}

static void add_def(const struct sim_config_def *d, struct def_ctx *ctx, void *arg)
{
    json_array_append_new(arg, def_json(d, ctx));
}

json_t *sim_plugins_config_defs(const struct sim_plugin *p, struct sim_worker_version w)
{
    struct def_ctx ctx = {.p = p, .w = w, .prefix = ""};
    json_t *out = json_array();
    if (out)
        each_def(&ctx, add_def, out);
    return out;
}

/* Installed classes of one plugin type, sorted, each twice: the recorded 4.1 worker lists
 * every converter twice in recommended_values. New array. */
static json_t *classes_of(const char *type)
{
    const char *cls[64];
    size_t n = 0;
    for (const struct sim_plugin *p = sim_plugins; p->cls && n < 64; p++)
        if (strcmp(p->type, type) == 0)
            cls[n++] = p->cls;
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && strcmp(cls[k - 1], cls[k]) > 0; k--) {
            const char *t = cls[k];
            cls[k] = cls[k - 1];
            cls[k - 1] = t;
        }
    json_t *out = json_array();
    for (size_t i = 0; i < n && out; i++) {
        json_array_append_new(out, json_string(cls[i]));
        json_array_append_new(out, json_string(cls[i]));
    }
    return out;
}

static json_t *recommended(const struct sim_config_def *d, const char *value)
{
    switch (d->recommend) {
    case SIM_REC_SELF:
        return value ? json_pack("[s]", value) : json_array();
    case SIM_REC_CONVERTERS:
        return classes_of("converter");
    case SIM_REC_HEADER_CONVERTERS:
        return classes_of("header_converter");
    case SIM_REC_NONE:
        break;
    }
    return json_array();
}

struct validation {
    const json_t *config;
    json_t *groups;
    json_t *configs;
    json_t *messages;
    int errors;
    bool sink;
    const char *forced;      /* value of a converter's converter.type, set by Connect */
};

static bool parses_int(const char *v, long long min, long long max)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    return *v && !*end && errno == 0 && n >= min && n <= max;
}

/* The ConfigDef-style error for value v of definition d, or "" when it is fine. Returns true
 * when v did not parse as the type (ConfigDef then reports the value as null). */
static bool check_value(const struct sim_config_def *d, const char *v, char *err, size_t cap)
{
    err[0] = '\0';
    if (!v) {
        if (d->required)
            snprintf(err, cap, "Missing required configuration \"%s\" which has no default value.",
                     d->name);
        return false;
    }
    if (strcmp(d->type, "INT") == 0 && !parses_int(v, -2147483648LL, 2147483647LL))
        snprintf(err, cap, "Invalid value %s for configuration %s: Not a number of type INT", v,
                 d->name);
    else if (strcmp(d->type, "SHORT") == 0 && !parses_int(v, -32768, 32767))
        snprintf(err, cap, "Invalid value %s for configuration %s: Not a number of type SHORT", v,
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
    if (err[0])
        return true;
    if (strcmp(d->name, "tasks.max") == 0 && strtol(v, NULL, 10) < 1)
        snprintf(err, cap, "Invalid value %s for configuration tasks.max: Value must be at least 1",
                 v);
    else if (strcmp(d->name, "errors.tolerance") == 0 && strcmp(v, "none") != 0 &&
             strcmp(v, "all") != 0)
        snprintf(err, cap,
                 "Invalid value %s for configuration errors.tolerance: String must be one of: "
                 "none, all",
                 v);
    return false;
}

/* Converters with their own ConfigDef; validate adds its keys under the converter's key. */
static const struct {
    const char *cls;
    const struct sim_config_def *defs;
} CONVERTER_DEFS[] = {
    {"org.apache.kafka.connect.storage.StringConverter", string_converter_defs},
};

static void validate_def(const struct sim_config_def *d, struct def_ctx *ctx, void *arg)
{
    struct validation *val = arg;
    char name[256];
    snprintf(name, sizeof name, "%s%s", ctx->prefix, d->name);
    const char *given = val->forced ? val->forced : json_string_value(json_object_get(val->config, name));
    const char *dflt = def_default(d, ctx);
    const char *v = given ? given : dflt;
    char err[512];
    bool unparsed = check_value(d, given ? given : (d->required ? NULL : dflt), err, sizeof err);
    if (!err[0] && val->sink && strcmp(d->name, "topics") == 0 && !*ctx->prefix) {
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
    if (unparsed) /* ConfigDef keeps no value for what it could not parse (recorded) */
        v = NULL;
    /* Connect never echoes a password: the value comes back as "[hidden]". */
    if (v && strcmp(d->type, "PASSWORD") == 0)
        v = "[hidden]";
    json_array_append_new(val->configs,
                          json_pack("{s:o,s:{s:s,s:s?,s:o,s:o,s:b}}", "definition",
                                    def_json(d, ctx), "value", "name", name, "value", v,
                                    "recommended_values", recommended(d, v), "errors", errors,
                                    "visible", 1));
    /* groups: distinct, in order of first appearance */
    bool seen = !d->group;
    for (size_t i = 0; i < json_array_size(val->groups) && !seen; i++)
        seen = strcmp(json_string_value(json_array_get(val->groups, i)), d->group) == 0;
    if (!seen && d->group[0])
        json_array_append_new(val->groups, json_string(d->group));
}

/* A converter named in the config brings its own keys: "key.converter.converter.type" and so
 * on, converter.type set by Connect to "key"/"value" (recorded for StringConverter). */
static void validate_converter(struct def_ctx *ctx, struct validation *val, const char *key,
                               const char *type)
{
    const char *cls = json_string_value(json_object_get(val->config, key));
    char prefix[64];
    for (size_t i = 0; cls && i < sizeof CONVERTER_DEFS / sizeof CONVERTER_DEFS[0]; i++) {
        if (strcmp(cls, CONVERTER_DEFS[i].cls) != 0)
            continue;
        snprintf(prefix, sizeof prefix, "%s.", key);
        struct def_ctx sub = *ctx;
        sub.prefix = prefix;
        for (const struct sim_config_def *d = CONVERTER_DEFS[i].defs; d->name; d++) {
            val->forced = strcmp(d->name, "converter.type") == 0 ? type : NULL;
            validate_def(d, &sub, val);
        }
        val->forced = NULL;
    }
}

json_t *sim_plugins_validate(const struct sim_plugin *p, struct sim_worker_version w,
                             const char *given_class, const json_t *config, int *error_count,
                             json_t **messages)
{
    struct def_ctx ctx = {.p = p, .w = w, .validating = true, .prefix = ""};
    struct validation val = {
        .config = config,
        .groups = json_array(),
        .configs = json_array(),
        .messages = messages ? json_array() : NULL,
        .sink = strcmp(p->type, "sink") == 0,
    };
    each_def(&ctx, validate_def, &val);
    validate_converter(&ctx, &val, "key.converter", "key");
    validate_converter(&ctx, &val, "value.converter", "value");
    *error_count = val.errors;
    if (messages)
        *messages = val.messages;
    return json_pack("{s:s,s:i,s:o,s:o}", "name", given_class, "error_count", val.errors, "groups",
                     val.groups, "configs", val.configs);
}
