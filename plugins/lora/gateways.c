/* gateways.c - the gateways this network server takes packets from.
 *
 * A gateway is registered (the config's `gateways`, or the HTTP API) and
 * kept in the plugin's SQLite file, as devices are.  Packets from any other
 * EUI are counted in one series and dropped without an answer: nothing is
 * kept per stranger, so made-up EUIs cost neither memory nor /metrics
 * series.  The first few strangers are named in the log, so a town whose
 * gateway is not registered yet sees which EUI to register. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "lora.h"

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS gateway (eui TEXT PRIMARY KEY, name TEXT, lat REAL, lon REAL);";

/* The series of one registered gateway.  Registering is the operator's act,
 * so these are as many as the town has gateways. */
static int gateway_metrics(struct lora *l, struct gateway *g)
{
    char rx[80], tx[80], seen[96];
    snprintf(rx, sizeof rx, "gateway_rx_total{gateway=\"%016" PRIX64 "\"}", g->eui);
    snprintf(tx, sizeof tx, "gateway_tx_total{gateway=\"%016" PRIX64 "\"}", g->eui);
    snprintf(seen, sizeof seen, "gateway_last_seen_seconds{gateway=\"%016" PRIX64 "\"}", g->eui);
    const struct mst_metric_def defs[] = {
        {MST_METRIC_COUNTER, rx, "LoRa packets a gateway forwarded", &g->rx_metric},
        {MST_METRIC_COUNTER, tx, "downlinks sent through a gateway", &g->tx_metric},
        {MST_METRIC_GAUGE, seen, "Unix time a gateway was last heard from", &g->last_seen_metric},
    };
    return mst_metrics_register(l->host, l->inst, defs, sizeof defs / sizeof defs[0]);
}

static void gateway_free(struct gateway *g)
{
    free(g->name);
    free(g);
}

/* Puts n (a registration, not yet in memory) in the map: a new entry, or
 * the registration of one that exists, keeping what it has reported. */
static int keep(struct lora *l, const struct gateway *n)
{
    struct gateway *g = u64map_get(&l->gateways, n->eui);
    char *name = n->name ? strdup(n->name) : NULL;
    if (n->name && !name)
        return MST_ENOMEM;
    if (!g) {
        if (!(g = calloc(1, sizeof *g))) {
            free(name);
            return MST_ENOMEM;
        }
        g->eui = n->eui;
        int rc = gateway_metrics(l, g);
        if (rc == 0 && u64map_put(&l->gateways, g->eui, g) != 0)
            rc = MST_ENOMEM;
        if (rc != 0) {
            free(name);
            free(g);
            return rc;
        }
    }
    free(g->name);
    g->name = name;
    if (n->has_location) {
        g->lat = n->lat;
        g->lon = n->lon;
        g->alt = 0;
        g->has_location = 1;
    }
    return 0;
}

static int load(struct lora *l)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "SELECT eui, name, lat, lon FROM gateway", -1, &st, NULL) != SQLITE_OK)
        return MST_EDB;
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct gateway n = {0};
        if (hex_to_u64((const char *)sqlite3_column_text(st, 0), &n.eui) != 0)
            continue; /* not written by us */
        n.name = (char *)sqlite3_column_text(st, 1);
        if (sqlite3_column_type(st, 2) != SQLITE_NULL && sqlite3_column_type(st, 3) != SQLITE_NULL) {
            n.lat = sqlite3_column_double(st, 2);
            n.lon = sqlite3_column_double(st, 3);
            n.has_location = 1;
        }
        rc = keep(l, &n);
    }
    sqlite3_finalize(st);
    return rc;
}

int gateways_open(struct lora *l, char **err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(l->db, schema, NULL, NULL, &msg) == SQLITE_OK ? load(l) : MST_EDB;
    if (rc != 0)
        *err = strdup(msg ? msg : rc == MST_EDB ? sqlite3_errmsg(l->db) : mst_strerror(rc));
    sqlite3_free(msg);
    return rc;
}

static void free_one(uint64_t key, void *v, void *arg)
{
    (void)key, (void)arg;
    gateway_free(v);
}

void gateways_close(struct lora *l)
{
    u64map_each(&l->gateways, free_one, NULL);
    u64map_free(&l->gateways);
}

/* One registration from JSON ({"gateway": EUI, "name", "lat", "lon"}); the
 * name points into j. */
