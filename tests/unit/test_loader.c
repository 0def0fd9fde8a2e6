/* test_loader.c - what the loader takes and what it refuses, and why. */
#include "harness.h"

#include "loader.h"

static struct mst__loader loader;
static struct mst__trust *any_trust;

static int open_plugin(const char *file, struct mst__module **m, char **why_out)
{
    char *path = mst__path_join(env_or_fail("MESTYS_TEST_PLUGIN_DIR"), file);
    struct mst__buf why = {0};
    int rc = mst__module_open(&loader, path, m, &why);
    *why_out = mst__xstrdup(why.data ? why.data : "");
    mst__buf_free(&why);
    free(path);
    return rc;
}

static void expect_refusal(const char *file, int code, const char *reason)
{
    struct mst__module *m = NULL;
    char *why;
    int rc = open_plugin(file, &m, &why);
    if (!strstr(why, reason))
        fail_msg("%s: expected a reason containing \"%s\", got \"%s\"", file, reason, why);
    assert_int_equal(rc, code);
    assert_null(m);
    free(why);
}

static void good_plugin(void **state)
{
    (void)state;
    struct mst__module *m = NULL, *again = NULL;
    char *why;
    assert_int_equal(open_plugin("testplug.so", &m, &why), 0);
    assert_string_equal(m->plugin->name, "testplug");
    assert_int_equal(m->plugin->abi_version, 1);
    assert_string_equal(m->plugin->publishes[0], "test/out");
    assert_non_null(m->dl);
    free(why);
    /* opening it again shares the handle */
    assert_int_equal(open_plugin("testplug.so", &again, &why), 0);
    assert_ptr_equal(m, again);
    assert_int_equal(m->refs, 2);
    mst__module_release(again);
    mst__module_release(m);
    free(why);
}

static void abi_mismatch(void **state)
{
    (void)state;
    expect_refusal("abi_mismatch.so", MST_EABI, "built for plugin ABI 99, this mestysd speaks ABI 1");
}

static void wrong_struct_size(void **state)
{
    (void)state;
    expect_refusal("wrong_size.so", MST_EABI, "struct mst_plugin is 16 bytes, ABI 1 needs at least");
}

static void missing_symbol(void **state)
{
    (void)state;
    expect_refusal("missing_symbol.so", MST_EPLUGIN, "undefined symbol: mestys_function_that_does_not_exist");
}

static void not_a_plugin(void **state)
{
    (void)state;
    expect_refusal("not_plugin.so", MST_ENOTPLUGIN, "does not export the symbol \"mestys_plugin\"");
    expect_refusal("not_a_library.so", MST_ENOTPLUGIN, "not_a_library.so");
}

static void init_failure_is_the_daemons_business(void **state)
{
    (void)state;
    /* init_fail loads fine: its failure shows when the daemon calls init
     * (tests/integration/test_lifecycle.py checks what the daemon does) */
    struct mst__module *m = NULL;
    char *why;
    assert_int_equal(open_plugin("init_fail.so", &m, &why), 0);
    assert_non_null(m->plugin->init);
    mst__module_release(m);
    free(why);
}

static void search_path_finds_so_and_lua(void **state)
{
    (void)state;
    char *path = NULL;
    struct mst__buf why = {0};
    setenv("MESTYS_PLUGIN_PATH", env_or_fail("MESTYS_TEST_PLUGIN_DIR"), 1);
    mst__loader_set_path(&loader, ".", NULL, 0);
    assert_int_equal(mst__loader_find(&loader, "testplug", NULL, ".", &path, &why), 0);
    assert_true(mst__ends_with(path, "/testplug.so"));
    free(path);
    path = NULL;
    assert_int_equal(mst__loader_find(&loader, "nope", NULL, ".", &path, &why), MST_ENOENT);
    assert_non_null(strstr(why.data, "no plugin \"nope\""));
    mst__buf_free(&why);
    char *lua = mst__path_join(env_or_fail("MESTYS_TEST_LUA_DIR"), "echo.lua");
    struct mst__module *m = NULL;
    assert_int_equal(mst__module_open(&loader, lua, &m, &why), 0);
    assert_int_equal(m->kind, MST__MODULE_LUA);
    assert_string_equal(m->plugin->name, "echo");
    assert_string_equal(m->plugin->config[0].key, "prefix");
    assert_string_equal(m->plugin->config[0].default_json, "\"echo:\"");
    mst__module_release(m);
    free(lua);
    mst__buf_free(&why);
}

/* Without a policy of its own the loader uses trust.*'s defaults: an
 * unsigned .so outside the daemon's folders is refused before dlopen. */
static void default_policy_refuses_unsigned(void **state)
{
    (void)state;
    struct mst__loader plain;
    mst__loader_init(&plain);
    char *path = mst__path_join(env_or_fail("MESTYS_TEST_PLUGIN_DIR"), "testplug.so");
    struct mst__module *m = NULL;
    struct mst__buf why = {0};
    enum mst__trust_status st = MST__TRUST_SIGNED;
    assert_int_equal(mst__module_open_as(&plain, NULL, path, &m, &st, &why), MST_ETRUST);
    assert_null(m);
    assert_int_equal(st, MST__TRUST_UNSIGNED);
    assert_non_null(strstr(why.data, "trust.require is \"signed\""));
    mst__buf_free(&why);
    free(path);
    mst__loader_close(&plain);
}

/* The test plugins are outside the daemon's own folders: they are opened
 * under trust.require "any", as the integration tests' configs say. */
static int setup(void **state)
{
    (void)state;
    mst__loader_init(&loader);
    struct mst__trust_cfg cfg = {.dir = "/nonexistent/mestys-trust", .require = MST__TRUST_REQUIRE_ANY,
                                 .uid = geteuid()};
    struct mst__buf why = {0};
    if (mst__trust_open(&any_trust, &cfg, &why) != 0)
        fail_msg("trust: %s", why.data);
    mst__buf_free(&why);
    loader.trust = any_trust;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mst__loader_close(&loader);
    mst__trust_close(any_trust);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_plugin),
        cmocka_unit_test(abi_mismatch),
        cmocka_unit_test(wrong_struct_size),
        cmocka_unit_test(missing_symbol),
        cmocka_unit_test(not_a_plugin),
        cmocka_unit_test(init_failure_is_the_daemons_business),
        cmocka_unit_test(search_path_finds_so_and_lua),
        cmocka_unit_test(default_policy_refuses_unsigned),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
