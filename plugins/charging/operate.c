/* operate.c - the operator's calls to a charge point, over HTTP:
 *   POST stations/{id}/call/{Action}   any CSMS-initiated action of OCPP 1.6, the body its payload
 *   POST stations/{id}/remote-start    {"id_tag", "connector"?}        RemoteStartTransaction
 *   POST stations/{id}/remote-stop     {"transaction"}                 RemoteStopTransaction
 *   POST stations/{id}/reset           {"type": "Soft"|"Hard"}         Reset
 *   POST stations/{id}/availability    {"connector", "type"}           ChangeAvailability
 *   POST stations/{id}/local-list      {"update": "Full"|"Differential", "id_tags": [...]}  SendLocalList
 *   POST stations/{id}/reserve, cancel-reservation                  reservation.c
 * The payload is checked against the action's .req schema before it is
 * sent (400 with the reason), the charge point's .conf is the answer (200),
 * a CALLERROR or a .conf that breaks its schema 502, no answer in time 504,
 * a station not connected 409. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charging.h"

/* An HTTP request waiting for a charge point's answer. */
struct waiting {
    struct charging *c;
    mst_http_request *req;
    char station[CHG_ID_MAX + 1];
    int64_t list_version; /* SendLocalList: the version sent, saved once Accepted */
};

static void answered(void *arg, const struct chg_reply *r)
{
    struct waiting *w = arg;
    struct charging *c = w->c;
    char msg[512];
    switch (r->outcome) {
    case CHG_CALL_RESULT:
        if (w->list_version) {
            const cJSON *status = cJSON_GetObjectItemCaseSensitive(r->payload, "status");
            struct chg_station *st = chg_station_find(c, w->station);
            if (st && cJSON_IsString(status) && strcmp(status->valuestring, "Accepted") == 0)
                chg_db_set_list_version(c, st->id, w->list_version);
        }
        chg_respond_json(c, w->req, 200, cJSON_Duplicate(r->payload, 1));
        break;
    case CHG_CALL_ERROR:
        snprintf(msg, sizeof msg, "the charge point answered %s: %s", chg_ocpp_err_name(r->code), r->text);
        chg_respond_error(c, w->req, 502, msg);
        break;
    case CHG_CALL_INVALID:
        snprintf(msg, sizeof msg, "the charge point's answer breaks its schema: %s", r->text);
        chg_respond_error(c, w->req, 502, msg);
        break;
    case CHG_CALL_TIMEOUT:
        chg_respond_error(c, w->req, 504, r->text);
        break;
    case CHG_CALL_CLOSED:
        chg_respond_error(c, w->req, 502, r->text);
        break;
    }
    free(w);
}

/* Sends action with payload (taken) and answers req when the reply comes. */
static void send_call(struct charging *c, mst_http_request *req, struct chg_station *st, const char *action,
                      cJSON *payload, int64_t list_version)
{
    char why[300] = "";
    struct waiting *w = calloc(1, sizeof *w);
    if (!w || !payload) {
        free(w);
        cJSON_Delete(payload);
        chg_respond_error(c, req, 500, "out of memory");
        return;
    }
    w->c = c;
    w->req = req;
    w->list_version = list_version;
    snprintf(w->station, sizeof w->station, "%s", st->id);
    int rc = chg_call(c, st, action, payload, answered, w, why, sizeof why);
    cJSON_Delete(payload);
    if (rc == 0)
        return;
    free(w);
    chg_respond_error(c, req, rc == MST_ECLOSED ? 409 : rc == MST_EINVAL ? 400 : rc == MST_EAGAIN ? 503 : 500,
                      why[0] ? why : mst_strerror(rc));
}

/* The body as a JSON object, or NULL (answered 400). */
static cJSON *object_body(struct charging *c, mst_http_request *req)
{
    size_t len;
    const char *body = c->host->http_body(req, &len);
    cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : cJSON_CreateObject();
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        chg_respond_error(c, req, 400, "send a JSON object");
        return NULL;
    }
    return j;
}

/* Moves body[from] to out[to] if it is there. */
static void rename_field(cJSON *out, const cJSON *body, const char *from, const char *to)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, from);
    if (v)
        cJSON_AddItemToObject(out, to, cJSON_Duplicate(v, 1));
}

/* A convenient route: the body's fields renamed to the action's. */
static const struct shortcut {
    const char *route, *action;
    const char *fields[3][2]; /* {ours, OCPP's} */
} shortcuts[] = {
    {"remote-start", "RemoteStartTransaction", {{"id_tag", "idTag"}, {"connector", "connectorId"}}},
    {"remote-stop", "RemoteStopTransaction", {{"transaction", "transactionId"}}},
    {"reset", "Reset", {{"type", "type"}}},
    {"availability", "ChangeAvailability", {{"connector", "connectorId"}, {"type", "type"}}},
};

