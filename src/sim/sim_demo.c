/* sim_demo.c — the cluster the simulator starts with: hand-written demo connectors that hit
 * every naming and state trap of WIRE.md, or N generated ones for load tests. */
#include "sim.h"
#include "sim_plugins.h"

#include <stdio.h>
#include <string.h>

struct demo_connector {
    const char *name;
    enum sim_state state;
    const char *config; /* JSON; every config carries secrets among ordinary keys */
};

static const struct demo_connector DEMO[] = {
    {"orders-src", SIM_RUNNING,
     "{\"connector.class\":\"io.confluent.connect.jdbc.JdbcSourceConnector\",\"tasks.max\":\"2\","
     "\"connection.url\":\"jdbc:postgresql://db.internal:5432/shop\",\"connection.user\":\"etl\","
     "\"connection.password\":\"s3cr3t-orders-pw\",\"mode\":\"incrementing\","
     "\"incrementing.column.name\":\"id\",\"table.whitelist\":\"orders,order_items\","
     "\"topic.prefix\":\"\",\"key.converter\":\"org.apache.kafka.connect.storage.StringConverter\","
     "\"value.converter\":\"io.confluent.connect.avro.AvroConverter\","
     "\"value.converter.schema.registry.url\":\"http://schema-registry:8081\","
     "\"value.converter.basic.auth.user.info\":\"sr-user:sr-pass-123\","
     "\"producer.override.sasl.jaas.config\":\"org.apache.kafka.common.security.plain."
     "PlainLoginModule required username=\\\"orders\\\" password=\\\"kafka-pw-1\\\";\"}"},
    {"orders-sink", SIM_RUNNING,
     "{\"connector.class\":\"io.confluent.connect.s3.S3SinkConnector\",\"tasks.max\":\"2\","
     "\"topics\":\"orders,orders.eu\",\"s3.bucket.name\":\"acme-orders\",\"s3.region\":"
     "\"eu-west-1\",\"aws.access.key.id\":\"AKIAEXAMPLEKEY\",\"aws.secret.access.key\":"
     "\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\"flush.size\":\"1000\",\"storage.class\":"
     "\"io.confluent.connect.s3.storage.S3Storage\",\"format.class\":"
     "\"io.confluent.connect.s3.format.json.JsonFormat\",\"key.converter\":"
     "\"org.apache.kafka.connect.storage.StringConverter\",\"value.converter\":"
     "\"org.apache.kafka.connect.json.JsonConverter\",\"consumer.override.ssl.truststore."
     "password\":\"truststore-pw\",\"consumer.override.ssl.truststore.location\":"
     "\"/etc/kafka/secrets/truststore.jks\"}"},
    {"payments-jdbc", SIM_RUNNING,
     "{\"connector.class\":\"io.confluent.connect.jdbc.JdbcSourceConnector\",\"tasks.max\":\"2\","
     "\"connection.url\":\"jdbc:mysql://payments-db:3306/payments\",\"connection.user\":"
     "\"payments\",\"connection.password\":\"pay-db-pw\",\"database.password\":\"pay-db-pw\","
     "\"mode\":\"timestamp\",\"timestamp.column.name\":\"updated_at\",\"table.whitelist\":"
     "\"payments\",\"topic.prefix\":\"pg-\",\"key.converter\":"
     "\"org.apache.kafka.connect.json.JsonConverter\",\"value.converter\":"
     "\"org.apache.kafka.connect.json.JsonConverter\",\"ssl.truststore.password\":\"ts-pw-2\"}"},
    {"orders-src-2", SIM_RUNNING,
     "{\"connector.class\":\"io.confluent.connect.jdbc.JdbcSourceConnector\",\"tasks.max\":\"1\","
     "\"connection.url\":\"jdbc:postgresql://db.internal:5432/archive\",\"connection.password\":"
     "\"archive-pw\",\"table.whitelist\":\"orders_archive\",\"topic.prefix\":\"\","
     "\"key.converter\":\"org.apache.kafka.connect.storage.StringConverter\","
     "\"value.converter\":\"org.apache.kafka.connect.json.JsonConverter\"}"},
    {"my conn.v2", SIM_RUNNING,
     "{\"connector.class\":\"io.debezium.connector.postgresql.PostgresConnector\",\"tasks.max\":"
     "\"1\",\"database.hostname\":\"pg.internal\",\"database.port\":\"5432\",\"database.user\":"
     "\"debezium\",\"database.password\":\"dbz-pw-9\",\"database.dbname\":\"crm\","
     "\"topic.prefix\":\"pg\",\"table.include.list\":\"public.customers\",\"plugin.name\":"
     "\"pgoutput\",\"key.converter\":\"org.apache.kafka.connect.json.JsonConverter\","
     "\"value.converter\":\"org.apache.kafka.connect.json.JsonConverter\"}"},
    {"eu:orders", SIM_RUNNING,
     "{\"connector.class\":\"org.apache.kafka.connect.file.FileStreamSourceConnector\","
     "\"tasks.max\":\"1\",\"file\":\"/var/data/eu-orders.csv\",\"topic\":\"eu-orders\","
     "\"key.converter\":\"org.apache.kafka.connect.storage.StringConverter\","
     "\"value.converter\":\"org.apache.kafka.connect.storage.StringConverter\","
     "\"producer.override.ssl.truststore.password\":\"eu-ts-pw\","
     "\"producer.override.sasl.jaas.config\":\"org.apache.kafka.common.security.scram."
     "ScramLoginModule required username=\\\"eu\\\" password=\\\"eu-scram-pw\\\";\"}"},
    {"say \"hi\"*", SIM_RUNNING,
     "{\"connector.class\":\"io.confluent.kafka.connect.datagen.DatagenConnector\",\"tasks.max\":"
     "\"1\",\"kafka.topic\":\"greetings\",\"quickstart\":\"users\",\"max.interval\":\"100\","
     "\"key.converter\":\"org.apache.kafka.connect.storage.StringConverter\","
     "\"value.converter\":\"io.confluent.connect.avro.AvroConverter\","
     "\"value.converter.schema.registry.url\":\"http://schema-registry:8081\","
     "\"value.converter.basic.auth.user.info\":\"greeter:hi-pw\"}"},
    {"caf\xc3\xa9-sink", SIM_RUNNING,
     "{\"connector.class\":\"io.confluent.connect.jdbc.JdbcSinkConnector\",\"tasks.max\":\"2\","
     "\"topics\":\"payments.eu\",\"connection.url\":\"jdbc:postgresql://dwh:5432/cafe\","
     "\"connection.user\":\"cafe\",\"connection.password\":\"caf\\u00e9-pw\",\"insert.mode\":"
     "\"upsert\",\"pk.mode\":\"record_key\",\"key.converter\":"
     "\"org.apache.kafka.connect.storage.StringConverter\",\"value.converter\":"
     "\"org.apache.kafka.connect.json.JsonConverter\",\"consumer.override.sasl.jaas.config\":"
     "\"org.apache.kafka.common.security.plain.PlainLoginModule required username=\\\"cafe\\\" "
     "password=\\\"cafe-kafka-pw\\\";\"}"},
    {"inventory-datagen", SIM_PAUSED,
     "{\"connector.class\":\"io.confluent.kafka.connect.datagen.DatagenConnector\",\"tasks.max\":"
     "\"1\",\"kafka.topic\":\"inventory\",\"quickstart\":\"inventory\",\"key.converter\":"
     "\"org.apache.kafka.connect.storage.StringConverter\",\"value.converter\":"
     "\"org.apache.kafka.connect.json.JsonConverter\",\"producer.override.sasl.jaas.config\":"
     "\"org.apache.kafka.common.security.plain.PlainLoginModule required username=\\\"inv\\\" "
     "password=\\\"inv-pw\\\";\"}"},
};

