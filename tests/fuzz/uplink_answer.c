/* fuzz_uplink_answer - what a region answers the uplink plugin
 * (plugins/uplink/answer.c): a batch's 200 body, the position body and a
 * Retry-After header.  Only a body naming this epoch and a whole committed
 * mark may delete rows; a refusal always says why; a wait is bounded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uplink/uplink.h"

#define EPOCH 8123456789012345

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int64_t committed = -1, epoch = -1;
    int known = -1;
    const char *why = NULL;
    int rc = up_answer_batch(text, size, EPOCH, &committed, &why);
    if (rc == 0 && (committed < 0 || committed > 9007199254740991LL))
        abort();
    if (rc != 0 && !why)
        abort();
    why = NULL;
    rc = up_answer_position(text, size, &epoch, &committed, &known, &why);
    if (rc != 0 && !why)
        abort();
    if (rc == 0 && known && (epoch < 0 || committed < 0))
        abort();
    int64_t wait = up_retry_after_ms(text, 1795384800);
    if (wait < -1 || wait > 86400 * 1000)
        abort();
    free(text);
    return 0;
}
