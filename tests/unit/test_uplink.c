/* The uplink plugin's parts alone: backoff, the region's answers, and the
 * outbox on an in-memory database (ids never reused, the bound drops the
 * oldest, a batch's NDJSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "uplink/uplink.h"

static void backoff_is_full_jitter_under_the_cap(void **state)
{
    uint64_t rng = 42;
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t w = up_backoff_ms(&rng, 3, 100, 60000, -1);
        assert_true(w >= 100 && w <= 400); /* base..base*2^(3-1) */
        lo = w < lo ? w : lo;
        hi = w > hi ? w : hi;
    }
    assert_true(hi - lo > 200); /* spread, not one value */
    for (unsigned n = 1; n < 80; n++)
        assert_true(up_backoff_ms(&rng, n, 1000, 60000, -1) <= 60000);
    assert_int_equal(up_backoff_ms(&rng, 1, 100, 400, -1), 100); /* the first retry: base */
    assert_int_equal(up_backoff_ms(&rng, 1, 100, 400, 5000), 5000); /* Retry-After is a floor */
}

static void retry_after_seconds_or_date(void **state)
{
    assert_int_equal(up_retry_after_ms(" 120\r\n", 0), 120000);
    assert_int_equal(up_retry_after_ms("0", 0), 0);
    assert_int_equal(up_retry_after_ms("99999999999", 0), 86400000); /* at most a day */
    assert_int_equal(up_retry_after_ms("Fri, 27 Nov 2026 21:10:00 GMT", 1795813800 - 30), 30000);
    assert_int_equal(up_retry_after_ms("Fri, 27 Nov 2026 21:10:00 GMT", 1795813800 + 30), 0); /* past */
    assert_int_equal(up_retry_after_ms("soon", 0), -1);
    assert_int_equal(up_retry_after_ms("12abc", 0), -1);
}

static void answers_must_name_the_epoch_and_a_whole_mark(void **state)
{
    int64_t c = -1, e = -1;
    int known = -1;
    const char *why = NULL;
    const char ok[] = "{\"town\":\"lhota\",\"epoch\":8123456789012345,\"committed\":1450,\"stored\":250}";
    assert_int_equal(up_answer_batch(ok, strlen(ok), 8123456789012345, &c, &why), 0);
    assert_int_equal(c, 1450);
    assert_int_equal(up_answer_batch(ok, strlen(ok), 7, &c, &why), -1);
    assert_string_equal(why, "the answer names another epoch");
    const char *bad[] = {"{\"epoch\":7,\"committed\":1.5}", "{\"epoch\":7,\"committed\":-1}", "{\"epoch\":7}",
                         "{\"epoch\":7,\"committed\":\"9\"}", "[7]", "", "{\"epoch\":7,\"committed\":1e300}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal(up_answer_batch(bad[i], strlen(bad[i]), 7, &c, &why), -1);
        assert_non_null(why);
    }
    const char none[] = "{\"epoch\":null,\"committed\":0}", pos[] = "{\"epoch\":7,\"committed\":12}";
    assert_int_equal(up_answer_position(none, strlen(none), &e, &c, &known, &why), 0);
    assert_int_equal(known, 0);
    assert_int_equal(up_answer_position(pos, strlen(pos), &e, &c, &known, &why), 0);
    assert_true(known && e == 7 && c == 12);
}

static struct uplink *outbox(int64_t max_bytes)
{
    struct uplink *u = calloc(1, sizeof *u);
    assert_int_equal(sqlite3_open(":memory:", &u->db_append), SQLITE_OK);
    assert_int_equal(sqlite3_exec(u->db_append, up_migrations[0], NULL, NULL, NULL), SQLITE_OK);
    u->db_send = u->db_append;
    u->max_outbox_bytes = max_bytes;
    char why[128];
    assert_int_equal(up_outbox_open(u, why, sizeof why), 0);
    assert_true(u->epoch > 0 && u->epoch < (INT64_C(1) << 53));
    return u;
}

