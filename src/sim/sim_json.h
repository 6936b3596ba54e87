/* sim_json.h — JSON output the way the JVM peers print it: Java Double.toString for reals,
 * NaN/Infinity as null, and json-simple's "\/" escaping for Jolokia 1.x. */
#ifndef SIM_JSON_H
#define SIM_JSON_H

#include <event2/buffer.h>
#include <jansson.h>
#include <stddef.h>

enum sim_json_flags {
    SIM_JSON_ESCAPE_SLASH = 1, /* write "/" as "\/" in every string (Jolokia 1.x) */
};

/* Appends the compact serialisation of v (borrowed) to out. Object keys keep insertion order.
 * Returns 0, or -1 when out could not grow. */
int sim_json_dump(const json_t *v, struct evbuffer *out, int flags);

/* Formats d like Java's Double.toString ("0.0", "1234.0", "1.2843117E7", "1.0E-4") into buf.
 * Returns the length written (buf always NUL-terminated; cap >= 32 is always enough). */
size_t sim_json_format_double(double d, char *buf, size_t cap);

/* A JSON real for d, or JSON null when d is NaN/Infinity (what Jolokia sends). New reference. */
json_t *sim_json_double(double d);

#endif
