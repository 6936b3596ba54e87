/* sim_jolokia.c — one Jolokia JVM agent per worker (WIRE §3): GET and POST (single and bulk)
 * read/search/version, pattern reads, in-body errors, and the 1.x vs 2.x wire differences. */
#include "sim.h"
#include "sim_beans.h"
#include "sim_json.h"
#include "sim_objectname.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NAME_MAX_LEN 2048 /* a formatted ObjectName */
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_JSON "application/json; charset=utf-8"

#define E_INSTANCE "javax.management.InstanceNotFoundException"
#define E_ATTRIBUTE "javax.management.AttributeNotFoundException"
#define E_ARGUMENT "java.lang.IllegalArgumentException"
#define E_UNSUPPORTED "java.lang.UnsupportedOperationException"
#define E_NUMBER "java.lang.NumberFormatException"

/* Processing options: query parameters, overridden per request by its "config". */
struct jopts {
    bool canonical;
    bool ignore_errors;
    bool include_stack;
    bool include_request;
};

/* One HTTP request to the agent. */
struct jctx {
    struct sim *sim;
    struct sim_agent *agent;
    int version; /* 1 or 2 */
    bool j25;    /* 2.5.0 or later: new defaults and messages (WIRE §3) */
    double now;
    json_int_t timestamp; /* epoch seconds */
    struct jopts base;
};

/* A request-level failure that loses the whole (bulk) request, per WIRE §3.6. */
struct fatal {
    char msg[1024];
    const char *cls; /* the exception, for agents that answer with a JSON error object */
    int status;      /* its in-body status */
    bool http_400;   /* up to J2.4 only an unknown type is a real HTTP 400 (recorded) */
    bool in_body;    /* J2.5+: still an in-body error object (recorded 2.6.0: the body is not
                        JSON, a bulk element is not an object); other fatals are HTTP 400 */
};

__attribute__((format(printf, 2, 3))) static int set_fatal(struct fatal *f, const char *fmt, ...)
{
    va_list ap;
    f->cls = E_ARGUMENT;
    f->status = 400;
    f->http_400 = false;
    f->in_body = false;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- response objects ---- */

static json_t *ok_response(const struct jctx *x, const struct jopts *o, json_t *echo, json_t *value)
{
    json_t *resp = json_object();
    if (!resp) {
        json_decref(echo);
        json_decref(value);
        return NULL;
    }
    if (o->include_request)
        json_object_set_new(resp, "request", echo);
    else
        json_decref(echo);
    json_object_set_new(resp, "value", value);
    json_object_set_new(resp, "timestamp", json_integer(x->timestamp));
    json_object_set_new(resp, "status", json_integer(200));
    return resp;
}

/* An in-body error (HTTP stays 200). echo is taken and may be NULL. */
__attribute__((format(printf, 6, 7))) static json_t *
error_response(const struct jctx *x, const struct jopts *o, json_t *echo, int status,
               const char *cls, const char *fmt, ...)
{
    char msg[2048], text[2300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *resp = json_object();
    if (!resp) {
        json_decref(echo);
        return NULL;
    }
    if (echo && o->include_request)
        json_object_set_new(resp, "request", echo);
    else
        json_decref(echo);
    /* Up to J2.4 the message carries the class; J2.5+ moved it to error_type only, and mark
     * the object with ".error" and a JMX exception with error_type_jmx (recorded 2.6.0). */
    if (!x->j25)
        snprintf(text, sizeof text, "%s : %s", cls, msg);
    else
        snprintf(text, sizeof text, "%s", msg);
    json_object_set_new(resp, "error_type", json_string(cls));
    if (x->j25) {
        json_object_set_new(resp, ".error", json_true());
        if (strncmp(cls, "javax.management.", 17) == 0)
            json_object_set_new(resp, "error_type_jmx", json_string(cls));
    }
    json_object_set_new(resp, "error", json_string(text));
    if (o->include_stack) {
        char trace[2600];
        snprintf(trace, sizeof trace,
                 "%s: %s\n\tat org.jolokia.service.jmx.handler.ReadHandler.doHandleAllServerRequest"
                 "(ReadHandler.java:154)\n\tat org.jolokia.server.core.backend.BackendManager."
                 "handleRequest(BackendManager.java:137)\n",
                 cls, msg);
        json_object_set_new(resp, "stacktrace", json_string(trace));
    }
    json_object_set_new(resp, "status", json_integer(status));
    return resp;
}

/* ---- options ---- */

static bool opt_value(const json_t *v, bool dflt)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_string(v))
        return strcasecmp(json_string_value(v), "true") == 0;
    return dflt;
}

