/* handlers/static.c — serves the web console from the embedded asset table (or static/ on disk
 * with KC_STATIC_DIR): content types, ETag/304, caching headers, lazy gzip, SPA fallback. */
#include "kc/static_files.h"

#include "kc/http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc/assets.h"

#define STATIC_GZIP_MIN 1024              /* smaller files are not worth a Content-Encoding */
#define STATIC_DEV_MAX (32 * 1024 * 1024) /* refuse absurd files in dev mode */
#define STATIC_PATH_MAX 1024

struct static_type {
    const char *ext;
    const char *mime;
    int compressible;
};

/* Extension → Content-Type; anything else is served as an opaque byte stream. */
static const struct static_type static_types[] = {
    {"html", "text/html; charset=utf-8", 1},
    {"js", "text/javascript; charset=utf-8", 1},
    {"mjs", "text/javascript; charset=utf-8", 1},
    {"css", "text/css; charset=utf-8", 1},
    {"json", "application/json", 1},
    {"map", "application/json", 1},
    {"svg", "image/svg+xml", 1},
    {"txt", "text/plain; charset=utf-8", 1},
    {"md", "text/plain; charset=utf-8", 1},
    {"webmanifest", "application/manifest+json", 1},
    {"ico", "image/x-icon", 1},
    {"png", "image/png", 0},
    {"jpg", "image/jpeg", 0},
    {"jpeg", "image/jpeg", 0},
    {"gif", "image/gif", 0},
    {"webp", "image/webp", 0},
    {"woff", "font/woff", 0},
    {"woff2", "font/woff2", 0},
};

static const struct static_type static_type_default = {"", "application/octet-stream", 0};

/* The gzip form of embedded asset i, made on first request and kept for the process lifetime.
 * state: 0 = not tried, 1 = ready, -1 = not worth it or failed (serve identity). */
struct static_gz {
    int state;
    unsigned char *data;
    size_t size;
    char etag[64];
};

static struct static_gz *static_gz_table; /* kc_assets_count entries, allocated lazily */

static const char *static_ext(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return (dot && dot != base) ? dot + 1 : NULL;
}

static const struct static_type *static_type_for(const char *path)
{
    const char *ext = static_ext(path);
    if (!ext)
        return &static_type_default;
    for (size_t i = 0; i < sizeof static_types / sizeof static_types[0]; i++)
        if (strcasecmp(ext, static_types[i].ext) == 0)
            return &static_types[i];
    return &static_type_default;
}

/* True when an If-None-Match header names `etag` (a quoted strong tag), also in weak form or
 * as the gzip variant, or is "*". */
static int static_etag_matches(const char *inm, const char *etag)
{
    if (!inm || !etag)
        return 0;
    size_t elen = strlen(etag);
    if (elen < 2)
        return 0;
    const char *inner = etag + 1; /* between the quotes */
    size_t ilen = elen - 2;
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"') {
            while (*p && *p != ',')
                p++;
            continue;
        }
        const char *start = ++p;
        while (*p && *p != '"')
            p++;
        size_t len = (size_t)(p - start);
        if (*p == '"')
            p++;
        if (len >= ilen && strncmp(start, inner, ilen) == 0 &&
            (len == ilen || (len == ilen + 3 && strncmp(start + ilen, "-gz", 3) == 0)))
            return 1;
    }
    return 0;
}

/* Returns the gzip form of embedded asset i, compressing it on first use; NULL when identity
 * must be served (too small, incompressible, no memory, or not smaller). Borrowed pointer. */
static const struct static_gz *static_gz_get(size_t i)
{
    const struct kc_asset *a = &kc_assets[i];
    if (a->size <= STATIC_GZIP_MIN || !static_type_for(a->path)->compressible)
        return NULL;
    if (!static_gz_table) {
        static_gz_table = calloc(kc_assets_count ? kc_assets_count : 1, sizeof *static_gz_table);
        if (!static_gz_table)
            return NULL;
    }
    struct static_gz *gz = &static_gz_table[i];
    if (gz->state == 0) {
        gz->state = -1;
        unsigned char *out = NULL;
        size_t out_len = 0;
        size_t elen = a->etag ? strlen(a->etag) : 0;
        if (elen >= 2 && elen + 4 < sizeof gz->etag &&
            (out = kc_gzip(a->data, a->size, KC_GZIP_BEST, &out_len)) != NULL) {
            if (out_len < a->size) {
                /* "abc" → "abc-gz": a strong validator must differ per content coding */
                memcpy(gz->etag, a->etag, elen - 1);
                memcpy(gz->etag + elen - 1, "-gz\"", 5);
                gz->data = out;
                gz->size = out_len;
                gz->state = 1;
            } else {
                free(out);
            }
        }
    }
    return gz->state == 1 ? gz : NULL;
}

static void static_header(evhtp_request_t *req, const char *k, const char *v)
{
    /* values may be stack or per-asset strings: let evhtp copy the value */
    evhtp_headers_add_header(req->headers_out, evhtp_header_new(k, v, 0, 1));
}

static const char *static_cache_control(const char *asset_path)
{
    return strcmp(asset_path, "/index.html") == 0 ? "no-cache" : "public, max-age=3600";
}

