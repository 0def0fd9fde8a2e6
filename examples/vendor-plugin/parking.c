/*
 * parking - car-park occupancy, a vendor plugin built out of tree.
 *
 * Entry and exit sensors (or a LoRa decoder) publish `parking/event`
 * {"lot": "namesti", "delta": 1}; this plugin keeps each lot's count in its
 * own SQLite file, publishes `parking/occupancy` on every change and serves
 * GET /api/<instance>/lots for the town's web site.
 *
 * It includes only the SDK headers, <mestys/mestys.h> (plus cJSON and SQLite, which it links
 * itself) and builds against the installed SDK: see CMakeLists.txt and
 * Makefile next to this file.
 */
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/mestys.h>

struct parking {
    mst_instance *inst;
    const struct mst_host *host;
    sqlite3 *db;
    sqlite3_stmt *update, *select_one;
    mst_metric *events, *bad_events;
};

static const struct mst_config_key lot_keys[] = {
    {.key = "id", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED, .description = "short id used in events"},
    {.key = "name", .type = MST_CFG_STRING, .description = "name shown to people"},
    {.key = "capacity", .type = MST_CFG_INT, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 1,
     .max = 100000, .description = "parking spaces"},
    {0},
};

static const struct mst_config_key config[] = {
    {.key = "lots", .type = MST_CFG_ARRAY, .flags = MST_CFG_REQUIRED, .fields = lot_keys,
     .description = "the car parks this instance counts"},
    {0},
};

static const char *const publishes[] = {"parking/occupancy", NULL};
static const char *const subscribes[] = {"parking/event", NULL};

static const char *const migrations[] = {
    "CREATE TABLE lot (id TEXT PRIMARY KEY, occupied INTEGER NOT NULL DEFAULT 0)",
    NULL,
};

/* The configured lot with this id: its index, or -1. */
static int find_lot(struct parking *p, const char *id, int64_t *capacity)
{
    size_t n = p->host->config_count(p->inst, "lots");
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "lots[%zu].id", i);
        const char *lot = p->host->config_string(p->inst, path);
        if (lot && strcmp(lot, id) == 0) {
            snprintf(path, sizeof path, "lots[%zu].capacity", i);
            p->host->config_int(p->inst, path, capacity);
            return (int)i;
        }
    }
    return -1;
}

static int64_t occupied(struct parking *p, const char *id)
{
    int64_t n = 0;
    sqlite3_bind_text(p->select_one, 1, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(p->select_one) == SQLITE_ROW)
        n = sqlite3_column_int64(p->select_one, 0);
    sqlite3_reset(p->select_one);
    return n;
}

static void on_event(void *arg, const char *topic, const char *body, size_t len)
{
    struct parking *p = arg;
    cJSON *ev = cJSON_ParseWithLength(body, len);
    cJSON *lot = cJSON_GetObjectItemCaseSensitive(ev, "lot");
    cJSON *delta = cJSON_GetObjectItemCaseSensitive(ev, "delta");
    int64_t capacity = 0;
    if (!cJSON_IsString(lot) || !cJSON_IsNumber(delta) || find_lot(p, lot->valuestring, &capacity) < 0) {
        p->host->metric_add(p->bad_events, 1);
        cJSON_Delete(ev);
        return;
    }
    int64_t now = occupied(p, lot->valuestring) + (int64_t)delta->valuedouble;
    now = now < 0 ? 0 : now > capacity ? capacity : now;
    sqlite3_bind_text(p->update, 1, lot->valuestring, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(p->update, 2, now);
    sqlite3_step(p->update);
    sqlite3_reset(p->update);
    p->host->metric_add(p->events, 1);
    char out[256];
    int n = snprintf(out, sizeof out, "{\"lot\":\"%s\",\"occupied\":%lld,\"capacity\":%lld}",
                     lot->valuestring, (long long)now, (long long)capacity);
    p->host->publish(p->inst, "parking/occupancy", out, (size_t)n);
    cJSON_Delete(ev);
}

static void on_lots(void *arg, mst_http_request *req)
{
    struct parking *p = arg;
    cJSON *list = cJSON_CreateArray();
    size_t n = p->host->config_count(p->inst, "lots");
    for (size_t i = 0; i < n; i++) {
        char path[64];
        int64_t capacity = 0;
        snprintf(path, sizeof path, "lots[%zu].id", i);
        const char *id = p->host->config_string(p->inst, path);
        snprintf(path, sizeof path, "lots[%zu].name", i);
        const char *name = p->host->config_string(p->inst, path);
        snprintf(path, sizeof path, "lots[%zu].capacity", i);
        p->host->config_int(p->inst, path, &capacity);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "name", name ? name : id);
        cJSON_AddNumberToObject(o, "capacity", (double)capacity);
        cJSON_AddNumberToObject(o, "occupied", (double)occupied(p, id));
        cJSON_AddItemToArray(list, o);
    }
    char *text = cJSON_PrintUnformatted(list);
    p->host->http_respond(req, 200, "application/json", text, strlen(text));
    cJSON_free(text);
    cJSON_Delete(list);
}

static void parking_fini(void *state)
{
    struct parking *p = state;
    sqlite3_finalize(p->update);
    sqlite3_finalize(p->select_one);
    sqlite3_close(p->db);
    free(p);
}

static int parking_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct parking *p = calloc(1, sizeof *p);
    if (!p)
        return MST_ENOMEM;
    p->inst = inst;
    p->host = host;
    int rc = host->db_open(inst, "parking.sqlite", migrations, &p->db);
    if (rc == 0 &&
        (sqlite3_prepare_v2(p->db, "INSERT INTO lot(id, occupied) VALUES (?1, ?2) "
                                   "ON CONFLICT(id) DO UPDATE SET occupied = excluded.occupied",
                            -1, &p->update, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(p->db, "SELECT occupied FROM lot WHERE id = ?1", -1, &p->select_one, NULL) != SQLITE_OK))
        rc = MST_EDB;
    if (rc == 0)
        rc = host->metric(inst, MST_METRIC_COUNTER, "events_total", "parking events counted", &p->events);
    if (rc == 0)
        rc = host->metric(inst, MST_METRIC_COUNTER, "bad_events_total",
                          "parking events refused (unknown lot, not JSON)", &p->bad_events);
    if (rc == 0)
        rc = host->subscribe(inst, "parking/event", on_event, p);
    if (rc == 0)
        rc = host->http_route(inst, "GET", "lots", MST_ROLE_PUBLIC, on_lots, p);
    if (rc != 0) {
        parking_fini(p);
        return rc;
    }
    *state = p;
    return 0;
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "parking",
    .version = "1.2.0",
    .description = "car-park occupancy from entry/exit events",
    .config = config,
    .publishes = publishes,
    .subscribes = subscribes,
    .init = parking_init,
    .fini = parking_fini,
};
