/*
 * TEMPLATE_NAME - a městys plugin.
 *
 * Starts as a working example: greets every message it gets on
 * TEMPLATE_NAME/in on TEMPLATE_NAME/out, and answers GET
 * /api/<instance>/hello.  Replace what it does; keep the shape.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mestys/mestys.h>

struct TEMPLATE_NAME_state {
    mst_instance *inst;
    const struct mst_host *host;
    long greeted;
};

static const struct mst_config_key config[] = {
    {.key = "greeting", .type = MST_CFG_STRING, .default_json = "\"ahoj\"",
     .description = "what to say"},
    {0},
};

static const char *const publishes[] = {"TEMPLATE_NAME/out", NULL};
static const char *const subscribes[] = {"TEMPLATE_NAME/in", NULL};

static void on_in(void *arg, const char *topic, const char *body, size_t len)
{
    struct TEMPLATE_NAME_state *s = arg;
    char out[512];
    int n = snprintf(out, sizeof out, "%s, %.*s", s->host->config_string(s->inst, "greeting"),
                     (int)(len < 400 ? len : 400), body);
    if (s->host->publish(s->inst, "TEMPLATE_NAME/out", out, (size_t)n) == 0)
        s->greeted++;
}

static void on_hello(void *arg, mst_http_request *req)
{
    struct TEMPLATE_NAME_state *s = arg;
    char out[128];
    int n = snprintf(out, sizeof out, "{\"greeted\":%ld}\n", s->greeted);
    s->host->http_respond(req, 200, "application/json", out, (size_t)n);
}

static int init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct TEMPLATE_NAME_state *s = calloc(1, sizeof *s);
    if (!s)
        return MST_ENOMEM;
    s->inst = inst;
    s->host = host;
    int rc = host->subscribe(inst, "TEMPLATE_NAME/in", on_in, s);
    if (rc == 0)
        rc = host->http_route(inst, "GET", "hello", MST_ROLE_PUBLIC, on_hello, s);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *state = s;
    return 0;
}

static void fini(void *state)
{
    free(state);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1, /* the ABI you built against, as a literal */
    .struct_size = sizeof(struct mst_plugin),
    .name = "TEMPLATE_NAME",
    .version = "0.1.0",
    .description = "TEMPLATE_NAME: say what it does for the town",
    .config = config,
    .publishes = publishes,
    .subscribes = subscribes,
    .init = init,
    .fini = fini,
};
