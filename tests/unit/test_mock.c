/* test_mock.c - the SDK's mock host drives the heartbeat plugin with no
 * daemon at all, as a vendor's unit test would. */
#include "harness.h"

#include <dlfcn.h>

#include <mestys/mock.h>

#include "config.h"
#include "topic.h"

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

/* --- the mock answers with the daemon's code: config and topics ---------- */

static const struct mst_config_key limits_keys[] = {
    {.key = "max", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "50", .min = 1,
     .max = 1000, .description = "a default inside a section"},
    {0},
};

static const struct mst_config_key sectioned_keys[] = {
    {.key = "limits", .type = MST_CFG_OBJECT, .fields = limits_keys, .description = "a section"},
    {0},
};

static const char *const lora_topics[] = {"lora/#", NULL};

static int64_t seen_max;

static int sectioned_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    *state = NULL;
    seen_max = 0;
    host->config_int(inst, "limits.max", &seen_max); /* 0 stays if absent */
    return 0;
}

/* What a schema table cannot say: limits.max must be even. */
static int sectioned_check(const char *config, char *path, size_t path_len, char *msg, size_t msg_len)
{
    cJSON *c = cJSON_Parse(config);
    cJSON *max = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "limits"), "max");
    int odd = cJSON_IsNumber(max) && max->valueint % 2;
    cJSON_Delete(c);
    if (!odd)
        return 0;
    snprintf(path, path_len, "limits.max");
    snprintf(msg, msg_len, "must be even");
    return MST_EINVAL;
}

static const struct mst_plugin sectioned = {
    .abi_version = 1, .struct_size = sizeof(struct mst_plugin), .name = "sectioned",
    .version = "1.0.0", .config = sectioned_keys, .publishes = lora_topics,
    .subscribes = lora_topics, .serves = lora_topics, .requests = lora_topics,
    .init = sectioned_init, .check = sectioned_check,
};

static void nested_default_is_seen_as_under_the_daemon(void **state)
{
    (void)state;
    struct mst_mock *m = mst_mock_new(&sectioned, "{}");
    assert_non_null(m);
    assert_int_equal(mst_mock_init(m), 0);
    assert_int_equal(seen_max, 50);
    mst_mock_free(m);
    /* the schema's range holds under the mock as in mestysd */
    assert_null(mst_mock_new(&sectioned, "{\"limits\": {\"max\": 0}}"));
    assert_null(mst_mock_new(&sectioned, "{\"limits\": {\"maxx\": 5}}"));
}

/* The plugin's own check runs before init, as in mestysd and `mestys check`. */
static void plugin_check_runs_as_in_the_daemon(void **state)
{
    (void)state;
    assert_null(mst_mock_new(&sectioned, "{\"limits\": {\"max\": 51}}"));
    struct mst_mock *m = mst_mock_new(&sectioned, "{\"limits\": {\"max\": 52}}");
    assert_non_null(m);
    assert_int_equal(mst_mock_reload(m, "{\"limits\": {\"max\": 53}}"), MST_ECONFIG);
    mst_mock_free(m);
}

/* The daemon's config loader and the mock complete a real plugin's config
 * (testplug.so: a nested section, ranges, choices) to the same JSON. */
static void config_is_completed_as_by_the_daemon(void **state)
{
    (void)state;
    setenv("MESTYS_PLUGIN_PATH", env_or_fail("MESTYS_TEST_PLUGIN_DIR"), 1);
    char *dir = make_tmpdir();
    char *file = write_file(dir, "mestys.json",
                            "{\"plugins\": [{\"use\": \"testplug\", \"config\": {\"label\": \"x\"}}]}");
    struct mst__loader loader;
    mst__loader_init(&loader);
    struct mst__diag diag = {0};
    struct mst__config *cfg = NULL;
    assert_int_equal(mst__config_load(file, &loader, &diag, &cfg), 0);
    char *daemon_sees = cJSON_PrintUnformatted(cfg->instances[0].config);

    struct mst_mock *m = mst_mock_new(cfg->instances[0].module->plugin, "{\"label\": \"x\"}");
    assert_non_null(m);
    char *mock_sees = mst_mock_host(m)->config_json(mst_mock_instance(m), "");
    assert_string_equal(mock_sees, daemon_sees);

    free(mock_sees);
    free(daemon_sees);
    mst_mock_free(m);
    mst__config_free(cfg);
    mst__diag_free(&diag);
    mst__loader_close(&loader);
    free(file);
    remove_tmpdir(dir);
}

