/* kc/redis_url.h — KC_REDIS_URL parsed and shown with its password masked: pure functions, apart
 * from the client (redis.c) so that config checks and fuzzing need no hiredis. */
#ifndef KC_REDIS_URL_H
#define KC_REDIS_URL_H

#include <stddef.h>

/* redis://[[user]:password@]host[:port][/db]; host may be an [IPv6] literal. */
struct kc_redis_url {
    char *host;     /* new; without brackets */
    int port;       /* default 6379 */
    int db;         /* default 0 */
    char *username; /* new or NULL (Redis 6 ACL user) */
    char *password; /* new or NULL; percent-decoded; a credential: never logged */
};

/* Parses text into *out (cleared first). 0, or -1 with one line in err that never repeats the
 * text (it may hold the password). *out is left empty on failure. */
int kc_redis_url_parse(const char *text, struct kc_redis_url *out, char *err, size_t errlen);
void kc_redis_url_clear(struct kc_redis_url *u);
/* New string: the URL as shown to people, password as ********. NULL on OOM. */
char *kc_redis_url_masked(const struct kc_redis_url *u);

#endif
