/* test_config.c - every kind of config error, with the exact line:col. */
#include "harness.h"

#include "config.h"
#include "json_path.h"

static char *dir;
static struct mst__loader loader;

/* Loads text as dir/mestys.json; returns the diagnostics (caller frees). */
static char *load(const char *text, int *rc_out, struct mst__config **cfg_out)
{
    char *path = write_file(dir, "mestys.json", text);
    struct mst__diag diag = {0};
    struct mst__config *cfg = NULL;
    int rc = mst__config_load(path, &loader, &diag, &cfg);
    if (rc_out)
        *rc_out = rc;
    char *out = mst__xstrdup(diag.text.data ? diag.text.data : "");
    mst__diag_free(&diag);
    if (cfg_out && cfg)
        *cfg_out = cfg;
    else
        mst__config_free(cfg);
    free(path);
    return out;
}

/* Asserts that loading fails and one diagnostic line is exactly `line`
 * (with the file's path in front). */
static void expect_error(const char *text, const char *line)
{
    int rc;
    char *out = load(text, &rc, NULL);
    char *want = mst__xasprintf("%s/mestys.json:%s\n", dir, line);
    if (!strstr(out, want))
        fail_msg("expected\n  %s\ngot\n%s", want, out);
    assert_int_equal(rc, MST_ECONFIG);
    free(want);
    free(out);
}

static int setup(void **state)
{
    (void)state;
    dir = make_tmpdir();
    setenv("MESTYS_PLUGIN_PATH", env_or_fail("MESTYS_TEST_PLUGIN_DIR"), 1);
    mst__log_set_level(MST_LOG_ERROR);
    mst__loader_init(&loader);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mst__loader_close(&loader);
    remove_tmpdir(dir);
    return 0;
}

static void valid_config_gets_defaults(void **state)
{
    (void)state;
    struct mst__config *cfg = NULL;
    int rc;
    char *out = load("// a town\n{\n  /* block\n     comment */ \"node\": {\"name\": \"lhota\"},\n"
                     "  \"plugins\": [{\"use\": \"testplug\", \"config\": {\"label\": \"x\"}}]\n}\n",
                     &rc, &cfg);
    assert_int_equal(rc, 0);
    /* The default port may be held by a daemon running on this machine: that
     * warning is about the machine, not this config, and is the only one allowed. */
    if (strstr(out, "node.http.listen: cannot bind 127.0.0.1:8080 now: Address already in use\n"))
        assert_int_equal(strchr(out, '\n') - out + 1, strlen(out)); /* its one line, nothing else */
    else
        assert_string_equal(out, "");
    assert_string_equal(cfg->node_name, "lhota");
    assert_string_equal(cfg->http_listen, "127.0.0.1:8080");
    assert_int_equal(cfg->http_body_limit, 1048576);
    assert_int_equal(cfg->n_instances, 1);
    assert_string_equal(cfg->instances[0].name, "testplug");
    cJSON *interval = cJSON_GetObjectItemCaseSensitive(cfg->instances[0].config, "interval_ms");
    assert_non_null(interval);
    assert_int_equal(interval->valueint, 1000);
    cJSON *flag = mst__json_lookup(cfg->instances[0].config, "nested.flag");
    assert_true(cJSON_IsFalse(flag));
    mst__config_free(cfg);
    free(out);
}

static void unknown_key_lists_valid_keys(void **state)
{
    (void)state;
    expect_error("{\n  \"node\": {\n    \"htpp\": {}\n  }\n}\n",
                 "3:5: error: node.htpp: unknown key \"htpp\"; valid keys: name, state_dir, "
                 "log_level, plugin_path, http, lua");
    expect_error("{ \"nodes\": {} }", "1:3: error: nodes: unknown key \"nodes\"; valid keys: node, bus, plugins, tokens, trust");
}

