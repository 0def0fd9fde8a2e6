/* statelock.h - one mestysd per state folder. */
#ifndef MST__STATELOCK_H
#define MST__STATELOCK_H

#include <stddef.h>

/* Locks dir/.lock for as long as *fd stays open and writes our PID in it.
 * If another process holds it, returns MST_EEXIST and why names the folder
 * and the holder's PID; other failures say what the system said. */
int mst__statelock_take(const char *dir, int *fd, char *why, size_t why_len);
/* Releases the lock (closing the file); fd < 0 is a no-op. */
void mst__statelock_release(int fd);

#endif
