/*
 * answer.c - what the region answers, read with care: it is outside input
 * (tests/fuzz/uplink_answer.c).  A 200 whose body does not name the
 * committed high-water mark of this epoch deletes nothing.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "uplink.h"

/* Outbox ids and epochs are below 2^53, so a JSON number holds them exactly. */
#define UP_MAX_ID 9007199254740991.0

static int whole(const cJSON *item, int64_t *out)
{
    if (!cJSON_IsNumber(item))
        return -1;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= UP_MAX_ID) || floor(v) != v)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int up_answer_batch(const char *body, size_t len, int64_t epoch, int64_t *committed, const char **why)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    int64_t e = 0;
    int rc = -1;
    if (!cJSON_IsObject(root))
        *why = "the answer is not a JSON object";
    else if (whole(cJSON_GetObjectItemCaseSensitive(root, "epoch"), &e) != 0 || e != epoch)
        *why = "the answer names another epoch";
    else if (whole(cJSON_GetObjectItemCaseSensitive(root, "committed"), committed) != 0)
        *why = "the answer has no \"committed\" high-water mark";
    else
        rc = 0;
    cJSON_Delete(root);
    return rc;
}

int up_answer_position(const char *body, size_t len, int64_t *epoch, int64_t *committed, int *known,
                       const char **why)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    int rc = -1;
    *known = 0;
    if (!cJSON_IsObject(root)) {
        *why = "the position is not a JSON object";
        goto out;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "epoch");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "committed");
    if (!e || cJSON_IsNull(e)) {
        rc = 0; /* the region has nothing of this town yet (pgstore says {"epoch":null,"committed":0}) */
        goto out;
    }
    if (whole(e, epoch) != 0 || whole(c, committed) != 0) {
        *why = "the position needs whole numbers \"epoch\" and \"committed\"";
        goto out;
    }
    *known = 1;
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int64_t up_retry_after_ms(const char *value, int64_t now_s)
{
    while (*value == ' ' || *value == '\t')
        value++;
    if (isdigit((unsigned char)*value)) {
        int64_t s = 0;
        for (; isdigit((unsigned char)*value); value++) {
            s = s * 10 + (*value - '0');
            if (s > 86400)
                return 86400 * 1000; /* a day is plenty */
        }
        while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
            value++;
        return *value ? -1 : s * 1000;
    }
    time_t at = curl_getdate(value, NULL);
    if (at == (time_t)-1)
        return -1;
    int64_t s = (int64_t)at - now_s;
    return s < 0 ? 0 : s > 86400 ? 86400 * 1000 : s * 1000;
}
