/* sim_model.h — the simulated cluster: connectors, their tasks, which worker runs what, and
 * counters that are a deterministic function of the seed and of the time spent RUNNING. */
#ifndef SIM_MODEL_H
#define SIM_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_NAME_MAX 200 /* longest connector name we accept (bean names stay bounded) */
#define SIM_TASKS_MAX 64 /* tasks.max is capped here */
#define SIM_TOPICS_MAX 8 /* topics per connector that get client beans */
#define SIM_WORKERS_MAX 64
#define SIM_RESTART_DELAY 0.25 /* seconds a RESTARTING instance takes to come back */
#define SIM_TASKS_DELAY 0.15   /* seconds before a new connector's tasks exist */
/* Seconds before a new (not STOPPED) connector has a status record: Connect writes it once the
 * connector has started and answers 404 "No status found" until then (seen on Kafka 4.1.1). */
#define SIM_STATUS_DELAY 0.1

enum sim_kind { SIM_SOURCE, SIM_SINK };

enum sim_state {
    SIM_UNASSIGNED,
    SIM_RUNNING,
    SIM_PAUSED,
    SIM_FAILED,
    SIM_RESTARTING,
    SIM_STOPPED,
};

struct sim_task {
    int id;
    int worker;
    enum sim_state state;
    char *trace; /* owned; set only while FAILED */
    bool ran;    /* has run since the last topics reset: its topics are active */
    /* Fixed per task from the seed: what the workload looks like. */
    double rate;             /* records per second while RUNNING */
    double bytes_per_record; /* payload bytes */
    double error_prob;       /* fraction of records that fail (tolerated) */
    double lag;              /* sink consumer lag, records */
    /* Time accounting (monotonic seconds). */
    double run_base;           /* RUNNING seconds before the current segment */
    double run_since;          /* start of the current RUNNING segment */
    double frozen_at;          /* when it last left RUNNING */
    double due;                /* RESTARTING: when it comes back */
    double lag_unknown_until;  /* records-lag-max is NaN (no fetch yet) until this time */
    /* A source task polls nothing until this time (0: never; INFINITY: until told): its source
     * has no new data. Kept by a new instance (a move or restart does not fill the source). */
    double no_data_until;
    double no_data_since; /* when the current no-data span was set */
    int64_t wall_ms_at_freeze; /* wall clock matching frozen_at, for last-error-timestamp */
};

struct sim_connector {
    char *name; /* owned */
    enum sim_kind kind;
    enum sim_state state;
    int worker;                   /* runs the connector instance */
    char *trace;                  /* owned; set only while FAILED */
    json_t *config;               /* owned; flat string map including "name" */
    char *topics[SIM_TOPICS_MAX]; /* owned; from topic/topics/kafka.topic */
    size_t ntopics;
    bool topics_kept;       /* tasks gone since (stop, reconfigure) had made topics active */
    json_t *offsets;        /* owned override after PATCH/DELETE offsets, or NULL */
    struct sim_task *tasks; /* owned array */
    size_t ntasks;
    size_t tasks_wanted;       /* tasks.max */
    double tasks_due;          /* > 0: tasks appear at this time (just created or resumed) */
    double status_due;         /* > 0: just created, no status record until this time */
    double due;                /* RESTARTING connector instance comes back at this time */
    enum sim_state restart_to; /* state after RESTARTING */
    /* Index bookkeeping, private to sim_model.c. */
    struct sim_connector *hnext;
    size_t index;
};

/* What a task's beans and the truth endpoint report at one instant. */
struct sim_task_counters {
    double running_s;
    double records;      /* source-record-write-total / sink-record-send-total */
    double polled;       /* source-record-poll-total / sink-record-read-total */
    double active;       /* in-flight records */
    double bytes;        /* payload bytes (producer-topic byte-total sum / bytes-consumed-total) */
    double errors;       /* total-record-errors */
    double records_rate; /* 0 unless RUNNING */
    double bytes_rate;
    double lag_max;        /* NaN unless a RUNNING sink */
    int64_t last_error_ms; /* 0 when no error */
};

struct sim_model {
    struct sim_connector **list; /* owned; creation order */
    size_t n, cap;
    struct sim_connector **buckets; /* hash chains by name */
    size_t nbuckets;
    int workers;
    uint64_t seed;
    unsigned rr;    /* round-robin cursor for task placement */
    double started; /* monotonic seconds at start */
    int64_t wall_start_ms;
    size_t pending;    /* instances with a due time; sim_model_advance scans only then */
    int kafka_version; /* major * 100 + minor, e.g. 309; set by the caller */
};

