/*
 * mestys/cjson.h - JSON answers for plugins that build them with cJSON.
 *
 * Header-only, and apart from host.h so that a plugin which does not link
 * cJSON never sees it.  Errors have the shape of the core's own:
 * {"error": "...", "status": N}.
 */
#ifndef MESTYS_CJSON_H
#define MESTYS_CJSON_H

#include <string.h>

#include <cjson/cJSON.h>

#include "host.h"

/* Answers req with body and frees it.  A NULL body (no memory to build it)
 * or no memory to print it is a 500, so a caller need not check either. */
static inline int mst_http_respond_json(const struct mst_host *host, mst_http_request *req, int status,
                                        cJSON *body)
{
    static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}";
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    int rc = text ? host->http_respond(req, status, "application/json", text, strlen(text))
                  : host->http_respond(req, 500, "application/json", oom, sizeof oom - 1);
    cJSON_free(text);
    cJSON_Delete(body);
    return rc;
}

static inline int mst_http_respond_error(const struct mst_host *host, mst_http_request *req, int status,
                                         const char *msg)
{
    cJSON *e = cJSON_CreateObject();
    if (e && (!cJSON_AddStringToObject(e, "error", msg) || !cJSON_AddNumberToObject(e, "status", status))) {
        cJSON_Delete(e);
        e = NULL;
    }
    return mst_http_respond_json(host, req, status, e);
}

#endif /* MESTYS_CJSON_H */
