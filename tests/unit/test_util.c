/* test_util.c - topic patterns, the string map, metrics rendering, the
 * mailbox, and JSON positions. */
#include "harness.h"

#include "http_chunked.h"
#include "json_path.h"
#include "jsonpos.h"
#include "mailbox.h"
#include "statelock.h"
#include "metrics.h"
#include "strmap.h"
#include "topic.h"

#include <mestys/number.h>
#include <mestys/time.h>
#include <mestys/utf8.h>

/* mkdir -p says what the system said, with a code that is not the bus ACL's */
static void mkdirs_reports_the_system_reason(void **state)
{
    (void)state;
    char dir[] = "/tmp/mestys-mkdirs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *file = mst__xasprintf("%s/file", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    char *under = mst__xasprintf("%s/state/x", file);
    errno = 0;
    assert_int_equal(mst__mkdirs(under, 0750), MST_ENOENT);
    assert_int_equal(errno, ENOTDIR);
    errno = 0;
    assert_int_equal(mst__mkdirs(file, 0750), MST_ENOENT); /* there, but not a folder */
    assert_int_equal(errno, ENOTDIR);
    char *deep = mst__xasprintf("%s/a/b/c", dir);
    assert_int_equal(mst__mkdirs(deep, 0750), 0);
    assert_int_equal(mst__mkdirs(deep, 0750), 0);
    assert_int_equal(mst__errno_code(EACCES), MST_EPERM);
    assert_int_equal(mst__errno_code(EADDRINUSE), MST_EADDRINUSE);
    assert_int_equal(mst__errno_code(EISDIR), MST_EIO);
    assert_string_not_equal(mst_strerror(MST_EPERM), mst_strerror(MST_EACCES));
    errno = 0;
    assert_null(mst__read_file(dir, NULL));
    assert_int_equal(errno, EISDIR);
    for (char *slash; rmdir(deep) == 0 && (slash = strrchr(deep, '/')) && slash > deep + strlen(dir);)
        *slash = '\0';
    unlink(file);
    assert_int_equal(rmdir(dir), 0);
    free(deep);
    free(under);
    free(file);
}

/* OFD locks belong to the open file, so even one process cannot take it twice */
static void state_lock_is_exclusive(void **state)
{
    (void)state;
    char dir[] = "/tmp/mestys-lock-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char why[512] = "";
    int first = -1, second = -1;
    assert_int_equal(mst__statelock_take(dir, &first, why, sizeof why), 0);
    assert_true(first >= 0);
    assert_int_equal(mst__statelock_take(dir, &second, why, sizeof why), MST_EEXIST);
    assert_int_equal(second, -1);
    char *expect = mst__xasprintf("state folder %s is in use by another mestysd (PID %ld); stop that one, "
                                  "or give this one its own node.state_dir", dir, (long)getpid());
    assert_string_equal(why, expect);
    free(expect);
    mst__statelock_release(first);
    assert_int_equal(mst__statelock_take(dir, &second, why, sizeof why), 0);
    mst__statelock_release(second);
    char *missing = mst__xasprintf("%s/no/such/folder", dir);
    assert_int_equal(mst__statelock_take(missing, &second, why, sizeof why), MST_ENOENT);
    assert_non_null(strstr(why, "No such file or directory"));
    free(missing);
    char *lock = mst__xasprintf("%s/.lock", dir);
    unlink(lock);
    free(lock);
    assert_int_equal(rmdir(dir), 0);
}

