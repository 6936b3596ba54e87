/* sim_main.c — connect-sim's entry point: command line, listeners (Connect, control, one
 * Jolokia agent per worker on 127.0.0.{i+1} sharing one port), signals and clean shutdown. */
#include "sim.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: connect-sim [--workers W] [--connectors N] [--tasks T] [--seed S]\n"
    "                   [--connect-port P] [--jolokia-port P] [--control-port P]\n"
    "                   [--jolokia-version 1|2|X.Y.Z] [--kafka-version X.Y.Z]\n"
    "Jolokia basic auth: set SIM_JOLOKIA_USER and SIM_JOLOKIA_PASSWORD.\n";

static int parse_long(const char *flag, const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || n < min || n > max) {
        fprintf(stderr, "connect-sim: %s needs a number in [%ld, %ld]\n", flag, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

/* "3.9.0" → 309; -1 when malformed. */
static int version_number(const char *v)
{
    int major, minor;
    if (sscanf(v, "%d.%d", &major, &minor) != 2 || major < 0 || minor < 0 || minor > 99)
        return -1;
    return major * 100 + minor;
}

/* "1", "2" (the latest behaviour modelled: 1.7.2, 2.6.0) or "X.Y.Z": the agent release as
 * major*10000+minor*100+patch, since 2.5 changed defaults the 2.4.x agents still have. */
static int jolokia_release(const char *v)
{
    int major, minor = -1, patch = 0;
    if (!v || sscanf(v, "%d.%d.%d", &major, &minor, &patch) < 1 || (major != 1 && major != 2))
        return -1;
    if (minor < 0)
        return major == 1 ? 10702 : 20600;
    if (minor > 99 || patch < 0 || patch > 99)
        return -1;
    return major * 10000 + minor * 100 + patch;
}

static int parse_args(int argc, char **argv, struct sim_options *o)
{
    *o = (struct sim_options){
        .workers = 3,
        .connectors = -1,
        .tasks = 2,
        .seed = 1,
        .connect_port = 8083,
        .jolokia_port = 8778,
        .control_port = 8099,
        .jolokia_version = 2,
        .jolokia_release = 20600,
    };
    snprintf(o->kafka_version, sizeof o->kafka_version, "3.9.0");
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n = 0;
        int rc = 0;
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            fputs(USAGE, stdout);
            exit(0);
        } else if (strcmp(f, "--workers") == 0) {
            rc = parse_long(f, v, 1, SIM_WORKERS_MAX, &n);
            o->workers = (int)n;
        } else if (strcmp(f, "--connectors") == 0) {
            rc = parse_long(f, v, 0, 1000000, &n);
            o->connectors = n;
        } else if (strcmp(f, "--tasks") == 0) {
            rc = parse_long(f, v, 1, SIM_TASKS_MAX, &n);
            o->tasks = (int)n;
        } else if (strcmp(f, "--seed") == 0) {
            rc = parse_long(f, v, 0, LONG_MAX, &n);
            o->seed = (uint64_t)n;
        } else if (strcmp(f, "--connect-port") == 0) {
            rc = parse_long(f, v, 0, 65535, &n);
            o->connect_port = (int)n;
        } else if (strcmp(f, "--jolokia-port") == 0) {
            rc = parse_long(f, v, 0, 65535, &n);
            o->jolokia_port = (int)n;
        } else if (strcmp(f, "--control-port") == 0) {
            rc = parse_long(f, v, 0, 65535, &n);
            o->control_port = (int)n;
        } else if (strcmp(f, "--jolokia-version") == 0) {
            o->jolokia_release = jolokia_release(v);
            if (o->jolokia_release < 0) {
                fprintf(stderr, "connect-sim: --jolokia-version needs 1, 2 or 1.x.y/2.x.y\n");
                return -1;
            }
            o->jolokia_version = o->jolokia_release / 10000;
        } else if (strcmp(f, "--kafka-version") == 0) {
            if (!v || version_number(v) < 0 || strlen(v) >= sizeof o->kafka_version) {
                fprintf(stderr, "connect-sim: --kafka-version needs X.Y.Z\n");
                return -1;
            }
            snprintf(o->kafka_version, sizeof o->kafka_version, "%s", v);
        } else {
            fprintf(stderr, "connect-sim: unknown option %s\n%s", f, USAGE);
            return -1;
        }
        if (rc < 0)
            return -1;
        i++;
    }
    return 0;
}