static struct jopts element_opts(const struct jctx *x, const json_t *req)
{
    struct jopts o = x->base;
    const json_t *cfg = json_object_get(req, "config");
    if (json_is_object(cfg)) {
        o.canonical = opt_value(json_object_get(cfg, "canonicalNaming"), o.canonical);
        o.ignore_errors = opt_value(json_object_get(cfg, "ignoreErrors"), o.ignore_errors);
        o.include_stack = opt_value(json_object_get(cfg, "includeStackTrace"), o.include_stack);
        o.include_request = opt_value(json_object_get(cfg, "includeRequest"), o.include_request);
    }
    return o;
}

/* A malformed ObjectName: the JMX text (recorded for a missing ':'), after "Invalid object
 * name. " up to J2.4 (recorded 2.4.2; 2.6.0 gives the JMX text alone). */
static int bad_name(const struct jctx *x, struct fatal *f, const char *mbean, const char *err)
{
    const char *jmx = strchr(mbean, ':') ? err : "Key properties cannot be empty";
    if (x->j25)
        return set_fatal(f, "%s", jmx);
    return set_fatal(f, "Invalid object name. %s", jmx);
}

/* ---- read ---- */

struct read_walk {
    const struct jctx *x;
    const struct jopts *o;
    const struct sim_objectname *pat;
    bool pattern;
    const json_t *attr; /* borrowed: NULL/"" = all, string = one, array = list */
    const char *path;   /* inner path for single-bean reads, or NULL */
    json_t *result;     /* pattern: name → {attr: value} */
    size_t matched;     /* beans whose name matched */
    json_t *names;      /* canonical names matched (for the J1 no-attribute message) */
    char nonfinite; /* 'N' or 'I': the first NaN/±Infinity double put in the value */
    /* single-bean outcome */
    json_t *value;
    int err_status;
    const char *err_cls;
    char err_msg[512];
};

/* The JSON of one attribute, noting the first NaN/Infinity (which J2.0-2.4 cannot write). */
static json_t *walk_attr_json(struct read_walk *w, const struct sim_attr *a)
{
    if (a->type == SIM_ATTR_DOUBLE && !isfinite(a->d) && !w->nonfinite)
        w->nonfinite = isnan(a->d) ? 'N' : 'I';
    return sim_beans_attr_json(a);
}

static const struct sim_attr *find_attr(const struct sim_attr *a, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].name, name) == 0)
            return &a[i];
    return NULL;
}

/* The value of one attribute with the inner path applied; NULL + err on a bad path. */
static json_t *attr_value(struct read_walk *w, const struct sim_attr *a)
{
    json_t *v = walk_attr_json(w, a);
    if (!w->path || !*w->path || w->pattern)
        return v;
    json_t *inner = json_is_object(v) ? json_object_get(v, w->path) : NULL;
    if (!inner) {
        json_decref(v);
        w->err_status = 400;
        w->err_cls = E_ARGUMENT;
        snprintf(w->err_msg, sizeof w->err_msg, "Invalid path '%s' for attribute %s", w->path,
                 a->name);
        return NULL;
    }
    json_incref(inner);
    json_decref(v);
    return inner;
}

/* The AttributeNotFoundException text: the JDK's platform MXBeans and Kafka's JmxReporter word
 * it differently (recorded). */
static void missing_attr_text(const char *domain, const char *attr, char *out, size_t cap)
{
    if (strcmp(domain, "java.lang") == 0)
        snprintf(out, cap, "No such attribute: %s", attr);
    else
        snprintf(out, cap, "Could not find attribute %s", attr);
}

/* J1.x puts an error string in place of a failed attribute; J2.x an error object (J2.5+ with
 * error_type_jmx, recorded 2.6.0). */
static json_t *ignored_error(const struct jctx *x, const char *domain, const char *attr)
{
    char msg[512];
    missing_attr_text(domain, attr, msg, sizeof msg);
    if (x->version == 1) {
        char text[600];
        snprintf(text, sizeof text, "ERROR: %s (class %s)", msg, E_ATTRIBUTE);
        return json_string(text);
    }
    if (x->j25)
        return json_pack("{s:s,s:b,s:s,s:s}", "error_type", E_ATTRIBUTE, ".error", 1,
                         "error_type_jmx", E_ATTRIBUTE, "error", msg);
    return json_pack("{s:b,s:s,s:s}", ".error", 1, "error_type", E_ATTRIBUTE, "error", msg);
}

