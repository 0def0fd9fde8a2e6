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

#include <mestys/cjson.h>
#include <mestys/pages.h>

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

static const struct mst_config_key gateway_keys[] = {
    {.key = "gateway", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 16, .max = 16,
     .description = "the gateway's EUI (gateway_ID in its packet forwarder), 16 hex digits"},
    {.key = "name", .type = MST_CFG_STRING, .description = "where it is, in the town's words"},
    {.key = "lat", .type = MST_CFG_NUMBER, .description = "where it is (WGS84)"},
    {.key = "lon", .type = MST_CFG_NUMBER},
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
     .description = "how often downlink counters (FCntDown) are written; FCntUp is written before each uplink "
                    "is published"},
    {.key = "gateway_time_max_age_s", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "0",
     .min = 0, .max = 31536000,
     .description = "0: readings carry the time the server received the frame; N: the gateway's GPS time "
                    "(rxpk time) when it is at most N seconds old (gateways that forward late frames)"},
    {.key = "devices", .type = MST_CFG_ARRAY, .fields = device_keys, .default_json = "[]",
     .description = "devices to register at start (the HTTP API adds more)"},
    {.key = "gateways", .type = MST_CFG_ARRAY, .fields = gateway_keys, .default_json = "[]",
     .description = "gateways to register at start (the HTTP API adds more); packets from others are dropped"},
    {.key = "pages", .type = MST_CFG_BOOL, .default_json = "true",
     .description = "serve the clerk's device page at /<instance>/admin.html"},
    {0},
};

static const char *const publishes[] = {"lora/uplink", "lora/gateway", "reading", NULL};

static const char *const migrations[] = {"SELECT 1", NULL}; /* registry.c creates its tables */

/* --- HTTP: devices and gateways ------------------------------------------ */

static void respond_json(struct lora *l, mst_http_request *req, int status, cJSON *body)
{
    mst_http_respond_json(l->host, req, status, body);
}

static void respond_error(struct lora *l, mst_http_request *req, int status, const char *msg)
{
    mst_http_respond_error(l->host, req, status, msg);
}

/* A list answer being built: one entry that could not be made fails it. */
struct listing {
    cJSON *list;
    cJSON *(*entry)(const void *v);
    int failed;
};

static void add_entry(uint64_t key, void *v, void *arg)
{
    (void)key;
    struct listing *a = arg;
    cJSON *item = a->list ? a->entry(v) : NULL;
    if (!item || !cJSON_AddItemToArray(a->list, item)) {
        cJSON_Delete(item);
        a->failed = 1;
    }
}

/* The map's entries as a JSON array; NULL when memory ran out. */
static cJSON *listing(const struct u64map *m, cJSON *(*entry)(const void *v))
{
    struct listing a = {cJSON_CreateArray(), entry, 0};
    u64map_each(m, add_entry, &a);
    if (a.failed) {
        cJSON_Delete(a.list);
        return NULL;
    }
    return a.list;
}

static cJSON *device_entry(const void *v)
{
    return registry_device_json(v);
}

static cJSON *gateway_entry(const void *v)
{
    return gateway_json(v);
}

/* 201 {"stored": count} */
static void respond_stored(struct lora *l, mst_http_request *req, int count)
{
    cJSON *ok = cJSON_CreateObject();
    if (ok && !cJSON_AddNumberToObject(ok, "stored", count)) {
        cJSON_Delete(ok);
        ok = NULL;
    }
    respond_json(l, req, 201, ok);
}

/* The start of the devices and gateways routes: GET of the whole list is
 * answered here (1); else *eui is the EUI in the path, if any (0), or the
 * path is answered 400 (1). */
static int list_or_eui(struct lora *l, mst_http_request *req, const struct u64map *m, cJSON *(*entry)(const void *v),
                       const char *bad_eui, uint64_t *eui)
{
    const char *sub = l->host->http_subpath(req);
    if (!*sub && strcmp(l->host->http_method(req), "GET") == 0) {
        respond_json(l, req, 200, listing(m, entry));
        return 1;
    }
    if (*sub && hex_to_u64(sub, eui) != 0) {
        respond_error(l, req, 400, bad_eui);
        return 1;
    }
    return 0;
}

