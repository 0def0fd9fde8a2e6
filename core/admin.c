/* admin.c - the routes the core owns: /, /health, /metrics, /api/admin/... */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mestys/mestys.h>

#include "daemon.h"
#include "http_static.h"
#include "log.h"
#include "trust_report.h"
#include "util.h"

#ifndef MESTYS_DOC_DIR
#define MESTYS_DOC_DIR "/usr/local/share/doc/mestys"
#endif

static const char *module_kind(const struct mst__module *m)
{
    return m->kind == MST__MODULE_LUA ? "lua" : "so";
}

static void health(void *arg, mst_http_request *req)
{
    struct mst__daemon *d = arg;
    struct mst__buf b = {0};
    int degraded = 0;
    struct mst__list *pos;
    mst__buf_puts(&b, "{\"node\":");
    mst__buf_json_string(&b, d->cfg->node_name);
    mst__buf_printf(&b, ",\"version\":\"%s\",\"uptime_s\":%.3f,\"instances\":[", MST_VERSION_STRING,
                    (double)(uv_now(&d->loop) - d->started_ms) / 1000.0);
    for (pos = d->instances.next; pos != &d->instances; pos = pos->next) {
        struct mst_instance *inst = mst__container_of(pos, struct mst_instance, link);
        if (inst->state_kind != MST__INST_RUNNING)
            degraded = 1;
        mst__buf_printf(&b, "%s{\"name\":", pos == d->instances.next ? "" : ",");
        mst__buf_json_string(&b, inst->name);
        mst__buf_puts(&b, ",\"plugin\":");
        mst__buf_json_string(&b, inst->plugin->name);
        mst__buf_puts(&b, ",\"version\":");
        mst__buf_json_string(&b, inst->plugin->version);
        mst__buf_printf(&b, ",\"kind\":\"%s\",\"state\":\"%s\",\"required\":%s", module_kind(inst->module),
                        mst__instance_state_name(inst->state_kind), inst->required ? "true" : "false");
        if (inst->error) {
            mst__buf_puts(&b, ",\"error\":");
            mst__buf_json_string(&b, inst->error);
        }
        mst__trust_report_instance(inst, &b);
        if (inst->problem && inst->state_kind == MST__INST_RUNNING) {
            degraded = 1;
            mst__buf_puts(&b, ",\"problem\":");
            mst__buf_json_string(&b, inst->problem);
        }
        mst__buf_puts(&b, "}");
    }
    mst__buf_puts(&b, "]");
    degraded |= mst__trust_report_node(d, &b, (int64_t)time(NULL));
    mst__buf_printf(&b, ",\"status\":\"%s\"}\n", degraded ? "degraded" : "ok");
    mst__http_set_header(req, "Cache-Control", "no-store");
    mst__http_respond(req, 200, "application/json", b.data, b.len);
    mst__buf_free(&b);
}

/* GET /: the index.html of the folder mounted at "/" (the web plugin's
 * pages) if there is one; else a page a person can read.  No external
 * resources.  Node and instance names are [A-Za-z0-9_-] (checked with the
 * config), so they go into the HTML as they are. */
static void front_page(void *arg, mst_http_request *req)
{
    struct mst__daemon *d = arg;
    if (mst__static_serve(&d->http, req))
        return;
    struct mst__buf b = {0}, datasets = {0};
    size_t n = 0;
    int degraded = 0;
    struct mst__list *pos;
    for (pos = d->instances.next; pos != &d->instances; pos = pos->next, n++) {
        struct mst_instance *inst = mst__container_of(pos, struct mst_instance, link);
        degraded |= inst->state_kind != MST__INST_RUNNING;
        char *path = mst__route_path(inst->name, "datasets");
        if (inst->state_kind == MST__INST_RUNNING && mst__http_has_route(&d->http, "GET", path))
            mst__buf_printf(&datasets, "<li><a href=\"%s\">%s</a> (%s)</li>\n", path, inst->name,
                            inst->plugin->name);
        free(path);
    }
    mst__buf_printf(&b,
                    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<title>%s \xe2\x80\x94 m\xc4\x9bstys</title>\n</head>\n<body>\n"
                    "<h1>%s</h1>\n<p>A m\xc4\x9bstys node, version %s: %zu plugin instance(s), %s.</p>\n"
                    "<ul>\n<li><a href=\"/health\">/health</a> \xe2\x80\x94 the node and its instances (JSON)</li>\n"
                    "<li><a href=\"/metrics\">/metrics</a> \xe2\x80\x94 counters (Prometheus text)</li>\n</ul>\n",
                    d->cfg->node_name, d->cfg->node_name, MST_VERSION_STRING, n,
                    degraded ? "some not running" : "all running");
    if (datasets.len)
        mst__buf_printf(&b, "<h2>Open data</h2>\n<ul>\n%s</ul>\n", datasets.data);
    mst__buf_puts(&b, "<h2>Documentation</h2>\n<p>The HTTP API is described in <code>http.md</code>, "
                      "the config in <code>config.md</code> (and <code>man mestys.json</code>), each plugin in "
                      "<code>plugins/</code>, installed with m\xc4\x9bstys in <code>" MESTYS_DOC_DIR
                      "</code> (<code>docs/</code> of the sources).</p>\n</body>\n</html>\n");
    mst__http_set_header(req, "Cache-Control", "no-store");
    mst__static_page_headers(&d->http, req);
    mst__http_respond(req, 200, "text/html; charset=utf-8", b.data, b.len);
    mst__buf_free(&datasets);
    mst__buf_free(&b);
}

