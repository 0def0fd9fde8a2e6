/* test_mock.c - the SDK's mock host drives the heartbeat plugin with no
 * daemon at all, as a vendor's unit test would. */
#include "harness.h"

#include <mestys/mock.h>

extern const struct mst_plugin mestys_plugin; /* heartbeat.c, linked in */

static void heartbeat_publishes_on_its_interval(void **state)
{
    (void)state;
    struct mst_mock *m = mst_mock_new(&mestys_plugin, "{\"interval_ms\": 100}");
    assert_non_null(m);
    assert_int_equal(mst_mock_init(m), 0);
    assert_int_equal(mst_mock_start(m), 0);
    mst_mock_advance(m, 250);
    assert_int_equal(mst_mock_published_count(m, "node/heartbeat"), 2);
    size_t len;
    const char *body = mst_mock_last_published(m, "node/heartbeat", &len);
    assert_non_null(strstr(body, "\"seq\":2"));
    assert_non_null(strstr(body, "\"uptime_ms\":200"));
    assert_int_equal(mst_mock_metric(m, "beats_total"), 2);
    /* node/ping/<instance> answers with the same body */
    int status;
    char *reply = NULL;
    assert_int_equal(mst_mock_request(m, "node/ping/mock", "", 0, &status, &reply, NULL), 0);
    assert_int_equal(status, 0);
    assert_non_null(strstr(reply, "\"node\":\"mock-node\""));
    free(reply);
    /* a reload with a new interval re-arms the timer */
    assert_int_equal(mst_mock_reload(m, "{\"interval_ms\": 1000}"), 0);
    mst_mock_advance(m, 999);
    assert_int_equal(mst_mock_published_count(m, "node/heartbeat"), 2);
    mst_mock_advance(m, 1);
    assert_int_equal(mst_mock_published_count(m, "node/heartbeat"), 3);
    mst_mock_stop(m);
    mst_mock_advance(m, 5000);
    assert_int_equal(mst_mock_published_count(m, "node/heartbeat"), 3);
    mst_mock_free(m);
}

static void defaults_come_from_the_schema(void **state)
{
    (void)state;
    struct mst_mock *m = mst_mock_new(&mestys_plugin, NULL);
    int64_t v = 0;
    assert_int_equal(mst_mock_host(m)->config_int(mst_mock_instance(m), "interval_ms", &v), 0);
    assert_int_equal(v, 10000);
    assert_null(mst_mock_new(&mestys_plugin, "not json"));
    mst_mock_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heartbeat_publishes_on_its_interval),
        cmocka_unit_test(defaults_come_from_the_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
