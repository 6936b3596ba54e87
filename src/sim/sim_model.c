/* sim_model.c — cluster state and its time evolution. Pure: every function takes `now`
 * (monotonic seconds) so behaviour is a function of the seed and the calls made. */
#include "sim_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const DEFAULT_TRACE =
    "org.apache.kafka.connect.errors.ConnectException: Task failed (injected by connect-sim)\n"
    "\tat org.apache.kafka.connect.runtime.WorkerTask.doRun(WorkerTask.java:234)\n"
    "\tat org.apache.kafka.connect.runtime.WorkerTask.run(WorkerTask.java:277)\n"
    "\tat java.base/java.lang.Thread.run(Thread.java:840)\n";

double sim_model_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t sim_model_wall_ms(const struct sim_model *m, double now)
{
    return m->wall_start_ms + (int64_t)((now - m->started) * 1000.0);
}

const char *sim_model_state_upper(enum sim_state s)
{
    static const char *const names[] = {"UNASSIGNED", "RUNNING",    "PAUSED",
                                        "FAILED",     "RESTARTING", "STOPPED"};
    return names[s];
}

const char *sim_model_state_lower(enum sim_state s)
{
    static const char *const names[] = {"unassigned", "running",    "paused",
                                        "failed",     "restarting", "stopped"};
    return names[s];
}

const char *sim_model_kind_name(enum sim_kind k)
{
    return k == SIM_SINK ? "sink" : "source";
}

int sim_model_state_parse(const char *s, enum sim_state *out)
{
    for (int i = SIM_UNASSIGNED; i <= SIM_STOPPED; i++) {
        if (strcmp(s, sim_model_state_upper((enum sim_state)i)) == 0) {
            *out = (enum sim_state)i;
            return 0;
        }
    }
    return -1;
}

const char *sim_model_worker_id(int worker)
{
    static char ids[SIM_WORKERS_MAX][32];
    if (worker < 0 || worker >= SIM_WORKERS_MAX)
        return "";
    if (!ids[worker][0])
        snprintf(ids[worker], sizeof ids[worker], "127.0.0.%d:8083", worker + 1);
    return ids[worker];
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi). */
static double uniform(uint64_t *state, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(splitmix(state) >> 11) / 9007199254740992.0);
}

struct sim_model *sim_model_new(int workers, uint64_t seed, double now)
{
    struct sim_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nbuckets = 64;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    m->workers = workers;
    m->seed = seed;
    m->started = now;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->wall_start_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return m;
}

static void free_tasks(struct sim_connector *c)
{
    for (size_t i = 0; i < c->ntasks; i++) {
        c->topics_kept |= c->tasks[i].ran; /* the status store keeps them */
        free(c->tasks[i].trace);
    }
    free(c->tasks);
    c->tasks = NULL;
    c->ntasks = 0;
}

static void free_topics(struct sim_connector *c)
{
    for (size_t i = 0; i < c->ntopics; i++)
        free(c->topics[i]);
    c->ntopics = 0;
}

static void connector_free(struct sim_connector *c)
{
    if (!c)
        return;
    free_tasks(c);
    free_topics(c);
    free(c->name);
    free(c->trace);
    json_decref(c->config);
    json_decref(c->offsets);
    free(c);
}

void sim_model_free(struct sim_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        connector_free(m->list[i]);
    free(m->list);
    free(m->buckets);
    free(m);
}

struct sim_connector *sim_model_find(const struct sim_model *m, const char *name)
{
    struct sim_connector *c = m->buckets[fnv1a(name) & (m->nbuckets - 1)];
    while (c && strcmp(c->name, name) != 0)
        c = c->hnext;
    return c;
}

static int rehash(struct sim_model *m)
{
    size_t nb = m->nbuckets * 2;
    struct sim_connector **b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < m->n; i++) {
        struct sim_connector *c = m->list[i];
        size_t h = fnv1a(c->name) & (nb - 1);
        c->hnext = b[h];
        b[h] = c;
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
    return 0;
}

