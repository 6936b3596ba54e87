/* sim_beans.h — the MBeans a worker's JVM would register, generated on the fly from the model:
 * names (Kafka's tag order and quoting) and attribute values at a given instant. */
#ifndef SIM_BEANS_H
#define SIM_BEANS_H

#include "sim_model.h"
#include "sim_objectname.h"

#include <jansson.h>

#define SIM_BEAN_VALUE_MAX 640 /* quoted tag values; names are capped at SIM_NAME_MAX */
#define SIM_ATTRS_MAX 24

enum sim_bean_kind {
    SIM_BEAN_JVM_MEMORY,
    SIM_BEAN_JVM_THREADING,
    SIM_BEAN_JVM_OS,
    SIM_BEAN_JVM_RUNTIME,
    SIM_BEAN_WORKER,
    SIM_BEAN_WORKER_REBALANCE,
    SIM_BEAN_COORDINATOR,
    SIM_BEAN_CONNECTOR,
    SIM_BEAN_WORKER_CONNECTOR,
    SIM_BEAN_CONNECTOR_TASK,
    SIM_BEAN_SOURCE_TASK,
    SIM_BEAN_SINK_TASK,
    SIM_BEAN_TASK_ERROR,
    SIM_BEAN_PRODUCER,
    SIM_BEAN_PRODUCER_TOPIC,
    SIM_BEAN_CONSUMER_FETCH,
    SIM_BEAN_CONSUMER_FETCH_TOPIC,
    SIM_BEAN_CONSUMER,
    SIM_BEAN_KIND_COUNT,
};

/* One bean as seen during an enumeration; valid only inside the callback. */
struct sim_bean {
    enum sim_bean_kind kind;
    const char *domain;
    size_t nprops;
    struct sim_on_kv props[3];        /* registration order, values as written */
    char vbuf[2][SIM_BEAN_VALUE_MAX]; /* storage for computed values */
    int worker;
    const struct sim_connector *conn; /* borrowed, NULL for worker-level beans */
    const struct sim_task *task;      /* borrowed, NULL unless a task bean */
    size_t topic;                     /* index into conn->topics for *_TOPIC beans */
};

/* Narrows an enumeration before names are built; NULL fields match anything. */
struct sim_bean_filter {
    const char *domain;    /* literal domain */
    const char *type;      /* literal value of the type key */
    const char *connector; /* exact connector name (unquoted) */
};

/* Calls fn for every bean on worker matching f (may be NULL) at time now (which beans exist
 * can depend on it); fn returns false to stop. */
typedef bool (*sim_bean_fn)(const struct sim_bean *b, void *arg);
void sim_beans_each(const struct sim_model *m, double now, int worker,
                    const struct sim_bean_filter *f, sim_bean_fn fn, void *arg);

enum sim_attr_type {
    SIM_ATTR_DOUBLE,
    SIM_ATTR_LONG,
    SIM_ATTR_STRING,
    SIM_ATTR_USAGE,
    SIM_ATTR_BOOL,    /* l: 0 or 1 */
    SIM_ATTR_IDS,     /* l: how many thread ids (long[] AllThreadIds) */
    SIM_ATTR_OBJNAME, /* s: the bean's own name; Jolokia writes {"objectName":s} */
};

struct sim_attr {
    const char *name;
    enum sim_attr_type type;
    double d;
    long long l;
    const char *s;      /* borrowed from the model or static */
    long long usage[4]; /* init, committed, max, used */
};

/* Fills out (SIM_ATTRS_MAX entries) with every attribute of b at time now; returns the count. */
size_t sim_beans_attrs(const struct sim_model *m, const struct sim_bean *b, double now,
                       struct sim_attr *out);

/* The attribute as Jolokia serialises it (Double NaN → null). New reference. */
json_t *sim_beans_attr_json(const struct sim_attr *a);

#endif
