/* test_alloc.c - the plugins' parsers and buffers when memory runs out:
 * every allocation in turn fails, and each time the code says so instead
 * of writing through NULL (ASan would stop on that, and on a leak).
 *
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc: the calls in
 * the files compiled into this test (lora's csv.c, u64map.c, text.h and
 * store's parse.c) go through the wrappers below; cJSON's go through its
 * hooks, set to the same. */
#include "harness.h"

#include "../../plugins/lora/csv.h"
#include "../../plugins/lora/text.h"
#include "../../plugins/lora/u64map.h"
#include "../../plugins/store/store.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

/* -1: never fail; k >= 0: the allocation after k more succeeds fails. */
static long fail_in = -1;
static long allocations;

static int failing(void)
{
    allocations++;
    if (fail_in < 0)
        return 0;
    return fail_in-- == 0;
}

void *__wrap_malloc(size_t n)
{
    return failing() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return failing() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return failing() ? NULL : __real_realloc(p, n);
}

static void *json_malloc(size_t n)
{
    return __wrap_malloc(n);
}

static int setup(void **state)
{
    (void)state;
    cJSON_Hooks hooks = {json_malloc, free};
    cJSON_InitHooks(&hooks);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fail_in = -1;
    cJSON_InitHooks(NULL);
    return 0;
}

static const char csv[] = "\xEF\xBB\xBF"
                          "dev_eui,dev_addr,nwk_skey,app_skey,decoder,name,lat,lon,relax_fcnt\r\n"
                          "0004A30B001C0778,260B0002,33333333333333333333333333333333,44444444444444444444444444444444,"
                          "cayenne,\"N\xC3\xA1m\xC4\x9Bst\xC3\xAD, u \"\"ka\xC5\xA1ny\"\" with a name longer than "
                          "sixty-four bytes so that its field grows\",49.5,17.2,true\r\n"
                          "0004A30B001C0779,260B0003,55555555555555555555555555555555,66666666666666666666666666666666,"
                          "none,,,,\r\n";

static void csv_import_with_each_allocation_failing(void **state)
{
    (void)state;
    fail_in = -1;
    allocations = 0;
    const char *why = NULL;
    cJSON *all = csv_devices(csv, sizeof csv - 1, &why);
    assert_non_null(all);
    assert_int_equal(cJSON_GetArraySize(all), 2);
    cJSON_Delete(all);
    long needed = allocations;
    assert_true(needed > 10);
    for (long k = 0; k < needed; k++) {
        fail_in = k;
        why = NULL;
        cJSON *list = csv_devices(csv, sizeof csv - 1, &why);
        fail_in = -1;
        assert_null(list);
        assert_non_null(why);
        assert_string_equal(why, "out of memory");
    }
}

static void text_stops_growing_and_says_so(void **state)
{
    (void)state;
    struct text t = {0}, whole = {0};
    PUT(&t, "[");
    PUT(&whole, "[");
    fail_in = 0; /* the next allocation fails: the first buffer's room is all there is */
    for (int i = 0; i < 100; i++)
        put(&t, "{\"value\":%.10g},", i * 1.5);
    fail_in = -1;
    assert_true(t.failed);
    assert_true(t.len < t.cap);
    for (int i = 0; i < 100; i++)
        put(&whole, "{\"value\":%.10g},", i * 1.5);
    assert_false(whole.failed);
    /* what it holds is what was appended before memory ran out */
    assert_true(t.len > 1 && t.len < whole.len);
    assert_memory_equal(t.p, whole.p, t.len);
    size_t len = t.len;
    PUT(&t, "]"); /* and later appends do nothing */
    put_json_string(&t, "x");
    put_uint(&t, 42);
    assert_int_equal(t.len, len);
    free(t.p);
    free(whole.p);
}

static void map_full_of_keys_when_memory_runs_out(void **state)
{
    (void)state;
    struct u64map m = {0};
    static int values[200];
    uint64_t k = 0;
    fail_in = -1;
    for (; k < 47; k++) /* 47 of 64 slots: the next new key needs a bigger table */
        assert_int_equal(u64map_put(&m, k, &values[k]), 0);
    fail_in = 0;
    assert_int_equal(u64map_put(&m, 1000, &values[47]), -1);
    /* replacing a key needs no memory, so it works all the same */
    fail_in = 0;
    assert_int_equal(u64map_put(&m, 5, &values[100]), 0);
    fail_in = -1;
    assert_ptr_equal(u64map_get(&m, 5), &values[100]);
    assert_null(u64map_get(&m, 1000));
    for (uint64_t i = 0; i < 47; i++)
        if (i != 5)
            assert_ptr_equal(u64map_get(&m, i), &values[i]);
    assert_int_equal(u64map_put(&m, 1000, &values[47]), 0);
    assert_ptr_equal(u64map_get(&m, 1000), &values[47]);
    u64map_free(&m);
}

static void batch_free(struct batch *b)
{
    store_readings_free(b);
    free(b->v);
    memset(b, 0, sizeof *b);
}

static void store_readings_with_each_allocation_failing(void **state)
{
    (void)state;
    char body[] = "[{\"sensor\":\"0004A30B001C0530\",\"metric\":\"temperature_3\",\"value\":27.2,\"unit\":\"Cel\","
                  "\"time\":\"2026-11-22T10:00:00.000Z\",\"lat\":49.59,\"lon\":17.25,\"tags\":{\"street\":\"Husova\"}},"
                  "{\"sensor\":\"lhota-1\",\"metric\":\"humidity\",\"value\":50,\"time\":1795384800000},"
                  "{\"sensor\":\"x\"}]";
    struct message msg = {body, sizeof body - 1, NULL, 0};
    struct batch b = {.msgs = &msg, .n_msgs = 1};
    fail_in = -1;
    allocations = 0;
    store_parse_batch(&b);
    assert_int_equal(b.len, 2);
    assert_int_equal(b.refused, 1);
    assert_int_equal(b.no_memory, 0);
    batch_free(&b);
    long needed = allocations;
    for (long k = 0; k < needed; k++) {
        b = (struct batch){.msgs = &msg, .n_msgs = 1};
        fail_in = k;
        store_parse_batch(&b);
        fail_in = -1;
        /* each reading is kept, refused as not a reading, or dropped for memory */
        assert_true(b.len + b.refused + b.no_memory <= 3);
        assert_true(b.len < 2 || b.no_memory == 0);
        for (size_t i = 0; i < b.len; i++)
            assert_non_null(b.v[i].sensor);
        batch_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(csv_import_with_each_allocation_failing, setup, teardown),
        cmocka_unit_test_setup_teardown(text_stops_growing_and_says_so, setup, teardown),
        cmocka_unit_test_setup_teardown(map_full_of_keys_when_memory_runs_out, setup, teardown),
        cmocka_unit_test_setup_teardown(store_readings_with_each_allocation_failing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
