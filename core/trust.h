/* trust.h - what the daemon may load: the trust folder (root.pub, release
 * keys with their scopes), the region's revocation list (serial, expiry,
 * rollback refused), and the check a plugin's files pass before dlopen,
 * which gives every plugin one status and a reason sentence. */
#ifndef MST__TRUST_H
#define MST__TRUST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

enum mst__trust_status {
    MST__TRUST_CORE,         /* from the daemon's own plugin folders */
    MST__TRUST_SIGNED,       /* verified */
    MST__TRUST_UNSIGNED,     /* no manifest or no signature */
    MST__TRUST_MODIFIED,     /* a file changed, missing or unlisted */
    MST__TRUST_INVALID,      /* bad signature, unknown key, out of scope, bad manifest, unsafe folder */
    MST__TRUST_REVOKED,      /* revoked key, or a version below the region's floor */
    MST__TRUST_INCOMPATIBLE, /* host range, arch, abi, or manifest vs the plugin's struct */
};
#define MST__TRUST_N_STATUS 7

#define MST__TRUST_NO_LOAD 1 /* flag: decide only (CLI verify/list), keep no fd */

enum mst__trust_require { MST__TRUST_REQUIRE_SIGNED = 0, MST__TRUST_REQUIRE_ANY };

struct mst__trust_cfg {
    const char *dir;                   /* the trust folder (absolute) */
    enum mst__trust_require require;   /* for plugins outside the daemon's own folders */
    const char *const *allow_unsigned; /* Lua plugin names loaded unsigned; NULL-terminated or NULL */
    const char *state_dir;             /* node.state_dir: keeps the last accepted list; NULL: none */
    const char *const *own_dirs;       /* the daemon's own plugin folders (real paths); NULL-terminated */
    uid_t uid;                         /* who besides root may own what is loaded (the daemon's euid) */
};

struct mst__trust;
struct mst__manifest; /* bundle.h */

/* Reads the trust folder and the revocation list (the trust folder's copy
 * and the state copy: the higher serial wins; a lower serial is refused as
 * a rollback, logged).  A missing trust folder is no error (no keys: only
 * core plugins load while trust.require is "signed"); an unsafe one, or a
 * list whose signature fails with no good copy left, is (MST_EPERM). */
int mst__trust_open(struct mst__trust **t, const struct mst__trust_cfg *cfg, struct mst__buf *why);
void mst__trust_close(struct mst__trust *t);

/* Everything before dlopen for plugin `use` at `path` (a bundle folder
 * NAME/VERSION or a flat NAME.so / NAME.lua): permission walk, signature,
 * manifest, revocation, every file's hash.  Returns 0 when it may load
 * (status core, signed or unsigned-but-allowed) with *fd_out the open,
 * verified entry file (NAME.so or NAME.lua; -1 with MST__TRUST_NO_LOAD);
 * else a negative MST_E* code (*fd_out -1).  *st and reason are set in
 * both cases (reason: one sentence, no trailing newline). */
int mst__trust_check(struct mst__trust *t, const char *use, const char *path, int flags, int *fd_out,
                     enum mst__trust_status *st, struct mst__buf *reason);

/* The full result, for the loader: the verified manifest (Lua modules are
 * looked up in it) and the bundle folder, open. */
struct mst__trust_result {
    enum mst__trust_status status;
    struct mst__buf reason;
    int fd;                         /* entry file, or -1 */
    int dirfd;                      /* bundle folder, or -1 (flat file) */
    struct mst__manifest *manifest; /* NULL without one */
    char *entry;                    /* real path of the entry file */
    int lua;                        /* the entry is Lua: its verified text is in bytes */
    char *bytes;
    size_t len;
    char *signer;                   /* key name of the signature that counted, or NULL */
    double seconds;                 /* time the check took */
};
int mst__trust_check_full(struct mst__trust *t, const char *use, const char *path, int flags,
                          struct mst__trust_result *r);
void mst__trust_result_free(struct mst__trust_result *r);

/* A file of a verified bundle by its path in the manifest (e.g.
 * "lua/decode.lua"), read from the bundle folder and hashed: the bytes, or
 * MST_ENOENT (not listed) / MST_EPERM (not the bytes signed) with why set.
 * With no manifest (an unsigned or core flat plugin) always MST_ENOENT. */
int mst__trust_read_listed(const struct mst__manifest *m, int dirfd, const char *rel, char **bytes, size_t *len,
                           struct mst__buf *why);

/* Installs a newer revocation list (FILE and FILE.minisig, verified with
 * root.pub) as the state copy.  A lower serial is refused ("rollback:
 * serial 6 < 7"), an equal serial with other bytes too; an equal serial
 * with the same bytes is a no-op (0). */
int mst__trust_update(struct mst__trust *t, const char *file, struct mst__buf *why);

/* 1 when a revocation list is in use and expired at now_s (Unix seconds). */
int mst__trust_expired(const struct mst__trust *t, int64_t now_s);

const char *mst__trust_status_name(enum mst__trust_status s);

/* --- what `mestys trust status`, /health and /metrics show ------------- */
struct mst__trust_key_info {
    const char *name;
    char id[17];
    int revoked;
    int has_scope;
    const char *scope; /* the scope file's JSON as read, or NULL */
};
/* 1 with serial/expiry when a list is in use, else 0. */
int mst__trust_list_info(const struct mst__trust *t, int64_t *serial, int64_t *expires_s);
size_t mst__trust_n_keys(const struct mst__trust *t);
void mst__trust_key(const struct mst__trust *t, size_t i, struct mst__trust_key_info *out);
/* The floor for a plugin: 1 with version (NULL = every version) and reason, else 0. */
int mst__trust_floor(const struct mst__trust *t, const char *name, const char **version, const char **reason);
size_t mst__trust_n_floors(const struct mst__trust *t);
const char *mst__trust_floor_name(const struct mst__trust *t, size_t i); /* i < n_floors */
/* Problems found while opening (a refused rollback, a key without scope),
 * one per line; "" if none. */
const char *mst__trust_problems(const struct mst__trust *t);

#endif
