/* lua_host.c - a .lua file as a plugin: its returned table gives the
 * description (name, version, config schema, topics) and the callbacks. */
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "daemon.h"
#include "log.h"
#include "lua_host.h"
#include "lua_vm.h"
#include "metrics.h"
#include "util.h"

#define DESCRIBE_MEMORY (16u << 20)
#define DESCRIBE_BUDGET 10000000

struct lua_module {
    struct mst_plugin plugin;
    char *dir;
    char *lua_dir;
    char **owned;
    size_t n_owned;
    struct mst_config_key *keys;
    size_t n_keys;
    char **lists[4];
};

struct lua_instance {
    struct mst__lua_vm vm;
    mst_instance *inst;
    int table_ref;
};

static char *own(struct lua_module *lm, const char *s)
{
    if (!s)
        return NULL;
    lm->owned = mst__xrealloc(lm->owned, (lm->n_owned + 1) * sizeof *lm->owned);
    return lm->owned[lm->n_owned++] = mst__xstrdup(s);
}

static const char *field_string(lua_State *L, int t, const char *name, struct lua_module *lm)
{
    lua_getfield(L, t, name);
    const char *s = lua_type(L, -1) == LUA_TSTRING ? own(lm, lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return s;
}

/* Fills *out (owned by lm at once, so an error raised half-way leaks
 * nothing): 0, or -1 with why set. */
static int read_list(lua_State *L, int t, const char *name, struct lua_module *lm, char ***out, struct mst__buf *why)
{
    lua_getfield(L, t, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        *out = mst__xcalloc(1, sizeof(char *));
        return 0;
    }
    if (!lua_istable(L, -1)) {
        mst__buf_printf(why, "\"%s\" must be a list of topic strings", name);
        lua_pop(L, 1);
        return -1;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    char **list = *out = mst__xcalloc((size_t)n + 1, sizeof *list);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (lua_type(L, -1) != LUA_TSTRING) {
            mst__buf_printf(why, "\"%s\"[%lld] is not a string", name, (long long)i);
            lua_pop(L, 2);
            return -1;
        }
        list[i - 1] = own(lm, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

static int parse_type(const char *s)
{
    static const struct {
        const char *name;
        enum mst_config_type type;
    } types[] = {{"string", MST_CFG_STRING},   {"int", MST_CFG_INT},       {"integer", MST_CFG_INT},
                 {"number", MST_CFG_NUMBER},   {"bool", MST_CFG_BOOL},     {"boolean", MST_CFG_BOOL},
                 {"object", MST_CFG_OBJECT},   {"array", MST_CFG_ARRAY},   {"string_list", MST_CFG_STRING_LIST},
                 {"any", MST_CFG_ANY}};
    for (size_t i = 0; s && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, s) == 0)
            return (int)types[i].type;
    return -1;
}

/* config = { key = { type = "int", default = 5, min = 1, max = 10,
 *                    required = false, description = "..." }, ... } */
static int read_schema(lua_State *L, int t, struct lua_module *lm, struct mst__buf *why)
{
    lua_getfield(L, t, "config");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lm->keys = mst__xcalloc(1, sizeof *lm->keys);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        mst__buf_puts(why, "\"config\" must be a table of key = { type = ... }");
        lua_pop(L, 1);
        return MST_EPLUGIN;
    }
    int ct = lua_gettop(L);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, ct)) {
        n++;
        lua_pop(L, 1);
    }
    lm->keys = mst__xcalloc(n + 1, sizeof *lm->keys);
    lua_pushnil(L);
    while (lua_next(L, ct)) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1)) {
            mst__buf_puts(why, "each \"config\" entry must be name = { type = ... }");
            lua_pop(L, 3);
            return MST_EPLUGIN;
        }
        struct mst_config_key *k = &lm->keys[lm->n_keys++];
        int e = lua_gettop(L);
        k->key = own(lm, lua_tostring(L, -2));
        lua_getfield(L, e, "type");
        int type = parse_type(lua_tostring(L, -1));
        lua_pop(L, 1);
        if (type < 0) {
            mst__buf_printf(why, "config key \"%s\": type must be string, int, number, bool, object, array, string_list or any", k->key);
            lua_pop(L, 3);
            return MST_EPLUGIN;
        }
        k->type = (enum mst_config_type)type;
        k->description = field_string(L, e, "description", lm);
        k->choices = field_string(L, e, "choices", lm);
        lua_getfield(L, e, "required");
        if (lua_toboolean(L, -1))
            k->flags |= MST_CFG_REQUIRED;
        lua_pop(L, 1);
        lua_getfield(L, e, "secret");
        if (lua_toboolean(L, -1))
            k->flags |= MST_CFG_SECRET;
        lua_pop(L, 1);
        lua_getfield(L, e, "min");
        lua_getfield(L, e, "max");
        if (lua_isnumber(L, -2) || lua_isnumber(L, -1)) {
            k->flags |= MST_CFG_HAS_RANGE;
            k->min = lua_isnumber(L, -2) ? lua_tonumber(L, -2) : -1e300;
            k->max = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 1e300;
        }
        lua_pop(L, 2);
        lua_getfield(L, e, "default");
        if (!lua_isnil(L, -1)) {
            char *json = mst__lua_to_json(L, -1, 0);
            if (!json) {
                mst__buf_printf(why, "config key \"%s\": default has no JSON form (%s)", k->key,
                                lua_tostring(L, -1));
                lua_pop(L, 6);
                return MST_EPLUGIN;
            }
            k->default_json = own(lm, json);
            free(json);
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    return 0;
}

