#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "lua_host.h"
#include "topic.h"
#include "trust.h"

#ifndef MESTYS_PLUGIN_DIR
#define MESTYS_PLUGIN_DIR "/usr/local/lib/mestys/plugins"
#endif
#ifndef MESTYS_LUA_DIR
#define MESTYS_LUA_DIR "/usr/local/share/mestys/lua"
#endif
/* Relative to the install prefix, so an installed tree can be moved. */
#ifndef MESTYS_PLUGIN_RELDIR
#define MESTYS_PLUGIN_RELDIR "lib/mestys/plugins"
#endif
#ifndef MESTYS_LUA_RELDIR
#define MESTYS_LUA_RELDIR "share/mestys/lua"
#endif
#ifndef MESTYS_WWW_DIR
#define MESTYS_WWW_DIR "/usr/local/share/mestys/www"
#endif
#ifndef MESTYS_WWW_RELDIR
#define MESTYS_WWW_RELDIR "share/mestys/www"
#endif

/* The smallest struct mst_plugin of ABI 1: what it first had, up to
 * reload (fields appended since are read only when struct_size has them). */
#define MST__PLUGIN_ABI1_SIZE (offsetof(struct mst_plugin, reload) + sizeof(void (*)(void)))

void mst__loader_init(struct mst__loader *l)
{
    memset(l, 0, sizeof *l);
    mst__list_init(&l->modules);
}

static void add_dir(struct mst__loader *l, char *dir)
{
    char real[PATH_MAX];
    if (realpath(dir, real)) {
        free(dir);
        dir = mst__xstrdup(real);
    }
    for (size_t i = 0; i < l->n_dirs; i++) {
        if (strcmp(l->dirs[i], dir) == 0) {
            free(dir);
            return;
        }
    }
    l->dirs = mst__xrealloc(l->dirs, (l->n_dirs + 1) * sizeof *l->dirs);
    l->dirs[l->n_dirs++] = dir;
}

/* The daemon's own folders: what is found there has status `core`. */
static void add_own(struct mst__loader *l, const char *dir)
{
    char real[PATH_MAX];
    if (!realpath(dir, real))
        return;
    size_t n = 0;
    while (l->own_dirs && l->own_dirs[n])
        n++;
    l->own_dirs = mst__xrealloc(l->own_dirs, (n + 2) * sizeof *l->own_dirs);
    l->own_dirs[n] = mst__xstrdup(real);
    l->own_dirs[n + 1] = NULL;
}

/* Directories the daemon guesses are searched only if they exist; they are
 * its own (the build tree's, the install tree's). */
static void add_dir_if_there(struct mst__loader *l, char *dir)
{
    if (access(dir, X_OK) == 0) {
        add_own(l, dir);
        add_dir(l, dir);
    } else
        free(dir);
}

static void free_own(struct mst__loader *l)
{
    for (size_t i = 0; l->own_dirs && l->own_dirs[i]; i++)
        free(l->own_dirs[i]);
    free(l->own_dirs);
    l->own_dirs = NULL;
}

static char *exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return mst__dirname(buf);
}

static int is_dir(const char *p)
{
    return access(p, X_OK) == 0;
}

/* The www folder, found as lua/ is: build/www next to build/mestysd, or
 * <prefix>/share/mestys/www of an installed tree; NULL if neither is there. */
static char *find_www(const char *exe_dir_path, const char *prefix)
{
    char *dirs[2] = {mst__path_join(exe_dir_path, "www"), mst__path_join(prefix, MESTYS_WWW_RELDIR)};
    char real[PATH_MAX], *found = NULL;
    for (int i = 0; i < 2; i++)
        if (!found && is_dir(dirs[i]))
            found = mst__xstrdup(realpath(dirs[i], real) ? real : dirs[i]); /* "bin/../share" said plainly */
    free(dirs[0]);
    free(dirs[1]);
    return found;
}

