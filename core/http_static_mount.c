/* http_static_mount.c - the table of mounted folders and the policy their
 * image origins make.  A mount's prefix is its instance's name by custom
 * ("/charging/"); one instance may take "/" (the web plugin's shell). */
#include "http_static_mount.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mestys/error.h>

#include "http_static_path.h"

/* The policy every page gets; mounts add origins to img-src only (the map
 * tiles).  No inline script or style: pages are files of their own. */
#define CSP_HEAD "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:"
#define CSP_TAIL                                                                                   \
    "; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; " \
    "frame-ancestors 'none'; worker-src 'self'; manifest-src 'self'"

static void rebuild_csp(struct mst__static_mounts *t);

void mst__static_mounts_init(struct mst__static_mounts *t)
{
    mst__list_init(&t->list);
    t->csp = NULL;
    rebuild_csp(t);
}

static int prefix_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

/* "" or "/" -> "/"; "charging" or "/charging/" -> "/charging/"; NULL if malformed. */
static char *normal_prefix(const char *prefix)
{
    while (*prefix == '/')
        prefix++;
    size_t n = strlen(prefix);
    while (n && prefix[n - 1] == '/')
        n--;
    if (n == 0)
        return mst__xstrdup("/");
    if (n > 255)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int seg_start = i == 0 || prefix[i - 1] == '/';
        if (prefix[i] == '/' ? seg_start : !prefix_char(prefix[i]) || (seg_start && prefix[i] == '.'))
            return NULL;
    }
    /* /api/ is the routes' namespace: its 404s stay JSON */
    if (strncmp(prefix, "api", 3) == 0 && (n == 3 || prefix[3] == '/'))
        return NULL;
    return mst__xasprintf("/%.*s/", (int)n, prefix);
}

/* One source expression of img-src: a scheme, or scheme://host[:port][/path]. */
static int source_ok(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9' && i) || s[i] == '+' ||
                     s[i] == '-' || s[i] == '.'))
        i++;
    if (i == 0 || i >= n || s[i] != ':')
        return 0;
    if (++i == n)
        return 1; /* "https:" */
    if (n - i < 3 || s[i] != '/' || s[i + 1] != '/')
        return 0;
    i += 2;
    if (n - i >= 2 && s[i] == '*' && s[i + 1] == '.')
        i += 2;
    size_t host = i;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                     (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
        i++;
    if (i == host)
        return 0;
    if (i < n && s[i] == ':') {
        size_t port = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == port || i - port > 5)
            return 0;
    }
    if (i < n && s[i] != '/')
        return 0;
    for (; i < n; i++)
        if (!prefix_char(s[i]) && s[i] != '/' && s[i] != '~')
            return 0;
    return 1;
}

int mst__static_img_src_ok(const char *list)
{
    if (strlen(list) > 1024)
        return 0;
    for (const char *p = list;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            return 1;
        size_t n = strcspn(p, " ");
        if (!source_ok(p, n))
            return 0;
        p += n;
    }
}

/* Whether the n bytes at s are already one of the space-separated sources in b. */
static int has_source(const struct mst__buf *b, const char *s, size_t n)
{
    for (const char *p = b->data ? b->data : ""; *p;) {
        while (*p == ' ')
            p++;
        size_t m = strcspn(p, " ");
        if (m == n && strncmp(p, s, n) == 0)
            return 1;
        p += m;
    }
    return 0;
}

static void rebuild_csp(struct mst__static_mounts *t)
{
    struct mst__buf img = {0}, csp = {0};
    struct mst__list *pos;
    for (pos = t->list.next; pos != &t->list; pos = pos->next) {
        struct mst__static_mount *m = mst__container_of(pos, struct mst__static_mount, link);
        for (const char *p = m->img_src ? m->img_src : ""; *p;) {
            while (*p == ' ')
                p++;
            size_t n = strcspn(p, " ");
            if (n && !has_source(&img, p, n)) {
                mst__buf_puts(&img, " ");
                mst__buf_append(&img, p, n);
            }
            p += n;
        }
    }
    mst__buf_printf(&csp, CSP_HEAD "%s" CSP_TAIL, img.data ? img.data : "");
    free(t->csp);
    t->csp = csp.data;
    mst__buf_free(&img);
}

const char *mst__static_csp(struct mst__static_mounts *t)
{
    return t->csp;
}

/* The folder for dir: resolved and checked, or (www_dir NULL, relative)
 * only checked for its form.  NULL with *rc set when refused. */
