/* statelock.c - one mestysd per state folder.
 *
 * Two daemons on one state folder would both open the instances' SQLite
 * files and both bind their sockets; the second must be refused before it
 * touches anything.  An open-file-description lock (F_OFD_SETLK) on
 * state_dir/.lock does it: the kernel drops it when the process dies, even
 * on kill -9, so a stale file never blocks a start, and unlike a classic
 * POSIX lock it is not released when some other descriptor of the same
 * file is closed.  OFD locks do not report the holder's PID, so the holder
 * writes it into the file for the refusal to name.
 */
#include "statelock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mestys/error.h>

#include "util.h"

static long holder_pid(int fd)
{
    char text[24] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    long pid = strtol(text, NULL, 10);
    return pid > 0 ? pid : 0;
}

static void write_pid(int fd)
{
    char text[24];
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    /* the PID is a courtesy for the next one refused; the lock is what counts */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n)
        return;
}

int mst__statelock_take(const char *dir, int *fd_out, char *why, size_t why_len)
{
    char *path = mst__path_join(dir, ".lock");
    int rc = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        rc = mst__errno_code(errno);
        snprintf(why, why_len, "cannot open the state folder's lock %s: %s", path, strerror(errno));
        goto out;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        int err = errno;
        if (err == EAGAIN || err == EACCES) {
            long pid = holder_pid(fd);
            rc = MST_EEXIST;
            if (pid)
                snprintf(why, why_len, "state folder %s is in use by another mestysd (PID %ld); stop that one, "
                         "or give this one its own node.state_dir", dir, pid);
            else
                snprintf(why, why_len, "state folder %s is in use by another mestysd; stop that one, "
                         "or give this one its own node.state_dir", dir);
        } else {
            rc = mst__errno_code(err);
            snprintf(why, why_len, "cannot lock %s: %s", path, strerror(err));
        }
        close(fd);
        goto out;
    }
    write_pid(fd);
    *fd_out = fd;
out:
    free(path);
    return rc;
}

void mst__statelock_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