static bool on_read_bean(const struct sim_bean *b, void *arg)
{
    struct read_walk *w = arg;
    if (!sim_objectname_match(w->pat, b->domain, b->props, b->nprops))
        return true;
    w->matched++;
    struct sim_attr attrs[SIM_ATTRS_MAX];
    size_t n = sim_beans_attrs(w->x->sim->model, b, w->x->now, attrs);

    if (w->pattern) {
        char name[NAME_MAX_LEN];
        json_t *vals = json_object();
        if (!vals)
            return false;
        if (json_is_array(w->attr)) {
            /* Beans lacking a requested attribute are skipped silently. */
            for (size_t i = 0; i < json_array_size(w->attr); i++) {
                const char *an = json_string_value(json_array_get(w->attr, i));
                const struct sim_attr *a = an ? find_attr(attrs, n, an) : NULL;
                if (a)
                    json_object_set_new(vals, a->name, walk_attr_json(w, a));
            }
        } else if (json_is_string(w->attr) && *json_string_value(w->attr)) {
            const struct sim_attr *a = find_attr(attrs, n, json_string_value(w->attr));
            if (a)
                json_object_set_new(vals, a->name, walk_attr_json(w, a));
        } else {
            for (size_t i = 0; i < n; i++)
                json_object_set_new(vals, attrs[i].name, walk_attr_json(w, &attrs[i]));
        }
        /* Recorded: the "found on MBeans [...]" list is in registration order. */
        if (sim_objectname_format(b->domain, b->props, b->nprops, false, false, name, sizeof name) &&
            json_array_size(w->names) < 50)
            json_array_append_new(w->names, json_string(name));
        if (json_object_size(vals) == 0 ||
            !sim_objectname_format(b->domain, b->props, b->nprops, w->o->canonical, false, name,
                                   sizeof name)) {
            json_decref(vals);
            return true;
        }
        json_object_set_new(w->result, name, vals);
        return true;
    }

    /* A plain name matches at most one bean. */
    if (json_is_string(w->attr) && *json_string_value(w->attr)) {
        const char *an = json_string_value(w->attr);
        const struct sim_attr *a = find_attr(attrs, n, an);
        if (!a) {
            w->err_status = 404;
            w->err_cls = E_ATTRIBUTE;
            missing_attr_text(b->domain, an, w->err_msg, sizeof w->err_msg);
            return false;
        }
        w->value = attr_value(w, a);
        return false;
    }
    json_t *vals = json_object();
    if (!vals)
        return false;
    if (json_is_array(w->attr)) {
        for (size_t i = 0; i < json_array_size(w->attr); i++) {
            const char *an = json_string_value(json_array_get(w->attr, i));
            const struct sim_attr *a = an ? find_attr(attrs, n, an) : NULL;
            if (a) {
                json_object_set_new(vals, a->name, walk_attr_json(w, a));
            } else if (w->o->ignore_errors) {
                json_object_set_new(vals, an ? an : "",
                                    ignored_error(w->x, b->domain, an ? an : ""));
            } else {
                json_decref(vals);
                w->err_status = 404;
                w->err_cls = E_ATTRIBUTE;
                missing_attr_text(b->domain, an ? an : "", w->err_msg, sizeof w->err_msg);
                return false;
            }
        }
    } else {
        for (size_t i = 0; i < n; i++)
            json_object_set_new(vals, attrs[i].name, walk_attr_json(w, &attrs[i]));
    }
    w->value = vals;
    return false;
}

/* Joins the requested attribute names as Java prints a list: [a, b]. */
static void attr_list_text(const json_t *attr, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "[");
    if (json_is_string(attr)) {
        o += (size_t)snprintf(out + o, cap - o, "%s", json_string_value(attr));
    } else {
        for (size_t i = 0; i < json_array_size(attr) && o < cap; i++)
            o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "",
                                  json_string_value(json_array_get(attr, i)));
    }
    if (o < cap)
        snprintf(out + o, cap - o, "]");
}

static void names_text(const json_t *names, char *out, size_t cap)
{
    attr_list_text(names, out, cap);
}

static json_t *do_read(const struct jctx *x, const struct jopts *o, const json_t *req,
                       struct fatal *f, int *rc)
{
    *rc = 0;
    const char *mbean = json_string_value(json_object_get(req, "mbean"));
    if (!mbean) {
        *rc = set_fatal(f, "No object name given for READ request");
        return NULL;
    }
    const json_t *attr = json_object_get(req, "attribute");
    if (json_is_null(attr))
        attr = NULL;
    if (attr && !json_is_string(attr) && !json_is_array(attr)) {
        *rc = set_fatal(f, "Attribute must be a string or a list of strings");
        return NULL;
    }
    for (size_t i = 0; json_is_array(attr) && i < json_array_size(attr); i++) {
        if (!json_is_string(json_array_get(attr, i))) {
            *rc = set_fatal(f, "Attribute names must be strings");
            return NULL;
        }
    }
    if (json_is_array(attr) && json_array_size(attr) == 0)
        attr = NULL;

