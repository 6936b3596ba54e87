/* kc/jolokia.h — the Jolokia side of metrics: which agent to ask, one bulk read body per
 * worker, and the parse of its answer into per-(connector, task) numbers plus JVM figures. */
#ifndef KC_JOLOKIA_H
#define KC_JOLOKIA_H

#include <jansson.h>
#include <stddef.h>

/* Agent URL for a Connect worker_id ("host:port", IPv6 as "[fd00::5]:8083"), split at the LAST
 * ':'. `{host}` (brackets kept, as a URL needs them) and `{port}` in tmpl are substituted; a
 * template without placeholders is returned as is (single-agent setup).
 * Returns new memory, or NULL when worker_id is NULL/empty (UNASSIGNED tasks are never
 * queried), when the template needs a part the id lacks or the host holds URL-breaking
 * characters (/?#@ whitespace), or on allocation failure. The URL always ends in '/' (unless it
 * has a query): the agent's endpoint is a folder, and the 1.x agent refuses it without. */
char *kc_jolokia_url_for_worker(const char *tmpl, const char *worker_id);

/* What a bulk read covers. */
enum {
    KC_JOLOKIA_TASKS = 1 << 0,  /* connector-task-metrics (status) + task-error-metrics */
    KC_JOLOKIA_SOURCE = 1 << 1, /* source-task-metrics + producer-topic-metrics (bytes) */
    KC_JOLOKIA_SINK = 1 << 2,   /* sink-task-metrics + consumer-fetch-manager-metrics */
    KC_JOLOKIA_JVM = 1 << 3,    /* java.lang Memory, Threading, OperatingSystem */
};

/* TASKS plus SOURCE and/or SINK for a Connect type (enum kc_connector_type as int); an
 * unknown type asks for both sides. JVM is the caller's choice. */
unsigned kc_jolokia_what_for_type(int connector_type);

enum kc_jolokia_elem {
    KC_JE_CONNECTOR_TASK,
    KC_JE_SOURCE_TASK,
    KC_JE_SINK_TASK,
    KC_JE_TASK_ERROR,
    KC_JE_PRODUCER_TOPIC,
    KC_JE_CONSUMER_FETCH,
    KC_JE_CONSUMER_LAG, /* records-lag-max alone: see elem_defs in jolokia.c */
    KC_JE_MEMORY,
    KC_JE_THREADING,
    KC_JE_OS,
};

#define KC_JOLOKIA_MAX_ELEMS 10

/* One bulk read: its elements in request order. Answers are matched by position against
 * this, never by Jolokia's echo of the request. */
struct kc_jolokia_plan {
    char *connector; /* owned; NULL = every connector (connector=*, client-id=*) */
    unsigned what;
    size_t count;
    enum kc_jolokia_elem elems[KC_JOLOKIA_MAX_ELEMS];
};

/* Fills *plan for one connector (copied) or all (NULL). Returns 0, -1 on allocation failure
 * or when `what` selects nothing. Release with kc_jolokia_plan_clear. */
int kc_jolokia_plan_init(struct kc_jolokia_plan *plan, const char *connector, unsigned what);
void kc_jolokia_plan_clear(struct kc_jolokia_plan *plan);

/* The POST body: a compact JSON array of read requests, attributes always given as a list so
 * the value shape does not depend on their count. One connector: pattern reads scoped with
 * connector=<jmxSanitize(name)>,task=* and client-id=<quoted "connector-producer-<name>-">*
 * (,topic=* for producer-topic-metrics). All connectors: connector=*, and client-id=* filtered
 * while parsing (a quoted client id never matches an unquoted `connector-producer-*` pattern).
 * Returns new memory (free()) and its length in *len (may be NULL); NULL on allocation
 * failure. */
char *kc_jolokia_plan_body(const struct kc_jolokia_plan *plan, size_t *len);

/* A set of connector names (borrowed strings that must outlive the set) used to resolve
 * client ids "connector-producer-<name>-<task>" in an all-connectors read. */
struct kc_jolokia_names;
struct kc_jolokia_names *kc_jolokia_names_new(const char *const *names, size_t count); /* new */
/* The same filled a name at a time (a 20,000-name list, in slices): room for `count` names,
 * at most that many adds. */
struct kc_jolokia_names *kc_jolokia_names_sized(size_t count); /* new */
void kc_jolokia_names_add(struct kc_jolokia_names *set, const char *name);
void kc_jolokia_names_free(struct kc_jolokia_names *set);
int kc_jolokia_names_contains(const struct kc_jolokia_names *set, const char *name);

/* Numbers of one task as read from one worker. `has` says which fields hold a value: JMX
 * NaN/Infinity (JSON null) and absent beans leave the bit clear, never a 0. */