/* Appends a topic name (copied, bounded to Kafka's 249 chars); ignores empty ones. */
static void add_topic(struct sim_connector *c, const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (!len || c->ntopics == SIM_TOPICS_MAX)
        return;
    if (len > 249)
        len = 249;
    char *t = strndup(s, len);
    if (t)
        c->topics[c->ntopics++] = t;
}

static void add_topic_list(struct sim_connector *c, const char *list, const char *prefix)
{
    char buf[512];
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int n = snprintf(buf, sizeof buf, "%s%.*s", prefix, (int)len, p);
        if (n > 0)
            add_topic(c, buf, strlen(buf));
        if (!end)
            break;
        p = end + 1;
    }
}

static const char *cfg(const struct sim_connector *c, const char *key)
{
    return json_string_value(json_object_get(c->config, key));
}

/* Topics a connector writes (source) or reads (sink), from the usual config keys. */
static void derive_topics(struct sim_connector *c)
{
    free_topics(c);
    const char *v;
    if (c->kind == SIM_SINK) {
        if ((v = cfg(c, "topics")))
            add_topic_list(c, v, "");
        return;
    }
    if ((v = cfg(c, "topic")) || (v = cfg(c, "kafka.topic"))) {
        add_topic_list(c, v, "");
    } else if ((v = cfg(c, "topic.prefix"))) {
        const char *tables = cfg(c, "table.whitelist");
        if (!tables)
            tables = cfg(c, "table.include.list");
        char prefix[256];
        /* JDBC appends the table to the prefix; Debezium joins them with a dot. */
        bool debezium = tables && tables == cfg(c, "table.include.list");
        snprintf(prefix, sizeof prefix, "%s%s", v, debezium ? "." : "");
        if (tables)
            add_topic_list(c, tables, prefix);
        else
            add_topic(c, v, strlen(v));
    }
    if (c->ntopics == 0)
        add_topic(c, c->name, strlen(c->name));
}

static size_t tasks_max(const struct sim_connector *c)
{
    const char *v = cfg(c, "tasks.max");
    long n = v ? strtol(v, NULL, 10) : 1;
    if (n < 1)
        n = 1;
    if (n > SIM_TASKS_MAX)
        n = SIM_TASKS_MAX;
    return (size_t)n;
}

/* Seconds of the current RUNNING segment in which the task produced: a source with no data
 * (no_data_until in the future, INFINITY for good) polls nothing, so its counters stand. */
static double segment_s(const struct sim_task *t, double now)
{
    double from = t->run_since > t->no_data_until ? t->run_since : t->no_data_until;
    return now > from ? now - from : 0.0;
}

static void task_set_state(const struct sim_model *m, struct sim_task *t, enum sim_state st,
                           double now)
{
    if (t->state == SIM_RUNNING && st != SIM_RUNNING) {
        t->run_base += segment_s(t, now);
        t->frozen_at = now;
        t->wall_ms_at_freeze = sim_model_wall_ms(m, now);
    } else if (st == SIM_RUNNING && t->state != SIM_RUNNING) {
        t->run_since = now;
    }
    t->ran |= st == SIM_RUNNING;
    /* A failed task being restarted still shows its trace (recorded, Kafka 4.1). */
    if (st != SIM_FAILED && st != SIM_RESTARTING) {
        free(t->trace);
        t->trace = NULL;
    }
    t->state = st;
}

/* A new instance of t: fresh beans whose counters start at 0 (or at run_s for demo data). */
static void task_renew(const struct sim_model *m, struct sim_task *t, enum sim_state st,
                       double run_s, double now)
{
    if (st != SIM_RESTARTING) { /* a failed task being restarted still shows its trace */
        free(t->trace);
        t->trace = NULL;
    }
    t->state = st;
    t->ran |= st == SIM_RUNNING;
    t->run_base = run_s;
    t->run_since = now;
    t->frozen_at = now;
    t->due = 0;
    t->lag_unknown_until = 0;
    t->wall_ms_at_freeze = sim_model_wall_ms(m, now);
}

static enum sim_state task_target(const struct sim_connector *c)
{
    return c->state == SIM_PAUSED ? SIM_PAUSED : SIM_RUNNING;
}

