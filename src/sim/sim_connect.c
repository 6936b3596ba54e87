/* sim_connect.c — the Kafka Connect REST API (WIRE §1): a route table, Jersey-like 404/405/415
 * handling and handlers that read and change the model, with Connect's exact error texts. */
#include "sim.h"
#include "sim_json.h"
#include "sim_plugins.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CT_JSON "application/json"
#define MAX_SEGMENTS 8

/* One request being served; lives on the stack of serve(). */
struct req {
    struct sim *sim;
    evhtp_request_t *r;
    const struct route *route;
    char *name;   /* owned: decoded {name} */
    char *plugin; /* owned: decoded {plugin} */
    int task;     /* {task} */
    double now;
};

typedef void (*handler_fn)(struct req *q);

/* What Jersey lets through, from the resource class's @Consumes: RootResource declares none;
 * the others consume JSON, so any other media type is a 415 even without a body. */
enum media {
    M_ANY,  /* no @Consumes: any Content-Type */
    M_JSON, /* @Consumes(JSON), no body read */
    M_BODY, /* @Consumes(JSON) and reads a JSON body */
};

struct route {
    htp_method method;
    const char *path;   /* template; {name} {task} {plugin} match one segment */
    const char *key;    /* counter key, "METHOD /template" */
    int min_version;    /* first Kafka version (major*100+minor) that has it */
    int max_version;    /* last one, 0 = still there */
    enum media media;
    handler_fn fn;
};

/* ---- replies ---- */

/* Replies with body (taken); NULL body means an allocation failed somewhere. */
static void reply_json(struct req *q, int status, json_t *body)
{
    if (!body) {
        static const char OOM[] = "{\"error_code\":500,\"message\":\"Out of memory\"}";
        sim_http_reply(q->r, 500, CT_JSON, OOM, sizeof OOM - 1);
        return;
    }
    sim_http_reply_json(q->r, status, CT_JSON, body, 0);
    json_decref(body);
}

static void reply_empty(struct req *q, int status)
{
    sim_http_reply(q->r, status, NULL, NULL, 0);
}

__attribute__((format(printf, 3, 4))) static void reply_error(struct req *q, int status,
                                                              const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply_json(q, status, json_pack("{s:i,s:s}", "error_code", status, "message", msg));
}

/* ---- JSON views ---- */

/* Kafka 4.1 status entries name the plugin version running (recorded, connector and each task):
 * the plugin's own, or the worker's Kafka version for Apache's plugins. NULL before 4.1. */
static const char *status_version(const struct sim *s, const struct sim_connector *c)
{
    if (s->model->kafka_version < 401)
        return NULL;
    const struct sim_plugin *p =
        sim_plugins_find_connector(json_string_value(json_object_get(c->config, "connector.class")));
    return p && p->version ? p->version : s->opt.kafka_version;
}

static json_t *task_status_json(const struct sim *s, const struct sim_connector *c,
                                const struct sim_task *t)
{
    json_t *o = json_pack("{s:i,s:s,s:s}", "id", t->id, "state", sim_model_state_upper(t->state),
                          "worker_id", sim_model_worker_id(t->worker));
    const char *v = status_version(s, c);
    if (o && v)
        json_object_set_new(o, "version", json_string(v));
    /* A task restarting after a failure keeps its trace until it runs (recorded). */
    if (o && t->trace && (t->state == SIM_FAILED || t->state == SIM_RESTARTING))
        json_object_set_new(o, "trace", json_string(t->trace));
    return o;
}

json_t *sim_connect_status_json(const struct sim *s, const struct sim_connector *c)
{
    json_t *conn = json_pack("{s:s,s:s}", "state", sim_model_state_upper(c->state), "worker_id",
                             sim_model_worker_id(c->worker));
    const char *v = status_version(s, c);
    if (conn && v)
        json_object_set_new(conn, "version", json_string(v));
    if (conn && c->trace && c->state == SIM_FAILED)
        json_object_set_new(conn, "trace", json_string(c->trace));
    json_t *tasks = json_array();
    for (size_t i = 0; i < c->ntasks && tasks; i++)
        json_array_append_new(tasks, task_status_json(s, c, &c->tasks[i]));
    return json_pack("{s:s,s:o,s:o,s:s}", "name", c->name, "connector", conn, "tasks", tasks,
                     "type", sim_model_kind_name(c->kind));
}

/* [{"connector","task"}…] of c's current tasks; new reference. */
static json_t *task_ids_json(const struct sim_connector *c)
{
    json_t *tasks = json_array();
    for (size_t i = 0; i < c->ntasks && tasks; i++)
        json_array_append_new(tasks,
                              json_pack("{s:s,s:i}", "connector", c->name, "task", c->tasks[i].id));
    return tasks;
}

/* ConnectorInfo with the given task list (taken). */
static json_t *info_json_tasks(const struct sim_connector *c, json_t *tasks)
{
    return json_pack("{s:s,s:O,s:o,s:s}", "name", c->name, "config", c->config, "tasks", tasks,
                     "type", sim_model_kind_name(c->kind));
}

static json_t *info_json(const struct sim_connector *c)
{
    return info_json_tasks(c, task_ids_json(c));
}

/* Java's String.hashCode over the UTF-16 code units of a UTF-8 key. */
static uint32_t java_string_hash(const char *s)
{
    uint32_t h = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = *p++;
        int more = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        if (more)
            cp &= 0x3Fu >> more;
        for (; more > 0 && (*p & 0xC0) == 0x80; more--)
            cp = (cp << 6) | (*p++ & 0x3F);
        if (cp >= 0x10000) { /* a surrogate pair */
            cp -= 0x10000;
            h = 31 * h + (0xD800 + (cp >> 10));
            cp = 0xDC00 + (cp & 0x3FF);
        }
        h = 31 * h + cp;
    }
    return h;
}

/* Java's Map.toString: {k=v, k=v}, as Connect prints a config in an error. The map there is a
 * HashMap copied from the request's (new HashMap<>(map), Java 17): its capacity is
 * tableSizeFor((int)(n / 0.75 + 1)) and it iterates bucket by bucket, each bucket in insertion
 * order (recorded: {name=rec-bad, tasks.max=1} for a body giving tasks.max first). Buckets of 8+
 * keys would become trees; configs that print here are far smaller. */
static void map_to_string(const json_t *config, char *out, size_t cap)
{
    enum { MAX_KEYS = 256 };
    const char *keys[MAX_KEYS];
    uint32_t bucket[MAX_KEYS];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)config, k, v)
    {
        if (n < MAX_KEYS)
            keys[n++] = k;
    }
    uint32_t buckets = 1;
    while (buckets < (uint32_t)((float)n / 0.75f + 1.0f))
        buckets <<= 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t h = java_string_hash(keys[i]);
        bucket[i] = (h ^ (h >> 16)) & (buckets - 1);
    }
    /* Stable insertion sort by bucket keeps each bucket's insertion order. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && bucket[j - 1] > bucket[j]; j--) {
            uint32_t b = bucket[j];
            bucket[j] = bucket[j - 1];
            bucket[j - 1] = b;
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    size_t o = (size_t)snprintf(out, cap, "{");
    for (size_t i = 0; i < n && o < cap; i++) {
        v = json_object_get(config, keys[i]);
        o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", i ? ", " : "", keys[i],
                              json_is_string(v) ? json_string_value(v) : "null");
    }
    if (o < cap)
        snprintf(out + o, cap - o, "}");
}

/* ---- request bodies ---- */

