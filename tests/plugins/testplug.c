/* testplug - the plugin the core's tests drive: it echoes bus messages,
 * serves test/echo, and mounts HTTP routes for each role. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/mestys.h>

struct testplug {
    mst_instance *inst;
    const struct mst_host *host;
    int received;
};

static const struct mst_config_key nested[] = {
    {.key = "flag", .type = MST_CFG_BOOL, .default_json = "false", .description = "a nested flag"},
    {0},
};

static const struct mst_config_key config[] = {
    {.key = "label", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED, .description = "a label"},
    {.key = "interval_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "1000",
     .min = 10, .max = 60000, .description = "an interval"},
    {.key = "mode", .type = MST_CFG_STRING, .default_json = "\"fast\"", .choices = "fast|slow"},
    {.key = "password", .type = MST_CFG_STRING, .flags = MST_CFG_SECRET, .description = "a secret"},
    {.key = "nested", .type = MST_CFG_OBJECT, .fields = nested},
    {.key = "serve_echo", .type = MST_CFG_BOOL, .default_json = "true",
     .description = "serve test/echo (only one instance may)"},
    {0},
};

static const char *const publishes[] = {"test/out", "test/echo-events/#", NULL};
static const char *const subscribes[] = {"test/in", NULL};
static const char *const serves[] = {"test/echo", NULL};

static void on_in(void *arg, const char *topic, const char *body, size_t len)
{
    struct testplug *t = arg;
    t->received++;
    t->host->publish(t->inst, "test/out", body, len);
}

static void on_echo(void *arg, mst_request *req, const char *topic, const char *body, size_t len)
{
    struct testplug *t = arg;
    t->host->respond(req, 0, body, len);
}

static void route_echo(void *arg, mst_http_request *req)
{
    struct testplug *t = arg;
    size_t len;
    const void *body = t->host->http_body(req, &len);
    t->host->http_set_header(req, "X-Echo-Path", t->host->http_subpath(req));
    t->host->http_respond(req, 200, "application/octet-stream", body, len);
}

static void route_info(void *arg, mst_http_request *req)
{
    struct testplug *t = arg;
    char buf[512];
    const char *c = t->host->http_query_param(req, "c");
    int n = snprintf(buf, sizeof buf, "{\"label\":\"%s\",\"received\":%d,\"query\":\"%s\",\"c\":\"%s\"}",
                     t->host->config_string(t->inst, "label"), t->received, t->host->http_query(req),
                     c ? c : "");
    t->host->http_respond(req, 200, "application/json", buf, (size_t)n);
}

static void route_forbidden_topic(void *arg, mst_http_request *req)
{
    struct testplug *t = arg;
    int rc = t->host->publish(t->inst, "voting/ballot", "{}", 2);
    const char *name = mst_err_name(rc);
    t->host->http_respond(req, 200, "text/plain", name, strlen(name));
}

static void ws_open(void *arg, mst_ws_conn *conn, const char *path)
{
    struct testplug *t = arg;
    char hello[256];
    int n = snprintf(hello, sizeof hello, "hello %s", path);
    t->host->ws_send(conn, hello, (size_t)n, 0);
}

static void ws_message(void *arg, mst_ws_conn *conn, const void *data, size_t len, int binary)
{
    struct testplug *t = arg;
    if (len == 5 && memcmp(data, "close", 5) == 0) {
        t->host->ws_close(conn);
        return;
    }
    t->host->ws_send(conn, data, len, binary); /* echo, text stays text */
}

static const struct mst_ws_handlers ws_handlers = {
    .struct_size = sizeof(struct mst_ws_handlers),
    .open = ws_open,
    .message = ws_message,
};

static int tp_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct testplug *t = calloc(1, sizeof *t);
    t->inst = inst;
    t->host = host;
    int rc = 0;
    rc |= host->subscribe(inst, "test/in", on_in, t);
    int serve_echo = 1;
    host->config_bool(inst, "serve_echo", &serve_echo);
    if (serve_echo)
        rc |= host->serve(inst, "test/echo", on_echo, t);
    rc |= host->http_route(inst, "POST", "echo/*", MST_ROLE_OPERATOR, route_echo, t);
    rc |= host->http_route(inst, "GET", "info", MST_ROLE_PUBLIC, route_info, t);
    rc |= host->http_route(inst, "GET", "admin", MST_ROLE_ADMIN, route_info, t);
    rc |= host->http_route(inst, "GET", "forbidden-topic", MST_ROLE_PUBLIC, route_forbidden_topic, t);
    rc |= host->ws_endpoint(inst, "ws/*", NULL, MST_ROLE_PUBLIC, &ws_handlers, t);
    rc |= host->ws_endpoint(inst, "ocpp/*", "ocpp1.6", MST_ROLE_OPERATOR, &ws_handlers, t);
    if (rc != 0) {
        free(t);
        return MST_EINVAL;
    }
    *state = t;
    return 0;
}

static void tp_fini(void *state)
{
    free(state);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "testplug",
    .version = "0.0.1",
    .description = "echoes test/in to test/out, serves test/echo",
    .config = config,
    .publishes = publishes,
    .subscribes = subscribes,
    .serves = serves,
    .init = tp_init,
    .fini = tp_fini,
};
