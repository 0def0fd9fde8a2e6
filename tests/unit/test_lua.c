/* test_lua.c - Lua plugins in a daemon driven in-process: the host API
 * round trip, the instruction budget, the memory cap, the sandbox, and
 * the topic ACL; and the sandbox alone (no daemon), as the fuzz target
 * uses it: string functions under the budget, JSON depth and UTF-8. */
#include "harness.h"

#include <lualib.h>
#include <sqlite3.h>

#include <mestys/utf8.h>

#include "lua_vm.h"
#include "metrics.h"
#include "script.h"

static char *dir;
static struct mst__daemon d;
static int owner;

struct inbox {
    char body[4096];
    int count;
    int done;
};

static struct inbox out, reply, alive, verdict, hog_alive;

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
        "  {\"use\": \"%s/loop.lua\"}, {\"use\": \"%s/bomb.lua\"}, {\"use\": \"%s/forbidden.lua\"},\n"
        "  {\"use\": \"%s/hog.lua\", \"lua\": {\"instructions\": 10000000}}\n"
        " ],\n"
        /* the test scripts are unsigned: named, as a town names its own */
        " \"trust\": {\"allow_unsigned\": [\"echo\", \"loop\", \"bomb\", \"forbidden\", \"hog\"]}}\n",
        lua, lua, lua, lua, lua);
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
    mst__bus_subscribe(&d.bus, &owner, "lua/hog", on_message, &hog_alive, NULL);
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


/* --- a script near its memory cap handed more than fits -------------------- */

/* hog.lua answers lua/ok on lua/hog: it is alive and handles events */
static void wait_hog(void)
{
    hog_alive.done = 0;
    assert_int_equal(mst__bus_publish(&d.bus, "lua/ok", "", 0), 0);
    assert_true(run_until(&d.loop, &hog_alive.done, 5000));
    assert_string_equal(hog_alive.body, "alive");
}

static void fill_hog(void)
{
    assert_int_equal(mst__bus_publish(&d.bus, "lua/fill", "", 0), 0);
    wait_hog();
}

static void big_delivery_at_the_cap_is_contained(void **state)
{
    (void)state;
    const char *labels = "plugin=\"hog\",instance=\"hog\",kind=\"memory\"";
    double before = metric("mestys_lua_budget_exceeded_total", labels);
    size_t len = 512 * 1024;
    char *big = malloc(len);
    memset(big, 'b', len);
    /* a bus message bigger than what is left: pushing it into the state fails */
    fill_hog();
    assert_int_equal(mst__bus_publish(&d.bus, "lua/big", big, len), 0);
    wait_hog();
    assert_true(metric("mestys_lua_budget_exceeded_total", labels) >= before + 1);
    /* a request whose body does not fit: answered with an error */
    fill_hog();
    struct reply r = {0};
    assert_int_equal(mst__bus_request(&d.bus, &owner, "lua/bigask", big, len, 0, on_reply, &r), 0);
    assert_true(run_until(&d.loop, &r.done, 5000));
    assert_int_not_equal(r.status, 0);
    assert_true(metric("mestys_lua_budget_exceeded_total", labels) >= before + 2);
    wait_hog();
    struct mst_instance *hog = mst__daemon_find(&d, "hog");
    assert_non_null(hog);
    assert_int_equal(hog->state_kind, MST__INST_RUNNING);
    free(big);
}

static void deep_kv_value_is_refused(void **state)
{
    (void)state;
    hog_alive.done = 0;
    assert_int_equal(mst__bus_publish(&d.bus, "lua/deep", "", 0), 0);
    assert_true(run_until(&d.loop, &hog_alive.done, 5000));
    assert_string_equal(hog_alive.body, "false: JSON nested deeper than 100 levels");
    wait_hog();
}

/* --- scripts (payload decoders) run by C plugins ---------------------------- */

