/*
 * web - the town's pages.  Mounts the shell (home page, the /lib modules,
 * /lib/site.css, the service worker, the vendor libraries) at "/", and
 * answers the few routes that brand every page: /api/web/config (name,
 * colours, logo, map tiles, languages), /api/web/theme.css (the colours as
 * CSS custom properties), /api/web/logo, and /api/web/session (is this
 * operator token good?).  Other plugins add their own pages beside it with
 * host->http_static and a pages.json (docs/web.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/cjson.h>

#include "web.h"

static const struct mst_config_key name_keys[] = {
    {.key = "cs", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 1, .max = 120,
     .description = "the town's name in Czech, as the header shows it"},
    {.key = "en", .type = MST_CFG_STRING, .flags = MST_CFG_HAS_RANGE, .min = 1, .max = 120,
     .description = "the name in English (default: the Czech one)"},
    {0},
};

static const struct mst_config_key town_keys[] = {
    {.key = "name", .type = MST_CFG_OBJECT, .flags = MST_CFG_REQUIRED, .fields = name_keys,
     .description = "{\"cs\": \"Dolní Lhota\", \"en\": \"Dolní Lhota\"}"},
    {0},
};

static const struct mst_config_key color_keys[] = {
    {.key = "brand", .type = MST_CFG_STRING, .default_json = "\"#1f4e79\"",
     .description = "the header's and primary buttons' colour (#rrggbb)"},
    {.key = "brand_text", .type = MST_CFG_STRING, .default_json = "\"#ffffff\"",
     .description = "text on the brand colour; at least 4.5:1 against it (checked)"},
    {.key = "accent", .type = MST_CFG_STRING, .default_json = "\"#b3470b\"",
     .description = "bars, card edges, the current page's mark; at least 3:1 on white (checked)"},
    {0},
};

static const struct mst_config_key tiles_keys[] = {
    {.key = "url", .type = MST_CFG_STRING, .default_json = "\"https://tile.openstreetmap.org/{z}/{x}/{y}.png\"",
     .description = "the map's tile URL template: https://, {z}/{x}/{y}, optional {s} as the host's first label "
                    "(OpenStreetMap's own server by default: light use only, see docs/web.md)"},
    {.key = "attribution", .type = MST_CFG_STRING, .flags = MST_CFG_HAS_RANGE, .min = 1, .max = 300,
     .description = "the text the tile server's terms ask the map to show (plain text); required when url is set"},
    {.key = "attribution_url", .type = MST_CFG_STRING,
     .description = "where the attribution links to (e.g. https://www.openstreetmap.org/copyright)"},
    {.key = "max_zoom", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "19", .min = 1, .max = 22,
     .description = "the highest zoom level the tile server has"},
    {0},
};

static const struct mst_config_key config[] = {
    {.key = "town", .type = MST_CFG_OBJECT, .flags = MST_CFG_REQUIRED, .fields = town_keys,
     .description = "the town: {\"name\": {\"cs\", \"en\"}}"},
    {.key = "colors", .type = MST_CFG_OBJECT, .fields = color_keys, .description = "the town's colours"},
    {.key = "logo", .type = MST_CFG_STRING,
     .description = "the logo file (.png, .svg, .jpg, .webp; at most 256 KiB): an absolute path, or relative to "
                    "the daemon's working directory"},
    {.key = "tiles", .type = MST_CFG_OBJECT, .fields = tiles_keys, .description = "the map's tile server"},
    {.key = "default_lang", .type = MST_CFG_STRING, .default_json = "\"cs\"", .choices = "cs|en",
     .description = "the pages' language until a visitor picks one"},
    {0},
};

static void on_config(void *arg, mst_http_request *req)
{
    struct web *w = arg;
    web_respond(w, req, "application/json", w->config_body, strlen(w->config_body), w->config_etag);
}

static void on_theme(void *arg, mst_http_request *req)
{
    struct web *w = arg;
    web_respond(w, req, "text/css; charset=utf-8", w->theme_body, strlen(w->theme_body), w->theme_etag);
}

static void on_logo(void *arg, mst_http_request *req)
{
    struct web *w = arg;
    if (!w->logo.data) {
        w->host->metric_add(w->m_requests, 1);
        mst_http_respond_error(w->host, req, 404, "this town has no logo configured (plugins[web].config.logo)");
        return;
    }
    /* an SVG opened on its own must not run script on the daemon's origin */
    w->host->http_set_header(req, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    web_respond(w, req, w->logo.type, w->logo.data, w->logo.len, w->logo.etag);
}

