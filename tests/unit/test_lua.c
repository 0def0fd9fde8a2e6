/* test_lua.c - Lua plugins in a daemon driven in-process: the host API
 * round trip, the instruction budget, the memory cap, the sandbox, and
 * the topic ACL. */
#include "harness.h"

#include <sqlite3.h>

static char *dir;
static struct mst__daemon d;
static int owner;

struct inbox {
    char body[4096];
    int count;
    int done;
};

static struct inbox out, reply, alive, verdict;

static void on_message(void *arg, const char *topic, const char *body, size_t len)
{
    struct inbox *in = arg;
    snprintf(in->body, sizeof in->body, "%.*s", (int)len, body);
    in->count++;
    in->done = 1;
}

static double metric(const char *name, const char *labels)
{
    struct mst_metric *m;
    assert_int_equal(mst__metrics_get(&d.metrics, MST_METRIC_COUNTER, name, NULL, labels, &m), 0);
    return m->value;
}

static int setup(void **state)
{
    (void)state;
    mst__log_set_level(MST_LOG_ERROR);
    dir = make_tmpdir();
    setenv("MESTYS_PLUGIN_PATH", env_or_fail("MESTYS_TEST_PLUGIN_DIR"), 1);
    const char *lua = env_or_fail("MESTYS_TEST_LUA_DIR");
    char *text = mst__xasprintf(
        "{\"node\": {\"name\": \"t\", \"http\": {\"listen\": \"\"}, \"lua\": {\"instructions\": 100000, \"memory_mb\": 4}},\n"
        " \"plugins\": [\n"
        "  {\"use\": \"testplug\", \"config\": {\"label\": \"x\"}},\n"
        "  {\"use\": \"%s/echo.lua\", \"config\": {\"prefix\": \"echo:\"}},\n"
        "  {\"use\": \"%s/loop.lua\"}, {\"use\": \"%s/bomb.lua\"}, {\"use\": \"%s/forbidden.lua\"}\n"
        " ]}\n", lua, lua, lua, lua);
    char *path = write_file(dir, "mestys.json", text);
    free(text);
    struct mst__diag diag = {0};
    int rc = mst__daemon_init(&d, path, &diag);
    if (rc != 0)
        fprintf(stderr, "%s", diag.text.data);
    mst__diag_free(&diag);
    free(path);
    assert_int_equal(rc, 0);
    assert_int_equal(mst__daemon_start(&d), 0);
    mst__bus_subscribe(&d.bus, &owner, "lua/out", on_message, &out, NULL);
    mst__bus_subscribe(&d.bus, &owner, "lua/reply", on_message, &reply, NULL);
    mst__bus_subscribe(&d.bus, &owner, "lua/alive", on_message, &alive, NULL);
    mst__bus_subscribe(&d.bus, &owner, "lua/verdict", on_message, &verdict, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mst__bus_drop_owner(&d.bus, &owner);
    assert_int_equal(mst__daemon_finish(&d), 0);
    mst__daemon_free(&d);
    remove_tmpdir(dir);
    return 0;
}

static void host_api_round_trip(void **state)
{
    (void)state;
    /* subscribe + publish */
    assert_int_equal(mst__bus_publish(&d.bus, "lua/in", "hello", 5), 0);
    assert_true(run_until(&d.loop, &out.done, 3000));
    assert_string_equal(out.body, "echo:hello");
    /* serve: the handler's return value is the reply, tables as JSON */
    struct reply r = {0};
    assert_int_equal(mst__bus_request(&d.bus, &owner, "lua/ask", "21", 2, 0, on_reply, &r), 0);
    assert_true(run_until(&d.loop, &r.done, 3000));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.body, "{\"answer\":42}");
    /* timer + request to a C plugin's served topic */
    assert_true(run_until(&d.loop, &reply.done, 3000));
    assert_string_equal(reply.body, "ping");
    /* kv state is in SQLite in the instance's state directory */
    char *db_path = mst__xasprintf("%s/state/echo/kv.sqlite", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = 'last'", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *v = (const char *)sqlite3_column_text(st, 0);
    assert_non_null(strstr(v, "\"body\":\"hello\""));
    assert_non_null(strstr(v, "\"n\":1"));
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(db_path);
}

static void endless_loop_is_stopped(void **state)
{
    (void)state;
    const char *labels = "plugin=\"loop\",instance=\"loop\",kind=\"instructions\"";
    double before = metric("mestys_lua_budget_exceeded_total", labels);
    assert_int_equal(mst__bus_publish(&d.bus, "lua/spin", "", 0), 0);
    alive.done = 0;
    assert_int_equal(mst__bus_publish(&d.bus, "lua/ok", "", 0), 0);
    assert_true(run_until(&d.loop, &alive.done, 5000));
    /* both handlers, the plain loop and the one hiding in pcall, were stopped */
    assert_int_equal(metric("mestys_lua_budget_exceeded_total", labels) - before, 2);
    assert_string_equal(alive.body, "yes");
}

static void memory_bomb_is_stopped(void **state)
{
    (void)state;
    const char *labels = "plugin=\"bomb\",instance=\"bomb\",kind=\"memory\"";
    assert_int_equal(mst__bus_publish(&d.bus, "lua/bomb", "", 0), 0);
    int before = alive.count;
    assert_int_equal(mst__bus_publish(&d.bus, "lua/ok", "", 0), 0);
    /* loop.lua and bomb.lua both answer lua/ok: both must still be alive */
    int both = 0;
    uint64_t end = mst__now_ns() + 5000000000ull;
    while (!(both = alive.count >= before + 2) && mst__now_ns() < end)
        uv_run(&d.loop, UV_RUN_NOWAIT);
    assert_true(both);
    assert_int_equal(metric("mestys_lua_budget_exceeded_total", labels), 2);
    struct mst_instance *bomb = mst__daemon_find(&d, "bomb");
    assert_non_null(bomb);
    assert_int_equal(bomb->state_kind, MST__INST_RUNNING);
}

static void sandbox_refuses_each_forbidden_thing(void **state)
{
    (void)state;
    assert_int_equal(mst__bus_publish(&d.bus, "lua/check", "", 0), 0);
    assert_true(run_until(&d.loop, &verdict.done, 3000));
    static const char *const attempts[] = {
        "io_open", "os_execute", "os_exit", "os_getenv", "os_remove", "package_loadlib", "debug_getinfo",
        "dofile", "loadfile", "require_outside", "require_traversal", "load_bytecode", "string_dump",
        "collectgarbage_stop", NULL};
    cJSON *v = cJSON_Parse(verdict.body);
    assert_non_null(v);
    for (const char *const *a = attempts; *a; a++) {
        cJSON *item = cJSON_GetObjectItemCaseSensitive(v, *a);
        if (!cJSON_IsString(item) || strcmp(item->valuestring, "refused") != 0)
            fail_msg("%s was not refused: %s", *a, verdict.body);
    }
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(v, "allowed_math")->valuestring, "ok");
    cJSON_Delete(v);
}

static void acl_refuses_undeclared_topics(void **state)
{
    (void)state;
    struct mst_instance *tp = mst__daemon_find(&d, "testplug");
    assert_non_null(tp);
    assert_int_equal(mst__host.publish(tp, "voting/ballot", "{}", 2), MST_EACCES);
    assert_int_equal(mst__host.publish(tp, "test/out", "{}", 2), 0);
    assert_int_equal(mst__host.subscribe(tp, "#", on_message, &out), MST_EACCES);
    assert_int_equal(mst__host.serve(tp, "store/query", NULL, NULL), MST_EACCES);
    assert_int_equal(mst__host.publish(tp, "bad topic", "{}", 2), MST_EINVAL);
    assert_int_equal(metric("mestys_bus_refused_total", "topic=\"voting/ballot\",reason=\"acl\""), 1);
    assert_int_equal(metric("mestys_plugin_refused_total", "plugin=\"testplug\",instance=\"testplug\""), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_api_round_trip),
        cmocka_unit_test(endless_loop_is_stopped),
        cmocka_unit_test(memory_bomb_is_stopped),
        cmocka_unit_test(sandbox_refuses_each_forbidden_thing),
        cmocka_unit_test(acl_refuses_undeclared_topics),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