static void script_paths_stay_inside(void **state)
{
    (void)state;
    struct mst_instance *tp = mst__daemon_find(&d, "testplug");
    assert_non_null(tp);
    char *outside = make_tmpdir();
    char *target = write_file(outside, "evil.lua", "function decodeUplink(i) return {data = {pwned = 1}} end\n");
    mst_script *s = NULL;
    /* an absolute path, a path that climbs out, a symlink that points out */
    assert_int_equal(mst__script_open(tp, target, &s), MST_EINVAL);
    assert_null(s);
    assert_int_equal(mst__script_open(tp, "../evil.lua", &s), MST_EINVAL);
    char *link = mst__path_join(dir, "linked.lua");
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(mst__script_open(tp, "linked.lua", &s), MST_EPERM);
    assert_null(s);
    /* a file next to the config is fine */
    free(write_file(dir, "plain.lua", "function decodeUplink(i) return {data = {n = i.n}} end\n"
                                      "function latin1() error('caf\\233', 0) end\n"));
    assert_int_equal(mst__script_open(tp, "plain.lua", &s), 0);
    char *result = NULL;
    assert_int_equal(mst__script_call(s, "decodeUplink", "{\"n\":7}", 7, &result), 0);
    assert_string_equal(result, "{\"data\":{\"n\":7}}");
    free(result);
    /* an error message that is not UTF-8 still gives JSON */
    assert_int_equal(mst__script_call(s, "latin1", "{}", 2, &result), MST_EPLUGIN);
    assert_true(mst_utf8_valid(result, strlen(result)));
    cJSON *error = cJSON_Parse(result);
    assert_non_null(error);
    cJSON_Delete(error);
    free(result);
    mst__script_close(s);
    free(link);
    free(target);
    remove_tmpdir(outside);
}

static void script_input_at_the_cap_is_contained(void **state)
{
    (void)state;
    struct mst_instance *tp = mst__daemon_find(&d, "testplug");
    assert_non_null(tp);
    /* the top level keeps all but 64 KiB of the 4 MiB cap */
    free(write_file(dir, "hog_decoder.lua",
                    "held = {} while collectgarbage('count') < 4 * 1024 - 64 do\n"
                    "  held[#held + 1] = string.rep('h', 8000) .. #held end\n"
                    "function decodeUplink(input) return input end\n"));
    mst_script *s = NULL;
    assert_int_equal(mst__script_open(tp, "hog_decoder.lua", &s), 0);
    struct mst__buf json = {0};
    mst__buf_puts(&json, "[");
    for (int i = 0; i < 20000; i++)
        mst__buf_printf(&json, "%s\"reading number %d\"", i ? "," : "", i);
    mst__buf_puts(&json, "]");
    char *result = NULL;
    assert_int_equal(mst__script_call(s, "decodeUplink", json.data, json.len, &result), MST_ENOMEM);
    assert_non_null(strstr(result, "\"error\""));
    free(result);
    /* input nested deeper than the limit: an error result, not a crash */
    mst__buf_free(&json);
    for (int i = 0; i < 150; i++)
        mst__buf_puts(&json, "[");
    for (int i = 0; i < 150; i++)
        mst__buf_puts(&json, "]");
    assert_int_equal(mst__script_call(s, "decodeUplink", json.data, json.len, &result), MST_EPLUGIN);
    assert_non_null(strstr(result, "JSON nested deeper than 100 levels"));
    free(result);
    /* and the script still answers a small call */
    assert_int_equal(mst__script_call(s, "decodeUplink", "[1]", 3, &result), 0);
    assert_string_equal(result, "[1]");
    free(result);
    mst__script_close(s);
    mst__buf_free(&json);
}

/* --- require ---------------------------------------------------------------- */

