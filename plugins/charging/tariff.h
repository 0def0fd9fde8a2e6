/* tariff.h - a station's prices and the cost of a finished session.
 *
 * Money is integer minor units (haléř for CZK: 790 = 7.90 CZK), never a
 * float.  Prices are what the driver pays, VAT included (as Czech consumer
 * prices are shown); the VAT rate is kept so the net and the VAT can be
 * split out of a cost.  Pure: no host calls.  The library is tariff.c alone
 * (cJSON, mestys/time.h).
 *
 * The cost of a session, with E the energy in Wh and T the billed time in
 * milliseconds (plugged in, or charging: the tariff says which):
 *
 *     cost = per_session + per_kwh x E / 1000 + per_minute x T / 60000
 *
 * summed exactly (in 1/60000 of a minor unit) and rounded once, half up, to
 * a whole minor unit.  Then net = round_half_up(cost x 10000 / (10000 +
 * vat_bp)) and vat = cost - net, so net + vat is always the cost charged.
 */
#ifndef CHARGING_TARIFF_H
#define CHARGING_TARIFF_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include <mestys/error.h>

/* What a per-minute price counts. */
enum chg_tariff_minutes {
    CHG_MINUTES_PLUGGED = 0,  /* from StartTransaction to StopTransaction (blocking the spot) */
    CHG_MINUTES_CHARGING,     /* only while energy flowed, from the meter values */
};

struct chg_tariff {
    int64_t per_kwh;          /* minor units per kWh, VAT included */
    int64_t per_minute;       /* minor units per minute, VAT included */
    int64_t per_session;      /* minor units per session, VAT included */
    enum chg_tariff_minutes minutes;
    int vat_bp;               /* VAT in basis points: 2100 = 21 % */
    char currency[4];         /* ISO 4217, "CZK" by default */
};

/* A tariff with nothing to pay, currency CZK, 21 % VAT. */
void chg_tariff_init(struct chg_tariff *t);

/* A price from config or an API: a JSON number (7.9) or string ("7.90") in
 * major units, at most two decimals, 0 to 1,000,000.  Returns 0 with *out in
 * minor units, or MST_EINVAL (why says what was wrong: a third decimal, a
 * negative price, not a number). */
int chg_money_parse(const cJSON *value, int64_t *out, const char **why);
/* A VAT rate in percent (21, 10.5): 0 to 100, at most two decimals. */
int chg_vat_parse(const cJSON *value, int *out_bp, const char **why);
/* The whole tariff from its config object {"currency", "per_kwh",
 * "per_minute", "minutes": "plugged"|"charging", "per_session", "vat"}:
 * missing keys keep chg_tariff_init's values.  MST_EINVAL with *why naming
 * the key. */
int chg_tariff_from_json(const cJSON *obj, struct chg_tariff *t, const char **why);

/* "12.50" into buf (at least 24 bytes): minor units as major units. */
void chg_money_format(int64_t minor, char *buf, size_t len);
/* The station list's text: "7.90 CZK/kWh + 1.00 CZK/min plugged in + 10.00
 * CZK/session, incl. 21 % VAT", only the non-zero parts ("free of charge" if
 * none).  Returns what snprintf returns. */
int chg_tariff_text(const struct chg_tariff *t, char *buf, size_t len);
/* The tariff for the API and open data: {"currency": "CZK", "per_kwh":
 * "7.90", "per_minute": "0.00", "minutes": "plugged", "per_session": "0.00",
 * "vat_percent": 21, "text": "..."} (prices as decimal strings: exact). */
cJSON *chg_tariff_json(const struct chg_tariff *t);

/* One energy register reading of a session. */
struct chg_meter_sample {
    int64_t t_ms;             /* Unix ms */
    int64_t wh;               /* Energy.Active.Import.Register in Wh */
};

/* Reads the Energy.Active.Import.Register samples out of a StopTransaction's
 * transactionData (or a MeterValues' meterValue) array: every sampledValue
 * whose measurand is that register (the default when absent), unit "Wh"
 * (default) or "kWh", phase absent (the total), value a decimal string.
 * Other samples are skipped.  At most `max` go into out, in the order given;
 * *n gets how many.  Returns 0, or MST_EINVAL with *why for a malformed
 * entry (a timestamp that is not ISO 8601, a value that is not a number or
 * is negative or over 10^12 Wh). */
int chg_meter_samples(const cJSON *meter_values, struct chg_meter_sample *out, size_t max,
                      size_t *n, const char **why);

/* A finished session as the plugin has it. */
struct chg_session_usage {
    int64_t meter_start_wh;   /* StartTransaction.meterStart */
    int64_t meter_stop_wh;    /* StopTransaction.meterStop, -1 if not known */
    int64_t start_ms, stop_ms;
    /* transactionData and MeterValues samples in time order (the plugin's
     * SQLite gives them ORDER BY time); one earlier than the one before it,
     * or outside [start, stop], is skipped */
    const struct chg_meter_sample *samples;
    size_t n_samples;
};

/* The session's energy in Wh: meterStop - meterStart, the meter's own word;
 * if that is negative (a meter replaced or rolled over mid-session) or
 * meterStop is not known, the sum of the rises along meterStart, the samples,
 * meterStop (a fall is a new meter: counting resumes from it). */
int64_t chg_session_energy_wh(const struct chg_session_usage *u);
/* Milliseconds during which energy flowed: the sum of the intervals along
 * the same walk over which the register rose. */
int64_t chg_session_charging_ms(const struct chg_session_usage *u);

struct chg_cost {
    int64_t energy_wh;        /* what was billed */
    int64_t billed_ms;        /* plugged-in or charging time, per the tariff, billed to the ms */
    int64_t total;            /* minor units, VAT included */
    int64_t net, vat;         /* total = net + vat */
};

/* The cost of a finished session.  MST_EINVAL if stop is before start, a
 * time is outside mestys/time.h's years, a price is negative or over
 * 1,000,000 major units or the VAT over 100 %; MST_ETOOBIG if the cost does
 * not fit (absurd meter values). */
int chg_tariff_cost(const struct chg_tariff *t, const struct chg_session_usage *u,
                    struct chg_cost *out);

#endif
