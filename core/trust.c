/* trust.c - the trust folder (root.pub, keys/NAME.pub with NAME.scope),
 * the revocation list in use, and the policy: which plugin files may load,
 * decided before dlopen (a constructor runs at dlopen). */
#include "trust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mestys/error.h>
#include <mestys/mestys.h>
#include <openssl/evp.h>

#include "bundle.h"
#include "log.h"
#include "trust_list.h"
#include "trust_path.h"
#include "trust_sig.h"

#ifndef MESTYS_ARCH
#define MESTYS_ARCH "amd64"
#endif

#define KIND_SO 1u
#define KIND_LUA 2u
#define SMALL_MAX (1u << 20)  /* a key, a scope, a signature, a manifest */
#define LUA_MAX (16u << 20)   /* one Lua file of a plugin */

struct trust_key {
    char *name;
    char id[17];
    struct mst__mkey key;
    int has_scope;
    char *scope_text;
    char **names; /* "lora", "vendor-*" */
    size_t n_names;
    unsigned kinds;
};

struct mst__trust {
    char *dir;
    enum mst__trust_require require;
    char **allow_unsigned;
    char **own_dirs;
    char *state_dir; /* <node.state_dir>/trust, or NULL */
    uid_t uid;
    int have_root;
    struct mst__mkey root;
    struct trust_key *keys;
    size_t n_keys;
    int have_list;
    struct mst__revlist list;
    struct mst__buf problems;
};

static char **copy_list(const char *const *list)
{
    size_t n = 0;
    while (list && list[n])
        n++;
    char **out = mst__xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = mst__xstrdup(list[i]);
    return out;
}

static void free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

const char *mst__trust_status_name(enum mst__trust_status s)
{
    static const char *const names[] = {"core", "signed", "unsigned", "modified", "invalid", "revoked",
                                        "incompatible"};
    return (unsigned)s < MST__TRUST_N_STATUS ? names[s] : "?";
}

/* --- reading files the trust depends on --------------------------------- */

static char *read_fd_all(int fd, size_t max, size_t *len)
{
    struct mst__buf b = {0};
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            break;
        if (n < 0 || b.len + (size_t)n > max) {
            int err = n < 0 ? errno : EFBIG;
            mst__buf_free(&b);
            errno = err;
            return NULL;
        }
        mst__buf_append(&b, chunk, (size_t)n);
    }
    if (!b.data)
        mst__buf_reserve(&b, 0), b.data[0] = '\0';
    *len = b.len;
    return b.data;
}

/* A small file that passed the permission walk, whole. */
static char *read_safe(const char *path, uid_t uid, size_t *len, struct mst__buf *why)
{
    struct stat st;
    int fd = mst__open_safe(path, uid, &st, why);
    if (fd < 0)
        return NULL;
    char *text = read_fd_all(fd, SMALL_MAX, len);
    if (!text)
        mst__buf_printf(why, "cannot read %s: %s", path, strerror(errno));
    close(fd);
    return text;
}

static void sha256_mem(const void *data, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

/* --- the trust folder --------------------------------------------------- */

static int scope_parse(struct trust_key *k, const char *text, size_t n, struct mst__buf *why)
{
    cJSON *root = cJSON_ParseWithLength(text, n);
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(root, "names");
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(root, "kinds");
    int rc = MST_EINVAL;
    if (!cJSON_IsArray(names) || !cJSON_IsArray(kinds)) {
        mst__buf_puts(why, "must be {\"names\":[...],\"kinds\":[\"so\",\"lua\"]}");
        goto out;
    }
    k->names = mst__xcalloc((size_t)cJSON_GetArraySize(names) + 1, sizeof *k->names);
    const cJSON *it;
    cJSON_ArrayForEach(it, names)
    {
        const char *s = cJSON_IsString(it) ? it->valuestring : "";
        char *star = strchr(s, '*');
        size_t stem = star ? (size_t)(star - s) : strlen(s);
        char *head = mst__xstrndup(s, stem);
        int ok = (star ? star[1] == '\0' : 1) && (stem == 0 ? star != NULL : mst__valid_name(head));
        free(head);
        if (!ok) {
            mst__buf_printf(why, "name \"%.64s\" is neither a plugin name nor one followed by a final *", s);
            goto out;
        }
        k->names[k->n_names++] = mst__xstrdup(s);
    }
    cJSON_ArrayForEach(it, kinds)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, "so") == 0)
            k->kinds |= KIND_SO;
        else if (cJSON_IsString(it) && strcmp(it->valuestring, "lua") == 0)
            k->kinds |= KIND_LUA;
        else {
            mst__buf_puts(why, "\"kinds\" may hold only \"so\" and \"lua\"");
            goto out;
        }
    }
    k->has_scope = 1;
    k->scope_text = mst__xstrndup(text, n);
    while (k->scope_text[0] && strchr("\n\r ", k->scope_text[strlen(k->scope_text) - 1]))
        k->scope_text[strlen(k->scope_text) - 1] = '\0';
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