/* The clerk pages' token check: the core has refused a token without the operator role already. */
static void on_session(void *arg, mst_http_request *req)
{
    struct web *w = arg;
    w->host->metric_add(w->m_requests, 1);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "role", w->host->http_role(req) == MST_ROLE_ADMIN ? "admin" : "operator");
    w->host->http_set_header(req, "Cache-Control", "no-store");
    mst_http_respond_json(w->host, req, 200, o);
}

static int routes(struct web *w)
{
    const struct mst_host *h = w->host;
    int rc = h->http_route(w->inst, "GET", "config", MST_ROLE_PUBLIC, on_config, w);
    if (rc == 0)
        rc = h->http_route(w->inst, "GET", "theme.css", MST_ROLE_PUBLIC, on_theme, w);
    if (rc == 0)
        rc = h->http_route(w->inst, "GET", "logo", MST_ROLE_PUBLIC, on_logo, w);
    if (rc == 0)
        rc = h->http_route(w->inst, "GET", "session", MST_ROLE_OPERATOR, on_session, w);
    if (rc == 0) {
        struct mst_http_static_opts opts = {.struct_size = sizeof opts, .img_src = w->conf.img_src};
        rc = h->http_static(w->inst, "", "web", &opts);
        if (rc != 0)
            h->log(w->inst, MST_LOG_ERROR, "cannot serve the pages at /: %s (%s)", mst_strerror(rc),
                   rc == MST_ENOENT ? "the www/web folder is missing: build the web_www target, or install"
                   : rc == MST_EEXIST ? "another instance serves \"/\"" : "see the tile URL");
    }
    return rc;
}

static void web_fini(void *state);

static int read_config(struct web *w)
{
    char *text = w->host->config_json(w->inst, "");
    w->json = text ? cJSON_Parse(text) : NULL;
    w->host->free(text);
    if (!w->json)
        return MST_ENOMEM;
    char path[64], msg[512];
    int rc = web_config_read(w->json, &w->conf, path, sizeof path, msg, sizeof msg);
    if (rc != 0) {
        w->host->log(w->inst, MST_LOG_ERROR, "%s: %s", path, msg);
        return rc;
    }
    if (w->conf.logo && (rc = web_logo_load(w->conf.logo, &w->logo, msg, sizeof msg)) != 0)
        w->host->log(w->inst, MST_LOG_ERROR, "logo: %s", msg);
    return rc;
}

static int web_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    if (!MST_HOST_HAS(host, http_static))
        return MST_ENOTSUP;
    /* the pages ask /api/web/...: another name would leave them without their config */
    if (strcmp(host->instance_name(inst), "web") != 0) {
        host->log(inst, MST_LOG_ERROR, "the web plugin's instance must be named \"web\" (the pages read "
                                       "/api/web/config); rename \"%s\"", host->instance_name(inst));
        return MST_EINVAL;
    }
    struct web *w = calloc(1, sizeof *w);
    if (!w)
        return MST_ENOMEM;
    w->inst = inst;
    w->host = host;
    const struct mst_metric_def m[] = {
        {MST_METRIC_COUNTER, "requests_total", "requests to /api/web/*", &w->m_requests},
        {MST_METRIC_COUNTER, "not_modified_total", "requests answered 304", &w->m_not_modified},
    };
    int rc = read_config(w);
    if (rc == 0)
        rc = web_render(w);
    if (rc == 0)
        rc = mst_metrics_register(host, inst, m, sizeof m / sizeof m[0]);
    if (rc == 0)
        rc = routes(w);
    if (rc != 0) {
        web_fini(w);
        return rc;
    }
    *state = w;
    return 0;
}

static int web_start(void *state)
{
    (void)state;
    return 0;
}

static void web_stop(void *state)
{
    (void)state;
}

static void web_fini(void *state)
{
    struct web *w = state;
    web_logo_free(&w->logo);
    cJSON_free(w->config_body);
    free(w->theme_body);
    cJSON_Delete(w->json);
    free(w);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "web",
    .version = "0.1.0",
    .description = "the town's pages: the shell at /, its branding (name, colours, logo) and the map's tile server",
    .config = config,
    .init = web_init,
    .start = web_start,
    .stop = web_stop,
    .fini = web_fini,
    .check = web_plugin_check,
};
