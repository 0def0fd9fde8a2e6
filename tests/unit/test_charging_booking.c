/* test_charging_booking.c - the fleet's and carsharing's calendar: a tag
 * authorized only in its slot (with the grace before it), overlaps refused,
 * ReserveNow due at the lead time and built as the schema wants it. */
#include "harness.h"

#include <cjson/cJSON.h>

#include "../../plugins/charging/booking.h"

#define MINUTE 60000LL
#define T0 1795773600000LL /* 2026-11-27T10:00:00Z */

static struct chg_bookings *calendar(int reserve)
{
    struct chg_booking_opts o = {.grace_ms = 15 * MINUTE, .reserve = reserve, .lead_ms = 10 * MINUTE};
    struct chg_bookings *b;
    assert_int_equal(chg_bookings_new(&o, &b), 0);
    return b;
}

static int add(struct chg_bookings *b, int64_t id, const char *tag, const char *station, const char *site,
               int connector, int64_t from, int64_t to, char *why)
{
    struct chg_booking bk = {.id = id, .id_tag = tag, .station = station, .site = site, .connector = connector,
                             .from_ms = from, .to_ms = to};
    return chg_bookings_add(b, &bk, why, 128);
}

static void authorized_only_in_the_slot(void **state)
{
    (void)state;
    struct chg_bookings *b = calendar(0);
    char why[128];
    assert_int_equal(add(b, 1, "CAR-01", "CP-1", NULL, 2, T0, T0 + 120 * MINUTE, why), 0);
    assert_int_equal(add(b, 2, "CAR-02", NULL, "depot", 0, T0, T0 + 60 * MINUTE, why), 0);
    /* before the grace, in it, inside, at the end (exclusive) */
    assert_null(chg_bookings_authorizing(b, "CAR-01", "CP-1", NULL, 2, T0 - 16 * MINUTE));
    assert_non_null(chg_bookings_authorizing(b, "CAR-01", "CP-1", NULL, 2, T0 - 15 * MINUTE));
    const struct chg_booking *hit = chg_bookings_authorizing(b, "CAR-01", "CP-1", NULL, 2, T0 + 60 * MINUTE);
    assert_non_null(hit);
    assert_int_equal(hit->id, 1);
    assert_null(chg_bookings_authorizing(b, "CAR-01", "CP-1", NULL, 2, T0 + 120 * MINUTE));
    /* id tags are case-insensitive (CiString20); the connector not yet known (Authorize) matches */
    assert_non_null(chg_bookings_authorizing(b, "car-01", "CP-1", NULL, 0, T0));
    /* another connector, another station, another car: no */
    assert_null(chg_bookings_authorizing(b, "CAR-01", "CP-1", NULL, 1, T0));
    assert_null(chg_bookings_authorizing(b, "CAR-01", "CP-2", NULL, 2, T0));
    assert_null(chg_bookings_authorizing(b, "CAR-03", "CP-1", NULL, 2, T0));
    assert_null(chg_bookings_authorizing(b, NULL, "CP-1", NULL, 2, T0));
    /* a booking at a site: any connector of any of its stations */
    assert_non_null(chg_bookings_authorizing(b, "CAR-02", "CP-7", "depot", 3, T0 + 5 * MINUTE));
    assert_null(chg_bookings_authorizing(b, "CAR-02", "CP-7", "square", 3, T0 + 5 * MINUTE));
    assert_null(chg_bookings_authorizing(b, "CAR-02", "CP-7", NULL, 3, T0 + 5 * MINUTE));
    /* the calendar's cars are known, so the plugin refuses them outside their slots */
    assert_true(chg_bookings_knows_tag(b, "Car-02"));
    assert_false(chg_bookings_knows_tag(b, "PUBLIC-CARD"));
    chg_bookings_free(b);
}

