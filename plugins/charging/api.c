/* api.c - the charging plugin's HTTP API under /api/<instance>/:
 *   GET    stations[/{id}]              public: stations, connectors, live status, last contact
 *                                       (an operator sees security_profile and password_set too)
 *   POST   stations                     operator: register (one object or an array)
 *   POST   stations/{id}/password       operator: {"password"} (stored hashed, never returned)
 *   POST   stations/{id}/accept         operator: BootNotification Accepted from now on
 *   POST   stations/{id}/...            operator: calls to the charge point (operate.c)
 *   DELETE stations/{id}                operator
 *   GET    sessions?station=&open=&limit=  operator: sessions with energy, duration, cost
 *   GET    id-tags, POST id-tags, DELETE id-tags/{tag}   operator
 *   GET    energy, availability; POST figures/publish: figures.c
 *   GET    sites, POST sites/{name}/limit  operator: load.c
 * Public routes never show id tags, passwords or anything about a person. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/cjson.h>

#include "charging.h"

void chg_respond_json(struct charging *c, mst_http_request *req, int status, cJSON *body)
{
    mst_http_respond_json(c->host, req, status, body);
}

void chg_respond_error(struct charging *c, mst_http_request *req, int status, const char *msg)
{
    mst_http_respond_error(c->host, req, status, msg);
}

int chg_unknown_key(const cJSON *obj, const char *const *valid, char *msg, size_t len)
{
    const cJSON *k;
    if (!cJSON_IsObject(obj))
        return 0;
    cJSON_ArrayForEach(k, obj)
    {
        size_t i = 0;
        while (valid[i] && strcmp(valid[i], k->string) != 0)
            i++;
        if (valid[i])
            continue;
        /* the same words as the config check's (core/schema.c) */
        int n = snprintf(msg, len, "unknown key \"%.64s\"; valid keys: ", k->string);
        for (i = 0; valid[i] && n >= 0 && (size_t)n < len; i++)
            n += snprintf(msg + n, len - (size_t)n, "%s%s", i ? ", " : "", valid[i]);
        return 1;
    }
    return 0;
}

static cJSON *body_json(struct charging *c, mst_http_request *req)
{
    size_t len;
    const char *body = c->host->http_body(req, &len);
    return body ? cJSON_ParseWithLength(body, len) : NULL;
}

static cJSON *stations_json(struct charging *c, int operator)
{
    cJSON *list = cJSON_CreateArray();
    for (struct chg_station *st = c->stations; list && st; st = st->next) {
        cJSON *o = chg_station_json(c, st, operator);
        if (!o || !cJSON_AddItemToArray(list, o)) {
            cJSON_Delete(o);
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

/* The station named by the first segment of sub, its length in *n; NULL
 * (answered 404) if there is none. */
static struct chg_station *station_of(struct charging *c, mst_http_request *req, const char *sub, const char **rest)
{
    char id[CHG_ID_MAX + 1];
    size_t n = strcspn(sub, "/");
    struct chg_station *st = NULL;
    if (n <= CHG_ID_MAX) {
        memcpy(id, sub, n);
        id[n] = '\0';
        st = chg_station_find(c, id);
    }
    if (!st)
        chg_respond_error(c, req, 404, "no such charge point");
    *rest = sub[n] == '/' ? sub + n + 1 : sub + n;
    return st;
}

static void api_get_stations(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    const char *sub = c->host->http_subpath(req), *rest;
    int operator = c->host->http_role(req) >= MST_ROLE_OPERATOR;
    if (!*sub) {
        chg_respond_json(c, req, 200, stations_json(c, operator));
        return;
    }
    struct chg_station *st = station_of(c, req, sub, &rest);
    if (st && *rest)
        chg_respond_error(c, req, 404, "GET stations/{id} only; sessions are at sessions?station={id}");
    else if (st)
        chg_respond_json(c, req, 200, chg_station_json(c, st, operator));
}

/* POST stations: one registration or an array, all checked first. */
static void register_stations(struct charging *c, mst_http_request *req)
{
    cJSON *j = body_json(c, req);
    const cJSON *list = cJSON_IsArray(j) ? j : NULL, *one = list ? list->child : j;
    const char *why = NULL;
    int count = 0, rc = 0;
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) {
        chg_respond_error(c, req, 400, "send a station object ({\"id\": \"CP-1\", ...}) or an array of them");
        cJSON_Delete(j);
        return;
    }
    static const char *const keys[] = {"id", "name", "security_profile", "accepted", "site", "lat", "lon",
                                        "connectors", "tariff", "password", NULL};
    static const char *const connector_keys[] = {"max_kw", "phases", "type", NULL};
    char bad[300];
    for (const cJSON *s = one; s && rc == 0; s = list ? s->next : NULL, count++) {
        const cJSON *k;
        if (chg_unknown_key(s, keys, bad, sizeof bad)) {
            why = bad;
            rc = MST_EINVAL;
            break;
        }
        cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(s, "connectors"))
            if (rc == 0 && chg_unknown_key(k, connector_keys, bad, sizeof bad)) {
                why = bad;
                rc = MST_EINVAL;
            }
        if (rc == 0)
            rc = chg_station_check(s, &why);
    }
    if (rc != 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "station %d: %s (nothing was stored)", count - 1, why);
        chg_respond_error(c, req, 400, msg);
        cJSON_Delete(j);
        return;
    }
    count = 0;
    sqlite3_exec(c->db, "SAVEPOINT reg", NULL, NULL, NULL);
    for (const cJSON *s = one; s && rc == 0; s = list ? s->next : NULL, count++)
        rc = chg_station_register(c, s, &why);
    sqlite3_exec(c->db, rc == 0 ? "RELEASE reg" : "ROLLBACK TO reg; RELEASE reg", NULL, NULL, NULL);
    if (rc != 0) {
        /* the file or memory failed half-way (not the input: it was checked) */
        char msg[300];
        snprintf(msg, sizeof msg, "station %d: %s", count - 1, why ? why : mst_strerror(rc));
        chg_respond_error(c, req, rc == MST_EINVAL ? 400 : 500, msg);
    } else {
        cJSON *ok = cJSON_CreateObject();
        if (ok && !cJSON_AddNumberToObject(ok, "stored", count)) {
            cJSON_Delete(ok);
            ok = NULL;
        }
        chg_respond_json(c, req, 201, ok);
    }
    cJSON_Delete(j);
}

