/* logo.c - the town's logo: read once at start, recognised by its first
 * bytes (never by its name alone), at most WEB_LOGO_MAX bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web.h"

/* An SVG file starts with "<svg", or with an XML declaration, comments or a
 * doctype before it: "<svg" within its first kilobyte, and no NUL byte. */
static int looks_like_svg(const unsigned char *data, size_t len)
{
    size_t n = len < 1024 ? len : 1024;
    if (memchr(data, '\0', n))
        return 0;
    for (size_t i = 0; i + 4 <= n; i++)
        if (data[i] == '<' && strncasecmp((const char *)data + i + 1, "svg", 3) == 0)
            return 1;
    return 0;
}

const char *web_logo_sniff(const unsigned char *data, size_t len)
{
    if (len >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (len >= 3 && memcmp(data, "\xff\xd8\xff", 3) == 0)
        return "image/jpeg";
    if (len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
        return "image/webp";
    if (looks_like_svg(data, len))
        return "image/svg+xml";
    return NULL;
}

/* The type the file name says, or NULL. */
static const char *type_of_name(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return NULL;
    if (!strcasecmp(dot, ".png"))
        return "image/png";
    if (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"))
        return "image/jpeg";
    if (!strcasecmp(dot, ".webp"))
        return "image/webp";
    if (!strcasecmp(dot, ".svg"))
        return "image/svg+xml";
    return NULL;
}

int web_logo_load(const char *path, struct web_logo *logo, char *why, size_t why_len)
{
    int rc = 0;
    unsigned char *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
        return errno == ENOENT ? MST_ENOENT : MST_EIO;
    }
    data = malloc(WEB_LOGO_MAX + 1);
    if (!data) {
        rc = MST_ENOMEM;
        goto out;
    }
    size_t len = fread(data, 1, WEB_LOGO_MAX + 1, f);
    if (ferror(f)) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
        rc = MST_EIO;
        goto out;
    }
    if (len > WEB_LOGO_MAX) {
        snprintf(why, why_len, "%s is larger than %d KiB: a logo for a header 40 px high needs far less "
                 "(an SVG, or a PNG of 160 x 160 px)", path, WEB_LOGO_MAX / 1024);
        rc = MST_ETOOBIG;
        goto out;
    }
    const char *type = web_logo_sniff(data, len), *named = type_of_name(path);
    if (!type || type != named) {
        snprintf(why, why_len, "%s is %s%s; the logo must be a PNG, SVG, JPEG or WebP file named so", path,
                 type ? "a file of type " : "not an image the pages can show", type ? type : "");
        rc = MST_EINVAL;
        goto out;
    }
    logo->data = data, logo->len = len, logo->type = type;
    web_etag(data, len, logo->etag);
    data = NULL;
out:
    free(data);
    fclose(f);
    return rc;
}

void web_logo_free(struct web_logo *logo)
{
    free(logo->data);
    memset(logo, 0, sizeof *logo);
}