/* Creates c->tasks_wanted fresh tasks placed round-robin over the workers. */
static int build_tasks(struct sim_model *m, struct sim_connector *c, double run_s, double now)
{
    free_tasks(c);
    if (c->state == SIM_STOPPED)
        return 0;
    c->tasks = calloc(c->tasks_wanted, sizeof *c->tasks);
    if (!c->tasks)
        return -1;
    c->ntasks = c->tasks_wanted;
    uint64_t h = fnv1a(c->name) ^ (m->seed * 0x9E3779B97F4A7C15ULL);
    for (size_t i = 0; i < c->ntasks; i++) {
        struct sim_task *t = &c->tasks[i];
        uint64_t st = h + i * 0x632BE59BD9B4E019ULL;
        t->id = (int)i;
        t->worker = (int)(m->rr++ % (unsigned)m->workers);
        t->rate = floor(uniform(&st, 40.0, 3000.0) * 10.0) / 10.0;
        t->bytes_per_record = floor(uniform(&st, 120.0, 1400.0));
        /* A quarter of the tasks never see an error; the others up to 1 in 1000 records. */
        t->error_prob = (splitmix(&st) % 4 == 0) ? 0.0 : uniform(&st, 0.00001, 0.001);
        t->lag = c->kind == SIM_SINK ? floor(uniform(&st, 0.0, 5000.0)) : 0.0;
        task_renew(m, t, task_target(c), run_s, now);
    }
    return 0;
}

int sim_model_create(struct sim_model *m, const char *name, enum sim_kind kind, json_t *config,
                     enum sim_state initial, double run_s, bool tasks_now, double now,
                     struct sim_connector **out)
{
    if (sim_model_find(m, name)) {
        json_decref(config);
        return -2;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct sim_connector **l = realloc(m->list, cap * sizeof *l);
        if (!l) {
            json_decref(config);
            return -1;
        }
        m->list = l;
        m->cap = cap;
    }
    if (m->n >= m->nbuckets && rehash(m) < 0) {
        json_decref(config);
        return -1;
    }
    struct sim_connector *c = calloc(1, sizeof *c);
    if (!c) {
        json_decref(config);
        return -1;
    }
    c->config = config;
    c->name = strdup(name);
    if (!c->name) {
        connector_free(c);
        return -1;
    }
    c->kind = kind;
    c->state = initial;
    c->worker = (int)(m->n % (size_t)m->workers);
    c->tasks_wanted = tasks_max(c);
    derive_topics(c);
    if (tasks_now) {
        if (build_tasks(m, c, run_s, now) < 0) {
            connector_free(c);
            return -1;
        }
    } else if (initial != SIM_STOPPED) {
        /* A STOPPED one starts nothing: its status is written at once (recorded on 4.1). */
        c->status_due = now + SIM_STATUS_DELAY;
        c->tasks_due = now + SIM_TASKS_DELAY;
        m->pending += 2;
    }
    size_t h = fnv1a(name) & (m->nbuckets - 1);
    c->hnext = m->buckets[h];
    m->buckets[h] = c;
    c->index = m->n;
    m->list[m->n++] = c;
    if (out)
        *out = c;
    return 0;
}

