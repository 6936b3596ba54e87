/* fuzz_config.c — libFuzzer target for kc_config_load on a config file written from the input
 * (KC_CONFIG). The loader reads the environment, so every run starts from the same one. */
#include "kc/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static char path[64];
static int fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/kc-fuzz-config-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        abort();
    return 0;
}

/* Removes every variable the loader could read (and anything else set by the harness): the
 * input file alone decides. */
static void reset_env(void)
{
    static const char *const prefixes[] = {"KC_", "KAFKA_CONNECT", "JOLOKIA", "METRICS_",
                                           "LOG_LEVEL", "LISTEN_ADDR", "CORS_"};
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; e && *e; e++) {
            for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
                if (strncmp(*e, prefixes[p], strlen(prefixes[p])) == 0) {
                    char name[256];
                    size_t n = strcspn(*e, "=");
                    if (n >= sizeof name)
                        n = sizeof name - 1;
                    memcpy(name, *e, n);
                    name[n] = '\0';
                    unsetenv(name);
                    again = 1; /* environ changed under us: rescan */
                    break;
                }
            }
            if (again)
                break;
        }
    }
    setenv("KC_CONFIG", path, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reset_env();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    char arg0[] = "kconnect-console";
    char *argv[] = {arg0, NULL};
    struct kc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[512];
    err[0] = '\0';
    if (kc_config_load(&cfg, 1, argv, err, sizeof err) == 0) {
        for (size_t i = 0; i < cfg.cluster_count; i++) {
            if (!cfg.clusters[i].name || cfg.clusters[i].connect_url_count == 0 ||
                cfg.clusters[i].connect_url_count > KC_MAX_CONNECT_URLS)
                abort();
            (void)kc_config_find_cluster(&cfg, cfg.clusters[i].name);
        }
        kc_config_free(&cfg);
    } else {
        if (err[0] == '\0' || strchr(err, '\n'))
            abort(); /* refusal is exactly one line naming the setting */
        kc_config_free(&cfg); /* as main() does: a refused load may hold partial state */
    }
    return 0;
}
