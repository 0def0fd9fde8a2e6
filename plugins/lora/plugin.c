/*
 * lora - the network-server side of a town's LoRaWAN network.
 *
 * Gateways' Semtech UDP packet forwarders send here; frames are checked
 * (MIC with the 32-bit counter, replays), deduplicated across gateways,
 * decrypted, decoded, and published as `lora/uplink` and `reading`.
 * Devices live in the plugin's SQLite registry, managed over HTTP.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "lora.h"

static const struct mst_config_key device_keys[] = {
    {.key = "dev_eui", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 16, .max = 16,
     .description = "DevEUI, 16 hex digits"},
    {.key = "join_eui", .type = MST_CFG_STRING, .description = "JoinEUI (AppEUI), 16 hex digits"},
    {.key = "app_key", .type = MST_CFG_STRING, .flags = MST_CFG_SECRET, .description = "OTAA: AppKey, 32 hex digits"},
    {.key = "dev_addr", .type = MST_CFG_STRING, .description = "ABP: DevAddr, 8 hex digits"},
    {.key = "nwk_skey", .type = MST_CFG_STRING, .flags = MST_CFG_SECRET, .description = "ABP: NwkSKey"},
    {.key = "app_skey", .type = MST_CFG_STRING, .flags = MST_CFG_SECRET, .description = "ABP: AppSKey"},
    {.key = "relax_fcnt", .type = MST_CFG_BOOL, .description = "ABP device that restarts its counter at reboot"},
    {.key = "name", .type = MST_CFG_STRING, .description = "what the town calls it"},
    {.key = "decoder", .type = MST_CFG_STRING, .flags = MST_CFG_SCRIPT,
     .description = "payload decoder: none, cayenne, or lua:<file> (TTN decodeUplink contract)"},
    {.key = "lat", .type = MST_CFG_NUMBER, .description = "where it is (WGS84)"},
    {.key = "lon", .type = MST_CFG_NUMBER},
    {.key = "tags", .type = MST_CFG_OBJECT, .description = "free-form labels"},
    {0},
};

static const struct mst_config_key config[] = {
    {.key = "listen", .type = MST_CFG_STRING, .default_json = "\"0.0.0.0\"",
     .description = "address the packet forwarders send to"},
    {.key = "port", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "1700", .min = 0, .max = 65535,
     .description = "UDP port (the forwarders' serv_port_up and serv_port_down)"},
    {.key = "receive_buffer", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "8388608",
     .min = 0, .max = 268435456, .description = "kernel receive buffer, bytes, so bursts are not dropped"},
    {.key = "dedup_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "200", .min = 0, .max = 5000,
     .description = "how long to wait for the same frame from other gateways"},
    {.key = "net_id", .type = MST_CFG_STRING, .default_json = "\"000000\"", .description = "NetID, 6 hex digits"},
    {.key = "rx1_delay_s", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "1", .min = 1, .max = 15,
     .description = "RECEIVE_DELAY1 given to joining devices"},
    {.key = "rx2_freq", .type = MST_CFG_NUMBER, .default_json = "869.525",
     .description = "RX2 frequency, MHz (EU868: 869.525)"},
    {.key = "rx2_datr", .type = MST_CFG_STRING, .default_json = "\"SF12BW125\"",
     .description = "RX2 data rate (EU868 default DR0: SF12BW125)"},
    {.key = "max_payload", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "242", .min = 11, .max = 242,
     .description = "largest FRMPayload accepted, bytes"},
    {.key = "save_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "100", .min = 10, .max = 10000,
     .description = "how often frame counters are written to the registry"},
    {.key = "devices", .type = MST_CFG_ARRAY, .fields = device_keys, .default_json = "[]",
     .description = "devices to register at start (the HTTP API adds more)"},
    {0},
};

static const char *const publishes[] = {"lora/uplink", "lora/gateway", "reading", NULL};

static const char *const migrations[] = {"SELECT 1", NULL}; /* registry.c creates its tables */

/* --- HTTP: devices and gateways ------------------------------------------ */

static void respond_json(struct lora *l, mst_http_request *req, int status, cJSON *body)
{
    char *text = cJSON_PrintUnformatted(body);
    l->host->http_respond(req, status, "application/json", text, strlen(text));
    cJSON_free(text);
    cJSON_Delete(body);
}