void sim_model_delete(struct sim_model *m, struct sim_connector *c)
{
    struct sim_connector **pp = &m->buckets[fnv1a(c->name) & (m->nbuckets - 1)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    memmove(&m->list[c->index], &m->list[c->index + 1], (m->n - c->index - 1) * sizeof *m->list);
    m->n--;
    for (size_t i = c->index; i < m->n; i++)
        m->list[i]->index = i;
    connector_free(c);
}

int sim_model_reconfigure(struct sim_model *m, struct sim_connector *c, enum sim_kind kind,
                          json_t *config, double now)
{
    json_decref(c->config);
    c->config = config;
    c->kind = kind;
    c->tasks_wanted = tasks_max(c);
    c->tasks_due = 0;
    derive_topics(c);
    return build_tasks(m, c, 0.0, now);
}

void sim_model_pause(struct sim_model *m, struct sim_connector *c, double now)
{
    if (c->state == SIM_STOPPED) {
        c->tasks_due = now + SIM_TASKS_DELAY;
        m->pending++;
    }
    if (c->state != SIM_FAILED)
        c->state = SIM_PAUSED;
    for (size_t i = 0; i < c->ntasks; i++)
        if (c->tasks[i].state == SIM_RUNNING)
            task_set_state(m, &c->tasks[i], SIM_PAUSED, now);
}

void sim_model_resume(struct sim_model *m, struct sim_connector *c, double now)
{
    if (c->state == SIM_STOPPED) {
        /* Resuming a stopped connector starts it again with new tasks. */
        c->tasks_due = now + SIM_TASKS_DELAY;
        m->pending++;
    }
    if (c->state == SIM_PAUSED || c->state == SIM_STOPPED)
        c->state = SIM_RUNNING;
    for (size_t i = 0; i < c->ntasks; i++)
        if (c->tasks[i].state == SIM_PAUSED)
            task_set_state(m, &c->tasks[i], SIM_RUNNING, now);
}

void sim_model_stop(struct sim_model *m, struct sim_connector *c, double now)
{
    (void)m;
    (void)now;
    c->state = SIM_STOPPED;
    c->due = 0;
    c->tasks_due = 0;
    free(c->trace);
    c->trace = NULL;
    free_tasks(c);
}

void sim_model_restart(struct sim_model *m, struct sim_connector *c, bool include_tasks,
                       bool only_failed, double now)
{
    if (!include_tasks && !only_failed) {
        if (c->state == SIM_FAILED) {
            c->state = SIM_RUNNING;
            free(c->trace);
            c->trace = NULL;
        }
        return;
    }
    if (!only_failed || c->state == SIM_FAILED) {
        c->restart_to =
            c->state == SIM_FAILED || c->state == SIM_RESTARTING ? SIM_RUNNING : c->state;
        c->state = SIM_RESTARTING;
        free(c->trace);
        c->trace = NULL;
        c->due = now + SIM_RESTART_DELAY;
        m->pending++;
    }
    if (!include_tasks)
        return;
    for (size_t i = 0; i < c->ntasks; i++) {
        struct sim_task *t = &c->tasks[i];
        if (only_failed && t->state != SIM_FAILED)
            continue;
        task_renew(m, t, SIM_RESTARTING, 0.0, now);
        t->due = now + SIM_RESTART_DELAY;
        m->pending++;
    }
}

void sim_model_restart_task(struct sim_model *m, struct sim_connector *c, struct sim_task *t,
                            double now)
{
    task_renew(m, t, task_target(c), 0.0, now);
}

int sim_model_fail_task(struct sim_model *m, struct sim_connector *c, struct sim_task *t,
                        const char *trace, bool at_start, double now)
{
    (void)c;
    char *copy = strdup(trace && *trace ? trace : DEFAULT_TRACE);
    if (!copy)
        return -1;
    if (at_start) {
        task_renew(m, t, SIM_FAILED, 0.0, now);
        t->ran = false;
    }
    task_set_state(m, t, SIM_FAILED, now);
    t->due = 0;
    free(t->trace); /* a restarting task may still hold its last trace */
    t->trace = copy;
    return 0;
}

bool sim_model_topics_active(const struct sim_connector *c)
{
    bool active = c->topics_kept;
    for (size_t i = 0; i < c->ntasks && !active; i++)
        active = c->tasks[i].ran;
    return active;
}

void sim_model_reset_topics(struct sim_connector *c)
{
    c->topics_kept = false;
    for (size_t i = 0; i < c->ntasks; i++)
        c->tasks[i].ran = false;
}

void sim_model_move_task(struct sim_model *m, struct sim_connector *c, struct sim_task *t,
                         int worker, double now)
{
    t->worker = worker;
    task_renew(m, t, task_target(c), 0.0, now);
}

void sim_model_no_data(struct sim_task *t, double ms, double now)
{
    if (t->state == SIM_RUNNING) {
        /* Keep what the segment produced so far; the new span counts from now. */
        t->run_base += segment_s(t, now);
        t->run_since = now;
    }
    t->no_data_since = now;
    t->no_data_until = ms < 0 ? INFINITY : ms == 0 ? 0.0 : now + ms / 1000.0;
}

double sim_model_topic_records(const struct sim_task_counters *k, size_t topic, size_t n)
{
    return sim_model_share(k->records, topic, n);
}

double sim_model_topic_bytes(const struct sim_task *t, const struct sim_task_counters *k,
                             size_t topic, size_t n)
{
    if (n == 0)
        return 0.0;
    /* A topic's bytes are those of its own records (cut where the record shares are cut), so a
     * topic without a record has no byte and the topics still add up to k->bytes exactly. */
    double lo = floor(k->records * (double)topic / (double)n);
    double hi = floor(k->records * (double)(topic + 1) / (double)n);
    return floor(hi * t->bytes_per_record) - floor(lo * t->bytes_per_record);
}

void sim_model_advance(struct sim_model *m, double now)
{
    if (!m->pending)
        return;
    size_t still = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct sim_connector *c = m->list[i];
        if (c->due > 0) {
            if (now >= c->due) {
                c->state = c->restart_to;
                c->due = 0;
            } else {
                still++;
            }
        }
        if (c->status_due > 0) {
            if (now >= c->status_due)
                c->status_due = 0;
            else
                still++;
        }
        if (c->tasks_due > 0) {
            if (now >= c->tasks_due) {
                double at = c->tasks_due;
                c->tasks_due = 0;
                if (build_tasks(m, c, 0.0, at) < 0)
                    c->state = SIM_FAILED; /* out of memory: say so rather than lie */
            } else {
                still++;
            }
        }
        for (size_t k = 0; k < c->ntasks; k++) {
            struct sim_task *t = &c->tasks[k];
            if (t->due <= 0)
                continue;
            if (now >= t->due) {
                /* The fresh instance started at its due time, not at this lookup. */
                task_renew(m, t, task_target(c), 0.0, t->due);
            } else {
                still++;
            }
        }
    }
    m->pending = still;
}