static int caught;

static void on_caught(void *arg, const char *topic, const char *body, size_t len)
{
    (void)arg, (void)topic, (void)body, (void)len;
    caught++;
}

/* Wildcards deliver exactly where the daemon's bus does. */
static void topic_wildcards_match_as_in_the_daemon(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"lora/uplink", "lora/uplink"}, {"lora/uplink", "lora/uplinks"}, {"lora/#", "lora/uplink"},
        {"lora/#", "lora/gw/stat"},     {"lora/#", "lora"},              {"lora/#", "lorawan/x"},
        {"lora/gw/#", "lora/gw/x"},     {"lora/gw/#", "lora/gwx"},       {"lora/gw/#", "lora/gw"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mst_mock *m = mst_mock_new(&sectioned, NULL);
        assert_int_equal(mst_mock_init(m), 0);
        const struct mst_host *h = mst_mock_host(m);
        assert_int_equal(h->subscribe(mst_mock_instance(m), cases[i][0], on_caught, NULL), 0);
        caught = 0;
        mst_mock_deliver(m, cases[i][1], "{}", 2);
        if (caught != mst__topic_matches(cases[i][0], cases[i][1]))
            fail_msg("%s on %s: mock %d, daemon %d", cases[i][0], cases[i][1], caught,
                     mst__topic_matches(cases[i][0], cases[i][1]));
        mst_mock_free(m);
    }
}

/* What mestysd's host table answers to each call (core/host.c; see
 * test_lua.c's acl test), the mock answers too. */
static void declared_topics_are_enforced_as_in_the_daemon(void **state)
{
    (void)state;
    struct mst_mock *m = mst_mock_new(&sectioned, NULL);
    assert_int_equal(mst_mock_init(m), 0);
    const struct mst_host *h = mst_mock_host(m);
    mst_instance *inst = mst_mock_instance(m);
    assert_int_equal(h->publish(inst, "lora/uplink", "{}", 2), 0);
    assert_int_equal(h->publish(inst, "reading", "{}", 2), MST_EACCES);
    assert_int_equal(h->publish(inst, "lora/#", "{}", 2), MST_EINVAL);
    assert_int_equal(h->publish(inst, "lora//uplink", "{}", 2), MST_EINVAL);
    assert_int_equal(h->publish(inst, "lora/up link", "{}", 2), MST_EINVAL);
    assert_int_equal(h->subscribe(inst, "lora/gw/#", on_caught, NULL), 0);
    assert_int_equal(h->subscribe(inst, "#", on_caught, NULL), MST_EACCES);
    assert_int_equal(h->subscribe(inst, "lora/#/x", on_caught, NULL), MST_EINVAL);
    assert_int_equal(h->serve(inst, "lora/#", NULL, NULL), MST_EINVAL);
    assert_int_equal(h->serve(inst, "store/query", NULL, NULL), MST_EACCES);
    mst_mock_free(m);
}

/* --- a plugin returns the first error it met, never codes OR-ed --------- */

static int metric_calls;

/* The first metric is refused with one code, later ones with another: OR-ed
 * together they would read MST_EINVAL (-5 | -2 == -1). */
static int refusing_metric(mst_instance *inst, enum mst_metric_kind kind, const char *name,
                           const char *help, mst_metric **out)
{
    (void)inst, (void)kind, (void)name, (void)help, (void)out;
    return metric_calls++ == 0 ? MST_EACCES : MST_ENOMEM;
}

