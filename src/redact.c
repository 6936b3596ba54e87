/* redact.c — the secret-key table and the walkers over Connect's config-carrying bodies.
 * Masking happens once, where Connect's answer is parsed, so no reply, log or cache leaks. */
#include "kc/redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

/* A key containing any of these (case-insensitive) is a secret. */
static const char *const secret_words[] = {
    "password",   "passwd",      "pwd",         "secret",         "token",
    "credential", "jaas",        "user.info",   "userinfo",       "private.key",
    "privatekey", "private_key", "access.key",  "accesskey",      "access_key",
    "api.key",    "apikey",      "api_key",     "passphrase",     "keystore.key",
    "keyfile",    "key.json",    "authorization", "auth.header",  "signing.key",
    "encryption.key", "master.key", "sas.key",
};

/* Keys ending with these are known non-secrets despite containing a word above. */
static const char *const public_suffixes[] = {
    "token.endpoint.url",         /* sasl.oauthbearer.token.endpoint.url */
    "credentials.provider.class", /* s3.credentials.provider.class, aws.… */
    "credentials.provider",
    "password.length",            /* generator options, not passwords */
    "token.lifetime.ms",
};

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == needle[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    if (lx > ls)
        return 0;
    for (size_t i = 0; i < lx; i++)
        if (tolower((unsigned char)s[ls - lx + i]) != suffix[i])
            return 0;
    return 1;
}

int kc_redact_is_secret_key(const char *key)
{
    if (!key)
        return 0;
    for (size_t i = 0; i < sizeof public_suffixes / sizeof public_suffixes[0]; i++)
        if (ends_with_ci(key, public_suffixes[i]))
            return 0;
    for (size_t i = 0; i < sizeof secret_words / sizeof secret_words[0]; i++)
        if (contains_ci(key, secret_words[i]))
            return 1;
    return 0;
}

/* Whether a value holds something to hide: null, "" and the mask itself do not. */
static int worth_masking(const json_t *v)
{
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return s[0] && strcmp(s, KC_REDACT_MASK) != 0;
    }
    return json_is_number(v) || json_is_boolean(v) || json_is_object(v) || json_is_array(v);
}

static int mask_member(json_t *obj, const char *key)
{
    if (!worth_masking(json_object_get(obj, key)))
        return 0;
    /* on allocation failure the key is dropped: losing a value beats leaking it */
    if (json_object_set_new(obj, key, json_string(KC_REDACT_MASK)) < 0)
        json_object_del(obj, key);
    return 1;
}

int kc_redact_config(json_t *flat_config)
{
    if (!json_is_object(flat_config))
        return 0;
    int n = 0;
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(flat_config, tmp, key, v) {
        if (kc_redact_is_secret_key(key))
            n += mask_member(flat_config, key);
    }
    return n;
}

/* A copy of `text` with every occurrence of `secret` replaced by the mask; new reference. */
static json_t *replace_all(const char *text, const char *secret)
{
    size_t ls = strlen(secret), lm = strlen(KC_REDACT_MASK), count = 0;
    for (const char *p = strstr(text, secret); p; p = strstr(p + ls, secret))
        count++;
    size_t len = strlen(text) + count * lm + 1;
    char *out = malloc(len);
    if (!out)
        return NULL;
    char *o = out;
    const char *p = text, *hit;
    while ((hit = strstr(p, secret)) != NULL) {
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, KC_REDACT_MASK, lm);
        o += lm;
        p = hit + ls;
    }
    strcpy(o, p);
    json_t *j = json_string(out);
    free(out);
    return j;
}

/* Connect's validators quote the rejected value ("Invalid value hunter2 for configuration
 * x.password: …"): a secret's value is masked inside its error messages too. When an error
 * cannot be rewritten (allocation failure) the entry's errors are dropped. */
static int scrub_errors(json_t *errors, const json_t *value)
{
    const char *secret = json_string_value(value);
    if (!secret || !secret[0] || strcmp(secret, KC_REDACT_MASK) == 0 || !json_is_array(errors))
        return 0;
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        const char *text = json_string_value(e);
        if (!text || !strstr(text, secret))
            continue;
        json_t *clean = replace_all(text, secret);
        if (!clean || json_array_set_new(errors, i, clean) < 0) {
            json_array_clear(errors); /* losing the messages beats leaking the value */
            return n + 1;
        }
        n++;
    }
    return n;
}

/* ConfigInfos: each entry's definition tells whether its value is a password. */
static int redact_validate(json_t *body)
{
    int n = 0;
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(body, "configs"), i, entry) {
        json_t *def = json_object_get(entry, "definition");
        json_t *val = json_object_get(entry, "value");
        const char *type = json_string_value(json_object_get(def, "type"));
        int secret = (type && strcmp(type, "PASSWORD") == 0) ||
                     kc_redact_is_secret_key(json_string_value(json_object_get(def, "name"))) ||
                     kc_redact_is_secret_key(json_string_value(json_object_get(val, "name")));
        if (!secret)
            continue;
        if (json_is_object(val)) {
            /* the message may sit on another entry: a refused transforms.<alias>.type is
             * reported under "transforms" too (real 4.1 worker) */
            json_t *secret_value = json_object_get(val, "value");
            size_t k2;
            json_t *other;
            json_array_foreach(json_object_get(body, "configs"), k2, other) {
                n += scrub_errors(json_object_get(json_object_get(other, "value"), "errors"),
                                  secret_value);
            }
            n += mask_member(val, "value");
        }
        if (json_is_object(def))
            n += mask_member(def, "default_value");
        json_t *rec = json_object_get(val, "recommended_values");
        size_t k;
        json_t *r;
        json_array_foreach(rec, k, r) {
            if (worth_masking(r)) {
                json_array_set_new(rec, k, json_string(KC_REDACT_MASK));
                n++;
            }
        }
    }
    return n;
}

