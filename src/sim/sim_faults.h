/* sim_faults.h — injected failures per front end (Connect, each Jolokia agent) and how a
 * faulty front end answers: refused, delayed, garbage, or an HTTP error. */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include "sim_http.h"

#include <stdbool.h>

enum sim_fault_kind {
    SIM_FAULT_NONE,
    SIM_FAULT_DOWN,
    SIM_FAULT_SLOW,
    SIM_FAULT_GARBAGE,
    SIM_FAULT_500,
    SIM_FAULT_401,
    SIM_FAULT_409,
};

struct sim_fault {
    enum sim_fault_kind kind;
    unsigned delay_ms; /* SIM_FAULT_SLOW */
};

/* "none", "down", "slow", "garbage", "500", "401", "409" → kind; -1 when unknown. */
int sim_faults_parse(const char *s, enum sim_fault_kind *out);
const char *sim_faults_name(enum sim_fault_kind k);

enum sim_front { SIM_FRONT_CONNECT, SIM_FRONT_JOLOKIA };

/* Applies fault f to request r of front end `front`. Returns false when there is nothing to
 * do (serve normally). Otherwise the request is answered (error, garbage) or deferred:
 * for SLOW, serve(r, arg) runs after the delay. jolokia_ctype is the agent's Content-Type. */
bool sim_faults_answer(const struct sim_fault *f, enum sim_front front, struct sim_listener *l,
                       evhtp_request_t *r, sim_http_cb serve, void *arg, const char *jolokia_ctype);

/* The 401 a JDK BasicAuthenticator sends: challenge header, empty body. */
void sim_faults_reply_jolokia_401(evhtp_request_t *r);

#endif
