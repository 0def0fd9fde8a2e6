/* lua_vm.h - one sandboxed Lua state: a memory cap through its allocator,
 * an instruction budget per call through a count hook, and a global
 * environment without io, os.execute, debug, package or bytecode loading. */
#ifndef MST__LUA_VM_H
#define MST__LUA_VM_H

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include <mestys/host.h>

#include "list.h"

struct mst__lua_vm {
    lua_State *L;
    size_t used;
    size_t limit;          /* bytes */
    int64_t budget;        /* instructions per call */
    int64_t left;          /* instructions left in this call */
    int budget_hit;        /* the current call ran out of instructions */
    int memory_hit;        /* an allocation was refused */
    char *plugin_dir;      /* require() looks here ... */
    char *lua_dir;         /* ... and here */
    mst_instance *inst;    /* NULL while only reading a description */
    struct mst__list refs; /* callbacks registered with the host */
    struct mst_metric *instr_hits, *mem_hits, *errors;
    void *kv;              /* sqlite3 * of the kv store, opened lazily */
    void *kv_get, *kv_set, *kv_del;
    const char *source;    /* for the log */
};

/* 0 or MST_ENOMEM. */
int mst__lua_vm_open(struct mst__lua_vm *vm, size_t limit, int64_t budget, const char *plugin_dir,
                     const char *lua_dir);
void mst__lua_vm_close(struct mst__lua_vm *vm);
struct mst__lua_vm *mst__lua_vm_of(lua_State *L);

/* Loads a file as text (never bytecode) with the sandbox environment. */
int mst__lua_vm_loadfile(struct mst__lua_vm *vm, const char *path);
/* lua_pcall under a fresh instruction budget.  On error the message is on
 * the stack; the kind of failure is counted and, for budget and memory,
 * returned as MST_ETIMEDOUT / MST_ENOMEM, else MST_EPLUGIN. */
int mst__lua_vm_call(struct mst__lua_vm *vm, int nargs, int nresults, const char *what);

/* Pushes the arguments from index `first` on, as tostring() shows them,
 * joined by sep: what print() and mestys.log() write. */
void mst__lua_join(lua_State *L, int first, char sep);

/* JSON <-> Lua (lua_json.c). */
void mst__lua_push_json(lua_State *L, const char *text, size_t len);
/* The value at idx as JSON text (strings pass through unchanged when
 * raw_strings is set); NULL with an error message pushed if it cannot be. */
char *mst__lua_to_json(lua_State *L, int idx, int raw_strings);
int mst__lua_open_json(lua_State *L);

/* The `mestys` module (lua_api.c). */
int mst__lua_open_api(lua_State *L);
void mst__lua_api_free(struct mst__lua_vm *vm);

#endif
