/* kc/objectname.h — JMX ObjectNames as Kafka writes them and Jolokia echoes them.
 * Quoting mirrors Kafka's jmxSanitize; parsing yields a key set, never a string to compare. */
#ifndef KC_OBJECTNAME_H
#define KC_OBJECTNAME_H

#include <stddef.h>

/* Kafka's Sanitizer.jmxSanitize (WIRE §2.1): the value itself when every character is in
 * [A-Za-z0-9_\-%. \t], else "…" with " * ? \ and newline escaped.
 * Returns new memory (free()), NULL on allocation failure. NULL v is treated as "". */
char *kc_objectname_quote_value(const char *v);

/* 1 when kc_objectname_quote_value(v) would add quotes, else 0. */
int kc_objectname_needs_quote(const char *v);

/* A pattern value: the literal `literal` (quoted and escaped the way Kafka quotes the real
 * value) followed by the unescaped wildcard `wildcard` (e.g. "*"). Used for client ids:
 * ("connector-producer-eu:orders-", "*") → "connector-producer-eu:orders-*" quoted as a whole,
 * so `*`/`?` inside the connector name stay literal while the trailing `*` stays a wildcard.
 * Quoting is decided on `literal` alone: the matched remainder (a task number) never forces it.
 * Returns new memory, NULL on allocation failure. */
char *kc_objectname_quote_pattern(const char *literal, const char *wildcard);

#define KC_OBJECTNAME_MAX_KEYS 16

struct kc_objectname_prop {
    const char *key;   /* borrowed from the owning kc_objectname */
    const char *value; /* unquoted and unescaped */
    int quoted;        /* 1 if the value was quoted: task="0" is not task=0 */
};

/* A parsed name. All strings live in one buffer owned by the struct. */
struct kc_objectname {
    char *buf;
    const char *domain;
    size_t count;
    struct kc_objectname_prop props[KC_OBJECTNAME_MAX_KEYS];
};

/* Parses "domain:k=v,k2=\"v,2\"". Splits at unquoted commas, unescapes quoted values
 * (\" \* \? \\ \n). Returns 0, or -1 on a malformed name (no ':', a key without '=', an
 * unterminated quote, a duplicate key, more than KC_OBJECTNAME_MAX_KEYS keys, allocation
 * failure). On success call kc_objectname_clear; on failure *out holds nothing to free. */
int kc_objectname_parse(const char *name, struct kc_objectname *out);

/* Value of `key` (borrowed, valid until clear), NULL when absent. *quoted (may be NULL)
 * receives whether it was quoted. */
const char *kc_objectname_get(const struct kc_objectname *on, const char *key, int *quoted);

void kc_objectname_clear(struct kc_objectname *on);

#endif
