/* trust_path.c - the permission walk done before anything is loaded
 * (OpenSSH's safe_path(): "bad ownership or modes for directory %s").  The
 * messages name the file or folder at fault and the bit or owner that makes
 * it unsafe, since that is what the town's IT person has to fix. */
#include "trust_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mestys/error.h>

static const char *kind_of(mode_t mode)
{
    return S_ISDIR(mode) ? "folder" : "file";
}

/* Owner and write bits of one file or folder. */
static int owner_and_mode_ok(const char *path, const struct stat *st, uid_t self, struct mst__buf *why)
{
    const char *kind = kind_of(st->st_mode);
    unsigned mode = (unsigned)(st->st_mode & 07777);
    if (st->st_uid != 0 && st->st_uid != self) {
        mst__buf_printf(why, "unsafe %s %s: owned by uid %u, not by root or uid %u", kind, path,
                        (unsigned)st->st_uid, (unsigned)self);
        return MST_EPERM;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        mst__buf_printf(why, "unsafe %s %s: writable by %s (mode %04o)", kind, path,
                        st->st_mode & S_IWOTH ? "others" : "its group", mode);
        return MST_EPERM;
    }
    return 0;
}

static int looked_at(const char *path, struct stat *st, struct mst__buf *why)
{
    if (lstat(path, st) == 0)
        return 0;
    int err = errno;
    mst__buf_printf(why, "%s: %s", path, strerror(err));
    return mst__errno_code(err);
}

/* Every folder above path (absolute), up to and including "/". */
static int parents_safe(const char *path, uid_t self, struct mst__buf *why)
{
    int rc = 0;
    char *dir = mst__xstrdup(path);
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash || (slash == dir && dir[1] == '\0'))
            break; /* "/" was the last one checked */
        slash[slash == dir ? 1 : 0] = '\0';
        struct stat st;
        if ((rc = looked_at(dir, &st, why)) != 0)
            break;
        if (!S_ISDIR(st.st_mode)) {
            /* realpath leaves no link; one here was put there since */
            mst__buf_printf(why, "unsafe path: %s is %s", dir,
                            S_ISLNK(st.st_mode) ? "a symbolic link" : "not a folder");
            rc = MST_EPERM;
            break;
        }
        if ((rc = owner_and_mode_ok(dir, &st, self, why)) != 0)
            break;
    }
    free(dir);
    return rc;
}

static int absolute(const char *path, struct mst__buf *why)
{
    if (path[0] == '/')
        return 0;
    mst__buf_printf(why, "unsafe path %s: not absolute", path);
    return MST_EPERM;
}

/* The file or folder itself: not a link, a FIFO, a device or a socket. */
static int leaf_kind_ok(const char *path, const struct stat *st, struct mst__buf *why)
{
    if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))
        return 0;
    mst__buf_printf(why, "unsafe path %s: %s", path,
                    S_ISLNK(st->st_mode) ? "a symbolic link" : "not a regular file or folder");
    return MST_EPERM;
}

int mst__path_safe(const char *real_path, uid_t self, struct mst__buf *why)
{
    struct stat st;
    int rc;
    if ((rc = absolute(real_path, why)) != 0 || (rc = looked_at(real_path, &st, why)) != 0 ||
        (rc = leaf_kind_ok(real_path, &st, why)) != 0 || (rc = owner_and_mode_ok(real_path, &st, self, why)) != 0)
        return rc;
    return parents_safe(real_path, self, why);
}

int mst__open_safe(const char *real_path, uid_t self, struct stat *st, struct mst__buf *why)
{
    int rc;
    if ((rc = absolute(real_path, why)) != 0)
        return rc;
    /* O_NONBLOCK: a FIFO put in the file's place must not hang the daemon's
     * start-up; it is refused below, and regular files ignore the flag */
    int fd = open(real_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int err = errno;
        if (err == ELOOP) {
            mst__buf_printf(why, "unsafe path %s: a symbolic link", real_path);
            return MST_EPERM;
        }
        mst__buf_printf(why, "%s: %s", real_path, strerror(err));
        return mst__errno_code(err);
    }
    if (fstat(fd, st) != 0) {
        int err = errno;
        mst__buf_printf(why, "%s: %s", real_path, strerror(err));
        rc = mst__errno_code(err);
        goto fail;
    }
    if ((rc = leaf_kind_ok(real_path, st, why)) != 0 || (rc = owner_and_mode_ok(real_path, st, self, why)) != 0 ||
        (rc = parents_safe(real_path, self, why)) != 0)
        goto fail;
    if (fcntl(fd, F_SETFL, 0) != 0) { /* blocking reads again, as any file */
        int err = errno;
        mst__buf_printf(why, "%s: %s", real_path, strerror(err));
        rc = mst__errno_code(err);
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return rc;
}