static char *base64(const char *in)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(in);
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* The Authorization header value Jolokia accepts, from the environment only (never argv). */
static int load_auth(struct sim *s)
{
    const char *user = getenv("SIM_JOLOKIA_USER");
    const char *pass = getenv("SIM_JOLOKIA_PASSWORD");
    if (!user || !pass || !*user)
        return 0;
    size_t n = strlen(user) + strlen(pass) + 2;
    char *pair = malloc(n);
    if (!pair)
        return -1;
    snprintf(pair, n, "%s:%s", user, pass);
    char *b64 = base64(pair);
    free(pair);
    if (!b64)
        return -1;
    size_t hn = strlen(b64) + 7;
    s->jolokia_auth = malloc(hn);
    if (s->jolokia_auth)
        snprintf(s->jolokia_auth, hn, "Basic %s", b64);
    free(b64);
    return s->jolokia_auth ? 0 : -1;
}

/* Binds every agent on one port: worker 0 picks it (or takes the given one), the others
 * follow on their own loopback address. With port 0 a clash means another try. */
static int bind_agents(struct sim *s)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        uint16_t port = (uint16_t)s->opt.jolokia_port;
        int i;
        for (i = 0; i < s->opt.workers; i++) {
            if (sim_http_listener_bind(s->agents[i].l, port) < 0)
                break;
            port = sim_http_listener_port(s->agents[0].l);
        }
        if (i == s->opt.workers)
            return 0;
        fprintf(stderr, "connect-sim: jolokia bind on 127.0.0.%d:%u failed: %s\n", i + 1,
                (unsigned)port, strerror(errno));
        for (int k = 0; k < s->opt.workers; k++)
            sim_http_listener_unbind(s->agents[k].l);
        if (s->opt.jolokia_port != 0)
            return -1;
    }
    return -1;
}

static int start_listeners(struct sim *s)
{
    s->connect = sim_http_listener_new(s->base, "127.0.0.1", sim_connect_on_request, s);
    s->control = sim_http_listener_new(s->base, "127.0.0.1", sim_control_on_request, s);
    if (!s->connect || !s->control)
        return -1;
    for (int i = 0; i < s->opt.workers; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.%d", i + 1);
        s->agents[i].sim = s;
        s->agents[i].worker = i;
        s->agents[i].l =
            sim_http_listener_new(s->base, addr, sim_jolokia_on_request, &s->agents[i]);
        if (!s->agents[i].l)
            return -1;
    }
    if (sim_http_listener_bind(s->connect, (uint16_t)s->opt.connect_port) < 0) {
        fprintf(stderr, "connect-sim: connect bind failed: %s\n", strerror(errno));
        return -1;
    }
    if (sim_http_listener_bind(s->control, (uint16_t)s->opt.control_port) < 0) {
        fprintf(stderr, "connect-sim: control bind failed: %s\n", strerror(errno));
        return -1;
    }
    if (bind_agents(s) < 0)
        return -1;
    printf("listening on 127.0.0.1:%u (connect)\n", (unsigned)sim_http_listener_port(s->connect));
    printf("listening on 127.0.0.1:%u (control)\n", (unsigned)sim_http_listener_port(s->control));
    for (int i = 0; i < s->opt.workers; i++)
        printf("listening on %s:%u (jolokia worker=%d)\n", sim_http_listener_addr(s->agents[i].l),
               (unsigned)sim_http_listener_port(s->agents[i].l), i);
    fflush(stdout);
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopexit(arg, NULL);
}

static void sim_free_all(struct sim *s)
{
    sim_http_listener_free(s->connect);
    sim_http_listener_free(s->control);
    for (int i = 0; i < s->opt.workers; i++)
        sim_http_listener_free(s->agents[i].l);
    sim_model_free(s->model);
    free(s->jolokia_auth);
}

int main(int argc, char **argv)
{
    static struct sim s; /* static: the agents array is large */
    if (parse_args(argc, argv, &s.opt) < 0)
        return 2;
    /* A peer that hangs up mid-reply must not kill the process. */
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    struct event *sigterm = NULL, *sigint = NULL;
    double now = sim_model_now();
    s.counters.workers = s.opt.workers;
    s.base = event_base_new();
    s.model = sim_model_new(s.opt.workers, s.opt.seed, now);
    if (!s.base || !s.model) {
        fprintf(stderr, "connect-sim: out of memory\n");
        goto out;
    }
    s.model->kafka_version = version_number(s.opt.kafka_version);
    sim_loggers_init(&s.loggers);
    if (load_auth(&s) < 0 || sim_demo_load(&s, now) < 0) {
        fprintf(stderr, "connect-sim: could not build the cluster model\n");
        goto out;
    }
    sigterm = evsignal_new(s.base, SIGTERM, on_signal, s.base);
    sigint = evsignal_new(s.base, SIGINT, on_signal, s.base);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 || evsignal_add(sigint, NULL) < 0)
        goto out;
    if (start_listeners(&s) < 0)
        goto out;
    rc = event_base_dispatch(s.base) < 0 ? 1 : 0;
out:
    sim_free_all(&s);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (s.base)
        event_base_free(s.base);
    libevent_global_shutdown();
    return rc;
}
