/* kc/redact.h — masking secrets in what Connect returns, at ingress, before any sink sees it;
 * and putting the real values back when an edited config comes in with the mask unchanged. */
#ifndef KC_REDACT_H
#define KC_REDACT_H

#include <jansson.h>

#define KC_REDACT_MASK "********"

/* 1 when a config key names a secret (table-driven, case-insensitive substring match:
 * password, secret, token, credential, sasl.jaas.config, basic.auth.user.info, private/access/
 * api key, passphrase, keystore.key, …), minus a short allowlist of known non-secrets that
 * contain those words (e.g. sasl.oauthbearer.token.endpoint.url, *.credentials.provider.class).
 * key.converter / value.converter options are judged like any key: key.converter.schemas.enable
 * is not secret, key.converter.basic.auth.user.info is. Errs on the side of masking. */
int kc_redact_is_secret_key(const char *key);

/* Replaces, in place, the value of every secret key of a flat config map with KC_REDACT_MASK.
 * null and "" stay as they are (nothing to hide, and "" must not look set). Non-objects are
 * left alone. Returns the number of values masked. `flat_config` is borrowed. */
int kc_redact_config(json_t *flat_config);

/* The shapes Connect answers with that carry configuration. */
enum kc_redact_shape {
    KC_REDACT_ANY = 0,          /* unknown: deep walk (any secret key at any depth + validate) */
    KC_REDACT_CONNECTOR_INFO,   /* {"name","config":{…},"tasks","type"}: GET, create, PUT/PATCH */
    KC_REDACT_CONFIG,           /* flat map: GET /connectors/{c}/config */
    KC_REDACT_TASKS,            /* [{"id":{…},"config":{…}}]: GET /connectors/{c}/tasks */
    KC_REDACT_TASKS_CONFIG,     /* {"c-0":{…}}: GET /connectors/{c}/tasks-config */
    KC_REDACT_EXPAND_LIST,      /* {name:{"status","info":{"config":{…}}}}: ?expand=info */
    KC_REDACT_VALIDATE,         /* ConfigInfos: configs[].value.value (+ recommended_values,
                                   definition.default_value) when type PASSWORD or secret name */
};

/* Masks `body` (borrowed, changed in place) according to its shape; a body that does not have
 * the expected shape is deep-walked as KC_REDACT_ANY instead, so a surprise never leaks.
 * Returns the number of values masked, or -1 when the body nests deeper than this code walks
 * (64 levels): the caller must then not forward it. */
int kc_redact_connect_body(enum kc_redact_shape shape, json_t *body);

/* For each secret key of `incoming` (borrowed, changed in place) whose value is exactly
 * KC_REDACT_MASK, puts back the value from `current_real_config` (borrowed, unmasked), so
 * saving an edited config never overwrites a password with the mask. A non-secret key whose
 * value happens to be the mask text is left as the user wrote it.
 * Returns the number of masked keys with no current value (0 = all restored; the caller
 * answers 400 otherwise) and sets *first_missing (may be NULL) to the first such key,
 * borrowed from `incoming`. -1 if incoming is not an object or on allocation failure. */
int kc_redact_restore_masked(json_t *incoming, const json_t *current_real_config,
                             const char **first_missing);

/* Connect's messages may quote a value it refused ("Invalid value … for configuration …", in
 * error bodies and in validate results, not always under the secret's own key), and after a
 * masked round trip that value is a real secret the client never had. Replaces, in every
 * string of `doc` (borrowed, changed in place; keys left alone), each string value of a secret
 * key of `config` (borrowed, flat) with the mask. Returns the number of strings changed, or
 * -1 (too deep, or out of memory): the caller must then not send `doc`. */
int kc_redact_scrub_doc(json_t *doc, json_t *config);

#endif
