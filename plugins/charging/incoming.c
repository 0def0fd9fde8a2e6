/* incoming.c - what a charge point sends (OCPP 1.6 Core, Firmware
 * Management): each CALL checked against its .req schema, handled, and
 * answered with a .conf that conn.c checks again before sending.
 *
 * A station the operator has not accepted yet is answered Pending at
 * BootNotification; until it is accepted, only BootNotification and
 * Heartbeat are served and anything else gets SecurityError (OCPP 1.6
 * §4.2: a Pending charge point sends nothing else). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charging.h"

typedef enum chg_ocpp_err (*handler_fn)(struct chg_conn *cc, const cJSON *req, cJSON *conf, char *why,
                                        size_t whylen);

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Schema-checked integers fit an int64; a missing one is dflt. */
static int64_t num(const cJSON *o, const char *key, int64_t dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && fabs(v->valuedouble) < 9e15 ? (int64_t)v->valuedouble
                                                                                           : dflt;
}

static int add_now(cJSON *conf)
{
    char now[32];
    mst_time_format(chg_wall_ms(), now);
    return cJSON_AddStringToObject(conf, "currentTime", now) != NULL;
}

/* A time the charge point sent, in ms; its own clock can be off, but it is
 * what it says; a time we cannot read is taken as now. */
static int64_t time_of(const char *iso)
{
    int64_t ms;
    return iso && mst_time_parse(iso, &ms) == 0 ? ms : chg_wall_ms();
}

void chg_publish(struct charging *c, const char *topic, cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    int rc = text ? c->host->publish(c->inst, topic, text, strlen(text)) : MST_ENOMEM;
    if (rc != 0) {
        c->host->metric_add(c->publish_refused, 1);
        if (!(c->logged & (1u << CHG_LOG_PUBLISH))) {
            c->logged |= 1u << CHG_LOG_PUBLISH;
            c->host->log(c->inst, MST_LOG_WARN, "%s not published: %s (further ones are only counted)", topic,
                         mst_strerror(rc));
        }
    }
    cJSON_free(text);
    cJSON_Delete(body);
}

static cJSON *event(const char *kind, const struct chg_station *st, int connector)
{
    cJSON *o = cJSON_CreateObject();
    if (o && kind)
        cJSON_AddStringToObject(o, "event", kind);
    if (o) {
        cJSON_AddStringToObject(o, "station", st->id);
        cJSON_AddNumberToObject(o, "connector", connector);
    }
    return o;
}

