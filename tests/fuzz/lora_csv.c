/* fuzz_lora_csv - a device list as text/csv (POST devices), into the JSON the
 * registry imports. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "lora/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    cJSON *list = csv_devices((const char *)data, size, &why), *row;
    if (!list) {
        if (!why)
            abort(); /* a refusal always says why */
        return 0;
    }
    /* coordinates are finite and in range: they travel on every reading */
    cJSON_ArrayForEach(row, list)
    {
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(row, "lat");
        const cJSON *lon = cJSON_GetObjectItemCaseSensitive(row, "lon");
        if ((lat && !(fabs(lat->valuedouble) <= 90)) || (lon && !(fabs(lon->valuedouble) <= 180)))
            abort();
    }
    char *text = cJSON_PrintUnformatted(list);
    free(text);
    cJSON_Delete(list);
    return 0;
}
