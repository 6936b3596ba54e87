/* connect_model.c — Connect's ConnectorStateInfo / ConnectorInfo / expand map → plain structs.
 * Unknown fields are ignored and optional ones may be missing; wrong shapes are refused. */
#include "kc/connect_model.h"

#include "kc/jsplit.h"
#include "kc/stepsort.h"

#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {
    [KC_STATE_OTHER] = "UNKNOWN",       [KC_STATE_UNASSIGNED] = "UNASSIGNED",
    [KC_STATE_RUNNING] = "RUNNING",     [KC_STATE_PAUSED] = "PAUSED",
    [KC_STATE_FAILED] = "FAILED",       [KC_STATE_RESTARTING] = "RESTARTING",
    [KC_STATE_STOPPED] = "STOPPED",
};

enum kc_state kc_connect_model_state_parse(const char *s)
{
    if (!s)
        return KC_STATE_OTHER;
    for (size_t i = 1; i < sizeof state_names / sizeof state_names[0]; i++)
        if (strcmp(s, state_names[i]) == 0)
            return (enum kc_state)i;
    return KC_STATE_OTHER;
}

const char *kc_connect_model_state_name(enum kc_state s)
{
    if ((size_t)s >= sizeof state_names / sizeof state_names[0])
        return state_names[KC_STATE_OTHER];
    return state_names[s];
}

const char *kc_connect_model_type_name(enum kc_connector_type t)
{
    switch (t) {
    case KC_TYPE_SOURCE: return "source";
    case KC_TYPE_SINK: return "sink";
    default: return "unknown";
    }
}

static enum kc_connector_type parse_type(const char *s)
{
    if (s && strcmp(s, "source") == 0)
        return KC_TYPE_SOURCE;
    if (s && strcmp(s, "sink") == 0)
        return KC_TYPE_SINK;
    return KC_TYPE_UNKNOWN;
}

static void copy_state(const json_t *obj, enum kc_state *state, char text[KC_STATE_TEXT_MAX])
{
    const char *s = json_string_value(json_object_get(obj, "state"));
    *state = kc_connect_model_state_parse(s);
    text[0] = '\0';
    if (s) {
        strncpy(text, s, KC_STATE_TEXT_MAX - 1);
        text[KC_STATE_TEXT_MAX - 1] = '\0';
    }
}

/* Copies an optional string member: "" (worker ids) or NULL (traces) when missing.
 * Returns -1 only on allocation failure. */
static int dup_member(const json_t *obj, const char *key, int empty_if_missing, char **out)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s || !*s) {
        if (!empty_if_missing) {
            *out = NULL;
            return 0;
        }
        s = "";
    }
    *out = strdup(s);
    return *out ? 0 : -1;
}

void kc_connect_model_status_clear(struct kc_connector_status *st)
{
    if (!st)
        return;
    free(st->name);
    free(st->worker_id);
    free(st->trace);
    for (size_t i = 0; i < st->task_count; i++) {
        free(st->tasks[i].worker_id);
        free(st->tasks[i].trace);
    }
    free(st->tasks);
    free(st->class_name);
    json_decref(st->config);
    for (size_t i = 0; i < st->topic_count; i++)
        free(st->topics[i]);
    free(st->topics);
    memset(st, 0, sizeof *st);
}

static int cmp_task(const void *a, const void *b)
{
    const struct kc_task_status *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int parse_tasks(const json_t *arr, struct kc_connector_status *out)
{
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    out->tasks = calloc(n, sizeof *out->tasks);
    if (!out->tasks)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(arr, i);
        const json_t *id = json_object_get(t, "id");
        if (!json_is_object(t) || !json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) > 1000000)
            return -1;
        struct kc_task_status *ts = &out->tasks[out->task_count++];
        ts->id = (int)json_integer_value(id);
        copy_state(t, &ts->state, ts->state_text);
        if (dup_member(t, "worker_id", 1, &ts->worker_id) < 0 ||
            dup_member(t, "trace", 0, &ts->trace) < 0)
            return -1;
    }
    qsort(out->tasks, out->task_count, sizeof *out->tasks, cmp_task);
    return 0;
}

static int push_topic(struct kc_connector_status *out, const char *s, size_t len, size_t *cap)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (!len)
        return 0;
    if (out->topic_count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        char **nt = realloc(out->topics, ncap * sizeof *nt);
        if (!nt)
            return -1;
        out->topics = nt;
        *cap = ncap;
    }
    char *t = strndup(s, len);
    if (!t)
        return -1;
    out->topics[out->topic_count++] = t;
    return 0;
}