    struct sim_objectname on;
    char err[256];
    if (sim_objectname_parse(mbean, &on, err, sizeof err) < 0) {
        *rc = bad_name(x, f, mbean, err);
        return NULL;
    }
    bool pattern = sim_objectname_is_pattern(&on);

    /* The echo: canonical up to J2.4 and for patterns; J2.5+ echoes plain names as given. */
    char echo_name[NAME_MAX_LEN];
    if (!x->j25 || pattern) {
        if (!sim_objectname_format(on.domain, on.props, on.nprops, true, on.list_pattern, echo_name,
                                   sizeof echo_name))
            snprintf(echo_name, sizeof echo_name, "%s", mbean);
    } else {
        snprintf(echo_name, sizeof echo_name, "%s", mbean);
    }
    json_t *echo = json_pack("{s:s,s:s}", "type", "read", "mbean", echo_name);
    if (echo && attr) {
        /* Up to J2.4 (recorded: 1.7.2, 2.4.2) a one-element list is echoed as a string. */
        if (!x->j25 && json_is_array(attr) && json_array_size(attr) == 1)
            json_object_set(echo, "attribute", json_array_get(attr, 0));
        else
            json_object_set(echo, "attribute", (json_t *)(uintptr_t)attr);
    }
    else if (echo && x->j25) /* recorded 2.6.0: no attributes (all) are echoed as [] */
        json_object_set_new(echo, "attribute", json_array());
    const char *path = json_string_value(json_object_get(req, "path"));
    if (echo && path)
        json_object_set_new(echo, "path", json_string(path));

    /* Narrow the walk by what the pattern fixes literally. */
    struct sim_bean_filter filter = {0};
    char conn[SIM_NAME_MAX * 2 + 8];
    if (!on.domain_pattern)
        filter.domain = on.domain;
    for (size_t i = 0; i < on.nprops; i++) {
        if (on.value_pattern[i])
            continue;
        if (strcmp(on.props[i].key, "type") == 0)
            filter.type = on.props[i].value;
        else if (strcmp(on.props[i].key, "connector") == 0)
            filter.connector =
                sim_objectname_unquote(on.props[i].value, conn, sizeof conn) == (size_t)-1 ? "\x01"
                                                                                           : conn;
    }

    struct read_walk w = {
        .x = x,
        .o = o,
        .pat = &on,
        .pattern = pattern,
        .attr = attr,
        .path = path,
        .result = pattern ? json_object() : NULL,
        .names = json_array(),
    };
    sim_beans_each(x->sim->model, x->now, x->agent->worker, &filter, on_read_bean, &w);

    json_t *resp;
    if (w.matched == 0) {
        /* recorded (2.4.2, 2.6.0): the pattern as the client wrote it */
        if (pattern && !x->j25)
            resp = error_response(x, o, echo, 404, E_INSTANCE,
                                  "No MBean with pattern %s found for reading attributes", mbean);
        else if (pattern)
            resp = error_response(x, o, echo, 404, E_INSTANCE,
                                  "No MBean with pattern %s found for READ request", mbean);
        else
            resp = error_response(x, o, echo, 404, E_INSTANCE, "%s", mbean);
    } else if (pattern && json_object_size(w.result) == 0) {
        char list[1024], names[4096];
        attr_list_text(attr, list, sizeof list);
        names_text(w.names, names, sizeof names);
        if (!x->j25)
            resp = error_response(x, o, echo, 400, E_ARGUMENT,
                                  "No matching attributes %s found on MBeans %s", list, names);
        else
            resp =
                error_response(x, o, echo, 404, E_ATTRIBUTE,
                               "No attribute found for any MBean matching %s pattern", mbean);
    } else if (w.nonfinite && x->version == 2 && !x->j25 && (pattern || !w.err_status)) {
        /* Jolokia 2.0-2.4.x serialise a double through BigDecimal, which refuses NaN and
         * Infinity: the whole element fails, even a pattern read over many beans or with
         * ignoreErrors (recorded 2.4.2; 2.5.0 writes null, as 1.x does: jolokia/jolokia#934). */
        resp = error_response(x, o, echo, 400, E_NUMBER,
                              "Character %c is neither a decimal digit number, decimal point, nor "
                              "\"e\" notation exponential mark.",
                              w.nonfinite);
    } else if (pattern) {
        resp = ok_response(x, o, echo, w.result);
        w.result = NULL;
    } else if (w.err_status) {
        resp = error_response(x, o, echo, w.err_status, w.err_cls, "%s", w.err_msg);
    } else {
        resp = ok_response(x, o, echo, w.value);
        w.value = NULL;
    }
    json_decref(w.result);
    json_decref(w.value);
    json_decref(w.names);
    sim_objectname_clear(&on);
    return resp;
}

