/* trust_list.c - the revocation list: parsed only once its signature by
 * the root key has verified, kept as the bytes that were signed. */
#include "trust_list.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mestys/error.h>
#include <mestys/time.h>

#include "bundle.h"
#include "trust_path.h"
#include "trust_sig.h"

#define LIST_MAX (4u << 20) /* a list of a few thousand entries is far below this */

void mst__revlist_free(struct mst__revlist *l)
{
    for (size_t i = 0; i < l->n_revoked; i++)
        free(l->revoked[i]);
    free(l->revoked);
    for (size_t i = 0; i < l->n_floors; i++) {
        free(l->floors[i].name);
        free(l->floors[i].version);
        free(l->floors[i].reason);
    }
    free(l->floors);
    free(l->bytes);
    free(l->sig);
    memset(l, 0, sizeof *l);
}

static int parse_keys(const cJSON *keys, struct mst__revlist *l, struct mst__buf *why)
{
    if (!keys)
        return 0;
    if (!cJSON_IsArray(keys)) {
        mst__buf_puts(why, "\"revoked_keys\" must be a list of key ids");
        return MST_EINVAL;
    }
    l->revoked = mst__xcalloc((size_t)cJSON_GetArraySize(keys) + 1, sizeof *l->revoked);
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        /* minisign prints an id without its leading zeros: held as 16 digits */
        uint8_t id[8];
        char hex[17];
        if (!cJSON_IsString(k) || mst__key_id_parse(k->valuestring, id) != 0) {
            mst__buf_puts(why, "\"revoked_keys\" holds something that is not a key id (up to 16 hex digits, "
                               "as minisign prints it)");
            return MST_EINVAL;
        }
        mst__key_id_hex(id, hex);
        l->revoked[l->n_revoked++] = mst__xstrdup(hex);
    }
    return 0;
}

static int parse_floor(const cJSON *p, struct mst__trust_floor *f, struct mst__buf *why)
{
    f->name = mst__xstrdup(p->string);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "lowest_good_version");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(p, "reason");
    if (!mst__valid_name(p->string) || !cJSON_IsObject(p)) {
        mst__buf_printf(why, "\"plugins\": \"%.64s\" must be a plugin name with an object", p->string);
        return MST_EINVAL;
    }
    if (!cJSON_IsNull(v) && !(cJSON_IsString(v) && mst__semver_valid(v->valuestring))) {
        mst__buf_printf(why, "\"plugins\".%s.lowest_good_version must be a version (X.Y.Z) or null", p->string);
        return MST_EINVAL;
    }
    if (!cJSON_IsString(r)) {
        mst__buf_printf(why, "\"plugins\".%s.reason must be a string", p->string);
        return MST_EINVAL;
    }
    f->version = cJSON_IsString(v) ? mst__xstrdup(v->valuestring) : NULL;
    f->reason = mst__xstrdup(r->valuestring);
    return 0;
}

static int parse_floors(const cJSON *plugins, struct mst__revlist *l, struct mst__buf *why)
{
    if (!plugins)
        return 0;
    if (!cJSON_IsObject(plugins)) {
        mst__buf_puts(why, "\"plugins\" must be an object: name -> {lowest_good_version, reason}");
        return MST_EINVAL;
    }
    l->floors = mst__xcalloc((size_t)cJSON_GetArraySize(plugins) + 1, sizeof *l->floors);
    const cJSON *p;
    cJSON_ArrayForEach(p, plugins)
    {
        if (parse_floor(p, &l->floors[l->n_floors++], why) != 0)
            return MST_EINVAL;
    }
    return 0;
}

int mst__revlist_parse(const char *json, size_t n, struct mst__revlist *l, struct mst__buf *why)
{
    memset(l, 0, sizeof *l);
    cJSON *root = cJSON_ParseWithLength(json, n);
    int rc = MST_EINVAL;
    if (!cJSON_IsObject(root)) {
        mst__buf_puts(why, "not a JSON object");
        goto out;
    }
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *serial = cJSON_GetObjectItemCaseSensitive(root, "serial");
    const cJSON *expires = cJSON_GetObjectItemCaseSensitive(root, "expires");
    if (!cJSON_IsNumber(format) || format->valuedouble != 1) {
        mst__buf_puts(why, "\"format\" must be 1");
        goto out;
    }
    if (!cJSON_IsNumber(serial) || serial->valuedouble < 0 || serial->valuedouble > 9007199254740991.0 ||
        serial->valuedouble != (double)(int64_t)serial->valuedouble) {
        mst__buf_puts(why, "\"serial\" must be a whole number >= 0");
        goto out;
    }
    l->serial = (int64_t)serial->valuedouble;
    int64_t ms;
    const char *e = cJSON_IsString(expires) ? expires->valuestring : NULL;
    if (!e || strlen(e) != 20 || e[19] != 'Z' || mst_time_parse(e, &ms) != 0) {
        mst__buf_puts(why, "\"expires\" must be a time like 2027-01-31T00:00:00Z");
        goto out;
    }
    l->expires = ms / 1000;
    rc = parse_keys(cJSON_GetObjectItemCaseSensitive(root, "revoked_keys"), l, why);
    if (rc == 0)
        rc = parse_floors(cJSON_GetObjectItemCaseSensitive(root, "plugins"), l, why);
out:
    cJSON_Delete(root);
    if (rc != 0)
        mst__revlist_free(l);
    return rc;
}

