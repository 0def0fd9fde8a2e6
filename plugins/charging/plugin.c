/*
 * charging - the town's central system (CSMS) for public EV charging.
 *
 * Charge points connect over OCPP 1.6J (WebSocket /api/<instance>/ocpp/<id>,
 * subprotocol ocpp1.6), authenticated by security profile 1, 2 or 3 before
 * the upgrade.  Their boots, status, sessions and meter values go to the
 * plugin's SQLite file and to the bus (charging/status, charging/session);
 * the operator sees and drives them over HTTP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charging.h"

static const struct mst_config_key tariff_keys[] = {
    {.key = "currency", .type = MST_CFG_STRING, .description = "ISO 4217 code (CZK)"},
    {.key = "per_kwh", .type = MST_CFG_ANY, .description = "price per kWh, VAT included (number or string, 2 decimals)"},
    {.key = "per_minute", .type = MST_CFG_ANY, .description = "price per minute, VAT included"},
    {.key = "minutes", .type = MST_CFG_STRING, .choices = "plugged|charging",
     .description = "what a per-minute price counts"},
    {.key = "per_session", .type = MST_CFG_ANY, .description = "price per session, VAT included"},
    {.key = "vat", .type = MST_CFG_NUMBER, .description = "VAT in percent (21)"},
    {0},
};

static const struct mst_config_key connector_keys[] = {
    {.key = "max_kw", .type = MST_CFG_NUMBER, .description = "the connector's own maximum, kW (22)"},
    {.key = "phases", .type = MST_CFG_INT, .description = "1 or 3 (3)"},
    {.key = "type", .type = MST_CFG_STRING, .choices = "Type2|Type2Cable|CCS2|CHAdeMO|Type1|CCS1|Schuko",
     .description = "its plug, for the station list and open data (Type2)"},
    {0},
};

static const struct mst_config_key site_keys[] = {
    {.key = "name", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 1, .max = 64,
     .description = "the site's name (stations[].site refers to it)"},
    {.key = "limit_kw", .type = MST_CFG_NUMBER, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 0, .max = 1e6,
     .description = "the power left for charging, kW"},
    {.key = "min_current_a", .type = MST_CFG_NUMBER, .flags = MST_CFG_HAS_RANGE, .default_json = "6", .min = 0,
     .max = 80, .description = "smallest useful current per phase (IEC 61851: 6 A); below it a car is paused"},
    {.key = "voltage", .type = MST_CFG_NUMBER, .flags = MST_CFG_HAS_RANGE, .default_json = "230", .min = 100,
     .max = 400, .description = "phase voltage, to turn amperes into watts"},
    {.key = "rate_unit", .type = MST_CFG_STRING, .default_json = "\"A\"", .choices = "A|W",
     .description = "the unit of the limits sent"},
    {.key = "stack_level", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "1", .min = 0, .max = 100,
     .description = "the profiles' stackLevel"},
    {.key = "policy", .type = MST_CFG_STRING, .flags = MST_CFG_SCRIPT,
     .description = "lua:<file>: a Lua script whose global share(input) replaces the built-in sharing"},
    {.key = "recompute_s", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "60", .min = 5,
     .max = 3600, .description = "how often the shares are recomputed besides every start, stop and status change"},
    {0},
};

static const struct mst_config_key booking_keys[] = {
    {.key = "grace_min", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "15", .min = 0,
     .max = 10080, .description = "a booked car is authorized this long before its slot"},
    {.key = "reserve", .type = MST_CFG_BOOL, .default_json = "false",
     .description = "reserve a booked station's connector with ReserveNow"},
    {.key = "lead_min", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "10", .min = 0,
     .max = 10080, .description = "...this long before the slot"},
    {0},
};

static const struct mst_config_key station_keys[] = {
    {.key = "id", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 1, .max = CHG_ID_MAX,
     .description = "the charge point's identity (the last segment of the URL it connects to)"},
    {.key = "name", .type = MST_CFG_STRING, .description = "where it is, in the town's words"},
    /* no default_json: absent keeps what the API last set (a new station: 1) */
    {.key = "security_profile", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .min = 1, .max = 3,
     .description = "1 Basic password, 2 Basic over TLS, 3 TLS client certificate (CN = id); absent: as before (1)"},
    {.key = "accepted", .type = MST_CFG_BOOL,
     .description = "accepted by the operator (BootNotification Accepted); absent: as the API last set it"},
    {.key = "site", .type = MST_CFG_STRING, .description = "the grid connection it shares (load management)"},
    {.key = "lat", .type = MST_CFG_NUMBER, .description = "where it is (WGS84)"},
    {.key = "lon", .type = MST_CFG_NUMBER},
    {.key = "connectors", .type = MST_CFG_ARRAY, .fields = connector_keys,
     .description = "per connector (1, 2, ...): its maximum, phases and plug; absent: as before"},
    {.key = "tariff", .type = MST_CFG_OBJECT, .fields = tariff_keys,
     .description = "this station's tariff; absent (or {}): as before"},
    {0},
};