/* SendLocalList from our id tags: the next version, persisted once the
 * charge point accepted it. */
static void local_list(struct charging *c, mst_http_request *req, struct chg_station *st, const cJSON *body)
{
    const cJSON *update = cJSON_GetObjectItemCaseSensitive(body, "update");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(body, "id_tags"), *t;
    int64_t version = chg_db_list_version(c, st->id) + 1;
    cJSON *p = cJSON_CreateObject(), *list = cJSON_CreateArray();
    int ok = p && list && cJSON_AddNumberToObject(p, "listVersion", (double)version);
    if (ok && update)
        cJSON_AddItemToObject(p, "updateType", cJSON_Duplicate(update, 1));
    cJSON_ArrayForEach(t, tags)
    {
        cJSON *entry = cJSON_CreateObject();
        ok = ok && entry && cJSON_AddItemToArray(list, entry);
        if (!ok) {
            cJSON_Delete(entry);
            break;
        }
        if (!cJSON_IsString(t))
            continue; /* the schema check names it: an entry without idTag */
        cJSON_AddStringToObject(entry, "idTag", t->valuestring);
        /* Differential without idTagInfo removes the tag; with it, adds or updates */
        cJSON *info = chg_idtag_info(c, t->valuestring, 0);
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(info, "status");
        if (info && !(cJSON_IsString(status) && strcmp(status->valuestring, "Invalid") == 0))
            cJSON_AddItemToObject(entry, "idTagInfo", info);
        else
            cJSON_Delete(info);
    }
    if (ok && cJSON_GetArraySize(list) > 0)
        ok = cJSON_AddItemToObject(p, "localAuthorizationList", list);
    else
        cJSON_Delete(list);
    if (!ok) {
        cJSON_Delete(p);
        p = NULL;
    }
    send_call(c, req, st, "SendLocalList", p, version);
}

/* The keys each convenient route takes (call/{Action} has its schema). */
static const struct route_keys {
    const char *route, *keys[4];
} route_keys[] = {
    {"remote-start", {"id_tag", "connector"}},
    {"remote-stop", {"transaction"}},
    {"reset", {"type"}},
    {"availability", {"connector", "type"}},
    {"local-list", {"update", "id_tags"}},
    {"reserve", {"connector", "id_tag", "expiry"}},
    {"cancel-reservation", {"reservation"}},
};

/* 1 if the body has a key the route does not take (answered 400). */
static int unknown_key(struct charging *c, mst_http_request *req, const char *what, const cJSON *body)
{
    char msg[200];
    for (size_t i = 0; i < sizeof route_keys / sizeof route_keys[0]; i++)
        if (strcmp(what, route_keys[i].route) == 0 && chg_unknown_key(body, route_keys[i].keys, msg, sizeof msg)) {
            chg_respond_error(c, req, 400, msg);
            return 1;
        }
    return 0;
}

void chg_operate(struct charging *c, mst_http_request *req, struct chg_station *st, const char *what)
{
    cJSON *body = object_body(c, req);
    if (!body)
        return;
    if (strncmp(what, "call/", 5) == 0 && what[5]) {
        send_call(c, req, st, what + 5, body, 0);
        return;
    }
    if (unknown_key(c, req, what, body)) {
        cJSON_Delete(body);
        return;
    }
    if (strcmp(what, "reserve") == 0 || strcmp(what, "cancel-reservation") == 0) {
        (what[0] == 'r' ? chg_reserve : chg_cancel_reservation)(c, req, st, body);
        cJSON_Delete(body);
        return;
    }
    if (strcmp(what, "local-list") == 0) {
        local_list(c, req, st, body);
        cJSON_Delete(body);
        return;
    }
    for (size_t i = 0; i < sizeof shortcuts / sizeof shortcuts[0]; i++) {
        if (strcmp(what, shortcuts[i].route) != 0)
            continue;
        cJSON *p = cJSON_CreateObject();
        for (int k = 0; p && k < 3 && shortcuts[i].fields[k][0]; k++)
            rename_field(p, body, shortcuts[i].fields[k][0], shortcuts[i].fields[k][1]);
        cJSON_Delete(body);
        send_call(c, req, st, shortcuts[i].action, p, 0);
        return;
    }
    cJSON_Delete(body);
    chg_respond_error(c, req, 404,
                      "POST stations/{id}/: accept, password, call/{Action}, remote-start, remote-stop, reset, "
                      "availability, local-list, reserve, cancel-reservation");
}
