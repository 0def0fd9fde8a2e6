/* http_static_path.c - the request path of a static file, checked and
 * cleaned.  Everything that could lead out of the mounted folder, or to a
 * file the folder's owner did not mean to publish, is refused here before
 * the file system is asked; symbolic links are checked afterwards by
 * http_static.c, which resolves them. */
#include "http_static_path.h"

#include <string.h>

#include "util.h"

/* A segment as it stands between two '/', decoded already. */
static int segment_ok(const char *s, size_t n)
{
    /* empty ("a//b"), ".", ".." and dotfiles (".git", ".env") in one rule */
    return n > 0 && s[0] != '.';
}

int mst__static_segments_ok(const char *rel)
{
    if (!*rel)
        return 1;
    for (const char *p = rel;;) {
        size_t n = strcspn(p, "/");
        if (!segment_ok(p, n))
            return 0;
        if (!p[n])
            return 1;
        p += n + 1;
    }
}

int mst__static_path_clean(const char *path, char *out, int *folder)
{
    size_t o = 0;
    *folder = 0;
    if (*path == '/')
        path++; /* the prefix's own slash; "//x" is refused below as an empty segment */
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%') {
            int hi = mst__hex_value((unsigned char)p[1]), lo = hi < 0 ? -1 : mst__hex_value((unsigned char)p[2]);
            if (lo < 0)
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            p += 2;
            /* an encoded separator or NUL would mean another path to the
             * file system than the one checked here */
            if (c == '/' || c == '\0')
                return -1;
        }
        if (c < 0x20 || c == 0x7f || c == '\\')
            return -1;
        if (o >= MST__STATIC_PATH_MAX)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (o > 0 && out[o - 1] == '/') {
        *folder = 1;
        out[--o] = '\0';
    }
    if (o == 0)
        *folder = 1; /* the mount's folder itself */
    return mst__static_segments_ok(out) ? 0 : -1;
}