static const struct mst_config_key config[] = {
    {.key = "heartbeat_interval_s", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "60", .min = 10,
     .max = 86400, .description = "the Heartbeat interval given in BootNotification.conf"},
    {.key = "grace_s", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "30", .min = 0, .max = 3600,
     .description = "silence past the heartbeat interval after which a connected station is shown unknown"},
    {.key = "ping_s", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "30", .min = 0, .max = 3600,
     .description = "WebSocket ping interval; a connection that answers none within it is closed (0: no pings)"},
    {.key = "max_message", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "65536", .min = 1024,
     .max = 16777216, .description = "largest OCPP-J message accepted, bytes (bigger: closed with 1009)"},
    {.key = "call_timeout_s", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "30", .min = 1,
     .max = 600, .description = "how long a call to a charge point waits for its answer"},
    {.key = "password_iterations", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "10000",
     .min = 1000, .max = 10000000, .description = "PBKDF2-HMAC-SHA256 iterations of new password hashes"},
    {.key = "auth_fail_limit", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "10", .min = 1,
     .max = 100000, .description = "wrong passwords per station per minute before further attempts get 429"},
    {.key = "data_transfer_vendors", .type = MST_CFG_STRING_LIST, .default_json = "[]",
     .description = "DataTransfer vendorIds answered Accepted (others: UnknownVendorId)"},
    {.key = "tariff", .type = MST_CFG_OBJECT, .fields = tariff_keys,
     .description = "the default tariff of every station (none: free)"},
    {.key = "sites", .type = MST_CFG_ARRAY, .fields = site_keys, .default_json = "[]",
     .description = "grid connections whose limit their stations' sessions share (load management)"},
    {.key = "bookings", .type = MST_CFG_OBJECT, .fields = booking_keys, .default_json = "{}",
     .description = "the fleet's and carsharing's booking calendar"},
    {.key = "priorities", .type = MST_CFG_STRING_LIST, .default_json = "[\"fleet\", \"carsharing\", \"public\"]",
     .description = "load management's classes, highest first (fleet, carsharing, public); one left out is the public's"},
    {.key = "fleet_tags", .type = MST_CFG_STRING_LIST, .default_json = "[]",
     .description = "the town's fleet's id tags: authorized without an id tag row, served first by load management"},
    {.key = "meter_retention_days", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "400",
     .min = 0, .max = 36500,
     .description = "days meter values are kept (an open session's always; sessions keep their energy and cost); 0: for ever"},
    {.key = "stations", .type = MST_CFG_ARRAY, .fields = station_keys, .default_json = "[]",
     .description = "charge points registered at start (the HTTP API adds more and sets passwords)"},
    {.key = "pages", .type = MST_CFG_BOOL, .default_json = "true",
     .description = "serve the drivers' map and list of stations and the clerk's page at /<instance>/"},
    {0},
};

static const char *const publishes[] = {"charging/status", "charging/session", "charging/energy",
                                        "charging/uptime", NULL};

