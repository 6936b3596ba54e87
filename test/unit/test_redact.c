/* test_redact.c — the secret-key table both ways, masking of every Connect body shape that
 * carries config, and restoring masked values when an edited config comes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/redact.h"

static const char *const secret_keys[] = {
    "connection.password",
    "database.password",
    "ssl.key.password",
    "ssl.keystore.password",
    "ssl.truststore.password",
    "ssl.keystore.key",
    "sasl.jaas.config",
    "producer.override.sasl.jaas.config",
    "consumer.override.sasl.jaas.config",
    "basic.auth.user.info",
    "key.converter.basic.auth.user.info",
    "value.converter.basic.auth.user.info",
    "value.converter.schema.registry.basic.auth.user.info",
    "value.converter.schema.registry.ssl.key.password",
    "aws.secret.access.key",
    "aws.access.key.id",
    "s3.secret.key",
    "azure.blob.sas.token",
    "gcs.credentials.json",
    "keyfile",
    "snowflake.private.key",
    "snowflake.private.key.passphrase",
    "privateKey",
    "accessKey",
    "clientSecret",
    "oauth.client.secret",
    "api.key",
    "apiKey",
    "datadog.api_key",
    "bearer.token",
    "auth.token",
    "connection.pwd",
    "PASSWORD",
    "Database.Password",
    "http.headers.authorization",
    "mongodb.credentials",
    "sasl.oauthbearer.client.credentials.client.secret",
};

static const char *const public_keys[] = {
    "name",
    "connector.class",
    "tasks.max",
    "topics",
    "topic",
    "key.converter",
    "value.converter",
    "key.serializer",
    "key.deserializer",
    "value.serializer",
    "key.converter.schemas.enable",
    "value.converter.schemas.enable",
    "key.converter.schema.registry.url",
    "value.converter.schema.registry.url",
    "transforms",
    "transforms.InsertKey.type",
    "transforms.InsertKey.fields",
    "transforms.ExtractKey.field",
    "transforms.route.key.field",
    "transforms.mask.key.ignore",
    "ssl.keystore.location",
    "ssl.keystore.type",
    "ssl.truststore.location",
    "ssl.truststore.type",
    "ssl.key.alias",
    "ssl.endpoint.identification.algorithm",
    "sasl.mechanism",
    "security.protocol",
    "sasl.oauthbearer.token.endpoint.url",
    "s3.credentials.provider.class",
    "aws.credentials.provider.class",
    "connection.url",
    "connection.user",
    "key.ignore",
    "primary.key.mode",
    "primary.key.fields",
    "errors.deadletterqueue.topic.name",
    "",
};

static void test_key_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof secret_keys / sizeof secret_keys[0]; i++)
        if (!kc_redact_is_secret_key(secret_keys[i]))
            fail_msg("'%s' should be secret", secret_keys[i]);
    for (size_t i = 0; i < sizeof public_keys / sizeof public_keys[0]; i++)
        if (kc_redact_is_secret_key(public_keys[i]))
            fail_msg("'%s' should not be secret", public_keys[i]);
    assert_false(kc_redact_is_secret_key(NULL));
}

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fail_msg("bad test json: %s: %s", e.text, s);
    return j;
}

static void assert_json_equal(json_t *got, const char *want_text)
{
    json_t *want = parse(want_text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("got %s\nwant %s", g, want_text);
    }
    json_decref(want);
}

struct shape_case {
    enum kc_redact_shape shape;
    const char *in, *out;
    int masked;
};

static const struct shape_case shape_cases[] = {
    {KC_REDACT_CONFIG,
     "{\"connection.password\":\"hunter2\",\"key.converter\":\"x\",\"empty.password\":\"\","
     "\"null.secret\":null,\"name\":\"c\"}",
     "{\"connection.password\":\"********\",\"key.converter\":\"x\",\"empty.password\":\"\","
     "\"null.secret\":null,\"name\":\"c\"}",
     1},
    {KC_REDACT_CONNECTOR_INFO,
     "{\"name\":\"c\",\"config\":{\"sasl.jaas.config\":\"org.apache...PlainLoginModule required "
     "username=\\\"u\\\" password=\\\"p\\\";\",\"topic\":\"t\"},\"tasks\":[],\"type\":\"source\"}",
     "{\"name\":\"c\",\"config\":{\"sasl.jaas.config\":\"********\",\"topic\":\"t\"},\"tasks\":[],"
     "\"type\":\"source\"}",
     1},
    {KC_REDACT_TASKS,
     "[{\"id\":{\"connector\":\"c\",\"task\":0},\"config\":{\"task.class\":\"T\","
     "\"db.password\":\"p0\"}},{\"id\":{\"connector\":\"c\",\"task\":1},\"config\":"
     "{\"db.password\":\"p1\"}}]",
     "[{\"id\":{\"connector\":\"c\",\"task\":0},\"config\":{\"task.class\":\"T\","
     "\"db.password\":\"********\"}},{\"id\":{\"connector\":\"c\",\"task\":1},\"config\":"
     "{\"db.password\":\"********\"}}]",
     2},
    {KC_REDACT_TASKS_CONFIG,
     "{\"c-0\":{\"api.key\":\"k\",\"a\":\"b\"},\"c-1\":{\"api.key\":\"k\"}}",
     "{\"c-0\":{\"api.key\":\"********\",\"a\":\"b\"},\"c-1\":{\"api.key\":\"********\"}}", 2},
    {KC_REDACT_EXPAND_LIST,
     "{\"my-password-sink\":{\"status\":{\"name\":\"my-password-sink\"},\"info\":{\"name\":"
     "\"my-password-sink\",\"config\":{\"connection.password\":\"p\"}}},\"gone\":{\"info\":null},"
     "\"empty\":{}}",
     "{\"my-password-sink\":{\"status\":{\"name\":\"my-password-sink\"},\"info\":{\"name\":"
     "\"my-password-sink\",\"config\":{\"connection.password\":\"********\"}}},\"gone\":{\"info\":"
     "null},\"empty\":{}}",
     1},
    {KC_REDACT_VALIDATE,
     "{\"name\":\"X\",\"error_count\":0,\"groups\":[],\"configs\":["
     "{\"definition\":{\"name\":\"connection.pin\",\"type\":\"PASSWORD\",\"default_value\":null},"
     "\"value\":{\"name\":\"connection.pin\",\"value\":\"1234\",\"recommended_values\":[\"0000\"],"
     "\"errors\":[],\"visible\":true}},"
     "{\"definition\":{\"name\":\"ssl.key.password\",\"type\":\"STRING\",\"default_value\":\"dflt\"},"
     "\"value\":{\"name\":\"ssl.key.password\",\"value\":\"pw\",\"recommended_values\":[],"
     "\"errors\":[],\"visible\":true}},"
     "{\"definition\":{\"name\":\"topics\",\"type\":\"LIST\",\"default_value\":\"\"},"
     "\"value\":{\"name\":\"topics\",\"value\":\"a\",\"recommended_values\":[\"a\"],\"errors\":[],"
     "\"visible\":true}}]}",
     "{\"name\":\"X\",\"error_count\":0,\"groups\":[],\"configs\":["
     "{\"definition\":{\"name\":\"connection.pin\",\"type\":\"PASSWORD\",\"default_value\":null},"
     "\"value\":{\"name\":\"connection.pin\",\"value\":\"********\",\"recommended_values\":"
     "[\"********\"],\"errors\":[],\"visible\":true}},"
     "{\"definition\":{\"name\":\"ssl.key.password\",\"type\":\"STRING\",\"default_value\":"
     "\"********\"},\"value\":{\"name\":\"ssl.key.password\",\"value\":\"********\","
     "\"recommended_values\":[],\"errors\":[],\"visible\":true}},"
     "{\"definition\":{\"name\":\"topics\",\"type\":\"LIST\",\"default_value\":\"\"},"
     "\"value\":{\"name\":\"topics\",\"value\":\"a\",\"recommended_values\":[\"a\"],\"errors\":[],"
     "\"visible\":true}}]}",
     4},
    /* Connect's validators quote the rejected value in the error message: scrubbed for
     * secrets (seen on a real 4.1 worker: "Invalid value X for configuration Y: …") */
    {KC_REDACT_VALIDATE,
     "{\"name\":\"X\",\"error_count\":1,\"groups\":[],\"configs\":["
     "{\"definition\":{\"name\":\"db.password\",\"type\":\"STRING\",\"default_value\":null},"
     "\"value\":{\"name\":\"db.password\",\"value\":\"hunter2\",\"recommended_values\":[],"
     "\"errors\":[\"Invalid value hunter2 for configuration db.password: not hunter2!\","
     "\"Must be set\"],\"visible\":true}},"
     "{\"definition\":{\"name\":\"errors.tolerance\",\"type\":\"STRING\"},"
     "\"value\":{\"name\":\"errors.tolerance\",\"value\":\"some\",\"recommended_values\":[],"
     "\"errors\":[\"Invalid value some for configuration errors.tolerance\"],\"visible\":true}}]}",
     "{\"name\":\"X\",\"error_count\":1,\"groups\":[],\"configs\":["
     "{\"definition\":{\"name\":\"db.password\",\"type\":\"STRING\",\"default_value\":null},"
     "\"value\":{\"name\":\"db.password\",\"value\":\"********\",\"recommended_values\":[],"
     "\"errors\":[\"Invalid value ******** for configuration db.password: not ********!\","
     "\"Must be set\"],\"visible\":true}},"
     "{\"definition\":{\"name\":\"errors.tolerance\",\"type\":\"STRING\"},"
     "\"value\":{\"name\":\"errors.tolerance\",\"value\":\"some\",\"recommended_values\":[],"
     "\"errors\":[\"Invalid value some for configuration errors.tolerance\"],\"visible\":true}}]}",
     2},
    /* the message about a secret entry sits on another entry ("transforms" for a refused
     * transforms.<alias>.type, real 4.1) */
    {KC_REDACT_VALIDATE,
     "{\"name\":\"X\",\"error_count\":1,\"groups\":[],\"configs\":["
     "{\"definition\":{\"name\":\"transforms\",\"type\":\"LIST\"},\"value\":{\"name\":"
     "\"transforms\",\"value\":\"mytoken\",\"recommended_values\":[],\"errors\":[\"Invalid "
     "value a.B for configuration transforms.mytoken.type: Class a.B could not be found.\"],"
     "\"visible\":true}},"
     "{\"definition\":{\"name\":\"transforms.mytoken.type\",\"type\":\"CLASS\"},\"value\":"
     "{\"name\":\"transforms.mytoken.type\",\"value\":\"a.B\",\"recommended_values\":[],"
     "\"errors\":[],\"visible\":true}}]}",
     "{\"name\":\"X\",\"error_count\":1,\"groups\":[],\"configs\":["
     "{\"definition\":{\"name\":\"transforms\",\"type\":\"LIST\"},\"value\":{\"name\":"
     "\"transforms\",\"value\":\"mytoken\",\"recommended_values\":[],\"errors\":[\"Invalid "
     "value ******** for configuration transforms.mytoken.type: Class ******** could not be "
     "found.\"],\"visible\":true}},"
     "{\"definition\":{\"name\":\"transforms.mytoken.type\",\"type\":\"CLASS\"},\"value\":"
     "{\"name\":\"transforms.mytoken.type\",\"value\":\"********\",\"recommended_values\":[],"
     "\"errors\":[],\"visible\":true}}]}",
     2},
    /* wrong shape declared: the deep walk still masks */
    {KC_REDACT_TASKS,
     "{\"name\":\"c\",\"config\":{\"token\":\"t\"}}",
     "{\"name\":\"c\",\"config\":{\"token\":\"********\"}}", 1},
    {KC_REDACT_ANY,
     "{\"a\":[{\"b\":{\"secret\":\"s\",\"n\":1}}],\"password\":42}",
     "{\"a\":[{\"b\":{\"secret\":\"********\",\"n\":1}}],\"password\":\"********\"}", 2},
    {KC_REDACT_ANY, "[\"password\",\"x\"]", "[\"password\",\"x\"]", 0},
    {KC_REDACT_CONFIG, "{\"a.password\":\"********\"}", "{\"a.password\":\"********\"}", 0},
};