/* Where the innermost container still open at the end of body starts (1-based line and
 * column, as Jackson reports a start marker); its kind in *array. False if none is open. */
static bool open_container(const char *body, size_t len, int *line, int *col, bool *array)
{
    enum { DEPTH = 64 };
    int lines[DEPTH], cols[DEPTH];
    bool arrays[DEPTH];
    int depth = 0, ln = 1, cl = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        cl++;
        if (c == '\n') {
            ln++;
            cl = 0;
        } else if (in_str) {
            in_str = esc || c != '"';
            esc = !esc && c == '\\';
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (depth < DEPTH) {
                lines[depth] = ln;
                cols[depth] = cl;
                arrays[depth] = c == '[';
            }
            depth++;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    if (depth == 0 || depth > DEPTH)
        return false;
    *line = lines[depth - 1];
    *col = cols[depth - 1];
    *array = arrays[depth - 1];
    return true;
}

/* Jackson's message for a body jansson could not parse. Kafka 4.1's Jackson (2.16+) redacts
 * the source and names the start of an unclosed container (recorded); older workers print the
 * Jersey stream class (WIRE §1.4). */
static void jackson_error(struct req *q, const char *body, size_t len, const json_error_t *e)
{
    static const char OLD_SOURCE[] =
        "(org.glassfish.jersey.message.internal.ReaderInterceptorExecutor$UnCloseableInputStream)";
    static const char NEW_SOURCE[] =
        "REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)";
    bool redacted = q->sim->model->kafka_version >= 401;
    const char *source = redacted ? NEW_SOURCE : OLD_SOURCE;
    if (len == 0) { /* not recorded on 4.1: only the source is assumed to change */
        reply_error(q, 500,
                    "No content to map due to end-of-input\n at [Source: %s; line: 1, "
                    "column: 0]",
                    source);
        return;
    }
    size_t pos = (size_t)e->position;
    if (pos > 0 && pos <= len)
        pos--;
    if (pos >= len || strstr(e->text, "end of file")) {
        int sl = 1, sc = 1;
        bool array = false;
        char start[256] = "";
        if (redacted && open_container(body, len, &sl, &sc, &array))
            snprintf(start, sizeof start, " (start marker at [Source: %s; line: %d, column: %d])",
                     source, sl, sc);
        reply_error(q, 500,
                    "Unexpected end-of-input: expected close marker for %s%s\n at "
                    "[Source: %s; line: %d, column: %d]",
                    array ? "Array" : "Object", start, source, e->line, e->column + 1);
        return;
    }
    unsigned char ch = (unsigned char)body[pos];
    reply_error(q, 500,
                "Unexpected character ('%c' (code %u)): %s\n at [Source: %s; line: %d, "
                "column: %d]",
                isprint(ch) ? ch : '?', ch, e->text, source, e->line, e->column + 1);
}

/* Parses the body as a JSON object (new reference) or replies 500 like Jackson does. */
static json_t *read_object(struct req *q)
{
    struct evbuffer *in = q->r->buffer_in;
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    json_error_t e;
    json_t *v = len ? json_loadb(body, len, JSON_DECODE_ANY, &e) : NULL;
    if (!v) {
        if (len == 0)
            memset(&e, 0, sizeof e);
        jackson_error(q, body, len, &e);
        return NULL;
    }
    if (!json_is_object(v)) {
        reply_error(q, 500,
                    "Cannot deserialize value of type `java.util.LinkedHashMap<java.lang."
                    "Object,java.lang.Object>` from %s value (token `JsonToken.START_%s`)",
                    json_is_array(v) ? "Array" : "Scalar", json_is_array(v) ? "ARRAY" : "VALUE");
        json_decref(v);
        return NULL;
    }
    return v;
}

/* One config value as Connect stores it: Jackson coerces numbers and booleans to strings; null
 * survives only where allowed (PATCH). New reference, or NULL when the type is not accepted. */
static json_t *config_value(json_t *v, bool allow_null)
{
    char num[64];
    if (json_is_string(v))
        return json_incref(v);
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return json_string(num);
    }
    if (json_is_real(v)) {
        sim_json_format_double(json_real_value(v), num, sizeof num);
        return json_string(num);
    }
    if (json_is_boolean(v))
        return json_string(json_is_true(v) ? "true" : "false");
    if (json_is_null(v) && allow_null)
        return json_null();
    return NULL;
}

/* A Connect config map (every value a string). Returns a new flat map or replies 500. */
static json_t *string_map(struct req *q, const json_t *in, bool allow_null)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    if (!out) {
        reply_json(q, 500, NULL);
        return NULL;
    }
    json_object_foreach((json_t *)(uintptr_t)in, k, v)
    {
        json_t *s = config_value(v, allow_null);
        if (!s) {
            json_decref(out);
            reply_error(q, 500,
                        "Cannot deserialize value of type `java.lang.String` from %s value "
                        "(token `JsonToken.START_%s`)",
                        json_is_array(v) ? "Array" : "Object",
                        json_is_array(v) ? "ARRAY" : "OBJECT");
            return NULL;
        }
        json_object_set_new(out, k, s);
    }
    return out;
}