static int metrics(struct charging *c)
{
    const struct mst_host *h = c->host;
    int rc = 0;
    char name[96];
    for (int i = 0; rc == 0 && i < CHG_REF_COUNT; i++) {
        snprintf(name, sizeof name, "handshakes_refused_total{reason=\"%s\"}", chg_refusal_names[i]);
        rc = h->metric(c->inst, MST_METRIC_COUNTER, name, "OCPP connections refused before the upgrade, per reason",
                       &c->refused[i]);
    }
    for (int e = 1; rc == 0 && e < CHG_OCPP_CODES; e++) {
        snprintf(name, sizeof name, "errors_sent_total{code=\"%s\"}", chg_ocpp_err_name(e));
        rc = h->metric(c->inst, MST_METRIC_COUNTER, name, "CALLERRORs answered to charge points, per code",
                       &c->errors_sent[e]);
    }
    const struct mst_metric_def defs[] = {
        {MST_METRIC_COUNTER, "connections_total", "OCPP connections opened", &c->connections},
        {MST_METRIC_COUNTER, "connections_replaced_total",
         "older connections closed because the same charge point connected again", &c->replaced},
        {MST_METRIC_COUNTER, "calls_received_total", "CALLs from charge points", &c->calls_in},
        {MST_METRIC_COUNTER, "calls_sent_total", "CALLs sent to charge points", &c->calls_out},
        {MST_METRIC_COUNTER, "call_timeouts_total", "CALLs a charge point did not answer in time",
         &c->call_timeouts},
        {MST_METRIC_COUNTER, "call_errors_total", "CALLs a charge point answered with CALLERROR",
         &c->call_errors},
        {MST_METRIC_COUNTER, "frames_refused_total", "messages that are not OCPP-J frames",
         &c->frames_refused},
        {MST_METRIC_COUNTER, "outgoing_invalid_total",
         "answers of ours that broke their schema and were replaced by InternalError (a bug)", &c->outgoing_invalid},
        {MST_METRIC_COUNTER, "replies_invalid_total", "answers of charge points that broke their schema",
         &c->replies_invalid},
        {MST_METRIC_COUNTER, "replies_unexpected_total",
         "answers to no call we were waiting for (late after a timeout, or unknown ids)", &c->replies_unexpected},
        {MST_METRIC_COUNTER, "transactions_total", "transactions started", &c->transactions},
        {MST_METRIC_COUNTER, "transactions_unauthorized_total",
         "transactions started with an id tag that was not Accepted (kept, not billed)", &c->transactions_unauthorized},
        {MST_METRIC_COUNTER, "meter_values_total", "sampled values stored", &c->meter_values},
        {MST_METRIC_COUNTER, "publish_refused_total", "bus events not published (backpressure)",
         &c->publish_refused},
        {MST_METRIC_COUNTER, "meter_values_pruned_total", "meter values deleted by meter_retention_days",
         &c->meter_pruned},
    };
    if (rc == 0)
        rc = mst_metrics_register(h, c->inst, defs, sizeof defs / sizeof defs[0]);
    return rc;
}

static int import_config_stations(struct charging *c)
{
    char *json = c->host->config_json(c->inst, "stations");
    cJSON *list = cJSON_Parse(json ? json : "[]"), *j;
    c->host->free(json);
    int i = 0, rc = list ? 0 : MST_ENOMEM;
    cJSON_ArrayForEach(j, list)
    {
        const char *why = NULL;
        /* the config gives an absent object as {}: left out, the tariff set
         * over the API stays (a registration merges) */
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "tariff");
        if (cJSON_IsObject(t) && !t->child)
            cJSON_DeleteItemFromObjectCaseSensitive(j, "tariff");
        if ((rc = chg_station_register(c, j, &why)) != 0) {
            c->host->log(c->inst, MST_LOG_ERROR, "config stations[%d]: %s", i, why ? why : mst_strerror(rc));
            rc = MST_ECONFIG;
            break;
        }
        i++;
    }
    cJSON_Delete(list);
    return rc;
}

