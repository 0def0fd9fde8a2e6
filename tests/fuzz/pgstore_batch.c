/* fuzz_pgstore_batch - a town's batch as the region receives it
 * (plugins/pgstore/batch.c): the input is parsed as NDJSON, and inflated
 * (gzip or zlib, capped) then parsed.  What is accepted keeps the wire
 * format's rules; a refusal always names its line. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgstore/pgstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *text, size_t len)
{
    struct pgs_batch b;
    char why[256] = "";
    int rc = pgs_batch_parse(text, len, 64, &b, why, sizeof why);
    if (rc == MST_EINVAL && strncmp(why, "line ", 5) != 0)
        abort(); /* a 400 that does not say where */
    if (rc != 0) {
        if (b.r || b.e || b.n_msgs)
            abort(); /* an error leaves the batch empty */
        return;
    }
    if (b.epoch < 1 || b.first < 1 || b.first > b.last || b.n_msgs > 64)
        abort();
    int64_t prev = 0;
    for (size_t i = 0; i < b.n_r; i++) {
        const struct pgs_reading *r = &b.r[i];
        if (r->o < prev || r->o < b.first || r->o > b.last || !isfinite(r->value) || !*r->sensor || !*r->metric ||
            (r->has_location && (fabs(r->lat) > 90 || fabs(r->lon) > 180)))
            abort();
        prev = r->o;
    }
    for (size_t i = 0; i < b.n_e; i++)
        if (b.e[i].o < b.first || b.e[i].o > b.last || !b.e[i].body || !*b.e[i].topic)
            abort();
    pgs_batch_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check((const char *)data, size);
    char *plain, why[256];
    size_t len;
    if (pgs_inflate(data, size, 1 << 20, &plain, &len, why, sizeof why) == 0) {
        if (len > 1 << 20)
            abort();
        check(plain, len);
        free(plain);
    }
    return 0;
}