/* Monotonic seconds and wall-clock milliseconds. */
double sim_model_now(void);
int64_t sim_model_wall_ms(const struct sim_model *m, double now);

/* New empty model. Returns NULL on allocation failure. */
struct sim_model *sim_model_new(int workers, uint64_t seed, double now);
void sim_model_free(struct sim_model *m);

const char *sim_model_state_upper(enum sim_state s);
const char *sim_model_state_lower(enum sim_state s);
const char *sim_model_kind_name(enum sim_kind k);
/* "RUNNING" → SIM_RUNNING; returns -1 when unknown. */
int sim_model_state_parse(const char *s, enum sim_state *out);
/* Worker i's Connect worker_id ("127.0.0.{i+1}:8083"), static storage. */
const char *sim_model_worker_id(int worker);

/* Borrowed pointer or NULL. */
struct sim_connector *sim_model_find(const struct sim_model *m, const char *name);

/* Adds a connector. config is taken (also on failure); it must hold connector.class.
 * initial is RUNNING, PAUSED or STOPPED. run_s > 0 pretends its tasks already ran that long
 * (demo data); tasks_now=false lets tasks appear SIM_TASKS_DELAY later, as Connect does.
 * Returns 0, -1 on allocation failure, -2 when the name exists. */
int sim_model_create(struct sim_model *m, const char *name, enum sim_kind kind, json_t *config,
                     enum sim_state initial, double run_s, bool tasks_now, double now,
                     struct sim_connector **out);
void sim_model_delete(struct sim_model *m, struct sim_connector *c);

/* Replaces the config (taken) and restarts the tasks, counters from 0. Returns 0 or -1. */
int sim_model_reconfigure(struct sim_model *m, struct sim_connector *c, enum sim_kind kind,
                          json_t *config, double now);

void sim_model_pause(struct sim_model *m, struct sim_connector *c, double now);
void sim_model_resume(struct sim_model *m, struct sim_connector *c, double now);
void sim_model_stop(struct sim_model *m, struct sim_connector *c, double now);

/* Restart as POST /connectors/{c}/restart does: without flags only the connector instance
 * (immediately); with flags the chosen instances go RESTARTING and come back after
 * SIM_RESTART_DELAY with fresh counters. */
void sim_model_restart(struct sim_model *m, struct sim_connector *c, bool include_tasks,
                       bool only_failed, double now);
/* Task restart: fresh instance at once (RUNNING, or PAUSED under a paused connector). */
void sim_model_restart_task(struct sim_model *m, struct sim_connector *c, struct sim_task *t,
                            double now);
/* Marks a task FAILED with trace (copied; NULL = a default Java trace). at_start: it failed in
 * its start(), so this instance never ran: counters from 0 and no active topics from it.
 * Returns 0 or -1. */
int sim_model_fail_task(struct sim_model *m, struct sim_connector *c, struct sim_task *t,
                        const char *trace, bool at_start, double now);

/* Connect's active topics: a connector has them once one of its tasks ran (a task that failed
 * in start() never subscribed or sent), until PUT topics/reset. */
bool sim_model_topics_active(const struct sim_connector *c);
void sim_model_reset_topics(struct sim_connector *c);
/* A source task's source has no new data: it polls and writes nothing for ms milliseconds
 * (ms < 0: until called again with ms = 0; ms = 0 ends it now). Counters keep what they had;
 * a new instance during it stays at 0, so it has no producer-topic beans. */
void sim_model_no_data(struct sim_task *t, double ms, double now);

/* Records (or payload bytes) the task has sent to its topic k of n: Kafka's producer creates a
 * topic's sensors, so the producer-topic-metrics bean, with its first record to that topic. The
 * per-topic bytes add up to the task's byte total exactly. */
double sim_model_topic_records(const struct sim_task_counters *k, size_t topic, size_t n);
double sim_model_topic_bytes(const struct sim_task *t, const struct sim_task_counters *k,
                             size_t topic, size_t n);

/* Moves a task to another worker: a new instance there, counters from 0. */
void sim_model_move_task(struct sim_model *m, struct sim_connector *c, struct sim_task *t,
                         int worker, double now);

/* Applies due transitions (RESTARTING → back, pending task creation). Call before reading. */
void sim_model_advance(struct sim_model *m, double now);

void sim_model_task_counters(const struct sim_model *m, const struct sim_connector *c,
                             const struct sim_task *t, double now, struct sim_task_counters *out);

/* Share k of n of an integral total, so the shares add up to the total exactly. */
double sim_model_share(double total, size_t k, size_t n);

#endif
