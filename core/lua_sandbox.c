#include <lualib.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "log.h"
#include "lua_vm.h"
#include "trust.h"
#include "metrics.h"
#include "util.h"

#define HOOK_EVERY 1000
#define ALLOC_CHARGE 256

static const char budget_message = 0; /* its address is a registry key */

static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct mst__lua_vm *vm = ud;
    if (!ptr)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        vm->used -= osize;
        return NULL;
    }
    if (nsize > osize && vm->used + (nsize - osize) > vm->limit) {
        vm->memory_hit = 1;
        return NULL; /* Lua raises "not enough memory" */
    }
    /* Copying is work the count hook does not see (".." of two long strings
     * is one instruction; so is a C function building a big result): each
     * ALLOC_CHARGE bytes allocated cost one instruction.  An allocator may
     * not raise errors, so the hook raises the budget error at its next
     * turn, and until then growth past the budget is refused. */
    if (nsize > osize) {
        vm->left -= (int64_t)((nsize - osize) / ALLOC_CHARGE);
        if (vm->left <= -HOOK_EVERY) {
            vm->budget_hit = 1;
            return NULL;
        }
    }
    void *p = realloc(ptr, nsize);
    if (p)
        vm->used = vm->used - osize + nsize;
    return p;
}

static void budget_hook(lua_State *L, lua_Debug *ar);

static void budget_exceeded(lua_State *L, struct mst__lua_vm *vm)
{
    vm->budget_hit = 1;
    vm->left = 0; /* the allocator refuses far below 0: the message must fit */
    /* From now on fail at every instruction, so a script's own pcall cannot
     * swallow the error and keep looping. */
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, "instruction budget of %I exceeded", (lua_Integer)vm->budget);
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    mst__lua_vm_charge(L, mst__lua_vm_of(L), HOOK_EVERY);
}

void mst__lua_vm_charge(lua_State *L, struct mst__lua_vm *vm, int64_t instructions)
{
    vm->left -= instructions;
    if (vm->left <= 0)
        budget_exceeded(L, vm);
}

struct mst__lua_vm *mst__lua_vm_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* --- safe replacements ---------------------------------------------------- */

static int safe_load(lua_State *L)
{
    /* load(chunk [, chunkname [, mode [, env]]]): always text, never bytecode */
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "=(load)");
    int has_env = !lua_isnone(L, 4);
    /* the lexer reads all of it, in C (a long comment allocates nothing):
     * one instruction per 16 bytes, as a plain search */
    mst__lua_vm_charge(L, mst__lua_vm_of(L), 1 + (int64_t)(len / 16));
    if (luaL_loadbufferx(L, s, len, name, "t") != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env) {
        lua_pushvalue(L, 4);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    return 1;
}

static int safe_collectgarbage(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "collect");
    if (strcmp(opt, "count") == 0) {
        lua_pushnumber(L, (lua_Number)lua_gc(L, LUA_GCCOUNT, 0) + lua_gc(L, LUA_GCCOUNTB, 0) / 1024.0);
        return 1;
    }
    if (strcmp(opt, "collect") == 0 || strcmp(opt, "step") == 0) {
        int full = strcmp(opt, "collect") == 0;
        /* a full collection walks the whole heap, in C: charged like
         * allocating it, or a loop of them runs for minutes in budget */
        if (full) {
            struct mst__lua_vm *vm = mst__lua_vm_of(L);
            mst__lua_vm_charge(L, vm, (int64_t)(vm->used / ALLOC_CHARGE));
        }
        lua_gc(L, full ? LUA_GCCOLLECT : LUA_GCSTEP, 0);
        lua_pushinteger(L, 0);
        return 1;
    }
    return luaL_error(L, "collectgarbage(\"%s\") is not available in the sandbox", opt);
}

void mst__lua_join(lua_State *L, int first, char sep)
{
    int n = lua_gettop(L); /* before luaL_buffinit, which may push */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = first; i <= n; i++) {
        if (i > first)
            luaL_addchar(&b, sep);
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
}

