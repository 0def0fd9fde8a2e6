/* fuzz_lora_cayenne - a device's FRMPayload through the built-in Cayenne LPP
 * decoder, into the value table finish.c gives it. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "lora/cayenne.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lpp_value v[64];
    const char *why = NULL;
    int n = lpp_decode(data, size, v, sizeof v / sizeof v[0], &why);
    if (n < 0) {
        if (!why)
            abort(); /* a refusal always says why */
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!v[i].metric || !v[i].unit || !isfinite(v[i].value))
            abort();
    return 0;
}