static void set_password(struct charging *c, mst_http_request *req, struct chg_station *st)
{
    cJSON *j = body_json(c, req);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "password");
    const char *why = NULL;
    char bad[200];
    if (chg_unknown_key(j, (const char *const[]){"password", NULL}, bad, sizeof bad)) {
        chg_respond_error(c, req, 400, bad);
    } else if (!cJSON_IsString(p)) {
        chg_respond_error(c, req, 400, "send {\"password\": \"16 to 40 characters\"}");
    } else if (chg_station_set_password(c, st, p->valuestring, strlen(p->valuestring), &why) != 0) {
        chg_respond_error(c, req, why && strncmp(why, "password:", 9) == 0 ? 400 : 500, why);
    } else {
        c->host->log(c->inst, MST_LOG_INFO, "charge point %s has a new password", st->id);
        c->host->http_respond(req, 204, "application/json", "", 0);
    }
    cJSON_Delete(j);
}

static void accept_station(struct charging *c, mst_http_request *req, struct chg_station *st)
{
    st->accepted = 1;
    if (chg_db_save_station(c, st) != 0) {
        chg_respond_error(c, req, 500, "the station could not be stored");
        return;
    }
    c->host->log(c->inst, MST_LOG_INFO, "charge point %s accepted by the operator", st->id);
    chg_respond_json(c, req, 200, chg_station_json(c, st, 1));
}

static void api_post_stations(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    const char *sub = c->host->http_subpath(req), *rest;
    if (!*sub) {
        register_stations(c, req);
        return;
    }
    struct chg_station *st = station_of(c, req, sub, &rest);
    if (!st)
        return;
    if (strcmp(rest, "password") == 0)
        set_password(c, req, st);
    else if (strcmp(rest, "accept") == 0)
        accept_station(c, req, st);
    else
        chg_operate(c, req, st, rest);
}

static void api_delete_station(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    const char *sub = c->host->http_subpath(req);
    int rc = *sub && !strchr(sub, '/') ? chg_station_delete(c, sub) : MST_ENOENT;
    if (rc == 0)
        c->host->http_respond(req, 204, "application/json", "", 0);
    else
        chg_respond_error(c, req, rc == MST_ENOENT ? 404 : 500,
                          rc == MST_ENOENT ? "no such charge point" : "the station could not be deleted");
}