static int set_text(char **slot, const char *v)
{
    char *copy = v ? strdup(v) : NULL;
    if (v && !copy)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* --- Core ------------------------------------------------------------------ */

/* Vendor and model are required by the schema; the firmware is not, and
 * is left out when the charger sends none.  A Pending boot says what the
 * operator does next. */
static void log_boot(struct charging *c, const struct chg_station *st)
{
    char firmware[96] = "";
    if (st->firmware)
        snprintf(firmware, sizeof firmware, ", firmware %.80s", st->firmware);
    if (st->accepted)
        c->host->log(c->inst, MST_LOG_INFO, "charge point %s booted (%s %s%s): Accepted", st->id, st->vendor,
                     st->model, firmware);
    else
        c->host->log(c->inst, MST_LOG_INFO,
                     "charge point %s booted (%s %s%s): Pending; accept it with POST /api/%s/stations/%s/accept",
                     st->id, st->vendor, st->model, firmware, c->host->instance_name(c->inst), st->id);
}

static enum chg_ocpp_err boot_notification(struct chg_conn *cc, const cJSON *req, cJSON *conf, char *why,
                                           size_t whylen)
{
    struct charging *c = cc->c;
    struct chg_station *st = cc->st;
    if (set_text(&st->vendor, str(req, "chargePointVendor")) || set_text(&st->model, str(req, "chargePointModel")) ||
        set_text(&st->serial, str(req, "chargePointSerialNumber")) ||
        set_text(&st->firmware, str(req, "firmwareVersion")) || chg_db_save_station(c, st) != 0) {
        snprintf(why, whylen, "the boot could not be recorded");
        return CHG_OCPP_INTERNAL_ERROR;
    }
    const char *status = st->accepted ? "Accepted" : "Pending";
    if (!cJSON_AddStringToObject(conf, "status", status) || !add_now(conf) ||
        !cJSON_AddNumberToObject(conf, "interval", (double)c->heartbeat_s))
        return CHG_OCPP_INTERNAL_ERROR;
    if (st->accepted) {
        st->booted = 1;
        cc->booted_now = 1;
    }
    log_boot(c, st);
    return CHG_OCPP_OK;
}

static enum chg_ocpp_err heartbeat(struct chg_conn *cc, const cJSON *req, cJSON *conf, char *why, size_t whylen)
{
    return add_now(conf) ? CHG_OCPP_OK : CHG_OCPP_INTERNAL_ERROR;
}

static enum chg_ocpp_err status_notification(struct chg_conn *cc, const cJSON *req, cJSON *conf, char *why,
                                             size_t whylen)
{
    struct charging *c = cc->c;
    struct chg_station *st = cc->st;
    int64_t n = num(req, "connectorId", 0);
    if (n < 0 || n > CHG_MAX_CONNECTORS) {
        /* answered (the station did nothing wrong), not kept */
        if (!(c->logged & (1u << CHG_LOG_CONNECTOR))) {
            c->logged |= 1u << CHG_LOG_CONNECTOR;
            c->host->log(c->inst, MST_LOG_WARN, "charge point %s reported connector %lld: only 0..%d are kept", st->id,
                         (long long)n, CHG_MAX_CONNECTORS);
        }
        return CHG_OCPP_OK;
    }
    struct chg_connector *k = &st->connectors[n];
    snprintf(k->status, sizeof k->status, "%s", str(req, "status"));
    snprintf(k->error_code, sizeof k->error_code, "%s", str(req, "errorCode"));
    k->updated_ms = time_of(str(req, "timestamp"));
    if (n > st->n_connectors)
        st->n_connectors = (int)n;
    /* uptime counts from when we heard it: a station's own clock may be off */
    chg_figures_log(c, st->id, (int)n, k->status, chg_wall_ms());
    if (chg_db_save_connector(c, st, (int)n) != 0) {
        snprintf(why, whylen, "the status could not be recorded");
        return CHG_OCPP_INTERNAL_ERROR;
    }
    cJSON *e = event(NULL, st, (int)n);
    char when[32];
    mst_time_format(k->updated_ms, when);
    if (e && (!cJSON_AddStringToObject(e, "status", k->status) ||
              !cJSON_AddStringToObject(e, "error_code", k->error_code) || !cJSON_AddStringToObject(e, "time", when) ||
              chg_figures_describe(st, (int)n, e) != 0)) {
        cJSON_Delete(e);
        e = NULL;
    }
    chg_publish(c, "charging/status", e);
    chg_load_changed(c, st);
    return CHG_OCPP_OK;
}

static enum chg_ocpp_err authorize(struct chg_conn *cc, const cJSON *req, cJSON *conf, char *why, size_t whylen)
{
    cJSON *info = chg_idtag_info_at(cc->c, cc->st, 0, str(req, "idTag"), 1);
    return info && cJSON_AddItemToObject(conf, "idTagInfo", info) ? CHG_OCPP_OK : CHG_OCPP_INTERNAL_ERROR;
}

static enum chg_ocpp_err start_transaction(struct chg_conn *cc, const cJSON *req, cJSON *conf, char *why,
                                           size_t whylen)
{
    struct charging *c = cc->c;
    struct chg_start s = {.station = cc->st->id, .id_tag = str(req, "idTag"), .timestamp = str(req, "timestamp"),
                          .connector = (int)num(req, "connectorId", 0), .meter_start = num(req, "meterStart", 0),
                          .reservation_id = num(req, "reservationId", 0),
                          .has_reservation = cJSON_HasObjectItem(req, "reservationId")};
    s.start_ms = time_of(s.timestamp);
    int64_t txn;
    int existed;
    /* the tag is judged before the session exists: its own session is no ConcurrentTx */
    cJSON *info = chg_idtag_info_at(c, cc->st, s.connector, s.id_tag, 1);
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(info, "status"));
    /* OCPP 1.6 §5.18: a start the station made on its own (offline, local
     * list) is answered with a transactionId whatever the tag; a tag that
     * is not Accepted marks the session unauthorized: kept, but no power
     * share (its TxDefaultProfile of 0 W holds), no cost, no figures.  The
     * station is expected to stop it (StopTransactionOnInvalidId). */
    s.unauthorized = !status || strcmp(status, "Accepted") != 0;
    if (!info || chg_session_start(c, &s, &txn, &existed) != 0 || txn > INT32_MAX) {
        cJSON_Delete(info);
        snprintf(why, whylen, "the transaction could not be recorded");
        return CHG_OCPP_INTERNAL_ERROR;
    }
    if (existed) { /* a start sent again: the same answer as the first time */
        cJSON_Delete(info);
        info = chg_idtag_info_at(c, cc->st, s.connector, s.id_tag, 0);
    }
    if (!info || !cJSON_AddItemToObject(conf, "idTagInfo", info) ||
        !cJSON_AddNumberToObject(conf, "transactionId", (double)txn))
        return CHG_OCPP_INTERNAL_ERROR;
    if (!existed && !s.unauthorized && s.connector >= 1 && s.connector <= CHG_MAX_CONNECTORS) {
        struct chg_connector *k = &cc->st->connectors[s.connector];
        k->txn = txn;
        k->started_ms = s.start_ms;
        const char *booked;
        k->priority = chg_load_priority(c, s.id_tag, chg_bookings_judge(c, cc->st, s.connector, s.id_tag, &booked) > 0);
        k->meter_w = -1;
        k->energy_wh = 0;
        k->sent_w = 0; /* the TxDefaultProfile holds until its share is sent */
        k->held = 0;
        if (s.connector > cc->st->n_connectors)
            cc->st->n_connectors = s.connector;
    }
    if (!existed && s.has_reservation)
        chg_reservation_used(c, cc->st->id, s.reservation_id);
    if (!existed) {
        c->host->metric_add(s.unauthorized ? c->transactions_unauthorized : c->transactions, 1);
        cJSON *e = event("start", cc->st, s.connector);
        char when[32];
        mst_time_format(s.start_ms, when);
        if (e) {
            cJSON_AddNumberToObject(e, "transaction", (double)txn);
            cJSON_AddBoolToObject(e, "authorized", !s.unauthorized);
            cJSON_AddNumberToObject(e, "meter_wh", (double)s.meter_start);
            cJSON_AddStringToObject(e, "time", when);
        }
        chg_publish(c, "charging/session", e);
        chg_load_changed(c, cc->st);
    }
    return CHG_OCPP_OK;
}

