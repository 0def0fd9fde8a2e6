/* tariff.c - prices as integer minor units, read from config and meter
 * values, and the cost of a finished session rounded once. */
#include "tariff.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>
#include <mestys/time.h>

#define TARIFF_MAX_PRICE 1000000 /* major units: a million crowns a kWh is a typo */
#define TARIFF_MAX_WH 1e12       /* a terawatt-hour: no charge point's register */

void chg_tariff_init(struct chg_tariff *t)
{
    memset(t, 0, sizeof *t);
    t->minutes = CHG_MINUTES_PLUGGED;
    t->vat_bp = 2100;
    memcpy(t->currency, "CZK", 4);
}

/* "12", "12.5", "12.50": hundredths, no sign, no exponent, at most two
 * decimals; what a person types is taken digit by digit, never via a float. */
static int tariff_decimal_text(const char *s, int64_t max, int64_t *out)
{
    int64_t whole = 0, frac = 0;
    int digits = 0, decimals = 0;
    for (; isdigit((unsigned char)*s); s++, digits++) {
        whole = whole * 10 + (*s - '0');
        if (whole > max)
            return -1;
    }
    if (*s == '.') {
        for (s++; isdigit((unsigned char)*s); s++, decimals++) {
            if (decimals == 2)
                return -1;
            frac = frac * 10 + (*s - '0');
        }
        if (decimals == 0)
            return -1;
    }
    if (*s || digits == 0)
        return -1;
    *out = whole * 100 + (decimals == 1 ? frac * 10 : frac);
    return *out <= max * 100 ? 0 : -1;
}

/* A JSON number: hundredths only if it is one to within float noise
 * (7.9 is 7.9000000000000004 as a double). */
static int tariff_decimal_number(double v, int64_t max, int64_t *out)
{
    if (!(v >= 0 && v <= (double)max))
        return -1;
    double h = v * 100;
    int64_t r = (int64_t)llround(h);
    if (fabs(h - (double)r) > 1e-6)
        return -1;
    *out = r;
    return 0;
}

static int tariff_decimal(const cJSON *value, int64_t max, int64_t *out)
{
    if (cJSON_IsNumber(value))
        return tariff_decimal_number(value->valuedouble, max, out);
    if (cJSON_IsString(value))
        return tariff_decimal_text(value->valuestring, max, out);
    return -1;
}

int chg_money_parse(const cJSON *value, int64_t *out, const char **why)
{
    if (tariff_decimal(value, TARIFF_MAX_PRICE, out) < 0) {
        *why = "a price is a number of at most two decimals from 0 to 1000000 (7.90 or \"7.90\")";
        return MST_EINVAL;
    }
    return 0;
}

int chg_vat_parse(const cJSON *value, int *out_bp, const char **why)
{
    int64_t bp;
    if (tariff_decimal(value, 100, &bp) < 0) {
        *why = "vat is a percentage of at most two decimals from 0 to 100 (21 or 10.5)";
        return MST_EINVAL;
    }
    *out_bp = (int)bp;
    return 0;
}