/* A device import refused: answered, counted and logged, one line each. */
static void refuse_import(struct lora *l, mst_http_request *req, const char *msg)
{
    l->host->metric_add(l->imports_refused, 1);
    l->host->log(l->inst, MST_LOG_WARN, "device import refused: %s", msg);
    respond_error(l, req, 400, msg);
}

/* Every device is checked before any is stored: a bad one stores nothing.
 * A refusal names the device as the person sees it: its index in a JSON
 * array, its line in a CSV file (the header is line 1; a quoted field
 * holding a line break would shift it). */
static void import_devices(struct lora *l, mst_http_request *req, const cJSON *j, int csv)
{
    const cJSON *list = cJSON_IsArray(j) ? j : NULL, *one = list ? list->child : j;
    const char *why = NULL;
    char msg[300];
    int count = 0;
    for (const cJSON *d = one; d; d = list ? d->next : NULL, count++) {
        if (registry_check_json(d, &why) != 0) {
            if (csv)
                snprintf(msg, sizeof msg, "line %d: %s (nothing was stored)", count + 2, why);
            else
                snprintf(msg, sizeof msg, "device %d: %s (nothing was stored)", count, why);
            refuse_import(l, req, msg);
            return;
        }
    }
    count = 0;
    sqlite3_exec(l->db, "SAVEPOINT import", NULL, NULL, NULL);
    for (const cJSON *d = one; d && !why; d = list ? d->next : NULL)
        if (registry_upsert_json(&l->reg, d, &why, NULL) == 0)
            count++;
    if (why) {
        /* the file or memory failed half-way: the file goes back, and the
         * cache is rebuilt from it */
        sqlite3_exec(l->db, "ROLLBACK TO import; RELEASE import", NULL, NULL, NULL);
        char *err = NULL;
        if (registry_reload(&l->reg, &err) != 0)
            l->host->log(l->inst, MST_LOG_ERROR, "device registry: %s", err ? err : "out of memory");
        free(err);
        snprintf(msg, sizeof msg, "device %d: %s (nothing was stored)", count, why);
        l->host->log(l->inst, MST_LOG_ERROR, "device import failed: %s", msg);
        respond_error(l, req, 500, msg);
        return;
    }
    sqlite3_exec(l->db, "RELEASE import", NULL, NULL, NULL);
    respond_stored(l, req, count);
}

static void api_devices(void *arg, mst_http_request *req)
{
    struct lora *l = arg;
    const char *sub = l->host->http_subpath(req);
    const char *method = l->host->http_method(req);
    uint64_t eui;
    if (list_or_eui(l, req, &l->reg.by_eui, device_entry, "a DevEUI is 16 hex digits", &eui))
        return;
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
    int csv = ctype && strstr(ctype, "text/csv");
    const char *why = NULL;
    cJSON *j = csv ? csv_devices(body, len, &why) : cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) {
        cJSON_Delete(j);
        refuse_import(l, req, why ? why : "send a JSON device object, an array of them, or text/csv with a header row");
        return;
    }
    import_devices(l, req, j, csv);
    cJSON_Delete(j);
}

static void api_gateways(void *arg, mst_http_request *req)
{
    struct lora *l = arg;
    const char *sub = l->host->http_subpath(req);
    const char *method = l->host->http_method(req);
    uint64_t eui;
    if (list_or_eui(l, req, &l->gateways, gateway_entry, "a gateway EUI is 16 hex digits", &eui))
        return;
    if (*sub) {
        struct gateway *g = u64map_get(&l->gateways, eui);
        if (!g)
            respond_error(l, req, 404, "no such gateway");
        else if (method[0] == 'G')
            respond_json(l, req, 200, gateway_json(g));
        else if (gateways_remove(l, eui) == 0)
            l->host->http_respond(req, 204, "application/json", "", 0);
        else
            respond_error(l, req, 500, "the registry could not be written");
        return;
    }
    /* POST: one gateway object or an array of them; all or nothing */
    size_t len;
    const char *body = l->host->http_body(req, &len);
    cJSON *j = cJSON_ParseWithLength(body, len);
    const char *why = NULL;
    int index = 0, rc;
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) {
        respond_error(l, req, 400,
                      "send a JSON gateway object ({\"gateway\": \"AA555A0000000101\"}) or an array of them");
    } else if ((rc = gateways_register_json(l, j, &index, &why)) != 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "gateway %d: %s (nothing was stored)", index, why);
        respond_error(l, req, rc == MST_EINVAL ? 400 : 500, msg);
    } else {
        respond_stored(l, req, cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 1);
    }
    cJSON_Delete(j);
}

