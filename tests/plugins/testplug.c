/* testplug - the plugin the core's tests drive: it echoes bus messages,
 * serves test/echo, and mounts HTTP routes for each role. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/mestys.h>

/* A charge point on the "cp" endpoint, as the charging plugin will keep
 * one: made by the handshake hook, tied to its connection at open. */
struct station {
    char id[64];
    char cn[128];
    char auth[128];
    mst_ws_conn *conn; /* NULL until open */
    int opened;
};

#define MAX_STATIONS 8192 /* tests/bench/bench_ws_idle.py holds 5,000 */

struct testplug {
    mst_instance *inst;
    const struct mst_host *host;
    int received;
    struct station *online[MAX_STATIONS]; /* the connection that won, per station */
    int closes, closes_before_open, replaced, send_refused;
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
    {.key = "ws_max_message", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "0",
     .min = 0, .max = 1 << 30, .description = "largest message on cp/... (0: the core's default)"},
    {.key = "ws_ping_s", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "0",
     .min = 0, .max = 3600, .description = "ping interval on cp/... (0: none)"},
    {.key = "pages", .type = MST_CFG_STRING, .default_json = "\"\"",
     .description = "a folder to serve at /<instance>/ with http_static (\"\": none)"},
    {.key = "pages_img_src", .type = MST_CFG_STRING, .default_json = "\"\"",
     .description = "img_src of that mount"},
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

/* --- "cp": a handshake hook as the charging plugin uses it -------------- *
 * Station ids start with "CP-"; "refuse-NNN" answers NNN (any number, so
 * the tests see what reaches the client); without a verified client
 * certificate an Authorization header is required. */
static int cp_handshake(void *arg, const struct mst_ws_handshake *hs, void **conn_data)
{
    (void)arg;
    if (strncmp(hs->subpath, "refuse-", 7) == 0)
        return atoi(hs->subpath + 7);
    if (strncmp(hs->subpath, "CP-", 3) != 0 || strlen(hs->subpath) >= sizeof((struct station *)0)->id)
        return 404;
    if (!hs->client_cn && !hs->authorization)
        return 401;
    if (hs->client_cn && strcmp(hs->client_cn, hs->subpath) != 0)
        return 403; /* a station's certificate names that station */
    struct station *st = calloc(1, sizeof *st);
    snprintf(st->id, sizeof st->id, "%s", hs->subpath);
    snprintf(st->cn, sizeof st->cn, "%s", hs->client_cn ? hs->client_cn : "");
    snprintf(st->auth, sizeof st->auth, "%s", hs->authorization ? hs->authorization : "");
    *conn_data = st;
    return 0;
}

static struct station **cp_slot(struct testplug *t, const char *id)
{
    struct station **free_slot = NULL;
    for (int i = 0; i < MAX_STATIONS; i++) {
        if (t->online[i] && strcmp(t->online[i]->id, id) == 0)
            return &t->online[i];
        if (!t->online[i] && !free_slot)
            free_slot = &t->online[i];
    }
    return free_slot;
}

/* What the connection's data says, as JSON: the round trip of ws_data. */
static int cp_describe(struct testplug *t, mst_ws_conn *conn, const char *event, const char *extra, char *buf,
                       size_t len)
{
    const struct station *st = t->host->ws_data(conn);
    return snprintf(buf, len, "{\"event\":\"%s\",\"id\":\"%s\",\"cn\":\"%s\",\"auth\":\"%s\"%s}", event,
                    st ? st->id : "", st ? st->cn : "", st ? st->auth : "", extra);
}

/* The newer connection wins: the older one of the same station is closed
 * from here, and a send to it afterwards must be a clean MST_ECLOSED. */
static void cp_open(void *arg, mst_ws_conn *conn, const char *path)
{
    struct testplug *t = arg;
    struct station *st = t->host->ws_data(conn);
    char extra[128] = "", hello[512];
    st->conn = conn;
    st->opened = 1;
    struct station **slot = cp_slot(t, st->id);
    if (!slot) {
        t->host->ws_close(conn);
        return;
    }
    if (*slot) {
        mst_ws_conn *older = (*slot)->conn;
        t->host->ws_close(older);
        int rc = t->host->ws_send(older, "late", 4, 0);
        snprintf(extra, sizeof extra, ",\"replaced\":true,\"older_send\":\"%s\"", mst_err_name(rc));
        t->replaced++;
    }
    *slot = st;
    int n = cp_describe(t, conn, "open", extra, hello, sizeof hello);
    t->host->ws_send(conn, hello, (size_t)n, 0);
}

static void cp_message(void *arg, mst_ws_conn *conn, const void *data, size_t len, int binary)
{
    struct testplug *t = arg;
    char reply[512];
    if (len == 6 && memcmp(data, "whoami", 6) == 0) {
        int n = cp_describe(t, conn, "whoami", "", reply, sizeof reply);
        t->host->ws_send(conn, reply, (size_t)n, 0);
        return;
    }
    if (len == 3 && memcmp(data, "bye", 3) == 0) {
        t->host->ws_close(conn);
        return;
    }
    if (len > 6 && memcmp(data, "flood:", 6) == 0) {
        /* 64-KiB frames at once, more than the connection's queue holds */
        static char big[65536];
        int n = atoi((const char *)data + 6);
        for (int i = 0; i < n; i++)
            if (t->host->ws_send(conn, big, sizeof big, 1) == MST_EAGAIN)
                t->send_refused++;
        return;
    }
    int n = snprintf(reply, sizeof reply, "len:%zu", len);
    t->host->ws_send(conn, reply, (size_t)n, binary);
}

static void cp_close(void *arg, mst_ws_conn *conn)
{
    struct testplug *t = arg;
    struct station *st = t->host->ws_data(conn);
    t->closes++;
    if (!st->opened)
        t->closes_before_open++;
    struct station **slot = cp_slot(t, st->id);
    if (slot && *slot == st)
        *slot = NULL;
    t->host->ws_set_data(conn, NULL);
    free(st);
}

static const struct mst_ws_handlers cp_handlers = {
    .struct_size = sizeof(struct mst_ws_handlers),
    .open = cp_open,
    .message = cp_message,
    .close = cp_close,
    .handshake = cp_handshake,
};

static void route_cp_stats(void *arg, mst_http_request *req)
{
    struct testplug *t = arg;
    char buf[256];
    int online = 0;
    for (int i = 0; i < MAX_STATIONS; i++)
        online += t->online[i] != NULL;
    int n = snprintf(buf, sizeof buf,
                     "{\"online\":%d,\"closes\":%d,\"closes_before_open\":%d,\"replaced\":%d,\"send_refused\":%d}",
                     online, t->closes, t->closes_before_open, t->replaced, t->send_refused);
    t->host->http_respond(req, 200, "application/json", buf, (size_t)n);
}

static int tp_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct testplug *t = calloc(1, sizeof *t);
    t->inst = inst;
    t->host = host;
    /* whether any call failed: error codes are never OR-ed together */
    int failed = host->subscribe(inst, "test/in", on_in, t) != 0;
    int serve_echo = 1;
    host->config_bool(inst, "serve_echo", &serve_echo);
    if (serve_echo)
        failed |= host->serve(inst, "test/echo", on_echo, t) != 0;
    failed |= host->http_route(inst, "POST", "echo/*", MST_ROLE_OPERATOR, route_echo, t) != 0;
    failed |= host->http_route(inst, "GET", "info", MST_ROLE_PUBLIC, route_info, t) != 0;
    failed |= host->http_route(inst, "GET", "admin", MST_ROLE_ADMIN, route_info, t) != 0;
    failed |= host->http_route(inst, "GET", "forbidden-topic", MST_ROLE_PUBLIC, route_forbidden_topic, t) != 0;
    failed |= host->http_route(inst, "GET", "cp-stats", MST_ROLE_PUBLIC, route_cp_stats, t) != 0;
    failed |= host->ws_endpoint(inst, "ws/*", NULL, MST_ROLE_PUBLIC, &ws_handlers, t) != 0;
    failed |= host->ws_endpoint(inst, "ocpp/*", "ocpp1.6", MST_ROLE_OPERATOR, &ws_handlers, t) != 0;
    failed |= host->ws_endpoint(inst, "cp/*", NULL, MST_ROLE_PUBLIC, &cp_handlers, t) != 0;
    int64_t max_message = 0, ping_s = 0;
    host->config_int(inst, "ws_max_message", &max_message);
    host->config_int(inst, "ws_ping_s", &ping_s);
    failed |= host->ws_endpoint_limits(inst, "cp/*", (size_t)max_message, (unsigned)ping_s) != 0;
    const char *pages = host->config_string(inst, "pages");
    const char *img_src = host->config_string(inst, "pages_img_src");
    struct mst_http_static_opts opts = {.struct_size = sizeof opts, .img_src = img_src && *img_src ? img_src : NULL};
    if (pages && *pages && MST_HOST_HAS(host, http_static))
        failed |= host->http_static(inst, host->instance_name(inst), pages, &opts) != 0;
    /* limits of an endpoint never registered */
    failed |= host->ws_endpoint_limits(inst, "nowhere/*", 1, 1) != MST_ENOENT;
    if (failed) {
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