static void wrong_type(void **state)
{
    (void)state;
    expect_error("{\"node\": {\"http\": {\"listen\": 8080}}}",
                 "1:30: error: node.http.listen: expected a string, got a number");
    expect_error("{\"plugins\": [{\"use\": \"testplug\", \"config\": {\"label\": \"x\", \"interval_ms\": 2.5}}]}",
                 "1:74: error: plugins[0].config.interval_ms: expected an integer, got a number");
    expect_error("{\"plugins\": {}}", "1:13: error: plugins: expected an array, got an object");
}

static void missing_required(void **state)
{
    (void)state;
    expect_error("{\"plugins\": [\n  {\"name\": \"a\"}\n]}",
                 "2:3: error: plugins[0].use: missing required key \"use\" (plugin name or path to a .so/.lua file)");
    expect_error("{\"plugins\": [{\"use\": \"testplug\",\n \"config\": {}}]}",
                 "2:12: error: plugins[0].config.label: missing required key \"label\" (a label)");
}

static void duplicate_instance_names(void **state)
{
    (void)state;
    expect_error("{\"plugins\": [\n"
                 "  {\"use\": \"testplug\", \"config\": {\"label\": \"a\"}},\n"
                 "  {\"use\": \"testplug\", \"config\": {\"label\": \"b\"}}\n]}",
                 "3:3: error: plugins[1].name: duplicate instance name \"testplug\" (also plugins[0]); "
                 "give each instance its own \"name\"");
}

static void unknown_plugin(void **state)
{
    (void)state;
    int rc;
    char *out = load("{\"plugins\": [{\"use\": \"lorra\"}]}", &rc, NULL);
    assert_int_equal(rc, MST_ECONFIG);
    char *want = mst__xasprintf("%s/mestys.json:1:22: error: plugins[0].use: cannot load plugin \"lorra\": "
                                "no plugin \"lorra\" (lorra/VERSION/, .so or .lua) in: %s", dir, env_or_fail("MESTYS_TEST_PLUGIN_DIR"));
    if (!strstr(out, want))
        fail_msg("expected\n  %s\ngot\n%s", want, out);
    free(want);
    free(out);
}

static void optional_plugin_is_a_warning(void **state)
{
    (void)state;
    int rc;
    struct mst__config *cfg = NULL;
    char *out = load("{\"plugins\": [{\"use\": \"init_fail\"}, {\"use\": \"abi_mismatch\", \"required\": false}]}", &rc, &cfg);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "warning: plugins[1].use: skipping optional plugin \"abi_mismatch\""));
    assert_null(cfg->instances[1].module);
    mst__config_free(cfg);
    free(out);
}

static void plugin_schema_errors(void **state)
{
    (void)state;
    expect_error("{\"plugins\": [{\"use\": \"testplug\", \"config\": {\"label\": \"x\",\n"
                 "   \"interval\": 5}}]}",
                 "2:4: error: plugins[0].config.interval: unknown key \"interval\"; valid keys: label, "
                 "interval_ms, mode, password, nested, serve_echo, ws_max_message, ws_ping_s, pages, pages_img_src");
    expect_error("{\"plugins\": [{\"use\": \"testplug\", \"config\": {\"label\": \"x\", \"interval_ms\": 5}}]}",
                 "1:74: error: plugins[0].config.interval_ms: value 5 is out of range [10, 60000]");
    expect_error("{\"plugins\": [{\"use\": \"testplug\", \"config\": {\"label\": \"x\", \"mode\": \"turbo\"}}]}",
                 "1:67: error: plugins[0].config.mode: \"turbo\" is not one of: fast|slow");
    expect_error("{\"plugins\": [{\"use\": \"testplug\", \"config\": {\"label\": \"x\", \"nested\": {\"flg\": true}}}]}",
                 "1:70: error: plugins[0].config.nested.flg: unknown key \"flg\"; valid keys: flag");
}

static void syntax_errors(void **state)
{
    (void)state;
    expect_error("{\n  \"node\": {\"name\": \"a\"}\n  \"bus\": {}\n}",
                 "3:3: error: not valid JSON here (a missing comma, quote or bracket?)");
    expect_error("{\n  /* never closed\n}", "2:3: error: unterminated /* comment");
    expect_error("[1, 2]", "1:1: error: the file must hold one JSON object");
}