/* A sampled value's number in Wh, W or as sent; -1 if it is not a number
 * (SignedData, or text). */
static int sample_value(const cJSON *sv, double *out, const char **unit)
{
    const char *text = str(sv, "value"), *format = str(sv, "format");
    if (!text || (format && strcmp(format, "Raw") != 0))
        return -1;
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v))
        return -1;
    *unit = str(sv, "unit") ? str(sv, "unit") : "Wh";
    if (strcmp(*unit, "kWh") == 0 || strcmp(*unit, "kW") == 0) {
        v *= 1000;
        *unit = (*unit)[1] == 'W' && (*unit)[2] == 'h' ? "Wh" : "W";
    }
    *out = v;
    return 0;
}

/* Stores every numeric sample of a meterValue array; the last energy
 * register and power readings go to *wh and *w (NAN if none). */
static int store_samples(struct charging *c, const char *station, int connector, int64_t txn, const cJSON *values,
                         double *wh, double *w, int64_t *last_ms)
{
    const cJSON *mv, *sv;
    *wh = *w = NAN;
    cJSON_ArrayForEach(mv, values)
    {
        int64_t t = time_of(str(mv, "timestamp"));
        *last_ms = t;
        cJSON_ArrayForEach(sv, cJSON_GetObjectItemCaseSensitive(mv, "sampledValue"))
        {
            struct chg_sample m = {.txn = txn, .station = station, .connector = connector, .time_ms = t,
                                   .measurand = str(sv, "measurand") ? str(sv, "measurand")
                                                                     : "Energy.Active.Import.Register",
                                   .phase = str(sv, "phase"), .context = str(sv, "context")};
            if (sample_value(sv, &m.value, &m.unit) != 0)
                continue;
            if (chg_session_meter(c, &m) != 0)
                return MST_EDB;
            c->host->metric_add(c->meter_values, 1);
            if (!m.phase && strcmp(m.measurand, "Energy.Active.Import.Register") == 0)
                *wh = m.value;
            else if (!m.phase && strcmp(m.measurand, "Power.Active.Import") == 0)
                *w = m.value;
        }
    }
    return 0;
}

/* The session a transactionId names for this station, or 0 (counted and
 * logged once: a station may report a transaction we never saw start). */
static int64_t known_txn(struct charging *c, const struct chg_station *st, int64_t txn, struct chg_session *s)
{
    if (txn <= 0 || chg_session_find(c, st->id, txn, s) != 0) {
        if (txn > 0 && !(c->logged & (1u << CHG_LOG_UNKNOWN_TXN))) {
            c->logged |= 1u << CHG_LOG_UNKNOWN_TXN;
            c->host->log(c->inst, MST_LOG_WARN, "charge point %s named transaction %lld, which it never started here"
                         " (kept without a session; further ones are not logged)", st->id, (long long)txn);
        }
        return 0;
    }
    return txn;
}