static int safe_print(lua_State *L)
{
    struct mst__lua_vm *vm = mst__lua_vm_of(L);
    mst__lua_join(L, 1, '\t');
    mst__log(MST_LOG_INFO, vm->source ? vm->source : "lua", "%s", lua_tostring(L, -1));
    return 0;
}

static int forbidden(lua_State *L)
{
    return luaL_error(L, "%s is not available in the mestys sandbox", lua_tostring(L, lua_upvalueindex(1)));
}

static void forbid(lua_State *L, int table, const char *field, const char *full)
{
    lua_pushstring(L, full);
    lua_pushcclosure(L, forbidden, 1);
    lua_setfield(L, table, field);
}

int mst__lua_path_inside(const char *dir, const char *path)
{
    char *real_dir = realpath(dir, NULL), *real = realpath(path, NULL);
    int inside = 0;
    if (real_dir && real) {
        size_t n = strlen(real_dir);
        inside = strncmp(real, real_dir, n) == 0 && (real[n] == '/' || (n == 1 && real[0] == '/'));
    }
    free(real_dir);
    free(real);
    return inside;
}

/* A module name is dot-separated words of [A-Za-z0-9_-]: no slash, no
 * empty word, so neither "/abs" nor ".." nor ".x" can be spelled. */
static int module_name_ok(const char *name)
{
    int word = 0;
    for (const char *c = name; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
            *c == '-')
            word++;
        else if (*c == '.' && word > 0)
            word = 0;
        else
            return 0;
    }
    return word > 0;
}

/* The file of module `name` in dir, if there is one: its path, or NULL. */
static char *module_file(const char *dir, const char *name)
{
    char *rel = mst__xasprintf("%s.lua", name);
    for (char *c = rel; *c && strcmp(c, ".lua") != 0; c++)
        if (*c == '.')
            *c = '/';
    char *path = mst__path_join(dir, rel);
    free(rel);
    if (access(path, R_OK) == 0)
        return path;
    free(path);
    return NULL;
}

/* The loaded chunk (on top, above mestys.loaded) run and recorded. */
static int finish_require(lua_State *L, const char *name)
{
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    return 1;
}

/* A verified bundle's module: lua/A/B.lua (or A/B.lua) as its manifest
 * lists it, hashed as read.  0 with the chunk pushed, MST_ENOENT if not
 * listed, else the error message pushed. */
static int require_listed(lua_State *L, struct mst__lua_vm *vm, const char *name)
{
    char *rel = mst__xasprintf("lua/%s.lua", name);
    for (char *c = rel + 4; *c && strcmp(c, ".lua") != 0; c++)
        if (*c == '.')
            *c = '/';
    struct mst__buf why = {0};
    char *text = NULL;
    size_t len = 0;
    int rc = mst__trust_read_listed(vm->manifest, vm->bundle_fd, rel, &text, &len, &why);
    if (rc == MST_ENOENT)
        rc = mst__trust_read_listed(vm->manifest, vm->bundle_fd, rel + 4, &text, &len, &why);
    if (rc == 0) {
        char *path = mst__path_join(vm->plugin_dir, rel);
        rc = mst__lua_vm_loadbuffer(vm, text, len, path);
        free(path);
    } else if (rc != MST_ENOENT)
        lua_pushfstring(L, "require: module \"%s\": %s", name, why.data);
    free(text);
    free(rel);
    mst__buf_free(&why);
    return rc;
}

/* require(name): modules from the plugin's own folder or the SDK's lua/
 * folder, as text, in the sandbox; nothing else.  A symlink that leads out
 * of the folder is refused like a path that climbs out of it. */