/* ---- search and version ---- */

struct search_walk {
    const struct sim_objectname *pat;
    bool canonical;
    json_t *names;
};

static bool on_search_bean(const struct sim_bean *b, void *arg)
{
    struct search_walk *w = arg;
    char name[NAME_MAX_LEN];
    if (sim_objectname_match(w->pat, b->domain, b->props, b->nprops) &&
        sim_objectname_format(b->domain, b->props, b->nprops, w->canonical, false, name,
                              sizeof name))
        json_array_append_new(w->names, json_string(name));
    return true;
}

static json_t *do_search(const struct jctx *x, const struct jopts *o, const json_t *req,
                         struct fatal *f, int *rc)
{
    *rc = 0;
    const char *mbean = json_string_value(json_object_get(req, "mbean"));
    struct sim_objectname on;
    char err[256];
    if (!mbean) {
        *rc = set_fatal(f, "No object name given for SEARCH request");
        return NULL;
    }
    if (sim_objectname_parse(mbean, &on, err, sizeof err) < 0) {
        *rc = bad_name(x, f, mbean, err);
        return NULL;
    }
    struct search_walk w = {
        .pat = &on, .canonical = o->canonical, .names = json_array()};
    sim_beans_each(x->sim->model, x->now, x->agent->worker, NULL, on_search_bean, &w);
    sim_objectname_clear(&on);
    return ok_response(x, o, json_pack("{s:s,s:s}", "type", "search", "mbean", mbean), w.names);
}

/* The agent config the recorded agents report (1.7.2 and 2.4.2 JVM agents, defaults plus the
 * discoveryEnabled=false the real stack sets); agentId is filled in. */
static const char *const J1_CONFIG[][2] = {
    {"listenForHttpService", "true"}, {"maxCollectionSize", "0"}, {"authIgnoreCerts", "false"},
    {"agentType", "jvm"}, {"policyLocation", "classpath:/jolokia-access.xml"},
    {"agentContext", "/jolokia"}, {"mimeType", "text/plain"}, {"discoveryEnabled", "false"},
    {"streaming", "true"}, {"historyMaxEntries", "10"}, {"allowDnsReverseLookup", "true"},
    {"maxObjects", "0"}, {"debug", "false"}, {"serializeException", "false"},
    {"multicastGroup", "239.192.48.84"}, {"maxDepth", "15"}, {"authMode", "basic"},
    {"authMatch", "any"}, {"canonicalNaming", "true"}, {"allowErrorDetails", "true"},
    {"realm", "jolokia"}, {"includeStackTrace", "true"}, {"multicastPort", "24884"},
    {"useRestrictorService", "false"}, {"debugMaxEntries", "100"}, {NULL, NULL}};
static const char *const J24_CONFIG[][2] = {
    {"maxDepth", "15"}, {"discoveryEnabled", "false"}, {"maxCollectionSize", "0"},
    {"debug", "false"}, {"dateFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSXXX"},
    {"agentContext", "/jolokia"}, {"historyMaxEntries", "10"}, {"maxObjects", "0"},
    {"debugMaxEntries", "100"}, {NULL, NULL}};

static json_t *config_json(const char *const table[][2], const char *agent_id)
{
    json_t *c = json_pack("{s:s}", "agentId", agent_id);
    for (size_t i = 0; c && table[i][0]; i++)
        json_object_set_new(c, table[i][0], json_string(table[i][1]));
    return c;
}

/* The shapes recorded from 1.7.2, 2.4.2 and 2.6.0 agents inside Kafka 4.1 (Jetty 12 is the
 * server their detectors find; 2.6.0 says protocol 8.2). 1.7.2's jar reports itself as 1.7.1. */