static void test_shapes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof shape_cases / sizeof shape_cases[0]; i++) {
        json_t *j = parse(shape_cases[i].in);
        int n = kc_redact_connect_body(shape_cases[i].shape, j);
        if (n != shape_cases[i].masked)
            fail_msg("case %zu: masked %d, want %d", i, n, shape_cases[i].masked);
        assert_json_equal(j, shape_cases[i].out);
        json_decref(j);
    }
}

static void test_too_deep(void **state)
{
    (void)state;
    char buf[512] = "";
    for (int i = 0; i < 100; i++)
        strcat(buf, "[");
    for (int i = 0; i < 100; i++)
        strcat(buf, "]");
    json_t *j = parse(buf);
    assert_int_equal(kc_redact_connect_body(KC_REDACT_ANY, j), -1);
    json_decref(j);
}

static void test_restore(void **state)
{
    (void)state;
    json_t *current = parse("{\"connection.password\":\"hunter2\",\"api.key\":\"k\","
                            "\"topic\":\"t\"}");
    /* the user changed the topic and kept the masked password */
    json_t *in = parse("{\"connection.password\":\"********\",\"api.key\":\"new-key\","
                       "\"topic\":\"t2\",\"note\":\"********\"}");
    const char *missing = "x";
    assert_int_equal(kc_redact_restore_masked(in, current, &missing), 0);
    assert_null(missing);
    assert_json_equal(in, "{\"connection.password\":\"hunter2\",\"api.key\":\"new-key\","
                          "\"topic\":\"t2\",\"note\":\"********\"}");
    json_decref(in);

    /* a masked secret the connector does not have: refused, key named */
    in = parse("{\"connection.password\":\"********\",\"sasl.jaas.config\":\"********\"}");
    json_t *empty = parse("{\"connection.password\":null}");
    assert_int_equal(kc_redact_restore_masked(in, empty, &missing), 2);
    assert_non_null(missing);
    assert_true(strcmp(missing, "connection.password") == 0 ||
                strcmp(missing, "sasl.jaas.config") == 0);
    assert_int_equal(kc_redact_restore_masked(in, NULL, NULL), 2);
    json_decref(in);
    json_decref(empty);

    json_t *arr = json_array();
    assert_int_equal(kc_redact_restore_masked(arr, current, &missing), -1);
    json_decref(arr);
    json_decref(current);
}

