/* config.c - the config read into struct web_conf, and what a schema table
 * cannot say: colours that are colours, text on the brand colour that can
 * be read (WCAG 2.1 AA: 4.5:1), a tile URL Leaflet and the CSP can use, and
 * the attribution its terms ask for. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "web.h"

#define OSM_TILES "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
#define OSM_ATTRIBUTION "© OpenStreetMap contributors"
#define OSM_COPYRIGHT "https://www.openstreetmap.org/copyright"
#define TEXT_CONTRAST 4.5 /* WCAG 2.1 SC 1.4.3, normal text */
#define UI_CONTRAST 3.0   /* WCAG 2.1 SC 1.4.11, bars and borders on white */

static int fail(struct web_problem *p, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct web_problem *p, const char *path, const char *fmt, ...)
{
    va_list ap;
    snprintf(p->path, sizeof p->path, "%s", path);
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
    return MST_EINVAL;
}

/* "a.b.c" read through nested objects; NULL unless a non-empty string */
static const char *str_at(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    if (c)
        v = cJSON_GetObjectItemCaseSensitive(v, c);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static int color(struct web_problem *p, const cJSON *json, const char *key, struct web_color *out)
{
    char path[32];
    snprintf(path, sizeof path, "colors.%s", key);
    const char *text = str_at(json, "colors", key, NULL);
    if (!text || web_color_parse(text, out) != 0)
        return fail(p, path, "\"%s\" is not a colour: write it as #rrggbb or #rgb (e.g. #1f4e79)", text ? text : "");
    return 0;
}

/* A ratio to two decimals, rounded down where rounding would reach the
 * limit it failed: 4.499 never reads as "4.50". */
static double shown(double v, double limit)
{
    double r = round(v * 100) / 100;
    return r >= limit ? floor(v * 100) / 100 : r;
}

static int colors(struct web_problem *p, const cJSON *json, struct web_conf *c)
{
    int rc = color(p, json, "brand", &c->brand);
    if (rc == 0)
        rc = color(p, json, "brand_text", &c->brand_text);
    if (rc == 0)
        rc = color(p, json, "accent", &c->accent);
    if (rc != 0)
        return rc;
    char a[8], b[8];
    double ratio = web_contrast(c->brand, c->brand_text);
    if (ratio < TEXT_CONTRAST) {
        web_color_format(c->brand, a), web_color_format(c->brand_text, b);
        return fail(p, "colors.brand_text",
                    "colors.brand %s and colors.brand_text %s have a contrast of %.2f:1; the header's text on the "
                    "brand colour needs at least 4.5:1 (WCAG 2.1 AA): darken one or lighten the other",
                    a, b, shown(ratio, TEXT_CONTRAST));
    }
    static const struct web_color white = {255, 255, 255};
    ratio = web_contrast(c->accent, white);
    if (ratio < UI_CONTRAST) {
        web_color_format(c->accent, a);
        return fail(p, "colors.accent",
                    "colors.accent %s has a contrast of %.2f:1 on the white page; bars and borders drawn in it "
                    "need at least 3:1 (WCAG 2.1 AA, non-text contrast)", a, shown(ratio, UI_CONTRAST));
    }
    return 0;
}

static int tiles(struct web_problem *p, const cJSON *json, struct web_conf *c)
{
    c->tiles_url = str_at(json, "tiles", "url", NULL);
    c->tiles_attribution = str_at(json, "tiles", "attribution", NULL);
    c->tiles_attribution_url = str_at(json, "tiles", "attribution_url", NULL);
    const cJSON *z = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(json, "tiles"), "max_zoom");
    /* the schema keeps it in 1..22 in the daemon; a config read alone (the
     * fuzz target) may hold any double, and converting one out of range is UB */
    c->max_zoom = cJSON_IsNumber(z) && z->valuedouble >= 1 && z->valuedouble <= 22 ? (int64_t)z->valuedouble : 19;
    if (!c->tiles_url || strcmp(c->tiles_url, OSM_TILES) == 0) {
        /* OpenStreetMap's own server: its attribution, unless the town wrote one */
        c->tiles_url = OSM_TILES;
        if (!c->tiles_attribution)
            c->tiles_attribution = OSM_ATTRIBUTION, c->tiles_attribution_url = OSM_COPYRIGHT;
    } else if (!c->tiles_attribution) {
        return fail(p, "tiles.attribution",
                    "tiles.url is set, so tiles.attribution is required: the text the tile server's terms ask "
                    "the map to show (e.g. \"© OpenStreetMap contributors\")");
    }
    char why[256];
    if (web_tiles_origin(c->tiles_url, c->img_src, sizeof c->img_src, why, sizeof why) != 0)
        return fail(p, "tiles.url", "%s; got \"%.120s\"", why, c->tiles_url);
    if (c->tiles_attribution_url && strncmp(c->tiles_attribution_url, "https://", 8) != 0 &&
        strncmp(c->tiles_attribution_url, "http://", 7) != 0)
        return fail(p, "tiles.attribution_url", "\"%.120s\" is not an http(s) address", c->tiles_attribution_url);
    return 0;
}

static int logo(struct web_problem *p, struct web_conf *c)
{
    if (!c->logo)
        return 0;
    const char *dot = strrchr(c->logo, '.');
    static const char *const ext[] = {".png", ".svg", ".jpg", ".jpeg", ".webp"};
    for (size_t i = 0; dot && i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0)
            return 0;
    return fail(p, "logo", "\"%.200s\" is not a logo file the pages can show: .png, .svg, .jpg or .webp", c->logo);
}

int web_config_read(const cJSON *json, struct web_conf *c, struct web_problem *p)
{
    memset(c, 0, sizeof *c);
    c->town_cs = str_at(json, "town", "name", "cs");
    c->town_en = str_at(json, "town", "name", "en");
    if (!c->town_en)
        c->town_en = c->town_cs;
    c->logo = str_at(json, "logo", NULL, NULL);
    c->default_lang = str_at(json, "default_lang", NULL, NULL);
    if (!c->default_lang)
        c->default_lang = "cs";
    if (!c->town_cs)
        return fail(p, "town.name.cs", "the town's name in Czech is required: the pages' header shows it");
    int rc = colors(p, json, c);
    if (rc == 0)
        rc = tiles(p, json, c);
    if (rc == 0)
        rc = logo(p, c);
    return rc;
}

int web_plugin_check(const char *config, char *path, size_t path_len, char *msg, size_t msg_len)
{
    cJSON *json = cJSON_Parse(config);
    struct web_conf c;
    struct web_problem p;
    int rc = json ? web_config_read(json, &c, &p) : MST_ENOMEM;
    if (rc == MST_EINVAL) {
        snprintf(path, path_len, "%s", p.path);
        snprintf(msg, msg_len, "%s", p.msg);
    }
    cJSON_Delete(json);
    return rc;
}