static json_t *version_value(const struct jctx *x)
{
    int rel = x->sim->opt.jolokia_release;
    char agent[32], url[64];
    snprintf(url, sizeof url, "http://%s:%u/jolokia", sim_http_listener_addr(x->agent->l),
             (unsigned)sim_http_listener_port(x->agent->l)); /* recorded: no trailing slash */
    if (rel == 10702)
        rel = 10701;
    snprintf(agent, sizeof agent, "%d.%d.%d", rel / 10000, rel / 100 % 100, rel % 100);
    if (x->version == 1)
        return json_pack("{s:s,s:s,s:o,s:{s:s,s:s,s:s}}", "agent", agent, "protocol", "7.2",
                         "config", config_json(J1_CONFIG, "127.0.0.1-1-connect-sim-jvm"), "info",
                         "product", "jetty", "vendor", "Eclipse", "version", "12.0.22");
    return json_pack("{s:s,s:s,s:{},s:{s:s,s:s,s:s,s:s,s:s,s:b,s:s},s:s,s:o,s:{s:{},s:{}}}",
                     "agent", agent, "protocol", x->j25 ? "8.2" : "8.1", "decorators", "details",
                     "agent_version",
                     agent, "agent_id", "connect-sim-jvm", "server_product", "jetty",
                     "server_vendor", "Eclipse", "server_version", "12.0.22", "secured",
                     x->sim->jolokia_auth != NULL, "url", url, "id", "connect-sim-jvm", "config",
                     config_json(J24_CONFIG, "connect-sim-jvm"), "info", "proxy", "jmx");
}

/* Executes one request object. Returns a new response, or NULL with *rc < 0 and f set when
 * the request is malformed (the whole HTTP request fails). */
static json_t *process(const struct jctx *x, const json_t *req, struct fatal *f, int *rc)
{
    *rc = 0;
    if (!json_is_object(req)) {
        *rc = set_fatal(f, "Invalid JSON request: every element must be a JSON object");
        return NULL;
    }
    struct jopts o = element_opts(x, req);
    const char *type = json_string_value(json_object_get(req, "type"));
    if (!type) {
        *rc = set_fatal(f, "No type given");
        return NULL;
    }
    if (strcasecmp(type, "read") == 0)
        return do_read(x, &o, req, f, rc);
    if (strcasecmp(type, "search") == 0)
        return do_search(x, &o, req, f, rc);
    if (strcasecmp(type, "version") == 0)
        return ok_response(x, &o, json_pack("{s:s}", "type", "version"), version_value(x));
    if (!strcasecmp(type, "list") || !strcasecmp(type, "write") || !strcasecmp(type, "exec") ||
        !strcasecmp(type, "notification"))
        return error_response(x, &o, json_pack("{s:s}", "type", type), 400, E_UNSUPPORTED,
                              "connect-sim answers read, search and version requests only");
    *rc = set_fatal(f, "No type with name '%s' exists", type); /* recorded 2.4.2, 2.6.0 */
    f->http_400 = true;
    return NULL;
}

/* ---- HTTP ---- */

static const char *content_type(const struct jctx *x, evhtp_request_t *r)
{
    char mime[64];
    if (sim_http_query(r, "mimeType", 0, mime, sizeof mime)) {
        if (strcasecmp(mime, "application/json") == 0)
            return CT_JSON;
        if (strcasecmp(mime, "text/plain") == 0)
            return CT_TEXT;
    }
    return x->version == 1 ? CT_TEXT : CT_JSON;
}

static void reply(const struct jctx *x, evhtp_request_t *r, json_t *v)
{
    if (!v) {
        static const char OOM[] = "500 (Internal Server Error)\n\nout of memory\n";
        sim_http_reply(r, 500, CT_TEXT, OOM, sizeof OOM - 1);
        return;
    }
    sim_http_reply_json(r, 200, content_type(x, r), v, x->version == 1 ? SIM_JSON_ESCAPE_SLASH : 0);
    json_decref(v);
}

/* The whole request is unusable: J2.5+ answer HTTP 400 text/plain except for a body that is not
 * JSON or a bulk element that is not an object (recorded 2.6.0: one JSON error object, status
 * 500); J1.x and (recorded) 2.4.2 one JSON error object, except 2.4.2 for an unknown type. */
static void reply_fatal(const struct jctx *x, evhtp_request_t *r, const struct fatal *f)
{
    if (x->j25 ? !f->in_body : (x->version == 2 && f->http_400)) {
        char body[1200];
        int n = snprintf(body, sizeof body, "400 (Bad Request)\n\n%s\n", f->msg);
        sim_http_reply(r, 400, CT_TEXT, body,
                       (size_t)n < sizeof body ? (size_t)n : sizeof body - 1);
        return;
    }
    reply(x, r, error_response(x, &x->base, NULL, f->status, f->cls, "%s", f->msg));
}

