/* trust_path.h - is a path safe to load from: OpenSSH's safe_path() rule
 * (misc.c) for the daemon.  The file and every folder above it up to "/"
 * must be owned by root or by the daemon's own user and writable by
 * neither group nor others; then nobody else can change or swap the bytes
 * between the check and the load.  A folder writable by others is refused
 * even when sticky (/tmp), as ssh refuses it. */
#ifndef MST__TRUST_PATH_H
#define MST__TRUST_PATH_H

#include <sys/stat.h>
#include <sys/types.h>

#include "util.h"

/* real_path: absolute, symbolic links already resolved (realpath), naming a
 * regular file or a folder.  0; MST_EPERM with the culprit named in why
 * (which file or folder, and what is wrong: its owner, a group or other
 * write bit, a symbolic link, not a file or folder, not absolute); or the
 * system's error (MST_ENOENT, …) when a part of the path cannot be looked
 * at, also with why. */
int mst__path_safe(const char *real_path, uid_t self, struct mst__buf *why);
/* The same check, on what is actually opened: open(O_RDONLY | O_NOFOLLOW |
 * O_CLOEXEC) (a FIFO or device never blocks the open), then the fd's own
 * fstat (filled into *st) must be a regular file or a folder with a safe
 * owner and mode, then every folder above it is walked.  The fd (>= 0), to
 * be hashed and loaded from; or a negative code as mst__path_safe. */
int mst__open_safe(const char *real_path, uid_t self, struct stat *st, struct mst__buf *why);

#endif