static void metrics(void *arg, mst_http_request *req)
{
    struct mst__daemon *d = arg;
    struct mst__buf b = {0};
    mst__trust_report_metrics(d, (int64_t)time(NULL));
    mst__metrics_render(&d->metrics, &b);
    mst__http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    mst__buf_free(&b);
}

static void topics_json(struct mst__buf *b, const char *key, const char *const *list)
{
    mst__buf_printf(b, ",\"%s\":[", key);
    for (size_t i = 0; list && list[i]; i++) {
        if (i)
            mst__buf_puts(b, ",");
        mst__buf_json_string(b, list[i]);
    }
    mst__buf_puts(b, "]");
}

/* The instance's config with every key the schema marks secret blanked. */
static void redact(cJSON *obj, const struct mst_config_key *keys)
{
    for (const struct mst_config_key *k = keys; k && k->key; k++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, k->key);
        if (!v)
            continue;
        if (k->flags & MST_CFG_SECRET)
            cJSON_ReplaceItemInObjectCaseSensitive(obj, k->key, cJSON_CreateString("(secret)"));
        else if (k->fields && cJSON_IsObject(v))
            redact(v, k->fields);
        else if (k->fields && cJSON_IsArray(v)) {
            cJSON *it;
            cJSON_ArrayForEach(it, v) redact(it, k->fields);
        }
    }
}

static void plugins(void *arg, mst_http_request *req)
{
    struct mst__daemon *d = arg;
    struct mst__buf b = {0};
    mst__buf_puts(&b, "{\"instances\":[");
    struct mst__list *pos;
    for (pos = d->instances.next; pos != &d->instances; pos = pos->next) {
        struct mst_instance *inst = mst__container_of(pos, struct mst_instance, link);
        const struct mst_plugin *p = inst->plugin;
        mst__buf_printf(&b, "%s{\"name\":", pos == d->instances.next ? "" : ",");
        mst__buf_json_string(&b, inst->name);
        mst__buf_puts(&b, ",\"plugin\":");
        mst__buf_json_string(&b, p->name);
        mst__buf_puts(&b, ",\"version\":");
        mst__buf_json_string(&b, p->version);
        mst__buf_puts(&b, ",\"description\":");
        mst__buf_json_string(&b, p->description ? p->description : "");
        mst__buf_puts(&b, ",\"file\":");
        mst__buf_json_string(&b, inst->module->path);
        mst__buf_printf(&b, ",\"kind\":\"%s\",\"abi\":%u,\"state\":\"%s\"", module_kind(inst->module),
                        p->abi_version, mst__instance_state_name(inst->state_kind));
        topics_json(&b, "publishes", p->publishes);
        topics_json(&b, "subscribes", p->subscribes);
        topics_json(&b, "serves", p->serves);
        topics_json(&b, "requests", p->requests);
        cJSON *cfg = cJSON_Duplicate(inst->config, 1);
        redact(cfg, p->config);
        char *text = cJSON_PrintUnformatted(cfg);
        mst__buf_printf(&b, ",\"config\":%s}", text);
        free(text);
        cJSON_Delete(cfg);
    }
    mst__buf_puts(&b, "]}\n");
    mst__http_respond(req, 200, "application/json", b.data, b.len);
    mst__buf_free(&b);
}

static void reload(void *arg, mst_http_request *req)
{
    struct mst__daemon *d = arg;
    struct mst__buf why = {0};
    mst__log_info("reload requested over HTTP");
    int rc = mst__daemon_reload(d, &why);
    if (rc == 0) {
        const char ok[] = "{\"reloaded\":true}\n";
        mst__http_respond(req, 200, "application/json", ok, sizeof ok - 1);
    } else {
        while (why.len && why.data[why.len - 1] == '\n')
            why.data[--why.len] = '\0';
        mst__http_error(req, rc == MST_ECONFIG ? 400 : 500, "reload refused, nothing changed: %s", why.data);
    }
    mst__buf_free(&why);
}

void mst__admin_register(struct mst__daemon *d)
{
    mst__http_route(&d->http, d, "GET", "/", MST_ROLE_PUBLIC, front_page, d);
    mst__http_route(&d->http, d, "GET", "/health", MST_ROLE_PUBLIC, health, d);
    mst__http_route(&d->http, d, "GET", "/metrics", MST_ROLE_PUBLIC, metrics, d);
    mst__http_route(&d->http, d, "GET", "/api/pages", MST_ROLE_PUBLIC, mst__static_pages_route, &d->http);
    mst__http_route(&d->http, d, "GET", "/api/admin/plugins", MST_ROLE_ADMIN, plugins, d);
    mst__http_route(&d->http, d, "POST", "/api/admin/reload", MST_ROLE_ADMIN, reload, d);
}
