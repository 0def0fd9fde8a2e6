/* script.h - Lua scripts run by C plugins for their users (payload
 * decoders), in the same sandbox as Lua plugins. */
#ifndef MST__SCRIPT_H
#define MST__SCRIPT_H

#include <mestys/host.h>

#include "list.h"

struct mst_instance;

int mst__script_open(struct mst_instance *inst, const char *path, mst_script **out);
int mst__script_call(mst_script *s, const char *function, const char *json, size_t len, char **result);
void mst__script_close(mst_script *s);
void mst__script_close_all(struct mst__list *owner_scripts);

#endif