static char *resolve_dir(const char *dir, const char *www_dir, int *rc, struct mst__buf *why)
{
    if (dir[0] != '/' && !mst__static_segments_ok(dir)) {
        *rc = MST_EINVAL;
        mst__buf_printf(why, "folder \"%s\" must be absolute, or relative to the www folder without \".\" "
                             "segments", dir);
        return NULL;
    }
    if (dir[0] != '/' && !www_dir)
        return mst__xstrdup(dir);
    char *path = dir[0] == '/' ? mst__xstrdup(dir) : mst__path_join(www_dir, dir);
    char real[PATH_MAX];
    struct stat st;
    char *out = NULL;
    if (!realpath(path, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        *rc = MST_ENOENT;
        mst__buf_printf(why, "no folder %s", path);
    } else {
        out = mst__xstrdup(real);
    }
    free(path);
    return out;
}

int mst__static_mounts_add(struct mst__static_mounts *t, void *owner, const char *instance,
                           const char *plugin, const char *prefix, const char *dir, const char *www_dir,
                           const struct mst_http_static_opts *opts, struct mst__buf *why)
{
    if (!prefix || !dir || !*dir || !instance || !plugin) {
        mst__buf_puts(why, "prefix and folder are required");
        return MST_EINVAL;
    }
    const char *img_src = NULL;
    if (opts) {
        if (opts->struct_size < offsetof(struct mst_http_static_opts, img_src) + sizeof opts->img_src) {
            mst__buf_printf(why, "opts.struct_size %u is too small", opts->struct_size);
            return MST_EINVAL;
        }
        img_src = opts->img_src;
    }
    if (img_src && !mst__static_img_src_ok(img_src)) {
        mst__buf_printf(why, "img_src \"%s\" is not a list of origins such as \"https://tile.example.org\"",
                        img_src);
        return MST_EINVAL;
    }
    char *norm = normal_prefix(prefix);
    if (!norm) {
        mst__buf_printf(why, "prefix \"%s\" is not \"\" or segments of [A-Za-z0-9._-] (not \"api\")", prefix);
        return MST_EINVAL;
    }
    struct mst__list *pos;
    for (pos = t->list.next; pos != &t->list; pos = pos->next) {
        struct mst__static_mount *o = mst__container_of(pos, struct mst__static_mount, link);
        if (strcmp(o->prefix, norm) == 0) {
            mst__buf_printf(why, "%s is mounted already by instance %s", norm, o->instance);
            free(norm);
            return MST_EEXIST;
        }
    }
    int rc = 0;
    char *real = resolve_dir(dir, www_dir, &rc, why);
    if (!real) {
        free(norm);
        return rc;
    }
    struct mst__static_mount *m = mst__xcalloc(1, sizeof *m);
    m->owner = owner;
    m->instance = mst__xstrdup(instance);
    m->plugin = mst__xstrdup(plugin);
    m->prefix = norm;
    m->dir = real;
    m->img_src = img_src && *img_src ? mst__xstrdup(img_src) : NULL;
    mst__list_push(&t->list, &m->link);
    rebuild_csp(t);
    return 0;
}

struct mst__static_mount *mst__static_mounts_match(struct mst__static_mounts *t, const char *path,
                                                   const char **rest, int *bare)
{
    struct mst__static_mount *best = NULL;
    size_t best_len = 0;
    *bare = 0;
    if (strncmp(path, "/api", 4) == 0 && (path[4] == '\0' || path[4] == '/'))
        return NULL;
    struct mst__list *pos;
    for (pos = t->list.next; pos != &t->list; pos = pos->next) {
        struct mst__static_mount *m = mst__container_of(pos, struct mst__static_mount, link);
        size_t n = strlen(m->prefix);
        if (n <= best_len && best)
            continue;
        if (strncmp(path, m->prefix, n) == 0) {
            best = m, best_len = n, *bare = 0;
            *rest = path + n;
        } else if (strncmp(path, m->prefix, n - 1) == 0 && path[n - 1] == '\0') {
            best = m, best_len = n, *bare = 1;
            *rest = "";
        }
    }
    return best;
}

static void mount_free(struct mst__static_mount *m)
{
    free(m->instance);
    free(m->plugin);
    free(m->prefix);
    free(m->dir);
    free(m->img_src);
    free(m);
}

void mst__static_mounts_drop_owner(struct mst__static_mounts *t, void *owner)
{
    struct mst__list *pos, *tmp;
    int dropped = 0;
    mst__list_foreach_safe(pos, tmp, &t->list)
    {
        struct mst__static_mount *m = mst__container_of(pos, struct mst__static_mount, link);
        if (m->owner == owner) {
            mst__list_remove(pos);
            mount_free(m);
            dropped = 1;
        }
    }
    if (dropped)
        rebuild_csp(t);
}

void mst__static_mounts_clear(struct mst__static_mounts *t)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &t->list)
    {
        mst__list_remove(pos);
        mount_free(mst__container_of(pos, struct mst__static_mount, link));
    }
    rebuild_csp(t);
}

void mst__static_mounts_free(struct mst__static_mounts *t)
{
    if (!t->list.next)
        return; /* never initialised: the daemon failed before its HTTP server */
    mst__static_mounts_clear(t);
    free(t->csp);
    t->csp = NULL;
}

void mst__static_mounts_json(struct mst__static_mounts *t, struct mst__buf *out)
{
    mst__buf_puts(out, "{\"mounts\":[");
    struct mst__list *pos;
    for (pos = t->list.next; pos != &t->list; pos = pos->next) {
        struct mst__static_mount *m = mst__container_of(pos, struct mst__static_mount, link);
        mst__buf_puts(out, pos == t->list.next ? "{\"prefix\":" : ",{\"prefix\":");
        mst__buf_json_string(out, m->prefix);
        mst__buf_puts(out, ",\"instance\":");
        mst__buf_json_string(out, m->instance);
        mst__buf_puts(out, ",\"plugin\":");
        mst__buf_json_string(out, m->plugin);
        mst__buf_puts(out, "}");
    }
    mst__buf_puts(out, "]}\n");
}
