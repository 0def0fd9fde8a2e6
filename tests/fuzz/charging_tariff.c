/* fuzz_charging_tariff - what a session's cost is computed from: a tariff
 * object (config, operator API) and a StopTransaction's meter readings
 * (meterStart, meterStop, transactionData as a station sends them). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/time.h>

#include "charging/tariff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A meter reading given as a JSON number, if an int64 holds it. */
static int64_t wh_of(const cJSON *v, int64_t missing)
{
    return cJSON_IsNumber(v) && fabs(v->valuedouble) < 1e15 ? (int64_t)v->valuedouble : missing;
}

static int64_t time_of(const cJSON *v, int64_t missing)
{
    int64_t t;
    return mst_time_parse(cJSON_GetStringValue(v), &t) == 0 ? t : missing;
}

static void check_tariff(const cJSON *obj, struct chg_tariff *t)
{
    const char *why = NULL;
    chg_tariff_init(t);
    if (obj && chg_tariff_from_json(obj, t, &why) < 0 && !why)
        abort(); /* a refusal always says why */
    char text[256];
    if (chg_tariff_text(t, text, sizeof text) >= (int)sizeof text)
        abort(); /* the station list's text always fits its buffer */
    cJSON_Delete(chg_tariff_json(t));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    if (!root)
        return 0;
    struct chg_tariff t;
    check_tariff(cJSON_GetObjectItemCaseSensitive(root, "tariff"), &t);
    struct chg_meter_sample samples[64];
    size_t n = 0;
    const char *why = NULL;
    const cJSON *td = cJSON_GetObjectItemCaseSensitive(root, "transactionData");
    if (td && chg_meter_samples(td, samples, 64, &n, &why) < 0 && !why)
        abort();
    if (n > 64)
        abort();
    for (size_t i = 0; i < n; i++)
        if (samples[i].wh < 0 || samples[i].wh > 1000000000000LL)
            abort();
    struct chg_session_usage u = {
        .meter_start_wh = wh_of(cJSON_GetObjectItemCaseSensitive(root, "meterStart"), 0),
        .meter_stop_wh = wh_of(cJSON_GetObjectItemCaseSensitive(root, "meterStop"), -1),
        .start_ms = time_of(cJSON_GetObjectItemCaseSensitive(root, "start"), 0),
        .stop_ms = time_of(cJSON_GetObjectItemCaseSensitive(root, "stop"), 3600000),
        .samples = samples,
        .n_samples = n,
    };
    struct chg_cost c;
    int rc = chg_tariff_cost(&t, &u, &c);
    if (rc == 0 && (c.total < 0 || c.net < 0 || c.vat < 0 || c.net + c.vat != c.total || c.energy_wh < 0 ||
                    c.billed_ms < 0 || c.billed_ms > u.stop_ms - u.start_ms))
        abort();
    if (rc != 0 && rc != MST_EINVAL && rc != MST_ETOOBIG)
        abort();
    cJSON_Delete(root);
    return 0;
}