static bool is_json_ctype(const char *ct)
{
    return ct && strncasecmp(ct, "application/json", 16) == 0 &&
           (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* ---- config validation shared by create, PUT and PATCH ---- */

static struct sim_worker_version worker_version(const struct req *q)
{
    return (struct sim_worker_version){q->sim->opt.kafka_version, q->sim->model->kafka_version};
}

static void plugin_list(char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (const struct sim_plugin *p = sim_plugins; p->cls && o < cap; p++) {
        if (strcmp(p->type, "source") != 0 && strcmp(p->type, "sink") != 0)
            continue;
        o += (size_t)snprintf(out + o, cap - o,
                              "%sPluginDesc{klass=class %s, name='%s', version='%s', "
                              "encodedVersion=%s, type=%s, typeName='%s', location='classpath'}",
                              o ? ", " : "", p->cls, p->cls, p->version ? p->version : "3.9.0",
                              p->version ? p->version : "3.9.0", p->type, p->type);
    }
}

/* Checks a full config for connector `name` the way AbstractHerder.validateConnectorConfig
 * does. Returns the plugin, or NULL after replying with the error. */
/* The plugin for a connector.class, or Connect's answer when none matches. Recorded on 4.1:
 * create/PUT say 400; validate says 500 with the wrapped exception's class in the message.
 * Before 4.0 (WIRE §1.4) both were the bare 500. */
static const struct sim_plugin *find_plugin_or_error(struct req *q, const char *cls,
                                                     bool validating)
{
    const struct sim_plugin *p = sim_plugins_find_connector(cls);
    if (!p) {
        char list[4096];
        bool k4 = q->sim->model->kafka_version >= 400;
        plugin_list(list, sizeof list);
        reply_error(q, k4 && !validating ? 400 : 500,
                    "%sFailed to find any class that implements Connector and which name "
                    "matches %s, available connectors are: %s",
                    k4 && validating
                        ? "org.apache.kafka.connect.runtime.rest.errors.BadRequestException: "
                        : "",
                    cls, list);
    }
    return p;
}

static const struct sim_plugin *check_config(struct req *q, const char *name, json_t *config)
{
    const char *cls = json_string_value(json_object_get(config, "connector.class"));
    if (!cls) {
        char map[2048];
        map_to_string(config, map, sizeof map);
        reply_error(q, 400, "Connector config %s contains no connector type", map);
        return NULL;
    }
    const struct sim_plugin *p = find_plugin_or_error(q, cls, false);
    if (!p)
        return NULL;
    json_t *messages = NULL;
    int errors = 0;
    json_t *infos = sim_plugins_validate(p, worker_version(q), cls, config, &errors, &messages);
    json_decref(infos);
    if (!messages) {
        reply_json(q, 500, NULL);
        return NULL;
    }
    /* The name validator (NonEmptyStringWithoutControlChars) runs with the others. */
    bool ctrl = false;
    for (const char *s = name; *s; s++)
        ctrl |= (unsigned char)*s < 0x20 || *s == 0x7f;
    if (!*name) {
        json_array_insert_new(messages, 0,
                              json_string("Invalid value  for configuration name: "
                                          "String may not be empty"));
        errors++;
    } else if (ctrl) {
        json_array_insert_new(messages, 0,
                              json_string("Invalid value for configuration name: "
                                          "String may not contain control sequences"));
        errors++;
    }
    if (errors > 0) {
        char msg[4096];
        size_t o = (size_t)snprintf(msg, sizeof msg,
                                    "Connector configuration is invalid and contains the following "
                                    "%d error(s):\n",
                                    errors);
        for (size_t i = 0; i < json_array_size(messages) && o < sizeof msg; i++)
            o += (size_t)snprintf(msg + o, sizeof msg - o, "%s\n",
                                  json_string_value(json_array_get(messages, i)));
        if (o < sizeof msg)
            snprintf(msg + o, sizeof msg - o,
                     "You can also find the above list of errors at the "
                     "endpoint `/connector-plugins/{connectorType}/config/"
                     "validate`");
        json_decref(messages);
        reply_error(q, 400, "%s", msg);
        return NULL;
    }
    json_decref(messages);
    if (strlen(name) > SIM_NAME_MAX) {
        reply_error(q, 400, "Connector name is longer than %d bytes (a connect-sim limit)",
                    SIM_NAME_MAX);
        return NULL;
    }
    return p;
}

/* Puts name into config, or replies 400 when config names another connector. */
static bool put_config_name(struct req *q, const char *name, json_t *config)
{
    const char *given = json_string_value(json_object_get(config, "name"));
    if (given && strcmp(given, name) != 0) {
        reply_error(q, 400,
                    "Connector name configuration (%s) doesn't match connector name in the "
                    "URL (%s)",
                    given, name);
        return false;
    }
    json_object_set_new(config, "name", json_string(name));
    return true;
}

static enum sim_kind plugin_kind(const struct sim_plugin *p)
{
    return strcmp(p->type, "sink") == 0 ? SIM_SINK : SIM_SOURCE;
}

static void location_header(struct req *q, const char *name)
{
    char loc[3 * SIM_NAME_MAX + 96];
    size_t o = (size_t)snprintf(loc, sizeof loc, "http://127.0.0.1:%u/connectors/",
                                (unsigned)sim_http_listener_port(q->sim->connect));
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)name; *p && o + 4 < sizeof loc; p++) {
        if (isalnum(*p) || strchr("-._~", *p)) {
            loc[o++] = (char)*p;
        } else {
            loc[o++] = '%';
            loc[o++] = hex[*p >> 4];
            loc[o++] = hex[*p & 15];
        }
    }
    loc[o] = '\0';
    sim_http_add_header(q->r, "Location", loc);
}

/* ---- handlers ---- */

static void h_root(struct req *q)
{
    reply_json(q, 200,
               json_pack("{s:s,s:s,s:s}", "version", q->sim->opt.kafka_version, "commit",
                         "4f1c2e7a9b0d3c55", "kafka_cluster_id", "Qm9vdFN0cmFwQ2x1c3Rlcg"));
}

static void h_health(struct req *q)
{
    reply_json(q, 200,
               json_pack("{s:s,s:s}", "status", "healthy", "message",
                         "Worker has completed startup and is ready to handle requests."));
}

/* A connector just created has no status record yet (written asynchronously once it started):
 * Connect answers the unknown connector's 404 until then. */
static bool has_status(const struct sim_connector *c)
{
    return c->status_due <= 0;
}

static void h_list(struct req *q)
{
    struct sim_model *m = q->sim->model;
    char vals[8][16];
    int nexp = 0;
    char v[16];
    /* expand is ignored before K2.3 */
    for (int i = 0; q->sim->model->kafka_version >= 203 && nexp < 8 &&
                    sim_http_query(q->r, "expand", i, v, sizeof v);
         i++) {
        bool dup = false;
        for (int k = 0; k < nexp; k++)
            dup |= strcmp(vals[k], v) == 0;
        if (!dup)
            memcpy(vals[nexp++], v, sizeof v);
    }
    if (nexp == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < m->n && arr; i++)
            json_array_append_new(arr, json_string(m->list[i]->name));
        reply_json(q, 200, arr);
        return;
    }
    bool want_status = false;
    for (int k = 0; k < nexp; k++)
        want_status |= strcmp(vals[k], "status") == 0;
    json_t *out = json_object();
    for (size_t i = 0; i < m->n && out; i++) {
        const struct sim_connector *c = m->list[i];
        /* ConnectorsResource drops a connector whose status lookup says 404. */
        if (want_status && !has_status(c))
            continue;
        json_t *e = json_object();
        for (int k = 0; k < nexp && e; k++) {
            if (strcmp(vals[k], "status") == 0)
                json_object_set_new(e, "status", sim_connect_status_json(q->sim, c));
            else if (strcmp(vals[k], "info") == 0)
                json_object_set_new(e, "info", info_json(c));
        }
        if (!e) {
            json_decref(out);
            out = NULL;
            break;
        }
        json_object_set_new(out, c->name, e);
    }
    reply_json(q, 200, out);
}

static void h_create(struct req *q)
{
    json_t *body = read_object(q);
    if (!body)
        return;
    const char *raw_name = json_string_value(json_object_get(body, "name"));
    const char *initial = json_string_value(json_object_get(body, "initial_state"));
    json_t *cfg_in = json_object_get(body, "config");
    enum sim_state st = SIM_RUNNING;
    json_t *config = NULL;
    char *name = strdup(raw_name ? raw_name : "");
    if (!name) {
        reply_json(q, 500, NULL);
        goto out;
    }
    /* A missing config is an empty one: the "no connector type" error follows. */
    config = json_is_object(cfg_in) ? string_map(q, cfg_in, false) : json_object();
    if (!config) {
        if (!json_is_object(cfg_in))
            reply_json(q, 500, NULL);
        goto out;
    }
    /* Connect trims the name (String.trim: ASCII whitespace and control characters). */
    char *s = name;
    while (*s && (unsigned char)*s <= ' ')
        s++;
    memmove(name, s, strlen(s) + 1);
    for (size_t n = strlen(name); n > 0 && (unsigned char)name[n - 1] <= ' '; n--)
        name[n - 1] = '\0';

    if (initial && (sim_model_state_parse(initial, &st) < 0 ||
                    (st != SIM_RUNNING && st != SIM_PAUSED && st != SIM_STOPPED))) {
        reply_error(q, 500,
                    "Cannot deserialize value of type `org.apache.kafka.connect.runtime."
                    "rest.entities.CreateConnectorRequest$InitialState` from String \"%s\": "
                    "not one of the values accepted for Enum class: [PAUSED, RUNNING, "
                    "STOPPED]",
                    initial);
        goto out;
    }
    if (!put_config_name(q, name, config))
        goto out;
    const struct sim_plugin *p = check_config(q, name, config);
    if (!p)
        goto out;
    if (sim_model_find(q->sim->model, name)) {
        reply_error(q, 409, "Connector %s already exists", name);
        goto out;
    }
    struct sim_connector *c = NULL;
    int rc = sim_model_create(q->sim->model, name, plugin_kind(p), json_incref(config), st, 0.0,
                              false, q->now, &c);
    if (rc < 0) {
        reply_json(q, 500, NULL);
        goto out;
    }
    location_header(q, name);
    reply_json(q, 201, info_json(c));
out:
    free(name);
    json_decref(config);
    json_decref(body);
}