static void respond_error(struct lora *l, mst_http_request *req, int status, const char *msg)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "error", msg);
    cJSON_AddNumberToObject(e, "status", status);
    respond_json(l, req, status, e);
}

static void add_device(uint64_t key, void *v, void *arg)
{
    (void)key;
    cJSON_AddItemToArray(arg, registry_device_json(v));
}

static void api_devices(void *arg, mst_http_request *req)
{
    struct lora *l = arg;
    const char *sub = l->host->http_subpath(req);
    const char *method = l->host->http_method(req);
    uint64_t eui;
    if (!*sub && strcmp(method, "GET") == 0) {
        cJSON *list = cJSON_CreateArray();
        u64map_each(&l->reg.by_eui, add_device, list);
        respond_json(l, req, 200, list);
        return;
    }
    if (*sub && hex_to_u64(sub, &eui) != 0) {
        respond_error(l, req, 400, "a DevEUI is 16 hex digits");
        return;
    }
    struct device *d = *sub ? registry_by_eui(&l->reg, eui) : NULL;
    if (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0) {
        if (!d) {
            respond_error(l, req, 404, "no such device");
        } else if (method[0] == 'G') {
            respond_json(l, req, 200, registry_device_json(d));
        } else {
            registry_remove(&l->reg, eui);
            l->host->http_respond(req, 204, "application/json", "", 0);
        }
        return;
    }
    /* POST: one device object, an array of them, or CSV; all or nothing */
    size_t len;
    const char *body = l->host->http_body(req, &len);
    const char *ctype = l->host->http_header(req, "content-type");
    const char *why = NULL;
    cJSON *j = ctype && strstr(ctype, "text/csv") ? csv_devices(body, len, &why) : cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) {
        cJSON_Delete(j);
        respond_error(l, req, 400, why ? why : "send a JSON device object, an array of them, or text/csv with a header row");
        return;
    }
    cJSON *list = cJSON_IsArray(j) ? j : NULL, *one;
    int count = 0;
    sqlite3_exec(l->db, "SAVEPOINT import", NULL, NULL, NULL);
    if (list) {
        cJSON_ArrayForEach(one, list) if (registry_upsert_json(&l->reg, one, &why, NULL) == 0) count++; else break;
    } else if (registry_upsert_json(&l->reg, j, &why, NULL) == 0) {
        count = 1;
    }
    if (why) {
        sqlite3_exec(l->db, "ROLLBACK TO import; RELEASE import", NULL, NULL, NULL);
        char msg[300];
        snprintf(msg, sizeof msg, "device %d: %s (nothing was stored)", count, why);
        respond_error(l, req, 400, msg);
        /* the cache may hold the devices before the bad one: reload it */
        registry_close(&l->reg);
        char *err = NULL;
        registry_open(&l->reg, l->db, &err);
        free(err);
    } else {
        sqlite3_exec(l->db, "RELEASE import", NULL, NULL, NULL);
        cJSON *ok = cJSON_CreateObject();
        cJSON_AddNumberToObject(ok, "stored", count);
        respond_json(l, req, 201, ok);
    }
    cJSON_Delete(j);
}

static void add_gateway_json(uint64_t key, void *v, void *arg)
{
    (void)key;
    struct gateway *g = v;
    char eui[17];
    snprintf(eui, sizeof eui, "%016" PRIX64, g->eui);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "gateway", eui);
    cJSON_AddNumberToObject(o, "last_seen_ms", (double)g->last_seen_ms);
    cJSON_AddNumberToObject(o, "rx_packets", (double)g->rx_packets);
    cJSON_AddNumberToObject(o, "tx_packets", (double)g->tx_packets);
    cJSON_AddBoolToObject(o, "downlink_path", g->has_pull_addr);
    if (g->has_location) {
        cJSON_AddNumberToObject(o, "lat", g->lat);
        cJSON_AddNumberToObject(o, "lon", g->lon);
    }
    cJSON_AddItemToArray(arg, o);
}

static void api_gateways(void *arg, mst_http_request *req)
{
    struct lora *l = arg;
    cJSON *list = cJSON_CreateArray();
    u64map_each(&l->gateways, add_gateway_json, list);
    respond_json(l, req, 200, list);
}

