/* loader.h - finds plugin files and opens them: `.so` through dlopen,
 * `.lua` through the Lua host.  Both end up as a struct mst_plugin. */
#ifndef MST__LOADER_H
#define MST__LOADER_H

#include <mestys/plugin.h>

#include "list.h"
#include "trust.h"
#include "util.h"

enum mst__module_kind { MST__MODULE_SO = 1, MST__MODULE_LUA };

struct mst__module {
    struct mst__list link;
    char *path; /* the real path, for messages: dlopen only knows /proc/self/fd/N */
    enum mst__module_kind kind;
    void *dl;                        /* dlopen handle (.so) */
    const struct mst_plugin *plugin; /* in the .so, or built by the Lua host */
    void *lua;                       /* the Lua host's description (.lua) */
    int refs;
    /* what the trust check found: the status and reason, the entry file's
     * fd (dlopen'ed as /proc/self/fd/N, closed only after dlclose: glibc
     * matches an open handle by that name), the Lua text verified, the
     * manifest and the bundle folder (Lua modules are read from them) */
    struct mst__trust_result verified;
};

struct mst__loader {
    struct mst__list modules;
    char **dirs; /* search path, in order */
    size_t n_dirs;
    char *lua_dir; /* the SDK's Lua modules (lua/) */
    char *www_dir; /* the plugins' pages: a relative http_static folder is looked up here */
    char **own_dirs;            /* the daemon's own plugin folders (real paths, NULL-terminated): core */
    struct mst__trust *trust;   /* the policy modules are opened under (the config's) */
    struct mst__trust *default_trust; /* trust.* defaults, when nobody set one */
};

void mst__loader_init(struct mst__loader *l);
/* Search path: extra (config, relative to base_dir), $MESTYS_PLUGIN_PATH,
 * then the directories next to the executable and the install prefix. */
void mst__loader_set_path(struct mst__loader *l, const char *base_dir, const char *const *extra,
                          size_t n_extra);
void mst__loader_close(struct mst__loader *l);

/* Resolves `use` (a plugin name or a path) to a file or a bundle folder:
 * in each search folder in order, NAME/VERSION (the highest version, or
 * `version` when the instance pins one), then NAME.so, then NAME.lua.  On
 * failure returns MST_ENOENT and writes where it looked to `why`. */
int mst__loader_find(struct mst__loader *l, const char *use, const char *version, const char *base_dir,
                     char **path, struct mst__buf *why);
/* Opens (or shares an already open) module: the trust check first (with
 * l->trust, else the default policy), then dlopen or the Lua host, the ABI
 * checks, and the manifest against the plugin's own description.  `use`
 * is the config's name for it (NULL: from the path).  On failure the
 * reason is in why and, when st is given, the trust status in *st. */
int mst__module_open_as(struct mst__loader *l, const char *use, const char *path, struct mst__module **out,
                        enum mst__trust_status *st, struct mst__buf *why);
int mst__module_open(struct mst__loader *l, const char *path, struct mst__module **out,
                     struct mst__buf *why);
void mst__module_ref(struct mst__module *m);
void mst__module_release(struct mst__module *m);

/* Checks a plugin description the loader has just read; 0 or MST_EPLUGIN. */
int mst__plugin_validate(const struct mst_plugin *p, struct mst__buf *why);

#endif
