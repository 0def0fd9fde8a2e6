/* script.h - Lua scripts run by C plugins for their users (payload
 * decoders), in the same sandbox as Lua plugins. */
#ifndef MST__SCRIPT_H
#define MST__SCRIPT_H

#include <stddef.h>

#include <mestys/host.h>

#include "list.h"

struct mst_instance;

/* The readable file a script name means, in lua_dir, else in config_dir:
 * 0 and *file (free it); MST_EINVAL for an empty name, an absolute path or
 * "..", MST_EPERM for a file that leads out of its folder (a symbolic
 * link), MST_ENOENT.  Shared by open and check so both agree. */
int mst__script_find(const char *lua_dir, const char *config_dir, const char *path, char **file);
/* What `mestys check` does for a MST_CFG_SCRIPT key: finds the script and
 * compiles it in the sandbox without running it; 0, or why names the
 * script and says what is wrong (Lua's own "file:line: message"). */
int mst__script_check(const char *lua_dir, const char *config_dir, const char *path, char *why, size_t why_len);
int mst__script_open(struct mst_instance *inst, const char *path, mst_script **out);
int mst__script_call(mst_script *s, const char *function, const char *json, size_t len, char **result);
void mst__script_close(mst_script *s);
void mst__script_close_all(struct mst__list *owner_scripts);

#endif