static void require_stays_in_its_folders(void **state)
{
    (void)state;
    /* a folder outside whose path is all letters, so that before the fix a
     * module name with a leading dot spelled it: ".tmp.mestysreqXXXXXX.evil" */
    char outside[] = "/tmp/mestysreqXXXXXX";
    assert_non_null(mkdtemp(outside));
    char *evil = write_file(outside, "evil.lua", "return 'loaded from outside'\n");
    char *plugin = make_tmpdir();
    free(write_file(plugin, "good.lua", "return 'good'\n"));
    char *link = mst__path_join(plugin, "linked.lua");
    assert_int_equal(symlink(evil, link), 0);
    struct mst__lua_vm vm;
    assert_int_equal(mst__lua_vm_open(&vm, 4u << 20, 100000, plugin, NULL), 0);
    char *dotted = mst__xasprintf("%s.evil", outside);
    for (char *c = dotted; *c; c++)
        if (*c == '/')
            *c = '.';
    char *code = mst__xasprintf("local r = {} "
                                "for _, name in ipairs({'%s', 'linked', '..x', 'a/b', 'good'}) do "
                                "  local ok, v = pcall(require, name) r[#r + 1] = tostring(ok) .. ': ' .. v end "
                                "return table.concat(r, '|')", dotted);
    assert_int_equal(luaL_loadstring(vm.L, code), LUA_OK);
    assert_int_equal(mst__lua_vm_call(&vm, 0, 1, "require test"), 0);
    const char *got = lua_tostring(vm.L, -1);
    char *want = mst__xasprintf(
        "false: require: bad module name \"%s\" (dot-separated words of letters, digits, _ and -)|"
        "false: require: module \"linked\" leads out of its folder (a symbolic link?)|"
        "false: require: bad module name \"..x\" (dot-separated words of letters, digits, _ and -)|"
        "false: require: bad module name \"a/b\" (dot-separated words of letters, digits, _ and -)|"
        "true: good", dotted);
    assert_string_equal(got, want);
    mst__lua_vm_close(&vm);
    free(want);
    free(code);
    free(dotted);
    free(link);
    free(evil);
    remove_tmpdir(plugin);
    char *copy = mst__xstrdup(outside);
    remove_tmpdir(copy);
}

/* --- the sandbox alone: a state with no daemon ------------------------------ */

struct sandbox {
    struct mst__lua_vm vm;
    struct mst_metric instr, mem, err;
};

/* Runs `code` in a fresh sandbox (4 MiB, 100,000 instructions); the
 * result or the error message is left on the stack. */
static int run_lua(struct sandbox *s, const char *code)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(mst__lua_vm_open(&s->vm, 4u << 20, 100000, NULL, NULL), 0);
    s->vm.instr_hits = &s->instr;
    s->vm.mem_hits = &s->mem;
    s->vm.errors = &s->err;
    char *chunk = mst__xasprintf("local mestys_json = require('mestys').json %s", code);
    assert_int_equal(luaL_loadbufferx(s->vm.L, chunk, strlen(chunk), "=test", "t"), LUA_OK);
    free(chunk);
    return mst__lua_vm_call(&s->vm, 0, 1, "test chunk");
}

static void expect_stopped(const char *code, int rc_expected, const char *says)
{
    struct sandbox s;
    int rc = run_lua(&s, code);
    const char *msg = lua_tostring(s.vm.L, -1);
    if (rc != rc_expected || !msg || !strstr(msg, says))
        fail_msg("%s: rc %d, \"%s\" (wanted rc %d and \"%s\")", code, rc, msg ? msg : "", rc_expected, says);
    if (rc_expected == MST_ETIMEDOUT)
        assert_int_equal(s.instr.value, 1);
    if (rc_expected == MST_ENOMEM)
        assert_int_equal(s.mem.value, 1);
    /* the state is still usable after the stop */
    lua_settop(s.vm.L, 0);
    assert_int_equal(luaL_loadstring(s.vm.L, "return string.find('abc', 'b')"), LUA_OK);
    assert_int_equal(mst__lua_vm_call(&s.vm, 0, 1, "after"), 0);
    assert_int_equal(lua_tointeger(s.vm.L, -1), 2);
    mst__lua_vm_close(&s.vm);
}

static void expect_result(const char *code, const char *want)
{
    struct sandbox s;
    int rc = run_lua(&s, code);
    const char *got = lua_tostring(s.vm.L, -1);
    if (rc != 0 || !got || strcmp(got, want) != 0)
        fail_msg("%s: rc %d, \"%s\" (wanted \"%s\")", code, rc, got ? got : "", want);
    mst__lua_vm_close(&s.vm);
}

/* Runs a loop that counts its rounds in the global `rounds` until the
 * budget stops it; fails unless fewer than `below` rounds ran. */
static void expect_rounds_below(const char *code, lua_Integer below)
{
    struct sandbox s;
    assert_int_equal(run_lua(&s, code), MST_ETIMEDOUT);
    lua_getglobal(s.vm.L, "rounds");
    lua_Integer rounds = lua_tointeger(s.vm.L, -1);
    if (rounds >= below)
        fail_msg("%s: %lld rounds within the budget (wanted fewer than %lld)", code, (long long)rounds,
                 (long long)below);
    mst__lua_vm_close(&s.vm);
}

