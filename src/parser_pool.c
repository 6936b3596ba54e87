/* parser_pool.c — a bounded stack of spare HTTP parsers; see parser_pool.h for why. */
#include "parser_pool.h"

#include <stdlib.h>

htparser *kc_parser_pool_take(struct kc_parser_pool *pool, evhtp_connection_t *conn)
{
    htparser *parser = pool->count ? pool->spare[--pool->count] : htparser_new();
    if (!parser)
        return NULL;
    /* Resets the state; leaves the 8 KiB token buffer untouched, so it stays unpaged. */
    htparser_init(parser, htp_type_request);
    htparser_set_userdata(parser, conn);
    return parser;
}

void kc_parser_pool_give(struct kc_parser_pool *pool, htparser *parser)
{
    if (!parser)
        return;
    if (pool->count < KC_PARSER_POOL_MAX)
        pool->spare[pool->count++] = parser;
    else
        free(parser);
}

void kc_parser_pool_clear(struct kc_parser_pool *pool)
{
    while (pool->count)
        free(pool->spare[--pool->count]);
}
