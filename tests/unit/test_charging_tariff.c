/* test_charging_tariff.c - prices read exactly, the station list's text,
 * energy from meter readings (rollovers, transactionData), and the cost of
 * a session with its rounding and VAT split. */
#include "harness.h"

#include <cjson/cJSON.h>

#include "../../plugins/charging/tariff.h"

static int64_t money(const char *json)
{
    cJSON *v = cJSON_Parse(json);
    int64_t out = -1;
    const char *why = NULL;
    if (chg_money_parse(v, &out, &why) < 0)
        out = -1;
    cJSON_Delete(v);
    return out;
}

static void prices_are_exact_minor_units(void **state)
{
    (void)state;
    assert_int_equal(money("7.9"), 790);
    assert_int_equal(money("\"7.90\""), 790);
    assert_int_equal(money("\"7.9\""), 790);
    assert_int_equal(money("0.07"), 7);
    assert_int_equal(money("0.29"), 29); /* 28.999999999999996 as a double x 100 */
    assert_int_equal(money("12"), 1200);
    assert_int_equal(money("\"1000000\""), 100000000);
    /* a third decimal, a sign, an exponent, text, too much: refused */
    const char *bad[] = {"7.905", "\"7.905\"", "-1", "\"-1\"", "\"1e3\"", "\"7.\"", "\".5\"", "\"\"",
                         "\"seven\"", "1000000.01", "\"1000001\"", "true", "null", "\"99999999999999999999\"",
                         "1e300"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (money(bad[i]) != -1)
            fail_msg("%s was taken as a price", bad[i]);
    }
    cJSON *v = cJSON_Parse("10.5");
    int bp;
    const char *why;
    assert_int_equal(chg_vat_parse(v, &bp, &why), 0);
    assert_int_equal(bp, 1050);
    cJSON_Delete(v);
    v = cJSON_Parse("101");
    assert_int_equal(chg_vat_parse(v, &bp, &why), MST_EINVAL);
    assert_non_null(strstr(why, "vat"));
    cJSON_Delete(v);
}

