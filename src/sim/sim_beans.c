/* sim_beans.c — bean names and attributes per WIRE §2, derived from the model at read time.
 * Nothing is stored: 5000 connectors cost no memory here, and values are always current. */
#include "sim_beans.h"

#include "sim_json.h"
#include "sim_plugins.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *domain;
    const char *type;
} KINDS[SIM_BEAN_KIND_COUNT] = {
    [SIM_BEAN_JVM_MEMORY] = {"java.lang", "Memory"},
    [SIM_BEAN_JVM_THREADING] = {"java.lang", "Threading"},
    [SIM_BEAN_JVM_OS] = {"java.lang", "OperatingSystem"},
    [SIM_BEAN_JVM_RUNTIME] = {"java.lang", "Runtime"},
    [SIM_BEAN_WORKER] = {"kafka.connect", "connect-worker-metrics"},
    [SIM_BEAN_WORKER_REBALANCE] = {"kafka.connect", "connect-worker-rebalance-metrics"},
    [SIM_BEAN_COORDINATOR] = {"kafka.connect", "connect-coordinator-metrics"},
    [SIM_BEAN_CONNECTOR] = {"kafka.connect", "connector-metrics"},
    [SIM_BEAN_WORKER_CONNECTOR] = {"kafka.connect", "connect-worker-metrics"},
    [SIM_BEAN_CONNECTOR_TASK] = {"kafka.connect", "connector-task-metrics"},
    [SIM_BEAN_SOURCE_TASK] = {"kafka.connect", "source-task-metrics"},
    [SIM_BEAN_SINK_TASK] = {"kafka.connect", "sink-task-metrics"},
    [SIM_BEAN_TASK_ERROR] = {"kafka.connect", "task-error-metrics"},
    [SIM_BEAN_PRODUCER] = {"kafka.producer", "producer-metrics"},
    [SIM_BEAN_PRODUCER_TOPIC] = {"kafka.producer", "producer-topic-metrics"},
    [SIM_BEAN_CONSUMER_FETCH] = {"kafka.consumer", "consumer-fetch-manager-metrics"},
    [SIM_BEAN_CONSUMER_FETCH_TOPIC] = {"kafka.consumer", "consumer-fetch-manager-metrics"},
    [SIM_BEAN_CONSUMER] = {"kafka.consumer", "consumer-metrics"},
};

/* Everything an enumeration carries between beans. */
struct walk {
    const struct sim_model *m;
    double now; /* the instant the beans are seen at: which producer-topic beans exist */
    int worker;
    const struct sim_bean_filter *f;
    sim_bean_fn fn;
    void *arg;
    struct sim_bean b;
    bool stop;
};

static bool wanted(const struct walk *w, enum sim_bean_kind k)
{
    const struct sim_bean_filter *f = w->f;
    if (!f)
        return true;
    if (f->domain && strcmp(f->domain, KINDS[k].domain) != 0)
        return false;
    if (f->type && strcmp(f->type, KINDS[k].type) != 0)
        return false;
    return true;
}

/* Starts bean k with its type key; the caller adds the other keys. */
static void begin(struct walk *w, enum sim_bean_kind k, const struct sim_connector *c,
                  const struct sim_task *t, size_t topic)
{
    struct sim_bean *b = &w->b;
    b->kind = k;
    b->domain = KINDS[k].domain;
    b->nprops = 1;
    b->props[0].key = "type";
    b->props[0].value = KINDS[k].type;
    b->worker = w->worker;
    b->conn = c;
    b->task = t;
    b->topic = topic;
}

/* Adds key=jmxSanitize(raw) using value buffer slot; a value that cannot fit drops the bean. */
static bool add_prop(struct walk *w, const char *key, const char *raw, int slot)
{
    struct sim_bean *b = &w->b;
    if (!raw[0])
        return true; /* Kafka drops empty tag values */
    if (!sim_objectname_quote(raw, b->vbuf[slot], sizeof b->vbuf[slot]))
        return false;
    b->props[b->nprops].key = key;
    b->props[b->nprops].value = b->vbuf[slot];
    b->nprops++;
    return true;
}

static void emit(struct walk *w)
{
    if (!w->stop && !w->fn(&w->b, w->arg))
        w->stop = true;
}

