/* render.c - /api/web/config and /api/web/theme.css, rendered once at
 * init, and answers with a strong ETag (304 when the browser has it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <mestys/cjson.h>

#include "web.h"

/* The first 8 bytes of SHA-256: names the content, changes with it. */
void web_etag(const void *data, size_t len, char out[WEB_ETAG_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n < 8)
        memset(md, 0, 8);
    snprintf(out, WEB_ETAG_LEN, "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", md[0], md[1], md[2], md[3], md[4], md[5],
             md[6], md[7]);
}

/* If-None-Match lists etag (or is "*"); a weak W/ form matches too (RFC 9110 13.1.2). */
static int not_modified(const char *if_none_match, const char *etag)
{
    if (!if_none_match)
        return 0;
    if (strcmp(if_none_match, "*") == 0)
        return 1;
    return strstr(if_none_match, etag) != NULL;
}

void web_respond(struct web *w, mst_http_request *req, const char *type, const void *body, size_t len,
                 const char *etag)
{
    const struct mst_host *h = w->host;
    h->metric_add(w->m_requests, 1);
    h->http_set_header(req, "ETag", etag);
    /* revalidate every time: a new logo or colour shows at once, a 304 keeps it cheap */
    h->http_set_header(req, "Cache-Control", "no-cache");
    h->http_set_header(req, "X-Content-Type-Options", "nosniff");
    if (not_modified(h->http_header(req, "if-none-match"), etag)) {
        h->metric_add(w->m_not_modified, 1);
        h->http_respond(req, 304, NULL, NULL, 0);
        return;
    }
    h->http_respond(req, 200, type, body, len);
}

static cJSON *text_pair(const char *cs, const char *en)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "cs", cs);
    cJSON_AddStringToObject(o, "en", en);
    return o;
}

static char *render_config(const struct web *w)
{
    const struct web_conf *c = &w->conf;
    char brand[8], brand_text[8], accent[8];
    web_color_format(c->brand, brand), web_color_format(c->brand_text, brand_text);
    web_color_format(c->accent, accent);
    cJSON *o = cJSON_CreateObject(), *town = cJSON_AddObjectToObject(o, "town");
    cJSON_AddItemToObject(town, "name", text_pair(c->town_cs, c->town_en));
    cJSON *colors = cJSON_AddObjectToObject(o, "colors");
    cJSON_AddStringToObject(colors, "brand", brand);
    cJSON_AddStringToObject(colors, "brand_text", brand_text);
    cJSON_AddStringToObject(colors, "accent", accent);
    if (w->logo.data) {
        /* the ETag in the URL: a new logo is a new URL, wherever it was kept */
        char url[64];
        snprintf(url, sizeof url, "/api/%s/logo?v=%.16s", w->host->instance_name(w->inst), w->logo.etag + 1);
        cJSON_AddStringToObject(o, "logo", url);
    } else {
        cJSON_AddNullToObject(o, "logo");
    }
    cJSON *tiles = cJSON_AddObjectToObject(o, "tiles");
    cJSON_AddStringToObject(tiles, "url", c->tiles_url);
    cJSON_AddStringToObject(tiles, "attribution", c->tiles_attribution);
    if (c->tiles_attribution_url)
        cJSON_AddStringToObject(tiles, "attribution_url", c->tiles_attribution_url);
    else
        cJSON_AddNullToObject(tiles, "attribution_url");
    cJSON_AddNumberToObject(tiles, "max_zoom", (double)c->max_zoom);
    cJSON_AddStringToObject(o, "default_lang", c->default_lang);
    const char *langs[] = {"cs", "en"};
    cJSON_AddItemToObject(o, "languages", cJSON_CreateStringArray(langs, 2));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static char *render_theme(const struct web_conf *c)
{
    char brand[8], brand_text[8], accent[8];
    web_color_format(c->brand, brand), web_color_format(c->brand_text, brand_text);
    web_color_format(c->accent, accent);
    char *css = NULL;
    if (asprintf(&css, "/* the town's colours (plugins[web].config.colors); layout is in /lib/site.css */\n"
                       ":root {\n  --brand: %s;\n  --brand-text: %s;\n  --accent: %s;\n}\n",
                 brand, brand_text, accent) < 0)
        return NULL;
    return css;
}

int web_render(struct web *w)
{
    w->config_body = render_config(w);
    w->theme_body = render_theme(&w->conf);
    if (!w->config_body || !w->theme_body)
        return MST_ENOMEM;
    web_etag(w->config_body, strlen(w->config_body), w->config_etag);
    web_etag(w->theme_body, strlen(w->theme_body), w->theme_etag);
    return 0;
}