void sim_model_task_counters(const struct sim_model *m, const struct sim_connector *c,
                             const struct sim_task *t, double now, struct sim_task_counters *out)
{
    bool running = t->state == SIM_RUNNING;
    bool no_data = now < t->no_data_until; /* polls nothing: nothing in flight, rates 0 */
    double rs = t->run_base + (running ? segment_s(t, now) : 0.0);
    if (rs < 0)
        rs = 0;
    memset(out, 0, sizeof *out);
    out->running_s = rs;
    out->records = floor(t->rate * rs);
    double inflight = rs > 0 ? floor(t->rate * 0.05) : 0.0;
    out->polled = out->records + inflight;
    out->active = ((running && !no_data) || t->state == SIM_FAILED) ? inflight : 0.0;
    out->bytes = floor(out->records * t->bytes_per_record);
    out->errors = floor(out->records * t->error_prob);
    out->records_rate = running && !no_data ? t->rate : 0.0;
    out->bytes_rate = out->records_rate * t->bytes_per_record;
    /* A Max stat with no sample in its window is NaN: not running, or no fetch yet. */
    out->lag_max = (running && c->kind == SIM_SINK && now >= t->lag_unknown_until) ? t->lag : NAN;
    if (out->errors > 0) {
        /* When the latest error happened, on the wall clock. */
        double since = rs - out->errors / (t->rate * t->error_prob);
        if (since < 0)
            since = 0;
        int64_t ref = running ? sim_model_wall_ms(m, now) : t->wall_ms_at_freeze;
        /* A running task without data last produced when the span began (or, resumed since,
         * when it was last frozen). */
        if (running && no_data)
            ref = t->no_data_since >= t->run_since ? sim_model_wall_ms(m, t->no_data_since)
                                                   : t->wall_ms_at_freeze;
        out->last_error_ms = ref - (int64_t)(since * 1000.0);
    }
}

double sim_model_share(double total, size_t k, size_t n)
{
    if (n == 0)
        return 0.0;
    return floor(total * (double)(k + 1) / (double)n) - floor(total * (double)k / (double)n);
}