static void topic_patterns(void **state)
{
    (void)state;
    assert_true(mst__topic_matches("lora/uplink", "lora/uplink"));
    assert_false(mst__topic_matches("lora/uplink", "lora/uplinks"));
    assert_true(mst__topic_matches("lora/#", "lora/uplink"));
    assert_true(mst__topic_matches("lora/#", "lora/gw/stat"));
    assert_false(mst__topic_matches("lora/#", "lora"));
    assert_false(mst__topic_matches("lora/#", "lorawan/x"));
    assert_true(mst__topic_matches("#", "anything/at/all"));
    assert_true(mst__valid_topic("charging/status"));
    assert_false(mst__valid_topic(""));
    assert_false(mst__valid_topic("/lead"));
    assert_false(mst__valid_topic("trail/"));
    assert_false(mst__valid_topic("dou//ble"));
    assert_false(mst__valid_topic("has space"));
    assert_false(mst__valid_topic("wild/#"));
    assert_true(mst__valid_pattern("wild/#"));
    assert_false(mst__valid_pattern("wi#ld"));
}

static void strmap_put_get_del(void **state)
{
    (void)state;
    struct mst__strmap m = {0};
    char keys[500][16];
    for (int i = 0; i < 500; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        mst__strmap_put(&m, keys[i], (void *)(intptr_t)(i + 1));
    }
    assert_int_equal(m.len, 500);
    for (int i = 0; i < 500; i += 2)
        assert_int_equal((intptr_t)mst__strmap_del(&m, keys[i]), i + 1);
    for (int i = 0; i < 500; i++)
        assert_int_equal((intptr_t)mst__strmap_get(&m, keys[i]), i % 2 ? i + 1 : 0);
    mst__strmap_put(&m, "k1", (void *)7);
    assert_int_equal((intptr_t)mst__strmap_get(&m, "k1"), 7);
    mst__strmap_free(&m, NULL);
}

