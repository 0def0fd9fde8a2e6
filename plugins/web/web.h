/* web.h - the town's pages: the shell (home page, the /lib modules, site.css,
 * service worker) mounted at "/", and the few routes that brand it.
 *   plugin.c   lifecycle, config table, routes
 *   config.c   the config read into struct web_conf; the checks `mestys check` runs
 *   color.c    hex colours and their WCAG contrast
 *   tiles.c    the tile URL template and the origin the CSP must allow
 *   logo.c     the town's logo file: type from its first bytes, size limit
 *   render.c   /api/web/config and /api/web/theme.css, rendered once; ETag answers */
#ifndef WEB_WEB_H
#define WEB_WEB_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <mestys/mestys.h>

#define WEB_LOGO_MAX (256 * 1024) /* bytes: a logo, not a photograph */
#define WEB_ETAG_LEN 20           /* "\"" + 16 hex + "\"" + NUL, rounded up */

/* A colour as #rrggbb. */
struct web_color {
    uint8_t r, g, b;
};

/* The config, read and checked. */
struct web_conf {
    const char *town_cs, *town_en; /* en falls back to cs */
    struct web_color brand, brand_text, accent;
    const char *logo;           /* a file path, or NULL */
    const char *tiles_url, *tiles_attribution, *tiles_attribution_url;
    int64_t max_zoom;
    const char *default_lang;
    char img_src[256];          /* the tile server's origin for the CSP (e.g. https + "*." + tile.example.org) */
};

/* A logo read into memory. */
struct web_logo {
    unsigned char *data;
    size_t len;
    const char *type; /* image/png, image/svg+xml, image/jpeg, image/webp */
    char etag[WEB_ETAG_LEN];
};

struct web {
    mst_instance *inst;
    const struct mst_host *host;
    cJSON *json;                /* the instance's config; web_conf's strings point into it */
    struct web_conf conf;
    struct web_logo logo;
    char *config_body, *theme_body;
    char config_etag[WEB_ETAG_LEN], theme_etag[WEB_ETAG_LEN];
    mst_metric *m_requests, *m_not_modified;
};

/* config.c: reads `json` (the instance's config with defaults filled in)
 * into conf; on a problem writes the key's path and a sentence and returns
 * MST_EINVAL. */
int web_config_read(const cJSON *json, struct web_conf *conf, char *path, size_t path_len, char *msg, size_t msg_len);
int web_plugin_check(const char *config, char *path, size_t path_len, char *msg, size_t msg_len);

/* color.c */
int web_color_parse(const char *text, struct web_color *out);
void web_color_format(struct web_color c, char out[8]);
double web_contrast(struct web_color a, struct web_color b);

/* tiles.c: checks a tile URL template and writes the origin the CSP must
 * allow; 0, or MST_EINVAL with a sentence in why. */
int web_tiles_origin(const char *url, char *origin, size_t origin_len, char *why, size_t why_len);

/* logo.c: reads and recognises the file; 0, MST_ENOENT, MST_ETOOBIG (over
 * WEB_LOGO_MAX), MST_EINVAL (not an image of the four types, or an
 * extension that says another); why says which. */
int web_logo_load(const char *path, struct web_logo *logo, char *why, size_t why_len);
/* The type the first bytes say, or NULL. */
const char *web_logo_sniff(const unsigned char *data, size_t len);
void web_logo_free(struct web_logo *logo);

/* render.c */
void web_etag(const void *data, size_t len, char out[WEB_ETAG_LEN]);
int web_render(struct web *w);
/* Answers body with its ETag, or 304 when If-None-Match has it. */
void web_respond(struct web *w, mst_http_request *req, const char *type, const void *body, size_t len,
                 const char *etag);

#endif /* WEB_WEB_H */
