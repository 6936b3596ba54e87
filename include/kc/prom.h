/* kc/prom.h — Prometheus text exposition of connector metrics, from cluster summary documents.
 * Pure rendering: families in a fixed table, label values escaped, base units. */
#ifndef KC_PROM_H
#define KC_PROM_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct kc_prom_cluster {
    const char *name;
    const json_t *summary; /* borrowed; the last good cluster summary, or NULL */
    int connect_up;        /* the last collection reached Connect */
};

/* Writes every connector, task and worker family for the given clusters to out. */
void kc_prom_render_connectors(FILE *out, const struct kc_prom_cluster *clusters, size_t n);

/* The same in pieces (5,000 connectors are ~12 MB of text): where the rendering stands. */
struct kc_prom_cursor {
    size_t phase, cluster, row;
    int headed;
};
/* Renders about max_rows connector rows from *cur (zeroed to begin) on: 1 when more remains,
 * 0 when everything is written. The clusters must not change in between. */
int kc_prom_render_connectors_step(FILE *out, const struct kc_prom_cluster *clusters, size_t n,
                                   struct kc_prom_cursor *cur, size_t max_rows);

struct kc_redis_stats;
/* Writes the kconnect_redis_* families (fleet mode's Redis connection). */
void kc_prom_render_redis(FILE *out, const struct kc_redis_stats *st);
struct kc_fleet_stats;
/* kconnect_fleet_* counters (fleet mode). */
void kc_prom_render_fleet(FILE *out, const struct kc_fleet_stats *st);

/* Writes `value` as a Prometheus label value (\\, \", \n escaped). */
void kc_prom_write_label(FILE *out, const char *value);

#endif
