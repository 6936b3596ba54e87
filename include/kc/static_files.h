/* kc/static_files.h — serves the web console: the embedded static/ table, or static/ from disk
 * in development (KC_STATIC_DIR), with types, ETags, caching headers, gzip and SPA fallback. */
#ifndef KC_STATIC_FILES_H
#define KC_STATIC_FILES_H

#include <evhtp/evhtp.h>

/* Replies to a GET/HEAD of `path` (the URL path, still percent-encoded; a query string is
 * ignored) with the matching UI file. Paths without a file extension that are not under /api/
 * get index.html so deep links load the app. `dev_dir` (borrowed, may be NULL) serves files
 * from that folder instead of the embedded table.
 * Returns 0 when it replied, -1 when nothing matches (the caller sends 404). */
int kc_static_serve(evhtp_request_t *req, const char *path, const char *dev_dir);

#endif