static void simple_bean(struct walk *w, enum sim_bean_kind k)
{
    if (w->stop || !wanted(w, k))
        return;
    begin(w, k, NULL, NULL, 0);
    emit(w);
}

static void worker_beans(struct walk *w)
{
    simple_bean(w, SIM_BEAN_JVM_MEMORY);
    simple_bean(w, SIM_BEAN_JVM_THREADING);
    simple_bean(w, SIM_BEAN_JVM_OS);
    simple_bean(w, SIM_BEAN_JVM_RUNTIME);
    simple_bean(w, SIM_BEAN_WORKER);
    simple_bean(w, SIM_BEAN_WORKER_REBALANCE);
    if (!w->stop && wanted(w, SIM_BEAN_COORDINATOR)) {
        char id[64];
        /* K3.7+ names the coordinator after the worker id, which holds ':' and gets quoted. */
        if (w->m->kafka_version >= 307)
            snprintf(id, sizeof id, "connect-%s", sim_model_worker_id(w->worker));
        else
            snprintf(id, sizeof id, "connect-1");
        begin(w, SIM_BEAN_COORDINATOR, NULL, NULL, 0);
        if (add_prop(w, "client-id", id, 0))
            emit(w);
    }
}

static bool task_has_clients(const struct sim_task *t)
{
    /* A FAILED task closed its producer/consumer; a restarting one has none yet. */
    return t->state == SIM_RUNNING || t->state == SIM_PAUSED;
}

/* Kafka's producer creates a topic's sensors, so its producer-topic-metrics bean, with the
 * first record to that topic: recorded on 4.1.1, a source task that has written nothing has
 * none (its pattern read is a 404) while its Connect beans are there. producer-metrics comes
 * with the producer itself. A consumer's per-topic beans are not modelled this way. */
static bool topic_bean_exists(const struct walk *w, const struct sim_connector *c,
                              const struct sim_task *t, size_t topic)
{
    if (c->kind == SIM_SINK)
        return true;
    struct sim_task_counters k;
    sim_model_task_counters(w->m, c, t, w->now, &k);
    return sim_model_topic_records(&k, topic, c->ntopics) > 0;
}

static void task_beans(struct walk *w, const struct sim_connector *c, const struct sim_task *t)
{
    char num[16];
    snprintf(num, sizeof num, "%d", t->id);
    enum sim_bean_kind connect_kinds[] = {
        SIM_BEAN_CONNECTOR_TASK,
        c->kind == SIM_SOURCE ? SIM_BEAN_SOURCE_TASK : SIM_BEAN_SINK_TASK,
        SIM_BEAN_TASK_ERROR,
    };
    for (size_t i = 0; i < 3 && !w->stop; i++) {
        if (!wanted(w, connect_kinds[i]))
            continue;
        begin(w, connect_kinds[i], c, t, 0);
        if (add_prop(w, "connector", c->name, 0) && add_prop(w, "task", num, 1))
            emit(w);
    }
    if (!task_has_clients(t) || (w->f && w->f->connector))
        return;

    char client[SIM_NAME_MAX + 64];
    char topic[256];
    snprintf(client, sizeof client, "connector-%s-%s-%d",
             c->kind == SIM_SOURCE ? "producer" : "consumer", c->name, t->id);
    enum sim_bean_kind client_kind =
        c->kind == SIM_SOURCE ? SIM_BEAN_PRODUCER : SIM_BEAN_CONSUMER_FETCH;
    enum sim_bean_kind topic_kind =
        c->kind == SIM_SOURCE ? SIM_BEAN_PRODUCER_TOPIC : SIM_BEAN_CONSUMER_FETCH_TOPIC;

    if (!w->stop && wanted(w, client_kind)) {
        begin(w, client_kind, c, t, 0);
        if (add_prop(w, "client-id", client, 0))
            emit(w);
    }
    for (size_t k = 0; k < c->ntopics && !w->stop; k++) {
        if (!wanted(w, topic_kind))
            break;
        snprintf(topic, sizeof topic, "%s", c->topics[k]);
        if (c->kind == SIM_SINK) {
            /* Consumer metrics replace '.' by '_' in topic tags (K2.0+). */
            for (char *p = topic; *p; p++)
                if (*p == '.')
                    *p = '_';
        }
        if (!topic_bean_exists(w, c, t, k))
            continue;
        begin(w, topic_kind, c, t, k);
        if (add_prop(w, "client-id", client, 0) && add_prop(w, "topic", topic, 1))
            emit(w);
    }
    if (c->kind == SIM_SINK && !w->stop && wanted(w, SIM_BEAN_CONSUMER)) {
        begin(w, SIM_BEAN_CONSUMER, c, t, 0);
        if (add_prop(w, "client-id", client, 0))
            emit(w);
    }
}

