/* sensors.c - GET datasets/<id>/sensors: each sensor of a dataset with its
 * position and the newest value of each metric (store/query "latest"),
 * only the dataset's public fields, and whether it is offline (nothing
 * newer than offline_after_ms).  The citizens' map and list are built from
 * this; the verdict is made here, with the server's clock, so every page
 * says the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opendata.h"

/* Latest rows are one per sensor and metric: this many pages of max_page
 * rows is far beyond a town's sensors, and bounds the answer's memory. */
#define OD_SENSORS_MAX_PAGES 20

struct od_sensors_query {
    struct od_sensors_query *next, **prevp;
    struct opendata *od;
    mst_http_request *req;
    struct od_dataset *ds;
    cJSON *query; /* the store/query body, its cursor moved page by page */
    cJSON *rows;  /* the latest rows so far */
    int pages;
};

static void query_free(struct od_sensors_query *q)
{
    if (q->prevp) {
        *q->prevp = q->next;
        if (q->next)
            q->next->prevp = q->prevp;
    }
    cJSON_Delete(q->query);
    cJSON_Delete(q->rows);
    free(q);
}

void od_sensors_cancel_all(struct opendata *od)
{
    while (od->sensors_pending)
        query_free(od->sensors_pending); /* the core has answered their requests */
}

static cJSON *find_sensor(cJSON *sensors, const char *id)
{
    cJSON *s;
    cJSON_ArrayForEach(s, sensors) {
        const char *sid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "sensor"));
        if (sid && strcmp(sid, id) == 0)
            return s;
    }
    return NULL;
}

static void move_item(cJSON *to, const char *key, cJSON *from)
{
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(from, key);
    if (v)
        cJSON_AddItemToObject(to, key, v);
}

/* One sensor per id, in the store's order, its metrics under it; the rows
 * carry only public fields (the store was asked for those). */
static cJSON *group(const struct od_dataset *ds, cJSON *rows, int64_t now_ms, int64_t offline_after_ms)
{
    cJSON *sensors = cJSON_CreateArray(), *row;
    cJSON_ArrayForEach(row, rows) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "sensor"));
        if (!id)
            continue;
        cJSON *s = find_sensor(sensors, id);
        if (!s) {
            s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "sensor", id);
            if (ds->fields & OD_LAT)
                cJSON_AddItemToObject(s, "lat", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(row, "lat"), 1));
            if (ds->fields & OD_LON)
                cJSON_AddItemToObject(s, "lon", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(row, "lon"), 1));
            cJSON_AddNullToObject(s, "time");
            cJSON_AddArrayToObject(s, "metrics");
            cJSON_AddItemToArray(sensors, s);
        }
        cJSON *m = cJSON_CreateObject();
        move_item(m, "metric", row);
        move_item(m, "value", row);
        move_item(m, "unit", row);
        move_item(m, "time", row);
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "time"));
        const char *newest = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "time"));
        /* ISO 8601 in UTC with milliseconds, as the store writes them: text order is time order */
        if (t && (!newest || strcmp(t, newest) > 0))
            cJSON_ReplaceItemInObjectCaseSensitive(s, "time", cJSON_CreateString(t));
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(s, "metrics"), m);
    }
    cJSON_ArrayForEach(row, sensors) {
        int64_t t_ms;
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "time"));
        int offline = !t || mst_time_parse(t, &t_ms) != 0 || now_ms - t_ms > offline_after_ms;
        cJSON_AddBoolToObject(row, "offline", offline);
    }
    return sensors;
}

static void respond(struct od_sensors_query *q)
{
    struct opendata *od = q->od;
    struct od_dataset *ds = q->ds;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char now[32];
    mst_time_format(now_ms, now);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "dataset", ds->id);
    cJSON_AddStringToObject(o, "time", now);
    cJSON_AddNumberToObject(o, "offline_after_ms", (double)ds->offline_after_ms);
    cJSON_AddItemToObject(o, "sensors", group(ds, q->rows, now_ms, ds->offline_after_ms));
    struct od_answer a = {.content_type = "application/json", .modified_s = now_ms / 1000, .max_age_s = 5};
    a.body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    a.len = strlen(a.body);
    od_etag(a.body, a.len, a.etag);
    od_respond_answer(od, q->req, &a);
    free(a.body);
}

