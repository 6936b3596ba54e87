/* gateway.c — small shared helpers of the process context: cluster lookup and clocks. */
#include "kc/gateway.h"

#include "kc/config.h"

#include <string.h>
#include <time.h>

struct kc_cluster *kc_gateway_cluster(struct kc_gateway *gw, const char *name)
{
    for (size_t i = 0; i < gw->cluster_count; i++)
        if (strcmp(gw->clusters[i].cfg->name, name) == 0)
            return &gw->clusters[i];
    return NULL;
}

int64_t kc_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kc_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
