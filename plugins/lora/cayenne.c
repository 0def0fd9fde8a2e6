#include "cayenne.h"

struct lpp_type {
    uint8_t id;
    uint8_t size;     /* bytes per value */
    uint8_t count;    /* values in the field */
    uint8_t is_signed;
    double scale;     /* value = raw * scale */
    const char *metric[3];
    const char *unit;
};

static const struct lpp_type types[] = {
    {0, 1, 1, 0, 1, {"digital_input"}, "1"},
    {1, 1, 1, 0, 1, {"digital_output"}, "1"},
    {2, 2, 1, 1, 0.01, {"analog_input"}, "1"},
    {3, 2, 1, 1, 0.01, {"analog_output"}, "1"},
    {101, 2, 1, 0, 1, {"illuminance"}, "lx"},
    {102, 1, 1, 0, 1, {"presence"}, "1"},
    {103, 2, 1, 1, 0.1, {"temperature"}, "Cel"},
    {104, 1, 1, 0, 0.5, {"humidity"}, "%RH"},
    {113, 2, 3, 1, 0.001, {"acceleration_x", "acceleration_y", "acceleration_z"}, "g"},
    {115, 2, 1, 0, 0.1, {"barometric_pressure"}, "hPa"},
    {134, 2, 3, 1, 0.01, {"gyro_x", "gyro_y", "gyro_z"}, "deg/s"},
    {136, 3, 3, 1, 0, {"gps_latitude", "gps_longitude", "gps_altitude"}, NULL},
};

static int64_t read_be(const uint8_t *p, int size, int is_signed)
{
    uint64_t v = 0;
    for (int i = 0; i < size; i++)
        v = v << 8 | p[i];
    if (is_signed && (p[0] & 0x80))
        v |= ~(uint64_t)0 << (8 * size);
    return (int64_t)v;
}

int lpp_decode(const uint8_t *p, size_t len, struct lpp_value *out, size_t max, const char **why)
{
    size_t n = 0, pos = 0;
    while (pos < len) {
        if (pos + 2 > len) {
            *why = "Cayenne LPP: truncated field header";
            return -1;
        }
        uint8_t channel = p[pos], id = p[pos + 1];
        const struct lpp_type *t = NULL;
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (types[i].id == id)
                t = &types[i];
        if (!t) {
            *why = "Cayenne LPP: unknown data type";
            return -1;
        }
        pos += 2;
        if (pos + (size_t)t->size * t->count > len) {
            *why = "Cayenne LPP: truncated value";
            return -1;
        }
        for (int k = 0; k < t->count; k++) {
            if (n == max) {
                *why = "Cayenne LPP: too many values";
                return -1;
            }
            int64_t raw = read_be(p + pos, t->size, t->is_signed);
            pos += t->size;
            struct lpp_value *v = &out[n++];
            v->channel = channel;
            v->metric = t->metric[k];
            if (id == 136) { /* GPS: 0.0001 degrees, altitude 0.01 m */
                v->value = (double)raw * (k < 2 ? 0.0001 : 0.01);
                v->unit = k < 2 ? "deg" : "m";
            } else {
                v->value = (double)raw * t->scale;
                v->unit = t->unit;
            }
        }
    }
    return (int)n;
}
