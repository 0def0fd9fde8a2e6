/* fuzz_store_query - a store/query body, as another node sends it over the
 * bus, run by store_query() against a small store (store_db.h): filters,
 * limits, cursors, shapes and events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "store_db.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *store;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    store = store_db_open();
    if (!store)
        abort();
    return 0;
}

/* Pages of this store are small: a page is followed to its end, so the
 * cursors the store gives are run as well as the fuzzer's. */
#define MAX_PAGES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size + 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    for (int page = 0; body && page < MAX_PAGES; page++) {
        int status = 1;
        char *reply = store_query(store, store->readers[0], body, strlen(body), &status);
        cJSON *r = cJSON_Parse(reply);
        free(body);
        body = NULL;
        /* every answer is a JSON object; a refusal says why */
        if (!cJSON_IsObject(r) || (status != 0 && status != MST_EINVAL && status != MST_ENOMEM) ||
            (status != 0 && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "error"))))
            abort();
        if (page > 0 && status == MST_EINVAL) /* a cursor this store gave is one it takes */
            abort();
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(r, "next");
        if (status == 0 && !cJSON_IsString(next) && !cJSON_IsNull(next))
            abort();
        if (status == 0 && cJSON_IsString(next)) {
            /* the same query from the next page on */
            cJSON *q = cJSON_ParseWithLength((const char *)data, size);
            while (cJSON_GetObjectItemCaseSensitive(q, "cursor")) /* a body may have several */
                cJSON_DeleteItemFromObjectCaseSensitive(q, "cursor");
            cJSON_AddStringToObject(q, "cursor", next->valuestring);
            body = cJSON_PrintUnformatted(q);
            cJSON_Delete(q);
        }
        cJSON_Delete(r);
        free(reply);
    }
    free(body);
    return 0;
}