static int safe_require(lua_State *L)
{
    struct mst__lua_vm *vm = mst__lua_vm_of(L);
    const char *name = luaL_checkstring(L, 1);
    if (!module_name_ok(name))
        return luaL_error(L, "require: bad module name \"%s\" (dot-separated words of letters, digits, _ and -)",
                          name);
    lua_getfield(L, LUA_REGISTRYINDEX, "mestys.loaded");
    if (lua_getfield(L, -1, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    if (strcmp(name, "mestys") == 0) {
        mst__lua_open_api(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, name);
        return 1;
    }
    if (vm->manifest) {
        int rc = require_listed(L, vm, name);
        if (rc != MST_ENOENT)
            return rc == 0 ? finish_require(L, name) : lua_error(L);
    }
    const char *dirs[] = {vm->manifest ? NULL : vm->plugin_dir, vm->lua_dir};
    for (int i = 0; i < 2; i++) {
        char *path = dirs[i] ? module_file(dirs[i], name) : NULL;
        if (!path)
            continue;
        int inside = mst__lua_path_inside(dirs[i], path);
        int rc = inside ? mst__lua_vm_loadfile(vm, path) : 0;
        free(path);
        if (!inside)
            return luaL_error(L, "require: module \"%s\" leads out of its folder (a symbolic link?)", name);
        if (rc != 0)
            return lua_error(L);
        return finish_require(L, name);
    }
    return luaL_error(L, "module \"%s\" not found in the plugin's %s or the mestys lua/ folder", name,
                      vm->manifest ? "manifest" : "folder");
}

static void build_env(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},      {LUA_TABLIBNAME, luaopen_table}, {LUA_STRLIBNAME, luaopen_string},
        {LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
        {LUA_OSLIBNAME, luaopen_os},     {NULL, NULL},
    };
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    forbid(L, g, "dofile", "dofile");
    forbid(L, g, "loadfile", "loadfile");
    lua_pushcfunction(L, safe_load);
    lua_setfield(L, g, "load");
    lua_pushcfunction(L, safe_collectgarbage);
    lua_setfield(L, g, "collectgarbage");
    lua_pushcfunction(L, safe_print);
    lua_setfield(L, g, "print");
    lua_pushcfunction(L, safe_require);
    lua_setfield(L, g, "require");
    /* os keeps only the clock and the calendar */
    lua_getfield(L, g, "os");
    int os = lua_gettop(L);
    static const char *const os_forbidden[] = {"execute", "exit", "getenv", "remove", "rename",
                                               "tmpname", "setlocale", NULL};
    for (const char *const *f = os_forbidden; *f; f++) {
        char full[32];
        snprintf(full, sizeof full, "os.%s", *f);
        forbid(L, os, *f, full);
    }
    lua_pop(L, 1);
    /* io, debug and package are simply absent; say so if someone asks */
    lua_newtable(L);
    forbid(L, lua_gettop(L), "loadlib", "package.loadlib");
    lua_setfield(L, g, "package");
    /* string.dump makes bytecode, which can never be loaded here anyway */
    lua_getfield(L, g, "string");
    forbid(L, lua_gettop(L), "dump", "string.dump");
    mst__lua_open_strlib(L);
    lua_pop(L, 1);
    lua_getfield(L, g, "table");
    mst__lua_open_tablib(L);
    lua_pop(L, 1);
    lua_pop(L, 1);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "mestys.loaded");
    /* made now: when the allocator stops a call for its budget, Lua's error
     * is "not enough memory", replaced by this without allocating */
    lua_pushfstring(L, "instruction budget of %I exceeded", (lua_Integer)mst__lua_vm_of(L)->budget);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &budget_message);
}

static int open_env(lua_State *L)
{
    build_env(L);
    return 0;
}