static int scope_covers(const struct trust_key *k, const char *name, unsigned kind)
{
    if (!(k->kinds & kind))
        return 0;
    for (size_t i = 0; i < k->n_names; i++) {
        const char *p = k->names[i];
        size_t n = strlen(p);
        if (n && p[n - 1] == '*' ? strncmp(p, name, n - 1) == 0 : strcmp(p, name) == 0)
            return 1;
    }
    return 0;
}

static int load_key(struct mst__trust *t, const char *keys_dir, const char *file, struct mst__buf *why)
{
    char *path = mst__path_join(keys_dir, file);
    size_t n;
    char *text = read_safe(path, t->uid, &n, why);
    struct trust_key k = {0};
    int rc = MST_EPERM;
    k.name = mst__xstrndup(file, strlen(file) - 4);
    if (!text)
        goto out;
    if (mst__mkey_parse(text, n, &k.key, why) != 0) {
        mst__buf_printf(why, " (%s)", path);
        goto out;
    }
    mst__key_id_hex(k.key.id, k.id);
    char *scope_path = mst__xasprintf("%s/%s.scope", keys_dir, k.name);
    free(text);
    text = NULL;
    if (access(scope_path, F_OK) == 0) {
        text = read_safe(scope_path, t->uid, &n, why);
        if (!text || scope_parse(&k, text, n, why) != 0) {
            mst__buf_printf(why, " (%s)", scope_path);
            free(scope_path);
            goto out;
        }
    } else
        mst__buf_printf(&t->problems, "key %s (%s) has no %s.scope file: it covers nothing\n", k.name, k.id,
                        k.name);
    free(scope_path);
    t->keys = mst__xrealloc(t->keys, (t->n_keys + 1) * sizeof *t->keys);
    t->keys[t->n_keys++] = k;
    memset(&k, 0, sizeof k);
    rc = 0;
out:
    free(k.name);
    free_list(k.names);
    free(k.scope_text);
    free(text);
    free(path);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* keys/NAME.pub, in name order (so `trust status` lists them the same way). */
static int load_keys(struct mst__trust *t, struct mst__buf *why)
{
    char *keys_dir = mst__path_join(t->dir, "keys");
    DIR *d = opendir(keys_dir);
    int rc = 0;
    if (!d) {
        free(keys_dir);
        return 0; /* a trust folder with only root.pub (for the list) */
    }
    char **files = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && mst__ends_with(e->d_name, ".pub")) {
            files = mst__xrealloc(files, (n + 1) * sizeof *files);
            files[n++] = mst__xstrdup(e->d_name);
        }
    closedir(d);
    if (n)
        qsort(files, n, sizeof *files, name_cmp);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = load_key(t, keys_dir, files[i], why);
        free(files[i]);
    }
    free(files);
    free(keys_dir);
    return rc;
}

/* --- the revocation list: the trust folder's copy against the state copy */

static void use_list(struct mst__trust *t, struct mst__revlist *l)
{
    mst__revlist_free(&t->list);
    t->list = *l;
    t->have_list = 1;
    memset(l, 0, sizeof *l);
}