static void string_functions_obey_the_budget(void **state)
{
    (void)state;
    /* exponential backtracking, in every function that matches */
    expect_stopped("return string.find(string.rep('a', 40), string.rep('a*', 40) .. 'b')", MST_ETIMEDOUT,
                   "instruction budget");
    expect_stopped("return string.match(string.rep('a', 40), string.rep('a-', 40) .. 'b')", MST_ETIMEDOUT,
                   "instruction budget");
    expect_stopped("return (string.gsub(string.rep('a', 40), string.rep('a*', 40) .. 'b', ''))", MST_ETIMEDOUT,
                   "instruction budget");
    expect_stopped("for m in string.gmatch(string.rep('a', 40), string.rep('a?', 40) .. 'b') do end", MST_ETIMEDOUT,
                   "instruction budget");
    /* caught by the script's own pcall: still stopped */
    expect_stopped("while true do pcall(string.find, string.rep('a', 40), string.rep('a*', 40) .. 'b') end",
                   MST_ETIMEDOUT, "instruction budget");
    /* plain search of a long needle that almost matches everywhere */
    expect_result("local s = string.rep('a', 1000000) "
                  "return tostring(string.find(s, string.rep('a', 500000) .. 'b', 1, true))", "nil");
    /* Lua's own string.rep loops n times even when there is nothing to copy */
    expect_result("return '[' .. string.rep('', 1 << 40) .. ']'", "[]");
    /* work in C that grows with a table's length, and copying in a loop */
    expect_stopped("return table.move({}, 1, 1 << 50, 2)", MST_ETIMEDOUT, "instruction budget");
    expect_stopped("local t = setmetatable({}, {__len = function() return 1 << 50 end}) table.insert(t, 1, 'x')",
                   MST_ETIMEDOUT, "instruction budget");
    expect_stopped("local t = setmetatable({}, {__len = function() return 1 << 50 end}) table.remove(t, 1)",
                   MST_ETIMEDOUT, "instruction budget");
    expect_stopped("local s = string.rep('c', 1 << 20) local n = 0 "
                   "for i = 1, 1e9 do n = n + #(s .. i) end", MST_ETIMEDOUT, "instruction budget");
    expect_result("local t = {1, 2, 3} table.insert(t, 1, 0) table.insert(t, 4) "
                  "return table.concat(t, ',') .. '|' .. table.remove(t, 1) .. '|' .. table.concat(t, ',')",
                  "0,1,2,3,4|0|1,2,3,4");
    expect_result("local t = table.move({1, 2, 3}, 1, 3, 2) return table.concat(t, ',')", "1,1,2,3");
    expect_result("local t = {3, 1, 2} table.sort(t, function(a, b) return a > b end) return table.concat(t, ',')",
                  "3,2,1");
    expect_result("return select(2, pcall(table.insert, {}, 5, 1))", "bad argument #2 to 'table.insert' (position out of bounds)");
    /* a full collection walks the whole heap: charged by its size.  Some
     * 400 KiB live: about 1,600 instructions a collection, so some 50 fit
     * in what is left of 100,000; uncharged, some 13,000 ran */
    expect_rounds_below("local t = {} for i = 1, 5000 do t[i] = {} end "
                        "rounds = 0 while true do collectgarbage() rounds = rounds + 1 end", 1000);
    /* load reads its whole chunk in C, even a comment: charged by its
     * length, 65,536 instructions for 1 MiB; uncharged, thousands ran */
    expect_rounds_below("local chunk = '--' .. string.rep('x', 1 << 20) "
                        "rounds = 0 while true do load(chunk) rounds = rounds + 1 end", 100);
    /* sizes past the cap are refused before anything is allocated */
    expect_stopped("return string.rep('x', 1 << 40)", MST_ENOMEM, "memory");
    expect_stopped("return string.rep('xyz', 1 << 40, ',')", MST_ENOMEM, "memory");
    expect_stopped("local t = {} for i = 1, 100 do t[i] = string.rep('c', 30000) end "
                   "return table.concat(t, string.rep(',', 30000))", MST_ENOMEM, "memory");
    /* what ordinary scripts do still works, with Lua's own semantics */
    expect_result("return table.concat({string.find('hello world', 'o w')}, '|')", "5|7");
    expect_result("return string.format('%s %s', string.match('key = value', '(%w+)%s*=%s*(%w+)'))", "key value");
    expect_result("return (string.gsub('hello world', '(%w+)', '<%1>'))", "<hello> <world>");
    expect_result("return (string.gsub('abc', '', '-'))", "-a-b-c-");
    expect_result("return (string.gsub('$name is $age', '%$(%w+)', {name = 'Ema', age = 7}))", "Ema is 7");
    expect_result("return (string.gsub('a,b', '%a', function(c) return c:upper() end))", "A,B");
    expect_result("local t = {} for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do t[#t + 1] = k .. v end "
                  "return table.concat(t, ';')", "a1;b2");
    expect_result("local n = 0 for w in ('one two  three'):gmatch('%a+') do n = n + 1 end return tostring(n)", "3");
    expect_result("return string.format('%d %d', string.find('f(a(b)c)', '%b()'))", "2 8");
    expect_result("return (string.gsub('THE (quick) fox', '%f[%a]%a+', 'X'))", "X (X) X");
    expect_result("return string.format('%d', string.find('a.b', '.', 1, true))", "2");
    expect_result("return string.format('%s', string.match('  x', '()x'))", "3");
    expect_result("return string.format('%s', string.find('abc', 'c', -1))", "3");
    expect_result("return string.rep('ab', 3, '-')", "ab-ab-ab");
    expect_result("return tostring(#string.rep('x', 1000000))", "1000000");
    expect_result("return select(2, pcall(string.find, 'a', '%'))", "malformed pattern (ends with '%')");
    expect_result("return select(2, pcall(string.gsub, 'a', '(a)', '%2'))", "invalid capture index %2");
    /* each answer below is what Lua 5.4's own string library gives */
    expect_result("return table.concat({string.find('  x', '()x')}, ',')", "3,3,3");
    expect_result("return table.concat({string.gsub('hello', 'l+', {ll = 'L'})}, ',')", "heLo,1");
    expect_result("return select(2, pcall(string.gsub, 'a', 'a', '%'))", "invalid use of '%' in replacement string");
    expect_result("return table.concat({('[a]'):find('[]]')}, ',')", "3,3");
    expect_result("return table.concat({('x^y'):gsub('^x', 'Z')}, ',')", "Z^y,1");
    expect_result("return table.concat({('hello'):match('(h)(e)(l)')}, ',')", "h,e,l");
    expect_result("return (('abcabc'):gsub('(b)', '%1%0'))", "abbcabbc");
    expect_result("local n = 0 for k in ('^a^a'):gmatch('^a') do n = n + 1 end return tostring(n)", "2");
}