int mst__revlist_verify(const char *json, size_t n, const char *sig, size_t sig_n, const struct mst__mkey *root,
                        struct mst__revlist *l, struct mst__buf *why)
{
    struct mst__msig s;
    memset(l, 0, sizeof *l);
    if (!root) {
        mst__buf_puts(why, "there is no root.pub in the trust folder to verify it with");
        return MST_EPERM;
    }
    if (mst__msig_parse(sig, sig_n, &s, why) != 0)
        return MST_EPERM;
    int rc = memcmp(s.key_id, root->id, 8) != 0 ? MST_EPERM : 0;
    if (rc) {
        char a[17], b[17];
        mst__key_id_hex(s.key_id, a);
        mst__key_id_hex(root->id, b);
        mst__buf_printf(why, "signed by key %s, not by the root key %s", a, b);
    } else
        rc = mst__msig_verify(&s, root, json, n, why);
    mst__msig_free(&s);
    if (rc != 0)
        return MST_EPERM;
    rc = mst__revlist_parse(json, n, l, why);
    if (rc != 0)
        return rc;
    l->bytes = mst__xstrndup(json, n);
    l->len = n;
    l->sig = mst__xstrndup(sig, sig_n);
    l->sig_len = sig_n;
    return 0;
}

/* The whole file behind fd, at most max bytes. */
static char *read_fd(int fd, size_t max, size_t *len)
{
    struct mst__buf b = {0};
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || b.len + (size_t)n > max) {
            if (n == 0)
                break;
            mst__buf_free(&b);
            errno = n < 0 ? errno : EFBIG;
            return NULL;
        }
        mst__buf_append(&b, chunk, (size_t)n);
    }
    if (!b.data)
        mst__buf_reserve(&b, 0), b.data[0] = '\0';
    *len = b.len;
    return b.data;
}

static char *read_one(const char *path, uid_t uid, int walk, size_t *len, struct mst__buf *why)
{
    int fd;
    if (walk) {
        struct stat st;
        fd = mst__open_safe(path, uid, &st, why);
    } else {
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            mst__buf_printf(why, "cannot open %s: %s", path, strerror(errno));
    }
    if (fd < 0)
        return NULL;
    char *text = read_fd(fd, LIST_MAX, len);
    if (!text)
        mst__buf_printf(why, "cannot read %s: %s", path, strerror(errno));
    close(fd);
    return text;
}

int mst__revlist_load(const char *path, const struct mst__mkey *root, uid_t uid, int walk,
                      struct mst__revlist *l, struct mst__buf *why)
{
    memset(l, 0, sizeof *l);
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return MST_ENOENT;
    char *sig_path = mst__xasprintf("%s.minisig", path);
    size_t n = 0, sig_n = 0;
    char *text = NULL, *sig = NULL;
    int rc = MST_EPERM;
    if (walk && mst__path_safe(path, uid, why) != 0)
        goto out;
    text = read_one(path, uid, walk, &n, why);
    if (text)
        sig = read_one(sig_path, uid, walk, &sig_n, why);
    if (!sig)
        goto out;
    rc = mst__revlist_verify(text, n, sig, sig_n, root, l, why);
out:
    free(text);
    free(sig);
    free(sig_path);
    return rc;
}

static int write_durably(const char *dir, const char *name, const char *data, size_t len, struct mst__buf *why)
{
    char *path = mst__xasprintf("%s/%s", dir, name);
    char *tmp = mst__xasprintf("%s/.%s.tmp", dir, name);
    int rc = MST_EIO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        mst__buf_printf(why, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int ok = off == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        mst__buf_printf(why, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(path);
    free(tmp);
    return rc;
}

int mst__revlist_save(const char *dir, const struct mst__revlist *l, struct mst__buf *why)
{
    int rc = mst__mkdirs(dir, 0700);
    if (rc != 0) {
        mst__buf_printf(why, "cannot create %s: %s", dir, strerror(errno));
        return rc;
    }
    /* the signature first: a crash between the two renames leaves a pair
     * that does not verify, and the trust folder's copy is used instead */
    rc = write_durably(dir, "revocations.json.minisig", l->sig, l->sig_len, why);
    if (rc == 0)
        rc = write_durably(dir, "revocations.json", l->bytes, l->len, why);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* the renames themselves */
        close(dfd);
    }
    return rc;
}

int mst__revlist_key_revoked(const struct mst__revlist *l, const char *key_id)
{
    for (size_t i = 0; l && i < l->n_revoked; i++)
        if (strcmp(l->revoked[i], key_id) == 0)
            return 1;
    return 0;
}

const struct mst__trust_floor *mst__revlist_floor(const struct mst__revlist *l, const char *name)
{
    for (size_t i = 0; l && i < l->n_floors; i++)
        if (strcmp(l->floors[i].name, name) == 0)
            return &l->floors[i];
    return NULL;
}