static int lp_init(mst_instance *inst, const struct mst_host *host, void **state);
static int lp_start(void *state);
static void lp_stop(void *state);
static void lp_fini(void *state);
static int lp_reload(void *state);

struct description {
    struct lua_module *lm;
    struct mst__buf *why;
    int rc;
};

/* Reads the table the file returned (at index 2).  Runs protected: reading
 * a field may run the table's metamethods or hit the memory cap. */
static int read_description(lua_State *L)
{
    struct description *ds = lua_touserdata(L, 1);
    struct lua_module *lm = ds->lm;
    const int t = 2;
    struct mst_plugin *p = &lm->plugin;
    p->abi_version = MST_PLUGIN_ABI;
    p->struct_size = sizeof *p;
    p->name = field_string(L, t, "name", lm);
    p->version = field_string(L, t, "version", lm);
    p->description = field_string(L, t, "description", lm);
    static const char *const lists[] = {"publishes", "subscribes", "serves", "requests"};
    for (int i = 0; i < 4; i++)
        if (read_list(L, t, lists[i], lm, &lm->lists[i], ds->why) != 0) {
            ds->rc = MST_EPLUGIN;
            return 0;
        }
    p->publishes = (const char *const *)lm->lists[0];
    p->subscribes = (const char *const *)lm->lists[1];
    p->serves = (const char *const *)lm->lists[2];
    p->requests = (const char *const *)lm->lists[3];
    ds->rc = read_schema(L, t, lm, ds->why);
    p->config = lm->keys;
    return 0;
}

/* The text run is the text the trust check read and hashed (never the
 * file again by its path); a bundle's modules come from its manifest. */
static void use_bundle(struct mst__lua_vm *vm, const struct mst__module *m)
{
    vm->manifest = m->verified.manifest;
    vm->bundle_fd = m->verified.dirfd;
}

