/* fuzz_lua_json - JSON text into Lua values and back (core/lua_json.c), in
 * a sandboxed state with the daemon's memory cap and budget, the way a bus
 * message, an HTTP body or mestys.json.decode reaches a script.  What one
 * round trip writes is JSON, and a second one writes the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "lua_vm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mst__lua_vm vm;

/* decode, encode, decode, encode: (text) -> first, second (or nil). */
static int round_trips(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    char *out[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        mst__lua_push_json(L, text, len);
        out[i] = mst__lua_to_json(L, -1, 0);
        if (!out[i])
            break; /* refused with a message (e.g. a table with a hole) */
        lua_pushstring(L, out[i]);
        text = lua_tolstring(L, -1, &len);
    }
    lua_pushstring(L, out[0]);
    lua_pushstring(L, out[1]);
    free(out[0]);
    free(out[1]);
    return 2;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mst__log_set_level(MST_LOG_ERROR);
    if (mst__lua_vm_open(&vm, 16u << 20, 1000000, NULL, NULL) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = vm.L;
    lua_settop(L, 0);
    lua_pushcfunction(L, round_trips);
    lua_pushlstring(L, (const char *)data, size);
    if (mst__lua_vm_call(&vm, 1, 2, "fuzz") == 0) {
        const char *a = lua_tostring(L, 1), *b = lua_tostring(L, 2);
        if (a && b) {
            /* as JSON values: a Lua table keeps no member order */
            cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
            if (!ja || !jb || !cJSON_Compare(ja, jb, 1))
                abort(); /* encode(decode(x)) is not a fixed point, or not JSON */
            cJSON_Delete(ja);
            cJSON_Delete(jb);
        }
    }
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
