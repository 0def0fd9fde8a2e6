#include "script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mestys/utf8.h>

#include "daemon.h"
#include "log.h"
#include "lua_vm.h"
#include "metrics.h"
#include "util.h"

struct mst_script {
    struct mst__list link;
    struct mst__lua_vm vm;
    char *what;
};

int mst__script_find(const char *lua_dir, const char *config_dir, const char *path, char **file)
{
    *file = NULL;
    if (!path[0] || path[0] == '/' || strstr(path, ".."))
        return MST_EINVAL;
    const char *dirs[] = {lua_dir, config_dir};
    for (int i = 0; i < 2; i++) {
        if (!dirs[i])
            continue;
        char *p = mst__path_join(dirs[i], path);
        if (access(p, R_OK) != 0) {
            free(p);
            continue;
        }
        if (!mst__lua_path_inside(dirs[i], p)) {
            free(p);
            return MST_EPERM;
        }
        *file = p;
        return 0;
    }
    return MST_ENOENT;
}

/* Why mst__script_find refused, in the words open (the log) and check use. */
static void find_why(int rc, const char *lua_dir, const char *config_dir, const char *path, char *why,
                     size_t why_len)
{
    if (rc == MST_EINVAL && !*path)
        snprintf(why, why_len, "\"lua:\" needs the script's file name, e.g. \"lua:decoders/meter.lua\"");
    else if (rc == MST_EINVAL)
        snprintf(why, why_len, "script %s: refused: give a path relative to the lua/ folder or the config's "
                 "folder, without \"..\"", path);
    else if (rc == MST_EPERM)
        snprintf(why, why_len, "script %s: refused: it leads out of its folder (a symbolic link?)", path);
    else
        snprintf(why, why_len, "script %s: not found in the lua/ folder (%s) or next to the config (%s)", path,
                 lua_dir ? lua_dir : "none", config_dir ? config_dir : "none");
}

int mst__script_check(const char *lua_dir, const char *config_dir, const char *path, char *why, size_t why_len)
{
    char *file;
    int rc = mst__script_find(lua_dir, config_dir, path, &file);
    if (rc != 0) {
        find_why(rc, lua_dir, config_dir, path, why, why_len);
        return rc;
    }
    struct mst__lua_vm vm = {0};
    char *dir = mst__dirname(file);
    rc = mst__lua_vm_open(&vm, (size_t)16 << 20, 1000000, dir, lua_dir);
    free(dir);
    if (rc == 0) {
        /* compiled, not run: the check never executes a user's code */
        rc = mst__lua_vm_loadfile(&vm, file);
        if (rc != 0)
            snprintf(why, why_len, "script %s: %s", path, lua_tostring(vm.L, -1));
        mst__lua_vm_close(&vm);
    } else {
        snprintf(why, why_len, "script %s: %s", path, mst_strerror(rc));
    }
    free(file);
    return rc;
}

static void budget_metric(struct mst_instance *inst, const char *kind, struct mst_metric **out)
{
    char *labels = mst__xasprintf("plugin=\"%s\",instance=\"%s\",kind=\"%s\"", inst->plugin->name, inst->name, kind);
    mst__metrics_get(&inst->d->metrics, MST_METRIC_COUNTER, "mestys_lua_budget_exceeded_total",
                     "Lua calls stopped for running past their instruction budget or memory cap", labels, out);
    free(labels);
}

int mst__script_open(struct mst_instance *inst, const char *path, mst_script **out)
{
    if (!path)
        return MST_EINVAL;
    char *file;
    int rc = mst__script_find(inst->d->loader.lua_dir, inst->d->cfg ? inst->d->cfg->dir : NULL, path, &file);
    if (rc != 0) {
        char why[512];
        find_why(rc, inst->d->loader.lua_dir, inst->d->cfg ? inst->d->cfg->dir : NULL, path, why, sizeof why);
        mst__log(MST_LOG_ERROR, inst->source, "%s", why);
        return rc;
    }
    struct mst_script *s = mst__xcalloc(1, sizeof *s);
    size_t limit = (size_t)(inst->lua_memory_mb > 0 ? inst->lua_memory_mb : 16) << 20;
    int64_t budget = inst->lua_instructions > 0 ? inst->lua_instructions : 1000000;
    char *dir = mst__dirname(file);
    rc = mst__lua_vm_open(&s->vm, limit, budget, dir, inst->d->loader.lua_dir);
    free(dir);
    if (rc != 0) {
        free(s);
        free(file);
        return rc;
    }
    s->vm.source = inst->source;
    s->what = mst__xasprintf("script %s", path);
    budget_metric(inst, "instructions", &s->vm.instr_hits);
    budget_metric(inst, "memory", &s->vm.mem_hits);
    s->vm.errors = inst->errors;
    rc = mst__lua_vm_loadfile(&s->vm, file);
    if (rc == 0)
        rc = mst__lua_vm_call(&s->vm, 0, 0, s->what);
    else
        mst__log(MST_LOG_ERROR, inst->source, "%s", lua_tostring(s->vm.L, -1));
    free(file);
    if (rc != 0) {
        mst__script_close(s);
        return rc == MST_EPLUGIN || rc == MST_ETIMEDOUT || rc == MST_ENOMEM ? MST_EPLUGIN : rc;
    }
    mst__list_init(&s->link);
    mst__list_push(&inst->scripts, &s->link);
    *out = s;
    return 0;
}

static char *error_json(const char *msg)
{
    struct mst__buf b = {0};
    mst__buf_puts(&b, "{\"error\":");
    /* a script's error message may hold any bytes; the result is JSON */
    if (msg && !mst_utf8_valid(msg, strlen(msg)))
        msg = "the script failed (its message is not UTF-8 text)";
    mst__buf_json_string(&b, msg ? msg : "error");
    mst__buf_puts(&b, "}");
    return b.data;
}

struct script_call {
    const char *function;
    const char *json;
    size_t len;
    int missing;
};

/* Runs protected: the input's conversion, the call and the result's
 * conversion may each hit the memory cap. */
static int call_protected(lua_State *L)
{
    struct script_call *c = lua_touserdata(L, 1);
    if (lua_getglobal(L, c->function) != LUA_TFUNCTION) {
        c->missing = 1;
        return 0;
    }
    if (mst__lua_push_json(L, c->json, c->len) != 0)
        return lua_error(L);
    lua_call(L, 1, 1);
    mst__lua_json_encode(L, -1);
    return 1;
}

int mst__script_call(mst_script *s, const char *function, const char *json, size_t len, char **result)
{
    lua_State *L = s->vm.L;
    struct script_call c = {function, json, len, 0};
    int rc = mst__lua_vm_run(&s->vm, call_protected, &c, 1, s->what);
    if (rc != 0) {
        *result = error_json(lua_tostring(L, -1));
        lua_pop(L, 1);
        return rc;
    }
    if (c.missing) {
        lua_pop(L, 1);
        *result = error_json("the script has no such function");
        return MST_ENOENT;
    }
    size_t n;
    const char *text = lua_tolstring(L, -1, &n);
    *result = mst__xstrndup(text, n);
    lua_pop(L, 1);
    return 0;
}

void mst__script_close(mst_script *s)
{
    if (!s)
        return;
    if (s->link.next)
        mst__list_remove(&s->link);
    mst__lua_vm_close(&s->vm);
    free(s->what);
    free(s);
}

void mst__script_close_all(struct mst__list *owner_scripts)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, owner_scripts)
        mst__script_close(mst__container_of(pos, struct mst_script, link));
}