static int describe(struct mst__lua_vm *vm, struct mst__module *m, struct lua_module *lm, struct mst__buf *why)
{
    lua_State *L = vm->L;
    if (mst__lua_vm_loadbuffer(vm, m->verified.bytes, m->verified.len, m->path) != 0) {
        mst__buf_printf(why, "%s", lua_tostring(L, -1));
        return MST_ENOTPLUGIN;
    }
    if (mst__lua_vm_call(vm, 0, 1, "loading the plugin file") != 0) {
        mst__buf_printf(why, "%s", lua_tostring(L, -1));
        return MST_EPLUGIN;
    }
    if (!lua_istable(L, -1)) {
        mst__buf_puts(why, "the file must return a table (name, version, config, handlers)");
        return MST_ENOTPLUGIN;
    }
    struct description ds = {lm, why, 0};
    lua_pushcfunction(L, read_description);
    lua_pushlightuserdata(L, &ds);
    lua_pushvalue(L, -3);
    if (mst__lua_vm_call(vm, 2, 0, "reading the plugin's description") != 0) {
        mst__buf_printf(why, "%s", lua_tostring(L, -1));
        return MST_EPLUGIN;
    }
    if (ds.rc != 0)
        return ds.rc;
    struct mst_plugin *p = &lm->plugin;
    p->init = lp_init;
    p->start = lp_start;
    p->stop = lp_stop;
    p->fini = lp_fini;
    p->reload = lp_reload;
    return mst__plugin_validate(p, why);
}

int mst__lua_module_load(struct mst__module *m, const char *lua_dir, struct mst__buf *why)
{
    struct lua_module *lm = mst__xcalloc(1, sizeof *lm);
    m->lua = lm;
    lm->dir = mst__dirname(m->path);
    lm->lua_dir = lua_dir ? mst__xstrdup(lua_dir) : NULL;
    struct mst__lua_vm vm;
    if (mst__lua_vm_open(&vm, DESCRIBE_MEMORY, DESCRIBE_BUDGET, lm->dir, lm->lua_dir) != 0) {
        mst__buf_puts(why, "cannot create a Lua state");
        return MST_ENOMEM;
    }
    vm.source = "lua-loader";
    use_bundle(&vm, m);
    int rc = describe(&vm, m, lm, why);
    mst__lua_vm_close(&vm);
    if (rc == 0)
        m->plugin = &lm->plugin;
    return rc;
}

void mst__lua_module_free(struct mst__module *m)
{
    struct lua_module *lm = m->lua;
    if (!lm)
        return;
    for (size_t i = 0; i < lm->n_owned; i++)
        free(lm->owned[i]);
    free(lm->owned);
    for (int i = 0; i < 4; i++)
        free(lm->lists[i]);
    free(lm->keys);
    free(lm->dir);
    free(lm->lua_dir);
    free(lm);
    m->lua = NULL;
}

/* --- the plugin callbacks ------------------------------------------------ */

struct handler_call {
    struct lua_instance *li;
    const char *name;
    const char *config; /* JSON, or NULL: no argument */
    int missing;
};

static int deliver_handler(lua_State *L)
{
    struct handler_call *hc = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, hc->li->table_ref);
    lua_getfield(L, -1, hc->name);
    if (lua_isnil(L, -1)) {
        hc->missing = 1;
        return 1;
    }
    int nargs = 0;
    if (hc->config) {
        if (mst__lua_push_json(L, hc->config, strlen(hc->config)) != 0)
            return lua_error(L);
        nargs = 1;
    }
    lua_call(L, nargs, 1);
    return 1;
}

static int call_handler(struct lua_instance *li, const char *name, int with_config)
{
    lua_State *L = li->vm.L;
    struct handler_call hc = {li, name, NULL, 0};
    char *cfg = with_config ? mst__host.config_json(li->inst, "") : NULL;
    hc.config = cfg;
    char what[64];
    snprintf(what, sizeof what, "%s()", name);
    int rc = mst__lua_vm_run(&li->vm, deliver_handler, &hc, 1, what);
    free(cfg);
    if (rc != 0) {
        lua_pop(L, 1);
        return rc;
    }
    /* `return false` (or nil, "why") from a handler refuses */
    int refused = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (hc.missing)
        return MST_ENOENT;
    return refused ? MST_EPLUGIN : 0;
}