static void duplicate_key_and_bad_values(void **state)
{
    (void)state;
    expect_error("{\"node\": {\"name\": \"a\",\n \"name\": \"b\"}}", "2:2: error: node.name: duplicate key \"name\"");
    expect_error("{\"tokens\": [{\"token\": \"short\", \"role\": \"admin\"}]}",
                 "1:23: error: tokens[0].token: length 5 is out of range [16, 512]");
    expect_error("{\"node\": {\"name\": \"Dolní Lhota\"}}",
                 "1:19: error: node.name: \"Dolní Lhota\" must be 1-64 of [A-Za-z0-9_-]");
    expect_error("{\"plugins\": [{\"use\": \"testplug\", \"name\": \"../etc\", \"config\": {\"label\": \"x\"}}]}",
                 "1:42: error: plugins[0].name: instance name \"../etc\" must be 1-64 of [A-Za-z0-9_-]");
}

/* cJSON takes any byte up to the space as whitespace, and skips a UTF-8 BOM:
 * the position index must read the text the same way, or it points at the
 * wrong place and (out of step) reads past the end of the text. */
static void control_bytes_keep_positions(void **state)
{
    (void)state;
    expect_error("{\x01\"nodes\": {}}", "1:3: error: nodes: unknown key \"nodes\"; valid keys: node, bus, plugins, tokens, trust");
    expect_error("{\"node\": {\"http\": {\"listen\":\x1f\x02 8080}}}",
                 "1:32: error: node.http.listen: expected a string, got a number");
    expect_error("{\"bus\": {\"queue_depth\": 1\x01, \"nodes\": 2}}",
                 "1:29: error: bus.nodes: unknown key \"nodes\"; valid keys: listen, peers, queue_depth, "
                 "request_timeout_ms, max_message");
    expect_error("\xEF\xBB\xBF{\"nodes\": {}}", "1:3: error: nodes: unknown key \"nodes\"; valid keys: node, bus, plugins, tokens, trust");
    /* a string cJSON closes at a quote the walk must not pair differently */
    expect_error("{\"node\":\x01\"\\\"{[\", \"x\": {\x03}}", "1:10: error: node: expected an object, got a string");
}

/* A number no int64 holds is reported against its key's range, and read
 * without an undefined cast (UBSan in build-asan; found by fuzz_config). */
static void huge_numbers_are_range_errors(void **state)
{
    (void)state;
    expect_error("{\"bus\": {\"queue_depth\": 1e300}}", "1:25: error: bus.queue_depth: expected an integer, got a number");
    expect_error("{\"node\": {\"http\": {\"body_limit\": -1e300}}}",
                 "1:34: error: node.http.body_limit: expected an integer, got a number");
}

static void missing_file(void **state)
{
    (void)state;
    struct mst__diag diag = {0};
    struct mst__config *cfg = NULL;
    assert_int_equal(mst__config_load("/nonexistent/mestys.json", &loader, &diag, &cfg), MST_EIO);
    assert_non_null(strstr(diag.text.data, "/nonexistent/mestys.json: error: cannot read the config file"));
    mst__diag_free(&diag);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_config_gets_defaults),
        cmocka_unit_test(unknown_key_lists_valid_keys),
        cmocka_unit_test(wrong_type),
        cmocka_unit_test(missing_required),
        cmocka_unit_test(duplicate_instance_names),
        cmocka_unit_test(unknown_plugin),
        cmocka_unit_test(optional_plugin_is_a_warning),
        cmocka_unit_test(plugin_schema_errors),
        cmocka_unit_test(syntax_errors),
        cmocka_unit_test(duplicate_key_and_bad_values),
        cmocka_unit_test(control_bytes_keep_positions),
        cmocka_unit_test(huge_numbers_are_range_errors),
        cmocka_unit_test(missing_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
