/* test_pgstore_batch.c - pgstore's batch parser, inflater and id map alone
 * (no PostgreSQL: tests/integration/test_pgstore.py has one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "pgstore/pgstore.h"

static int parse(const char *text, size_t max, struct pgs_batch *b, char *why)
{
    return pgs_batch_parse(text, strlen(text), max, b, why, 256);
}

static void a_batch_with_readings_and_an_event(void **state)
{
    (void)state;
    const char *text =
        "{\"epoch\": 8123456789012345, \"first\": 1201, \"last\": 1450, \"replay\": false}\n"
        "{\"o\": 1201, \"t\": \"reading\", \"b\": [{\"sensor\":\"0004A30B001C0530\",\"metric\":\"temperature\","
        "\"value\":21.5,\"unit\":\"Cel\",\"time\":1795384800000,\"lat\":49.59,\"lon\":17.25,\"tags\":{\"kind\":\"air\"}},"
        "{\"sensor\":\"b\",\"metric\":\"rh\",\"value\":-1,\"time\":\"2026-11-21T10:00:00+01:00\"}]}\n"
        "{\"o\": 1202, \"t\": \"charging/session\", \"at\": 1795384800123, \"b\": {\"kwh\": 3}}\n"
        "{\"o\": 1450, \"t\": \"reading\", \"b\": {\"sensor\":\"c\",\"metric\":\"m\",\"value\":0,\"time\":0}}\n";
    struct pgs_batch b;
    char why[256] = "";
    assert_int_equal(parse(text, 10, &b, why), 0);
    assert_true(b.epoch == 8123456789012345LL);
    assert_int_equal(b.first, 1201);
    assert_int_equal(b.last, 1450);
    assert_int_equal(b.replay, 0);
    assert_int_equal(b.n_msgs, 3);
    assert_int_equal(b.n_r, 3);
    assert_string_equal(b.r[0].sensor, "0004A30B001C0530");
    assert_string_equal(b.r[0].unit, "Cel");
    assert_string_equal(b.r[0].tags, "{\"kind\":\"air\"}");
    assert_true(b.r[0].has_location && b.r[0].lat == 49.59);
    assert_int_equal(b.r[0].o, 1201);
    assert_null(b.r[1].unit);
    assert_false(b.r[1].has_location);
    assert_true(b.r[1].time_ms == 1795251600000LL); /* 09:00Z */
    assert_int_equal(b.r[2].o, 1450);
    assert_int_equal(b.n_e, 1);
    assert_string_equal(b.e[0].topic, "charging/session");
    assert_string_equal(b.e[0].body, "{\"kwh\":3}");
    assert_true(b.e[0].at_ms == 1795384800123LL);
    pgs_batch_free(&b);
}

static void expect_error(const char *text, size_t max, int rc, const char *prefix)
{
    struct pgs_batch b;
    char why[256] = "";
    assert_int_equal(parse(text, max, &b, why), rc);
    if (strncmp(why, prefix, strlen(prefix)) != 0)
        fail_msg("%s: \"%s\" does not start with \"%s\"", text, why, prefix);
    assert_int_equal(b.n_r, 0);
    assert_null(b.r);
}

#define H "{\"epoch\":1,\"first\":1,\"last\":9}\n"
#define R(o, v) "{\"o\":" #o ",\"t\":\"reading\",\"b\":{\"sensor\":\"s\",\"metric\":\"m\",\"value\":" v ",\"time\":1}}\n"