/* Copies the path part of `path` (up to '?' or '#') into buf. Returns -1 on overflow. */
static int static_clean_path(const char *path, char *buf, size_t cap)
{
    size_t n = strcspn(path, "?#");
    if (n == 0) {
        buf[0] = '/';
        buf[1] = '\0';
        return 0;
    }
    if (n >= cap)
        return -1;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return 0;
}

static int static_is_spa_route(const char *path)
{
    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0)
        return 0;
    return static_ext(path) == NULL;
}

static long static_find(const char *path)
{
    for (size_t i = 0; i < kc_assets_count && kc_assets[i].path; i++)
        if (strcmp(kc_assets[i].path, path) == 0)
            return (long)i;
    return -1;
}

/* HEAD answers carry the length the GET body would have (RFC 9110 §9.3.2); without the
 * header, libevhtp would announce the empty buffer's 0. */
static void static_head_length(evhtp_request_t *req, size_t len)
{
    char text[32];
    snprintf(text, sizeof text, "%zu", len);
    static_header(req, "Content-Length", text);
}

static int static_serve_embedded(evhtp_request_t *req, const char *path, int head)
{
    long idx = static_find(strcmp(path, "/") == 0 ? "/index.html" : path);
    if (idx < 0 && static_is_spa_route(path))
        idx = static_find("/index.html");
    if (idx < 0)
        return -1;
    const struct kc_asset *a = &kc_assets[idx];
    const struct static_type *t = static_type_for(a->path);

    const struct static_gz *gz = NULL;
    if (kc_http_accepts_gzip(req))
        gz = static_gz_get((size_t)idx);
    const char *etag = gz ? gz->etag : a->etag;

    static_header(req, "Cache-Control", static_cache_control(a->path));
    if (etag)
        static_header(req, "ETag", etag);
    if (t->compressible)
        static_header(req, "Vary", "Accept-Encoding");

    if (static_etag_matches(evhtp_header_find(req->headers_in, "If-None-Match"), a->etag)) {
        kc_reply_finish(req, 304);
        return 0;
    }
    static_header(req, "Content-Type", t->mime);
    if (gz)
        static_header(req, "Content-Encoding", "gzip");
    if (head) {
        static_head_length(req, gz ? gz->size : a->size);
    } else {
        /* both buffers live for the whole process: hand them out by reference, no copy */
        if (gz)
            evbuffer_add_reference(req->buffer_out, gz->data, gz->size, NULL, NULL);
        else
            evbuffer_add_reference(req->buffer_out, a->data, a->size, NULL, NULL);
    }
    kc_reply_finish(req, 200);
    return 0;
}

/* Reads dir + rel into a new malloc'd buffer. Returns 0, or -1 when missing/unreadable. */
static int static_read_file(const char *full, unsigned char **out, size_t *len, struct stat *st)
{
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_size > STATIC_DEV_MAX) {
        close(fd);
        return -1;
    }
    size_t size = (size_t)st->st_size;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = got;
    return 0;
}

static void static_free_cb(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    free(arg);
}

/* Development mode: files straight from disk, never cached by the browser for long. */
static int static_serve_dev(evhtp_request_t *req, const char *path, const char *dir, int head)
{
    if (strstr(path, "..") || strchr(path, '\\'))
        return -1;
    const char *rel = strcmp(path, "/") == 0 ? "/index.html" : path;
    char full[STATIC_PATH_MAX * 2];
    unsigned char *data = NULL;
    size_t len = 0;
    struct stat st;
    int n = snprintf(full, sizeof full, "%s%s", dir, rel);
    if (n < 0 || (size_t)n >= sizeof full)
        return -1;
    if (static_read_file(full, &data, &len, &st) != 0) {
        if (!static_is_spa_route(path))
            return -1;
        rel = "/index.html";
        n = snprintf(full, sizeof full, "%s%s", dir, rel);
        if (n < 0 || (size_t)n >= sizeof full || static_read_file(full, &data, &len, &st) != 0)
            return -1;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "W/\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtime);
    static_header(req, "Cache-Control", "no-cache");
    static_header(req, "ETag", etag);
    const char *inm = evhtp_header_find(req->headers_in, "If-None-Match");
    if (inm && strstr(inm, etag + 2)) {
        free(data);
        kc_reply_finish(req, 304);
        return 0;
    }
    static_header(req, "Content-Type", static_type_for(rel)->mime);
    if (head)
        static_head_length(req, len);
    if (head || evbuffer_add_reference(req->buffer_out, data, len, static_free_cb, data) != 0)
        free(data);
    kc_reply_finish(req, 200);
    return 0;
}

int kc_static_serve(evhtp_request_t *req, const char *path, const char *dev_dir)
{
    if (!req || !path)
        return -1;
    htp_method m = evhtp_request_get_method(req);
    if (m != htp_method_GET && m != htp_method_HEAD)
        return -1;
    char clean[STATIC_PATH_MAX];
    if (static_clean_path(path, clean, sizeof clean) != 0 || clean[0] != '/')
        return -1;
    int head = m == htp_method_HEAD;
    if (dev_dir && *dev_dir)
        return static_serve_dev(req, clean, dev_dir, head);
    return static_serve_embedded(req, clean, head);
}