static void connector_beans(struct walk *w, const struct sim_connector *c)
{
    bool has_task = false;
    for (size_t i = 0; i < c->ntasks && !has_task; i++)
        has_task = c->tasks[i].worker == w->worker && c->tasks[i].state != SIM_UNASSIGNED;
    if (c->worker == w->worker && !w->stop && wanted(w, SIM_BEAN_CONNECTOR)) {
        begin(w, SIM_BEAN_CONNECTOR, c, NULL, 0);
        if (add_prop(w, "connector", c->name, 0))
            emit(w);
    }
    if (has_task && !w->stop && wanted(w, SIM_BEAN_WORKER_CONNECTOR)) {
        begin(w, SIM_BEAN_WORKER_CONNECTOR, c, NULL, 0);
        if (add_prop(w, "connector", c->name, 0))
            emit(w);
    }
    for (size_t i = 0; i < c->ntasks && !w->stop; i++) {
        const struct sim_task *t = &c->tasks[i];
        if (t->worker == w->worker && t->state != SIM_UNASSIGNED)
            task_beans(w, c, t);
    }
}

void sim_beans_each(const struct sim_model *m, double now, int worker,
                    const struct sim_bean_filter *f, sim_bean_fn fn, void *arg)
{
    struct walk w = {.m = m, .now = now, .worker = worker, .f = f, .fn = fn, .arg = arg};
    if (f && f->connector) {
        const struct sim_connector *c = sim_model_find(m, f->connector);
        if (c)
            connector_beans(&w, c);
        return;
    }
    worker_beans(&w);
    for (size_t i = 0; i < m->n && !w.stop; i++)
        connector_beans(&w, m->list[i]);
}

/* ---- attributes ---- */

struct worker_load {
    size_t connectors, tasks;
    double rate;
};

static void load_of(const struct sim_model *m, int worker, struct worker_load *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < m->n; i++) {
        const struct sim_connector *c = m->list[i];
        if (c->worker == worker)
            out->connectors++;
        for (size_t k = 0; k < c->ntasks; k++) {
            if (c->tasks[k].worker != worker)
                continue;
            out->tasks++;
            if (c->tasks[k].state == SIM_RUNNING)
                out->rate += c->tasks[k].rate;
        }
    }
}

struct attrs {
    struct sim_attr *a;
    size_t n;
};

static void D(struct attrs *s, const char *name, double v)
{
    if (s->n < SIM_ATTRS_MAX)
        s->a[s->n++] = (struct sim_attr){.name = name, .type = SIM_ATTR_DOUBLE, .d = v};
}

static void L(struct attrs *s, const char *name, long long v)
{
    if (s->n < SIM_ATTRS_MAX)
        s->a[s->n++] = (struct sim_attr){.name = name, .type = SIM_ATTR_LONG, .l = v};
}

static void S(struct attrs *s, const char *name, const char *v)
{
    if (s->n < SIM_ATTRS_MAX)
        s->a[s->n++] = (struct sim_attr){.name = name, .type = SIM_ATTR_STRING, .s = v};
}

static void B(struct attrs *s, const char *name, bool v)
{
    if (s->n < SIM_ATTRS_MAX)
        s->a[s->n++] = (struct sim_attr){.name = name, .type = SIM_ATTR_BOOL, .l = v};
}

static void attr_typed(struct attrs *s, const char *name, enum sim_attr_type type, long long l,
                       const char *str)
{
    if (s->n < SIM_ATTRS_MAX)
        s->a[s->n++] = (struct sim_attr){.name = name, .type = type, .l = l, .s = str};
}

static void U(struct attrs *s, const char *name, long long init, long long committed, long long max,
              long long used)
{
    if (s->n < SIM_ATTRS_MAX)
        s->a[s->n++] = (struct sim_attr){
            .name = name, .type = SIM_ATTR_USAGE, .usage = {init, committed, max, used}};
}