struct scrub_case {
    const char *config, *doc, *want;
    int changed;
};

static const struct scrub_case scrub_cases[] = {
    /* Connect's create error quoting a refused value: the secret goes, the rest stays */
    {"{\"db.password\":\"hunter2\",\"topic\":\"t\"}",
     "{\"error_code\":400,\"message\":\"Invalid value hunter2 for configuration db.password; "
     "hunter2 again; topic t\"}",
     "{\"error_code\":400,\"message\":\"Invalid value ******** for configuration db.password; "
     "******** again; topic t\"}",
     1},
    /* strings at any depth, two secrets; keys, numbers and non-secret keys' values stay */
    {"{\"a.token\":\"tok-1\",\"b.secret\":\"1\",\"file\":\"/x\"}",
     "{\"configs\":[{\"value\":{\"errors\":[\"tok-1 and 1 and /x\"]}},\"tok-1\"],\"order\":1,"
     "\"tok-1\":2}",
     "{\"configs\":[{\"value\":{\"errors\":[\"******** and ******** and /x\"]}},\"********\"],"
     "\"order\":1,\"tok-1\":2}",
     3},
    {"{\"db.password\":\"hunter2\"}", "{\"error_code\":404,\"message\":\"not found\"}",
     "{\"error_code\":404,\"message\":\"not found\"}", 0},
    /* the mask itself, empty and non-string values are nothing to hide */
    {"{\"db.password\":\"********\",\"x.secret\":\"\",\"n.token\":5}", "[\"******** 5\"]",
     "[\"******** 5\"]", 0},
    {"[\"hunter2\"]", "[\"hunter2\"]", "[\"hunter2\"]", 0},
};

static void test_scrub_doc(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof scrub_cases / sizeof scrub_cases[0]; i++) {
        json_t *cfg = parse(scrub_cases[i].config);
        json_t *doc = parse(scrub_cases[i].doc);
        int n = kc_redact_scrub_doc(doc, cfg);
        if (n != scrub_cases[i].changed)
            fail_msg("case %zu: changed %d, want %d", i, n, scrub_cases[i].changed);
        assert_json_equal(doc, scrub_cases[i].want);
        json_decref(doc);
        json_decref(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_table),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_too_deep),
        cmocka_unit_test(test_restore),
        cmocka_unit_test(test_scrub_doc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