static int tariff_currency(const cJSON *value, char out[4])
{
    const char *s = cJSON_GetStringValue(value);
    if (!s || strlen(s) != 3)
        return -1;
    for (int i = 0; i < 3; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return -1;
    memcpy(out, s, 4);
    return 0;
}

static int tariff_minutes(const cJSON *value, enum chg_tariff_minutes *out)
{
    const char *s = cJSON_GetStringValue(value);
    if (s && strcmp(s, "plugged") == 0)
        *out = CHG_MINUTES_PLUGGED;
    else if (s && strcmp(s, "charging") == 0)
        *out = CHG_MINUTES_CHARGING;
    else
        return -1;
    return 0;
}

int chg_tariff_from_json(const cJSON *obj, struct chg_tariff *t, const char **why)
{
    if (!cJSON_IsObject(obj)) {
        *why = "a tariff is an object";
        return MST_EINVAL;
    }
    struct chg_tariff n = *t;
    for (const cJSON *kv = obj->child; kv; kv = kv->next) {
        const char *k = kv->string;
        int rc = 0;
        if (strcmp(k, "per_kwh") == 0)
            rc = chg_money_parse(kv, &n.per_kwh, why);
        else if (strcmp(k, "per_minute") == 0)
            rc = chg_money_parse(kv, &n.per_minute, why);
        else if (strcmp(k, "per_session") == 0)
            rc = chg_money_parse(kv, &n.per_session, why);
        else if (strcmp(k, "vat") == 0)
            rc = chg_vat_parse(kv, &n.vat_bp, why);
        else if (strcmp(k, "currency") == 0 && tariff_currency(kv, n.currency) < 0)
            *why = "currency is an ISO 4217 code (\"CZK\", \"EUR\")", rc = MST_EINVAL;
        else if (strcmp(k, "minutes") == 0 && tariff_minutes(kv, &n.minutes) < 0)
            *why = "minutes is \"plugged\" or \"charging\"", rc = MST_EINVAL;
        else if (strcmp(k, "currency") != 0 && strcmp(k, "minutes") != 0)
            *why = "unknown tariff key (valid: currency, per_kwh, per_minute, minutes, per_session, vat)",
            rc = MST_EINVAL;
        if (rc < 0)
            return rc;
    }
    *t = n;
    return 0;
}

void chg_money_format(int64_t minor, char *buf, size_t len)
{
    unsigned long long u = minor < 0 ? 0ull - (unsigned long long)minor : (unsigned long long)minor;
    snprintf(buf, len, "%s%llu.%02llu", minor < 0 ? "-" : "", u / 100, u % 100);
}

/* 2100 -> "21", 1050 -> "10.5", 1025 -> "10.25" */
static void tariff_vat_format(int bp, char buf[16])
{
    if (bp % 100 == 0)
        snprintf(buf, 16, "%d", bp / 100);
    else if (bp % 10 == 0)
        snprintf(buf, 16, "%d.%d", bp / 100, bp % 100 / 10);
    else
        snprintf(buf, 16, "%d.%02d", bp / 100, bp % 100);
}

int chg_tariff_text(const struct chg_tariff *t, char *buf, size_t len)
{
    char kwh[24], min[24], ses[24], vat[16];
    chg_money_format(t->per_kwh, kwh, sizeof kwh);
    chg_money_format(t->per_minute, min, sizeof min);
    chg_money_format(t->per_session, ses, sizeof ses);
    tariff_vat_format(t->vat_bp, vat);
    if (!t->per_kwh && !t->per_minute && !t->per_session)
        return snprintf(buf, len, "free of charge");
    const char *cur = t->currency, *sep = "";
    char parts[3][64];
    int k = 0;
    if (t->per_kwh)
        snprintf(parts[k++], sizeof parts[0], "%s %s/kWh", kwh, cur);
    if (t->per_minute)
        snprintf(parts[k++], sizeof parts[0], "%s %s/min %s", min, cur,
                 t->minutes == CHG_MINUTES_CHARGING ? "charging" : "plugged in");
    if (t->per_session)
        snprintf(parts[k++], sizeof parts[0], "%s %s/session", ses, cur);
    /* built whole in a buffer that always holds it, then copied: snprintf's truncation and return value */
    char whole[256];
    int n = 0;
    for (int i = 0; i < k; i++, sep = " + ")
        n += snprintf(whole + n, sizeof whole - (size_t)n, "%s%s", sep, parts[i]);
    snprintf(whole + n, sizeof whole - (size_t)n, ", incl. %s %% VAT", vat);
    return snprintf(buf, len, "%s", whole);
}

static int tariff_json_money(cJSON *obj, const char *key, int64_t minor)
{
    char s[24];
    chg_money_format(minor, s, sizeof s);
    return cJSON_AddStringToObject(obj, key, s) != NULL;
}

cJSON *chg_tariff_json(const struct chg_tariff *t)
{
    char text[256];
    chg_tariff_text(t, text, sizeof text);
    cJSON *o = cJSON_CreateObject();
    if (!cJSON_AddStringToObject(o, "currency", t->currency) || !tariff_json_money(o, "per_kwh", t->per_kwh) ||
        !tariff_json_money(o, "per_minute", t->per_minute) ||
        !cJSON_AddStringToObject(o, "minutes", t->minutes == CHG_MINUTES_CHARGING ? "charging" : "plugged") ||
        !tariff_json_money(o, "per_session", t->per_session) ||
        !cJSON_AddNumberToObject(o, "vat_percent", t->vat_bp / 100.0) || !cJSON_AddStringToObject(o, "text", text)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* An OCPP sampledValue's value in Wh: a decimal string (strtod, but never
 * "inf", "nan", hex or an empty string), Wh or kWh. */
static int tariff_sample_wh(const char *value, const char *unit, int64_t *wh)
{
    if (!value || !*value || strspn(value, "0123456789.eE+-") != strlen(value))
        return -1;
    char *end;
    double v = strtod(value, &end);
    if (*end)
        return -1;
    if (unit && strcmp(unit, "kWh") == 0)
        v *= 1000;
    else if (unit && strcmp(unit, "Wh") != 0)
        return 1; /* a register in another unit: not energy */
    if (!(v >= 0 && v <= TARIFF_MAX_WH))
        return -1;
    *wh = (int64_t)llround(v);
    return 0;
}

/* The sampledValues of one MeterValue that are the energy register's total. */
static int tariff_meter_value(const cJSON *mv, struct chg_meter_sample *out, size_t max, size_t *n,
                              const char **why)
{
    int64_t t;
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(mv, "sampledValue");
    if (mst_time_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(mv, "timestamp")), &t) < 0) {
        *why = "a meterValue's timestamp is not an ISO 8601 time";
        return MST_EINVAL;
    }
    if (!cJSON_IsArray(sv)) {
        *why = "a meterValue has no sampledValue array";
        return MST_EINVAL;
    }
    for (const cJSON *s = sv->child; s; s = s->next) {
        const char *measurand = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "measurand"));
        const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "format"));
        if ((measurand && strcmp(measurand, "Energy.Active.Import.Register") != 0) ||
            cJSON_GetObjectItemCaseSensitive(s, "phase") || (format && strcmp(format, "Raw") != 0))
            continue;
        int64_t wh;
        int rc = tariff_sample_wh(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "value")),
                                  cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "unit")), &wh);
        if (rc < 0) {
            *why = "an energy register value is not a number of Wh or kWh from 0 to 10^12 Wh";
            return MST_EINVAL;
        }
        if (rc == 0 && *n < max)
            out[(*n)++] = (struct chg_meter_sample){.t_ms = t, .wh = wh};
    }
    return 0;
}