/* NaN when the task is not running: avg/max with no sample in the window (K2.2+). */
static double when(bool running, double v)
{
    return running ? v : NAN;
}

static double uptime_ms(const struct sim_model *m, int worker, double now)
{
    /* Workers pretend to have been up a day when the simulator starts. */
    return floor((now - m->started) * 1000.0) + 86400000.0 + worker * 1500.0;
}

/* The attribute set the real JVM's ThreadMXBean has (recorded through Jolokia 2.4.2 and 1.7.2 on
 * Java 17), in its order; the counts follow the worker's task load. */
static void threading_attrs(const struct worker_load *ld, double up, struct attrs *s)
{
    long long threads = 40 + 2 * (long long)ld->tasks;
    long long started = 120 + 3 * (long long)ld->tasks;
    long long alive_ms = (long long)up;
    B(s, "ThreadAllocatedMemorySupported", true);
    B(s, "ThreadContentionMonitoringEnabled", false);
    L(s, "CurrentThreadAllocatedBytes", 7704384);
    L(s, "TotalStartedThreadCount", started);
    L(s, "CurrentThreadUserTime", 70000000);
    B(s, "CurrentThreadCpuTimeSupported", true);
    L(s, "PeakThreadCount", threads + 6);
    attr_typed(s, "AllThreadIds", SIM_ATTR_IDS, threads, NULL);
    B(s, "ThreadAllocatedMemoryEnabled", true);
    L(s, "TotalThreadAllocatedBytes", 300000LL * alive_ms / 1000 + 26448786568LL);
    L(s, "CurrentThreadCpuTime", 84569225);
    attr_typed(s, "ObjectName", SIM_ATTR_OBJNAME, 0, "java.lang:type=Threading");
    B(s, "ThreadCpuTimeSupported", true);
    B(s, "ThreadContentionMonitoringSupported", true);
    L(s, "ThreadCount", threads);
    B(s, "ThreadCpuTimeEnabled", true);
    B(s, "ObjectMonitorUsageSupported", true);
    B(s, "SynchronizerUsageSupported", true);
    L(s, "DaemonThreadCount", 31 + 2 * (long long)ld->tasks);
}

static void jvm_attrs(const struct sim_model *m, const struct sim_bean *b, double now,
                      struct attrs *s)
{
    struct worker_load ld;
    load_of(m, b->worker, &ld);
    const long long mib = 1024LL * 1024LL;
    double wobble = 0.5 + 0.5 * sin(now / 13.0 + b->worker);
    double cpu = fmin(0.95, 0.03 + ld.rate / 60000.0 + 0.02 * wobble);
    double up = uptime_ms(m, b->worker, now);
    switch (b->kind) {
    case SIM_BEAN_JVM_MEMORY: {
        long long max = 2048 * mib;
        long long used = 180 * mib + (long long)ld.tasks * 2 * mib + (long long)(64 * mib * wobble);
        if (used > max * 9 / 10)
            used = max * 9 / 10;
        U(s, "HeapMemoryUsage", 256 * mib, 1024 * mib > used ? 1024 * mib : used, max, used);
        U(s, "NonHeapMemoryUsage", 7667712, 121 * mib, -1,
          113 * mib + (long long)ld.connectors * 4096);
        L(s, "ObjectPendingFinalizationCount", 0);
        break;
    }
    case SIM_BEAN_JVM_THREADING:
        threading_attrs(&ld, up, s);
        break;
    case SIM_BEAN_JVM_OS:
        D(s, "ProcessCpuLoad", floor(cpu * 10000.0) / 10000.0);
        D(s, "SystemCpuLoad", floor(fmin(1.0, cpu + 0.12) * 10000.0) / 10000.0);
        D(s, "CpuLoad", floor(fmin(1.0, cpu + 0.12) * 10000.0) / 10000.0);
        L(s, "ProcessCpuTime", (long long)(up * 1e6 * cpu));
        L(s, "AvailableProcessors", 4);
        D(s, "SystemLoadAverage", floor((0.4 + 3.0 * cpu) * 100.0) / 100.0);
        S(s, "Name", "Linux");
        S(s, "Arch", "amd64");
        break;
    case SIM_BEAN_JVM_RUNTIME:
        L(s, "Uptime", (long long)up);
        L(s, "StartTime", (long long)(sim_model_wall_ms(m, now) - (long long)up));
        S(s, "VmName", "OpenJDK 64-Bit Server VM");
        S(s, "VmVendor", "Eclipse Adoptium");
        S(s, "VmVersion", "17.0.12+7");
        break;
    default:
        break;
    }
}