/* --- lifecycle ----------------------------------------------------------- */

/* FCntDown (and counters the API touched): FCntUp is finish.c's */
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

static int import_config_gateways(struct lora *l)
{
    char *json = l->host->config_json(l->inst, "gateways");
    cJSON *list = cJSON_Parse(json ? json : "[]");
    l->host->free(json);
    const char *why = NULL;
    int index = 0, rc = list ? gateways_register_json(l, list, &index, &why) : MST_ENOMEM;
    if (rc != 0)
        l->host->log(l->inst, MST_LOG_ERROR, "config gateways[%d]: %s", index, why ? why : mst_strerror(rc));
    cJSON_Delete(list);
    return rc == MST_EINVAL ? MST_ECONFIG : rc;
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
        {MST_METRIC_COUNTER, "imports_refused_total",
         "device imports refused (not a JSON or CSV list of devices, or a device that is not valid)",
         &l->imports_refused},
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
    host->config_int(inst, "gateway_time_max_age_s", &l->gateway_time_max_age_ms);
    l->gateway_time_max_age_ms *= 1000;
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
    if (rc == 0)
        rc = host->db_open(inst, "lora.sqlite", migrations, &l->fcnt.db);
    if (rc == 0 && (rc = registry_open(&l->reg, l->db, &err)) != 0)
        host->log(inst, MST_LOG_ERROR, "device registry: %s", err);
    if (rc == 0 && (rc = gateways_open(l, &err)) != 0)
        host->log(inst, MST_LOG_ERROR, "gateway registry: %s", err);
    if (rc == 0 && (rc = fcnt_writer_open(&l->fcnt, l->fcnt.db)) != 0)
        host->log(inst, MST_LOG_ERROR, "frame counters: %s", sqlite3_errmsg(l->fcnt.db));
    free(err);
    if (rc == 0)
        rc = import_config_devices(l);
    if (rc == 0)
        rc = import_config_gateways(l);
    if (rc == 0)
        rc = host->http_route(inst, "GET", "devices/*", MST_ROLE_OPERATOR, api_devices, l);
    if (rc == 0)
        rc = host->http_route(inst, "POST", "devices", MST_ROLE_OPERATOR, api_devices, l);
    if (rc == 0)
        rc = host->http_route(inst, "DELETE", "devices/*", MST_ROLE_OPERATOR, api_devices, l);
    if (rc == 0)
        rc = host->http_route(inst, "GET", "gateways/*", MST_ROLE_OPERATOR, api_gateways, l);
    if (rc == 0)
        rc = host->http_route(inst, "POST", "gateways", MST_ROLE_OPERATOR, api_gateways, l);
    if (rc == 0)
        rc = host->http_route(inst, "DELETE", "gateways/*", MST_ROLE_OPERATOR, api_gateways, l);
    if (rc == 0)
        rc = mst_pages_mount(host, inst, "lora");
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
        h->log(l->inst, MST_LOG_INFO,
               "listening for packet forwarders on UDP %s:%d, %zu device(s) and %zu gateway(s) registered",
               h->config_string(l->inst, "listen"), h->udp_port(l->udp), l->reg.by_eui.len, l->gateways.len);
    if (rc == 0 && !l->gateways.len)
        h->log(l->inst, MST_LOG_WARN,
               "no gateway is registered: packets are dropped until gateways are listed in the config's"
               " \"gateways\" or sent to POST /api/%s/gateways",
               h->instance_name(l->inst));
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

static void lora_fini(void *state)
{
    struct lora *l = state;
    lora_drop_all_pending(l);
    free_decoders(l);
    if (l->db) {
        registry_close(&l->reg);
        sqlite3_close(l->db);
    }
    fcnt_writer_close(&l->fcnt);
    sqlite3_close(l->fcnt.db);
    if (l->checkpoint_db) {
        sqlite3_wal_checkpoint_v2(l->checkpoint_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        sqlite3_close(l->checkpoint_db);
    }
    gateways_close(l);
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