int mst__lua_vm_open(struct mst__lua_vm *vm, size_t limit, int64_t budget, const char *plugin_dir,
                     const char *lua_dir)
{
    memset(vm, 0, sizeof *vm);
    mst__list_init(&vm->refs);
    vm->limit = limit;
    vm->budget = budget;
    vm->plugin_dir = plugin_dir ? mst__xstrdup(plugin_dir) : NULL;
    vm->lua_dir = lua_dir ? mst__xstrdup(lua_dir) : NULL;
    vm->L = lua_newstate(sandbox_alloc, vm);
    if (!vm->L)
        return MST_ENOMEM;
    vm->left = budget;
    lua_sethook(vm->L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
    /* even the libraries are opened protected: a tiny cap fails here, cleanly */
    lua_pushcfunction(vm->L, open_env);
    if (lua_pcall(vm->L, 0, 0, 0) != LUA_OK) {
        mst__lua_vm_close(vm);
        return MST_ENOMEM;
    }
    return 0;
}

void mst__lua_vm_close(struct mst__lua_vm *vm)
{
    if (vm->L)
        lua_close(vm->L);
    mst__lua_api_free(vm);
    vm->L = NULL;
    free(vm->plugin_dir);
    free(vm->lua_dir);
}

int mst__lua_vm_loadbuffer(struct mst__lua_vm *vm, const char *text, size_t len, const char *path)
{
    char *chunk = mst__xasprintf("@%s", path);
    /* mode "t": a precompiled chunk is refused here, whatever its name */
    int rc = luaL_loadbufferx(vm->L, text, len, chunk, "t");
    free(chunk);
    return rc == LUA_OK ? 0 : MST_EPLUGIN;
}

int mst__lua_vm_loadfile(struct mst__lua_vm *vm, const char *path)
{
    size_t len;
    char *text = mst__read_file(path, &len);
    if (!text) {
        int err = errno;
        lua_pushfstring(vm->L, "cannot read %s: %s", path, strerror(err));
        return mst__errno_code(err);
    }
    int rc = mst__lua_vm_loadbuffer(vm, text, len, path);
    free(text);
    return rc;
}

int mst__lua_vm_run(struct mst__lua_vm *vm, lua_CFunction fn, void *arg, int nresults, const char *what)
{
    /* a light C function and a light userdata: pushing them allocates nothing */
    lua_pushcfunction(vm->L, fn);
    lua_pushlightuserdata(vm->L, arg);
    return mst__lua_vm_call(vm, 1, nresults, what);
}

int mst__lua_vm_call(struct mst__lua_vm *vm, int nargs, int nresults, const char *what)
{
    lua_State *L = vm->L;
    vm->left = vm->budget;
    vm->budget_hit = 0;
    vm->memory_hit = 0;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
    int rc = lua_pcall(L, nargs, nresults, 0);
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
    vm->left = vm->budget; /* what the core allocates between calls is not the script's */
    if (rc == LUA_OK)
        return 0;
    const char *msg = lua_tostring(L, -1);
    const char *src = vm->source ? vm->source : "lua";
    if (vm->budget_hit) {
        if (rc == LUA_ERRMEM) {
            lua_pop(L, 1);
            lua_rawgetp(L, LUA_REGISTRYINDEX, &budget_message);
            msg = lua_tostring(L, -1);
        }
        mst__metric_add(vm->instr_hits, 1);
        mst__log(MST_LOG_WARN, src, "%s stopped: it ran past its instruction budget (%lld); "
                 "an endless loop? (%s)", what, (long long)vm->budget, msg ? msg : "");
        return MST_ETIMEDOUT;
    }
    if (rc == LUA_ERRMEM || vm->memory_hit) {
        mst__metric_add(vm->mem_hits, 1);
        mst__log(MST_LOG_WARN, src, "%s stopped: it tried to use more than its memory cap (%zu MiB)",
                 what, vm->limit >> 20);
        lua_gc(L, LUA_GCCOLLECT, 0);
        return MST_ENOMEM;
    }
    mst__metric_add(vm->errors, 1);
    mst__log(MST_LOG_WARN, src, "%s failed: %s", what, msg ? msg : "(error object is not a string)");
    return MST_EPLUGIN;
}