/* The agents name the offending element and the whole list (recorded wording; 2.6.0 with
 * status 500). */
static void not_a_request(const struct jctx *x, const json_t *body, const json_t *el,
                          struct fatal *f)
{
    char *all = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    char *one = json_dumps(el, JSON_COMPACT | JSON_ENCODE_ANY);
    set_fatal(f, "Not a request within the list of requests %s. Expected %s, but found: %s",
              all ? all : "[]", x->version == 1 ? "map" : "JSONObject", one ? one : "?");
    free(all);
    free(one);
    if (x->j25) {
        f->status = 500;
        f->in_body = true;
    }
}

static void serve_post(const struct jctx *x, evhtp_request_t *r)
{
    struct evbuffer *in = r->buffer_in;
    size_t len = evbuffer_get_length(in);
    json_error_t e;
    json_t *body =
        len ? json_loadb((const char *)evbuffer_pullup(in, -1), len, JSON_DECODE_ANY, &e) : NULL;
    struct fatal f;
    int rc = 0;
    if (!body) {
        set_fatal(&f, "Invalid JSON request: %s", len ? e.text : "empty body");
        if (x->version == 2) { /* recorded 2.4.2, 2.6.0: the parser's own exception */
            f.cls = "java.lang.IllegalStateException";
            f.status = 500;
            f.in_body = true;
        }
        reply_fatal(x, r, &f);
        return;
    }
    if (json_is_array(body)) {
        json_t *out = json_array();
        for (size_t i = 0; out && i < json_array_size(body); i++) {
            const json_t *el = json_array_get(body, i);
            if (!json_is_object(el)) {
                not_a_request(x, body, el, &f);
                rc = -1;
                break;
            }
            json_t *resp = process(x, el, &f, &rc);
            if (rc < 0)
                break;
            json_array_append_new(out, resp);
        }
        if (rc < 0) {
            json_decref(out);
            reply_fatal(x, r, &f);
        } else {
            reply(x, r, out);
        }
    } else {
        json_t *resp = process(x, body, &f, &rc);
        if (rc < 0)
            reply_fatal(x, r, &f);
        else
            reply(x, r, resp);
    }
    json_decref(body);
}

/* Splits a GET path element list at unescaped '/', undoing "!/" and "!!" (new strings). */
static size_t split_elements(const char *s, char **out, size_t max)
{
    size_t n = 0;
    size_t len = strlen(s);
    char *cur = malloc(len + 1);
    size_t c = 0;
    if (!cur)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '/') {
            cur[c] = '\0';
            if (n < max)
                out[n++] = strdup(cur);
            c = 0;
            continue;
        }
        if (s[i] == '!' && i + 1 < len) {
            cur[c++] = s[++i];
            continue;
        }
        cur[c++] = s[i];
    }
    free(cur);
    return n;
}

/* Turns "A,B\,C" into a string (one) or an array (several); new reference. */
static json_t *attr_from_path(const char *s)
{
    json_t *arr = json_array();
    size_t len = strlen(s);
    char *cur = malloc(len + 1);
    size_t c = 0;
    if (!arr || !cur) {
        free(cur);
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == ',') {
            cur[c] = '\0';
            json_array_append_new(arr, json_string(cur));
            c = 0;
        } else if (s[i] == '\\' && i + 1 < len && s[i + 1] == ',') {
            cur[c++] = s[++i];
        } else {
            cur[c++] = s[i];
        }
    }
    free(cur);
    if (json_array_size(arr) == 1) {
        json_t *one = json_incref(json_array_get(arr, 0));
        json_decref(arr);
        return one;
    }
    return arr;
}