/* --- lifecycle ----------------------------------------------------------- */

static void save_counters(void *arg)
{
    struct lora *l = arg;
    registry_flush(&l->reg);
}

/* The WAL is checkpointed (and fsynced) from a worker, not by whichever
 * write on the loop happens to cross the auto-checkpoint size: that fsync
 * stalled the loop for hundreds of milliseconds. */
static void checkpoint_work(void *arg)
{
    struct lora *l = arg;
    sqlite3_wal_checkpoint_v2(l->checkpoint_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

static void checkpoint_done(void *arg, int status)
{
    (void)status;
    ((struct lora *)arg)->checkpointing = 0;
}

static void checkpoint(void *arg)
{
    struct lora *l = arg;
    if (!l->checkpointing && l->host->queue_work(l->inst, checkpoint_work, checkpoint_done, l) == 0)
        l->checkpointing = 1;
}

static int import_config_devices(struct lora *l)
{
    char *json = l->host->config_json(l->inst, "devices");
    cJSON *list = cJSON_Parse(json ? json : "[]"), *d;
    l->host->free(json);
    int i = 0, rc = 0;
    cJSON_ArrayForEach(d, list)
    {
        const char *why;
        if (registry_upsert_json(&l->reg, d, &why, NULL) != 0) {
            l->host->log(l->inst, MST_LOG_ERROR, "config devices[%d]: %s", i, why);
            rc = MST_ECONFIG;
            break;
        }
        i++;
    }
    cJSON_Delete(list);
    return rc;
}

static int metrics(struct lora *l)
{
    const struct mst_host *h = l->host;
    int rc = 0;
    for (int i = 0; rc == 0 && i < REJ_COUNT; i++) {
        char name[64];
        snprintf(name, sizeof name, "rejected_total{reason=\"%s\"}", lora_reject_names[i]);
        rc = h->metric(l->inst, MST_METRIC_COUNTER, name, "input refused, per reason", &l->rejected[i]);
    }
    const struct mst_metric_def defs[] = {
        {MST_METRIC_COUNTER, "uplinks_total", "uplinks accepted (once per frame)", &l->uplinks},
        {MST_METRIC_COUNTER, "duplicates_total", "copies of a frame from more gateways", &l->duplicates},
        {MST_METRIC_COUNTER, "joins_total", "OTAA joins accepted", &l->joins},
        {MST_METRIC_COUNTER, "readings_total", "readings published", &l->readings_metric},
        {MST_METRIC_COUNTER, "downlinks_total", "downlinks sent to gateways", &l->downlinks},
        {MST_METRIC_COUNTER, "rx2_fallbacks_total", "downlinks sent again in RX2 after a gateway refused RX1",
         &l->rx2_fallbacks},
        {MST_METRIC_HISTOGRAM, "uplink_seconds",
         "from the first copy of a frame to its publication (includes dedup_ms)", &l->latency},
    };
    if (rc == 0)
        rc = mst_metrics_register(h, l->inst, defs, sizeof defs / sizeof defs[0]);
    return rc;
}

static void lora_fini(void *state);

static int lora_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct lora *l = calloc(1, sizeof *l);
    if (!l)
        return MST_ENOMEM;
    l->inst = inst;
    l->host = host;
    *state = l;
    host->config_int(inst, "dedup_ms", &l->dedup_ms);
    host->config_int(inst, "rx1_delay_s", &l->rx1_delay_s);
    host->config_int(inst, "max_payload", &l->max_payload);
    host->config_number(inst, "rx2_freq", &l->rx2_freq);
    l->rx2_datr = host->config_string(inst, "rx2_datr");
    uint8_t nid[3];
    if (hex_to_bytes(host->config_string(inst, "net_id"), nid, 3) != 0) {
        host->log(inst, MST_LOG_ERROR, "net_id must be 6 hex digits");
        lora_fini(l);
        return MST_ECONFIG;
    }
    l->net_id = (uint32_t)nid[0] << 16 | (uint32_t)nid[1] << 8 | nid[2];
    char *err = NULL;
    int rc = metrics(l);
    if (rc == 0 && (!(l->crypto = lw_crypto_new()) || !(l->worker_crypto = lw_crypto_new())))
        rc = MST_ENOMEM;
    if (rc == 0)
        rc = host->db_open(inst, "lora.sqlite", migrations, &l->db);
    if (rc == 0) {
        sqlite3_exec(l->db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL);
        rc = host->db_open(inst, "lora.sqlite", migrations, &l->checkpoint_db);
    }
    if (rc == 0 && (rc = registry_open(&l->reg, l->db, &err)) != 0)
        host->log(inst, MST_LOG_ERROR, "device registry: %s", err);
    free(err);
    if (rc == 0)
        rc = import_config_devices(l);
    if (rc == 0)
        rc = host->http_route(inst, "GET", "devices/*", MST_ROLE_OPERATOR, api_devices, l);
    if (rc == 0)
        rc = host->http_route(inst, "POST", "devices", MST_ROLE_OPERATOR, api_devices, l);
    if (rc == 0)
        rc = host->http_route(inst, "DELETE", "devices/*", MST_ROLE_OPERATOR, api_devices, l);
    if (rc == 0)
        rc = host->http_route(inst, "GET", "gateways", MST_ROLE_OPERATOR, api_gateways, l);
    if (rc != 0) {
        lora_fini(l);
        return rc;
    }
    return 0;
}

static int lora_start(void *state)
{
    struct lora *l = state;
    const struct mst_host *h = l->host;
    int64_t port, rcvbuf, save_ms;
    h->config_int(l->inst, "port", &port);
    h->config_int(l->inst, "receive_buffer", &rcvbuf);
    h->config_int(l->inst, "save_ms", &save_ms);
    int rc = h->udp_bind(l->inst, h->config_string(l->inst, "listen"), (uint16_t)port, (size_t)rcvbuf,
                         lora_on_datagram, l, &l->udp);
    if (rc != 0)
        return rc;
    /* the dedup window is checked every few ms, not per frame */
    uint64_t tick = l->dedup_ms >= 40 ? (uint64_t)l->dedup_ms / 8 : 5;
    rc = h->timer_start(l->inst, tick, tick, lora_flush_pending, l, &l->dedup_timer);
    if (rc == 0)
        rc = h->timer_start(l->inst, (uint64_t)save_ms, (uint64_t)save_ms, save_counters, l, &l->save_timer);
    if (rc == 0)
        rc = h->timer_start(l->inst, 1000, 1000, checkpoint, l, &l->checkpoint_timer);
    if (rc == 0)
        h->log(l->inst, MST_LOG_INFO, "listening for packet forwarders on UDP %s:%d, %zu device(s) registered",
               h->config_string(l->inst, "listen"), h->udp_port(l->udp), l->reg.by_eui.len);
    return rc;
}

static void lora_stop(void *state)
{
    struct lora *l = state;
    /* what is waiting in the dedup window is published, not lost */
    lora_finish_all(l);
    registry_flush(&l->reg);
}

static void free_decoders(struct lora *l)
{
    while (l->decoders) {
        struct decoder *d = l->decoders;
        l->decoders = d->next;
        if (d->script)
            l->host->script_close(d->script);
        free(d->name);
        free(d);
    }
}

static void free_gateway(uint64_t key, void *v, void *arg)
{
    (void)key, (void)arg;
    free(v);
}

static void lora_fini(void *state)
{
    struct lora *l = state;
    lora_drop_all_pending(l);
    free_decoders(l);
    if (l->db) {
        registry_close(&l->reg);
        sqlite3_close(l->db);
    }
    if (l->checkpoint_db) {
        sqlite3_wal_checkpoint_v2(l->checkpoint_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        sqlite3_close(l->checkpoint_db);
    }
    u64map_each(&l->gateways, free_gateway, NULL);
    u64map_free(&l->gateways);
    lw_crypto_free(l->crypto);
    lw_crypto_free(l->worker_crypto);
    free(l);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "lora",
    .version = "0.1.0",
    .description = "LoRaWAN 1.0.x network server for Semtech UDP packet forwarders (EU868, class A)",
    .config = config,
    .publishes = publishes,
    .init = lora_init,
    .start = lora_start,
    .stop = lora_stop,
    .fini = lora_fini,
};