static void append(struct uplink *u, const char *topic, const char *body, int n, struct up_delta *d)
{
    struct up_pending p = {0};
    p.v = calloc((size_t)n, sizeof *p.v);
    for (int i = 0; i < n; i++)
        p.v[p.n++] = (struct up_msg){strdup(topic), strdup(body), strlen(body), 1000 + i, 0};
    up_outbox_append(u, &p, d);
    up_pending_clear(&p);
    free(p.v);
    assert_false(d->failed);
}

static void ids_are_never_reused_and_lines_are_ndjson(void **state)
{
    struct uplink *u = outbox(1 << 20);
    struct up_delta d;
    append(u, "reading", "{ \"sensor\" :\n \"a\" }", 3, &d);
    append(u, "reading", "not json", 1, &d);
    assert_int_equal(d.bad, 1);
    assert_int_equal(d.messages, 3);
    struct up_batch b;
    assert_int_equal(up_outbox_read(u, 10, 1 << 20, &b), 0);
    assert_int_equal(b.n, 3);
    char want[512];
    snprintf(want, sizeof want,
             "{\"epoch\":%lld,\"first\":1,\"last\":3,\"replay\":false}\n"
             "{\"o\":1,\"t\":\"reading\",\"b\":{\"sensor\":\"a\"}}\n{\"o\":2,\"t\":\"reading\",\"b\":{\"sensor\":\"a\"}}\n"
             "{\"o\":3,\"t\":\"reading\",\"b\":{\"sensor\":\"a\"}}\n",
             (long long)u->epoch);
    assert_string_equal(b.ndjson, want);
    up_batch_free(&b);
    struct up_delta del = {0};
    assert_int_equal(up_outbox_delete(u->db_send, 1, 3, &del), 0);
    assert_int_equal(del.deleted, 3);
    append(u, "charging/session", "{\"kwh\":7.5}", 1, &d); /* the table was empty: AUTOINCREMENT goes on */
    assert_int_equal(up_outbox_read(u, 10, 1 << 20, &b), 0);
    assert_int_equal(b.first, 4);
    assert_non_null(strstr(b.ndjson, "{\"o\":4,\"t\":\"charging/session\",\"at\":1000,\"b\":{\"kwh\":7.5}}\n"));
    up_batch_free(&b);
    sqlite3_close(u->db_append);
    free(u);
}

static void the_bound_drops_the_oldest(void **state)
{
    struct uplink *u = outbox(1000);
    char body[120];
    memset(body, 0, sizeof body);
    snprintf(body, sizeof body, "{\"pad\":\"%090d\"}", 0); /* 100 bytes */
    struct up_delta d;
    append(u, "reading", body, 8, &d);
    assert_int_equal(d.dropped, 0);
    append(u, "reading", body, 5, &d);
    assert_int_equal(d.dropped, 3);
    assert_int_equal(d.messages, 10);
    assert_true(d.bytes <= 1000);
    struct up_batch b;
    assert_int_equal(up_outbox_read(u, 100, 1 << 20, &b), 0);
    assert_int_equal(b.first, 4); /* 1..3 went */
    assert_int_equal(b.last, 13);
    up_batch_free(&b);
    /* a batch stops at max_bytes, but takes one row whatever its size */
    assert_int_equal(up_outbox_read(u, 100, 250, &b), 0);
    assert_int_equal(b.n, 2);
    up_batch_free(&b);
    assert_int_equal(up_outbox_read(u, 100, 1, &b), 0);
    assert_int_equal(b.n, 1);
    up_batch_free(&b);
    sqlite3_close(u->db_append);
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_is_full_jitter_under_the_cap),
        cmocka_unit_test(retry_after_seconds_or_date),
        cmocka_unit_test(answers_must_name_the_epoch_and_a_whole_mark),
        cmocka_unit_test(ids_are_never_reused_and_lines_are_ndjson),
        cmocka_unit_test(the_bound_drops_the_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
