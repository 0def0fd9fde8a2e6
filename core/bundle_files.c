/* bundle_files.c - a bundle folder read through file descriptors: every
 * regular file listed with its SHA-256 (symlinks, devices, FIFOs and odd
 * names refused), compared with the manifest, and the newest version folder
 * of a plugin.  Files are opened with O_NOFOLLOW relative to their folder's
 * fd, so no path is resolved twice. */
#include "bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mestys/error.h>

#include "trust_sig.h"

int mst__bundle_is_meta_file(const char *name)
{
    static const char base[] = MST__MANIFEST_NAME;
    size_t n = strlen(base);
    if (strcmp(name, MST__MANIFEST_NAME) == 0 || strcmp(name, MST__MANIFEST_NAME ".minisig") == 0)
        return 1;
    /* manifest.json.SIGNER.minisig, SIGNER a plain name */
    if (strncmp(name, MST__MANIFEST_NAME ".", n + 1) != 0 || !mst__ends_with(name, ".minisig"))
        return 0;
    size_t signer = strlen(name) - n - 1 - strlen(".minisig");
    if (signer == 0 || signer > 64)
        return 0;
    char tmp[65];
    memcpy(tmp, name + n + 1, signer);
    tmp[signer] = '\0';
    return mst__valid_name(tmp);
}

static int segment_valid(const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-' || c == '+' || c == '@'))
            return 0;
    }
    return 1;
}

int mst__bundle_path_valid(const char *path)
{
    size_t len = strlen(path), depth = 0;
    if (len == 0 || len > MST__BUNDLE_MAX_PATH)
        return 0;
    for (const char *s = path;;) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (!segment_valid(s, n) || ++depth > MST__BUNDLE_MAX_DEPTH)
            return 0;
        if (!slash)
            return 1;
        s = slash + 1;
    }
}

struct scan_entry {
    char *path;
    uint8_t sha[32];
};

struct scan {
    struct scan_entry *e;
    size_t n, cap;
    struct mst__buf *why;
};

static const char *file_type_name(mode_t mode)
{
    if (S_ISLNK(mode))
        return "a symbolic link";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

static int scan_file(struct scan *s, int dfd, const char *name, const char *rel)
{
    if (s->n == MST__BUNDLE_MAX_FILES) {
        mst__buf_printf(s->why, "the bundle holds more than %d files", MST__BUNDLE_MAX_FILES);
        return MST_EINVAL;
    }
    /* O_NONBLOCK: a file swapped for a FIFO after fstatat must not hang us */
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int err = errno;
        mst__buf_printf(s->why, "%s: %s", rel, strerror(err));
        if (fd >= 0)
            close(fd);
        return err == ELOOP ? MST_EINVAL : MST_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        mst__buf_printf(s->why, "%s is %s: a bundle holds only regular files and folders", rel,
                        file_type_name(st.st_mode));
        close(fd);
        return MST_EINVAL;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->e = mst__xrealloc(s->e, s->cap * sizeof *s->e);
    }
    int rc = mst__sha256_fd(fd, s->e[s->n].sha);
    close(fd);
    if (rc < 0) {
        mst__buf_printf(s->why, "%s: cannot be read", rel);
        return rc;
    }
    s->e[s->n++].path = mst__xstrdup(rel);
    return 0;
}

static int scan_dir(struct scan *s, int dfd, const char *prefix, int depth);

static int scan_entry(struct scan *s, int dfd, const char *name, const char *prefix, int depth)
{
    if (depth == 0 && mst__bundle_is_meta_file(name))
        return 0;
    char *rel = mst__xasprintf("%s%s", prefix, name);
    int rc = 0;
    struct stat st;
    if (!segment_valid(name, strlen(name)) || strlen(rel) > MST__BUNDLE_MAX_PATH) {
        mst__buf_printf(s->why, "\"%s\": a bundle's file names are [A-Za-z0-9._+@-], not \".\" or \"..\"", rel);
        rc = MST_EINVAL;
    } else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        mst__buf_printf(s->why, "%s: %s", rel, strerror(errno));
        rc = MST_EIO;
    } else if (S_ISDIR(st.st_mode)) {
        if (depth + 1 >= MST__BUNDLE_MAX_DEPTH) {
            mst__buf_printf(s->why, "%s: folders nested more than %d deep", rel, MST__BUNDLE_MAX_DEPTH);
            rc = MST_EINVAL;
        } else {
            int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            char *subprefix = mst__xasprintf("%s/", rel);
            if (sub < 0) {
                mst__buf_printf(s->why, "%s: %s", rel, strerror(errno));
                rc = errno == ELOOP || errno == ENOTDIR ? MST_EINVAL : MST_EIO;
            } else {
                rc = scan_dir(s, sub, subprefix, depth + 1);
                close(sub);
            }
            free(subprefix);
        }
    } else if (S_ISREG(st.st_mode)) {
        rc = scan_file(s, dfd, name, rel);
    } else {
        mst__buf_printf(s->why, "%s is %s: a bundle holds only regular files and folders", rel,
                        file_type_name(st.st_mode));
        rc = MST_EINVAL;
    }
    free(rel);
    return rc;
}