/* The 404 texts of WIRE §1.4 around the connector name. */
struct not_found {
    const char *before, *after;
};
static const struct not_found NOT_FOUND = {"Connector ", " not found"};
static const struct not_found NO_STATUS = {"No status found for connector ", ""};
static const struct not_found UNKNOWN = {"Unknown connector ", ""};
static const struct not_found UNKNOWN_COLON = {"Unknown connector: ", ""};

/* Looks up {name}; replies 404 with the given text when it is unknown. */
static struct sim_connector *need(struct req *q, struct not_found nf)
{
    struct sim_connector *c = sim_model_find(q->sim->model, q->name);
    if (!c)
        reply_error(q, 404, "%s%s%s", nf.before, q->name, nf.after);
    return c;
}

static void h_get(struct req *q)
{
    struct sim_connector *c = need(q, NOT_FOUND);
    if (c)
        reply_json(q, 200, info_json(c));
}

static void h_delete(struct req *q)
{
    struct sim_connector *c = need(q, NOT_FOUND);
    if (!c)
        return;
    sim_model_delete(q->sim->model, c);
    reply_empty(q, 204);
}

static void h_get_config(struct req *q)
{
    struct sim_connector *c = need(q, NOT_FOUND);
    if (c)
        reply_json(q, 200, json_incref(c->config));
}

/* Stores config (taken) for q->name after validation: update or create. */
static void apply_config(struct req *q, json_t *config, bool patch)
{
    if (!put_config_name(q, q->name, config)) {
        json_decref(config);
        return;
    }
    const struct sim_plugin *p = check_config(q, q->name, config);
    if (!p) {
        json_decref(config);
        return;
    }
    struct sim_connector *c = sim_model_find(q->sim->model, q->name);
    if (c) {
        /* Connect answers from the config snapshot it just wrote, whose task list is still the
         * previous generation's: the new tasks are written only after the connector has
         * reconfigured (recorded: tasks.max 1→2 shows one task, 2→1 shows two). */
        json_t *old_tasks = task_ids_json(c);
        if (sim_model_reconfigure(q->sim->model, c, plugin_kind(p), config, q->now) < 0) {
            json_decref(old_tasks);
            reply_json(q, 500, NULL);
            return;
        }
        reply_json(q, 200, info_json_tasks(c, old_tasks));
        return;
    }
    if (patch) { /* cannot happen: PATCH checked existence first */
        json_decref(config);
        reply_error(q, 404, "Connector %s not found", q->name);
        return;
    }
    if (sim_model_create(q->sim->model, q->name, plugin_kind(p), config, SIM_RUNNING, 0.0, false,
                         q->now, &c) < 0) {
        reply_json(q, 500, NULL);
        return;
    }
    location_header(q, q->name);
    reply_json(q, 201, info_json(c));
}

static void h_put_config(struct req *q)
{
    json_t *body = read_object(q);
    if (!body)
        return;
    json_t *config = string_map(q, body, false);
    json_decref(body);
    if (config)
        apply_config(q, config, false);
}

static void h_patch_config(struct req *q)
{
    json_t *body = read_object(q);
    if (!body)
        return;
    struct sim_connector *c = need(q, NOT_FOUND);
    json_t *patch = c ? string_map(q, body, true) : NULL;
    json_decref(body);
    if (!patch)
        return;
    json_t *config = json_copy(c->config);
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v)
    {
        if (json_is_null(v))
            json_object_del(config, k);
        else
            json_object_set(config, k, v);
    }
    json_decref(patch);
    apply_config(q, config, true);
}

static void h_status(struct req *q)
{
    struct sim_connector *c = need(q, NO_STATUS);
    if (c && !has_status(c))
        reply_error(q, 404, "%s%s%s", NO_STATUS.before, q->name, NO_STATUS.after);
    else if (c)
        reply_json(q, 200, sim_connect_status_json(q->sim, c));
}

static json_t *task_config(const struct sim_connector *c, const struct sim_task *t)
{
    json_t *cfg = json_copy(c->config);
    const char *cls = json_string_value(json_object_get(c->config, "connector.class"));
    char task_cls[256];
    /* Connectors name their task class after themselves, e.g. JdbcSourceConnector → …Task. */
    snprintf(task_cls, sizeof task_cls, "%s", cls ? cls : "");
    size_t n = strlen(task_cls);
    if (n > 9 && strcmp(task_cls + n - 9, "Connector") == 0)
        snprintf(task_cls + n - 9, sizeof task_cls - (n - 9), "Task");
    (void)t;
    if (cfg)
        json_object_set_new(cfg, "task.class", json_string(task_cls));
    return cfg;
}

static void h_tasks(struct req *q)
{
    struct sim_connector *c = need(q, NOT_FOUND);
    if (!c)
        return;
    json_t *arr = json_array();
    for (size_t i = 0; i < c->ntasks && arr; i++)
        json_array_append_new(arr,
                              json_pack("{s:{s:s,s:i},s:o}", "id", "connector", c->name, "task",
                                        c->tasks[i].id, "config", task_config(c, &c->tasks[i])));
    reply_json(q, 200, arr);
}

static void h_tasks_config(struct req *q)
{
    struct sim_connector *c = need(q, NOT_FOUND);
    if (!c)
        return;
    json_t *out = json_object();
    for (size_t i = 0; i < c->ntasks && out; i++) {
        char key[SIM_NAME_MAX + 16];
        snprintf(key, sizeof key, "%s-%d", c->name, c->tasks[i].id);
        json_object_set_new(out, key, task_config(c, &c->tasks[i]));
    }
    reply_json(q, 200, out);
}

static struct sim_task *find_task(struct sim_connector *c, int id)
{
    for (size_t i = 0; c && i < c->ntasks; i++)
        if (c->tasks[i].id == id)
            return &c->tasks[i];
    return NULL;
}

static void h_task_status(struct req *q)
{
    struct sim_connector *c = sim_model_find(q->sim->model, q->name);
    struct sim_task *t = find_task(c, q->task);
    if (!t) {
        reply_error(q, 404, "No status found for task %s-%d", q->name, q->task);
        return;
    }
    reply_json(q, 200, task_status_json(q->sim, c, t));
}

static void h_task_restart(struct req *q)
{
    struct sim_connector *c = need(q, UNKNOWN_COLON);
    if (!c)
        return;
    struct sim_task *t = find_task(c, q->task);
    if (!t) {
        reply_error(q, 404, "Unknown task: %s-%d", q->name, q->task);
        return;
    }
    sim_model_restart_task(q->sim->model, c, t, q->now);
    reply_empty(q, 204);
}

/* Active topics live in the status store by name: an unknown connector simply has none, and
 * resetting them is accepted (recorded, Kafka 4.1). */