static void overlaps_refused(void **state)
{
    (void)state;
    struct chg_bookings *b = calendar(0);
    char why[128];
    assert_int_equal(add(b, 1, "CAR-01", "CP-1", NULL, 1, T0, T0 + 60 * MINUTE, why), 0);
    /* the same car elsewhere at the same time */
    assert_int_equal(add(b, 2, "car-01", "CP-9", NULL, 1, T0 + 30 * MINUTE, T0 + 90 * MINUTE, why), MST_EEXIST);
    assert_string_equal(why, "the car is already booked then, by booking 1");
    /* the same connector for another car; "any connector" of that station */
    assert_int_equal(add(b, 3, "CAR-02", "CP-1", NULL, 1, T0 - 30 * MINUTE, T0 + 1, why), MST_EEXIST);
    assert_string_equal(why, "the connector is already booked then, by booking 1");
    assert_int_equal(add(b, 4, "CAR-02", "CP-1", NULL, 0, T0 + 59 * MINUTE, T0 + 90 * MINUTE, why), MST_EEXIST);
    /* back to back is fine: slots are [from, to) */
    assert_int_equal(add(b, 5, "CAR-02", "CP-1", NULL, 1, T0 + 60 * MINUTE, T0 + 90 * MINUTE, why), 0);
    assert_int_equal(add(b, 6, "CAR-01", "CP-1", NULL, 1, T0 - 60 * MINUTE, T0, why), 0);
    /* another connector of the station at the same time, a site booking beside a station's */
    assert_int_equal(add(b, 7, "CAR-03", "CP-1", NULL, 2, T0, T0 + 60 * MINUTE, why), 0);
    assert_int_equal(add(b, 8, "CAR-04", NULL, "depot", 0, T0, T0 + 60 * MINUTE, why), 0);
    /* a taken id */
    assert_int_equal(add(b, 7, "CAR-05", "CP-2", NULL, 1, T0, T0 + 60 * MINUTE, why), MST_EEXIST);
    assert_string_equal(why, "the id is taken by booking 7");
    /* ordered by slot start */
    assert_int_equal(chg_bookings_count(b), 5);
    assert_int_equal(chg_bookings_at(b, 0)->id, 6);
    assert_int_equal(chg_bookings_at(b, 4)->id, 5);
    assert_null(chg_bookings_at(b, 5));
    /* once removed, the slot is free */
    assert_int_equal(chg_bookings_remove(b, 1), 0);
    assert_int_equal(chg_bookings_remove(b, 1), MST_ENOENT);
    assert_null(chg_bookings_get(b, 1));
    assert_int_equal(add(b, 2, "CAR-01", "CP-9", NULL, 1, T0 + 30 * MINUTE, T0 + 90 * MINUTE, why), 0);
    assert_string_equal(chg_bookings_get(b, 2)->station, "CP-9");
    chg_bookings_free(b);
}

static void bad_bookings_say_why(void **state)
{
    (void)state;
    struct chg_bookings *b = calendar(0);
    char why[128];
    assert_int_equal(add(b, 1, "", "CP-1", NULL, 1, T0, T0 + MINUTE, why), MST_EINVAL);
    assert_non_null(strstr(why, "id tag"));
    assert_int_equal(add(b, 1, "TWENTY-ONE-CHARACTERS", "CP-1", NULL, 1, T0, T0 + MINUTE, why), MST_EINVAL);
    assert_int_equal(add(b, 1, "CAR", NULL, NULL, 1, T0, T0 + MINUTE, why), MST_EINVAL);
    assert_non_null(strstr(why, "one of the two"));
    assert_int_equal(add(b, 1, "CAR", "CP-1", "depot", 1, T0, T0 + MINUTE, why), MST_EINVAL);
    assert_int_equal(add(b, 1, "CAR", NULL, "depot", 2, T0, T0 + MINUTE, why), MST_EINVAL);
    assert_non_null(strstr(why, "connector"));
    assert_int_equal(add(b, 1, "CAR", "CP-1", NULL, -1, T0, T0 + MINUTE, why), MST_EINVAL);
    assert_int_equal(add(b, 1, "CAR", "CP-1", NULL, 1, T0, T0, why), MST_EINVAL);
    assert_non_null(strstr(why, "ends after it starts"));
    assert_int_equal(add(b, 1, "CAR", "CP-1", NULL, 1, INT64_MIN, T0, why), MST_EINVAL);
    assert_int_equal(chg_bookings_count(b), 0);
    struct chg_booking_opts o = {.grace_ms = -1};
    struct chg_bookings *bad;
    assert_int_equal(chg_bookings_new(&o, &bad), MST_EINVAL);
    o.grace_ms = 8 * 24 * 60 * MINUTE;
    assert_int_equal(chg_bookings_new(&o, &bad), MST_EINVAL);
    chg_bookings_free(b);
    /* no options: the defaults, no ReserveNow */
    assert_int_equal(chg_bookings_new(NULL, &b), 0);
    assert_int_equal(add(b, 1, "CAR", "CP-1", NULL, 1, T0, T0 + MINUTE, why), 0);
    assert_non_null(chg_bookings_authorizing(b, "CAR", "CP-1", NULL, 1, T0 - 15 * MINUTE));
    assert_int_equal(chg_bookings_due(b, T0, NULL, 0), 0);
    chg_bookings_free(b);
}

