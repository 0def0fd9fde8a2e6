/* benchplug - the two ends of bench_bus: a producer that publishes
 * `count` messages of `size` bytes as fast as the bus takes them, and a
 * consumer that counts them; and, for the HTTP benchmarks, "static": a
 * route answering `size` fixed bytes, the cheapest answer the server can
 * give.  All use only the SDK. */
#include <stdlib.h>
#include <string.h>

#include <mestys/mestys.h>

struct bench {
    mst_instance *inst;
    const struct mst_host *host;
    int producer;
    int64_t count, size, sent, received;
    char *body;
    mst_metric *got;
    mst_timer *timer;
};

static const struct mst_config_key config[] = {
    {.key = "role", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED, .choices = "producer|consumer|static"},
    {.key = "count", .type = MST_CFG_INT, .default_json = "1000000"},
    {.key = "size", .type = MST_CFG_INT, .default_json = "200"},
    {0},
};

static const char *const topics[] = {"bench/msg", NULL};

static void produce(void *arg)
{
    struct bench *b = arg;
    b->timer = NULL;
    while (b->sent < b->count) {
        /* the first bytes carry a sequence number, like a real reading would */
        memcpy(b->body, &b->sent, sizeof b->sent);
        if (b->host->publish(b->inst, "bench/msg", b->body, (size_t)b->size) != 0)
            break; /* backpressure: let the loop deliver, then go on */
        b->sent++;
    }
    if (b->sent < b->count)
        b->host->timer_start(b->inst, 0, 0, produce, b, &b->timer);
}

static void consume(void *arg, const char *topic, const char *body, size_t len)
{
    struct bench *b = arg;
    if ((int64_t)len == b->size)
        b->received++;
    b->host->metric_set(b->got, (double)b->received);
}

static void serve_static(void *arg, mst_http_request *req)
{
    struct bench *b = arg;
    b->host->http_respond(req, 200, "text/plain", b->body, (size_t)b->size);
}

static int bench_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct bench *b = calloc(1, sizeof *b);
    b->inst = inst;
    b->host = host;
    b->producer = strcmp(host->config_string(inst, "role"), "producer") == 0;
    host->config_int(inst, "count", &b->count);
    host->config_int(inst, "size", &b->size);
    b->body = calloc(1, (size_t)b->size);
    host->metric(inst, MST_METRIC_GAUGE, "received", "messages received", &b->got);
    *state = b;
    if (strcmp(host->config_string(inst, "role"), "static") == 0) {
        memset(b->body, 'x', (size_t)b->size);
        return host->http_route(inst, "GET", "static", MST_ROLE_PUBLIC, serve_static, b);
    }
    return b->producer ? 0 : host->subscribe(inst, "bench/msg", consume, b);
}

static int bench_start(void *state)
{
    struct bench *b = state;
    if (b->producer)
        return b->host->timer_start(b->inst, 0, 0, produce, b, &b->timer);
    return 0;
}

static void bench_fini(void *state)
{
    struct bench *b = state;
    free(b->body);
    free(b);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "benchplug",
    .version = "1.0.0",
    .config = config,
    .publishes = topics,
    .subscribes = topics,
    .init = bench_init,
    .start = bench_start,
    .fini = bench_fini,
};
