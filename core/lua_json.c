/* lua_json.c - JSON text <-> Lua values, through cJSON. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lua_vm.h"
#include "util.h"

static void push_node(lua_State *L, const cJSON *n, int depth)
{
    luaL_checkstack(L, 4, "JSON too deep");
    if (depth > 200) {
        lua_pushnil(L);
        return;
    }
    if (cJSON_IsString(n))
        lua_pushstring(L, n->valuestring);
    else if (cJSON_IsNumber(n)) {
        double d = n->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsBool(n))
        lua_pushboolean(L, cJSON_IsTrue(n));
    else if (cJSON_IsArray(n)) {
        lua_createtable(L, cJSON_GetArraySize(n), 0);
        lua_Integer i = 1;
        const cJSON *c;
        cJSON_ArrayForEach(c, n)
        {
            push_node(L, c, depth + 1);
            lua_rawseti(L, -2, i++);
        }
    } else if (cJSON_IsObject(n)) {
        lua_createtable(L, 0, cJSON_GetArraySize(n));
        const cJSON *c;
        cJSON_ArrayForEach(c, n)
        {
            push_node(L, c, depth + 1);
            lua_setfield(L, -2, c->string);
        }
    } else
        lua_pushnil(L);
}

void mst__lua_push_json(lua_State *L, const char *text, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) {
        lua_pushnil(L);
        return;
    }
    push_node(L, root, 0);
    cJSON_Delete(root);
}

static int is_sequence(lua_State *L, int idx, lua_Integer *n)
{
    lua_Integer count = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
            lua_pop(L, 1);
            return 0;
        }
        lua_Integer k = lua_tointeger(L, -1);
        if (k > max)
            max = k;
        count++;
    }
    *n = max;
    return count > 0 && count == max;
}

/* Writes a Lua value as JSON straight into a buffer: no cJSON tree, and
 * one snprintf per non-integral number (cJSON prints, then sscanfs the
 * result back to check it, then prints again). */
static int write_value(lua_State *L, int idx, struct mst__buf *b, int depth, const char **err);

static void write_number(lua_State *L, int idx, struct mst__buf *b)
{
    if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        char tmp[24];
        size_t n = sizeof tmp;
        uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
        do
            tmp[--n] = (char)('0' + u % 10);
        while (u /= 10);
        if (v < 0)
            tmp[--n] = '-';
        mst__buf_append(b, tmp + n, sizeof tmp - n);
        return;
    }
    double d = lua_tonumber(L, idx);
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.15g", d);
    if (strtod(tmp, NULL) != d)
        snprintf(tmp, sizeof tmp, "%.17g", d);
    mst__buf_puts(b, tmp);
}

static int write_table(lua_State *L, int idx, struct mst__buf *b, int depth, const char **err)
{
    lua_Integer n;
    if (is_sequence(L, idx, &n)) {
        mst__buf_puts(b, "[");
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1)
                mst__buf_puts(b, ",");
            lua_rawgeti(L, idx, i);
            int rc = write_value(L, lua_gettop(L), b, depth + 1, err);
            lua_pop(L, 1);
            if (rc)
                return rc;
        }
        mst__buf_puts(b, "]");
        return 0;
    }
    mst__buf_puts(b, "{");
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING && !lua_isinteger(L, -2)) {
            *err = "JSON object keys must be strings";
            lua_pop(L, 2);
            return -1;
        }
        lua_pushvalue(L, -2);
        if (!first)
            mst__buf_puts(b, ",");
        first = 0;
        mst__buf_json_string(b, lua_tostring(L, -1)); /* converts the copy, not the key */
        mst__buf_puts(b, ":");
        int rc = write_value(L, lua_gettop(L) - 1, b, depth + 1, err);
        lua_pop(L, 2);
        if (rc)
            return rc;
    }
    mst__buf_puts(b, "}");
    return 0;
}

static int write_value(lua_State *L, int idx, struct mst__buf *b, int depth, const char **err)
{
    if (depth > 200) {
        *err = "value nested too deeply (a cycle?)";
        return -1;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL: mst__buf_puts(b, "null"); return 0;
    case LUA_TBOOLEAN: mst__buf_puts(b, lua_toboolean(L, idx) ? "true" : "false"); return 0;
    case LUA_TNUMBER:
        if (!lua_isinteger(L, idx) && !isfinite(lua_tonumber(L, idx))) {
            *err = "NaN and infinity have no JSON form";
            return -1;
        }
        write_number(L, idx, b);
        return 0;
    case LUA_TSTRING: mst__buf_json_string(b, lua_tostring(L, idx)); return 0;
    case LUA_TTABLE: return write_table(L, idx, b, depth, err);
    default: *err = "functions, userdata and threads have no JSON form"; return -1;
    }
}

char *mst__lua_to_json(lua_State *L, int idx, int raw_strings)
{
    idx = lua_absindex(L, idx);
    if (raw_strings && lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        char *copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, s, len);
            copy[len] = '\0';
        }
        return copy;
    }
    const char *err = NULL;
    struct mst__buf b = {0};
    luaL_checkstack(L, 8, "JSON encoding");
    if (write_value(L, idx, &b, 0, &err) != 0) {
        mst__buf_free(&b);
        lua_pushstring(L, err ? err : "cannot encode as JSON");
        return NULL;
    }
    return b.data;
}

static int json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    char *text = mst__lua_to_json(L, 1, 0);
    if (!text)
        return lua_error(L);
    lua_pushstring(L, text);
    free(text);
    return 1;
}

static int json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    cJSON *root = cJSON_ParseWithLength(s, len);
    if (!root) {
        luaL_pushfail(L);
        lua_pushstring(L, "not valid JSON");
        return 2;
    }
    push_node(L, root, 0);
    cJSON_Delete(root);
    return 1;
}

int mst__lua_open_json(lua_State *L)
{
    static const luaL_Reg fns[] = {{"encode", json_encode}, {"decode", json_decode}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
