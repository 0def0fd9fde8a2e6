/* fuzz_pgstore_query - a store/query body from another node, as pgstore
 * reads it before any SQL (plugins/pgstore/query_parse.c): filters, limit,
 * from/to, bbox, tags, fields, cursors, shapes, events.  A refusal says
 * why; what is taken is within its bounds, its JSON parameters are the
 * arrays the SQL expects, and the cursor it read, written back as pgstore
 * writes its "next", is read again to the same numbers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgstore/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PAGE 500

static void check_array(const char *json)
{
    if (!json)
        return;
    cJSON *a = cJSON_Parse(json);
    if (!cJSON_IsArray(a))
        abort();
    cJSON_Delete(a);
}

/* The request again with its cursor replaced by text. */
static void same_cursor(const uint8_t *data, size_t size, const struct pgq_req *rq)
{
    char next[96];
    if (rq->shape == PGQ_EVENTS)
        snprintf(next, sizeof next, "e%lld", rq->c[0]);
    else if (rq->has_cursor)
        snprintf(next, sizeof next, "%lld.%lld.%lld.%lld", rq->c[0], rq->c[1], rq->c[2], rq->c[3]);
    else
        return;
    cJSON *q = cJSON_ParseWithLength((const char *)data, size);
    while (cJSON_GetObjectItemCaseSensitive(q, "cursor"))
        cJSON_DeleteItemFromObjectCaseSensitive(q, "cursor");
    cJSON_AddStringToObject(q, "cursor", next);
    char *body = cJSON_PrintUnformatted(q);
    cJSON_Delete(q);
    struct pgq_req again;
    const char *why = NULL;
    if (!body)
        return;
    int rc = pgq_parse(body, strlen(body), MAX_PAGE, &again, &why);
    free(body);
    if (rc == 503)
        return;
    if (rc != 0 || memcmp(again.c, rq->c, sizeof rq->c) != 0 || again.shape != rq->shape)
        abort();
    pgq_req_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pgq_req rq;
    const char *why = NULL;
    int rc = pgq_parse((const char *)data, size, MAX_PAGE, &rq, &why);
    if (rc != 0) {
        if ((rc != 400 && rc != 503) || !why || !*why)
            abort();
        return 0;
    }
    if (rq.limit < 1 || rq.limit > MAX_PAGE || rq.t0 > rq.t1 ||
        (rq.shape != PGQ_EVENTS && (rq.n_fields < 0 || rq.n_fields > PGQ_N_FIELDS)))
        abort();
    if (rq.has_bbox && !(rq.bbox[0] <= rq.bbox[2] && rq.bbox[1] <= rq.bbox[3]))
        abort();
    if ((rq.shape == PGQ_EVENTS) != (rq.topic != NULL))
        abort();
    check_array(rq.sensors);
    check_array(rq.metrics);
    check_array(rq.tags);
    same_cursor(data, size, &rq);
    pgq_req_free(&rq);
    return 0;
}