static int read_config(struct charging *c)
{
    const struct mst_host *h = c->host;
    h->config_int(c->inst, "heartbeat_interval_s", &c->heartbeat_s);
    h->config_int(c->inst, "grace_s", &c->grace_s);
    h->config_int(c->inst, "meter_retention_days", &c->meter_retention_days);
    h->config_int(c->inst, "ping_s", &c->ping_s);
    h->config_int(c->inst, "max_message", &c->max_message);
    h->config_int(c->inst, "call_timeout_s", &c->call_timeout_s);
    h->config_int(c->inst, "password_iterations", &c->iterations);
    h->config_int(c->inst, "auth_fail_limit", &c->auth_fail_limit);
    char *vendors = h->config_json(c->inst, "data_transfer_vendors");
    c->vendors = cJSON_Parse(vendors ? vendors : "[]");
    h->free(vendors);
    if (!c->vendors)
        return MST_ENOMEM;
    char *tariff = h->config_json(c->inst, "tariff");
    cJSON *t = tariff ? cJSON_Parse(tariff) : NULL;
    h->free(tariff);
    const char *why = NULL;
    chg_tariff_init(&c->tariff);
    int rc = t && chg_tariff_from_json(t, &c->tariff, &why) != 0 ? MST_ECONFIG : 0;
    if (rc)
        h->log(c->inst, MST_LOG_ERROR, "config tariff: %s", why);
    cJSON_Delete(t);
    return rc;
}

/* The WAL is checkpointed (and fsynced) from a worker, not by whichever
 * write on the loop crosses the auto-checkpoint size: under 2,000 messages/s
 * that fsync stalled every answer behind it by hundreds of milliseconds
 * (bench_charging's slowest answer of each second). */
