/* http_mime.c - the content types the daemon serves files with.  Pages are
 * HTML, CSS and JavaScript modules with their images, fonts and data; a
 * browser refuses a module whose type is not JavaScript, and nosniff makes
 * it refuse a stylesheet that is not text/css, so these must be exact. */
#include "http_mime.h"

#include <string.h>
#include <strings.h>

static const struct {
    const char *ext;
    struct mst__mime mime;
} types[] = {
    {"html", {"text/html; charset=utf-8", 1}},
    {"htm", {"text/html; charset=utf-8", 1}},
    {"css", {"text/css; charset=utf-8", 1}},
    {"js", {"text/javascript; charset=utf-8", 1}},
    {"mjs", {"text/javascript; charset=utf-8", 1}},
    {"json", {"application/json", 1}},
    {"map", {"application/json", 1}},
    {"webmanifest", {"application/manifest+json", 1}},
    {"svg", {"image/svg+xml", 1}},
    {"txt", {"text/plain; charset=utf-8", 1}},
    {"csv", {"text/csv; charset=utf-8", 1}},
    {"png", {"image/png", 0}},
    {"jpg", {"image/jpeg", 0}},
    {"jpeg", {"image/jpeg", 0}},
    {"webp", {"image/webp", 0}},
    {"gif", {"image/gif", 0}},
    {"ico", {"image/vnd.microsoft.icon", 0}},
    {"woff2", {"font/woff2", 0}},
    {"woff", {"font/woff", 0}},
    {"pb", {"text/plain; charset=utf-8", 1}},
};

static const struct mst__mime octet = {"application/octet-stream", 0};

const struct mst__mime *mst__mime_of(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash + 1 : name, '.');
    if (!dot)
        return &octet;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(dot + 1, types[i].ext) == 0)
            return &types[i].mime;
    return &octet;
}
