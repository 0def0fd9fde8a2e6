/* lua_json.c - JSON text <-> Lua values, through cJSON.
 *
 * Both directions run under lua_pcall (a light C function and a light
 * userdata, which push nothing that allocates): a memory error at the cap
 * or a refusal (too deep, not UTF-8) comes back as an error code with a
 * message, whatever protected or unprotected place they are called from.
 * What they allocate outside Lua (the cJSON tree, the text being written)
 * is held by a userdata whose __gc frees it, so an error that unwinds
 * through them leaks nothing. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/utf8.h>

#include "lua_vm.h"
#include "util.h"

#define TREE_MT "mestys.json.tree"
#define TEXT_MT "mestys.json.text"

static int tree_gc(lua_State *L)
{
    cJSON **root = lua_touserdata(L, 1);
    cJSON_Delete(*root);
    *root = NULL;
    return 0;
}

static int text_gc(lua_State *L)
{
    mst__buf_free(lua_touserdata(L, 1));
    return 0;
}

/* Pushes a userdata that owns a C resource until the GC or its user frees it. */
static void *push_guard(lua_State *L, size_t size, const char *mt, lua_CFunction gc)
{
    void *p = lua_newuserdatauv(L, size, 0);
    memset(p, 0, size);
    if (luaL_newmetatable(L, mt)) {
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return p;
}

static void too_deep(lua_State *L)
{
    luaL_error(L, "JSON nested deeper than %d levels", MST__LUA_JSON_DEPTH);
}

/* --- JSON text -> Lua ------------------------------------------------------ */

static void push_node(lua_State *L, const cJSON *n, int depth)
{
    if (depth >= MST__LUA_JSON_DEPTH && (cJSON_IsArray(n) || cJSON_IsObject(n)))
        too_deep(L);
    luaL_checkstack(L, 3, "JSON value");
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

struct decode_job {
    const char *text;
    size_t len;
};

static int decode_protected(lua_State *L)
{
    struct decode_job *job = lua_touserdata(L, 1);
    cJSON **root = push_guard(L, sizeof *root, TREE_MT, tree_gc);
    *root = cJSON_ParseWithLength(job->text, job->len);
    if (!*root)
        return luaL_error(L, "not valid JSON");
    push_node(L, *root, 0);
    cJSON_Delete(*root);
    *root = NULL;
    return 1;
}

int mst__lua_push_json(lua_State *L, const char *text, size_t len)
{
    struct decode_job job = {text, len};
    lua_pushcfunction(L, decode_protected);
    lua_pushlightuserdata(L, &job);
    int rc = lua_pcall(L, 1, 1, 0);
    if (rc == LUA_OK)
        return 0;
    return rc == LUA_ERRMEM ? MST_ENOMEM : MST_EINVAL;
}

/* --- Lua -> JSON text ------------------------------------------------------ */

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
 * result back to check it, then prints again).  Refusals raise errors. */
static void write_value(lua_State *L, int idx, struct mst__buf *b, int depth);

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
    if (!isfinite(d))
        luaL_error(L, "NaN and infinity have no JSON form");
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.15g", d);
    if (strtod(tmp, NULL) != d)
        snprintf(tmp, sizeof tmp, "%.17g", d);
    mst__buf_puts(b, tmp);
}

/* JSON text is UTF-8: a Lua string that is not (binary data, Latin-1) is
 * refused rather than escaped, so what a reader gets back is exactly what
 * the script meant, or an error that says why.  NUL and the other control
 * bytes are written as \u00XX, never cut off. */
static void write_string(lua_State *L, int idx, struct mst__buf *b)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (!mst_utf8_valid(s, len))
        luaL_error(L, "string is not valid UTF-8 (JSON text must be): encode binary data as hex or base64");
    mst__buf_json_stringn(b, s, len);
}

static void write_table(lua_State *L, int idx, struct mst__buf *b, int depth)
{
    /* each level holds at most three slots: a key, its value, a key copy */
    luaL_checkstack(L, 4, "JSON value");
    lua_Integer n;
    if (is_sequence(L, idx, &n)) {
        mst__buf_puts(b, "[");
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1)
                mst__buf_puts(b, ",");
            lua_rawgeti(L, idx, i);
            write_value(L, lua_gettop(L), b, depth + 1);
            lua_pop(L, 1);
        }
        mst__buf_puts(b, "]");
        return;
    }
    mst__buf_puts(b, "{");
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING && !lua_isinteger(L, -2))
            luaL_error(L, "JSON object keys must be strings");
        lua_pushvalue(L, -2); /* converts the copy, not the key lua_next needs */
        if (!first)
            mst__buf_puts(b, ",");
        first = 0;
        write_string(L, lua_gettop(L), b);
        mst__buf_puts(b, ":");
        write_value(L, lua_gettop(L) - 1, b, depth + 1);
        lua_pop(L, 2);
    }
    mst__buf_puts(b, "}");
}

static void write_value(lua_State *L, int idx, struct mst__buf *b, int depth)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: mst__buf_puts(b, "null"); return;
    case LUA_TBOOLEAN: mst__buf_puts(b, lua_toboolean(L, idx) ? "true" : "false"); return;
    case LUA_TNUMBER: write_number(L, idx, b); return;
    case LUA_TSTRING: write_string(L, idx, b); return;
    case LUA_TTABLE:
        /* a table that contains itself ends here too */
        if (depth >= MST__LUA_JSON_DEPTH)
            too_deep(L);
        write_table(L, idx, b, depth);
        return;
    default: luaL_error(L, "functions, userdata and threads have no JSON form");
    }
}

void mst__lua_json_encode(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    struct mst__buf *b = push_guard(L, sizeof *b, TEXT_MT, text_gc);
    write_value(L, idx, b, 0);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    mst__buf_free(b);
    lua_remove(L, -2);
}

static int encode_protected(lua_State *L)
{
    char **out = lua_touserdata(L, 2);
    mst__lua_json_encode(L, 1);
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    *out = malloc(len + 1);
    if (!*out)
        return luaL_error(L, "not enough memory");
    memcpy(*out, text, len + 1);
    return 0;
}

char *mst__lua_to_json(lua_State *L, int idx, int raw_strings)
{
    idx = lua_absindex(L, idx);
    char *out = NULL;
    if (raw_strings && lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        out = malloc(len + 1);
        if (out)
            memcpy(out, s, len + 1);
        else
            lua_pushliteral(L, "not enough memory");
        return out;
    }
    lua_pushcfunction(L, encode_protected);
    lua_pushvalue(L, idx);
    lua_pushlightuserdata(L, &out);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK)
        return NULL;
    return out;
}

/* --- mestys.json ------------------------------------------------------------ */

static int json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    mst__lua_json_encode(L, 1);
    return 1;
}

static int json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int rc = mst__lua_push_json(L, s, len);
    if (rc == MST_ENOMEM)
        return lua_error(L); /* the cap: stop the call, as any allocation would */
    if (rc != 0) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

int mst__lua_open_json(lua_State *L)
{
    static const luaL_Reg fns[] = {{"encode", json_encode}, {"decode", json_decode}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