static void reservations_due_at_the_lead_time(void **state)
{
    (void)state;
    struct chg_bookings *b = calendar(1);
    char why[128];
    assert_int_equal(add(b, 1, "CAR-01", "CP-1", NULL, 2, T0, T0 + 120 * MINUTE, why), 0);
    assert_int_equal(add(b, 2, "CAR-02", "CP-1", NULL, 1, T0 + 60 * MINUTE, T0 + 90 * MINUTE, why), 0);
    assert_int_equal(add(b, 3, "CAR-03", NULL, "depot", 0, T0, T0 + 60 * MINUTE, why), 0); /* a site: never */
    const struct chg_booking *due[4];
    assert_int_equal(chg_bookings_due(b, T0 - 11 * MINUTE, due, 4), 0);
    assert_int_equal(chg_bookings_due(b, T0 - 10 * MINUTE, due, 4), 1);
    assert_int_equal(due[0]->id, 1);
    cJSON *req = chg_booking_reserve_now(due[0], 17);
    char *text = cJSON_PrintUnformatted(req);
    assert_string_equal(text, "{\"connectorId\":2,\"expiryDate\":\"2026-11-27T12:00:00.000Z\",\"idTag\":\"CAR-01\","
                              "\"reservationId\":17}");
    free(text);
    cJSON_Delete(req);
    assert_int_equal(chg_bookings_mark_reserved(b, 1, 17), 0);
    assert_int_equal(chg_bookings_mark_reserved(b, 99, 18), MST_ENOENT);
    assert_int_equal(chg_bookings_due(b, T0, due, 4), 0);
    /* both due at once; only the room there is filled, the count is all */
    assert_int_equal(chg_bookings_mark_reserved(b, 1, 0), 0);
    assert_int_equal(chg_bookings_due(b, T0 + 55 * MINUTE, due, 1), 2);
    assert_int_equal(due[0]->id, 1);
    /* a slot that is over is due no more, and expires from memory */
    assert_int_equal(chg_bookings_due(b, T0 + 120 * MINUTE, due, 4), 0);
    assert_null(chg_booking_reserve_now(chg_bookings_get(b, 3), 1));
    assert_int_equal(chg_bookings_expire(b, T0 + 90 * MINUTE), 2);
    assert_int_equal(chg_bookings_count(b), 1);
    assert_int_equal(chg_bookings_at(b, 0)->id, 1);
    chg_bookings_free(b);
}