static const char PAYMENTS_TRACE[] =
    "org.apache.kafka.connect.errors.ConnectException: java.sql.SQLTransientConnectionException: "
    "HikariPool-1 - Connection is not available, request timed out after 30000ms.\n"
    "\tat io.confluent.connect.jdbc.source.JdbcSourceTask.poll(JdbcSourceTask.java:432)\n"
    "\tat org.apache.kafka.connect.runtime.AbstractWorkerSourceTask.poll("
    "AbstractWorkerSourceTask.java:488)\n"
    "\tat org.apache.kafka.connect.runtime.AbstractWorkerSourceTask.execute("
    "AbstractWorkerSourceTask.java:360)\n"
    "\tat org.apache.kafka.connect.runtime.WorkerTask.doRun(WorkerTask.java:229)\n"
    "\tat org.apache.kafka.connect.runtime.WorkerTask.run(WorkerTask.java:284)\n"
    "\tat java.base/java.lang.Thread.run(Thread.java:840)\n"
    "Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not "
    "available, request timed out after 30000ms.\n"
    "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n"
    "\t... 6 more\n";

/* How long a connector "already ran" before the simulator started: 10 min to 2 h. */
static double prior_run(uint64_t seed, const char *name)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return 600.0 + (double)(h % 6600);
}