void mst__loader_set_path(struct mst__loader *l, const char *base_dir, const char *const *extra,
                          size_t n_extra)
{
    for (size_t i = 0; i < l->n_dirs; i++)
        free(l->dirs[i]);
    free(l->dirs);
    free(l->lua_dir);
    free(l->www_dir);
    free_own(l);
    l->dirs = NULL;
    l->n_dirs = 0;
    l->lua_dir = NULL;
    l->www_dir = NULL;

    for (size_t i = 0; i < n_extra; i++)
        add_dir(l, mst__path_join(base_dir, extra[i]));
    const char *env = getenv("MESTYS_PLUGIN_PATH");
    if (env && *env) {
        char *copy = mst__xstrdup(env), *save = NULL;
        for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
            add_dir(l, mst__xstrdup(tok));
        free(copy);
    }
    char *ed = exe_dir();
    if (ed) {
        /* the build tree: build/mestysd next to build/plugins and build/lua */
        add_dir_if_there(l, mst__path_join(ed, "plugins"));
        char *lua = mst__path_join(ed, "lua");
        /* an installed tree: <prefix>/bin/mestysd and <prefix>/lib/mestys/plugins */
        char *prefix = mst__path_join(ed, "..");
        add_dir_if_there(l, mst__path_join(prefix, MESTYS_PLUGIN_RELDIR));
        char *installed_lua = mst__path_join(prefix, MESTYS_LUA_RELDIR);
        if (is_dir(lua))
            l->lua_dir = lua, lua = NULL;
        else if (is_dir(installed_lua))
            l->lua_dir = installed_lua, installed_lua = NULL;
        free(lua);
        free(installed_lua);
        l->www_dir = find_www(ed, prefix);
        free(prefix);
        free(ed);
    }
    add_dir_if_there(l, mst__xstrdup(MESTYS_PLUGIN_DIR));
    if (!l->lua_dir)
        l->lua_dir = mst__xstrdup(MESTYS_LUA_DIR);
    add_own(l, l->lua_dir);
    if (!l->own_dirs)
        l->own_dirs = mst__xcalloc(1, sizeof *l->own_dirs);
    if (!l->www_dir)
        l->www_dir = mst__xstrdup(MESTYS_WWW_DIR);
}

void mst__loader_close(struct mst__loader *l)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &l->modules)
    {
        struct mst__module *m = mst__container_of(pos, struct mst__module, link);
        m->refs = 1;
        mst__module_release(m);
    }
    for (size_t i = 0; i < l->n_dirs; i++)
        free(l->dirs[i]);
    free(l->dirs);
    free(l->lua_dir);
    free(l->www_dir);
    free_own(l);
    mst__trust_close(l->default_trust);
    memset(l, 0, sizeof *l);
    mst__list_init(&l->modules);
}

static int readable(const char *p)
{
    return access(p, R_OK) == 0;
}

