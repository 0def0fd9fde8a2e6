/* cayenne.h - the Cayenne Low Power Payload decoder, built in. */
#ifndef LORA_CAYENNE_H
#define LORA_CAYENNE_H

#include <stddef.h>
#include <stdint.h>

struct lpp_value {
    uint8_t channel;
    const char *metric; /* "temperature", "humidity", "gps_latitude", ... */
    const char *unit;   /* "Cel", "%RH", "lx", ... (UCUM-like) */
    double value;
};

/* Decodes up to max values; returns how many, or -1 with *why set on a
 * truncated payload or an unknown type (nothing is half-decoded). */
int lpp_decode(const uint8_t *p, size_t len, struct lpp_value *out, size_t max, const char **why);

#endif