static void h_topics(struct req *q)
{
    struct sim_connector *c = sim_model_find(q->sim->model, q->name);
    json_t *topics = json_array();
    for (size_t i = 0; c && sim_model_topics_active(c) && i < c->ntopics && topics; i++)
        json_array_append_new(topics, json_string(c->topics[i]));
    json_t *out = json_object();
    if (out && topics)
        json_object_set_new(out, q->name, json_pack("{s:o}", "topics", topics));
    else {
        json_decref(out);
        json_decref(topics);
        out = NULL;
    }
    reply_json(q, 200, out);
}

static void h_topics_reset(struct req *q)
{
    struct sim_connector *c = sim_model_find(q->sim->model, q->name);
    if (c)
        sim_model_reset_topics(c);
    reply_empty(q, 202);
}

/* pause, resume and stop: a state change on a known connector, then an empty answer. */
static void change_state(struct req *q, void (*change)(struct sim_model *, struct sim_connector *, double),
                         int status)
{
    struct sim_connector *c = need(q, UNKNOWN);
    if (!c)
        return;
    change(q->sim->model, c, q->now);
    reply_empty(q, status);
}

static void h_pause(struct req *q)
{
    change_state(q, sim_model_pause, 202);
}

static void h_resume(struct req *q)
{
    change_state(q, sim_model_resume, 202);
}

static void h_stop(struct req *q)
{
    change_state(q, sim_model_stop, 204);
}

static void h_restart(struct req *q)
{
    /* The flags exist from K3.0; older workers ignore them. */
    bool flags = q->sim->model->kafka_version >= 300;
    bool include_tasks = flags && sim_http_query_bool(q->r, "includeTasks", false);
    bool only_failed = flags && sim_http_query_bool(q->r, "onlyFailed", false);
    struct sim_connector *c = need(q, UNKNOWN_COLON);
    if (!c)
        return;
    sim_model_restart(q->sim->model, c, include_tasks, only_failed, q->now);
    if (!include_tasks && !only_failed) {
        reply_empty(q, 204);
        return;
    }
    reply_json(q, 202, sim_connect_status_json(q->sim, c));
}

static json_t *computed_offsets(const struct sim *s, const struct sim_connector *c, double now)
{
    double total = 0;
    for (size_t i = 0; i < c->ntasks; i++) {
        struct sim_task_counters k;
        sim_model_task_counters(s->model, c, &c->tasks[i], now, &k);
        total += k.records;
    }
    json_t *arr = json_array();
    const char *cls = json_string_value(json_object_get(c->config, "connector.class"));
    if (c->kind == SIM_SINK) {
        for (size_t t = 0; t < c->ntopics; t++)
            for (int p = 0; p < 3; p++)
                json_array_append_new(
                    arr, json_pack("{s:{s:s,s:i},s:{s:I}}", "partition", "kafka_topic",
                                   c->topics[t], "kafka_partition", p, "offset", "kafka_offset",
                                   (json_int_t)sim_model_share(total, t * 3 + (size_t)p,
                                                               c->ntopics * 3)));
    } else if (cls && strstr(cls, "FileStream")) {
        const char *file = json_string_value(json_object_get(c->config, "file"));
        json_array_append_new(arr, json_pack("{s:{s:s},s:{s:I}}", "partition", "filename",
                                             file ? file : "/dev/stdin", "offset", "position",
                                             (json_int_t)(total * 64)));
    } else {
        json_array_append_new(arr, json_pack("{s:{s:s},s:{s:I}}", "partition", "connector", c->name,
                                             "offset", "records", (json_int_t)total));
    }
    return arr;
}

static void h_offsets(struct req *q)
{
    struct sim_connector *c = need(q, NOT_FOUND);
    if (!c)
        return;
    json_t *offs = c->offsets ? json_incref(c->offsets) : computed_offsets(q->sim, c, q->now);
    reply_json(q, 200, json_pack("{s:o}", "offsets", offs));
}

static bool need_stopped(struct req *q, const struct sim_connector *c)
{
    if (c->state == SIM_STOPPED)
        return true;
    reply_error(q, 400,
                "Connectors must be in the STOPPED state before their offsets can be "
                "modified. This can be done for the specified connector by issuing a 'PUT' "
                "request to the '/connectors/%s/stop' endpoint",
                c->name);
    return false;
}

/* Java's Long.parseLong(String.valueOf(v)) within [lo, hi]: both 10 and "10" are accepted. */
static bool java_parse_long(const json_t *v, long long lo, long long hi, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out >= lo && *out <= hi;
    }
    const char *p = json_string_value(v);
    if (!p || !*p)
        return false;
    char *end;
    errno = 0;
    long long n = strtoll(p, &end, 10);
    /* parseLong takes an optional sign and digits only (no blanks, which strtoll skips). */
    if (*end || errno || isspace((unsigned char)*p) || n < lo || n > hi)
        return false;
    *out = n;
    return true;
}

/* How Java prints a JSON value in a message (String.valueOf of what Jackson made of it). */
static void java_value(const json_t *v, char *out, size_t cap)
{
    json_t *str = v ? config_value((json_t *)(uintptr_t)v, false) : NULL;
    snprintf(out, cap, "%s", str ? json_string_value(str) : "null");
    json_decref(str);
}

/* SinkUtils.parseSinkConnectorOffsets: one entry turned into the stored form (new reference,
 * {"partition":{"kafka_partition":n,"kafka_topic":t},"offset":{"kafka_offset":n}|null}), or
 * NULL after replying 400 with Connect's text. */
static json_t *sink_offset(struct req *q, const json_t *entry)
{
    const json_t *part = json_object_get(entry, "partition");
    const json_t *off = json_object_get(entry, "offset");
    char shown[128];
    long long partition, offset = 0;
    if (!json_is_object(part)) {
        reply_error(q, 400, "The partition for a sink connector offset cannot be null or missing");
        return NULL;
    }
    const json_t *topic = json_object_get(part, "kafka_topic");
    const json_t *pn = json_object_get(part, "kafka_partition");
    if (!topic || !pn) {
        reply_error(q, 400,
                    "The partition for a sink connector offset must contain the keys "
                    "'kafka_topic' and 'kafka_partition'");
        return NULL;
    }
    if (json_is_null(topic)) {
        reply_error(q, 400, "Kafka topic names must be valid strings and may not be null");
        return NULL;
    }
    if (json_is_null(pn)) {
        reply_error(q, 400, "Kafka partitions must be valid numbers and may not be null");
        return NULL;
    }
    if (!java_parse_long(pn, INT32_MIN, INT32_MAX, &partition)) {
        java_value(pn, shown, sizeof shown);
        reply_error(q, 400,
                    "Failed to parse the following Kafka partition value in the provided "
                    "offsets: '%s'. Partition values for sink connectors need to be integers.",
                    shown);
        return NULL;
    }
    bool reset = !off || json_is_null(off);
    if (!reset && !json_object_get(off, "kafka_offset")) {
        reply_error(q, 400,
                    "The offset for a sink connector should either be null or contain the key "
                    "'kafka_offset'");
        return NULL;
    }
    if (!reset && !java_parse_long(json_object_get(off, "kafka_offset"), INT64_MIN, INT64_MAX,
                                   &offset)) {
        java_value(json_object_get(off, "kafka_offset"), shown, sizeof shown);
        reply_error(q, 400,
                    "Failed to parse the following Kafka offset value in the provided offsets: "
                    "'%s'. Offset values for sink connectors need to be integers.",
                    shown);
        return NULL;
    }
    java_value(topic, shown, sizeof shown);
    json_t *e = json_pack("{s:{s:I,s:s},s:o}", "partition", "kafka_partition",
                          (json_int_t)partition, "kafka_topic", shown, "offset",
                          reset ? json_null() : json_pack("{s:I}", "kafka_offset",
                                                          (json_int_t)offset));
    if (!e)
        reply_json(q, 500, NULL);
    return e;
}