static int parse(const cJSON *j, struct gateway *n, const char **why)
{
    memset(n, 0, sizeof *n);
    const cJSON *eui = cJSON_GetObjectItemCaseSensitive(j, "gateway");
    if (!cJSON_IsObject(j) || !cJSON_IsString(eui) || hex_to_u64(eui->valuestring, &n->eui) != 0) {
        *why = "gateway: its EUI (gateway_ID), 16 hex digits, is required";
        return MST_EINVAL;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (name && !cJSON_IsString(name)) {
        *why = "name: a string";
        return MST_EINVAL;
    }
    n->name = name ? name->valuestring : NULL;
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(j, "lat"), *lon = cJSON_GetObjectItemCaseSensitive(j, "lon");
    if ((lat || lon) && !(cJSON_IsNumber(lat) && cJSON_IsNumber(lon) &&
                          !lora_degrees_refused(LORA_LAT, lat->valuedouble) &&
                          !lora_degrees_refused(LORA_LON, lon->valuedouble))) {
        *why = "lat, lon: both, in degrees (WGS84)";
        return MST_EINVAL;
    }
    if (lat) {
        n->lat = lat->valuedouble;
        n->lon = lon->valuedouble;
        n->has_location = 1;
    }
    return 0;
}

static int save(struct lora *l, const struct gateway *n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "INSERT INTO gateway (eui, name, lat, lon) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (eui)"
                           " DO UPDATE SET name = ?2, lat = ?3, lon = ?4",
                           -1, &st, NULL) != SQLITE_OK)
        return MST_EDB;
    char eui[17];
    snprintf(eui, sizeof eui, "%016" PRIX64, n->eui);
    sqlite3_bind_text(st, 1, eui, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, n->name, -1, SQLITE_STATIC);
    if (n->has_location) {
        sqlite3_bind_double(st, 3, n->lat);
        sqlite3_bind_double(st, 4, n->lon);
    }
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : MST_EDB;
    sqlite3_finalize(st);
    return rc;
}

/* The entries of a registration: one object, or each of an array. */
static const cJSON *first(const cJSON *list)
{
    return cJSON_IsArray(list) ? list->child : list;
}

static const cJSON *next(const cJSON *list, const cJSON *j)
{
    return cJSON_IsArray(list) ? j->next : NULL;
}

int gateways_register_json(struct lora *l, const cJSON *list, int *index, const char **why)
{
    struct gateway n;
    /* every entry is checked before anything is written: all or nothing */
    *index = 0;
    for (const cJSON *j = first(list); j; j = next(list, j), ++*index)
        if (parse(j, &n, why) != 0)
            return MST_EINVAL;
    *index = 0;
    int rc = 0;
    sqlite3_exec(l->db, "SAVEPOINT gateways", NULL, NULL, NULL);
    for (const cJSON *j = first(list); rc == 0 && j; j = next(list, j), ++*index)
        if (parse(j, &n, why) == 0 && (rc = save(l, &n)) != 0)
            *why = "the registry could not be written";
    sqlite3_exec(l->db, rc == 0 ? "RELEASE gateways" : "ROLLBACK TO gateways; RELEASE gateways", NULL, NULL, NULL);
    for (const cJSON *j = first(list); rc == 0 && j; j = next(list, j))
        if (parse(j, &n, why) == 0 && (rc = keep(l, &n)) != 0)
            *why = "out of memory";
    return rc;
}

int gateways_remove(struct lora *l, uint64_t eui)
{
    struct gateway *g = u64map_del(&l->gateways, eui);
    if (!g)
        return MST_ENOENT;
    char text[17];
    snprintf(text, sizeof text, "%016" PRIX64, eui);
    sqlite3_stmt *st;
    int rc = MST_EDB;
    if (sqlite3_prepare_v2(l->db, "DELETE FROM gateway WHERE eui = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : MST_EDB;
        sqlite3_finalize(st);
    }
    gateway_free(g);
    return rc;
}

struct gateway *gateways_heard(struct lora *l, uint64_t eui)
{
    struct gateway *g = u64map_get(&l->gateways, eui);
    if (g) {
        g->last_seen_ms = (uint64_t)lora_wall_ms();
        l->host->metric_set(g->last_seen_metric, (double)g->last_seen_ms / 1000.0);
        return g;
    }
    l->host->metric_add(l->rejected[REJ_UNKNOWN_GATEWAY], 1);
    /* the first few strangers are named, once each; then one line says the
     * rest are only counted (a flood of made-up EUIs must not flood the log) */
    for (unsigned i = 0; i < l->n_strangers; i++)
        if (l->strangers[i] == eui)
            return NULL;
    if (l->n_strangers < LORA_STRANGERS_LOGGED) {
        l->strangers[l->n_strangers++] = eui;
        l->host->log(l->inst, MST_LOG_WARN,
                     "gateway %016" PRIX64 " is not registered: its packets are dropped (register it in the config's"
                     " \"gateways\" or with POST /api/%s/gateways)",
                     eui, l->host->instance_name(l->inst));
    } else if (!l->strangers_untold) {
        l->strangers_untold = 1;
        l->host->log(l->inst, MST_LOG_WARN,
                     "more unregistered gateways: from now on they are only counted"
                     " (mestys_lora_rejected_total{reason=\"unknown_gateway\"})");
    }
    return NULL;
}

cJSON *gateway_json(const struct gateway *g)
{
    char eui[17];
    snprintf(eui, sizeof eui, "%016" PRIX64, g->eui);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "gateway", eui);
    if (g->name)
        cJSON_AddStringToObject(o, "name", g->name);
    cJSON_AddNumberToObject(o, "last_seen_ms", (double)g->last_seen_ms);
    cJSON_AddNumberToObject(o, "rx_packets", (double)g->rx_packets);
    cJSON_AddNumberToObject(o, "tx_packets", (double)g->tx_packets);
    cJSON_AddBoolToObject(o, "downlink_path", g->has_pull_addr);
    if (g->has_location) {
        cJSON_AddNumberToObject(o, "lat", g->lat);
        cJSON_AddNumberToObject(o, "lon", g->lon);
    }
    return o;
}
