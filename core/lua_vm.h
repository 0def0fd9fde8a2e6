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
    /* a verified bundle: require() reads the plugin's own modules only
     * from the files its manifest lists, hashed as they are read */
    const struct mst__manifest *manifest;
    int bundle_fd;
};

/* 0 or MST_ENOMEM. */
int mst__lua_vm_open(struct mst__lua_vm *vm, size_t limit, int64_t budget, const char *plugin_dir,
                     const char *lua_dir);
void mst__lua_vm_close(struct mst__lua_vm *vm);
struct mst__lua_vm *mst__lua_vm_of(lua_State *L);

/* 1 when path exists and, symbolic links resolved, lies inside dir. */
int mst__lua_path_inside(const char *dir, const char *path);

/* Loads a file as text (never bytecode) with the sandbox environment. */
int mst__lua_vm_loadfile(struct mst__lua_vm *vm, const char *path);
/* The same for text already read (and verified); `path` names the chunk. */
int mst__lua_vm_loadbuffer(struct mst__lua_vm *vm, const char *text, size_t len, const char *path);
/* lua_pcall under a fresh instruction budget.  On error the message is on
 * the stack; the kind of failure is counted and, for budget and memory,
 * returned as MST_ETIMEDOUT / MST_ENOMEM, else MST_EPLUGIN. */
int mst__lua_vm_call(struct mst__lua_vm *vm, int nargs, int nresults, const char *what);
/* Every entry into Lua from the core goes through here: fn(L) is called
 * with `arg` as a light userdata at index 1, under mst__lua_vm_call, and
 * does all the pushing, calling and converting.  Pushing a value can raise
 * a memory error at the cap; raised inside fn it is caught, counted and
 * logged like any other failure instead of reaching the panic function
 * (which aborts).  fn returns its nresults values. */
int mst__lua_vm_run(struct mst__lua_vm *vm, lua_CFunction fn, void *arg, int nresults, const char *what);
/* Charges work done in C (a pattern matcher's steps) to the running call's
 * instruction budget; raises the budget error when it is spent. */
void mst__lua_vm_charge(lua_State *L, struct mst__lua_vm *vm, int64_t instructions);

/* Pushes the arguments from index `first` on, as tostring() shows them,
 * joined by sep: what print() and mestys.log() write. */
void mst__lua_join(lua_State *L, int first, char sep);

/* JSON <-> Lua (lua_json.c).  Nesting is capped at MST__LUA_JSON_DEPTH
 * arrays and objects in both directions; the Lua stack is checked per
 * level.  JSON text is UTF-8: a Lua string that is not is refused. */
#define MST__LUA_JSON_DEPTH 100
/* Pushes the value of a JSON text: 0; or MST_EINVAL (not JSON, too deep)
 * or MST_ENOMEM (the state's cap) with the message pushed instead.  Runs
 * protected: callable with any lua_State, inside a call or not. */
int mst__lua_push_json(lua_State *L, const char *text, size_t len);
/* The value at idx as JSON text, malloc'ed (strings pass through unchanged
 * when raw_strings is set); NULL with an error message pushed if it cannot
 * be.  Runs protected, like mst__lua_push_json. */
char *mst__lua_to_json(lua_State *L, int idx, int raw_strings);
/* Pushes the value at idx as a JSON string; raises
 * the error if it has no JSON form: for protected code (a lua_CFunction). */
void mst__lua_json_encode(lua_State *L, int idx);
int mst__lua_open_json(lua_State *L);

/* The string functions whose work a script picks through its arguments
 * (lua_strlib.c), installed over the string library's own. */
void mst__lua_open_strlib(lua_State *L);
/* table.insert/remove/move/sort charging the elements they move
 * (lua_tablib.c), installed over the table library's own. */
void mst__lua_open_tablib(lua_State *L);

/* The `mestys` module (lua_api.c). */
int mst__lua_open_api(lua_State *L);
void mst__lua_api_free(struct mst__lua_vm *vm);

#endif
