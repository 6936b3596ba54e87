/* prom.c — renders cluster summaries as Prometheus metric families. Each family is written
 * once with HELP/TYPE and then its samples for every cluster, as the text format requires. */
#include "kc/prom.h"

#include "kc/redis.h"
#include "kc/fleet.h"

#include <math.h>
#include <string.h>

void kc_prom_write_label(FILE *out, const char *v)
{
    fputc('"', out);
    for (; v && *v; v++) {
        if (*v == '\\')
            fputs("\\\\", out);
        else if (*v == '"')
            fputs("\\\"", out);
        else if (*v == '\n')
            fputs("\\n", out);
        else
            fputc(*v, out);
    }
    fputc('"', out);
}

static void family_header(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void write_value(FILE *out, double v)
{
    if (isnan(v))
        fputs("NaN", out);
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(out, "%.0f", v);
    else
        fprintf(out, "%.9g", v);
}

/* What one connector-level family reads from a summary row. */
enum row_value { RV_RECORDS, RV_BYTES, RV_ERRORS, RV_RPS, RV_BPS, RV_ERROR_RATIO, RV_LAG };

static const struct {
    const char *name, *type, *help;
    enum row_value value;
} connector_families[] = {
    {"kconnect_connector_records_total", "counter",
     "Records processed by the connector's tasks since they started.", RV_RECORDS},
    {"kconnect_connector_bytes_total", "counter", "Bytes produced (sources) or consumed (sinks).",
     RV_BYTES},
    {"kconnect_connector_errors_total", "counter", "Record errors of the connector's tasks.",
     RV_ERRORS},
    {"kconnect_connector_records_per_second", "gauge", "Records per second.", RV_RPS},
    {"kconnect_connector_bytes_per_second", "gauge", "Bytes per second.", RV_BPS},
    {"kconnect_connector_error_ratio", "gauge",
     "Record errors divided by the records taken in (0..1).",
     RV_ERROR_RATIO},
    {"kconnect_connector_lag_records", "gauge", "Max consumer lag in records (sinks).", RV_LAG},
};

static int row_number(const json_t *row, enum row_value v, double *out)
{
    const char *key = NULL;
    double scale = 1;
    switch (v) {
    case RV_RECORDS:
        key = "totalRecords";
        break;
    case RV_BYTES:
        key = "totalBytes";
        break;
    case RV_ERRORS:
        key = "totalErrors";
        break;
    case RV_RPS:
        key = "recordsPerSecond";
        break;
    case RV_BPS:
        key = "bytesPerSecond";
        break;
    case RV_ERROR_RATIO:
        key = "errorRate";
        scale = 0.01; /* the API's percentage → a ratio in base units */
        break;
    case RV_LAG:
        key = "lag";
        break;
    }
    const json_t *j = json_object_get(row, key);
    if (!json_is_number(j))
        return -1;
    *out = json_number_value(j) * scale;
    return 0;
}

static void labels_connector(FILE *out, const char *cluster, const json_t *row, int with_type)
{
    fputs("{cluster=", out);
    kc_prom_write_label(out, cluster);
    fputs(",connector=", out);
    kc_prom_write_label(out, json_string_value(json_object_get(row, "name")));
    if (with_type) {
        fputs(",type=", out);
        kc_prom_write_label(out, json_string_value(json_object_get(row, "type")));
    }
}

static const char *const connector_states[] = {"RUNNING", "PAUSED",     "STOPPED",
                                               "FAILED",  "UNASSIGNED", "RESTARTING"};
static const char *const task_state_keys[] = {"running", "failed", "paused", "unassigned",
                                              "restarting"};

/* Per task: [id, state, workerId, records, bytes, errors] rows of "taskList". */
static const struct {
    const char *name, *type, *help;
    size_t column;
} task_families[] = {
    {"kconnect_task_state", "gauge", "1 for the task's current state.", 1},
    {"kconnect_task_records_total", "counter", "Records processed by the task.", 3},
    {"kconnect_task_bytes_total", "counter", "Bytes produced or consumed by the task.", 4},
    {"kconnect_task_errors_total", "counter", "Record errors of the task.", 5},
};

#define N_CONN_FAM (sizeof connector_families / sizeof connector_families[0])
#define N_TASK_FAM (sizeof task_families / sizeof task_families[0])
/* Phases: 0 connect_up, then one per connector family, state, tasks, one per task family
 * (all per row, resumable), then the worker families (small, at once). */
#define PH_CONN 1
#define PH_STATE (PH_CONN + N_CONN_FAM)
#define PH_TASKS (PH_STATE + 1)
#define PH_TASK_FAM (PH_TASKS + 1)
#define PH_WORKERS (PH_TASK_FAM + N_TASK_FAM)

static void phase_header(FILE *out, size_t ph)
{
    if (ph >= PH_CONN && ph < PH_STATE)
        family_header(out, connector_families[ph - PH_CONN].name,
                      connector_families[ph - PH_CONN].type, connector_families[ph - PH_CONN].help);
    else if (ph == PH_STATE)
        family_header(out, "kconnect_connector_state", "gauge",
                      "1 for the connector's current state.");
    else if (ph == PH_TASKS)
        family_header(out, "kconnect_connector_tasks", "gauge", "Tasks of the connector by state.");
    else
        family_header(out, task_families[ph - PH_TASK_FAM].name,
                      task_families[ph - PH_TASK_FAM].type, task_families[ph - PH_TASK_FAM].help);
}

/* One summary row's samples of one phase's family. */
static void phase_row(FILE *out, size_t ph, const char *cluster, const json_t *row)
{
    if (ph >= PH_CONN && ph < PH_STATE) {
        size_t f = ph - PH_CONN;
        double v;
        if (row_number(row, connector_families[f].value, &v) != 0)
            return;
        fputs(connector_families[f].name, out);
        labels_connector(out, cluster, row, connector_families[f].value != RV_LAG);
        fputs("} ", out);
        write_value(out, v);
        fputc('\n', out);
    } else if (ph == PH_STATE) {
        const char *state = json_string_value(json_object_get(row, "state"));
        for (size_t s = 0; s < sizeof connector_states / sizeof connector_states[0]; s++) {
            fputs("kconnect_connector_state", out);
            labels_connector(out, cluster, row, 1);
            fputs(",state=", out);
            kc_prom_write_label(out, connector_states[s]);
            fprintf(out, "} %d\n", state && strcmp(state, connector_states[s]) == 0);
        }
    } else if (ph == PH_TASKS) {
        const json_t *tasks = json_object_get(row, "tasks");
        for (size_t s = 0; s < sizeof task_state_keys / sizeof task_state_keys[0]; s++) {
            fputs("kconnect_connector_tasks", out);
            labels_connector(out, cluster, row, 0);
            char upper[16];
            size_t k;
            for (k = 0; task_state_keys[s][k] && k < sizeof upper - 1; k++)
                upper[k] = (char)(task_state_keys[s][k] - 32);
            upper[k] = '\0';
            fputs(",state=", out);
            kc_prom_write_label(out, upper);
            fprintf(out, "} %lld\n",
                    (long long)json_integer_value(json_object_get(tasks, task_state_keys[s])));
        }
    } else {
        size_t f = ph - PH_TASK_FAM;
        size_t t;
        const json_t *task;
        json_array_foreach(json_object_get(row, "taskList"), t, task)
        {
            fputs(task_families[f].name, out);
            labels_connector(out, cluster, row, 0);
            fprintf(out, ",task=\"%lld\"", (long long)json_integer_value(json_array_get(task, 0)));
            if (task_families[f].column == 1) {
                fputs(",state=", out);
                kc_prom_write_label(out, json_string_value(json_array_get(task, 1)));
                fputs("} 1\n", out);
            } else {
                fputs("} ", out);
                write_value(out, json_number_value(json_array_get(task, task_families[f].column)));
                fputc('\n', out);
            }
        }
    }
}

static void render_connect_up(FILE *out, const struct kc_prom_cluster *cl, size_t n)
{
    family_header(out, "kconnect_connect_up", "gauge",
                  "Whether the last collection reached Kafka Connect.");
    for (size_t c = 0; c < n; c++) {
        fputs("kconnect_connect_up{cluster=", out);
        kc_prom_write_label(out, cl[c].name);
        fprintf(out, "} %d\n", cl[c].connect_up ? 1 : 0);
    }
}

static void render_workers(FILE *out, const struct kc_prom_cluster *cl, size_t n)
{
    static const struct {
        const char *name, *help, *key;
        double scale;
    } worker_families[] = {
        {"kconnect_worker_heap_used_bytes", "JVM heap used.", "heapUsedMB", 1048576.0},
        {"kconnect_worker_heap_max_bytes", "JVM heap maximum.", "heapMaxMB", 1048576.0},
        {"kconnect_worker_cpu_ratio", "JVM process CPU load (0..1).", "cpuPercent", 0.01},
        {"kconnect_worker_threads", "JVM live threads.", "threadCount", 1},
    };
    for (size_t f = 0; f < sizeof worker_families / sizeof worker_families[0]; f++) {
        family_header(out, worker_families[f].name, "gauge", worker_families[f].help);
        for (size_t c = 0; c < n; c++) {
            size_t i;
            const json_t *w;
            json_array_foreach(json_object_get(cl[c].summary, "workers"), i, w)
            {
                const json_t *v = json_object_get(w, worker_families[f].key);
                if (!json_is_number(v))
                    continue;
                fprintf(out, "%s{cluster=", worker_families[f].name);
                kc_prom_write_label(out, cl[c].name);
                fputs(",worker=", out);
                kc_prom_write_label(out, json_string_value(json_object_get(w, "workerId")));
                fputs("} ", out);
                write_value(out, json_number_value(v) * worker_families[f].scale);
                fputc('\n', out);
            }
        }
    }
    family_header(out, "kconnect_jolokia_up", "gauge", "Whether the worker's Jolokia agent answered.");
    for (size_t c = 0; c < n; c++) {
        size_t i;
        const json_t *w;
        json_array_foreach(json_object_get(cl[c].summary, "workers"), i, w)
        {
            fputs("kconnect_jolokia_up{cluster=", out);
            kc_prom_write_label(out, cl[c].name);
            fputs(",worker=", out);
            kc_prom_write_label(out, json_string_value(json_object_get(w, "workerId")));
            fprintf(out, "} %d\n",
                    json_is_true(json_object_get(json_object_get(w, "jolokia"), "reachable")));
        }
    }
}

int kc_prom_render_connectors_step(FILE *out, const struct kc_prom_cluster *cl, size_t n,
                                   struct kc_prom_cursor *cur, size_t max_rows)
{
    size_t budget = max_rows;
    while (cur->phase <= PH_WORKERS) {
        if (cur->phase == 0 || cur->phase == PH_WORKERS) {
            if (cur->phase == 0)
                render_connect_up(out, cl, n);
            else
                render_workers(out, cl, n);
            cur->phase++;
            continue;
        }
        if (!cur->headed) {
            phase_header(out, cur->phase);
            cur->headed = 1;
        }
        for (; cur->cluster < n; cur->cluster++, cur->row = 0) {
            const json_t *rows = json_object_get(cl[cur->cluster].summary, "connectors");
            for (size_t nr = json_array_size(rows); cur->row < nr; cur->row++) {
                if (budget-- == 0)
                    return 1;
                phase_row(out, cur->phase, cl[cur->cluster].name, json_array_get(rows, cur->row));
            }
        }
        cur->phase++;
        cur->cluster = cur->row = 0;
        cur->headed = 0;
    }
    return 0;
}

void kc_prom_render_connectors(FILE *out, const struct kc_prom_cluster *cl, size_t n)
{
    struct kc_prom_cursor cur = {0};
    kc_prom_render_connectors_step(out, cl, n, &cur, (size_t)-1);
}

void kc_prom_render_redis(FILE *out, const struct kc_redis_stats *st)
{
    const struct {
        const char *name, *type, *help;
        double value;
    } families[] = {
        {"kconnect_redis_up", "gauge", "1 in fleet mode (Redis READY), 0 in local fallback.",
         st->reachable ? 1 : 0},
        {"kconnect_redis_latency_seconds", "gauge", "Round trip of the last Redis PING.",
         st->latency_ms >= 0 ? st->latency_ms / 1000.0 : NAN},
        {"kconnect_redis_commands_total", "counter", "Commands sent to Redis.",
         (double)st->commands},
        {"kconnect_redis_timeouts_total", "counter",
         "Redis commands and connects that timed out (each drops the connection).",
         (double)st->timeouts},
        {"kconnect_redis_errors_total", "counter", "Error replies from Redis.", (double)st->errors},
        {"kconnect_redis_reconnects_total", "counter", "Connection attempts after the first.",
         (double)st->reconnects},
        {"kconnect_redis_fallbacks_total", "counter",
         "Falls from fleet mode to local mode (READY lost).", (double)st->fallbacks},
    };
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        family_header(out, families[f].name, families[f].type, families[f].help);
        fputs(families[f].name, out);
        fputc(' ', out);
        write_value(out, families[f].value);
        fputc('\n', out);
    }
}