static int choose_list(struct mst__trust *t, struct mst__buf *why)
{
    struct mst__revlist dir_list, state_list;
    struct mst__buf dwhy = {0}, swhy = {0};
    char *dir_path = mst__path_join(t->dir, "revocations.json");
    char *state_path = t->state_dir ? mst__path_join(t->state_dir, "revocations.json") : NULL;
    const struct mst__mkey *root = t->have_root ? &t->root : NULL;
    int drc = mst__revlist_load(dir_path, root, t->uid, 1, &dir_list, &dwhy);
    int src = state_path ? mst__revlist_load(state_path, root, t->uid, 0, &state_list, &swhy) : MST_ENOENT;
    int rc = 0;
    if (src != 0 && src != MST_ENOENT)
        mst__buf_printf(&t->problems, "the kept copy %s is not used: %s\n", state_path, swhy.data);
    if (drc != 0 && drc != MST_ENOENT) {
        if (src != 0) {
            mst__buf_printf(why, "%s: %s", dir_path, dwhy.data);
            rc = MST_EPERM; /* a list is there and none verifies: fail closed */
            goto out;
        }
        mst__buf_printf(&t->problems, "%s is refused (%s): the kept copy (serial %lld) stays in use\n",
                        dir_path, dwhy.data, (long long)state_list.serial);
    }
    if (drc == 0 && src == 0 && dir_list.serial < state_list.serial)
        mst__buf_printf(&t->problems, "%s refused: rollback: serial %lld < %lld (the last accepted)\n", dir_path,
                        (long long)dir_list.serial, (long long)state_list.serial);
    else if (drc == 0 && src == 0 && dir_list.serial == state_list.serial &&
             (dir_list.len != state_list.len || memcmp(dir_list.bytes, state_list.bytes, dir_list.len) != 0))
        mst__buf_printf(&t->problems, "%s refused: serial %lld is the accepted one's, with other bytes\n",
                        dir_path, (long long)dir_list.serial);
    else if (drc == 0 && (src != 0 || dir_list.serial > state_list.serial)) {
        struct mst__buf swrite = {0};
        if (t->state_dir && mst__revlist_save(t->state_dir, &dir_list, &swrite) != 0)
            mst__buf_printf(&t->problems, "could not keep the list: %s\n", swrite.data);
        mst__buf_free(&swrite);
        use_list(t, &dir_list);
    }
    if (!t->have_list && src == 0)
        use_list(t, &state_list);
out:
    if (drc == 0)
        mst__revlist_free(&dir_list);
    if (src == 0)
        mst__revlist_free(&state_list);
    mst__buf_free(&dwhy);
    mst__buf_free(&swhy);
    free(dir_path);
    free(state_path);
    return rc;
}

static int load_root(struct mst__trust *t, struct mst__buf *why)
{
    char *path = mst__path_join(t->dir, "root.pub");
    int rc = 0;
    if (access(path, F_OK) == 0) {
        size_t n;
        char *text = read_safe(path, t->uid, &n, why);
        rc = text && mst__mkey_parse(text, n, &t->root, why) == 0 ? 0 : MST_EPERM;
        t->have_root = rc == 0;
        if (rc)
            mst__buf_printf(why, " (%s)", path);
        free(text);
    }
    free(path);
    return rc;
}