static void each_error_names_its_line(void **state)
{
    (void)state;
    expect_error("", 10, MST_EINVAL, "line 1: empty");
    expect_error("\n", 10, MST_EINVAL, "line 1:");
    expect_error("[1]\n", 10, MST_EINVAL, "line 1: the first line is the header");
    expect_error("{\"epoch\":0,\"first\":1,\"last\":2}\n", 10, MST_EINVAL, "line 1: \"epoch\"");
    expect_error("{\"epoch\":9007199254740993,\"first\":1,\"last\":2}\n", 10, MST_EINVAL, "line 1: \"epoch\"");
    expect_error("{\"epoch\":1.5,\"first\":1,\"last\":2}\n", 10, MST_EINVAL, "line 1: \"epoch\"");
    expect_error("{\"epoch\":1,\"first\":3,\"last\":2}\n", 10, MST_EINVAL, "line 1: \"first\"");
    expect_error("{\"epoch\":1,\"first\":1,\"last\":2,\"replay\":1}\n", 10, MST_EINVAL, "line 1: \"replay\"");
    expect_error(H R(1, "1") "not json\n", 10, MST_EINVAL, "line 3: not JSON");
    expect_error(H R(2, "1") R(2, "1"), 10, MST_EINVAL, "line 3: \"o\" must increase");
    expect_error(H R(10, "1"), 10, MST_EINVAL, "line 2: \"o\" must increase and stay within");
    expect_error(H R(1, "\"1\""), 10, MST_EINVAL, "line 2: a reading needs a finite numeric");
    expect_error(H R(1, "1e999"), 10, MST_EINVAL, "line 2: a reading needs a finite numeric");
    expect_error(H "{\"o\":1,\"t\":\"reading\"}\n", 10, MST_EINVAL, "line 2: \"b\"");
    expect_error(H "{\"o\":1,\"b\":{}}\n", 10, MST_EINVAL, "line 2: \"t\"");
    expect_error(H "{\"o\":1,\"t\":\"x/y\",\"b\":{}}\n", 10, MST_EINVAL, "line 2: an event needs \"at\"");
    expect_error(H "{\"o\":1,\"t\":\"reading\",\"b\":[{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1,\"time\":1},"
                   "{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1,\"time\":\"yesterday\"}]}\n",
                 10, MST_EINVAL, "line 2: a reading needs a \"time\"");
    expect_error(H "{\"o\":1,\"t\":\"reading\",\"b\":{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1,\"time\":1,"
                   "\"lat\":91,\"lon\":0}}\n",
                 10, MST_EINVAL, "line 2: \"lat\"/\"lon\" off the globe");
    expect_error(H R(1, "1") R(2, "1") R(3, "1"), 2, MST_ETOOBIG, "more than 2 messages");
}

static void a_header_alone_and_blank_lines(void **state)
{
    (void)state;
    struct pgs_batch b;
    char why[256];
    assert_int_equal(parse(H, 10, &b, why), 0);
    assert_int_equal(b.n_msgs, 0);
    pgs_batch_free(&b);
    assert_int_equal(parse(H "\r\n" R(1, "2") "\n", 10, &b, why), 0);
    assert_int_equal(b.n_r, 1);
    pgs_batch_free(&b);
}

static size_t gz(const char *in, size_t len, unsigned char *out, size_t cap)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

static void inflate_with_a_cap(void **state)
{
    (void)state;
    size_t big = 1 << 20;
    char *plain = malloc(big);
    unsigned char *packed = malloc(big);
    memset(plain, ' ', big);
    memcpy(plain, H, strlen(H));
    size_t n = gz(plain, big, packed, big);
    char *out, why[256];
    size_t out_len;
    assert_int_equal(pgs_inflate(packed, n, big, &out, &out_len, why, sizeof why), 0);
    assert_int_equal(out_len, big);
    assert_memory_equal(out, plain, big);
    free(out);
    /* one byte short of the cap: a bomb */
    assert_int_equal(pgs_inflate(packed, n, big - 1, &out, &out_len, why, sizeof why), MST_ETOOBIG);
    assert_null(out);
    assert_non_null(strstr(why, "max_batch_mb"));
    /* cut short, or not gzip at all */
    assert_int_equal(pgs_inflate(packed, n / 2, big, &out, &out_len, why, sizeof why), MST_EINVAL);
    assert_string_equal(why, "line 1: not a complete gzip stream (truncated)");
    assert_int_equal(pgs_inflate("\x1f\x8b nonsense", 11, big, &out, &out_len, why, sizeof why), MST_EINVAL);
    free(plain);
    free(packed);
}

static void ids_grow_and_clear(void **state)
{
    (void)state;
    struct pgs_ids m = {0};
    char key[32];
    assert_int_equal(pgs_ids_get(&m, "x"), 0);
    for (int i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "town\x1fsensor-%d", i);
        assert_int_equal(pgs_ids_put(&m, key, i), 0);
    }
    assert_int_equal(m.len, 5000);
    for (int i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "town\x1fsensor-%d", i);
        assert_int_equal(pgs_ids_get(&m, key), i);
    }
    assert_int_equal(pgs_ids_put(&m, "town\x1fsensor-7", 70), 0);
    assert_int_equal(pgs_ids_get(&m, "town\x1fsensor-7"), 70);
    assert_int_equal(m.len, 5000);
    pgs_ids_clear(&m);
    assert_int_equal(pgs_ids_get(&m, "town\x1fsensor-7"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_batch_with_readings_and_an_event),
        cmocka_unit_test(each_error_names_its_line),
        cmocka_unit_test(a_header_alone_and_blank_lines),
        cmocka_unit_test(inflate_with_a_cap),
        cmocka_unit_test(ids_grow_and_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
