/* lua_host.h - Lua plugins: a .lua file that returns a table with the same
 * fields as struct mst_plugin becomes a plugin like any .so. */
#ifndef MST__LUA_HOST_H
#define MST__LUA_HOST_H

#include "loader.h"
#include "util.h"

/* Runs the file once in a sandbox to read its description and builds
 * m->plugin from it.  Errors go to why. */
int mst__lua_module_load(struct mst__module *m, const char *lua_dir, struct mst__buf *why);
void mst__lua_module_free(struct mst__module *m);

#endif