static void worker_attrs(const struct sim_model *m, const struct sim_bean *b, double now,
                         struct attrs *s)
{
    struct worker_load ld;
    load_of(m, b->worker, &ld);
    double up = uptime_ms(m, b->worker, now);
    switch (b->kind) {
    case SIM_BEAN_WORKER:
        D(s, "connector-count", (double)ld.connectors);
        D(s, "task-count", (double)ld.tasks);
        D(s, "connector-startup-attempts-total", (double)ld.connectors);
        D(s, "connector-startup-success-total", (double)ld.connectors);
        D(s, "connector-startup-failure-total", 0.0);
        D(s, "connector-startup-success-percentage", ld.connectors ? 1.0 : 0.0);
        D(s, "connector-startup-failure-percentage", 0.0);
        D(s, "task-startup-attempts-total", (double)ld.tasks);
        D(s, "task-startup-success-total", (double)ld.tasks);
        D(s, "task-startup-failure-total", 0.0);
        D(s, "task-startup-success-percentage", ld.tasks ? 1.0 : 0.0);
        D(s, "task-startup-failure-percentage", 0.0);
        break;
    case SIM_BEAN_WORKER_REBALANCE:
        S(s, "connect-protocol", "SESSIONED");
        S(s, "leader-name", "http://127.0.0.1:8083/");
        D(s, "epoch", 3.0);
        D(s, "rebalancing", 0.0);
        D(s, "completed-rebalances-total", 3.0);
        D(s, "rebalance-avg-time-ms", 41.0);
        D(s, "rebalance-max-time-ms", 87.0);
        D(s, "time-since-last-rebalance-ms", up - 5000.0);
        break;
    case SIM_BEAN_COORDINATOR:
        D(s, "assigned-connectors", (double)ld.connectors);
        D(s, "assigned-tasks", (double)ld.tasks);
        D(s, "heartbeat-rate", 0.3333);
        D(s, "rebalance-total", 3.0);
        D(s, "rebalance-latency-avg", NAN);
        D(s, "last-heartbeat-seconds-ago", 1.0);
        break;
    default:
        break;
    }
}

static void connector_attrs(const struct sim_bean *b, struct attrs *s)
{
    const struct sim_connector *c = b->conn;
    if (b->kind == SIM_BEAN_CONNECTOR) {
        const char *cls = json_string_value(json_object_get(c->config, "connector.class"));
        const struct sim_plugin *p = cls ? sim_plugins_find_connector(cls) : NULL;
        S(s, "connector-class", cls ? cls : "");
        S(s, "connector-type", sim_model_kind_name(c->kind));
        S(s, "connector-version", p && p->version ? p->version : "3.9.0");
        S(s, "status", sim_model_state_lower(c->state));
        return;
    }
    long long n[6] = {0}; /* total running paused failed unassigned restarting */
    for (size_t i = 0; i < c->ntasks; i++) {
        const struct sim_task *t = &c->tasks[i];
        if (t->worker != b->worker)
            continue;
        n[0]++;
        switch (t->state) {
        case SIM_RUNNING:
            n[1]++;
            break;
        case SIM_PAUSED:
            n[2]++;
            break;
        case SIM_FAILED:
            n[3]++;
            break;
        case SIM_UNASSIGNED:
            n[4]++;
            break;
        case SIM_RESTARTING:
            n[5]++;
            break;
        default:
            break;
        }
    }
    L(s, "connector-total-task-count", n[0]);
    L(s, "connector-running-task-count", n[1]);
    L(s, "connector-paused-task-count", n[2]);
    L(s, "connector-failed-task-count", n[3]);
    L(s, "connector-unassigned-task-count", n[4]);
    L(s, "connector-destroyed-task-count", 0);
    L(s, "connector-restarting-task-count", n[5]);
}

