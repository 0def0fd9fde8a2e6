/* fuzz_charging_site - a town's Lua load policy answers anything: its
 * answer (the input's text) must still give limits that keep the site's
 * promise, or fall back to the built-in sharing.  The input's first byte
 * also sets how many of the six connectors are charging and held. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charging/site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct answer {
    const uint8_t *data;
    size_t size;
};

static int call(void *arg, const char *json, size_t len, char **result)
{
    const struct answer *a = arg;
    (void)json, (void)len;
    *result = malloc(a->size + 1);
    if (!*result)
        return MST_ENOMEM;
    memcpy(*result, a->data, a->size);
    (*result)[a->size] = '\0';
    return 0;
}

static void release(void *arg, char *result)
{
    (void)arg;
    free(result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct chg_site_params p = {.limit_w = 30000, .min_current_a = 6, .voltage = 230};
    static const double max_w[6] = {22000, 11000, 7360, 3680, 22000, 0};
    struct chg_site_conn c[6];
    for (int i = 0; i < 6; i++)
        c[i] = (struct chg_site_conn){.station = "CP", .connector = i + 1, .charging = (data[0] >> i) & 1,
                                      .priority = i % 3, .phases = i == 2 || i == 3 ? 1 : 3, .max_w = max_w[i],
                                      .meter_w = -1, .started_ms = i, .held = i == 4 && (data[0] & 0x40),
                                      .held_w = 9000};
    struct answer a = {data + 1, size - 1};
    struct chg_site_policy pol = {call, release, &a};
    double w[6];
    char why[256];
    int rc = chg_site_share_policy(&p, "site", c, 6, &pol, w, why, sizeof why);
    if (rc < 0)
        abort();
    if (rc == CHG_SITE_FELL_BACK && !why[0])
        abort(); /* a fallback always says why */
    double sum = 0;
    for (int i = 0; i < 6; i++) {
        if (c[i].held) {
            if (w[i] != 9000)
                abort();
        } else if (!(w[i] >= 0 && w[i] <= c[i].max_w && w[i] == floor(w[i])) ||
                   (w[i] > 0 && w[i] < chg_site_min_w(&p, &c[i])) || (!c[i].charging && w[i] != 0)) {
            abort();
        }
        sum += w[i];
    }
    if (sum > p.limit_w)
        abort();
    return 0;
}
