/* lua_api.c - the `mestys` module a Lua plugin sees: the host table's
 * services with Lua functions as callbacks. */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/utf8.h>

#include "http.h"
#include "http_static_path.h"
#include "instance.h"
#include "log.h"
#include "lua_vm.h"
#include "role.h"
#include "util.h"

enum lref_kind { REF_SUB, REF_TIMER, REF_REQUEST, REF_SERVE, REF_ROUTE };

/* A Lua function the host will call back, kept in the registry. */
struct lref {
    struct mst__list link;
    struct mst__lua_vm *vm;
    int ref;
    enum lref_kind kind;
    mst_timer *timer;
    int once;
    char *what; /* for the log: "subscribe handler for lora/#" */
};

static struct mst__lua_vm *vm_checked(lua_State *L)
{
    struct mst__lua_vm *vm = mst__lua_vm_of(L);
    if (!vm->inst)
        luaL_error(L, "the mestys module is not usable while the plugin is being described; "
                      "call it from init or later");
    return vm;
}

static struct lref *lref_new(lua_State *L, int fn_idx, enum lref_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static struct lref *lref_new(lua_State *L, int fn_idx, enum lref_kind kind, const char *fmt, ...)
{
    struct mst__lua_vm *vm = mst__lua_vm_of(L);
    luaL_checktype(L, fn_idx, LUA_TFUNCTION);
    struct lref *r = mst__xcalloc(1, sizeof *r);
    r->vm = vm;
    lua_pushvalue(L, fn_idx);
    r->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    r->kind = kind;
    struct mst__buf what = {0};
    va_list ap;
    va_start(ap, fmt);
    mst__buf_vprintf(&what, fmt, ap);
    va_end(ap);
    r->what = what.data;
    mst__list_push(&vm->refs, &r->link);
    return r;
}

static void lref_free(struct lref *r)
{
    if (r->vm->L)
        luaL_unref(r->vm->L, LUA_REGISTRYINDEX, r->ref);
    mst__list_remove(&r->link);
    free(r->what);
    free(r);
}

void mst__lua_api_free(struct mst__lua_vm *vm)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &vm->refs)
    {
        struct lref *r = mst__container_of(pos, struct lref, link);
        mst__list_remove(&r->link);
        free(r->what);
        free(r);
    }
    if (vm->kv) {
        sqlite3_finalize(vm->kv_get);
        sqlite3_finalize(vm->kv_set);
        sqlite3_finalize(vm->kv_del);
        sqlite3_close(vm->kv);
        vm->kv = NULL;
    }
}

static void push_fn(struct lref *r)
{
    lua_rawgeti(r->vm->L, LUA_REGISTRYINDEX, r->ref);
}