static int add(struct sim *s, const char *name, json_t *config, enum sim_state st, double now)
{
    if (!config)
        return -1;
    json_object_set_new(config, "name", json_string(name));
    const char *cls = json_string_value(json_object_get(config, "connector.class"));
    const struct sim_plugin *p = cls ? sim_plugins_find_connector(cls) : NULL;
    enum sim_kind kind = p && strcmp(p->type, "sink") == 0 ? SIM_SINK : SIM_SOURCE;
    return sim_model_create(s->model, name, kind, config, st, prior_run(s->opt.seed, name), true,
                            now, NULL);
}

static int load_demo(struct sim *s, double now)
{
    for (size_t i = 0; i < sizeof DEMO / sizeof DEMO[0]; i++) {
        json_error_t e;
        json_t *cfg = json_loads(DEMO[i].config, 0, &e);
        if (!cfg) {
            fprintf(stderr, "connect-sim: demo config of %s: %s\n", DEMO[i].name, e.text);
            return -1;
        }
        if (add(s, DEMO[i].name, cfg, DEMO[i].state, now) < 0)
            return -1;
    }
    /* payments-jdbc: task 1 died; the connector itself still says RUNNING (WIRE §1.3). */
    struct sim_connector *c = sim_model_find(s->model, "payments-jdbc");
    if (c && c->ntasks > 1 &&
        sim_model_fail_task(s->model, c, &c->tasks[1], PAYMENTS_TRACE, false, now))
        return -1;
    return 0;
}

/* conn-00001…: odd ones are Datagen sources, even ones S3 sinks reading the previous topic. */
static json_t *generated_config(long i, int tasks)
{
    char topic[32], tmax[16], prev[32];
    snprintf(topic, sizeof topic, "topic-%05ld", i);
    snprintf(prev, sizeof prev, "topic-%05ld", i > 1 ? i - 1 : i);
    snprintf(tmax, sizeof tmax, "%d", tasks);
    if (i % 2 == 1)
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "connector.class",
                         "io.confluent.kafka.connect.datagen.DatagenConnector", "tasks.max", tmax,
                         "kafka.topic", topic, "quickstart", "orders", "key.converter",
                         "org.apache.kafka.connect.storage.StringConverter", "value.converter",
                         "org.apache.kafka.connect.json.JsonConverter",
                         "producer.override.sasl.jaas.config",
                         "org.apache.kafka.common.security.plain.PlainLoginModule required "
                         "username=\"gen\" password=\"gen-pw\";");
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "connector.class",
                     "io.confluent.connect.s3.S3SinkConnector", "tasks.max", tmax, "topics", prev,
                     "s3.bucket.name", "acme-archive", "aws.access.key.id", "AKIAEXAMPLEKEY",
                     "aws.secret.access.key", "gen/secret/key", "flush.size", "1000",
                     "storage.class", "io.confluent.connect.s3.storage.S3Storage", "format.class",
                     "io.confluent.connect.s3.format.json.JsonFormat", "key.converter",
                     "org.apache.kafka.connect.storage.StringConverter", "value.converter",
                     "org.apache.kafka.connect.json.JsonConverter");
}

int sim_demo_load(struct sim *s, double now)
{
    long n = s->opt.connectors;
    long ndemo = (long)(sizeof DEMO / sizeof DEMO[0]);
    if (n < 0)
        return load_demo(s, now);
    long generated = n;
    if (n >= ndemo) {
        if (load_demo(s, now) < 0)
            return -1;
        generated = n - ndemo;
    }
    for (long i = 1; i <= generated; i++) {
        char name[32];
        snprintf(name, sizeof name, "conn-%05ld", i);
        if (add(s, name, generated_config(i, s->opt.tasks), SIM_RUNNING, now) < 0)
            return -1;
    }
    return 0;
}
