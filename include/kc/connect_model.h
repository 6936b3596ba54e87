/* kc/connect_model.h — Kafka Connect's status and info payloads as plain structs.
 * Parses ConnectorStateInfo and the ?expand=status&expand=info map; tolerant of extra fields. */
#ifndef KC_CONNECT_MODEL_H
#define KC_CONNECT_MODEL_H

#include <stddef.h>
#include <jansson.h>

enum kc_connector_type { KC_TYPE_UNKNOWN = 0, KC_TYPE_SOURCE, KC_TYPE_SINK };

/* Connect's states; KC_STATE_OTHER keeps a state this code does not know (raw text kept). */
enum kc_state {
    KC_STATE_OTHER = 0,
    KC_STATE_UNASSIGNED,
    KC_STATE_RUNNING,
    KC_STATE_PAUSED,
    KC_STATE_FAILED,
    KC_STATE_RESTARTING,
    KC_STATE_STOPPED,
};

#define KC_STATE_TEXT_MAX 24

struct kc_task_status {
    int id;
    enum kc_state state;
    char state_text[KC_STATE_TEXT_MAX]; /* as Connect wrote it (truncated), "" if missing */
    char *worker_id;                    /* owned; "" when missing */
    char *trace;                        /* owned; NULL unless Connect sent one */
};

struct kc_connector_status {
    char *name;                         /* owned */
    enum kc_connector_type type;
    enum kc_state state;                /* the connector instance's own state */
    char state_text[KC_STATE_TEXT_MAX];
    char *worker_id;                    /* owned; "" when missing */
    char *trace;                        /* owned; NULL unless FAILED with a trace */
    struct kc_task_status *tasks;       /* owned, sorted by id */
    size_t task_count;
    /* From ConnectorInfo (expand=info), when present: */
    char *class_name;                   /* owned; config["connector.class"], NULL if unknown */
    json_t *config;                     /* new reference (already masked if the caller masked
                                           the body before parsing); NULL if absent */
    char **topics;                      /* owned; info "topics" array, else sink config
                                           "topics" split at ','; NULL/0 when unknown */
    size_t topic_count;
};

struct kc_connector_list {
    struct kc_connector_status *items;  /* owned, sorted by name (byte order) */
    size_t count;
};

/* Parses a ConnectorStateInfo object (GET /connectors/{c}/status). `info` (may be NULL) is a
 * ConnectorInfo adding class/config/topics and the type when status lacks it. `name_hint`
 * (may be NULL) is used when the body has no "name". Both json args are borrowed.
 * Returns 0 and fills *out (release with kc_connect_model_status_clear), or -1 for garbage
 * (not an object, no usable name, tasks not an array, a task without an integer id, or
 * allocation failure); *out then holds nothing. */
int kc_connect_model_parse_status(const json_t *status, const json_t *info, const char *name_hint,
                                  struct kc_connector_status *out);

/* Parses text (e.g. an upstream body) then the above. Same return convention. */
int kc_connect_model_parse_status_text(const char *body, size_t len,
                                       struct kc_connector_status *out);

/* Parses GET /connectors?expand=status&expand=info: map name → {"status":…,"info":…}.
 * Entries without a usable status (`{}`, `{"info":null}`) are skipped, not errors.
 * Returns 0 and fills *out (release with kc_connect_model_list_clear), -1 if `map` is not an
 * object or memory runs out. `map` is borrowed (not modified; non-const for jansson's iterator). */
int kc_connect_model_parse_list(json_t *map, struct kc_connector_list *out);

/* The same map parsed in pieces (a 5,000-connector list is 4 MB): a structure scan of the
 * body (kc/jsplit.h) and jansson per entry, a bounded amount per step, across loop turns.
 * `body` is borrowed and must outlive the parser. Entry rules as kc_connect_model_parse_list. */
struct kc_connect_list_parser;
struct kc_connect_list_parser *kc_connect_model_list_parser_new(const char *body, size_t len);
/* Works through about `budget` bytes of the body (then sorts the entries by name, as much
 * work per step): 1 when more remains, 0 when the whole map is read and sorted, -1 when it is
 * not a map (garbage, truncated) or memory ran out. */
int kc_connect_model_list_parser_step(struct kc_connect_list_parser *p, size_t budget);
/* After step returned 0 (or earlier: then sorted now): moves the entries, sorted by name,
 * into *out (release with kc_connect_model_list_clear). */
void kc_connect_model_list_parser_take(struct kc_connect_list_parser *p,
                                       struct kc_connector_list *out);
void kc_connect_model_list_parser_free(struct kc_connect_list_parser *p);

void kc_connect_model_status_clear(struct kc_connector_status *st);
void kc_connect_model_list_clear(struct kc_connector_list *list);

/* Binary search by exact name; borrowed pointer or NULL. */
const struct kc_connector_status *kc_connect_model_list_find(const struct kc_connector_list *list,
                                                             const char *name);

enum kc_state kc_connect_model_state_parse(const char *s);
/* Upper-case name, "UNKNOWN" for KC_STATE_OTHER. Static string. */
const char *kc_connect_model_state_name(enum kc_state s);
/* "source", "sink", "unknown". Static string. */
const char *kc_connect_model_type_name(enum kc_connector_type t);

/* 1 when the task's metrics can be asked for: it has a worker and is not UNASSIGNED. */
int kc_connect_model_task_queryable(const struct kc_task_status *t);

/* Distinct worker ids of the queryable tasks, in first-seen order, written to out[0..cap)
 * as borrowed pointers into st. Returns the number of distinct workers (may exceed cap). */
size_t kc_connect_model_task_workers(const struct kc_connector_status *st, const char **out,
                                     size_t cap);

#endif
