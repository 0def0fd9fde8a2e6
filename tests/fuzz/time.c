/* fuzz_time - ISO 8601 times as people and messages write them, and Unix
 * ms as JSON numbers (mestys/time.h): whatever is accepted formats as a
 * real time that parses back to the same instant. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(int64_t ms)
{
    char text[32];
    int64_t back;
    mst_time_format(ms, text);
    if (strlen(text) != 24 || mst_time_parse(text, &back) != 0 || back != ms)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms;
    if (mst_time_parse(s, &ms) == 0) {
        if (ms < MST_TIME_MIN_MS || ms > MST_TIME_MAX_MS)
            abort();
        round_trip(ms);
    }
    /* the first eight bytes as a double, as a JSON number would come */
    double d;
    if (size >= sizeof d) {
        memcpy(&d, data, sizeof d);
        if (mst_time_from_number(d, &ms) == 0)
            round_trip(ms);
        /* any int64 formats as a real time (clamped), never garbage */
        int64_t any;
        memcpy(&any, data, sizeof any);
        char text[32];
        mst_time_format(any, text);
        if (strlen(text) != 24 || mst_time_parse(text, &ms) != 0)
            abort();
    }
    free(s);
    return 0;
}
