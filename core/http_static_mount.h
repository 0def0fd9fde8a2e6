/* http_static_mount.h - the folders plugins mount (host->http_static):
 * which mount a request path falls in, and the Content-Security-Policy the
 * mounts' image origins make.  Free of libuv and libwebsockets, so the SDK's
 * mock host links this very file and accepts and refuses mounts exactly as
 * the daemon does. */
#ifndef MST__HTTP_STATIC_MOUNT_H
#define MST__HTTP_STATIC_MOUNT_H

#include <mestys/host.h>

#include "list.h"
#include "util.h"

struct mst__static_mount {
    struct mst__list link;
    void *owner;
    char *instance;
    char *plugin;
    char *prefix;   /* "/" or "/name/" (with both slashes) */
    char *dir;      /* the folder, symbolic links resolved; as given if unchecked */
    char *img_src;  /* the origins it adds to img-src, space-separated; NULL if none */
    unsigned logged; /* MST__STATIC_LOGGED_*: what was logged already, once per mount */
};

#define MST__STATIC_LOGGED_ESCAPE 1u /* a path leading out or to a hidden file */
#define MST__STATIC_LOGGED_READ 2u   /* a file that could not be read */
#define MST__STATIC_LOGGED_LARGE 4u  /* a file over MST__STATIC_FILE_MAX */

struct mst__static_mounts {
    struct mst__list list; /* in the order they were mounted */
    char *csp;             /* the policy for every page, kept current */
};

void mst__static_mounts_init(struct mst__static_mounts *t);
/* Mounts `dir` at `prefix` for owner.  A relative dir is looked up in
 * www_dir; with www_dir NULL it is only checked for its form (the mock
 * host, which has no www folder).  0, MST_EINVAL (prefix, dir or img_src
 * malformed), MST_EEXIST (prefix taken), MST_ENOENT (no such folder); the
 * reason is written to why. */
int mst__static_mounts_add(struct mst__static_mounts *t, void *owner, const char *instance,
                           const char *plugin, const char *prefix, const char *dir, const char *www_dir,
                           const struct mst_http_static_opts *opts, struct mst__buf *why);
/* The mount a request path falls in (the longest prefix; never for
 * "/api" and below), with the rest of the path after the prefix in *rest.
 * *bare is set when the path is the prefix without its last slash
 * ("/charging" for "/charging/"): a redirect.  NULL if none. */
struct mst__static_mount *mst__static_mounts_match(struct mst__static_mounts *t, const char *path,
                                                   const char **rest, int *bare);
void mst__static_mounts_drop_owner(struct mst__static_mounts *t, void *owner);
/* Removes every mount (the policy is the base one again). */
void mst__static_mounts_clear(struct mst__static_mounts *t);
/* clear, and the policy's memory too. */
void mst__static_mounts_free(struct mst__static_mounts *t);
/* The Content-Security-Policy header's value: docs/http.md. */
const char *mst__static_csp(struct mst__static_mounts *t);
/* {"mounts": [{"prefix": "/charging/", "instance": ..., "plugin": ...}, ...]} */
void mst__static_mounts_json(struct mst__static_mounts *t, struct mst__buf *out);

/* 1 when `list` (space-separated) is a valid img_src: each entry a scheme
 * ("https:") or an origin ("https://tiles.example.org", or "https://" "*.example.org:8443"),
 * optionally with a path, no quotes, ';' or ','. */
int mst__static_img_src_ok(const char *list);

#endif
