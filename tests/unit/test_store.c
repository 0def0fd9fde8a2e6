/* test_store.c - the store plugin alone: parsing `reading` bodies, and
 * store/query against a small in-memory store (the fuzz target's). */
#include "harness.h"

#include "../fuzz/store_db.h"

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


/* Runs one store/query body; returns the reply parsed, and its status. */
static cJSON *query(struct store *s, const char *body, int *status)
{
    char *text = store_query(s, s->readers[0], body, strlen(body), status);
    cJSON *reply = cJSON_Parse(text);
    free(text);
    assert_non_null(reply);
    return reply;
}

/* Each body is refused with an error that starts with `why`. */
static void expect_query_refused(struct store *s, const char *const *bodies, size_t n, const char *why)
{
    for (size_t i = 0; i < n; i++) {
        int status = 0;
        cJSON *reply = query(s, bodies[i], &status);
        const cJSON *error = cJSON_GetObjectItemCaseSensitive(reply, "error");
        if (status != MST_EINVAL || !cJSON_IsString(error) || strncmp(error->valuestring, why, strlen(why)) != 0)
            fail_msg("%s: status %d, %s", bodies[i], status, cJSON_IsString(error) ? error->valuestring : "no error");
        cJSON_Delete(reply);
    }
}

/* A limit no int64 holds was cast anyway (undefined behaviour); one that is
 * not a number was taken as the default. */
static void query_limit_out_of_range_is_refused(void **state)
{
    (void)state;
    struct store *s = store_db_open();
    assert_non_null(s);
    static const char *const bodies[] = {
        "{\"limit\":1e300}", "{\"limit\":-1e300}", "{\"limit\":1e999}", "{\"limit\":0}",
        "{\"limit\":101}",   "{\"limit\":2.5}",    "{\"limit\":\"5\"}", "{\"events\":\"notice\",\"limit\":1e300}",
    };
    expect_query_refused(s, bodies, sizeof bodies / sizeof bodies[0], "limit: must be 1..100");
    int status = 1;
    cJSON *reply = query(s, "{\"limit\":100}", &status);
    assert_int_equal(status, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(reply, "readings")), 5);
    cJSON_Delete(reply);
    store_db_close(s);
}

/* sscanf("%lld") of a number past LLONG_MAX is undefined behaviour, and it
 * took spaces, '+' and anything after the last number. */
static void query_cursor_not_given_is_refused(void **state)
{
    (void)state;
    struct store *s = store_db_open();
    assert_non_null(s);
    static const char *const bodies[] = {
        "{\"cursor\":\"99999999999999999999.1.1.1\"}",
        "{\"cursor\":\"20413.1.1.99999999999999999999\"}",
        "{\"cursor\":\"20413.-1.1.1795255200000\"}",
        "{\"cursor\":\"20413.1.1.253402300800000\"}",
        "{\"cursor\":\"9999999.1.1.1\"}",
        "{\"cursor\":\" 20413.1.1.1\"}",
        "{\"cursor\":\"+20413.1.1.1\"}",
        "{\"cursor\":\"20413.1.1.1x\"}",
        "{\"cursor\":\"20413.1.1\"}",
        "{\"cursor\":20413}",
        "{\"events\":\"notice\",\"cursor\":\"e99999999999999999999\"}",
        "{\"events\":\"notice\",\"cursor\":\"e-1\"}",
        "{\"events\":\"notice\",\"cursor\":\"e1 \"}",
    };
    expect_query_refused(s, bodies, sizeof bodies / sizeof bodies[0], "cursor: not one this store gave");
    store_db_close(s);
}

static void query_bbox_off_the_globe_is_refused(void **state)
{
    (void)state;
    struct store *s = store_db_open();
    assert_non_null(s);
    static const char *const bodies[] = {
        "{\"bbox\":[1e999,0,0,0]}", "{\"bbox\":[0,-1e300,1,1]}", "{\"bbox\":[-181,0,0,1]}",
        "{\"bbox\":[0,0,1,91]}",    "{\"bbox\":[1,0,0,1]}",      "{\"bbox\":[0,0,1]}",
    };
    expect_query_refused(s, bodies, sizeof bodies / sizeof bodies[0], "bbox: ");
    store_db_close(s);
}

/* A page at a time, each cursor the store gives: every reading once,
 * including one from before 1970, whose day table (r_-1) the writer could
 * not create without quoting its name, losing its whole batch. */
static void query_pages_walk_every_reading_once(void **state)
{
    (void)state;
    struct store *s = store_db_open();
    assert_non_null(s);
    char body[128] = "{\"limit\":1}";
    int pages = 0, s3 = 0;
    for (;;) {
        int status = 1;
        cJSON *reply = query(s, body, &status);
        assert_int_equal(status, 0);
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(reply, "readings");
        assert_int_equal(cJSON_GetArraySize(rows), 1);
        const cJSON *sensor = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, 0), "sensor");
        s3 += cJSON_IsString(sensor) && !strcmp(sensor->valuestring, "s3");
        pages++;
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(reply, "next");
        if (cJSON_IsNull(next)) {
            cJSON_Delete(reply);
            break;
        }
        assert_true(cJSON_IsString(next));
        snprintf(body, sizeof body, "{\"limit\":1,\"cursor\":\"%s\"}", next->valuestring);
        cJSON_Delete(reply);
    }
    assert_int_equal(pages, 5);
    assert_int_equal(s3, 1);
    store_db_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readings_parse),
        cmocka_unit_test(time_out_of_range_is_refused),
        cmocka_unit_test(values_out_of_range_are_refused),
        cmocka_unit_test(query_limit_out_of_range_is_refused),
        cmocka_unit_test(query_cursor_not_given_is_refused),
        cmocka_unit_test(query_bbox_off_the_globe_is_refused),
        cmocka_unit_test(query_pages_walk_every_reading_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