static void booking_from_and_to_json(void **state)
{
    (void)state;
    cJSON *in = cJSON_Parse("{\"id_tag\": \"CAR-01\", \"station\": \"CP-1\", \"connector\": 2,"
                            " \"from\": \"2026-11-27T11:00:00+01:00\", \"to\": \"2026-11-27T12:00:00Z\"}");
    struct chg_booking bk;
    const char *why;
    assert_int_equal(chg_booking_from_json(in, &bk, &why), 0);
    assert_string_equal(bk.id_tag, "CAR-01");
    assert_string_equal(bk.station, "CP-1");
    assert_null(bk.site);
    assert_int_equal(bk.connector, 2);
    assert_true(bk.from_ms == T0 && bk.to_ms == T0 + 120 * MINUTE);
    bk.id = 5;
    struct chg_bookings *b = calendar(0);
    char err[128];
    assert_int_equal(chg_bookings_add(b, &bk, err, sizeof err), 0);
    cJSON_Delete(in); /* the calendar has its own copies */
    cJSON *out = chg_booking_json(chg_bookings_get(b, 5));
    char *text = cJSON_PrintUnformatted(out);
    assert_string_equal(text, "{\"id\":5,\"id_tag\":\"CAR-01\",\"station\":\"CP-1\",\"connector\":2,"
                              "\"from\":\"2026-11-27T10:00:00.000Z\",\"to\":\"2026-11-27T12:00:00.000Z\","
                              "\"reservation_id\":0}");
    free(text);
    cJSON_Delete(out);
    chg_bookings_free(b);
    /* each bad field named */
    const char *bad[][2] = {
        {"[]", "object"},
        {"{\"id_tag\": 7, \"site\": \"d\", \"from\": \"2026-11-27\", \"to\": \"2026-11-28\"}", "id_tag"},
        {"{\"id_tag\": \"C\", \"site\": 1, \"from\": \"2026-11-27\", \"to\": \"2026-11-28\"}", "site"},
        {"{\"id_tag\": \"C\", \"station\": \"s\", \"connector\": 1.5, \"from\": \"2026-11-27\", \"to\": "
         "\"2026-11-28\"}", "connector"},
        {"{\"id_tag\": \"C\", \"station\": \"s\", \"connector\": -1, \"from\": \"2026-11-27\", \"to\": "
         "\"2026-11-28\"}", "connector"},
        {"{\"id_tag\": \"C\", \"site\": \"d\", \"from\": \"2026-11-27T10:00:00\", \"to\": \"2026-11-28\"}",
         "from, to"},
        {"{\"id_tag\": \"C\", \"site\": \"d\", \"from\": \"2026-11-27\"}", "from, to"},
        {"{\"id_tag\": \"C\", \"site\": \"d\", \"from\": \"2026-11-27\", \"to\": \"2026-11-28\", \"x\": 1}",
         "unknown booking key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        in = cJSON_Parse(bad[i][0]);
        assert_non_null(in);
        assert_int_equal(chg_booking_from_json(in, &bk, &why), MST_EINVAL);
        if (!strstr(why, bad[i][1]))
            fail_msg("%s: %s", bad[i][0], why);
        cJSON_Delete(in);
    }
}

/* --payloads: ReserveNow requests, one "Action<TAB>payload" a line, for
 * ocpp_payloads.js to check against the OCA schemas (unit_charging_schemas). */
static int print_payloads(void)
{
    struct chg_bookings *b = calendar(1);
    char why[128];
    for (int i = 0; i < 40; i++) {
        int64_t from = T0 + i * 7 * MINUTE + i * 1234;
        if (add(b, i + 1, i % 2 ? "CAR-01" : "abcdefghij0123456789", i % 3 ? "CP-1" : "CP-2", NULL, i % 3,
                from, from + (i + 1) * MINUTE, why) < 0)
            continue;
        cJSON *req = chg_booking_reserve_now(chg_bookings_get(b, i + 1), 100 + i);
        char *text = cJSON_PrintUnformatted(req);
        printf("ReserveNow\t%s\n", text);
        free(text);
        cJSON_Delete(req);
    }
    chg_bookings_free(b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--payloads") == 0)
        return print_payloads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(authorized_only_in_the_slot),
        cmocka_unit_test(overlaps_refused),
        cmocka_unit_test(bad_bookings_say_why),
        cmocka_unit_test(reservations_due_at_the_lead_time),
        cmocka_unit_test(booking_from_and_to_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