static void metric(mst_instance *inst, const char *kind, struct mst_metric **out)
{
    char *labels = mst__xasprintf("plugin=\"%s\",instance=\"%s\",kind=\"%s\"", inst->plugin->name,
                                  inst->name, kind);
    mst__metrics_get(&inst->d->metrics, MST_METRIC_COUNTER, "mestys_lua_budget_exceeded_total",
                     "Lua calls stopped for running past their instruction budget or memory cap",
                     labels, out);
    free(labels);
}

/* Runs the plugin file in the instance's state and keeps the table it
 * returns; protected, as every entry into Lua. */
static int run_file(lua_State *L)
{
    struct lua_instance *li = lua_touserdata(L, 1);
    /* the module is there both as require("mestys") and as a global */
    lua_getglobal(L, "require");
    lua_pushstring(L, "mestys");
    lua_call(L, 1, 1);
    lua_setglobal(L, "mestys");
    const struct mst__module *m = li->inst->module;
    if (mst__lua_vm_loadbuffer(&li->vm, m->verified.bytes, m->verified.len, m->path) != 0)
        return lua_error(L);
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1))
        return luaL_error(L, "the plugin file must return a table");
    li->table_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int lp_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    (void)host;
    struct lua_module *lm = inst->module->lua;
    struct lua_instance *li = mst__xcalloc(1, sizeof *li);
    li->inst = inst;
    size_t limit = (size_t)(inst->lua_memory_mb > 0 ? inst->lua_memory_mb : 16) << 20;
    int64_t budget = inst->lua_instructions > 0 ? inst->lua_instructions : 1000000;
    if (mst__lua_vm_open(&li->vm, limit, budget, lm->dir, lm->lua_dir) != 0) {
        free(li);
        return MST_ENOMEM;
    }
    li->vm.inst = inst;
    li->vm.source = inst->source;
    use_bundle(&li->vm, inst->module);
    metric(inst, "instructions", &li->vm.instr_hits);
    metric(inst, "memory", &li->vm.mem_hits);
    li->vm.errors = inst->errors;
    lua_State *L = li->vm.L;
    int rc = mst__lua_vm_run(&li->vm, run_file, li, 0, "loading the plugin file");
    if (rc != 0) {
        lua_pop(L, 1);
        mst__lua_vm_close(&li->vm);
        free(li);
        return MST_EPLUGIN;
    }
    rc = call_handler(li, "init", 1);
    if (rc != 0 && rc != MST_ENOENT) {
        mst__lua_vm_close(&li->vm);
        free(li);
        return rc;
    }
    *state = li;
    return 0;
}

static int lp_start(void *state)
{
    int rc = call_handler(state, "start", 0);
    return rc == MST_ENOENT ? 0 : rc;
}

static void lp_stop(void *state)
{
    call_handler(state, "stop", 0);
}

static int update_config(lua_State *L)
{
    const char *cfg = lua_touserdata(L, 1);
    lua_getglobal(L, "mestys");
    if (mst__lua_push_json(L, cfg, strlen(cfg)) != 0)
        return lua_error(L);
    lua_setfield(L, -2, "config");
    return 0;
}

static int lp_reload(void *state)
{
    struct lua_instance *li = state;
    char *cfg = mst__host.config_json(li->inst, "");
    int rc = mst__lua_vm_run(&li->vm, update_config, cfg, 0, "reload()");
    free(cfg);
    if (rc != 0) {
        lua_pop(li->vm.L, 1);
        return rc;
    }
    rc = call_handler(li, "reload", 1);
    return rc == MST_ENOENT ? MST_ENOTSUP : rc;
}

static void lp_fini(void *state)
{
    struct lua_instance *li = state;
    mst__lua_vm_close(&li->vm);
    free(li);
}
