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

/* A plugin with routes, to see the mock route HTTP as the daemon does. */
static const struct mst_host *routes_host;

static void route_info(void *arg, mst_http_request *req)
{
    (void)arg;
    const char *path = routes_host->http_path(req);
    routes_host->http_set_header(req, "X-Subpath", routes_host->http_subpath(req));
    routes_host->http_respond(req, 200, "text/plain", path, strlen(path));
}

static int routes_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    routes_host = host;
    *state = NULL;
    int rc = host->http_route(inst, "GET", "info", MST_ROLE_PUBLIC, route_info, NULL);
    if (rc == 0)
        rc = host->http_route(inst, "POST", "info", MST_ROLE_OPERATOR, route_info, NULL);
    if (rc == 0)
        rc = host->http_route(inst, "GET", "files/*", MST_ROLE_PUBLIC, route_info, NULL);
    if (rc == 0 && host->http_route(inst, "GET", "info", MST_ROLE_PUBLIC, route_info, NULL) != MST_EEXIST)
        rc = -1;
    return rc;
}

static const struct mst_plugin routes_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "routes",
    .version = "0.0.1",
    .init = routes_init,
};

static void expect_http(struct mst_mock *m, const char *method, const char *path, enum mst_role role,
                        int want_status, const char *want_body)
{
    int status = 0;
    char *body = NULL;
    assert_int_equal(mst_mock_http(m, method, path, role, NULL, 0, &status, &body, NULL), 0);
    assert_int_equal(status, want_status);
    assert_string_equal(body, want_body);
    free(body);
}

/* The same answers, to the byte, as tests/integration/test_http.py gets
 * from the daemon: both come from core/http_route.c. */
static void http_routes_answer_as_the_daemon(void **state)
{
    (void)state;
    struct mst_mock *m = mst_mock_new(&routes_plugin, NULL);
    assert_non_null(m);
    assert_int_equal(mst_mock_init(m), 0);
    expect_http(m, "GET", "info", MST_ROLE_PUBLIC, 200, "/api/mock/info");
    expect_http(m, "GET", "info/", MST_ROLE_PUBLIC, 200, "/api/mock/info/"); /* the trailing-slash rule */
    expect_http(m, "HEAD", "info", MST_ROLE_PUBLIC, 200, "/api/mock/info");
    expect_http(m, "DELETE", "info", MST_ROLE_ADMIN, 405,
                "{\"error\":\"DELETE is not allowed on /api/mock/info; allowed: POST, GET\",\"status\":405}\n");
    assert_string_equal(mst_mock_http_header(m, "allow"), "POST, GET");
    expect_http(m, "GET", "nowhere", MST_ROLE_PUBLIC, 404,
                "{\"error\":\"no route /api/mock/nowhere\",\"status\":404}\n");
    assert_null(mst_mock_http_header(m, "Allow"));
    expect_http(m, "POST", "info", MST_ROLE_PUBLIC, 403,
                "{\"error\":\"your token's role (public) may not call this route, which needs operator\","
                "\"status\":403}\n");
    expect_http(m, "POST", "info", MST_ROLE_OPERATOR, 200, "/api/mock/info");
    expect_http(m, "GET", "files/a/b.csv", MST_ROLE_PUBLIC, 200, "/api/mock/files/a/b.csv");
    assert_string_equal(mst_mock_http_header(m, "X-Subpath"), "a/b.csv");
    expect_http(m, "GET", "files", MST_ROLE_PUBLIC, 200, "/api/mock/files");
    mst_mock_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heartbeat_publishes_on_its_interval),
        cmocka_unit_test(defaults_come_from_the_schema),
        cmocka_unit_test(http_routes_answer_as_the_daemon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