int mst__trust_open(struct mst__trust **out, const struct mst__trust_cfg *cfg, struct mst__buf *why)
{
    struct mst__trust *t = mst__xcalloc(1, sizeof *t);
    t->dir = mst__xstrdup(cfg->dir ? cfg->dir : "/etc/mestys/trust");
    t->require = cfg->require;
    t->allow_unsigned = copy_list(cfg->allow_unsigned);
    t->own_dirs = copy_list(cfg->own_dirs);
    t->state_dir = cfg->state_dir ? mst__path_join(cfg->state_dir, "trust") : NULL;
    t->uid = cfg->uid;
    *out = NULL;
    struct stat st;
    int rc = 0;
    if (stat(t->dir, &st) == 0) { /* none: no release keys, no list; only core plugins load when signed is required */
        char real[PATH_MAX];
        if (!realpath(t->dir, real) || mst__path_safe(real, t->uid, why) != 0) {
            mst__buf_printf(why, " (the trust folder %s)", t->dir);
            rc = MST_EPERM;
        }
        if (rc == 0)
            rc = load_root(t, why);
        if (rc == 0)
            rc = load_keys(t, why);
    }
    if (rc == 0)
        rc = choose_list(t, why);
    if (rc != 0) {
        mst__trust_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

void mst__trust_close(struct mst__trust *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_keys; i++) {
        free(t->keys[i].name);
        free_list(t->keys[i].names);
        free(t->keys[i].scope_text);
    }
    free(t->keys);
    mst__revlist_free(&t->list);
    mst__buf_free(&t->problems);
    free_list(t->allow_unsigned);
    free_list(t->own_dirs);
    free(t->state_dir);
    free(t->dir);
    free(t);
}

/* --- the check before dlopen -------------------------------------------- */

/* The check's state: what it has opened and found so far. */
struct check {
    struct mst__trust *t;
    const char *use;
    char real[PATH_MAX];
    int bundle; /* real is a folder NAME/VERSION */
    int core;
    unsigned kind;
    char *manifest_text;
    size_t manifest_len;
    struct mst__trust_result *r;
};

static int refuse(struct check *c, enum mst__trust_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(struct check *c, enum mst__trust_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    c->r->status = st;
    c->r->reason.len = 0;
    if (c->r->reason.data)
        c->r->reason.data[0] = '\0';
    mst__buf_vprintf(&c->r->reason, fmt, ap);
    va_end(ap);
    return MST_ETRUST;
}

/* A plugin is core when the search folder it was found in is one of the
 * daemon's own: NAME.so's folder, or NAME/VERSION's grandparent. */
static int in_own_dir(const struct mst__trust *t, const char *real, int bundle)
{
    char *dir = mst__dirname(real);
    if (bundle) {
        char *up = mst__dirname(dir);
        free(dir);
        dir = up;
    }
    int own = 0;
    for (size_t i = 0; t->own_dirs[i] && !own; i++)
        own = strcmp(t->own_dirs[i], dir) == 0;
    free(dir);
    return own;
}

static int allowed_unsigned(const struct check *c)
{
    if (c->t->require == MST__TRUST_REQUIRE_ANY)
        return 1;
    for (size_t i = 0; c->kind == KIND_LUA && c->t->allow_unsigned[i]; i++)
        if (strcmp(c->t->allow_unsigned[i], c->use) == 0)
            return 1;
    return 0;
}

/* No manifest, or a manifest nobody signed. */
static int unsigned_policy(struct check *c, const char *what)
{
    if (c->core) {
        c->r->status = MST__TRUST_CORE;
        mst__buf_printf(&c->r->reason, "from the daemon's own plugin folder (%s)", what);
        return 0;
    }
    if (!allowed_unsigned(c))
        return refuse(c, MST__TRUST_UNSIGNED, "unsigned (%s) and trust.require is \"signed\"%s", what,
                      c->kind == KIND_LUA ? " (a Lua plugin may be named in trust.allow_unsigned)" : "");
    c->r->status = MST__TRUST_UNSIGNED;
    mst__buf_printf(&c->r->reason, "unsigned (%s), allowed by %s", what,
                    c->t->require == MST__TRUST_REQUIRE_ANY ? "trust.require \"any\"" : "trust.allow_unsigned");
    return 0;
}

/* The signature files beside the manifest, sorted: manifest.json.minisig
 * and manifest.json.SIGNER.minisig. */
static char **signature_files(int dirfd, size_t *n)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    char **files = NULL;
    *n = 0;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "manifest.json.", 14) == 0 && mst__ends_with(e->d_name, ".minisig")) {
            files = mst__xrealloc(files, (*n + 1) * sizeof *files);
            files[(*n)++] = mst__xstrdup(e->d_name);
        }
    closedir(d);
    if (*n)
        qsort(files, *n, sizeof *files, name_cmp);
    return files;
}

static const struct trust_key *find_key(const struct mst__trust *t, const uint8_t id[8])
{
    for (size_t i = 0; i < t->n_keys; i++)
        if (memcmp(t->keys[i].key.id, id, 8) == 0)
            return &t->keys[i];
    return NULL;
}

/* What one signature file says: OK (valid, key trusted, not revoked, in
 * scope), or which of the refusals, most telling first. */
enum sig_verdict { SIG_OK, SIG_REVOKED, SIG_SCOPE, SIG_BAD, SIG_UNKNOWN };