/* The request's entries in stored form (new array), or NULL after replying. */
static json_t *parse_offsets(struct req *q, const struct sim_connector *c, const json_t *offs)
{
    json_t *out = json_array();
    size_t i;
    json_t *entry;
    if (!out) {
        reply_json(q, 500, NULL);
        return NULL;
    }
    json_array_foreach(offs, i, entry)
    {
        json_t *e = c->kind == SIM_SINK ? sink_offset(q, entry) : json_incref(entry);
        if (!e) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, e);
    }
    return out;
}

/* Alters offsets the way the offsets store does: a partition given replaces its offset, a null
 * offset removes it (reset), partitions not given keep theirs (recorded: sink_after_patch). */
static void merge_offsets(json_t *current, const json_t *changes)
{
    size_t i;
    json_t *ch;
    json_array_foreach(changes, i, ch)
    {
        const json_t *part = json_object_get(ch, "partition");
        const json_t *off = json_object_get(ch, "offset");
        size_t k = 0;
        while (k < json_array_size(current) &&
               !json_equal(json_object_get(json_array_get(current, k), "partition"),
                           (json_t *)(uintptr_t)part))
            k++;
        if (k < json_array_size(current))
            json_array_remove(current, k);
        if (off && !json_is_null(off))
            json_array_append(current, ch);
    }
}

static void h_patch_offsets(struct req *q)
{
    json_t *body = read_object(q);
    if (!body)
        return;
    struct sim_connector *c = need(q, NOT_FOUND);
    json_t *offs = json_object_get(body, "offsets");
    if (c && need_stopped(q, c)) {
        json_t *changes = NULL, *current = NULL;
        if (!json_is_array(offs) || json_array_size(offs) == 0) {
            reply_error(q, 400,
                        "Partitions / offsets need to be provided for an alter offsets "
                        "request");
        } else if ((changes = parse_offsets(q, c, offs)) != NULL) {
            current = c->offsets ? json_deep_copy(c->offsets) : computed_offsets(q->sim, c, q->now);
            if (!current) {
                reply_json(q, 500, NULL);
            } else {
                merge_offsets(current, changes);
                json_decref(c->offsets);
                c->offsets = current;
                reply_json(q, 200,
                           json_pack("{s:s}", "message",
                                     "The offsets for this connector have "
                                     "been altered successfully"));
            }
        }
        json_decref(changes);
    }
    json_decref(body);
}

static void h_delete_offsets(struct req *q)
{
    struct sim_connector *c = need(q, NOT_FOUND);
    if (!c || !need_stopped(q, c))
        return;
    json_decref(c->offsets);
    c->offsets = json_array();
    reply_json(q, 200,
               json_pack("{s:s}", "message",
                         "The offsets for this connector have been reset successfully"));
}

static void h_plugins(struct req *q)
{
    char v[16];
    bool all = q->sim->model->kafka_version >= 302 &&
               sim_http_query(q->r, "connectorsOnly", 0, v, sizeof v) &&
               strcasecmp(v, "false") == 0;
    json_t *arr = json_array();
    for (const struct sim_plugin *p = sim_plugins; p->cls && arr; p++) {
        bool connector = strcmp(p->type, "source") == 0 || strcmp(p->type, "sink") == 0;
        if (!connector && !all)
            continue;
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "class", p->cls, "type", p->type,
                                             "version",
                                             p->version ? p->version : q->sim->opt.kafka_version));
    }
    reply_json(q, 200, arr);
}

/* Compares dotted versions numerically, part by part ("4.10" > "4.9"). */
static int version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        char *ea, *eb;
        long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
        if (x != y)
            return x < y ? -1 : 1;
        a = *ea == '.' ? ea + 1 : ea;
        b = *eb == '.' ? eb + 1 : eb;
        if (ea == a && eb == b && (*a || *b)) /* not numbers: compare the rest as text */
            return strcmp(a, b);
    }
    return 0;
}

/* Does version v satisfy a Maven range spec as Kafka 4.1 reads ?version (KIP-891): a plain
 * version is the hard requirement, printed "[v,v]" as recorded; "[a,b)" style bounds, either
 * side may be empty, printed as given. The printed range goes into range. */
static bool version_in_range(const char *v, const char *spec, char *range, size_t cap)
{
    if (spec[0] != '[' && spec[0] != '(') {
        snprintf(range, cap, "[%s,%s]", spec, spec);
        return version_cmp(v, spec) == 0;
    }
    snprintf(range, cap, "%s", spec);
    size_t n = strlen(spec);
    char lo[64] = "", hi[64] = "";
    const char *comma = strchr(spec, ',');
    bool lo_in = spec[0] == '[', hi_in = spec[n - 1] == ']';
    if (!comma) { /* "[v]" */
        snprintf(lo, sizeof lo, "%.*s", (int)(n > 2 ? n - 2 : 0), spec + 1);
        return version_cmp(v, lo) == 0;
    }
    snprintf(lo, sizeof lo, "%.*s", (int)(comma - spec - 1), spec + 1);
    const char *end = spec + n - 1; /* the closing bracket */
    snprintf(hi, sizeof hi, "%.*s", (int)(end > comma ? end - comma - 1 : 0), comma + 1);
    int cl = lo[0] ? version_cmp(v, lo) : 1, ch = hi[0] ? version_cmp(v, hi) : -1;
    return (cl > 0 || (lo_in && cl == 0)) && (ch < 0 || (hi_in && ch == 0));
}

static void h_plugin_config(struct req *q)
{
    const struct sim_plugin *p = sim_plugins_find_connector(q->plugin);
    if (!p) {
        reply_error(q, 404, "Unknown plugin %s.", q->plugin);
        return;
    }
    /* Plugin versions came with 4.1 (KIP-891): ?version must match the installed one, else
     * a 400 (text recorded on 4.1.1; "latest" is any). Before, it is ignored. The real list
     * of available versions has one entry per copy of the plugin the worker loaded (the
     * recorded classpath-only worker printed "[4.1.1, 4.1.1]"); the sim has one copy. */
    char want[64], range[140];
    const char *have = p->version ? p->version : q->sim->opt.kafka_version;
    if (q->sim->model->kafka_version >= 401 &&
        sim_http_query(q->r, "version", 0, want, sizeof want) && strcmp(want, "latest") != 0 &&
        want[0] && !version_in_range(have, want, range, sizeof range)) {
        reply_error(q, 400, "Plugin %s not found that matches the version range %s, available "
                            "versions: [%s]",
                    p->cls, range, have);
        return;
    }
    reply_json(q, 200, sim_plugins_config_defs(p, worker_version(q)));
}

/* Length of a plugin name without its "Connector" suffix, as ConnectorPluginsResource's
 * normalizedPluginName makes the alias of a class name (a bare "Connector" stays). */
static size_t normalized_len(const char *name)
{
    static const char SUFFIX[] = "Connector";
    size_t n = strlen(name), k = sizeof SUFFIX - 1;
    return n > k && strcmp(name + n - k, SUFFIX) == 0 ? n - k : n;
}

/* Does the body's connector.class agree with the URL's plugin? Connect checks that the
 * normalized class ends with the normalized plugin, case-sensitively, so a full class name
 * matches its alias in either form (FileStreamSource, FileStreamSourceConnector). */
