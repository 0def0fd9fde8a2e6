/* bench_lua - what the sandbox's own string and table functions cost
 * against stock Lua 5.4, and how fast a pathological pattern is stopped.
 *   build/tests/bench/bench_lua
 * Each workload runs 5 times in a stock state (luaL_openlibs) and in a
 * sandbox (16 MiB, a budget it never reaches); the best time of each is
 * printed with their ratio.  Not a test: nothing here asserts a time. */
#include <lualib.h>
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "lua_vm.h"

#define RUNS 5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double stock(const char *code)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    double t = now_s();
    if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
        fprintf(stderr, "stock Lua: %s\n", lua_tostring(L, -1));
    t = now_s() - t;
    lua_close(L);
    return t;
}

/* The time to the end of the call, and its outcome (0, MST_ETIMEDOUT, ...). */
static double sandboxed(const char *code, int64_t budget, int *rc)
{
    struct mst__lua_vm vm;
    *rc = MST_ENOMEM;
    if (mst__lua_vm_open(&vm, 16u << 20, budget, NULL, NULL) != 0)
        return -1;
    double t = now_s();
    *rc = luaL_loadstring(vm.L, code) == LUA_OK ? mst__lua_vm_call(&vm, 0, 1, "bench") : MST_EINVAL;
    t = now_s() - t;
    mst__lua_vm_close(&vm);
    return t;
}

int main(void)
{
    mst__log_set_level(MST_LOG_ERROR);
    int rc = 0;
    double t = sandboxed("return string.find(string.rep('a', 40), string.rep('a*', 40) .. 'b')", 1000000, &rc);
    printf("string.find(('a'):rep(40), ('a*'):rep(40)..'b'), default budget 1,000,000: stopped after %.1f ms (%s); "
           "stock Lua: never in practice (exponential)\n", t * 1e3, mst_strerror(rc));
    static const struct {
        const char *name, *code;
    } work[] = {
        {"match with classes x200k", "local n = 0 for i = 1, 200000 do "
                                     "local k, v = ('key = value'):match('(%w+)%s*=%s*(%w+)') n = n + #k end return n"},
        {"gsub x200k", "local n = 0 for i = 1, 200000 do n = n + #(('hello world'):gsub('o', '0')) end return n"},
        {"gmatch 100 words x20k", "local s = string.rep('abc ', 100) local n = 0 "
                                  "for i = 1, 20000 do for w in s:gmatch('%a+') do n = n + 1 end end return n"},
        {"find plain x200k", "local s = string.rep('x', 1000) .. 'y' local n = 0 "
                             "for i = 1, 200000 do n = n + s:find('y', 1, true) end return n"},
        {"table.insert/remove x200k", "local t = {} for i = 1, 200000 do table.insert(t, i) end "
                                      "for i = 1, 200000 do table.remove(t) end return #t"},
        {"format and .. x200k", "local n = 0 for i = 1, 200000 do "
                                "n = n + #(string.format('%d:%s', i, 'x') .. i) end return n"},
    };
    printf("%-28s %12s %12s %7s\n", "workload (best of 5)", "stock Lua", "sandbox", "ratio");
    for (size_t i = 0; i < sizeof work / sizeof work[0]; i++) {
        double a = 1e9, b = 1e9;
        for (int r = 0; r < RUNS; r++) {
            double x = stock(work[i].code), y = sandboxed(work[i].code, (int64_t)1 << 40, &rc);
            a = x < a ? x : a;
            b = y < b ? y : b;
        }
        printf("%-28s %9.1f ms %9.1f ms %6.2fx%s\n", work[i].name, a * 1e3, b * 1e3, b / a, rc ? " (failed)" : "");
    }
    return 0;
}
