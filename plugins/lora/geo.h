/* geo.h - the one range check of a device's position, for devices given
 * as JSON (API, config) and as CSV: a position travels with every reading
 * of the device, and the store refuses readings off the globe. */
#ifndef LORA_GEO_H
#define LORA_GEO_H

#include <stddef.h>

enum lora_axis { LORA_LAT, LORA_LON };

/* NULL if d is degrees of latitude (-90..90) or longitude (-180..180), else
 * why not; NaN and infinities are refused. */
static inline const char *lora_degrees_refused(enum lora_axis axis, double d)
{
    double limit = axis == LORA_LAT ? 90 : 180;
    if (d >= -limit && d <= limit)
        return NULL;
    return axis == LORA_LAT ? "lat: a number of degrees from -90 to 90" : "lon: a number of degrees from -180 to 180";
}

#endif
