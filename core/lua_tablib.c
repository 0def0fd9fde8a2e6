/* lua_tablib.c - table.insert, remove, move and sort for the sandbox.
 *
 * Lua's own move every element after the position (insert, remove), every
 * element of the range (move) or sort them, in C, where the count hook
 * never runs: table.move({}, 1, 1 << 50, 2) loops 2^50 times, and a __len
 * that answers 2^50 does the same to insert and remove, without allocating
 * anything the memory cap would see.  These versions keep Lua 5.4's
 * behaviour and messages and charge the elements they will move (sort:
 * n log2 n comparisons) to the call's instruction budget before moving
 * them. */
#include "lua_vm.h"

static void charge(lua_State *L, lua_Integer elements)
{
    if (elements > 0)
        mst__lua_vm_charge(L, mst__lua_vm_of(L), elements);
}

static lua_Integer length_of(lua_State *L, int idx)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    return luaL_len(L, idx);
}

static int tab_insert(lua_State *L)
{
    lua_Integer end = length_of(L, 1) + 1; /* the first empty slot */
    lua_Integer pos = end;
    switch (lua_gettop(L)) {
    case 2: break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        /* unsigned: one comparison checks 1 <= pos <= end */
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)end, 2, "position out of bounds");
        charge(L, end - pos);
        for (lua_Integer i = end; i > pos; i--) {
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        break;
    default: return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

static int tab_remove(lua_State *L)
{
    lua_Integer size = length_of(L, 1);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size) /* Lua names argument 1 here; so do we */
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1, "position out of bounds");
    lua_geti(L, 1, pos);
    charge(L, size - pos);
    for (; pos < size; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

static int tab_move(lua_State *L)
{
    lua_Integer from = luaL_checkinteger(L, 2), last = luaL_checkinteger(L, 3), to = luaL_checkinteger(L, 4);
    int dest = lua_isnoneornil(L, 5) ? 1 : 5;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, dest, LUA_TTABLE);
    if (last >= from) {
        luaL_argcheck(L, from > 0 || last < LUA_MAXINTEGER + from, 3, "too many elements to move");
        lua_Integer n = last - from + 1;
        luaL_argcheck(L, to <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        charge(L, n);
        if (to > last || to <= from || (dest != 1 && !lua_compare(L, 1, dest, LUA_OPEQ))) {
            for (lua_Integer i = 0; i < n; i++) {
                lua_geti(L, 1, from + i);
                lua_seti(L, dest, to + i);
            }
        } else { /* overlapping, moving up: from the end */
            for (lua_Integer i = n - 1; i >= 0; i--) {
                lua_geti(L, 1, from + i);
                lua_seti(L, dest, to + i);
            }
        }
    }
    lua_pushvalue(L, dest);
    return 1;
}

/* Lua's own sort, charged first: it allocates nothing while it works. */
static int tab_sort(lua_State *L)
{
    lua_Integer n = length_of(L, 1), cost = n;
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    for (lua_Integer k = n; k > 1; k >>= 1)
        cost += n;
    charge(L, cost);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 0);
    return 0;
}

void mst__lua_open_tablib(lua_State *L)
{
    static const luaL_Reg fns[] = {{"insert", tab_insert}, {"remove", tab_remove}, {"move", tab_move}, {NULL, NULL}};
    int t = lua_gettop(L); /* the table library */
    luaL_setfuncs(L, fns, 0);
    lua_getfield(L, t, "sort");
    lua_pushcclosure(L, tab_sort, 1);
    lua_setfield(L, t, "sort");
}