/* The sandbox's matcher against Lua's own, on random patterns made of every
 * kind of item (classes, sets, captures, %b, %f, back-references, anchors,
 * broken ones) over a few subjects: results and error messages alike. */
static const char *const differential =
    "local seed = ... math.randomseed(seed)\n"
    "local atoms = {'a','b','.','%a','%d','%s','%w','%A','[ab]','[^a]','[a-c]','%%','%(','()','(a)','(%a+)','%b()','%f[%a]','^','$','%1','[%]]','x','-','[]','[a-]','[-a]','[%d-z]','[^%s]'}\n"
    "local quants = {'','','','*','+','-','?'}\n"
    "local subj = {'','a','ab','aab b','abc(def)ghi','  12 ab%c','a.b.c','((a))','x-y','aaaa'}\n"
    "local out = {}\n"
    "for i = 1, 3000 do\n"
    "  local p = {} for j = 1, math.random(1, 4) do p[#p+1] = atoms[math.random(#atoms)] .. quants[math.random(#quants)] end\n"
    "  p = table.concat(p)\n"
    "  local s = subj[math.random(#subj)]\n"
    "  local init = math.random(-3, 6)\n"
    "  local function rec(...) local t = table.pack(...) for k = 1, t.n do t[k] = tostring(t[k]) end return table.concat(t, ',') end\n"
    "  out[#out+1] = p .. ' | ' .. s .. ' | ' .. rec(pcall(string.find, s, p, init)) .. ' | ' .. rec(pcall(string.match, s, p, init))\n"
    "     .. ' | ' .. rec(pcall(string.gsub, s, p, '<%0>')) .. ' | ' .. rec(pcall(string.gsub, s, p, '%1', 2))\n"
    "  local ok, it = pcall(string.gmatch, s, p, init)\n"
    "  if ok then local r = {} local ok2, e = pcall(function() for a, b in it do r[#r+1] = tostring(a) .. '/' .. tostring(b) if #r > 20 then break end end end) out[#out+1] = table.concat(r, ';') .. tostring(ok2) .. tostring(e) end\n"
    "end\n"
    "return table.concat(out, '\\n')\n";