static int is_folder(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* DIR/NAME/VERSION: the pinned version, else the highest there is. */
static char *find_bundle(const char *dir, const char *use, const char *version)
{
    char *name_dir = mst__path_join(dir, use), *found = NULL, *latest = NULL;
    if (!is_folder(name_dir))
        goto out;
    if (version) {
        char *p = mst__path_join(name_dir, version);
        if (is_folder(p))
            found = p;
        else
            free(p);
    } else if (mst__bundle_latest(name_dir, &latest) == 0 && latest) {
        found = mst__path_join(name_dir, latest);
    }
out:
    free(latest);
    free(name_dir);
    return found;
}

int mst__loader_find(struct mst__loader *l, const char *use, const char *version, const char *base_dir,
                     char **path, struct mst__buf *why)
{
    if (strchr(use, '/') || mst__ends_with(use, ".so") || mst__ends_with(use, ".lua")) {
        char *p = mst__path_join(base_dir, use);
        if (readable(p)) {
            *path = p;
            return 0;
        }
        mst__buf_printf(why, "no such file %s", p);
        free(p);
        return MST_ENOENT;
    }
    if (!mst__valid_name(use)) {
        mst__buf_printf(why, "\"%s\" is neither a plugin name ([A-Za-z0-9_-]) nor a path", use);
        return MST_EINVAL;
    }
    static const char *const suffixes[] = {".so", ".lua"};
    for (size_t i = 0; i < l->n_dirs; i++) {
        /* a bundle first; once one is found there is no falling back to an
         * older version or a flat file if it fails its check */
        if ((*path = find_bundle(l->dirs[i], use, version)))
            return 0;
        for (size_t s = 0; s < 2 && !version; s++) {
            char *name = mst__xasprintf("%s%s", use, suffixes[s]);
            char *p = mst__path_join(l->dirs[i], name);
            free(name);
            if (readable(p)) {
                *path = p;
                return 0;
            }
            free(p);
        }
    }
    if (version)
        mst__buf_printf(why, "no bundle %s/%s/ in:", use, version);
    else
        mst__buf_printf(why, "no plugin \"%s\" (%s/VERSION/, .so or .lua) in:", use, use);
    for (size_t i = 0; i < l->n_dirs; i++)
        mst__buf_printf(why, " %s", l->dirs[i]);
    return MST_ENOENT;
}

static int check_patterns(const char *const *list, const char *what, struct mst__buf *why)
{
    for (size_t i = 0; list && list[i]; i++) {
        if (!mst__valid_pattern(list[i])) {
            mst__buf_printf(why, "%s topic \"%s\" is not a valid topic pattern", what, list[i]);
            return MST_EPLUGIN;
        }
    }
    return 0;
}

static int check_schema(const struct mst_config_key *keys, struct mst__buf *why)
{
    for (const struct mst_config_key *k = keys; k && k->key; k++) {
        if (k->type < MST_CFG_STRING || k->type > MST_CFG_ANY) {
            mst__buf_printf(why, "config key \"%s\" has unknown type %d", k->key, (int)k->type);
            return MST_EPLUGIN;
        }
        if (k->fields && check_schema(k->fields, why) != 0)
            return MST_EPLUGIN;
    }
    return 0;
}

int mst__plugin_validate(const struct mst_plugin *p, struct mst__buf *why)
{
    if (!p->name || !mst__valid_name(p->name)) {
        mst__buf_puts(why, "name is missing or not [A-Za-z0-9_-]");
        return MST_EPLUGIN;
    }
    if (!p->version || !*p->version) {
        mst__buf_puts(why, "version is missing");
        return MST_EPLUGIN;
    }
    if (!p->init) {
        mst__buf_puts(why, "init callback is missing");
        return MST_EPLUGIN;
    }
    if (check_patterns(p->publishes, "published", why) || check_patterns(p->subscribes, "subscribed", why) ||
        check_patterns(p->serves, "served", why) || check_patterns(p->requests, "requested", why))
        return MST_EPLUGIN;
    return check_schema(p->config, why);
}

static int open_so(struct mst__module *m, struct mst__buf *why)
{
    /* RTLD_NOW: a plugin with an unresolved symbol fails here, at load,
     * instead of crashing the daemon the first time it calls it. */
    char fd_path[32];
    snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", m->verified.fd);
    m->dl = dlopen(fd_path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        const char *e = dlerror();
        size_t n = strlen(fd_path);
        /* dlerror names the fd's path: say the file's real one instead */
        if (e && strncmp(e, fd_path, n) == 0)
            mst__buf_printf(why, "%s%s", m->path, e + n);
        else
            mst__buf_puts(why, e ? e : "dlopen failed");
        return e && strstr(e, "undefined symbol") ? MST_EPLUGIN : MST_ENOTPLUGIN;
    }
    const struct mst_plugin *p = dlsym(m->dl, MST_PLUGIN_SYMBOL);
    if (!p) {
        mst__buf_printf(why, "does not export the symbol \"%s\"", MST_PLUGIN_SYMBOL);
        return MST_ENOTPLUGIN;
    }
    if (p->abi_version != MST_PLUGIN_ABI) {
        mst__buf_printf(why, "built for plugin ABI %u, this mestysd speaks ABI %u", p->abi_version,
                        MST_PLUGIN_ABI);
        return MST_EABI;
    }
    if (p->struct_size < MST__PLUGIN_ABI1_SIZE) {
        mst__buf_printf(why, "struct mst_plugin is %u bytes, ABI %u needs at least %zu",
                        p->struct_size, MST_PLUGIN_ABI, (size_t)MST__PLUGIN_ABI1_SIZE);
        return MST_EABI;
    }
    m->plugin = p;
    return mst__plugin_validate(p, why);
}

/* The trust policy modules are opened under: the config's, or the
 * defaults (trust.dir /etc/mestys/trust, require "signed"). */
static struct mst__trust *trust_of(struct mst__loader *l, struct mst__buf *why)
{
    if (l->trust)
        return l->trust;
    if (!l->default_trust) {
        struct mst__trust_cfg cfg = {.dir = "/etc/mestys/trust",
                                     .require = MST__TRUST_REQUIRE_SIGNED,
                                     .own_dirs = (const char *const *)l->own_dirs,
                                     .uid = geteuid()};
        if (mst__trust_open(&l->default_trust, &cfg, why) != 0)
            return NULL;
    }
    return l->default_trust;
}

/* The manifest is signed, the struct is what runs: they must agree. */
static int check_against_manifest(struct mst__module *m, struct mst__buf *why)
{
    const struct mst__manifest *mf = m->verified.manifest;
    const struct mst_plugin *p = m->plugin;
    if (!mf)
        return 0;
    if (strcmp(mf->name, p->name) != 0 || strcmp(mf->version, p->version) != 0 ||
        (m->kind == MST__MODULE_SO && (unsigned)mf->abi != p->abi_version)) {
        mst__buf_printf(why, "the manifest says %s %s (ABI %d), the plugin itself %s %s (ABI %u)", mf->name,
                        mf->version, mf->abi, p->name, p->version, p->abi_version);
        return MST_ETRUST;
    }
    return 0;
}

static struct mst__module *find_open(struct mst__loader *l, const char *real)
{
    struct mst__list *pos;
    for (pos = l->modules.next; pos != &l->modules; pos = pos->next) {
        struct mst__module *m = mst__container_of(pos, struct mst__module, link);
        if (strcmp(m->path, real) == 0)
            return m;
    }
    return NULL;
}

int mst__module_open_as(struct mst__loader *l, const char *use, const char *path, struct mst__module **out,
                        enum mst__trust_status *st, struct mst__buf *why)
{
    struct mst__trust *t = trust_of(l, why);
    struct mst__trust_result r;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (is_folder(path) && !mst__semver_valid(base)) { /* only NAME/VERSION is a bundle */
        mst__buf_printf(why, "cannot read %s: %s", path, strerror(EISDIR));
        return MST_EIO;
    }
    if (!t) {
        if (st)
            *st = MST__TRUST_INVALID;
        return MST_ETRUST;
    }
    /* checked again even when already open: a reload may bring a new
     * revocation list or policy, and must refuse what it refuses */
    int rc = mst__trust_check_full(t, use, path, 0, &r);
    if (st)
        *st = r.status;
    if (rc != 0) {
        mst__buf_puts(why, r.reason.data);
        mst__trust_result_free(&r);
        return rc;
    }
    struct mst__module *m = find_open(l, r.entry);
    if (m) {
        /* what this check found is what the instance shows now */
        struct mst__buf reason = m->verified.reason;
        m->verified.reason = r.reason;
        r.reason = reason;
        m->verified.status = r.status;
        m->verified.seconds = r.seconds;
        m->refs++;
        mst__trust_result_free(&r);
        *out = m;
        return 0;
    }
    m = mst__xcalloc(1, sizeof *m);
    m->path = mst__xstrdup(r.entry);
    m->refs = 1;
    m->verified = r;
    mst__list_init(&m->link);
    if (r.lua) {
        m->kind = MST__MODULE_LUA;
        rc = mst__lua_module_load(m, l->lua_dir, why);
    } else {
        m->kind = MST__MODULE_SO;
        rc = open_so(m, why);
    }
    if (rc == 0)
        rc = check_against_manifest(m, why);
    if (rc == MST_EABI || rc == MST_ETRUST) {
        m->verified.status = MST__TRUST_INCOMPATIBLE;
        if (st)
            *st = MST__TRUST_INCOMPATIBLE;
    }
    if (rc != 0) {
        mst__module_release(m);
        return rc;
    }
    mst__list_push(&l->modules, &m->link);
    *out = m;
    return 0;
}

int mst__module_open(struct mst__loader *l, const char *path, struct mst__module **out,
                     struct mst__buf *why)
{
    return mst__module_open_as(l, NULL, path, out, NULL, why);
}

void mst__module_ref(struct mst__module *m)
{
    m->refs++;
}

void mst__module_release(struct mst__module *m)
{
    if (!m || --m->refs > 0)
        return;
    mst__list_remove(&m->link);
    if (m->kind == MST__MODULE_LUA)
        mst__lua_module_free(m);
    if (m->dl)
        dlclose(m->dl);
    mst__trust_result_free(&m->verified); /* the fd after dlclose, never before */
    free(m->path);
    free(m);
}