static void metrics_render_prometheus(void **state)
{
    (void)state;
    struct mst__metrics r;
    mst__metrics_init(&r);
    struct mst_metric *c, *c2, *h;
    assert_int_equal(mst__metrics_get(&r, MST_METRIC_COUNTER, "x_total", "things", "a=\"1\"", &c), 0);
    assert_int_equal(mst__metrics_get(&r, MST_METRIC_COUNTER, "x_total", "things", "a=\"2\"", &c2), 0);
    assert_int_equal(mst__metrics_get(&r, MST_METRIC_GAUGE, "x_total", "things", "a=\"3\"", &h), MST_EINVAL);
    assert_int_equal(mst__metrics_get(&r, MST_METRIC_HISTOGRAM, "lat_seconds", "latency", "", &h), 0);
    mst__metric_add(c, 2);
    mst__metric_add(c2, 1);
    mst__metric_observe(h, 0.003);
    mst__metric_observe(h, 7);
    struct mst__buf b = {0};
    mst__metrics_render(&r, &b);
    assert_non_null(strstr(b.data, "# HELP x_total things\n# TYPE x_total counter\nx_total{a=\"1\"} 2\nx_total{a=\"2\"} 1\n"));
    assert_non_null(strstr(b.data, "lat_seconds_bucket{le=\"0.0025\"} 0\n"));
    assert_non_null(strstr(b.data, "lat_seconds_bucket{le=\"0.005\"} 1\n"));
    assert_non_null(strstr(b.data, "lat_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(b.data, "lat_seconds_count 2\n"));
    mst__buf_free(&b);
    mst__metrics_free(&r);
}

struct got {
    size_t n;
    intptr_t sum;
};

static void deliver(struct mst__mailbox *mb, const struct mst__letter *l, size_t n)
{
    struct got *g = mb->data;
    for (size_t i = 0; i < n; i++) {
        g->n++;
        g->sum += (intptr_t)l[i].ptr;
    }
}

static void *poster(void *arg)
{
    struct mst__mailbox *mb = arg;
    for (intptr_t i = 1; i <= 10000; i++)
        mst__mailbox_post(mb, 1, (void *)i);
    return NULL;
}

static void mailbox_across_threads(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct got g = {0};
    struct mst__mailbox mb;
    mst__mailbox_init(&loop, &mb, deliver, &g);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, poster, &mb);
    pthread_create(&t2, NULL, poster, &mb);
    uint64_t end = mst__now_ns() + 5000000000ull;
    while (g.n < 20000 && mst__now_ns() < end)
        uv_run(&loop, UV_RUN_NOWAIT);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    mst__mailbox_close(&mb, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(g.n, 20000);
    assert_int_equal(g.sum, 2 * (10000 * 10001 / 2));
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void json_positions(void **state)
{
    (void)state;
    char text[] = "{\n  // comment \"with quotes\"\n  \"a\": [1, {\"b\": \"x\"}],\n  \"č\": true\n}";
    size_t err;
    assert_int_equal(mst__json_strip_comments(text, strlen(text), &err), 0);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    struct mst__jsonpos *jp = mst__jsonpos_build(text, strlen(text), root);
    int line, col;
    cJSON *b = mst__json_lookup(root, "a[1].b");
    assert_int_equal(mst__jsonpos_key(jp, b, &line, &col), 0);
    assert_int_equal(line, 3);
    assert_int_equal(col, 13);
    assert_int_equal(mst__jsonpos_value(jp, b, &line, &col), 0);
    assert_int_equal(col, 18);
    cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "č");
    assert_int_equal(mst__jsonpos_value(jp, c, &line, &col), 0);
    assert_int_equal(line, 4);
    assert_int_equal(col, 8); /* columns count characters, not bytes */
    mst__jsonpos_free(jp);
    cJSON_Delete(root);
}

/* mestys/time.h: every day of 1900..2200 round-trips, and a person's typos are refused */
static void iso_times(void **state)
{
    (void)state;
    char out[32];
    for (int64_t day = -25567; day < 84000; day += 1) {
        int64_t ms = day * 86400000 + 45296789, back;
        mst_time_format(ms, out);
        time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        struct tm tm;
        char want[32];
        gmtime_r(&t, &tm);
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S.789Z", &tm);
        assert_string_equal(out, want);
        assert_int_equal(mst_time_parse(out, &back), 0);
        assert_true(back == ms);
    }
    int64_t ms;
    assert_int_equal(mst_time_parse("2026-11-21T10:00:00+01:00", &ms), 0);
    assert_true(ms == 1795251600000); /* 09:00Z, as Python reads it */
    assert_int_equal(mst_time_parse("2026-11-21", &ms), 0);
    assert_true(ms == 1795219200000);
    assert_int_equal(mst_time_parse("2026-11-21T10:00:00.5Z", &ms), 0);
    assert_true(ms == 1795255200500);
    static const char *const bad[] = {"yesterday", "2026-11-21T10:00:00", "2026-13-01", "2026-02-30",
                                      "2026-11-21T24:00:00Z", "2026-11-21T10:00Z", "2026-11-21T10:00:00.Z",
                                      "2026-11-21T10:00:00+1:00", "2026-11-21T10:00:00Zjunk", "", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(mst_time_parse(bad[i], &ms), -1);
    mst_time_format(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

/* mestys/time.h: times outside the years 0..9999 are refused on the way in
 * and clamped on the way out, never cast or written as nonsense */
static void times_out_of_range(void **state)
{
    (void)state;
    int64_t ms = 42;
    assert_int_equal(mst_time_from_number(1e300, &ms), -1);
    assert_int_equal(mst_time_from_number(-1e300, &ms), -1);
    assert_int_equal(mst_time_from_number(NAN, &ms), -1);
    assert_int_equal(mst_time_from_number(INFINITY, &ms), -1);
    assert_int_equal(mst_time_from_number((double)MST_TIME_MAX_MS + 1, &ms), -1);
    assert_true(ms == 42);
    assert_int_equal(mst_time_from_number((double)MST_TIME_MAX_MS, &ms), 0);
    assert_true(ms == MST_TIME_MAX_MS);
    assert_int_equal(mst_time_from_number(1795255200500.9, &ms), 0);
    assert_true(ms == 1795255200500);
    char out[32];
    mst_time_format(MST_TIME_MAX_MS, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    mst_time_format(INT64_MAX, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    mst_time_format(MST_TIME_MIN_MS, out);
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    mst_time_format(INT64_MIN, out);
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    assert_int_equal(mst_time_parse("0000-01-01T00:00:00Z", &ms), 0);
    assert_true(ms == MST_TIME_MIN_MS);
    assert_int_equal(mst_time_parse("9999-12-31T23:59:59.999Z", &ms), 0);
    assert_true(ms == MST_TIME_MAX_MS);
    assert_int_equal(mst_time_parse("0000-01-01T00:00:00+01:00", &ms), -1);
    assert_int_equal(mst_time_parse("9999-12-31T23:30:00-01:00", &ms), -1);
}

/* mestys/number.h: what it writes reads back as the same double */
static void number_text(void **state)
{
    (void)state;
    char out[32];
    static const struct {
        double v;
        const char *text;
    } cases[] = {{0, "0"}, {21.5, "21.5"}, {-3.25, "-3.25"}, {0.1, "0.1"}, {49.5938, "49.5938"},
                 {1e15, "1e+15"}, {123456789012, "123456789012"}, {0.000001, "0.000001"},
                 {1e-7, "1e-07"}, {0.1 + 0.2, "0.30000000000000004"}, {-0.5, "-0.5"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mst_number_format(cases[i].v, out);
        assert_string_equal(out, cases[i].text);
    }
    unsigned seed = 7;
    for (int i = 0; i < 200000; i++) {
        double v = (double)(int)(rand_r(&seed) % 2000000 - 1000000) / (double)(1 + rand_r(&seed) % 100000);
        mst_number_format(v, out);
        assert_true(strtod(out, NULL) == v);
    }
    mst_number_format(NAN, out);
    assert_string_equal(out, "null");
}

/* Markus Kuhn's UTF-8 decoder capability and stress test, sections 1-5 */
static void utf8_validation(void **state)
{
    (void)state;
    static const char *good[] = {
        "", "plain ASCII", "\x00", "\x7f",
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", /* 1: Greek "kosme" */
        "\xc2\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80",  /* 2.1: first of each length */
        "\xdf\xbf", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf",  /* 2.2/2.3: last, U+10FFFF */
        "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbd",  /* 2.3: around surrogates */
        "\xef\xbf\xbe",                                  /* 5.3: U+FFFE is a code point */
        "P\xc5\x99\xc3\xad\x62ram",                      /* Czech: Příbram */
    };
    static const char *bad[] = {
        "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", /* 2.1: 5 and 6 bytes */
        "\xf7\xbf\xbf\xbf", "\xf4\x90\x80\x80",             /* 2.2: > U+10FFFF */
        "\x80", "\xbf", "\x80\xbf", "\x80\xbf\x80",         /* 3.1: lone continuations */
        "\xc0 ", "\xe0 ", "\xf0 ", "\xf8 ", "\xfc ",        /* 3.2: lead then space */
        "\xc0", "\xe0\x80", "\xf0\x80\x80",                 /* 3.3: last byte missing */
        "\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xe1\x80", "\xf1\x80\x80",
        "\xfe", "\xff", "\xfe\xfe\xff\xff",                 /* 3.5: impossible bytes */
        "\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf",     /* 4.1: overlong "/" */
        "\xc1\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf",     /* 4.2: largest overlongs */
        "\xc0\x80", "\xe0\x80\x80", "\xf0\x80\x80\x80",     /* 4.3: overlong NUL */
        "\xed\xa0\x80", "\xed\xad\xbf", "\xed\xae\x80",     /* 5.1: single surrogates */
        "\xed\xaf\xbf", "\xed\xb0\x80", "\xed\xbe\x80", "\xed\xbf\xbf",
        "\xed\xa0\x80\xed\xb0\x80",                         /* 5.2: surrogate pair */
        "ok\xc3(", "ok\xe2\x82(", "\xe2\x28\xa1",           /* bad continuation */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(mst_utf8_valid(good[i], i == 2 ? 1 : strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mst_utf8_valid(bad[i], strlen(bad[i])))
            fail_msg("bad[%zu] accepted", i);
    }
    /* 3.4: every truncated sequence of the longest forms, concatenated */
    const char cut[] = "\xc0\xe0\x80\xf0\x80\x80\xdf\xef\xbf\xf7\xbf\xbf";
    assert_false(mst_utf8_valid(cut, sizeof cut - 1));
    /* a valid sequence cut by len, not by a NUL */
    assert_false(mst_utf8_valid("\xe2\x82\xac", 2));
    assert_true(mst_utf8_valid("\xe2\x82\xac", 3));
}

/* The line of the first byte that is not UTF-8: what a refusal names. */
static void utf8_invalid_line(void **state)
{
    (void)state;
    const char ok[] = "dev_eui,name\n0004A30B001C0778,n\xC3\xA1m\xC4\x9Bst\xC3\xAD\n";
    assert_int_equal(mst_utf8_invalid_line(ok, sizeof ok - 1), 0);
    assert_int_equal(mst_utf8_invalid_line("", 0), 0);
    /* Windows-1250 / Latin-2 "náměstí" on the third line */
    const char latin2[] = "dev_eui,name\r\n0004A30B001C0778,kasna\r\n0004A30B001C0779,n\xE1m\xECst\xED\r\n";
    assert_int_equal(mst_utf8_invalid_line(latin2, sizeof latin2 - 1), 3);
    const char cut[] = "dev_eui,name\n0004A30B001C0778,\xC3"; /* the text ends inside a character */
    assert_int_equal(mst_utf8_invalid_line(cut, sizeof cut - 1), 2);
    assert_int_equal(mst_utf8_invalid_line("\xED\xA0\x80\n", 4), 1); /* a surrogate */
    assert_int_equal(mst_utf8_invalid_line("a\n\n\nb\xC3\x28", 7), 4);
}

/* A chunked body decodes the same whatever way the bytes are cut. */
static void chunked_bodies(void **state)
{
    (void)state;
    const char wire[] = "4\r\nWiki\r\n6;name=v\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nnext";
    for (size_t step = 1; step <= sizeof wire; step++) {
        struct mst__chunked c = {0};
        struct mst__buf body = {0};
        int rc = 0;
        for (size_t off = 0; off < sizeof wire - 1 && rc == 0; off += step) {
            size_t n = sizeof wire - 1 - off < step ? sizeof wire - 1 - off : step;
            rc = mst__chunked_feed(&c, wire + off, n, &body, 1000);
        }
        assert_int_equal(rc, 1);
        assert_int_equal(body.len, 24);
        assert_memory_equal(body.data, "Wikipedia in \r\n\r\nchunks.", 24);
        mst__buf_free(&body);
    }
    static const char *const broken[] = {"x\r\n", "\r\n", "4\r\nWikiX", "4\nWiki", "1234567890abcdef0\r\n"};
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        struct mst__chunked c = {0};
        struct mst__buf body = {0};
        assert_int_equal(mst__chunked_feed(&c, broken[i], strlen(broken[i]), &body, 1000), MST_EINVAL);
        mst__buf_free(&body);
    }
    struct mst__chunked c = {0};
    struct mst__buf body = {0};
    assert_int_equal(mst__chunked_feed(&c, "8\r\n12345678\r\n", 13, &body, 10), 0);
    assert_int_equal(mst__chunked_feed(&c, "3\r\n", 3, &body, 10), MST_ETOOBIG);
    mst__buf_free(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topic_patterns),
        cmocka_unit_test(iso_times),
        cmocka_unit_test(times_out_of_range),
        cmocka_unit_test(number_text),
        cmocka_unit_test(utf8_validation),
        cmocka_unit_test(utf8_invalid_line),
        cmocka_unit_test(chunked_bodies),
        cmocka_unit_test(strmap_put_get_del),
        cmocka_unit_test(metrics_render_prometheus),
        cmocka_unit_test(mailbox_across_threads),
        cmocka_unit_test(json_positions),
        cmocka_unit_test(mkdirs_reports_the_system_reason),
        cmocka_unit_test(state_lock_is_exclusive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