static void checkpoint_work(void *arg)
{
    struct charging *c = arg;
    int64_t now = chg_wall_ms();
    /* meter_retention_days: an hour apart, on the same worker (pruned_ms is
     * the worker's: one checkpoint runs at a time) */
    if (c->meter_retention_days > 0 && now - c->pruned_ms >= 3600000) {
        c->pruned = chg_db_prune_meter(c->checkpoint_db, now - c->meter_retention_days * 86400000);
        c->pruned_ms = now;
    }
    sqlite3_wal_checkpoint_v2(c->checkpoint_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

static void checkpoint_done(void *arg, int status)
{
    struct charging *c = arg;
    (void)status;
    if (c->pruned > 0)
        c->host->metric_add(c->meter_pruned, (double)c->pruned);
    c->pruned = 0;
    c->checkpointing = 0;
}

static void checkpoint(void *arg)
{
    struct charging *c = arg;
    if (!c->checkpointing && c->host->queue_work(c->inst, checkpoint_work, checkpoint_done, c) == 0)
        c->checkpointing = 1;
}

/* The drivers' and the clerk's pages (www/, copied to the daemon's www
 * folder at build time) at /<instance>/; they read this instance's API. */
static int mount_pages(struct charging *c)
{
    const struct mst_host *h = c->host;
    int pages = 1;
    h->config_bool(c->inst, "pages", &pages);
    if (!pages)
        return 0;
    if (!MST_HOST_HAS(h, http_static)) {
        h->log(c->inst, MST_LOG_WARN, "this daemon cannot serve pages (no http_static): the API works without them");
        return 0;
    }
    int rc = h->http_static(c->inst, h->instance_name(c->inst), "charging", NULL);
    if (rc != 0)
        h->log(c->inst, MST_LOG_ERROR, "cannot serve the pages at /%s/: %s (%s)", h->instance_name(c->inst),
               mst_strerror(rc),
               rc == MST_ENOENT ? "the www/charging folder is missing: build the charging_www target, or install;"
                                  " or set \"pages\": false"
                                : "another mount took that prefix; or set \"pages\": false");
    return rc;
}

static void charging_fini(void *state);

static int charging_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    if (!MST_HOST_HAS(host, http_role))
        return MST_EABI; /* the handshake hook, ws_data and ws_endpoint_limits came before it */
    struct charging *c = calloc(1, sizeof *c);
    if (!c)
        return MST_ENOMEM;
    c->inst = inst;
    c->host = host;
    *state = c;
    char why[256] = "";
    int rc = read_config(c);
    if (rc == 0)
        rc = metrics(c);
    if (rc == 0 && (rc = chg_schemas_load(&c->schemas, why, sizeof why)) != 0)
        host->log(inst, MST_LOG_ERROR, "the OCPP 1.6 schemas did not load: %s", why);
    if (rc == 0)
        rc = host->db_open(inst, "charging.sqlite", chg_migrations, &c->db);
    if (rc == 0) {
        sqlite3_exec(c->db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL);
        rc = host->db_open(inst, "charging.sqlite", chg_migrations, &c->checkpoint_db);
    }
    /* the uptime log keeps 400 days: a year's figures and their comparison */
    if (rc == 0) {
        char cutoff[32];
        snprintf(cutoff, sizeof cutoff, "%lld", (long long)(chg_wall_ms() - 400LL * 86400000));
        chg_db_exec1(c, "DELETE FROM connector_log WHERE at_ms < CAST(?1 AS INTEGER)", cutoff);
    }
    if (rc == 0 && (rc = chg_db_load_stations(c)) != 0)
        host->log(inst, MST_LOG_ERROR, "stations could not be read: %s", sqlite3_errmsg(c->db));
    if (rc == 0)
        rc = import_config_stations(c);
    if (rc == 0)
        rc = chg_bookings_init(c);
    if (rc == 0)
        rc = chg_load_open_sessions(c);
    if (rc == 0)
        rc = chg_sites_init(c);
    if (rc == 0)
        rc = host->ws_endpoint(inst, "ocpp/*", "ocpp1.6", MST_ROLE_PUBLIC, &chg_ws_handlers, c);
    if (rc == 0)
        rc = host->ws_endpoint_limits(inst, "ocpp/*", (size_t)c->max_message, (unsigned)c->ping_s);
    if (rc == 0)
        rc = chg_api_routes(c);
    if (rc == 0)
        rc = mount_pages(c);
    if (rc != 0) {
        charging_fini(c);
        *state = NULL;
        return rc;
    }
    return 0;
}

static int charging_start(void *state)
{
    struct charging *c = state;
    size_t n = 0;
    for (struct chg_station *st = c->stations; st; st = st->next)
        n++;
    c->host->log(c->inst, MST_LOG_INFO, "OCPP 1.6J central system at /api/%s/ocpp/<charge point id>, %zu station(s)"
                 " registered", c->host->instance_name(c->inst), n);
    int rc = chg_sites_start(c);
    if (rc == 0)
        rc = c->host->timer_start(c->inst, 1000, 1000, checkpoint, c, &c->checkpoint_timer);
    if (rc == 0)
        rc = chg_bookings_start(c);
    if (rc == 0)
        rc = chg_figures_start(c);
    return rc == 0 ? chg_reservations_start(c) : rc;
}

static void charging_stop(void *state)
{
    struct charging *c = state;
    c->stopping = 1;
    chg_conn_close_all(c);
}

static void charging_fini(void *state)
{
    struct charging *c = state;
    if (!c)
        return;
    chg_conn_free_all(c);
    chg_sites_free(c);
    chg_bookings_free(c->bookings);
    while (c->stations) {
        struct chg_station *st = c->stations;
        c->stations = st->next;
        chg_station_free(st);
    }
    chg_db_close(c);
    if (c->checkpoint_db) {
        sqlite3_wal_checkpoint_v2(c->checkpoint_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        sqlite3_close(c->checkpoint_db);
    }
    chg_schemas_free(c->schemas);
    cJSON_Delete(c->vendors);
    free(c);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "charging",
    .version = "0.1.0",
    .description = "EV charging: OCPP 1.6J central system for the town's charge points",
    .config = config,
    .publishes = publishes,
    .init = charging_init,
    .start = charging_start,
    .stop = charging_stop,
    .fini = charging_fini,
};
