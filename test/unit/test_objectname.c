/* test_objectname.c — jmxSanitize quoting (WIRE §2.1) and ObjectName parsing in both key
 * orders, quoted values with escapes, and names that must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/objectname.h"

struct quote_case {
    const char *in, *out;
};

/* WIRE §2.1's table plus each escape on its own. */
static const struct quote_case quote_cases[] = {
    {"orders-src", "orders-src"},
    {"my conn.v2", "my conn.v2"},
    {"eu:orders", "\"eu:orders\""},
    {"a,b=c", "\"a,b=c\""},
    {"eu/orders", "\"eu/orders\""},
    {"say \"hi\"*", "\"say \\\"hi\\\"\\*\""},
    {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
    {"", ""},
    {"tab\there_100%", "tab\there_100%"},
    {"new\nline", "\"new\\nline\""},
    {"back\\slash", "\"back\\\\slash\""},
    {"what?", "\"what\\?\""},
    {"connect-10.0.0.1:8083", "\"connect-10.0.0.1:8083\""},
};

static void test_quote_value(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof quote_cases / sizeof quote_cases[0]; i++) {
        char *q = kc_objectname_quote_value(quote_cases[i].in);
        assert_non_null(q);
        assert_string_equal(q, quote_cases[i].out);
        assert_int_equal(kc_objectname_needs_quote(quote_cases[i].in),
                         strcmp(quote_cases[i].in, quote_cases[i].out) != 0);
        free(q);
    }
}

/* Every quoted value parses back to the original inside a full name. */
static void test_quote_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof quote_cases / sizeof quote_cases[0]; i++) {
        if (!quote_cases[i].in[0])
            continue; /* Kafka drops empty tags */
        char *q = kc_objectname_quote_value(quote_cases[i].in);
        char name[256];
        snprintf(name, sizeof name, "kafka.connect:type=source-task-metrics,connector=%s,task=0",
                 q);
        struct kc_objectname on;
        assert_int_equal(kc_objectname_parse(name, &on), 0);
        int quoted = -1;
        const char *v = kc_objectname_get(&on, "connector", &quoted);
        assert_non_null(v);
        assert_string_equal(v, quote_cases[i].in);
        assert_int_equal(quoted, q[0] == '"');
        kc_objectname_clear(&on);
        free(q);
    }
}

static const struct {
    const char *literal, *wildcard, *out;
} pattern_cases[] = {
    {"connector-producer-orders-src-", "*", "connector-producer-orders-src-*"},
    {"connector-producer-eu:orders-", "*", "\"connector-producer-eu:orders-*\""},
    {"connector-consumer-a*b?-", "*", "\"connector-consumer-a\\*b\\?-*\""},
    {"connector-consumer-say \"hi\"-", "*", "\"connector-consumer-say \\\"hi\\\"-*\""},
};

static void test_quote_pattern(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pattern_cases / sizeof pattern_cases[0]; i++) {
        char *q = kc_objectname_quote_pattern(pattern_cases[i].literal, pattern_cases[i].wildcard);
        assert_non_null(q);
        assert_string_equal(q, pattern_cases[i].out);
        free(q);
    }
}

struct kv {
    const char *key, *value;
    int quoted;
};

struct parse_case {
    const char *name;
    const char *domain;
    struct kv kvs[5];
};

static const struct parse_case parse_cases[] = {
    /* Jolokia < 2.5: canonical (sorted) key order */
    {"kafka.connect:connector=orders-src,task=0,type=source-task-metrics",
     "kafka.connect",
     {{"type", "source-task-metrics", 0}, {"connector", "orders-src", 0}, {"task", "0", 0}}},
    /* Jolokia 2.5+: registration order */
    {"kafka.connect:type=source-task-metrics,connector=orders-src,task=0",
     "kafka.connect",
     {{"task", "0", 0}, {"connector", "orders-src", 0}, {"type", "source-task-metrics", 0}}},
    {"kafka.connect:connector=\"a,b=c\",task=1,type=sink-task-metrics",
     "kafka.connect",
     {{"connector", "a,b=c", 1}, {"task", "1", 0}}},
    {"kafka.connect:type=x,connector=\"say \\\"hi\\\"\\*\",task=0",
     "kafka.connect",
     {{"connector", "say \"hi\"*", 1}}},
    {"kafka.connect:connector=\"back\\\\slash\\nnl\\?\",task=\"0\"",
     "kafka.connect",
     {{"connector", "back\\slash\nnl?", 1}, {"task", "0", 1}}},
    {"kafka.producer:client-id=\"connector-producer-eu:orders-0\",topic=orders,type=producer-topic-metrics",
     "kafka.producer",
     {{"client-id", "connector-producer-eu:orders-0", 1}, {"topic", "orders", 0}}},
    {"java.lang:type=Memory", "java.lang", {{"type", "Memory", 0}}},
    {"kafka.connect:type=x,connector=my conn.v2", "kafka.connect", {{"connector", "my conn.v2", 0}}},
    {"d:k=", "d", {{"k", "", 0}}},
    {"d:k=\"\"", "d", {{"k", "", 1}}},
};

static void test_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        struct kc_objectname on;
        assert_int_equal(kc_objectname_parse(c->name, &on), 0);
        assert_string_equal(on.domain, c->domain);
        for (size_t k = 0; k < 5 && c->kvs[k].key; k++) {
            int quoted = -1;
            const char *v = kc_objectname_get(&on, c->kvs[k].key, &quoted);
            assert_non_null(v);
            assert_string_equal(v, c->kvs[k].value);
            assert_int_equal(quoted, c->kvs[k].quoted);
        }
        assert_null(kc_objectname_get(&on, "nope", NULL));
        kc_objectname_clear(&on);
    }
}

static const char *const bad_names[] = {
    "",
    "no-colon",
    ":type=x",
    "d:",
    "d:type",
    "d:type=x,",
    "d:=x",
    "d:type=x,type=y",            /* duplicate key */
    "d:k=\"unterminated",
    "d:k=\"bad\\escape\"",
    "d:k=\"x\"y",                 /* text after the closing quote */
    "d:k=a\"b",
    "d:k=a=b",
    "d:a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,m=13,n=14,o=15,p=16,q=17",
};

static void test_parse_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        struct kc_objectname on;
        if (kc_objectname_parse(bad_names[i], &on) == 0)
            fail_msg("accepted bad name %s", bad_names[i]);
        assert_null(on.buf);
    }
    struct kc_objectname on;
    assert_int_equal(kc_objectname_parse(NULL, &on), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_value),   cmocka_unit_test(test_quote_roundtrip),
        cmocka_unit_test(test_quote_pattern), cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
