/* sim_faults.c — what a faulty Connect worker or Jolokia agent sends back. "down" is not
 * handled here: the control API closes the listener so connects are refused for real. */
#include "sim_faults.h"

#include <string.h>

static const char *const NAMES[] = {"none", "down", "slow", "garbage", "500", "401", "409"};

int sim_faults_parse(const char *s, enum sim_fault_kind *out)
{
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if (strcmp(s, NAMES[i]) == 0) {
            *out = (enum sim_fault_kind)i;
            return 0;
        }
    }
    return -1;
}

const char *sim_faults_name(enum sim_fault_kind k)
{
    return NAMES[k];
}

void sim_faults_reply_jolokia_401(evhtp_request_t *r)
{
    sim_http_add_header(r, "WWW-Authenticate", "Basic realm=\"jolokia\"");
    sim_http_reply(r, 401, NULL, NULL, 0);
}

/* A body that starts like an HTML error page and stops mid-tag: no JSON parser accepts it. */
static const char GARBAGE[] = "<html><head><title>502 Bad Gateway</title></head><body><h1>oops";

bool sim_faults_answer(const struct sim_fault *f, enum sim_front front, struct sim_listener *l,
                       evhtp_request_t *r, sim_http_cb serve, void *arg, const char *jolokia_ctype)
{
    static const char CT_JSON[] = "application/json";
    static const char CONNECT_500[] = "{\"error_code\":500,\"message\":\"Request timed out\"}";
    static const char CONNECT_401[] = "{\"error_code\":401,\"message\":\"Unauthorized\"}";
    static const char CONNECT_409[] =
        "{\"error_code\":409,\"message\":\"Cannot complete request momentarily due to stale "
        "configuration (typically caused by a concurrent config change)\"}";
    static const char TEXT_500[] = "500 (Internal Server Error)\n\nInjected by connect-sim\n";
    static const char TEXT_409[] = "409 (Conflict)\n\nInjected by connect-sim\n";
    bool connect = front == SIM_FRONT_CONNECT;

    switch (f->kind) {
    case SIM_FAULT_NONE:
    case SIM_FAULT_DOWN: /* a request on a connection accepted before the listener closed */
        return false;
    case SIM_FAULT_SLOW:
        if (sim_http_defer(l, r, f->delay_ms, serve, arg) < 0)
            return false; /* cannot delay: answer at once rather than not at all */
        return true;
    case SIM_FAULT_GARBAGE:
        sim_http_reply(r, 200, connect ? CT_JSON : jolokia_ctype, GARBAGE, sizeof GARBAGE - 1);
        return true;
    case SIM_FAULT_500:
        if (connect)
            sim_http_reply(r, 500, CT_JSON, CONNECT_500, sizeof CONNECT_500 - 1);
        else
            sim_http_reply(r, 500, "text/plain; charset=utf-8", TEXT_500, sizeof TEXT_500 - 1);
        return true;
    case SIM_FAULT_401:
        if (connect)
            sim_http_reply(r, 401, CT_JSON, CONNECT_401, sizeof CONNECT_401 - 1);
        else
            sim_faults_reply_jolokia_401(r);
        return true;
    case SIM_FAULT_409:
        if (connect)
            sim_http_reply(r, 409, CT_JSON, CONNECT_409, sizeof CONNECT_409 - 1);
        else
            sim_http_reply(r, 409, "text/plain; charset=utf-8", TEXT_409, sizeof TEXT_409 - 1);
        return true;
    }
    return false;
}