static enum sig_verdict one_signature(struct check *c, const char *file, const struct mst__manifest *m,
                                      struct mst__buf *why, const struct trust_key **signer)
{
    char *path = mst__path_join(c->real, file);
    size_t n;
    struct mst__buf rwhy = {0};
    char *text = read_safe(path, c->t->uid, &n, &rwhy);
    free(path);
    struct mst__msig s;
    if (!text || mst__msig_parse(text, n, &s, &rwhy) != 0) {
        mst__buf_printf(why, "%s: %s", file, rwhy.data);
        mst__buf_free(&rwhy);
        free(text);
        return SIG_BAD;
    }
    free(text);
    enum sig_verdict v = SIG_OK;
    char id[17];
    mst__key_id_hex(s.key_id, id);
    const struct trust_key *k = find_key(c->t, s.key_id);
    if (!k) {
        mst__buf_printf(why, "%s: signed by key %s, which is not in the trust folder", file, id);
        v = SIG_UNKNOWN;
    } else if (mst__msig_verify(&s, &k->key, c->manifest_text, c->manifest_len, &rwhy) != 0) {
        mst__buf_printf(why, "%s: the signature by key %s (%s) does not verify: %s", file, k->name, id, rwhy.data);
        v = SIG_BAD;
    } else if (c->t->have_list && mst__revlist_key_revoked(&c->t->list, id)) {
        mst__buf_printf(why, "%s: key %s (%s) is revoked by the revocation list (serial %lld)", file, k->name, id,
                        (long long)c->t->list.serial);
        v = SIG_REVOKED;
    } else if (!k->has_scope || !scope_covers(k, m->name, c->kind)) {
        mst__buf_printf(why, "%s: key %s (%s) does not cover the %s plugin \"%s\" (scope: %s)", file, k->name, id,
                        c->kind == KIND_LUA ? "lua" : "so", m->name,
                        k->has_scope ? k->scope_text : "none, no .scope file");
        v = SIG_SCOPE;
    }
    *signer = k;
    mst__msig_free(&s);
    mst__buf_free(&rwhy);
    return v;
}

/* A valid signature only means something once the manifest it signs is
 * read: scope is checked against the manifest's name and kind.  So the
 * signatures are verified over the raw bytes first (nothing of the
 * manifest is believed before), the scope after parsing. */
static int verify_signatures(struct check *c, const struct mst__manifest *m, char **files, size_t n)
{
    struct mst__buf why[5] = {{0}};
    enum sig_verdict best = SIG_UNKNOWN + 1;
    int rc = 0;
    for (size_t i = 0; i < n && best != SIG_OK; i++) {
        const struct trust_key *k = NULL;
        struct mst__buf w = {0};
        enum sig_verdict v = one_signature(c, files[i], m, &w, &k);
        if (v == SIG_OK)
            c->r->signer = mst__xstrdup(k->name), mst__buf_printf(&why[SIG_OK], "key %s (%s)", k->name, k->id);
        else if (!why[v].len)
            mst__buf_puts(&why[v], w.data);
        if (v < best)
            best = v;
        mst__buf_free(&w);
    }
    if (best == SIG_OK) {
        c->r->status = MST__TRUST_SIGNED;
        mst__buf_printf(&c->r->reason, "signed by %s", why[SIG_OK].data);
    } else
        rc = refuse(c, best == SIG_REVOKED ? MST__TRUST_REVOKED : MST__TRUST_INVALID, "%s", why[best].data);
    for (int i = 0; i < 5; i++)
        mst__buf_free(&why[i]);
    return rc;
}

/* name == use == the folder's NAME, version == the folder's VERSION, the
 * host range, the architecture, the revocation floor. */
static int check_manifest(struct check *c, const struct mst__manifest *m)
{
    char *ver_dir = mst__dirname(c->real), *folder_ver = strrchr(c->real, '/') + 1;
    const char *folder_name = strrchr(ver_dir, '/') ? strrchr(ver_dir, '/') + 1 : ver_dir;
    int rc = 0;
    struct mst__buf why = {0};
    if (strcmp(m->name, c->use) != 0 || strcmp(m->name, folder_name) != 0)
        rc = refuse(c, MST__TRUST_INVALID, "the manifest is for plugin \"%s\", found as \"%s\" in folder %s/",
                    m->name, c->use, folder_name);
    else if (strcmp(m->version, folder_ver) != 0)
        rc = refuse(c, MST__TRUST_INVALID, "the manifest says version %s, the folder %s", m->version, folder_ver);
    else if (mst__range_contains(m->host, MST_VERSION_STRING, &why) != 1)
        rc = refuse(c, MST__TRUST_INCOMPATIBLE, "needs mestys \"%s\", this is %s%s%s", m->host,
                    MST_VERSION_STRING, why.len ? ": " : "", why.data ? why.data : "");
    else if (strcmp(m->arch, c->kind == KIND_LUA ? "all" : MESTYS_ARCH) != 0)
        rc = refuse(c, MST__TRUST_INCOMPATIBLE, "built for architecture %s, this mestysd needs %s", m->arch,
                    c->kind == KIND_LUA ? "all" : MESTYS_ARCH);
    const struct mst__trust_floor *f = rc || !c->t->have_list ? NULL : mst__revlist_floor(&c->t->list, m->name);
    if (f && !f->version)
        rc = refuse(c, MST__TRUST_REVOKED, "every version of %s is revoked: %s", m->name, f->reason);
    else if (f && mst__semver_cmp(m->version, f->version) < 0)
        rc = refuse(c, MST__TRUST_REVOKED, "version %s is below the lowest good version %s: %s", m->version,
                    f->version, f->reason);
    mst__buf_free(&why);
    free(ver_dir);
    return rc;
}