static void tariff_from_config_and_as_text(void **state)
{
    (void)state;
    struct chg_tariff t;
    chg_tariff_init(&t);
    char text[160];
    chg_tariff_text(&t, text, sizeof text);
    assert_string_equal(text, "free of charge");
    cJSON *cfg = cJSON_Parse("{\"per_kwh\": 7.90}");
    const char *why;
    assert_int_equal(chg_tariff_from_json(cfg, &t, &why), 0);
    cJSON_Delete(cfg);
    chg_tariff_text(&t, text, sizeof text);
    assert_string_equal(text, "7.90 CZK/kWh, incl. 21 % VAT");
    cfg = cJSON_Parse("{\"currency\": \"EUR\", \"per_kwh\": \"0.39\", \"per_minute\": 0.05, \"minutes\": "
                      "\"charging\", \"per_session\": 1, \"vat\": 10.5}");
    assert_int_equal(chg_tariff_from_json(cfg, &t, &why), 0);
    cJSON_Delete(cfg);
    chg_tariff_text(&t, text, sizeof text);
    assert_string_equal(text, "0.39 EUR/kWh + 0.05 EUR/min charging + 1.00 EUR/session, incl. 10.5 % VAT");
    /* a short buffer: truncated, the length it would have had returned */
    char small[8];
    assert_int_equal(chg_tariff_text(&t, small, sizeof small), (int)strlen(text));
    assert_string_equal(small, "0.39 EU");
    cJSON *j = chg_tariff_json(&t);
    char *s = cJSON_PrintUnformatted(j);
    assert_string_equal(s, "{\"currency\":\"EUR\",\"per_kwh\":\"0.39\",\"per_minute\":\"0.05\",\"minutes\":\"charging\","
                           "\"per_session\":\"1.00\",\"vat_percent\":10.5,\"text\":\"0.39 EUR/kWh + 0.05 EUR/min "
                           "charging + 1.00 EUR/session, incl. 10.5 % VAT\"}");
    free(s);
    cJSON_Delete(j);
    /* a bad key or value names itself and changes nothing */
    const char *bad[][2] = {{"{\"per_kwh\": -1}", "price"},         {"{\"currency\": \"czk\"}", "currency"},
                            {"{\"minutes\": \"idle\"}", "minutes"}, {"{\"price\": 7}", "unknown tariff key"},
                            {"[1]", "object"},                      {"{\"vat\": \"21 %\"}", "vat"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct chg_tariff before = t;
        cfg = cJSON_Parse(bad[i][0]);
        assert_int_equal(chg_tariff_from_json(cfg, &t, &why), MST_EINVAL);
        assert_non_null(strstr(why, bad[i][1]));
        assert_memory_equal(&before, &t, sizeof t);
        cJSON_Delete(cfg);
    }
}

/* A StopTransaction's transactionData as a station sends it. */
static const char transaction_data[] =
    "[{\"timestamp\": \"2026-11-27T10:00:00Z\", \"sampledValue\": [{\"value\": \"1000\", \"context\": "
    "\"Transaction.Begin\"}]},"
    " {\"timestamp\": \"2026-11-27T10:30:00Z\", \"sampledValue\": ["
    "   {\"value\": \"5.5\", \"measurand\": \"Energy.Active.Import.Register\", \"unit\": \"kWh\"},"
    "   {\"value\": \"2300\", \"measurand\": \"Energy.Active.Import.Register\", \"phase\": \"L1\"},"
    "   {\"value\": \"11000\", \"measurand\": \"Power.Active.Import\", \"unit\": \"W\"},"
    "   {\"value\": \"AbCd\", \"format\": \"SignedData\"}]},"
    " {\"timestamp\": \"2026-11-27T11:00:00+01:00\", \"sampledValue\": [{\"value\": \"5500\"}]},"
    " {\"timestamp\": \"2026-11-27T10:45:00.000Z\", \"sampledValue\": [{\"value\": \"7400.4\", \"unit\": \"Wh\"}]}]";

static void meter_samples_from_transaction_data(void **state)
{
    (void)state;
    cJSON *td = cJSON_Parse(transaction_data);
    struct chg_meter_sample s[8];
    size_t n;
    const char *why;
    assert_int_equal(chg_meter_samples(td, s, 8, &n, &why), 0);
    assert_int_equal(n, 4); /* the phase, power and signed values skipped */
    assert_int_equal(s[0].wh, 1000);
    assert_int_equal(s[1].wh, 5500);
    assert_int_equal(s[1].t_ms - s[0].t_ms, 30 * 60000);
    assert_int_equal(s[2].t_ms - s[0].t_ms, 0); /* 11:00+01:00 is 10:00Z */
    assert_int_equal(s[3].wh, 7400);
    /* more samples than room: the first ones, and the count */
    assert_int_equal(chg_meter_samples(td, s, 2, &n, &why), 0);
    assert_int_equal(n, 2);
    cJSON_Delete(td);
    const char *bad[] = {"{}", "[{\"sampledValue\": [{\"value\": \"1\"}]}]",
                         "[{\"timestamp\": \"yesterday\", \"sampledValue\": [{\"value\": \"1\"}]}]",
                         "[{\"timestamp\": \"2026-11-27T10:00:00Z\"}]",
                         "[{\"timestamp\": \"2026-11-27T10:00:00Z\", \"sampledValue\": [{\"value\": \"nan\"}]}]",
                         "[{\"timestamp\": \"2026-11-27T10:00:00Z\", \"sampledValue\": [{\"value\": \"-5\"}]}]",
                         "[{\"timestamp\": \"2026-11-27T10:00:00Z\", \"sampledValue\": [{\"value\": \"1e13\"}]}]",
                         "[{\"timestamp\": \"2026-11-27T10:00:00Z\", \"sampledValue\": [{\"value\": \"0x10\"}]}]",
                         "[{\"timestamp\": \"2026-11-27T10:00:00Z\", \"sampledValue\": [{\"value\": 5}]}]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        td = cJSON_Parse(bad[i]);
        why = NULL;
        if (chg_meter_samples(td, s, 8, &n, &why) != MST_EINVAL || !why)
            fail_msg("%s was taken as meter values", bad[i]);
        cJSON_Delete(td);
    }
}

#define T0 1795773600000LL /* 2026-11-27T10:00:00Z */

static void energy_and_charging_time(void **state)
{
    (void)state;
    struct chg_meter_sample s[] = {{T0 + 600000, 2000}, {T0 + 1200000, 2000}, {T0 + 1800000, 3500},
                                   {T0 + 900000, 9999}, /* out of order: skipped */
                                   {T0 + 2400000, 3500}};
    struct chg_session_usage u = {.meter_start_wh = 1000, .meter_stop_wh = 3600, .start_ms = T0,
                                  .stop_ms = T0 + 3000000, .samples = s, .n_samples = 5};
    /* the meter's own word */
    assert_int_equal(chg_session_energy_wh(&u), 2600);
    /* energy flowed 0-10 min, 20-30 min and 40-50 min */
    assert_int_equal(chg_session_charging_ms(&u), 1800000);
    /* a meter replaced mid-session (stop < start): the rises, counted from the new meter's reading */
    struct chg_meter_sample r[] = {{T0 + 600000, 901000}, {T0 + 1200000, 902000}, {T0 + 1800000, 12},
                                   {T0 + 2400000, 512}};
    struct chg_session_usage v = {.meter_start_wh = 900000, .meter_stop_wh = 800, .start_ms = T0,
                                  .stop_ms = T0 + 3000000, .samples = r, .n_samples = 4};
    assert_int_equal(chg_session_energy_wh(&v), 1000 + 1000 + 500 + 288);
    /* no meterStop: the samples alone */
    v.meter_stop_wh = -1;
    assert_int_equal(chg_session_energy_wh(&v), 1000 + 1000 + 500);
    /* no samples, no stop: nothing known, nothing billed */
    v.n_samples = 0;
    assert_int_equal(chg_session_energy_wh(&v), 0);
}

static void cost_rounded_once_with_vat(void **state)
{
    (void)state;
    struct chg_tariff t;
    chg_tariff_init(&t);
    t.per_kwh = 790;     /* 7.90 CZK/kWh */
    t.per_minute = 100;  /* 1.00 CZK/min plugged in */
    t.per_session = 1000;
    struct chg_session_usage u = {.meter_start_wh = 1000, .meter_stop_wh = 13345, .start_ms = T0,
                                  .stop_ms = T0 + 45 * 60000 + 30000};
    struct chg_cost c;
    assert_int_equal(chg_tariff_cost(&t, &u, &c), 0);
    /* 10.00 + 7.90 x 12.345 + 1.00 x 45.5 = 10 + 97.5255 + 45.5 = 153.0255 -> 153.03 */
    assert_int_equal(c.energy_wh, 12345);
    assert_int_equal(c.billed_ms, 45 * 60000 + 30000);
    assert_int_equal(c.total, 15303);
    /* 153.03 / 1.21 = 126.4710 -> 126.47, VAT 26.56 */
    assert_int_equal(c.net, 12647);
    assert_int_equal(c.vat, 2656);
    assert_int_equal(c.net + c.vat, c.total);
    /* half a haléř rounds up: 0.01 CZK/kWh x 500 Wh = 0.005 CZK */
    chg_tariff_init(&t);
    t.per_kwh = 1;
    u.meter_stop_wh = u.meter_start_wh + 500;
    assert_int_equal(chg_tariff_cost(&t, &u, &c), 0);
    assert_int_equal(c.total, 1);
    u.meter_stop_wh = u.meter_start_wh + 499;
    assert_int_equal(chg_tariff_cost(&t, &u, &c), 0);
    assert_int_equal(c.total, 0);
    /* per minute of charging: only while the register rose */
    chg_tariff_init(&t);
    t.per_minute = 50;
    t.minutes = CHG_MINUTES_CHARGING;
    struct chg_meter_sample s[] = {{T0 + 600000, 2000}, {T0 + 1200000, 2000}};
    struct chg_session_usage w = {.meter_start_wh = 1000, .meter_stop_wh = 2000, .start_ms = T0,
                                  .stop_ms = T0 + 3600000, .samples = s, .n_samples = 2};
    assert_int_equal(chg_tariff_cost(&t, &w, &c), 0);
    assert_int_equal(c.billed_ms, 600000);
    assert_int_equal(c.total, 500);
    /* a split that must not lose a haléř: 0.01 at 21 % is 0.01 net, 0.00 VAT */
    chg_tariff_init(&t);
    t.per_session = 1;
    assert_int_equal(chg_tariff_cost(&t, &w, &c), 0);
    assert_int_equal(c.net + c.vat, 1);
    /* refused: time running backwards, absurd prices; too big to hold */
    w.stop_ms = T0 - 1;
    assert_int_equal(chg_tariff_cost(&t, &w, &c), MST_EINVAL);
    w.stop_ms = T0 + 1;
    t.per_kwh = -1;
    assert_int_equal(chg_tariff_cost(&t, &w, &c), MST_EINVAL);
    t.per_kwh = 100000000;
    w.meter_start_wh = 0;
    w.meter_stop_wh = INT64_MAX;
    assert_int_equal(chg_tariff_cost(&t, &w, &c), MST_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prices_are_exact_minor_units),
        cmocka_unit_test(tariff_from_config_and_as_text),
        cmocka_unit_test(meter_samples_from_transaction_data),
        cmocka_unit_test(energy_and_charging_time),
        cmocka_unit_test(cost_rounded_once_with_vat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
