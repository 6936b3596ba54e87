/* sim_counters.h — how many requests each front end received, so tests can assert on the
 * gateway's upstream traffic (caching, coalescing, one bulk POST per worker). */
#ifndef SIM_COUNTERS_H
#define SIM_COUNTERS_H

#include "sim_model.h"

#include <jansson.h>
#include <stdint.h>

#define SIM_COUNTERS_ROUTES 64
#define SIM_COUNTERS_CONNECTORS 256 /* names counted; requests beyond count in the total only */
#define SIM_COUNTERS_NAME_MAX 128

struct sim_counters {
    uint64_t connect_total;
    struct {
        const char *key; /* static "METHOD /template" */
        uint64_t n;
    } routes[SIM_COUNTERS_ROUTES];
    size_t nroutes;
    struct {
        char name[SIM_COUNTERS_NAME_MAX];
        uint64_t n;
    } connectors[SIM_COUNTERS_CONNECTORS]; /* Connect requests naming each connector */
    size_t nconnectors;
    struct {
        uint64_t total, post, get, bulk_elements;
    } jolokia[SIM_WORKERS_MAX];
    int workers;
};

/* Counts one Connect request; route_key (static storage) may be NULL for unknown paths. */
void sim_counters_connect(struct sim_counters *c, const char *route_key);
/* Counts one Connect request that names a connector (its decoded name), so tests can tell
 * which connectors are being collected. */
void sim_counters_connector(struct sim_counters *c, const char *name);
/* Counts one Jolokia request of worker; elements = read requests in a POST body. */
void sim_counters_jolokia(struct sim_counters *c, int worker, bool post, size_t elements);
void sim_counters_reset(struct sim_counters *c);
/* {"connect":{"total","routes","connectors":{name:n}},"jolokia":{"total","workers":{worker_id:{…}}}}; new. */
json_t *sim_counters_json(const struct sim_counters *c);

#endif