int chg_meter_samples(const cJSON *meter_values, struct chg_meter_sample *out, size_t max, size_t *n,
                      const char **why)
{
    *n = 0;
    if (!cJSON_IsArray(meter_values)) {
        *why = "meter values are an array";
        return MST_EINVAL;
    }
    for (const cJSON *mv = meter_values->child; mv; mv = mv->next) {
        int rc = tariff_meter_value(mv, out, max, n, why);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Walks meterStart, the samples in time order (one earlier than the last
 * kept is skipped), then meterStop if there is one, summing the rises and
 * the time they took. */
static void tariff_walk(const struct chg_session_usage *u, int64_t *rise_wh, int64_t *rise_ms)
{
    int64_t t = u->start_ms, wh = u->meter_start_wh;
    *rise_wh = *rise_ms = 0;
    for (size_t i = 0; i <= u->n_samples; i++) {
        struct chg_meter_sample s = {u->stop_ms, u->meter_stop_wh};
        if (i < u->n_samples)
            s = u->samples[i];
        else if (u->meter_stop_wh < 0)
            break;
        if (s.t_ms < t || s.t_ms > u->stop_ms)
            continue;
        if (s.wh > wh && wh >= 0) {
            *rise_wh += s.wh - wh;
            *rise_ms += s.t_ms - t;
        }
        t = s.t_ms;
        wh = s.wh;
    }
}

int64_t chg_session_energy_wh(const struct chg_session_usage *u)
{
    if (u->meter_start_wh >= 0 && u->meter_stop_wh >= u->meter_start_wh)
        return u->meter_stop_wh - u->meter_start_wh;
    int64_t wh, ms;
    tariff_walk(u, &wh, &ms);
    return wh;
}

int64_t chg_session_charging_ms(const struct chg_session_usage *u)
{
    int64_t wh, ms;
    tariff_walk(u, &wh, &ms);
    return ms;
}

int chg_tariff_cost(const struct chg_tariff *t, const struct chg_session_usage *u, struct chg_cost *out)
{
    memset(out, 0, sizeof *out);
    const int64_t max = TARIFF_MAX_PRICE * 100;
    if (u->start_ms < MST_TIME_MIN_MS || u->stop_ms > MST_TIME_MAX_MS || u->stop_ms < u->start_ms ||
        t->per_kwh < 0 || t->per_kwh > max || t->per_minute < 0 || t->per_minute > max || t->per_session < 0 ||
        t->per_session > max || t->vat_bp < 0 || t->vat_bp > 10000)
        return MST_EINVAL;
    out->energy_wh = chg_session_energy_wh(u);
    out->billed_ms = t->minutes == CHG_MINUTES_CHARGING ? chg_session_charging_ms(u) : u->stop_ms - u->start_ms;
    /* everything in 1/60000 of a minor unit: per_kwh x Wh / 1000 = per_kwh x Wh x 60 of them, per_minute x ms
     * / 60000 = per_minute x ms of them; no term is rounded before the sum */
    __int128 sum = (__int128)t->per_session * 60000 + (__int128)t->per_kwh * out->energy_wh * 60 +
                   (__int128)t->per_minute * out->billed_ms;
    __int128 total = (sum + 30000) / 60000;
    if (total > INT64_MAX / 20000) /* so the VAT split below cannot overflow either */
        return MST_ETOOBIG;
    out->total = (int64_t)total;
    int64_t d = 10000 + t->vat_bp;
    out->net = (out->total * 20000 + d) / (2 * d);
    out->vat = out->total - out->net;
    return 0;
}