static bool class_matches_plugin(const char *cls, const char *plugin)
{
    size_t a = normalized_len(cls), b = normalized_len(plugin);
    return a >= b && strncmp(cls + a - b, plugin, b) == 0;
}

static void h_validate(struct req *q)
{
    json_t *body = read_object(q);
    if (!body)
        return;
    json_t *config = string_map(q, body, false);
    json_decref(body);
    if (!config)
        return;
    const char *cls = json_string_value(json_object_get(config, "connector.class"));
    if (cls && !class_matches_plugin(cls, q->plugin)) {
        reply_error(q, 400, "Included connector type %s does not match request type %s", cls,
                    q->plugin);
        json_decref(config);
        return;
    }
    if (!cls) {
        /* The URL's plugin is not used: the herder's validation, run on another thread,
         * finds no connector.class and the resource answers its ExecutionException. */
        char map[2048];
        map_to_string(config, map, sizeof map);
        reply_error(q, 500,
                    "org.apache.kafka.connect.runtime.rest.errors.BadRequestException: "
                    "Connector config %s contains no connector type",
                    map);
        json_decref(config);
        return;
    }
    const struct sim_plugin *p = find_plugin_or_error(q, cls, true);
    if (!p) {
        json_decref(config);
        return;
    }
    int errors = 0;
    reply_json(q, 200, sim_plugins_validate(p, worker_version(q), cls, config, &errors, NULL));
    json_decref(config);
}

static json_t *logger_json(const struct sim *s, const struct sim_logger *lg)
{
    /* last_modified appears from K3.7 (null: never changed at runtime). */
    if (s->model->kafka_version < 307)
        return json_pack("{s:s}", "level", lg->level);
    return json_pack("{s:s,s:o}", "level", lg->level, "last_modified",
                     lg->last_modified ? json_integer(lg->last_modified) : json_null());
}

static void h_loggers(struct req *q)
{
    const struct sim_loggers *l = &q->sim->loggers;
    json_t *out = json_object();
    for (size_t i = 0; i < l->n && out; i++)
        json_object_set_new(out, l->v[i].name, logger_json(q->sim, &l->v[i]));
    reply_json(q, 200, out);
}

static void h_logger(struct req *q)
{
    const struct sim_logger *lg = sim_loggers_find(&q->sim->loggers, q->name);
    if (!lg) {
        reply_error(q, 404, "Logger %s not found.", q->name);
        return;
    }
    reply_json(q, 200, logger_json(q->sim, lg));
}

/* LoggingResource.setLevel: a bad level is a 404 (recorded), scope=cluster (K3.7) answers 204
 * and any other scope falls back to the worker's, which answers the affected loggers. */
static void h_logger_put(struct req *q)
{
    json_t *body = read_object(q);
    if (!body)
        return;
    json_t *given = json_object_get(body, "level");
    json_t *str = given && !json_is_null(given) ? config_value(given, false) : NULL;
    const char *raw = json_string_value(str);
    char scope[16];
    bool cluster = q->sim->model->kafka_version >= 307 &&
                   sim_http_query(q->r, "scope", 0, scope, sizeof scope) &&
                   strcasecmp(scope, "cluster") == 0;
    if (!raw) {
        reply_error(q, 400, "Desired 'level' parameter was not specified in request.");
    } else if (!sim_loggers_level(raw)) {
        reply_error(q, 404, "invalid log level '%s'.", raw);
    } else {
        json_t *affected = cluster ? NULL : json_array();
        int64_t ms = sim_model_wall_ms(q->sim->model, q->now);
        if (sim_loggers_set(&q->sim->loggers, q->name, sim_loggers_level(raw), ms, affected) < 0)
            reply_error(q, 500, "More than %d loggers (a connect-sim limit)", SIM_LOGGERS_MAX);
        else if (cluster)
            reply_empty(q, 204);
        else
            reply_json(q, 200, json_incref(affected));
        json_decref(affected);
    }
    json_decref(str);
    json_decref(body);
}

#define R(m, p, v, j, f)                                                                           \
    {                                                                                              \
        htp_method_##m, p, #m " " p, v, 0, j, f                                                    \
    }
static const struct route ROUTES[] = {
    R(GET, "/", 0, M_ANY, h_root),
    R(GET, "/health", 309, M_ANY, h_health),
    R(GET, "/connectors", 0, M_JSON, h_list),
    R(POST, "/connectors", 0, M_BODY, h_create),
    R(GET, "/connectors/{name}", 0, M_JSON, h_get),
    R(DELETE, "/connectors/{name}", 0, M_JSON, h_delete),
    R(GET, "/connectors/{name}/config", 0, M_JSON, h_get_config),
    R(PUT, "/connectors/{name}/config", 0, M_BODY, h_put_config),
    R(PATCH, "/connectors/{name}/config", 308, M_BODY, h_patch_config),
    R(GET, "/connectors/{name}/status", 0, M_JSON, h_status),
    R(GET, "/connectors/{name}/tasks", 0, M_JSON, h_tasks),
    /* Deprecated in 3.7, gone in 4.0 (recorded: 404 on 4.1). */
    {htp_method_GET, "/connectors/{name}/tasks-config", "GET /connectors/{name}/tasks-config", 208,
     399, M_JSON, h_tasks_config},
    R(GET, "/connectors/{name}/tasks/{task}/status", 0, M_JSON, h_task_status),
    R(POST, "/connectors/{name}/tasks/{task}/restart", 0, M_JSON, h_task_restart),
    R(GET, "/connectors/{name}/topics", 205, M_JSON, h_topics),
    R(PUT, "/connectors/{name}/topics/reset", 205, M_JSON, h_topics_reset),
    R(PUT, "/connectors/{name}/pause", 0, M_JSON, h_pause),
    R(PUT, "/connectors/{name}/resume", 0, M_JSON, h_resume),
    R(PUT, "/connectors/{name}/stop", 305, M_JSON, h_stop),
    R(POST, "/connectors/{name}/restart", 0, M_JSON, h_restart),
    R(GET, "/connectors/{name}/offsets", 305, M_JSON, h_offsets),
    R(PATCH, "/connectors/{name}/offsets", 306, M_BODY, h_patch_offsets),
    R(DELETE, "/connectors/{name}/offsets", 306, M_JSON, h_delete_offsets),
    R(GET, "/connector-plugins", 0, M_JSON, h_plugins),
    R(GET, "/connector-plugins/{plugin}/config", 302, M_JSON, h_plugin_config),
    R(PUT, "/connector-plugins/{plugin}/config/validate", 0, M_BODY, h_validate),
    R(GET, "/admin/loggers", 204, M_JSON, h_loggers),
    R(GET, "/admin/loggers/{name}", 204, M_JSON, h_logger),
    R(PUT, "/admin/loggers/{name}", 204, M_BODY, h_logger_put),
};
#undef R

