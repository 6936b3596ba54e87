/* redis_url.c — KC_REDIS_URL: redis://[[user]:password@]host[:port][/db] parsed, and shown to
 * people with the password masked. Pure functions; the password is a credential never echoed. */
#include "kc/redis_url.h"

#include "kc/urlenc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void url_err(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s; want redis://[:password@]host[:port][/db]", why);
}

/* New string: text[0..n) with %XX decoded; NULL on a bad escape, a NUL byte, or OOM. */
static char *pct_decode(const char *text, size_t n)
{
    int bad;
    return kc_urldec_segment(text, n, &bad);
}

static int parse_uint(const char *s, size_t n, long max, long *out)
{
    if (n == 0 || n > 10)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static int valid_host_name(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
            return 0;
    return 1;
}

void kc_redis_url_clear(struct kc_redis_url *u)
{
    free(u->host);
    free(u->username);
    if (u->password) /* a credential: do not leave it in freed memory */
        memset(u->password, 0, strlen(u->password));
    free(u->password);
    memset(u, 0, sizeof *u);
}

int kc_redis_url_parse(const char *text, struct kc_redis_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (!text || !*text) {
        url_err(err, errlen, "empty");
        return -1;
    }
    if (strncasecmp(text, "rediss://", 9) == 0) {
        snprintf(err, errlen, "rediss:// (TLS) is not supported by hiredis 0.14; use redis:// on "
                              "a trusted network or a TLS proxy");
        return -1;
    }
    if (strncasecmp(text, "redis://", 8) != 0) {
        url_err(err, errlen, "not a redis:// URL");
        return -1;
    }
    const char *p = text + 8;
    /* The path (/db) holds no '@', so the last '@' ends the userinfo even when the password
     * itself holds an unencoded '@' or '/'. */
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon) {
            url_err(err, errlen, "user info without ':' before the password");
            goto fail;
        }
        if (colon > p && !(out->username = pct_decode(p, (size_t)(colon - p)))) {
            url_err(err, errlen, "bad %-escape in the user name");
            goto fail;
        }
        if (!(out->password = pct_decode(colon + 1, (size_t)(at - colon - 1)))) {
            url_err(err, errlen, "bad %-escape in the password");
            goto fail;
        }
        if (!*out->password) {
            url_err(err, errlen, "empty password");
            goto fail;
        }
        p = at + 1;
    }
    const char *host_end;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        struct in6_addr a6;
        char buf[INET6_ADDRSTRLEN];
        size_t n = close ? (size_t)(close - p - 1) : 0;
        if (!close || n == 0 || n >= sizeof buf) {
            url_err(err, errlen, "bad [IPv6] host");
            goto fail;
        }
        memcpy(buf, p + 1, n);
        buf[n] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) != 1) {
            url_err(err, errlen, "bad [IPv6] host");
            goto fail;
        }
        out->host = strdup(buf);
        host_end = close + 1;
    } else {
        host_end = p + strcspn(p, ":/?#");
        if (!valid_host_name(p, (size_t)(host_end - p))) {
            url_err(err, errlen, host_end == p ? "no host" : "bad host name");
            goto fail;
        }
        out->host = strndup(p, (size_t)(host_end - p));
    }
    if (!out->host) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    p = host_end;
    long v;
    if (*p == ':') {
        size_t n = strcspn(p + 1, "/?#");
        if (parse_uint(p + 1, n, 65535, &v) != 0 || v == 0) {
            url_err(err, errlen, "bad port (want 1..65535)");
            goto fail;
        }
        out->port = (int)v;
        p += 1 + n;
    }
    if (*p == '/') {
        size_t n = strcspn(p + 1, "?#");
        if (n > 0 && parse_uint(p + 1, n, 65535, &v) != 0) {
            url_err(err, errlen, "bad database index (want /0, /1, ...)");
            goto fail;
        }
        out->db = n > 0 ? (int)v : 0;
        p += 1 + n;
    }
    if (*p != '\0') {
        url_err(err, errlen, "unexpected text after host, port and db");
        goto fail;
    }
    return 0;
fail:
    kc_redis_url_clear(out);
    return -1;
}

char *kc_redis_url_masked(const struct kc_redis_url *u)
{
    int v6 = strchr(u->host, ':') != NULL;
    char *s = NULL;
    if (asprintf(&s, "redis://%s%s%s%s%s%s:%d/%d", u->username ? u->username : "",
                 u->password ? ":********" : "", u->password || u->username ? "@" : "",
                 v6 ? "[" : "", u->host, v6 ? "]" : "", u->port, u->db) < 0)
        return NULL;
    return s;
}
