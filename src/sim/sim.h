/* sim.h — the simulator's process-wide context: options, the model, faults, counters and the
 * listeners. One instance lives in main(); every front end borrows it. */
#ifndef SIM_H
#define SIM_H

#include "sim_counters.h"
#include "sim_faults.h"
#include "sim_http.h"
#include "sim_loggers.h"
#include "sim_model.h"

#include <event2/event.h>

struct sim_options {
    int workers;
    long connectors; /* -1 = demo data */
    int tasks;
    uint64_t seed;
    int connect_port, jolokia_port, control_port;
    int jolokia_version; /* 1 or 2 */
    int jolokia_release; /* e.g. 20402 for 2.4.2: defaults changed within 2.x */
    char kafka_version[32];
};

struct sim;

/* One Jolokia agent: the agent of worker `worker`, listening on 127.0.0.{worker+1}. */
struct sim_agent {
    struct sim *sim; /* borrowed back-pointer */
    int worker;
    struct sim_listener *l; /* owned */
};

struct sim {
    struct event_base *base;
    struct sim_options opt;
    struct sim_model *model;
    struct sim_counters counters;
    struct sim_fault connect_fault;
    struct sim_fault jolokia_fault[SIM_WORKERS_MAX];
    struct sim_listener *connect; /* owned */
    struct sim_listener *control; /* owned */
    struct sim_agent agents[SIM_WORKERS_MAX];
    char *jolokia_auth; /* owned: expected "Basic …" header value; NULL = no auth */
    struct sim_loggers loggers; /* the REST worker's levels (scope=cluster lands here too) */
};

/* Request entry points of the three front ends; arg is struct sim * (agent for Jolokia). */
void sim_connect_on_request(evhtp_request_t *r, void *arg);
void sim_jolokia_on_request(evhtp_request_t *r, void *arg);
void sim_control_on_request(evhtp_request_t *r, void *arg);

/* Connect JSON views shared with the control API (new references). */
json_t *sim_connect_status_json(const struct sim *s, const struct sim_connector *c);

/* Loads demo data (connectors < 0) or n generated connectors. Returns 0 or -1. */
int sim_demo_load(struct sim *s, double now);

#endif