static int is_validate_body(const json_t *body)
{
    return json_is_object(body) && json_is_array(json_object_get(body, "configs")) &&
           json_object_get(body, "error_count");
}


/* Any secret-named member at any depth, and validate results wherever they sit. */
static int deep_walk(json_t *v, int depth)
{
    if (depth > MAX_DEPTH)
        return -1;
    int n = 0, r;
    if (json_is_object(v)) {
        if (is_validate_body(v))
            n += redact_validate(v);
        const char *key;
        json_t *m;
        void *tmp;
        json_object_foreach_safe(v, tmp, key, m) {
            if (json_is_object(m) || json_is_array(m)) {
                if ((r = deep_walk(m, depth + 1)) < 0)
                    return -1;
                n += r;
            } else if (kc_redact_is_secret_key(key)) {
                n += mask_member(v, key);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) {
            if ((r = deep_walk(m, depth + 1)) < 0)
                return -1;
            n += r;
        }
    }
    return n;
}

int kc_redact_connect_body(enum kc_redact_shape shape, json_t *body)
{
    int n = 0;
    size_t i;
    json_t *v;
    const char *key;
    switch (shape) {
    case KC_REDACT_CONNECTOR_INFO:
        if (!json_is_object(body) || !json_is_object(json_object_get(body, "config")))
            break;
        return kc_redact_config(json_object_get(body, "config"));
    case KC_REDACT_CONFIG:
        if (!json_is_object(body))
            break;
        return kc_redact_config(body);
    case KC_REDACT_TASKS:
        if (!json_is_array(body))
            break;
        json_array_foreach(body, i, v) {
            n += kc_redact_config(json_object_get(v, "config"));
        }
        return n;
    case KC_REDACT_TASKS_CONFIG:
        if (!json_is_object(body))
            break;
        json_object_foreach(body, key, v) {
            n += kc_redact_config(v);
        }
        return n;
    case KC_REDACT_EXPAND_LIST:
        if (!json_is_object(body))
            break;
        json_object_foreach(body, key, v) {
            n += kc_redact_config(json_object_get(json_object_get(v, "info"), "config"));
        }
        return n;
    case KC_REDACT_VALIDATE:
        if (!is_validate_body(body))
            break;
        return redact_validate(body);
    case KC_REDACT_ANY:
        break;
    }
    return deep_walk(body, 0);
}

int kc_redact_restore_masked(json_t *incoming, const json_t *current_real_config,
                             const char **first_missing)
{
    if (first_missing)
        *first_missing = NULL;
    if (!json_is_object(incoming))
        return -1;
    int missing = 0;
    const char *key;
    json_t *v;
    json_object_foreach(incoming, key, v) {
        const char *s = json_string_value(v);
        if (!s || strcmp(s, KC_REDACT_MASK) != 0 || !kc_redact_is_secret_key(key))
            continue;
        json_t *real = json_object_get(current_real_config, key);
        if (!real || json_is_null(real)) {
            if (!missing++ && first_missing)
                *first_missing = key;
            continue;
        }
        json_t *copy = json_deep_copy(real);
        /* replacing the value of an existing key during iteration keeps the iterator valid */
        if (!copy || json_object_set_new(incoming, key, copy) < 0)
            return -1;
    }
    return missing;
}

static int scrub_strings(json_t *v, const char *secret, int depth);

/* One member or element m: scrubs inside it, or, for a string holding the secret, returns its
 * replacement in *clean (new reference) for the caller to put in m's place. Returns the number
 * of strings changed, or -1. */
static int scrub_member(json_t *m, const char *secret, int depth, json_t **clean)
{
    *clean = NULL;
    if (!json_is_string(m))
        return scrub_strings(m, secret, depth + 1);
    if (!strstr(json_string_value(m), secret))
        return 0;
    return (*clean = replace_all(json_string_value(m), secret)) ? 1 : -1;
}

/* Every string inside v (members and elements, not keys) with `secret` replaced. */
static int scrub_strings(json_t *v, const char *secret, int depth)
{
    if (depth > MAX_DEPTH)
        return -1;
    int n = 0, r;
    json_t *m, *clean;
    if (json_is_object(v)) {
        const char *key;
        void *tmp;
        json_object_foreach_safe(v, tmp, key, m) {
            /* replacing an existing key's value keeps the iteration valid */
            if ((r = scrub_member(m, secret, depth, &clean)) < 0 ||
                (clean && json_object_set_new(v, key, clean) < 0))
                return -1;
            n += r;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_array_foreach(v, i, m) {
            if ((r = scrub_member(m, secret, depth, &clean)) < 0 ||
                (clean && json_array_set_new(v, i, clean) < 0))
                return -1;
            n += r;
        }
    }
    return n;
}

int kc_redact_scrub_doc(json_t *doc, json_t *config)
{
    if (!json_is_object(config))
        return 0;
    int n = 0, r;
    const char *key;
    json_t *v;
    json_object_foreach(config, key, v) {
        const char *secret = json_string_value(v);
        if (!secret || !secret[0] || strcmp(secret, KC_REDACT_MASK) == 0 ||
            !kc_redact_is_secret_key(key))
            continue;
        if ((r = scrub_strings(doc, secret, 0)) < 0)
            return -1;
        n += r;
    }
    return n;
}