static enum chg_ocpp_err meter_values(struct chg_conn *cc, const cJSON *req, cJSON *conf, char *why, size_t whylen)
{
    struct charging *c = cc->c;
    struct chg_session s;
    int connector = (int)num(req, "connectorId", 0);
    int64_t txn = known_txn(c, cc->st, num(req, "transactionId", 0), &s), t = chg_wall_ms();
    double wh, w;
    sqlite3_exec(c->db, "SAVEPOINT mv", NULL, NULL, NULL);
    int rc = store_samples(c, cc->st->id, connector, txn, cJSON_GetObjectItemCaseSensitive(req, "meterValue"), &wh,
                           &w, &t);
    sqlite3_exec(c->db, rc == 0 ? "RELEASE mv" : "ROLLBACK TO mv; RELEASE mv", NULL, NULL, NULL);
    if (rc != 0) {
        snprintf(why, whylen, "the meter values could not be recorded");
        return CHG_OCPP_INTERNAL_ERROR;
    }
    if (txn && connector >= 1 && connector <= CHG_MAX_CONNECTORS && cc->st->connectors[connector].txn == txn) {
        struct chg_connector *k = &cc->st->connectors[connector];
        if (!isnan(w))
            k->meter_w = w;
        if (!isnan(wh))
            k->energy_wh = wh - (double)s.meter_start;
    }
    cJSON *e = event("meter", cc->st, connector);
    char when[32];
    mst_time_format(t, when);
    if (e) {
        if (txn)
            cJSON_AddNumberToObject(e, "transaction", (double)txn);
        if (!isnan(wh))
            cJSON_AddNumberToObject(e, "meter_wh", wh);
        if (!isnan(w))
            cJSON_AddNumberToObject(e, "power_w", w);
        cJSON_AddStringToObject(e, "time", when);
    }
    chg_publish(c, "charging/session", e);
    return CHG_OCPP_OK;
}

static enum chg_ocpp_err stop_transaction(struct chg_conn *cc, const cJSON *req, cJSON *conf, char *why,
                                          size_t whylen)
{
    struct charging *c = cc->c;
    struct chg_session s;
    const char *tag = str(req, "idTag");
    struct chg_stop stop = {.station = cc->st->id, .timestamp = str(req, "timestamp"),
                            .reason = str(req, "reason") ? str(req, "reason") : "Local", .id_tag = tag,
                            .meter_stop = num(req, "meterStop", 0)};
    stop.stop_ms = time_of(stop.timestamp);
    stop.txn = known_txn(c, cc->st, num(req, "transactionId", 0), &s);
    double wh, w;
    int64_t t;
    sqlite3_exec(c->db, "SAVEPOINT stop", NULL, NULL, NULL);
    int rc = store_samples(c, cc->st->id, stop.txn ? s.connector : 0, stop.txn,
                           cJSON_GetObjectItemCaseSensitive(req, "transactionData"), &wh, &w, &t);
    /* a stop sent again stores its transactionData again: only its first copy counts */
    if (stop.txn && s.stopped)
        sqlite3_exec(c->db, "ROLLBACK TO stop", NULL, NULL, NULL);
    else if (rc == 0 && stop.txn)
        rc = chg_session_stop(c, &stop, &cc->st->tariff);
    sqlite3_exec(c->db, rc == 0 ? "RELEASE stop" : "ROLLBACK TO stop; RELEASE stop", NULL, NULL, NULL);
    if (rc != 0) {
        snprintf(why, whylen, "the stop could not be recorded");
        return CHG_OCPP_INTERNAL_ERROR;
    }
    if (tag) {
        cJSON *info = chg_idtag_info(c, tag, 0);
        if (!info || !cJSON_AddItemToObject(conf, "idTagInfo", info))
            return CHG_OCPP_INTERNAL_ERROR;
    }
    if (stop.txn && !s.stopped) {
        cJSON *e = event("stop", cc->st, s.connector);
        char when[32];
        mst_time_format(stop.stop_ms, when);
        if (e) {
            cJSON_AddNumberToObject(e, "transaction", (double)stop.txn);
            cJSON_AddNumberToObject(e, "meter_wh", (double)stop.meter_stop);
            cJSON_AddNumberToObject(e, "energy_wh", (double)(stop.meter_stop - s.meter_start));
            cJSON_AddNumberToObject(e, "duration_s", stop.stop_ms > s.start_ms ? (stop.stop_ms - s.start_ms) / 1000 : 0);
            cJSON_AddStringToObject(e, "reason", stop.reason);
            cJSON_AddStringToObject(e, "time", when);
        }
        chg_publish(c, "charging/session", e);
        struct chg_connector *k =
            s.connector >= 1 && s.connector <= CHG_MAX_CONNECTORS ? &cc->st->connectors[s.connector] : NULL;
        if (k && k->txn == stop.txn) {
            k->txn = 0;
            k->sent_w = 0; /* its TxProfile ended with it */
            k->held = 0;
            chg_load_changed(c, cc->st);
        }
    }
    return CHG_OCPP_OK;
}

