/* test_store.c - the store plugin's parsing of `reading` bodies, alone. */
#include "harness.h"

#include "../../plugins/store/store.h"

/* Parses one body as the worker does; returns the batch (caller frees). */
static struct batch *parse(const char *body)
{
    struct batch *b = calloc(1, sizeof *b);
    struct message m = {(char *)body, strlen(body), NULL, 0};
    b->msgs = &m;
    b->n_msgs = 1;
    store_parse_batch(b);
    b->msgs = NULL;
    b->n_msgs = 0;
    return b;
}

static void batch_free(struct batch *b)
{
    store_readings_free(b);
    free(b->v);
    free(b);
}

/* Each body alone is refused and counted, and nothing is kept. */
static void expect_refused(const char *const *bodies, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct batch *b = parse(bodies[i]);
        if (b->len != 0 || b->refused != 1)
            fail_msg("not refused: %s", bodies[i]);
        batch_free(b);
    }
}

static void readings_parse(void **state)
{
    (void)state;
    struct batch *b = parse("[{\"sensor\":\"s1\",\"metric\":\"temperature\",\"value\":21.5,\"unit\":\"Cel\","
                            "\"time\":\"2026-11-22T10:00:00.000Z\",\"lat\":49.59,\"lon\":17.25},"
                            "{\"sensor\":\"s1\",\"metric\":\"humidity\",\"value\":40,\"time\":1795255200500}]");
    assert_int_equal(b->len, 2);
    assert_int_equal(b->refused, 0);
    assert_true(b->v[0].time_ms == 1795341600000);
    assert_true(b->v[0].has_location);
    assert_true(b->v[1].time_ms == 1795255200500);
    batch_free(b);
}

/* A numeric time outside the years 0..9999 is refused and counted, not
 * cast (undefined behaviour) into a `latest` like 9999-08-16T31:12:55Z. */
static void time_out_of_range_is_refused(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1,\"time\":1e300}",
        "{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1,\"time\":-1e300}",
        "{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1,\"time\":253402300800000}",
        "{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1,\"time\":1e999}",
        "{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1,\"time\":\"0000-01-01T00:00:00+01:00\"}",
    };
    expect_refused(bodies, sizeof bodies / sizeof bodies[0]);
}

/* A value or position no answer could carry back (an infinity is not JSON)
 * or off the globe is refused and counted, not stored. */
static void values_out_of_range_are_refused(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1e999,\"time\":0}",
        "{\"sensor\":\"s\",\"metric\":\"m\",\"value\":-1e999,\"time\":0}",
        "{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1,\"time\":0,\"lat\":90.5,\"lon\":17}",
        "{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1,\"time\":0,\"lat\":49,\"lon\":-1e999}",
    };
    expect_refused(bodies, sizeof bodies / sizeof bodies[0]);
    struct batch *b = parse("{\"sensor\":\"s\",\"metric\":\"m\",\"value\":1e300,\"time\":0,\"lat\":-90,\"lon\":180}");
    assert_int_equal(b->len, 1);
    assert_true(b->v[0].has_location);
    batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readings_parse),
        cmocka_unit_test(time_out_of_range_is_refused),
        cmocka_unit_test(values_out_of_range_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
