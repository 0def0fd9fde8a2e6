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

static char **read_list(lua_State *L, int t, const char *name, struct lua_module *lm, struct mst__buf *why)
{
    lua_getfield(L, t, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return mst__xcalloc(1, sizeof(char *));
    }
    if (!lua_istable(L, -1)) {
        mst__buf_printf(why, "\"%s\" must be a list of topic strings", name);
        lua_pop(L, 1);
        return NULL;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    char **out = mst__xcalloc((size_t)n + 1, sizeof *out);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (lua_type(L, -1) != LUA_TSTRING) {
            mst__buf_printf(why, "\"%s\"[%lld] is not a string", name, (long long)i);
            lua_pop(L, 2);
            free(out);
            return NULL;
        }
        out[i - 1] = own(lm, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return out;
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
                mst__buf_printf(why, "config key \"%s\": default has no JSON form", k->key);
                lua_pop(L, 5);
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

static int describe(struct mst__lua_vm *vm, struct mst__module *m, struct lua_module *lm, struct mst__buf *why)
{
    lua_State *L = vm->L;
    if (mst__lua_vm_loadfile(vm, m->path) != 0) {
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
    int t = lua_gettop(L);
    struct mst_plugin *p = &lm->plugin;
    p->abi_version = MST_PLUGIN_ABI;
    p->struct_size = sizeof *p;
    p->name = field_string(L, t, "name", lm);
    p->version = field_string(L, t, "version", lm);
    p->description = field_string(L, t, "description", lm);
    static const char *const lists[] = {"publishes", "subscribes", "serves", "requests"};
    for (int i = 0; i < 4; i++)
        if (!(lm->lists[i] = read_list(L, t, lists[i], lm, why)))
            return MST_EPLUGIN;
    p->publishes = (const char *const *)lm->lists[0];
    p->subscribes = (const char *const *)lm->lists[1];
    p->serves = (const char *const *)lm->lists[2];
    p->requests = (const char *const *)lm->lists[3];
    if (read_schema(L, t, lm, why) != 0)
        return MST_EPLUGIN;
    p->config = lm->keys;
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

static int call_handler(struct lua_instance *li, const char *name, int with_config)
{
    lua_State *L = li->vm.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, li->table_ref);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return MST_ENOENT;
    }
    int nargs = 0;
    if (with_config) {
        char *cfg = mst__host.config_json(li->inst, "");
        mst__lua_push_json(L, cfg, strlen(cfg));
        free(cfg);
        nargs = 1;
    }
    char what[64];
    snprintf(what, sizeof what, "%s()", name);
    int rc = mst__lua_vm_call(&li->vm, nargs, 1, what);
    if (rc != 0) {
        lua_pop(L, 1);
        return rc;
    }
    /* `return false` (or nil, "why") from a handler refuses */
    int refused = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
    lua_pop(L, 1);
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
    metric(inst, "instructions", &li->vm.instr_hits);
    metric(inst, "memory", &li->vm.mem_hits);
    li->vm.errors = inst->errors;
    lua_State *L = li->vm.L;
    /* the module is there both as require("mestys") and as a global */
    lua_getglobal(L, "require");
    lua_pushstring(L, "mestys");
    lua_call(L, 1, 1);
    lua_setglobal(L, "mestys");
    int rc = mst__lua_vm_loadfile(&li->vm, inst->module->path);
    if (rc == 0)
        rc = mst__lua_vm_call(&li->vm, 0, 1, "loading the plugin file");
    if (rc != 0 || !lua_istable(L, -1)) {
        if (rc != 0)
            lua_pop(L, 1);
        mst__lua_vm_close(&li->vm);
        free(li);
        return MST_EPLUGIN;
    }
    li->table_ref = luaL_ref(L, LUA_REGISTRYINDEX);
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

static int lp_reload(void *state)
{
    struct lua_instance *li = state;
    lua_State *L = li->vm.L;
    lua_getglobal(L, "mestys");
    char *cfg = mst__host.config_json(li->inst, "");
    mst__lua_push_json(L, cfg, strlen(cfg));
    free(cfg);
    lua_setfield(L, -2, "config");
    lua_pop(L, 1);
    int rc = call_handler(li, "reload", 1);
    return rc == MST_ENOENT ? MST_ENOTSUP : rc;
}

static void lp_fini(void *state)
{
    struct lua_instance *li = state;
    mst__lua_vm_close(&li->vm);
    free(li);
}