static const uint8_t *listed_sha(const struct mst__manifest *m, const char *rel)
{
    for (size_t i = 0; i < m->n_files; i++)
        if (strcmp(m->paths[i], rel) == 0)
            return m->sha[i];
    return NULL;
}

/* Opens the entry file (NAME.so or NAME.lua) for good: the fd dlopen'ed,
 * or the Lua text handed to the Lua host, is the one hashed here. */
static int open_entry(struct check *c, const char *entry, const struct mst__manifest *m)
{
    struct mst__trust_result *r = c->r;
    struct stat st;
    struct mst__buf why = {0};
    r->entry = c->bundle ? mst__path_join(c->real, entry) : mst__xstrdup(c->real);
    r->fd = mst__open_safe(r->entry, c->t->uid, &st, &why);
    int rc = 0;
    uint8_t sha[32];
    if (r->fd < 0)
        rc = refuse(c, MST__TRUST_INVALID, "%s", why.data);
    else if (c->kind == KIND_LUA) {
        r->lua = 1;
        r->bytes = read_fd_all(r->fd, LUA_MAX, &r->len);
        if (!r->bytes)
            rc = refuse(c, MST__TRUST_INVALID, "cannot read %s: %s", r->entry, strerror(errno));
        else
            sha256_mem(r->bytes, r->len, sha);
    } else if (mst__sha256_fd(r->fd, sha) != 0)
        rc = refuse(c, MST__TRUST_INVALID, "cannot read %s: %s", r->entry, strerror(errno));
    const uint8_t *want = m && rc == 0 ? listed_sha(m, entry) : NULL;
    if (m && rc == 0 && (!want || memcmp(want, sha, 32) != 0))
        rc = refuse(c, MST__TRUST_MODIFIED, "%s is not the file the manifest lists", entry);
    mst__buf_free(&why);
    return rc;
}

/* A bundle folder with a manifest: signatures, manifest, files. */
static int check_signed_bundle(struct check *c)
{
    struct mst__trust_result *r = c->r;
    char *mpath = mst__path_join(c->real, "manifest.json");
    struct mst__buf why = {0};
    size_t n_sigs = 0;
    char **sigs = NULL;
    int rc = 0;
    c->manifest_text = read_safe(mpath, c->t->uid, &c->manifest_len, &why);
    if (!c->manifest_text) {
        rc = refuse(c, MST__TRUST_INVALID, "%s", why.data);
        goto out;
    }
    r->manifest = mst__xcalloc(1, sizeof *r->manifest);
    if (mst__manifest_parse(c->manifest_text, c->manifest_len, r->manifest, &why) != 0) {
        free(r->manifest);
        r->manifest = NULL;
        rc = refuse(c, MST__TRUST_INVALID, "bad manifest.json: %s", why.data);
        goto out;
    }
    c->kind = strcmp(r->manifest->kind, "lua") == 0 ? KIND_LUA : KIND_SO;
    sigs = signature_files(r->dirfd, &n_sigs);
    /* core plugins are signed at release, but what counts for them is their
     * folder; their files must still be the ones the manifest lists */
    if (c->core)
        rc = unsigned_policy(c, "a manifest, its signature not needed");
    else if (n_sigs == 0)
        rc = unsigned_policy(c, "manifest.json without a signature");
    else
        rc = verify_signatures(c, r->manifest, sigs, n_sigs);
    if (rc == 0)
        rc = check_manifest(c, r->manifest);
    if (rc == 0 && mst__bundle_check_files(r->dirfd, r->manifest, &why) != 0)
        rc = refuse(c, MST__TRUST_MODIFIED, "%s", why.data);
    if (rc == 0) {
        char *entry = mst__xasprintf("%s.%s", r->manifest->name, c->kind == KIND_LUA ? "lua" : "so");
        rc = open_entry(c, entry, r->manifest);
        free(entry);
    }
out:
    for (size_t i = 0; i < n_sigs; i++)
        free(sigs[i]);
    free(sigs);
    mst__buf_free(&why);
    free(mpath);
    return rc;
}