/* Splits a raw path into segments (pointers into buf). Returns the count or -1. */
static int split_path(const char *path, char *buf, size_t cap, char *seg[MAX_SEGMENTS])
{
    size_t len = strlen(path);
    if (len + 1 > cap)
        return -1;
    memcpy(buf, path, len + 1);
    if (len > 1 && buf[len - 1] == '/') /* Jersey ignores one trailing slash */
        buf[--len] = '\0';
    int n = 0;
    char *p = buf;
    if (*p == '/')
        p++;
    while (*p) {
        if (n == MAX_SEGMENTS)
            return -1;
        seg[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    return n;
}

/* Does template t match the segments? Fills q's parameters (owned) on success. */
static bool match_template(const char *t, char *seg[], int nseg, struct req *q, bool fill)
{
    char tbuf[128];
    char *tseg[MAX_SEGMENTS];
    int nt = split_path(t, tbuf, sizeof tbuf, tseg);
    if (nt != nseg)
        return false;
    for (int i = 0; i < nt; i++) {
        if (tseg[i][0] != '{') {
            if (strcmp(tseg[i], seg[i]) != 0)
                return false;
            continue;
        }
        if (!seg[i][0])
            return false;
        if (strcmp(tseg[i], "{task}") == 0) {
            /* Jersey's int parameter: anything else is an unmatched path (404). */
            for (const char *p = seg[i]; *p; p++)
                if (!isdigit((unsigned char)*p))
                    return false;
            if (strlen(seg[i]) > 9)
                return false;
            if (fill)
                q->task = atoi(seg[i]);
        } else if (fill) {
            char *dec = sim_http_pct_decode(seg[i], strlen(seg[i]));
            if (!dec)
                return false;
            if (strcmp(tseg[i], "{name}") == 0)
                q->name = dec;
            else
                q->plugin = dec;
        }
    }
    return true;
}

enum match { MATCH_OK, MATCH_NO_PATH, MATCH_NO_METHOD, MATCH_REFUSED };

/* Escapes Jetty 12's URI compliance refuses in a path (UriCompliance.DEFAULT), with the
 * violation's description, all recorded on a real 4.1.1 worker. Kafka 4.0 moved Connect's REST
 * server to Jetty 12 (KIP-1032). %25 makes a connector whose name holds '%' unaddressable. */
static const struct {
    const char *escape, *message;
} REFUSED_ESCAPES[] = {
    {"%2F", "Ambiguous URI path separator"},
    {"%5C", "Suspicious Path Character"},
    {"%25", "Ambiguous URI path encoding"},
};

/* The violation Jetty refuses path with, or NULL. */
static const char *refused_escape(const struct sim *s, const char *path)
{
    if (s->model->kafka_version < 400)
        return NULL;
    for (const char *p = strchr(path, '%'); p; p = strchr(p + 1, '%'))
        for (size_t i = 0; i < sizeof REFUSED_ESCAPES / sizeof REFUSED_ESCAPES[0]; i++)
            if (strncasecmp(p, REFUSED_ESCAPES[i].escape, 3) == 0)
                return REFUSED_ESCAPES[i].message;
    return NULL;
}

/* Jetty's own error page (ErrorHandler): Connect never sees the request. Recorded on a real
 * 4.1.1 worker: the URI row always says /badURI, the connection is closed, no caching; only
 * GET, POST and HEAD get the page (Jetty's errorPageForMethod; a PUT was recorded with an
 * empty body and no Content-Type). The Jetty release is 4.1's on every 4.x. */
static void reply_jetty_400(evhtp_request_t *r, const char *message)
{
    htp_method m = evhtp_request_get_method(r);
    sim_http_add_header(r, "Cache-Control", "must-revalidate,no-cache,no-store");
    sim_http_add_header(r, "Connection", "close"); /* libevhtp closes, but says nothing */
    evhtp_request_set_keepalive(r, 0);
    if (m != htp_method_GET && m != htp_method_POST && m != htp_method_HEAD) {
        sim_http_reply(r, 400, NULL, NULL, 0);
        return;
    }
    char page[2048];
    int n = snprintf(page, sizeof page,
                     "<html>\n<head>\n<meta http-equiv=\"Content-Type\" "
                     "content=\"text/html;charset=ISO-8859-1\"/>\n<title>Error 400 %s</title>\n"
                     "</head>\n<body>\n<h2>HTTP ERROR 400 %s</h2>\n<table>\n"
                     "<tr><th>URI:</th><td>/badURI</td></tr>\n"
                     "<tr><th>STATUS:</th><td>400</td></tr>\n"
                     "<tr><th>MESSAGE:</th><td>%s</td></tr>\n</table>\n"
                     "<hr/><a href=\"https://jetty.org/\">Powered by Jetty:// 12.0.22</a><hr/>\n"
                     "\n</body>\n</html>\n",
                     message, message, message);
    sim_http_reply(r, 400, "text/html;charset=iso-8859-1", page,
                   n < 0 ? 0 : (size_t)n < sizeof page ? (size_t)n : sizeof page - 1);
}

static enum match find_route(struct sim *s, evhtp_request_t *r, struct req *q)
{
    char buf[4096];
    if (refused_escape(s, sim_http_path(r)))
        return MATCH_REFUSED;
    char *seg[MAX_SEGMENTS];
    int nseg = split_path(sim_http_path(r), buf, sizeof buf, seg);
    if (nseg < 0)
        return MATCH_NO_PATH;
    bool path_known = false;
    htp_method m = evhtp_request_get_method(r);
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        const struct route *rt = &ROUTES[i];
        if (rt->min_version > s->model->kafka_version ||
            (rt->max_version && rt->max_version < s->model->kafka_version))
            continue;
        if (!match_template(rt->path, seg, nseg, q, false))
            continue;
        path_known = true;
        if (rt->method != m)
            continue;
        if (!match_template(rt->path, seg, nseg, q, true)) {
            free(q->name);
            free(q->plugin);
            q->name = q->plugin = NULL;
            return MATCH_NO_PATH; /* a malformed %-escape */
        }
        q->route = rt;
        return MATCH_OK;
    }
    return path_known ? MATCH_NO_METHOD : MATCH_NO_PATH;
}

/* Jersey's @Consumes check (seen on a real Kafka 4.1.1 worker: a form Content-Type on a
 * bodyless POST restart is a 415; no Content-Type and no body is accepted). A body without a
 * Content-Type is application/octet-stream to Jersey; a body route without JSON is refused as
 * recorded. */
static bool media_refused(enum media media, const char *ct, bool has_body)
{
    if (media == M_ANY)
        return false;
    if (ct)
        return !is_json_ctype(ct);
    return has_body || media == M_BODY;
}

/* Routes and answers r; the fault layer has already had its say. */
static void serve(evhtp_request_t *r, void *arg)
{
    struct sim *s = arg;
    struct req q = {.sim = s, .r = r, .now = sim_model_now()};
    sim_model_advance(s->model, q.now);
    switch (find_route(s, r, &q)) {
    case MATCH_NO_PATH:
        reply_error(&q, 404, "HTTP 404 Not Found");
        return;
    case MATCH_NO_METHOD:
        reply_error(&q, 405, "HTTP 405 Method Not Allowed");
        return;
    case MATCH_REFUSED:
        reply_jetty_400(r, refused_escape(s, sim_http_path(r)));
        return;
    case MATCH_OK:
        break;
    }
    if (media_refused(q.route->media, sim_http_header(r, "Content-Type"),
                      evbuffer_get_length(r->buffer_in) > 0)) {
        reply_error(&q, 415, "HTTP 415 Unsupported Media Type");
    } else {
        q.route->fn(&q);
    }
    free(q.name);
    free(q.plugin);
}

void sim_connect_on_request(evhtp_request_t *r, void *arg)
{
    struct sim *s = arg;
    struct req q = {.sim = s, .r = r};
    enum match m = find_route(s, r, &q);
    sim_counters_connect(&s->counters, m == MATCH_OK ? q.route->key : NULL);
    if (m == MATCH_OK)
        sim_counters_connector(&s->counters, q.name);
    free(q.name);
    free(q.plugin);
    if (sim_faults_answer(&s->connect_fault, SIM_FRONT_CONNECT, s->connect, r, serve, s, NULL))
        return;
    serve(r, s);
}
