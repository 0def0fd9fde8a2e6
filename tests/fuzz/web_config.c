/* fuzz_web_config - the web plugin's config block (plugins/web/config.c,
 * color.c, tiles.c) as `mestys check` and the plugin read it, and a logo's
 * first bytes (logo.c).  What is accepted must hold what the pages and the
 * CSP rely on: the header's colours at 4.5:1, the tile server's origin safe
 * to put in every page's img-src, a colour that reads back as itself. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An origin is one CSP source: no separator, quote or control byte. */
static void check_origin(const char *origin)
{
    if (!*origin)
        abort();
    for (const char *p = origin; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p) || strchr(";,'\"", *p))
            abort();
}

static void check_config(const char *text)
{
    cJSON *json = cJSON_Parse(text);
    if (!json)
        return;
    struct web_conf c;
    struct web_problem p;
    int rc = web_config_read(json, &c, &p);
    if (rc == MST_EINVAL && (!p.path[0] || !p.msg[0]))
        abort(); /* a refusal names its key and says why */
    if (rc == 0) {
        if (!c.town_cs || !c.town_en || !c.tiles_url || !c.tiles_attribution || !c.default_lang)
            abort();
        if (web_contrast(c.brand, c.brand_text) < 4.5)
            abort();
        check_origin(c.img_src);
    }
    cJSON_Delete(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    check_config(text);

    struct web_color col;
    if (web_color_parse(text, &col) == 0) {
        char back[8];
        struct web_color again;
        web_color_format(col, back);
        if (web_color_parse(back, &again) != 0 || memcmp(&col, &again, sizeof col) != 0)
            abort();
    }
    char origin[256], why[256];
    if (web_tiles_origin(text, origin, sizeof origin, why, sizeof why) == 0)
        check_origin(origin);

    const char *type = web_logo_sniff(data, size);
    if (type && strncmp(type, "image/", 6) != 0)
        abort();
    free(text);
    return 0;
}