static enum chg_ocpp_err data_transfer(struct chg_conn *cc, const cJSON *req, cJSON *conf, char *why, size_t whylen)
{
    const char *vendor = str(req, "vendorId");
    const cJSON *v;
    int known = 0;
    cJSON_ArrayForEach(v, cc->c->vendors) known |= cJSON_IsString(v) && strcmp(v->valuestring, vendor) == 0;
    return cJSON_AddStringToObject(conf, "status", known ? "Accepted" : "UnknownVendorId") ? CHG_OCPP_OK
                                                                                             : CHG_OCPP_INTERNAL_ERROR;
}

/* Firmware and diagnostics progress: logged, answered {}. */
static enum chg_ocpp_err status_report(struct chg_conn *cc, const cJSON *req, cJSON *conf, char *why, size_t whylen)
{
    cc->c->host->log(cc->c->inst, MST_LOG_INFO, "charge point %s reports %s", cc->st->id, str(req, "status"));
    return CHG_OCPP_OK;
}

static const struct {
    const char *action;
    handler_fn fn;
    int before_accept; /* served while the station is not accepted */
} handlers[] = {
    {"BootNotification", boot_notification, 1},
    {"Heartbeat", heartbeat, 1},
    {"StatusNotification", status_notification, 0},
    {"Authorize", authorize, 0},
    {"StartTransaction", start_transaction, 0},
    {"MeterValues", meter_values, 0},
    {"StopTransaction", stop_transaction, 0},
    {"DataTransfer", data_transfer, 0},
    {"FirmwareStatusNotification", status_report, 0},
    {"DiagnosticsStatusNotification", status_report, 0},
};

enum chg_ocpp_err chg_incoming(struct chg_conn *cc, const struct chg_frame *f, cJSON **conf, char *why,
                               size_t whylen)
{
    struct charging *c = cc->c;
    size_t i, n = sizeof handlers / sizeof handlers[0];
    for (i = 0; i < n && strcmp(handlers[i].action, f->action) != 0; i++)
        ;
    /* known to OCPP 1.6 but sent the wrong way (e.g. Reset from a charge point) */
    enum chg_ocpp_err e = chg_schema_check(c->schemas, f->action, 0, f->payload, why, whylen);
    if (e == CHG_OCPP_NOT_IMPLEMENTED)
        return e;
    if (i == n) {
        snprintf(why, whylen, "%s is sent by a central system, not to it", f->action);
        return CHG_OCPP_NOT_SUPPORTED;
    }
    if (e != CHG_OCPP_OK)
        return e;
    if (!cc->st->accepted && !handlers[i].before_accept) {
        snprintf(why, whylen, "charge point %s is not accepted by the operator yet", cc->st->id);
        return CHG_OCPP_SECURITY_ERROR;
    }
    if (!(*conf = cJSON_CreateObject()))
        return CHG_OCPP_INTERNAL_ERROR;
    e = handlers[i].fn(cc, f->payload, *conf, why, whylen);
    if (e == CHG_OCPP_INTERNAL_ERROR && !why[0])
        snprintf(why, whylen, "out of memory");
    return e;
}

/* After an accepted boot: the connector states the station has now (what
 * we kept may be from before a reconnect or a restart of ours). */
static void trigger_done(void *arg, const struct chg_reply *r)
{
    (void)arg, (void)r; /* the StatusNotifications it triggers say the rest */
}

void chg_after_boot(struct chg_conn *cc)
{
    struct charging *c = cc->c;
    cJSON *p = cJSON_CreateObject();
    char why[200];
    if (p && cJSON_AddStringToObject(p, "requestedMessage", "StatusNotification") &&
        chg_call(c, cc->st, "TriggerMessage", p, trigger_done, NULL, why, sizeof why) != 0)
        c->host->log(c->inst, MST_LOG_WARN, "TriggerMessage to %s not sent: %s", cc->st->id, why);
    cJSON_Delete(p);
    chg_load_boot(c, cc->st);
}