static void api_sessions(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    const char *station = c->host->http_query_param(req, "station");
    const char *open = c->host->http_query_param(req, "open");
    const char *limit = c->host->http_query_param(req, "limit");
    char *end = NULL;
    long n = limit ? strtol(limit, &end, 10) : 100;
    if (limit && (end == limit || *end || n < 1 || n > 10000)) {
        chg_respond_error(c, req, 400, "limit: 1 to 10000");
        return;
    }
    chg_respond_json(c, req, 200, chg_sessions_json(c, station, open && strcmp(open, "1") == 0, n));
}

static void api_idtags(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    const char *method = c->host->http_method(req), *sub = c->host->http_subpath(req);
    if (method[0] == 'G') {
        chg_respond_json(c, req, 200, chg_idtags_json(c));
    } else if (method[0] == 'D') {
        int rc = chg_idtag_delete(c, sub);
        if (rc == 0)
            c->host->http_respond(req, 204, "application/json", "", 0);
        else
            chg_respond_error(c, req, rc == MST_ENOENT ? 404 : 500,
                              rc == MST_ENOENT ? "no such id tag" : "the id tag could not be deleted");
    } else {
        cJSON *j = body_json(c, req), *one;
        const char *why = NULL;
        int rc = cJSON_IsObject(j) || cJSON_IsArray(j) ? 0 : MST_EINVAL, count = 0;
        if (rc)
            why = "send an id tag object ({\"id_tag\": \"04A2B3C4\", \"status\": \"Accepted\"}) or an array of them";
        sqlite3_exec(c->db, "SAVEPOINT tags", NULL, NULL, NULL);
        static const char *const keys[] = {"id_tag", "status", "expiry", "parent", "name", NULL};
        char bad[200];
        for (one = cJSON_IsArray(j) ? j->child : j; rc == 0 && one; one = cJSON_IsArray(j) ? one->next : NULL)
            if (chg_unknown_key(one, keys, bad, sizeof bad))
                why = bad, rc = MST_EINVAL;
            else if ((rc = chg_idtag_put(c, one, &why)) == 0)
                count++;
        sqlite3_exec(c->db, rc == 0 ? "RELEASE tags" : "ROLLBACK TO tags; RELEASE tags", NULL, NULL, NULL);
        if (rc != 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "id tag %d: %s (nothing was stored)", count, why);
            chg_respond_error(c, req, rc == MST_EINVAL ? 400 : 500, msg);
        } else {
            cJSON *ok = cJSON_CreateObject();
            if (ok)
                cJSON_AddNumberToObject(ok, "stored", count);
            chg_respond_json(c, req, 201, ok);
        }
        cJSON_Delete(j);
    }
}

int chg_api_routes(struct charging *c)
{
    const struct mst_host *h = c->host;
    const struct {
        const char *method, *path;
        enum mst_role role;
        mst_http_cb cb;
    } routes[] = {
        {"GET", "stations/*", MST_ROLE_PUBLIC, api_get_stations},
        {"POST", "stations/*", MST_ROLE_OPERATOR, api_post_stations},
        {"DELETE", "stations/*", MST_ROLE_OPERATOR, api_delete_station},
        {"GET", "sessions", MST_ROLE_OPERATOR, api_sessions},
        {"GET", "id-tags", MST_ROLE_OPERATOR, api_idtags},
        {"POST", "id-tags", MST_ROLE_OPERATOR, api_idtags},
        {"DELETE", "id-tags/*", MST_ROLE_OPERATOR, api_idtags},
        {"GET", "reservations", MST_ROLE_OPERATOR, chg_api_reservations},
        {"GET", "energy", MST_ROLE_PUBLIC, chg_api_figures},
        {"GET", "availability", MST_ROLE_PUBLIC, chg_api_figures},
        {"POST", "figures/publish", MST_ROLE_OPERATOR, chg_api_publish},
        {"GET", "sites", MST_ROLE_OPERATOR, chg_api_sites},
        {"POST", "sites/*", MST_ROLE_OPERATOR, chg_api_sites},
        {"GET", "bookings", MST_ROLE_OPERATOR, chg_api_bookings},
        {"POST", "bookings", MST_ROLE_OPERATOR, chg_api_bookings},
        {"DELETE", "bookings/*", MST_ROLE_OPERATOR, chg_api_bookings},
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof routes / sizeof routes[0]; i++)
        rc = h->http_route(c->inst, routes[i].method, routes[i].path, routes[i].role, routes[i].cb, c);
    return rc;
}