static int return_rc(lua_State *L, int rc)
{
    if (rc == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    luaL_pushfail(L);
    lua_pushstring(L, mst_strerror(rc));
    return 2;
}

/* A body argument: a string as is, anything else as JSON; either way a
 * Lua string (kept on the stack) that lives until the function returns. */
static const char *body_arg(lua_State *L, int idx, size_t *len)
{
    if (lua_isnoneornil(L, idx)) {
        *len = 0;
        return "";
    }
    if (lua_type(L, idx) != LUA_TSTRING)
        mst__lua_json_encode(L, idx);
    else
        lua_pushvalue(L, idx);
    return lua_tolstring(L, -1, len);
}

/* --- bus ---------------------------------------------------------------- */

static int l_publish(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    const char *topic = luaL_checkstring(L, 1);
    size_t len;
    const char *body = body_arg(L, 2, &len);
    int rc = mst__host.publish(vm->inst, topic, body, len);
    return return_rc(L, rc);
}

/* What the host hands a Lua callback, pushed inside the protected call
 * (deliver_*), where running out of memory is an error like any other. */
struct delivery {
    struct lref *r;
    const char *topic;
    const char *body;
    size_t len;
    int status;
    mst_http_request *http;
};

static int deliver_message(lua_State *L)
{
    struct delivery *dv = lua_touserdata(L, 1);
    push_fn(dv->r);
    lua_pushstring(L, dv->topic);
    lua_pushlstring(L, dv->body, dv->len);
    lua_call(L, 2, 0);
    return 0;
}

static void on_message(void *arg, const char *topic, const char *body, size_t len)
{
    struct lref *r = arg;
    struct delivery dv = {.r = r, .topic = topic, .body = body, .len = len};
    if (mst__lua_vm_run(r->vm, deliver_message, &dv, 0, r->what) != 0)
        lua_pop(r->vm->L, 1);
}

static int l_subscribe(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    const char *pattern = luaL_checkstring(L, 1);
    struct lref *r = lref_new(L, 2, REF_SUB, "subscribe handler for %s", pattern);
    int rc = mst__host.subscribe(vm->inst, pattern, on_message, r);
    if (rc != 0)
        lref_free(r);
    return return_rc(L, rc);
}

static int l_unsubscribe(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    const char *pattern = luaL_checkstring(L, 1);
    int rc = mst__host.unsubscribe(vm->inst, pattern);
    /* the handlers stay in the registry until the instance ends: cheap */
    return return_rc(L, rc);
}

static int deliver_reply(lua_State *L)
{
    struct delivery *dv = lua_touserdata(L, 1);
    push_fn(dv->r);
    lref_free(dv->r); /* one reply per request; the function is on the stack */
    if (dv->status == 0) {
        lua_pushlstring(L, dv->body, dv->len);
        lua_pushnil(L);
    } else {
        lua_pushnil(L);
        if (dv->len)
            lua_pushlstring(L, dv->body, dv->len);
        else
            lua_pushstring(L, mst_strerror(dv->status));
    }
    lua_call(L, 2, 0);
    return 0;
}

static void on_reply(void *arg, int status, const char *body, size_t len)
{
    struct lref *r = arg;
    struct mst__lua_vm *vm = r->vm;
    char *what = mst__xstrdup(r->what);
    struct delivery dv = {.r = r, .body = body, .len = len, .status = status};
    if (mst__lua_vm_run(vm, deliver_reply, &dv, 0, what) != 0)
        lua_pop(vm->L, 1);
    free(what);
}

static int l_request(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    const char *topic = luaL_checkstring(L, 1);
    lua_Integer timeout = luaL_optinteger(L, 4, 0);
    size_t len;
    const char *body = body_arg(L, 2, &len);
    struct lref *r = lref_new(L, 3, REF_REQUEST, "reply handler for %s", topic);
    int rc = mst__host.request(vm->inst, topic, body, len, (uint32_t)timeout, on_reply, r);
    if (rc != 0)
        lref_free(r);
    return return_rc(L, rc);
}

/* The handler's answer, a string as is or a table as JSON, is made inside
 * the protected call: its conversion can fail too. */
static int deliver_request(lua_State *L)
{
    struct delivery *dv = lua_touserdata(L, 1);
    push_fn(dv->r);
    lua_pushlstring(L, dv->body, dv->len);
    lua_pushstring(L, dv->topic);
    lua_call(L, 2, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
        mst__lua_json_encode(L, -1);
    return 1;
}

static void on_serve(void *arg, mst_request *req, const char *topic, const char *body, size_t len)
{
    struct lref *r = arg;
    lua_State *L = r->vm->L;
    struct delivery dv = {.r = r, .topic = topic, .body = body, .len = len};
    int rc = mst__lua_vm_run(r->vm, deliver_request, &dv, 1, r->what);
    size_t n;
    const char *text = lua_tolstring(L, -1, &n);
    if (rc != 0) {
        struct mst__buf e = {0};
        mst__buf_puts(&e, "{\"error\":");
        mst__buf_json_string(&e, text && mst_utf8_valid(text, n) ? text : "the serve handler failed");
        mst__buf_puts(&e, "}");
        mst__host.respond(req, MST_EPLUGIN, e.data, e.len);
        mst__buf_free(&e);
    } else
        mst__host.respond(req, 0, text, n);
    lua_pop(L, 1);
}

static int l_serve(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    const char *topic = luaL_checkstring(L, 1);
    struct lref *r = lref_new(L, 2, REF_SERVE, "serve handler for %s", topic);
    int rc = mst__host.serve(vm->inst, topic, on_serve, r);
    if (rc != 0)
        lref_free(r);
    return return_rc(L, rc);
}

/* --- timers --------------------------------------------------------------- */

#define TIMER_MT "mestys.timer"

static int deliver_tick(lua_State *L)
{
    struct lref *r = lua_touserdata(L, 1);
    push_fn(r);
    /* A one-shot timer is gone after this call: drop its reference first,
     * so a :stop() from inside the handler finds nothing to free. */
    if (r->once)
        lref_free(r);
    lua_call(L, 0, 0);
    return 0;
}

static void on_timer(void *arg)
{
    struct lref *r = arg;
    struct mst__lua_vm *vm = r->vm;
    const char *what = r->once ? "timer() handler" : "every() handler";
    if (mst__lua_vm_run(vm, deliver_tick, r, 0, what) != 0)
        lua_pop(vm->L, 1);
}

static int start_timer(lua_State *L, int repeat)
{
    struct mst__lua_vm *vm = vm_checked(L);
    lua_Integer ms = luaL_checkinteger(L, 1);
    luaL_argcheck(L, ms >= 0, 1, "must be >= 0");
    luaL_argcheck(L, !repeat || ms >= 1, 1, "a repeating timer needs at least 1 ms");
    struct lref *r = lref_new(L, 2, REF_TIMER, "%s", repeat ? "every() handler" : "timer() handler");
    r->once = !repeat;
    int rc = mst__host.timer_start(vm->inst, (uint64_t)ms, repeat ? (uint64_t)ms : 0, on_timer, r, &r->timer);
    if (rc != 0) {
        lref_free(r);
        return return_rc(L, rc);
    }
    struct lref **ud = lua_newuserdatauv(L, sizeof *ud, 0);
    *ud = r;
    luaL_setmetatable(L, TIMER_MT);
    return 1;
}

static int l_timer(lua_State *L) { return start_timer(L, 0); }
static int l_every(lua_State *L) { return start_timer(L, 1); }

static int l_timer_stop(lua_State *L)
{
    struct lref **ud = luaL_checkudata(L, 1, TIMER_MT);
    struct lref *r = *ud;
    if (!r)
        return 0;
    /* a fired one-shot timer has already gone: look before touching it */
    struct mst__list *pos;
    struct mst__lua_vm *vm = mst__lua_vm_of(L);
    for (pos = vm->refs.next; pos != &vm->refs; pos = pos->next) {
        if (pos == &r->link) {
            mst__host.timer_stop(r->timer);
            lref_free(r);
            break;
        }
    }
    *ud = NULL;
    return 0;
}

/* --- log, time, identity --------------------------------------------------- */

static int log_at(lua_State *L, enum mst_log_level level, int first)
{
    struct mst__lua_vm *vm = mst__lua_vm_of(L);
    mst__lua_join(L, first, ' ');
    mst__log(level, vm->source ? vm->source : "lua", "%s", lua_tostring(L, -1));
    return 0;
}

static int l_log(lua_State *L)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    int level = luaL_checkoption(L, 1, "info", levels);
    return log_at(L, (enum mst_log_level)level, 2);
}
static int l_error(lua_State *L) { return log_at(L, MST_LOG_ERROR, 1); }
static int l_warn(lua_State *L) { return log_at(L, MST_LOG_WARN, 1); }
static int l_info(lua_State *L) { return log_at(L, MST_LOG_INFO, 1); }
static int l_debug(lua_State *L) { return log_at(L, MST_LOG_DEBUG, 1); }

/* mestys.health(problem): what is wrong while the plugin keeps running,
 * shown in /health; nil (or "") clears it. */
static int l_health(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    const char *problem = luaL_optstring(L, 1, NULL);
    mst__host.health_set(vm->inst, problem);
    return 0;
}

static int l_now_ms(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    lua_pushinteger(L, (lua_Integer)mst__host.now_ms(vm->inst));
    return 1;
}

/* --- key-value state that survives restarts -------------------------------- */

static int kv_ready(lua_State *L, struct mst__lua_vm *vm)
{
    if (vm->kv)
        return 0;
    static const char *const migrations[] = {
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID", NULL};
    sqlite3 *db;
    int rc = mst__host.db_open(vm->inst, "kv.sqlite", migrations, &db);
    if (rc != 0)
        return luaL_error(L, "kv: cannot open the state database: %s", mst_strerror(rc));
    vm->kv = db;
    sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?", -1, (sqlite3_stmt **)&vm->kv_get, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       -1, (sqlite3_stmt **)&vm->kv_set, NULL);
    sqlite3_prepare_v2(db, "DELETE FROM kv WHERE key = ?", -1, (sqlite3_stmt **)&vm->kv_del, NULL);
    return 0;
}

static int l_kv_get(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    size_t kl;
    const char *key = luaL_checklstring(L, 1, &kl);
    kv_ready(L, vm);
    sqlite3_stmt *st = vm->kv_get;
    sqlite3_bind_text(st, 1, key, (int)kl, SQLITE_TRANSIENT);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = mst__lua_push_json(L, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    else
        lua_pushnil(L);
    sqlite3_reset(st);
    return rc == 0 ? 1 : lua_error(L);
}

static int l_kv_set(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    size_t kl;
    const char *key = luaL_checklstring(L, 1, &kl);
    luaL_checkany(L, 2);
    kv_ready(L, vm);
    sqlite3_stmt *st = lua_isnil(L, 2) ? vm->kv_del : vm->kv_set;
    if (!lua_isnil(L, 2)) {
        size_t vl;
        mst__lua_json_encode(L, 2); /* raises before anything is bound */
        const char *value = lua_tolstring(L, -1, &vl);
        sqlite3_bind_text(st, 2, value, (int)vl, SQLITE_TRANSIENT);
    }
    sqlite3_bind_text(st, 1, key, (int)kl, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return luaL_error(L, "kv: %s", sqlite3_errmsg(vm->kv));
    return 0;
}

static int l_kv_delete(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushnil(L);
    return l_kv_set(L);
}

/* --- HTTP routes ------------------------------------------------------------ */

static void push_request(lua_State *L, mst_http_request *req)
{
    lua_createtable(L, 0, 8);
    lua_pushstring(L, mst__host.http_method(req));
    lua_setfield(L, -2, "method");
    lua_pushstring(L, mst__host.http_path(req));
    lua_setfield(L, -2, "path");
    lua_pushstring(L, mst__host.http_subpath(req));
    lua_setfield(L, -2, "subpath");
    lua_pushstring(L, mst__host.http_query(req));
    lua_setfield(L, -2, "query");
    /* decoded query parameters, the first of each name */
    lua_newtable(L);
    const char *name, *value;
    for (size_t i = 0; mst__http_param_at(req, i, &name, &value) == 0; i++) {
        if (lua_getfield(L, -1, name) == LUA_TNIL) {
            lua_pushstring(L, value);
            lua_setfield(L, -3, name);
        }
        lua_pop(L, 1);
    }
    lua_setfield(L, -2, "params");
    size_t len;
    const char *body = mst__host.http_body(req, &len);
    lua_pushlstring(L, body, len);
    lua_setfield(L, -2, "body");
    lua_createtable(L, 0, 4);
    static const char *const names[] = {"accept", "content-type", "if-none-match", "user-agent", "origin", NULL};
    for (const char *const *n = names; *n; n++) {
        const char *v = mst__host.http_header(req, *n);
        if (v) {
            lua_pushstring(L, v);
            lua_setfield(L, -2, *n);
        }
    }
    lua_setfield(L, -2, "headers");
}

/* Calls the handler and leaves status, body and content type on the
 * stack, the body as a string (a table made JSON here, protected). */
static int deliver_http(lua_State *L)
{
    struct delivery *dv = lua_touserdata(L, 1);
    push_fn(dv->r);
    push_request(L, dv->http);
    lua_call(L, 1, 3);
    int body = lua_gettop(L) - 1;
    if (!lua_isnil(L, body) && lua_type(L, body) != LUA_TSTRING) {
        mst__lua_json_encode(L, body);
        lua_replace(L, body);
        if (lua_isnil(L, -1)) {
            lua_pushliteral(L, "application/json");
            lua_replace(L, -2);
        }
    }
    return 3;
}

static void on_route(void *arg, mst_http_request *req)
{
    struct lref *r = arg;
    lua_State *L = r->vm->L;
    struct delivery dv = {.r = r, .http = req};
    if (mst__lua_vm_run(r->vm, deliver_http, &dv, 3, r->what) != 0) {
        lua_pop(L, 1);
        const char err[] = "{\"error\":\"the plugin's handler failed; see the daemon log\",\"status\":500}\n";
        mst__host.http_respond(req, 500, "application/json", err, sizeof err - 1);
        return;
    }
    int status = lua_isinteger(L, -3) ? (int)lua_tointeger(L, -3) : 200;
    const char *ctype = lua_tostring(L, -1);
    size_t n = 0;
    const char *body = lua_tolstring(L, -2, &n);
    if (body)
        mst__host.http_respond(req, status, ctype ? ctype : "text/plain; charset=utf-8", body, n);
    else
        mst__host.http_respond(req, status, ctype ? ctype : "text/plain", "", 0);
    lua_pop(L, 3);
}

static int l_route(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    const char *method = luaL_checkstring(L, 1);
    const char *path = luaL_checkstring(L, 2);
    int role = luaL_checkoption(L, 3, NULL, mst__role_names);
    struct lref *r = lref_new(L, 4, REF_ROUTE, "HTTP handler for %s %s", method, path);
    int rc = mst__host.http_route(vm->inst, method, path, (enum mst_role)role, on_route, r);
    if (rc != 0)
        lref_free(r);
    return return_rc(L, rc);
}

/* mestys.http.pages(prefix, dir [, {img_src = "..."}]): dir is a folder
 * below the script's own, never absolute nor "..", and it must stay there
 * with symbolic links resolved: a sandboxed script publishes only files
 * it ships. */
static int l_pages(lua_State *L)
{
    struct mst__lua_vm *vm = vm_checked(L);
    const char *prefix = luaL_checkstring(L, 1);
    const char *dir = luaL_checkstring(L, 2);
    struct mst_http_static_opts opts = {.struct_size = sizeof opts};
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "img_src");
        opts.img_src = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
    }
    if (!*dir || dir[0] == '/' || !mst__static_segments_ok(dir) || !vm->plugin_dir)
        return luaL_error(L, "mestys.http.pages: folder \"%s\" must be a folder below the script's own, "
                             "without \".\" or \"..\" segments", dir);
    char *path = mst__path_join(vm->plugin_dir, dir);
    int inside = mst__lua_path_inside(vm->plugin_dir, path);
    int rc = inside ? mst__host.http_static(vm->inst, prefix, path, &opts) : MST_ENOENT;
    free(path);
    if (!inside)
        mst__log(MST_LOG_ERROR, vm->source, "mestys.http.pages: folder %s is not below %s (missing, or a "
                 "symbolic link leading out)", dir, vm->plugin_dir);
    return return_rc(L, rc);
}

int mst__lua_open_api(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"publish", l_publish}, {"subscribe", l_subscribe}, {"unsubscribe", l_unsubscribe},
        {"request", l_request}, {"serve", l_serve},         {"timer", l_timer},
        {"every", l_every},     {"log", l_log},             {"error", l_error},
        {"warn", l_warn},       {"info", l_info},           {"debug", l_debug},
        {"now_ms", l_now_ms},   {"route", l_route},         {"health", l_health},
        {NULL, NULL},
    };
    static const luaL_Reg kv[] = {
        {"get", l_kv_get}, {"set", l_kv_set}, {"delete", l_kv_delete}, {NULL, NULL}};
    static const luaL_Reg http[] = {{"pages", l_pages}, {NULL, NULL}};
    static const luaL_Reg timer_methods[] = {{"stop", l_timer_stop}, {NULL, NULL}};
    if (luaL_newmetatable(L, TIMER_MT)) {
        luaL_newlib(L, timer_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    luaL_newlib(L, fns);
    luaL_newlib(L, kv);
    lua_setfield(L, -2, "kv");
    luaL_newlib(L, http);
    lua_setfield(L, -2, "http");
    mst__lua_open_json(L);
    lua_setfield(L, -2, "json");
    struct mst__lua_vm *vm = mst__lua_vm_of(L);
    if (vm->inst) {
        lua_pushstring(L, mst__host.instance_name(vm->inst));
        lua_setfield(L, -2, "instance");
        lua_pushstring(L, mst__host.node_name(vm->inst));
        lua_setfield(L, -2, "node");
        char *cfg = mst__host.config_json(vm->inst, "");
        int rc = mst__lua_push_json(L, cfg ? cfg : "{}", cfg ? strlen(cfg) : 2);
        free(cfg);
        if (rc != 0)
            return lua_error(L);
        lua_setfield(L, -2, "config");
    }
    return 1;
}