static int parse_info(const json_t *info, struct kc_connector_status *out)
{
    if (!json_is_object(info))
        return 0;
    if (out->type == KC_TYPE_UNKNOWN)
        out->type = parse_type(json_string_value(json_object_get(info, "type")));
    json_t *config = json_object_get(info, "config");
    if (json_is_object(config)) {
        out->config = json_incref(config);
        const char *cls = json_string_value(json_object_get(config, "connector.class"));
        if (cls && !(out->class_name = strdup(cls)))
            return -1;
    }
    size_t cap = 0;
    const json_t *topics = json_object_get(info, "topics");
    if (json_is_array(topics)) {
        size_t i;
        const json_t *v;
        json_array_foreach(topics, i, v) {
            const char *s = json_string_value(v);
            if (s && push_topic(out, s, strlen(s), &cap) < 0)
                return -1;
        }
        return 0;
    }
    /* Only sinks name their topics in a standard key; source topics are connector-specific. */
    const char *list = json_string_value(json_object_get(config, "topics"));
    if (list && out->type == KC_TYPE_SINK) {
        for (const char *p = list;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (push_topic(out, p, len, &cap) < 0)
                return -1;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    return 0;
}

int kc_connect_model_parse_status(const json_t *status, const json_t *info, const char *name_hint,
                                  struct kc_connector_status *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(status))
        return -1;
    const char *name = json_string_value(json_object_get(status, "name"));
    if (!name || !*name)
        name = name_hint;
    if (!name || !*name)
        return -1;
    const json_t *conn = json_object_get(status, "connector");
    const json_t *tasks = json_object_get(status, "tasks");
    if ((conn && !json_is_object(conn)) || (tasks && !json_is_array(tasks)))
        return -1;
    if (!(out->name = strdup(name)))
        goto fail;
    out->type = parse_type(json_string_value(json_object_get(status, "type")));
    copy_state(conn, &out->state, out->state_text);
    if (dup_member(conn, "worker_id", 1, &out->worker_id) < 0 ||
        dup_member(conn, "trace", 0, &out->trace) < 0)
        goto fail;
    if (parse_tasks(tasks, out) < 0 || parse_info(info, out) < 0)
        goto fail;
    return 0;
fail:
    kc_connect_model_status_clear(out);
    return -1;
}

int kc_connect_model_parse_status_text(const char *body, size_t len,
                                       struct kc_connector_status *out)
{
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb(body, len, 0, NULL);
    if (!root)
        return -1;
    int rc = kc_connect_model_parse_status(root, NULL, NULL, out);
    json_decref(root);
    return rc;
}

void kc_connect_model_list_clear(struct kc_connector_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        kc_connect_model_status_clear(&list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static int cmp_status_name(const void *a, const void *b)
{
    const struct kc_connector_status *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int kc_connect_model_parse_list(json_t *map, struct kc_connector_list *out)
{
    out->items = NULL;
    out->count = 0;
    if (!json_is_object(map))
        return -1;
    size_t n = json_object_size(map);
    if (n == 0)
        return 0;
    out->items = calloc(n, sizeof *out->items);
    if (!out->items)
        return -1;
    const char *name;
    json_t *entry;
    json_object_foreach(map, name, entry) {
        const json_t *status = json_object_get(entry, "status");
        if (!json_is_object(status))
            continue; /* dropped or half-deleted connector: nothing to show */
        struct kc_connector_status *st = &out->items[out->count];
        if (kc_connect_model_parse_status(status, json_object_get(entry, "info"), name, st) < 0) {
            /* One malformed entry must not hide the other 4,999; OOM can't be told apart
             * here, and the next entry would most likely fail the same way. */
            continue;
        }
        /* The map key is authoritative (status "name" could differ only in a broken proxy). */
        if (strcmp(st->name, name) != 0) {
            char *k = strdup(name);
            if (!k) {
                kc_connect_model_status_clear(st);
                goto fail;
            }
            free(st->name);
            st->name = k;
        }
        out->count++;
    }
    qsort(out->items, out->count, sizeof *out->items, cmp_status_name);
    return 0;
fail:
    kc_connect_model_list_clear(out);
    return -1;
}

/* ---- the expand map in pieces ---- */

struct kc_connect_list_parser {
    struct kc_jsplit split;
    struct kc_connector_list list;
    size_t cap;
    int not_map;         /* the root is not an object */
    char *key;           /* scratch: one entry's name */
    size_t key_cap;
    int parsed, sorted;  /* the whole map is read; then sorted by name */
    struct kc_stepsort *sort;
};

/* Sorting is stepped too (qsort of 20,000 statuses held a turn ~5 ms): a step's budget of
 * body bytes buys this many bytes' worth of sort units (a compared and moved index). */
#define SORT_UNIT_BYTES 16

struct kc_connect_list_parser *kc_connect_model_list_parser_new(const char *body, size_t len)
{
    struct kc_connect_list_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    kc_jsplit_init(&p->split, body, len, 1);
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", body[i]))
        i++;
    p->not_map = i == len || body[i] != '{';
    return p;
}

/* The name of a map key token (quotes included); borrowed from p, NULL for garbage/OOM. */
static const char *entry_name(struct kc_connect_list_parser *p, const char *tok, size_t n)
{
    if (memchr(tok, '\\', n)) {
        json_t *k = json_loadb(tok, n, JSON_DECODE_ANY, NULL);
        const char *v = json_string_value(k);
        char *copy = v ? strdup(v) : NULL;
        json_decref(k);
        if (!copy)
            return NULL;
        free(p->key);
        p->key = copy;
        p->key_cap = strlen(copy) + 1;
        return p->key;
    }
    if (n - 1 > p->key_cap) {
        char *nk = realloc(p->key, n);
        if (!nk)
            return NULL;
        p->key = nk;
        p->key_cap = n - 1;
    }
    memcpy(p->key, tok + 1, n - 2);
    p->key[n - 2] = '\0';
    return p->key;
}

/* One map entry, as kc_connect_model_parse_list takes it: 0, or -1 on OOM. Malformed entries
 * are skipped (one must not hide the others). */
static int list_add(struct kc_connect_list_parser *p, const char *name, const char *val,
                    size_t len)
{
    json_t *entry = json_loadb(val, len, JSON_DECODE_ANY, NULL);
    const json_t *status = json_object_get(entry, "status");
    if (!json_is_object(status)) {
        json_decref(entry);
        return 0;
    }
    if (p->list.count == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        struct kc_connector_status *ni = realloc(p->list.items, ncap * sizeof *ni);
        if (!ni) {
            json_decref(entry);
            return -1;
        }
        p->list.items = ni;
        p->cap = ncap;
    }
    struct kc_connector_status *st = &p->list.items[p->list.count];
    int rc = kc_connect_model_parse_status(status, json_object_get(entry, "info"), name, st);
    json_decref(entry);
    if (rc < 0)
        return 0;
    if (strcmp(st->name, name) != 0) {
        char *k = strdup(name);
        if (!k) {
            kc_connect_model_status_clear(st);
            return -1;
        }
        free(st->name);
        st->name = k;
    }
    p->list.count++;
    return 0;
}

/* The parsed entries sorted by name (kc_connect_model_list_find searches them), a piece per
 * step: 1 = more, 0 = sorted, -1 = out of memory. */
static int sort_step(struct kc_connect_list_parser *p, size_t budget)
{
    if (p->sorted || p->list.count < 2)
        return 0;
    if (!p->sort &&
        !(p->sort = kc_stepsort_new(p->list.items, p->list.count, sizeof *p->list.items,
                                    cmp_status_name)))
        return -1;
    int rc = kc_stepsort_step(p->sort, budget / SORT_UNIT_BYTES + 1);
    if (rc == 1)
        return 1;
    kc_stepsort_free(p->sort);
    p->sort = NULL;
    p->sorted = rc == 0;
    return rc;
}

int kc_connect_model_list_parser_step(struct kc_connect_list_parser *p, size_t budget)
{
    if (p->not_map)
        return -1;
    if (p->parsed)
        return sort_step(p, budget);
    size_t start = p->split.pos;
    while (p->split.pos - start < budget) {
        struct kc_jsplit_item it;
        int rc = kc_jsplit_next(&p->split, &it, budget);
        if (rc == KC_JSPLIT_END) {
            p->parsed = 1;
            return sort_step(p, budget);
        }
        if (rc == KC_JSPLIT_ERROR)
            return -1;
        if (rc == KC_JSPLIT_PAUSE)
            continue;
        if (it.container != '{')
            return -1; /* the root is an array: not a map */
        const char *name = entry_name(p, p->split.text + it.key_off, it.key_len);
        if (!name || list_add(p, name, p->split.text + it.val_off, it.val_len) < 0)
            return -1;
    }
    return 1;
}

void kc_connect_model_list_parser_take(struct kc_connect_list_parser *p,
                                       struct kc_connector_list *out)
{
    kc_stepsort_free(p->sort); /* taken before the steps sorted it: sorted here */
    p->sort = NULL;
    if (!p->sorted && p->list.count > 1)
        qsort(p->list.items, p->list.count, sizeof *p->list.items, cmp_status_name);
    *out = p->list;
    memset(&p->list, 0, sizeof p->list);
    p->cap = 0;
}

void kc_connect_model_list_parser_free(struct kc_connect_list_parser *p)
{
    if (!p)
        return;
    kc_stepsort_free(p->sort);
    kc_connect_model_list_clear(&p->list);
    free(p->key);
    free(p);
}

const struct kc_connector_status *kc_connect_model_list_find(const struct kc_connector_list *list,
                                                             const char *name)
{
    size_t lo = 0, hi = list->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(list->items[mid].name, name);
        if (c == 0)
            return &list->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int kc_connect_model_task_queryable(const struct kc_task_status *t)
{
    return t->worker_id && t->worker_id[0] && t->state != KC_STATE_UNASSIGNED;
}

size_t kc_connect_model_task_workers(const struct kc_connector_status *st, const char **out,
                                     size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < st->task_count; i++) {
        const struct kc_task_status *t = &st->tasks[i];
        if (!kc_connect_model_task_queryable(t))
            continue;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = kc_connect_model_task_queryable(&st->tasks[j]) &&
                   strcmp(st->tasks[j].worker_id, t->worker_id) == 0;
        if (seen)
            continue;
        if (n < cap)
            out[n] = t->worker_id;
        n++;
    }
    return n;
}
