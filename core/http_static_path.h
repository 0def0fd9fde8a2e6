/* http_static_path.h - what part of a mounted folder a request path names:
 * the check that keeps a request inside its folder.  Pure (no file system,
 * no libwebsockets), so it is unit-tested and fuzzed alone. */
#ifndef MST__HTTP_STATIC_PATH_H
#define MST__HTTP_STATIC_PATH_H

#include <stddef.h>

/* The longest relative path a request may name (bytes, decoded). */
#define MST__STATIC_PATH_MAX 1024

/* `path` is what follows the mount's prefix in the request path, as
 * libwebsockets hands it over (already percent-decoded once).  It is
 * decoded once more, so a doubly encoded "%252e%252e" is seen as "..".
 * Writes the relative path to out ("" for the folder itself; never with a
 * leading or trailing '/') and sets *folder when the path ended in '/'.
 * Returns 0, or -1 when the path must not be served: a segment "." or ".."
 * or one starting with '.' (dotfiles), an encoded '/' or NUL, a '\\',
 * control bytes, an empty segment ("a//b"), a malformed escape, or more
 * than MST__STATIC_PATH_MAX bytes.  out must hold MST__STATIC_PATH_MAX + 1
 * bytes. */
int mst__static_path_clean(const char *path, char *out, int *folder);

/* 1 when every segment of a clean relative path `rel` (as above, or the
 * part of a resolved file name below its folder) may be served: none is
 * empty or starts with '.'.  Used again after symbolic links are resolved,
 * so a link cannot lead to a dotfile. */
int mst__static_segments_ok(const char *rel);

#endif