static void matcher_agrees_with_stock_lua(void **state)
{
    (void)state;
    for (int seed = 1; seed <= 5; seed++) {
        lua_State *L = luaL_newstate();
        luaL_openlibs(L);
        assert_int_equal(luaL_loadstring(L, differential), LUA_OK);
        lua_pushinteger(L, seed);
        assert_int_equal(lua_pcall(L, 1, 1, 0), LUA_OK);
        struct mst__lua_vm vm;
        assert_int_equal(mst__lua_vm_open(&vm, 64u << 20, (int64_t)1 << 40, NULL, NULL), 0);
        assert_int_equal(luaL_loadstring(vm.L, differential), LUA_OK);
        lua_pushinteger(vm.L, seed);
        assert_int_equal(mst__lua_vm_call(&vm, 1, 1, "differential"), 0);
        const char *stock = lua_tostring(L, -1), *ours = lua_tostring(vm.L, -1);
        size_t at = 0;
        while (stock[at] && stock[at] == ours[at])
            at++;
        if (stock[at] || ours[at])
            fail_msg("seed %d differs at byte %zu:\nstock: %.120s\nours:  %.120s", seed, at, stock + at, ours + at);
        lua_close(L);
        mst__lua_vm_close(&vm);
    }
}

static void json_depth_is_capped(void **state)
{
    (void)state;
    /* 150 levels: refused with the limit named, never past the stack */
    expect_result("local t = {} for i = 1, 150 do t = {t} end "
                  "local ok, err = pcall(mestys_json.encode, t) return tostring(ok) .. ': ' .. err",
                  "false: JSON nested deeper than 100 levels");
    expect_result("local text = string.rep('[', 150) .. string.rep(']', 150) "
                  "local v, err = mestys_json.decode(text) return tostring(v) .. ': ' .. err",
                  "nil: JSON nested deeper than 100 levels");
    expect_result("local t = {} for i = 1, 99 do t = {a = t} end return mestys_json.encode(t):sub(1, 12)",
                  "{\"a\":{\"a\":{\"");
    expect_result("local text = string.rep('{\"a\":', 100) .. '1' .. string.rep('}', 100) "
                  "local v = mestys_json.decode(text) for i = 1, 99 do v = v.a end return tostring(v.a)", "1");
    /* a cycle is not an endless recursion */
    expect_result("local t = {} t[1] = t local ok, err = pcall(mestys_json.encode, t) return err",
                  "JSON nested deeper than 100 levels");
}

static void json_strings_are_utf8(void **state)
{
    (void)state;
    expect_result("local ok, err = pcall(mestys_json.encode, {name = 'ok', bad = 'caf\\xe9'}) return err",
                  "string is not valid UTF-8 (JSON text must be): encode binary data as hex or base64");
    expect_result("local ok, err = pcall(mestys_json.encode, {['\\xff'] = 1}) return err",
                  "string is not valid UTF-8 (JSON text must be): encode binary data as hex or base64");
    expect_result("return mestys_json.encode({'Úřední deska', 'a\\0b', '\\1'})",
                  "[\"Úřední deska\",\"a\\u0000b\",\"\\u0001\"]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_api_round_trip),
        cmocka_unit_test(endless_loop_is_stopped),
        cmocka_unit_test(memory_bomb_is_stopped),
        cmocka_unit_test(sandbox_refuses_each_forbidden_thing),
        cmocka_unit_test(acl_refuses_undeclared_topics),
        cmocka_unit_test(big_delivery_at_the_cap_is_contained),
        cmocka_unit_test(deep_kv_value_is_refused),
        cmocka_unit_test(require_stays_in_its_folders),
        cmocka_unit_test(script_paths_stay_inside),
        cmocka_unit_test(script_input_at_the_cap_is_contained),
        cmocka_unit_test(string_functions_obey_the_budget),
        cmocka_unit_test(matcher_agrees_with_stock_lua),
        cmocka_unit_test(json_depth_is_capped),
        cmocka_unit_test(json_strings_are_utf8),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