static void plugins_return_the_first_metric_error(void **state)
{
    (void)state;
    static const char *const plugins[] = {"store", "lora"};
    for (size_t i = 0; i < sizeof plugins / sizeof plugins[0]; i++) {
        char *so = mst__xasprintf("%s/plugins/%s.so", env_or_fail("MESTYS_BUILD_DIR"), plugins[i]);
        void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
        if (!dl)
            fail_msg("%s: %s", so, dlerror());
        const struct mst_plugin *p = dlsym(dl, MST_PLUGIN_SYMBOL);
        assert_non_null(p);
        struct mst_mock *m = mst_mock_new(p, NULL);
        if (!m)
            fail_msg("%s: the mock refused its default config", plugins[i]);
        struct mst_host refusing = *mst_mock_host(m);
        refusing.metric = refusing_metric;
        metric_calls = 0;
        void *plugin_state = NULL;
        int rc = p->init(mst_mock_instance(m), &refusing, &plugin_state);
        if (rc != MST_EACCES)
            fail_msg("%s: init returned %s, not the first error MST_EACCES", plugins[i], mst_err_name(rc));
        mst_mock_free(m); /* init failed: the mock does not call fini */
        dlclose(dl);
        free(so);
    }
}

/* http_static under the mock: the daemon's mount table says yes and no */
static int pages_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    *state = NULL;
    struct mst_http_static_opts o = {.struct_size = sizeof o, .img_src = "https://tile.openstreetmap.org"};
    if (!MST_HOST_HAS(host, http_static) || host->http_static(inst, "", "web", &o) != 0)
        return -1;
    if (host->http_static(inst, "/", "other", NULL) != MST_EEXIST)
        return -2;
    if (host->http_static(inst, "api", "x", NULL) != MST_EINVAL)
        return -3;
    if (host->http_static(inst, "mock", "../x", NULL) != MST_EINVAL)
        return -4;
    if (host->http_static(inst, "mock", "/nonexistent-mestys-folder", NULL) != MST_ENOENT)
        return -5;
    o.img_src = "https://a.org; script-src *";
    if (host->http_static(inst, "mock", "web", &o) != MST_EINVAL)
        return -6;
    return host->http_static(inst, "mock", "web", NULL);
}

static void http_static_mounts_as_in_the_daemon(void **state)
{
    (void)state;
    static const struct mst_plugin pages = {
        .abi_version = 1, .struct_size = sizeof(struct mst_plugin), .name = "pages", .version = "0.0.1",
        .init = pages_init};
    struct mst_mock *m = mst_mock_new(&pages, NULL);
    assert_non_null(m);
    assert_int_equal(mst_mock_init(m), 0);
    mst_mock_free(m);
}

/* health_set under the mock: the last problem is kept, NULL or "" clears it */
static int problem_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    *state = NULL;
    if (!MST_HOST_HAS(host, health_set))
        return -1;
    host->health_set(inst, "first");
    return host->health_set(inst, "PostgreSQL unreachable");
}

static void health_set_is_kept_and_cleared(void **state)
{
    (void)state;
    static const struct mst_plugin sick = {
        .abi_version = 1, .struct_size = sizeof(struct mst_plugin), .name = "sick", .version = "0.0.1",
        .init = problem_init};
    struct mst_mock *m = mst_mock_new(&sick, NULL);
    assert_non_null(m);
    assert_null(mst_mock_health_problem(m));
    assert_int_equal(mst_mock_init(m), 0);
    assert_string_equal(mst_mock_health_problem(m), "PostgreSQL unreachable");
    mst_mock_host(m)->health_set(mst_mock_instance(m), "");
    assert_null(mst_mock_health_problem(m));
    mst_mock_host(m)->health_set(mst_mock_instance(m), "again");
    mst_mock_host(m)->health_set(mst_mock_instance(m), NULL);
    assert_null(mst_mock_health_problem(m));
    mst_mock_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heartbeat_publishes_on_its_interval),
        cmocka_unit_test(health_set_is_kept_and_cleared),
        cmocka_unit_test(defaults_come_from_the_schema),
        cmocka_unit_test(http_routes_answer_as_the_daemon),
        cmocka_unit_test(http_static_mounts_as_in_the_daemon),
        cmocka_unit_test(nested_default_is_seen_as_under_the_daemon),
        cmocka_unit_test(plugin_check_runs_as_in_the_daemon),
        cmocka_unit_test(config_is_completed_as_by_the_daemon),
        cmocka_unit_test(topic_wildcards_match_as_in_the_daemon),
        cmocka_unit_test(declared_topics_are_enforced_as_in_the_daemon),
        cmocka_unit_test(plugins_return_the_first_metric_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