void kc_prom_render_fleet(FILE *out, const struct kc_fleet_stats *st)
{
    const struct {
        const char *name, *help;
        unsigned long long value;
    } families[] = {
        {"kconnect_fleet_hits_total",
         "Documents served from the fleet's store in Redis instead of a collection here.",
         st->hits},
        {"kconnect_fleet_lease_wins_total", "Collections this replica made for the fleet.",
         st->lease_wins},
        {"kconnect_fleet_lease_losses_total",
         "Collections another replica was making: this one waited for its publish.",
         st->lease_losses},
        {"kconnect_fleet_lease_expired_waits_total",
         "Waits that ended without a publish (the holder died): asked again.",
         st->lease_expired_waits},
        {"kconnect_fleet_published_total", "Documents this replica stored and published.",
         st->published},
        {"kconnect_fleet_received_total", "Published documents received from the fleet.",
         st->received},
        {"kconnect_fleet_applied_total",
         "Fleet documents that replaced this replica's copy (readers, streams, cache).",
         st->applied},
        {"kconnect_fleet_local_fallbacks_total",
         "Collections made locally because Redis could not serve fleet mode.",
         st->local_fallbacks},
        {"kconnect_fleet_errors_total", "Fleet operations Redis refused or answered wrongly.",
         st->errors},
    };
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        family_header(out, families[f].name, "counter", families[f].help);
        fprintf(out, "%s %llu\n", families[f].name, families[f].value);
    }
}
