/* kc/log.h — structured logging: one JSON object per line on stderr.
 * Fields are given as a jansson pack format so values are always escaped; never pass secrets. */
#ifndef KC_LOG_H
#define KC_LOG_H

enum kc_log_level { KC_LOG_DEBUG = 0, KC_LOG_INFO, KC_LOG_WARN, KC_LOG_ERROR };

/* Returns 0 and sets *out for "debug"/"info"/"warn"/"error" (any case), -1 otherwise. */
int kc_log_parse_level(const char *name, enum kc_log_level *out);
void kc_log_set_level(enum kc_log_level level);
int kc_log_enabled(enum kc_log_level level);

/* Writes {"ts":…,"level":…,"event":event, …fields}. fields_fmt is a json_pack object format
 * ("{s:s,s:i}") followed by its arguments, or NULL for no extra fields. */
void kc_log(enum kc_log_level level, const char *event, const char *fields_fmt, ...);

/* Writes {"ts","level":"info","event":event, …fields} whatever the level: for records that
 * must not depend on LOG_LEVEL (the audit trail). fields borrowed. */
struct json_t;
void kc_log_always(const char *event, const struct json_t *fields);

#define KC_DEBUG(...) do { if (kc_log_enabled(KC_LOG_DEBUG)) kc_log(KC_LOG_DEBUG, __VA_ARGS__); } while (0)
#define KC_INFO(...)  kc_log(KC_LOG_INFO, __VA_ARGS__)
#define KC_WARN(...)  kc_log(KC_LOG_WARN, __VA_ARGS__)
#define KC_ERROR(...) kc_log(KC_LOG_ERROR, __VA_ARGS__)

#endif
