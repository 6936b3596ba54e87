/* sim_objectname.h — JMX ObjectNames as Kafka writes them (jmxSanitize quoting) and as Jolokia
 * reads them (parsing, value wildcards, ",*" property-list patterns, canonical key order). */
#ifndef SIM_OBJECTNAME_H
#define SIM_OBJECTNAME_H

#include <stdbool.h>
#include <stddef.h>

#define SIM_ON_MAX_PROPS 8

/* One key=value of a name; value is written as in the name (quotes and escapes kept). */
struct sim_on_kv {
    const char *key;
    const char *value;
};

/* A parsed name or pattern. All strings point into buf (owned). */
struct sim_objectname {
    char *buf;
    const char *domain;
    bool domain_pattern;
    size_t nprops;
    struct sim_on_kv props[SIM_ON_MAX_PROPS]; /* in the order written */
    bool value_pattern[SIM_ON_MAX_PROPS];     /* this value holds an unescaped * or ? */
    bool list_pattern;                        /* ",*": other keys may be present */
};

/* Parses s into on. Returns 0, or -1 with a JMX-like message in err (on is then empty).
 * Free with sim_objectname_clear on success. */
int sim_objectname_parse(const char *s, struct sim_objectname *on, char *err, size_t errcap);
void sim_objectname_clear(struct sim_objectname *on);

bool sim_objectname_is_pattern(const struct sim_objectname *on);

/* Kafka's Sanitizer.jmxSanitize: value as is when it only has [A-Za-z0-9_-%. \t], else
 * ObjectName.quote(value). Returns the length, or 0 when it does not fit in cap. */
size_t sim_objectname_quote(const char *value, char *out, size_t cap);

/* Undoes ObjectName.quote for a quoted value (an unquoted value is copied). Returns the length,
 * or (size_t)-1 when it does not fit or is malformed. */
size_t sim_objectname_unquote(const char *value, char *out, size_t cap);

/* JMX wildcard match of a written value against a pattern value: '*' any run, '?' one char,
 * a backslash escape in the pattern matches itself literally. */
bool sim_objectname_wildmatch(const char *pattern, const char *s);

/* Does the bean domain:kv[0..n) match pattern (or equal name, when it is no pattern)? */
bool sim_objectname_match(const struct sim_objectname *pattern, const char *domain,
                          const struct sim_on_kv *kv, size_t n);

/* Writes domain:k=v,... into out: registration order, or keys sorted when canonical.
 * Returns the length, or 0 when it does not fit. */
size_t sim_objectname_format(const char *domain, const struct sim_on_kv *kv, size_t n,
                             bool canonical, bool list_pattern, char *out, size_t cap);

#endif
