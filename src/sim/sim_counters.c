/* sim_counters.c — request counters per Connect route template and per Jolokia agent.
 * A fixed table: routes are a small static set, so no allocation on the request path. */
#include "sim_counters.h"

#include <string.h>

void sim_counters_connect(struct sim_counters *c, const char *route_key)
{
    c->connect_total++;
    if (!route_key)
        return;
    for (size_t i = 0; i < c->nroutes; i++) {
        if (c->routes[i].key == route_key || strcmp(c->routes[i].key, route_key) == 0) {
            c->routes[i].n++;
            return;
        }
    }
    if (c->nroutes < SIM_COUNTERS_ROUTES) {
        c->routes[c->nroutes].key = route_key;
        c->routes[c->nroutes].n = 1;
        c->nroutes++;
    }
}

void sim_counters_connector(struct sim_counters *c, const char *name)
{
    if (!name || strlen(name) >= SIM_COUNTERS_NAME_MAX)
        return;
    for (size_t i = 0; i < c->nconnectors; i++) {
        if (strcmp(c->connectors[i].name, name) == 0) {
            c->connectors[i].n++;
            return;
        }
    }
    if (c->nconnectors < SIM_COUNTERS_CONNECTORS) {
        strcpy(c->connectors[c->nconnectors].name, name);
        c->connectors[c->nconnectors].n = 1;
        c->nconnectors++;
    }
}

void sim_counters_jolokia(struct sim_counters *c, int worker, bool post, size_t elements)
{
    if (worker < 0 || worker >= SIM_WORKERS_MAX)
        return;
    c->jolokia[worker].total++;
    if (post)
        c->jolokia[worker].post++;
    else
        c->jolokia[worker].get++;
    c->jolokia[worker].bulk_elements += elements;
}

void sim_counters_reset(struct sim_counters *c)
{
    int workers = c->workers;
    memset(c, 0, sizeof *c);
    c->workers = workers;
}

json_t *sim_counters_json(const struct sim_counters *c)
{
    json_t *routes = json_object();
    json_t *workers = json_object();
    json_t *connectors = json_object();
    for (size_t i = 0; i < c->nconnectors; i++)
        json_object_set_new(connectors, c->connectors[i].name,
                            json_integer((json_int_t)c->connectors[i].n));
    uint64_t jtotal = 0;
    for (size_t i = 0; i < c->nroutes; i++)
        json_object_set_new(routes, c->routes[i].key, json_integer((json_int_t)c->routes[i].n));
    for (int w = 0; w < c->workers; w++) {
        jtotal += c->jolokia[w].total;
        json_object_set_new(workers, sim_model_worker_id(w),
                            json_pack("{s:I,s:I,s:I,s:I}", "total", (json_int_t)c->jolokia[w].total,
                                      "post", (json_int_t)c->jolokia[w].post, "get",
                                      (json_int_t)c->jolokia[w].get, "bulk_elements",
                                      (json_int_t)c->jolokia[w].bulk_elements));
    }
    return json_pack("{s:{s:I,s:o,s:o},s:{s:I,s:o}}", "connect", "total",
                     (json_int_t)c->connect_total, "routes", routes, "connectors", connectors,
                     "jolokia", "total", (json_int_t)jtotal, "workers", workers);
}