static int scan_dir(struct scan *s, int dfd, const char *prefix, int depth)
{
    /* a new open file description: the caller's fd keeps its offset */
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        mst__buf_printf(s->why, "%s: cannot list: %s", *prefix ? prefix : ".", strerror(errno));
        if (fd >= 0)
            close(fd);
        return MST_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        rc = scan_entry(s, dfd, e->d_name, prefix, depth);
    }
    closedir(d);
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct scan_entry *)a)->path, ((const struct scan_entry *)b)->path);
}

int mst__bundle_scan(int dirfd, struct mst__manifest *out, struct mst__buf *why)
{
    struct scan s = {.why = why};
    int rc = scan_dir(&s, dirfd, "", 0);
    if (rc < 0) {
        for (size_t i = 0; i < s.n; i++)
            free(s.e[i].path);
        free(s.e);
        return rc;
    }
    /* readdir's order is the file system's: sort, so the result is not */
    qsort(s.e, s.n, sizeof *s.e, entry_cmp);
    out->n_files = s.n;
    out->paths = mst__xcalloc(s.n, sizeof *out->paths);
    out->sha = mst__xcalloc(s.n, sizeof *out->sha);
    for (size_t i = 0; i < s.n; i++) {
        out->paths[i] = s.e[i].path;
        memcpy(out->sha[i], s.e[i].sha, 32);
    }
    free(s.e);
    return 0;
}

/* Adds one finding to why, "; "-separated, the first 8 of them. */
static void finding(struct mst__buf *why, int *count, const char *fmt, const char *path)
{
    if (*count < 8) {
        if (*count)
            mst__buf_puts(why, "; ");
        mst__buf_printf(why, fmt, path);
    } else if (*count == 8) {
        mst__buf_puts(why, "; and more");
    }
    (*count)++;
}

int mst__bundle_check_files(int dirfd, const struct mst__manifest *m, struct mst__buf *why)
{
    struct mst__manifest disk = {0};
    int rc = mst__bundle_scan(dirfd, &disk, why);
    if (rc < 0)
        return rc;
    int found = 0;
    size_t i = 0, j = 0;
    while (i < m->n_files || j < disk.n_files) {
        int c = i == m->n_files ? 1 : j == disk.n_files ? -1 : strcmp(m->paths[i], disk.paths[j]);
        if (c < 0) {
            finding(why, &found, "%s is listed in the manifest but missing", m->paths[i++]);
        } else if (c > 0) {
            finding(why, &found, "%s is in the folder but not in the manifest", disk.paths[j++]);
        } else {
            if (memcmp(m->sha[i], disk.sha[j], 32) != 0)
                finding(why, &found, "%s differs from the manifest (SHA-256 mismatch)", m->paths[i]);
            i++, j++;
        }
    }
    mst__manifest_free(&disk);
    return found ? MST_EPERM : 0;
}

int mst__bundle_latest(const char *name_dir, char **version_out)
{
    *version_out = NULL;
    DIR *d = opendir(name_dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? MST_ENOENT : MST_EIO;
    /* Every entry named as a version counts, folder or not: a planted file
     * or symlink named 9.0.0 becomes the candidate and is refused by the
     * trust check, instead of the loader silently taking an older one. */
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!mst__semver_valid(e->d_name))
            continue;
        /* 1.0.0 and 1.0.0+b rank the same: bytes decide, not readdir */
        int c = *version_out ? mst__semver_cmp(e->d_name, *version_out) : 1;
        if (c > 0 || (c == 0 && strcmp(e->d_name, *version_out) > 0)) {
            free(*version_out);
            *version_out = mst__xstrdup(e->d_name);
        }
    }
    closedir(d);
    return *version_out ? 0 : MST_ENOENT;
}