static void serve_get(const struct jctx *x, evhtp_request_t *r, const char *rest)
{
    /* rest: "version", "read/<mbean>/<attr>/<path>", "search/<pattern>", "" */
    char *decoded = sim_http_pct_decode(rest, strlen(rest));
    struct fatal f;
    int rc = 0;
    if (!decoded) {
        set_fatal(&f, "Invalid URL encoding in request path");
        reply_fatal(x, r, &f);
        return;
    }
    char *el[16] = {0};
    size_t n = split_elements(decoded, el, 16);
    free(decoded);
    json_t *req = NULL;
    if (n == 0 || !el[0][0] || strcmp(el[0], "version") == 0) {
        req = json_pack("{s:s}", "type", "version");
    } else if (strcmp(el[0], "read") == 0 || strcmp(el[0], "search") == 0) {
        req = json_pack("{s:s}", "type", el[0]);
        if (req && n > 1)
            json_object_set_new(req, "mbean", json_string(el[1]));
        if (req && n > 2 && el[2][0] && strcmp(el[2], "*") != 0)
            json_object_set_new(req, "attribute", attr_from_path(el[2]));
        if (req && n > 3) {
            char path[1024];
            size_t o = 0;
            for (size_t i = 3; i < n && o < sizeof path; i++)
                o += (size_t)snprintf(path + o, sizeof path - o, "%s%s", i > 3 ? "/" : "", el[i]);
            json_object_set_new(req, "path", json_string(path));
        }
    } else {
        req = json_pack("{s:s}", "type", el[0]);
    }
    for (size_t i = 0; i < n; i++)
        free(el[i]);
    json_t *resp = req ? process(x, req, &f, &rc) : NULL;
    json_decref(req);
    if (rc < 0)
        reply_fatal(x, r, &f);
    else
        reply(x, r, resp);
}

/* Constant-time comparison, so the check does not leak how much of a guess was right. */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static void serve(evhtp_request_t *r, void *arg)
{
    struct sim_agent *a = arg;
    struct sim *s = a->sim;
    struct jctx x = {
        .sim = s,
        .agent = a,
        .version = s->opt.jolokia_version,
        .j25 = s->opt.jolokia_release >= 20500,
        .now = sim_model_now(),
        .timestamp = (json_int_t)time(NULL),
    };
    sim_model_advance(s->model, x.now);
    if (s->jolokia_auth) {
        const char *h = sim_http_header(r, "Authorization");
        if (!h || !same_secret(h, s->jolokia_auth)) {
            sim_faults_reply_jolokia_401(r);
            return;
        }
    }
    /* Defaults: canonical names up to J2.4, stack traces in J1.x only (recorded 2.4.2). */
    bool v1 = x.version == 1;
    x.base.canonical = sim_http_query_bool(r, "canonicalNaming", !x.j25);
    x.base.ignore_errors = sim_http_query_bool(r, "ignoreErrors", false);
    x.base.include_stack = sim_http_query_bool(r, "includeStackTrace", v1);
    x.base.include_request = sim_http_query_bool(r, "includeRequest", true);

    const char *path = sim_http_path(r);
    /* The 1.x agent's JDK HttpServer context is "/jolokia/": a POST to "/jolokia" is a 404
     * (recorded); 2.x takes both. */
    if (strncmp(path, "/jolokia", 8) != 0 || (path[8] != '\0' && path[8] != '/') ||
        (v1 && path[8] == '\0' && evhtp_request_get_method(r) == htp_method_POST)) {
        static const char NF[] = "<h1>404 Not Found</h1>No context found for request";
        sim_http_reply(r, 404, "text/html", NF, sizeof NF - 1);
        return;
    }
    const char *rest = path[8] ? path + 9 : "";
    htp_method m = evhtp_request_get_method(r);
    if (m == htp_method_POST) {
        serve_post(&x, r);
    } else if (m == htp_method_GET) {
        serve_get(&x, r, rest);
    } else {
        struct fatal f;
        /* recorded, 1.7.2 and 2.4.2: an in-body error object; 2.6.0: HTTP 400 */
        set_fatal(&f, "HTTP Method %s is not supported.", sim_http_method_name(r));
        reply_fatal(&x, r, &f);
    }
}

/* Read requests carried by a POST body, for the counters (an object is one). */
static size_t post_elements(evhtp_request_t *r)
{
    size_t len = evbuffer_get_length(r->buffer_in);
    if (!len)
        return 0;
    json_t *v =
        json_loadb((const char *)evbuffer_pullup(r->buffer_in, -1), len, JSON_DECODE_ANY, NULL);
    size_t n = json_is_array(v) ? json_array_size(v) : json_is_object(v) ? 1 : 0;
    json_decref(v);
    return n;
}

void sim_jolokia_on_request(evhtp_request_t *r, void *arg)
{
    struct sim_agent *a = arg;
    struct sim *s = a->sim;
    bool post = evhtp_request_get_method(r) == htp_method_POST;
    sim_counters_jolokia(&s->counters, a->worker, post, post ? post_elements(r) : 0);
    const char *ct = s->opt.jolokia_version == 1 ? CT_TEXT : CT_JSON;
    if (sim_faults_answer(&s->jolokia_fault[a->worker], SIM_FRONT_JOLOKIA, a->l, r, serve, a, ct))
        return;
    serve(r, a);
}