enum {
    KC_JT_RECORDS = 1 << 0,      /* source-record-write-total | sink-record-send-total */
    KC_JT_RECORDS_RATE = 1 << 1, /* source-record-write-rate | sink-record-send-rate */
    KC_JT_BYTES = 1 << 2,        /* Σ topics producer byte-total | consumer bytes-consumed-total */
    KC_JT_BYTES_RATE = 1 << 3,   /* Σ topics producer byte-rate | consumer bytes-consumed-rate */
    KC_JT_ERRORS = 1 << 4,       /* total-record-errors */
    KC_JT_LAG = 1 << 5,          /* consumer records-lag-max */
    KC_JT_STATUS = 1 << 6,       /* connector-task-metrics status seen */
    KC_JT_ERRORS_LOGGED = 1 << 7,
    KC_JT_RECORD_FAILURES = 1 << 8,
    KC_JT_TAKEN = 1 << 9,        /* source-record-poll-total | sink-record-read-total */
};

struct kc_jmx_task {
    const char *connector; /* owned by the result */
    int task;
    unsigned has;
    double records_total, records_rate;
    double taken_total; /* records the task took in: polled (source) / read (sink), before
                           conversion, so it counts the records that failed it */
    double bytes_total, bytes_rate;
    double errors_total, errors_logged, record_failures;
    double lag_max;
    char status[16];       /* connector-task-metrics status, e.g. "running", "failed" */
};

enum {
    KC_JVM_HEAP = 1 << 0,    /* heap_used, heap_max, heap_committed */
    KC_JVM_THREADS = 1 << 1,
    KC_JVM_CPU = 1 << 2,     /* process_cpu_load >= 0 */
    KC_JVM_SYSCPU = 1 << 3,  /* system_cpu_load >= 0 */
};

struct kc_jmx_jvm {
    unsigned has;
    double heap_used, heap_max, heap_committed; /* bytes; heap_max may be -1 (undefined) */
    double thread_count;
    double process_cpu_load, system_cpu_load;   /* 0..1; negative = unavailable */
};

/* The parsed answer of one worker's bulk read. */
struct kc_jmx_result;
struct kc_jmx_result *kc_jolokia_result_new(void); /* new; NULL on allocation failure */
void kc_jolokia_result_free(struct kc_jmx_result *r);

/* Parses a bulk answer (any Content-Type; `\/` escapes are plain JSON) against `plan`.
 * Element `status` 200 → values; 404 of a pattern read → no data; any other status → a
 * warning "<label>: <what> read failed: status N (<error_type>)", the other elements still
 * count. Client-id beans count only when the text after the prefix is `<known name>-<digits>`
 * (one connector: that name; all connectors: a name in `known`, or any name when known is
 * NULL). `label` (e.g. "jolokia 10.20.0.12:8083") prefixes warnings; borrowed.
 * Returns 0, or -1 when the whole body is unusable (invalid JSON, not an array — e.g. J1.x's
 * single error object for a malformed bulk) with one warning saying why, or on allocation
 * failure. Parsing into a result that already holds data adds to it. */
int kc_jolokia_parse_bulk(const struct kc_jolokia_plan *plan, const char *body, size_t len,
                          const char *label, const struct kc_jolokia_names *known,
                          struct kc_jmx_result *out);

/* The same parse in pieces, for big answers (a 5,000-connector worker answers ~2 MB): a
 * structure scan (kc/jsplit.h) reports each element's status and each bean of a pattern read's
 * value map; jansson parses one bean at a time. plan, body, known and out are borrowed and must
 * outlive the parser. An answer that is not an array (an agent's error object, small) is
 * parsed whole, as above. Same warnings, same result. */
struct kc_jolokia_parser;
struct kc_jolokia_parser *kc_jolokia_parser_new(const struct kc_jolokia_plan *plan,
                                                const char *body, size_t len, const char *label,
                                                const struct kc_jolokia_names *known,
                                                struct kc_jmx_result *out);
/* Works through about `budget` bytes: 1 when more remains, else what kc_jolokia_parse_bulk
 * returns (0, or -1 with its warning first among the ones this parse added). */
int kc_jolokia_parser_step(struct kc_jolokia_parser *p, size_t budget);
void kc_jolokia_parser_free(struct kc_jolokia_parser *p);

/* The same for plan's elements at [first, first + plan->count) of an answer already parsed
 * (several plans share one bulk POST: kc/batch.h). Elements past the array's end count as not
 * answered; the caller reports a short answer. 0, or -1 on allocation failure. */
int kc_jolokia_parse_bulk_slice(const struct kc_jolokia_plan *plan, const json_t *answer,
                                size_t first, const char *label,
                                const struct kc_jolokia_names *known, struct kc_jmx_result *out);

/* Borrowed lookups, valid until the result is freed. */
const struct kc_jmx_task *kc_jolokia_result_task(const struct kc_jmx_result *r,
                                                 const char *connector, int task);
size_t kc_jolokia_result_task_count(const struct kc_jmx_result *r);
const struct kc_jmx_task *kc_jolokia_result_task_at(const struct kc_jmx_result *r, size_t i);
const struct kc_jmx_jvm *kc_jolokia_result_jvm(const struct kc_jmx_result *r);
size_t kc_jolokia_result_warning_count(const struct kc_jmx_result *r);
const char *kc_jolokia_result_warning(const struct kc_jmx_result *r, size_t i);
/* Adds a warning (copied); 0 or -1 on allocation failure. */
int kc_jolokia_result_add_warning(struct kc_jmx_result *r, const char *text);

#endif