static void task_attrs(const struct sim_model *m, const struct sim_bean *b, double now,
                       struct attrs *s)
{
    const struct sim_connector *c = b->conn;
    const struct sim_task *t = b->task;
    struct sim_task_counters k;
    sim_model_task_counters(m, c, t, now, &k);
    bool run = t->state == SIM_RUNNING;
    double n = c->ntopics ? (double)c->ntopics : 1.0;
    switch (b->kind) {
    case SIM_BEAN_CONNECTOR_TASK:
        S(s, "status", sim_model_state_lower(t->state));
        D(s, "running-ratio", run ? 1.0 : 0.0);
        D(s, "pause-ratio", t->state == SIM_PAUSED ? 1.0 : 0.0);
        D(s, "offset-commit-avg-time-ms", when(run, 2.5));
        D(s, "offset-commit-max-time-ms", when(run, 11.0));
        D(s, "offset-commit-success-percentage", 1.0);
        D(s, "offset-commit-failure-percentage", 0.0);
        D(s, "batch-size-avg", when(run, floor(t->rate / 10.0)));
        D(s, "batch-size-max", when(run, floor(t->rate / 4.0)));
        break;
    case SIM_BEAN_SOURCE_TASK:
        /* A record that fails conversion is taken in but never written (real Connect). */
        D(s, "source-record-poll-total", k.polled + k.errors);
        D(s, "source-record-poll-rate", k.records_rate);
        D(s, "source-record-write-total", k.records);
        D(s, "source-record-write-rate", k.records_rate);
        D(s, "poll-batch-avg-time-ms", when(run, 3.25));
        D(s, "poll-batch-max-time-ms", when(run, 18.0));
        D(s, "source-record-active-count", k.active);
        D(s, "source-record-active-count-avg", when(run, k.active));
        D(s, "source-record-active-count-max", when(run, k.active * 2.0));
        break;
    case SIM_BEAN_SINK_TASK:
        /* A record that fails conversion is read but never sent (real Connect). */
        D(s, "sink-record-read-total", k.polled + k.errors);
        D(s, "sink-record-read-rate", k.records_rate);
        D(s, "sink-record-send-total", k.records);
        D(s, "sink-record-send-rate", k.records_rate);
        D(s, "sink-record-active-count", k.active);
        D(s, "sink-record-active-count-avg", when(run, k.active));
        D(s, "sink-record-active-count-max", when(run, k.active * 2.0));
        D(s, "partition-count", t->state == SIM_FAILED ? 0.0 : n * 3.0);
        D(s, "offset-commit-seq-no", floor(k.running_s / 60.0));
        D(s, "offset-commit-completion-total", floor(k.running_s / 60.0));
        D(s, "offset-commit-completion-rate", run ? 0.0167 : 0.0);
        D(s, "offset-commit-skip-total", 0.0);
        D(s, "offset-commit-skip-rate", 0.0);
        D(s, "put-batch-avg-time-ms", when(run, 6.5));
        D(s, "put-batch-max-time-ms", when(run, 40.0));
        break;
    case SIM_BEAN_TASK_ERROR:
        D(s, "total-errors-logged", k.errors);
        D(s, "total-record-errors", k.errors);
        D(s, "total-record-failures", k.errors);
        D(s, "total-records-skipped", k.errors);
        D(s, "total-retries", 0.0);
        D(s, "deadletterqueue-produce-requests", c->kind == SIM_SINK ? k.errors : 0.0);
        D(s, "deadletterqueue-produce-failures", 0.0);
        L(s, "last-error-timestamp", k.last_error_ms);
        break;
    case SIM_BEAN_PRODUCER:
        D(s, "record-send-total", k.records);
        D(s, "record-send-rate", k.records_rate);
        D(s, "record-error-total", 0.0);
        D(s, "record-retry-total", 0.0);
        D(s, "outgoing-byte-total", floor(k.bytes * 1.08));
        D(s, "outgoing-byte-rate", k.bytes_rate * 1.08);
        D(s, "request-total", floor(k.records / 50.0));
        /* Averages over sent batches and records: no sample before the first send. */
        D(s, "batch-size-avg", when(run && k.records > 0, floor(t->bytes_per_record * 50.0)));
        D(s, "record-size-avg", when(run && k.records > 0, t->bytes_per_record));
        D(s, "request-latency-avg", when(run, 4.2));
        /* Never sampled without SASL re-authentication: NaN for good (recorded, 4.1.1). */
        D(s, "reauthentication-latency-max", NAN);
        D(s, "reauthentication-latency-avg", NAN);
        break;
    case SIM_BEAN_PRODUCER_TOPIC:
        D(s, "byte-total", sim_model_topic_bytes(t, &k, b->topic, c->ntopics));
        D(s, "byte-rate", k.bytes_rate / n);
        D(s, "record-send-total", sim_model_topic_records(&k, b->topic, c->ntopics));
        D(s, "record-send-rate", k.records_rate / n);
        D(s, "record-error-total", 0.0);
        D(s, "compression-rate", when(run, 1.0));
        break;
    case SIM_BEAN_CONSUMER_FETCH:
        D(s, "bytes-consumed-total", k.bytes);
        D(s, "bytes-consumed-rate", k.bytes_rate);
        D(s, "records-consumed-total", k.polled);
        D(s, "records-consumed-rate", k.records_rate);
        D(s, "records-lag-max", k.lag_max);
        D(s, "records-lead-min", when(run, 1000.0));
        D(s, "fetch-total", floor(k.polled / 500.0));
        D(s, "fetch-rate", k.records_rate / 500.0);
        D(s, "fetch-latency-avg", when(run, 502.0));
        break;
    case SIM_BEAN_CONSUMER_FETCH_TOPIC:
        D(s, "bytes-consumed-total", sim_model_share(k.bytes, b->topic, c->ntopics));
        D(s, "bytes-consumed-rate", k.bytes_rate / n);
        D(s, "records-consumed-total", sim_model_share(k.polled, b->topic, c->ntopics));
        D(s, "records-consumed-rate", k.records_rate / n);
        D(s, "fetch-size-avg", when(run, floor(t->bytes_per_record * 500.0)));
        D(s, "fetch-size-max", when(run, floor(t->bytes_per_record * 500.0)));
        break;
    case SIM_BEAN_CONSUMER:
        D(s, "incoming-byte-total", floor(k.bytes * 1.05));
        D(s, "incoming-byte-rate", k.bytes_rate * 1.05);
        D(s, "reauthentication-latency-max", NAN);
        D(s, "reauthentication-latency-avg", NAN);
        break;
    default:
        break;
    }
}

