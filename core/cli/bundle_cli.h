/* cli/bundle_cli.h - `mestys bundle pack|verify|list|deb`: a plugin folder made
 * into a bundle (manifest.json), what the daemon would decide about one and
 * why, and a Debian package of it. */
#ifndef MST__CLI_BUNDLE_H
#define MST__CLI_BUNDLE_H

#include "bundle.h"
#include "util.h"

/* argv[0] is "pack", "verify", "list" or "deb"; the exit status. */
int mst__cli_bundle(int argc, char **argv);
int mst__cli_bundle_deb(int argc, char **argv);

/* Options: --key VALUE or --key=VALUE, as listed in `keys` (NULL-ended);
 * values[i] for keys[i]; positional arguments left in argv order in pos.
 * 0, or 2 (a usage error, already printed) */
int mst__cli_options(const char *cmd, int argc, char **argv, const char *const *keys, const char **values,
                     const char **pos, int max_pos, int *n_pos);

/* manifest.json of the bundle folder dirfd read (O_NOFOLLOW, regular,
 * at most 4 MiB) and parsed strictly.  0; MST_ENOENT when there is none;
 * MST_EINVAL/MST_EIO with why. */
int mst__cli_manifest_read(int dirfd, struct mst__manifest *m, struct mst__buf *why);

#endif