static int ask(struct od_sensors_query *q);

static void on_reply(void *arg, int status, const char *body, size_t len)
{
    struct od_sensors_query *q = arg;
    struct opendata *od = q->od;
    cJSON *reply = status == 0 ? cJSON_ParseWithLength(body, len) : NULL;
    cJSON *latest = cJSON_GetObjectItemCaseSensitive(reply, "latest"), *row;
    const char *next = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "next"));
    if (status == 0 && !cJSON_IsArray(latest))
        status = MST_EIO;
    if (status != 0) {
        od->host->metric_add(od->m_store_errors, 1);
        od->host->http_set_header(q->req, "Retry-After", "5");
        od_respond_error(od, q->req, 503, "the data store is not answering right now; try again in a few seconds");
        goto out;
    }
    while ((row = cJSON_DetachItemFromArray(latest, 0)) != NULL)
        cJSON_AddItemToArray(q->rows, row);
    if (next && ++q->pages < OD_SENSORS_MAX_PAGES) {
        cJSON_DeleteItemFromObjectCaseSensitive(q->query, "cursor");
        cJSON_AddStringToObject(q->query, "cursor", next);
        cJSON_Delete(reply);
        if (ask(q) == 0)
            return;
        reply = NULL;
        od_respond_error(od, q->req, 503, "the data store is not answering right now; try again in a few seconds");
        goto out;
    }
    respond(q);
out:
    cJSON_Delete(reply);
    query_free(q);
}

static int ask(struct od_sensors_query *q)
{
    struct opendata *od = q->od;
    char *json = cJSON_PrintUnformatted(q->query);
    int rc = json ? od->host->request(od->inst, "store/query", json, strlen(json), (uint32_t)od->query_timeout_ms,
                                      on_reply, q)
                  : MST_ENOMEM;
    free(json);
    return rc;
}

/* The store/query body: the dataset's selection, its public fields. */
static cJSON *latest_query(const struct opendata *od, const struct od_dataset *ds)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddTrueToObject(body, "latest");
    if (ds->n_sensors)
        cJSON_AddItemToObject(body, "sensors",
                              cJSON_CreateStringArray((const char *const *)ds->sensors, (int)ds->n_sensors));
    if (ds->n_metrics)
        cJSON_AddItemToObject(body, "metrics",
                              cJSON_CreateStringArray((const char *const *)ds->metrics, (int)ds->n_metrics));
    if (ds->tags)
        cJSON_AddItemToObject(body, "tags", cJSON_Duplicate(ds->tags, 1));
    cJSON *fields = cJSON_AddArrayToObject(body, "fields");
    for (int i = 0; i < OD_N_READING_FIELDS; i++)
        if (ds->fields & (1u << i))
            cJSON_AddItemToArray(fields, cJSON_CreateString(od_reading_fields[i]));
    cJSON_AddNumberToObject(body, "limit", (double)od->max_page);
    return body;
}

void od_sensors_get(struct opendata *od, mst_http_request *req, struct od_dataset *ds)
{
    if (*od->host->http_query(req))
        return od_respond_error(od, req, 400, "sensors takes no parameters; the data of one sensor is at "
                                              "data.json?sensor=<id>");
    if (ds->topic)
        return od_respond_error(od, req, 404, "dataset \"%s\" comes from messages, not sensors: it has no sensors",
                                ds->id);
    if (!(ds->fields & OD_SENSOR))
        return od_respond_error(od, req, 404, "dataset \"%s\" does not publish which sensor a reading is from, so it "
                                              "has no list of sensors", ds->id);
    struct od_sensors_query *q = calloc(1, sizeof *q);
    if (!q)
        return od_respond_error(od, req, 503, "out of memory; try again in a few seconds");
    q->od = od;
    q->req = req;
    q->ds = ds;
    q->query = latest_query(od, ds);
    q->rows = cJSON_CreateArray();
    q->next = od->sensors_pending;
    if (q->next)
        q->next->prevp = &q->next;
    q->prevp = &od->sensors_pending;
    od->sensors_pending = q;
    int rc = ask(q);
    if (rc != 0)
        on_reply(q, rc, "", 0);
}