size_t sim_beans_attrs(const struct sim_model *m, const struct sim_bean *b, double now,
                       struct sim_attr *out)
{
    struct attrs s = {.a = out, .n = 0};
    switch (b->kind) {
    case SIM_BEAN_JVM_MEMORY:
    case SIM_BEAN_JVM_THREADING:
    case SIM_BEAN_JVM_OS:
    case SIM_BEAN_JVM_RUNTIME:
        jvm_attrs(m, b, now, &s);
        break;
    case SIM_BEAN_WORKER:
    case SIM_BEAN_WORKER_REBALANCE:
    case SIM_BEAN_COORDINATOR:
        worker_attrs(m, b, now, &s);
        break;
    case SIM_BEAN_CONNECTOR:
    case SIM_BEAN_WORKER_CONNECTOR:
        connector_attrs(b, &s);
        break;
    default:
        task_attrs(m, b, now, &s);
        break;
    }
    return s.n;
}

json_t *sim_beans_attr_json(const struct sim_attr *a)
{
    switch (a->type) {
    case SIM_ATTR_DOUBLE:
        return sim_json_double(a->d);
    case SIM_ATTR_LONG:
        return json_integer(a->l);
    case SIM_ATTR_STRING:
        return json_string(a->s);
    case SIM_ATTR_BOOL:
        return json_boolean(a->l);
    case SIM_ATTR_OBJNAME:
        return json_pack("{s:s}", "objectName", a->s);
    case SIM_ATTR_IDS: {
        /* JVM thread ids: the first few system threads, then a gap, as in the recording. */
        json_t *ids = json_array();
        for (long long i = 0; i < a->l && ids; i++)
            json_array_append_new(ids, json_integer(i < 4 ? i + 1 : i + 6));
        return ids;
    }
    case SIM_ATTR_USAGE:
        return json_pack("{s:I,s:I,s:I,s:I}", "init", (json_int_t)a->usage[0], "committed",
                         (json_int_t)a->usage[1], "max", (json_int_t)a->usage[2], "used",
                         (json_int_t)a->usage[3]);
    }
    return json_null();
}