static int check_bundle(struct check *c)
{
    c->r->dirfd = open(c->real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (c->r->dirfd < 0)
        return refuse(c, MST__TRUST_INVALID, "cannot open %s: %s", c->real, strerror(errno));
    if (faccessat(c->r->dirfd, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return check_signed_bundle(c);
    /* a version folder without a manifest: as a flat file */
    char *entry = mst__xasprintf("%s.so", c->use);
    c->kind = KIND_SO;
    if (faccessat(c->r->dirfd, entry, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
        free(entry);
        entry = mst__xasprintf("%s.lua", c->use);
        c->kind = KIND_LUA;
    }
    int rc = unsigned_policy(c, "no manifest.json");
    if (rc == 0)
        rc = open_entry(c, entry, NULL);
    free(entry);
    return rc;
}

/* The name a path stands for: NAME of NAME.so / NAME.lua / NAME/VERSION. */
static char *use_of(const char *real, int bundle)
{
    char *dir = mst__dirname(real);
    const char *base = strrchr(bundle ? dir : real, '/');
    base = base ? base + 1 : (bundle ? dir : real);
    char *use = mst__xstrndup(base, bundle ? strlen(base) : strcspn(base, "."));
    free(dir);
    return use;
}

int mst__trust_check_full(struct mst__trust *t, const char *use, const char *path, int flags,
                          struct mst__trust_result *r)
{
    uint64_t t0 = mst__now_ns();
    memset(r, 0, sizeof *r);
    r->fd = r->dirfd = -1;
    struct check c = {.t = t, .r = r};
    struct stat st;
    char *own_use = NULL;
    int rc;
    if (!realpath(path, c.real) || stat(c.real, &st) != 0) {
        rc = refuse(&c, MST__TRUST_INVALID, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    c.bundle = S_ISDIR(st.st_mode);
    c.use = use ? use : (own_use = use_of(c.real, c.bundle));
    c.kind = mst__ends_with(c.real, ".lua") ? KIND_LUA : KIND_SO;
    c.core = in_own_dir(t, c.real, c.bundle);
    struct mst__buf why = {0};
    if (mst__path_safe(c.real, t->uid, &why) != 0)
        rc = refuse(&c, MST__TRUST_INVALID, "unsafe permissions: %s", why.data);
    else if (c.bundle)
        rc = check_bundle(&c);
    else {
        rc = unsigned_policy(&c, "a single file, no bundle");
        if (rc == 0)
            rc = open_entry(&c, c.real, NULL);
    }
    mst__buf_free(&why);
out:
    if (!r->reason.data)
        mst__buf_puts(&r->reason, "");
    if (rc != 0 || (flags & MST__TRUST_NO_LOAD)) {
        if (r->fd >= 0)
            close(r->fd);
        r->fd = -1;
    }
    free(c.manifest_text);
    free(own_use);
    r->seconds = (double)(mst__now_ns() - t0) / 1e9;
    return rc;
}

void mst__trust_result_free(struct mst__trust_result *r)
{
    if (r->fd >= 0)
        close(r->fd);
    if (r->dirfd >= 0)
        close(r->dirfd);
    if (r->manifest) {
        mst__manifest_free(r->manifest);
        free(r->manifest);
    }
    mst__buf_free(&r->reason);
    free(r->entry);
    free(r->signer);
    free(r->bytes);
    memset(r, 0, sizeof *r);
    r->fd = r->dirfd = -1;
}

int mst__trust_check(struct mst__trust *t, const char *use, const char *path, int flags, int *fd_out,
                     enum mst__trust_status *st, struct mst__buf *reason)
{
    struct mst__trust_result r;
    int rc = mst__trust_check_full(t, use, path, flags, &r);
    *st = r.status;
    mst__buf_puts(reason, r.reason.data);
    *fd_out = r.fd;
    r.fd = -1; /* the caller's now */
    mst__trust_result_free(&r);
    return rc;
}

int mst__trust_read_listed(const struct mst__manifest *m, int dirfd, const char *rel, char **bytes, size_t *len,
                           struct mst__buf *why)
{
    const uint8_t *want = m ? listed_sha(m, rel) : NULL;
    if (!want)
        return MST_ENOENT;
    int fd = openat(dirfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char *text = fd >= 0 ? read_fd_all(fd, LUA_MAX, len) : NULL;
    if (fd >= 0)
        close(fd);
    if (!text) {
        mst__buf_printf(why, "cannot read %s: %s", rel, strerror(errno));
        return MST_EPERM;
    }
    uint8_t sha[32];
    sha256_mem(text, *len, sha);
    if (memcmp(sha, want, 32) != 0) {
        mst__buf_printf(why, "%s is not the file the manifest lists (modified since it was checked)", rel);
        free(text);
        return MST_EPERM;
    }
    *bytes = text;
    return 0;
}

/* --- the list in use, and updating it -------------------------------------- */

int mst__trust_update(struct mst__trust *t, const char *file, struct mst__buf *why)
{
    struct mst__revlist l;
    if (!t->state_dir) {
        mst__buf_puts(why, "no node.state_dir to keep the list in");
        return MST_EINVAL;
    }
    int rc = mst__revlist_load(file, t->have_root ? &t->root : NULL, t->uid, 0, &l, why);
    if (rc == MST_ENOENT)
        mst__buf_printf(why, "no such file %s", file);
    if (rc != 0)
        return rc == MST_ENOENT ? rc : MST_ETRUST;
    if (t->have_list && l.serial < t->list.serial) {
        mst__buf_printf(why, "rollback: serial %lld < %lld", (long long)l.serial, (long long)t->list.serial);
        rc = MST_ETRUST;
    } else if (t->have_list && l.serial == t->list.serial) {
        int same = l.len == t->list.len && memcmp(l.bytes, t->list.bytes, l.len) == 0;
        if (!same)
            mst__buf_printf(why, "serial %lld is the accepted list's, with other bytes", (long long)l.serial);
        rc = same ? 0 : MST_ETRUST;
    } else if ((rc = mst__revlist_save(t->state_dir, &l, why)) == 0)
        use_list(t, &l);
    mst__revlist_free(&l);
    return rc;
}

int mst__trust_expired(const struct mst__trust *t, int64_t now_s)
{
    return t && t->have_list && t->list.expires <= now_s;
}

int mst__trust_list_info(const struct mst__trust *t, int64_t *serial, int64_t *expires_s)
{
    if (!t || !t->have_list)
        return 0;
    *serial = t->list.serial;
    *expires_s = t->list.expires;
    return 1;
}

size_t mst__trust_n_keys(const struct mst__trust *t)
{
    return t ? t->n_keys : 0;
}

void mst__trust_key(const struct mst__trust *t, size_t i, struct mst__trust_key_info *out)
{
    const struct trust_key *k = &t->keys[i];
    out->name = k->name;
    memcpy(out->id, k->id, sizeof out->id);
    out->revoked = t->have_list && mst__revlist_key_revoked(&t->list, k->id);
    out->has_scope = k->has_scope;
    out->scope = k->scope_text;
}

size_t mst__trust_n_floors(const struct mst__trust *t)
{
    return t && t->have_list ? t->list.n_floors : 0;
}

const char *mst__trust_floor_name(const struct mst__trust *t, size_t i)
{
    return t->list.floors[i].name;
}

int mst__trust_floor(const struct mst__trust *t, const char *name, const char **version, const char **reason)
{
    const struct mst__trust_floor *f = t && t->have_list ? mst__revlist_floor(&t->list, name) : NULL;
    if (!f)
        return 0;
    *version = f->version;
    *reason = f->reason;
    return 1;
}

const char *mst__trust_problems(const struct mst__trust *t)
{
    return t && t->problems.data ? t->problems.data : "";
}
