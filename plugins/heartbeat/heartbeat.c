/*
 * heartbeat - tells the bus, at a fixed interval, that this node is alive.
 *
 * Publishes `node/heartbeat` {"node", "instance", "seq", "uptime_ms"} every
 * `interval_ms`, and serves `node/ping/<instance>` with the same body, so
 * other nodes of a region (and monitoring) can see this one is up.  It is also the
 * smallest complete example of a plugin written in C against the SDK.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mestys/mestys.h>

struct heartbeat {
    mst_instance *inst;
    const struct mst_host *host;
    mst_timer *timer;
    int64_t interval_ms;
    uint64_t seq;
    uint64_t started_ms;
    mst_metric *beats;
};

static const struct mst_config_key config[] = {
    {.key = "interval_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "10000",
     .min = 10, .max = 86400000, .description = "how often to publish node/heartbeat, in ms"},
    {0},
};

static const char *const publishes[] = {"node/heartbeat", NULL};
static const char *const serves[] = {"node/ping/#", NULL};

static int body(struct heartbeat *hb, char *buf, size_t n)
{
    const struct mst_host *h = hb->host;
    return snprintf(buf, n, "{\"node\":\"%s\",\"instance\":\"%s\",\"seq\":%llu,\"uptime_ms\":%llu}",
                    h->node_name(hb->inst), h->instance_name(hb->inst), (unsigned long long)hb->seq,
                    (unsigned long long)(h->now_ms(hb->inst) - hb->started_ms));
}

static void beat(void *arg)
{
    struct heartbeat *hb = arg;
    char buf[512];
    hb->seq++;
    int n = body(hb, buf, sizeof buf);
    int rc = hb->host->publish(hb->inst, "node/heartbeat", buf, (size_t)n);
    if (rc != 0)
        hb->host->log(hb->inst, MST_LOG_WARN, "heartbeat not published: %s", mst_strerror(rc));
    else
        hb->host->metric_add(hb->beats, 1);
}

static void ping(void *arg, mst_request *req, const char *topic, const char *b, size_t len)
{
    (void)topic, (void)b, (void)len;
    struct heartbeat *hb = arg;
    char buf[512];
    int n = body(hb, buf, sizeof buf);
    hb->host->respond(req, 0, buf, (size_t)n);
}

static int arm(struct heartbeat *hb)
{
    if (hb->timer)
        hb->host->timer_stop(hb->timer);
    hb->timer = NULL;
    hb->host->config_int(hb->inst, "interval_ms", &hb->interval_ms);
    return hb->host->timer_start(hb->inst, (uint64_t)hb->interval_ms, (uint64_t)hb->interval_ms,
                                 beat, hb, &hb->timer);
}

static int hb_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct heartbeat *hb = calloc(1, sizeof *hb);
    if (!hb)
        return MST_ENOMEM;
    hb->inst = inst;
    hb->host = host;
    hb->started_ms = host->now_ms(inst);
    int rc = host->metric(inst, MST_METRIC_COUNTER, "beats_total", "heartbeats published", &hb->beats);
    char topic[128];
    snprintf(topic, sizeof topic, "node/ping/%s", host->instance_name(inst));
    if (rc == 0)
        rc = host->serve(inst, topic, ping, hb);
    if (rc != 0) {
        free(hb);
        return rc;
    }
    *state = hb;
    return 0;
}

static int hb_start(void *state)
{
    return arm(state);
}

static void hb_stop(void *state)
{
    struct heartbeat *hb = state;
    if (hb->timer)
        hb->host->timer_stop(hb->timer);
    hb->timer = NULL;
}

static int hb_reload(void *state)
{
    return arm(state);
}

static void hb_fini(void *state)
{
    free(state);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "heartbeat",
    .version = "1.0.0",
    .description = "publishes node/heartbeat at an interval and answers node/ping/<instance>",
    .config = config,
    .publishes = publishes,
    .serves = serves,
    .init = hb_init,
    .start = hb_start,
    .stop = hb_stop,
    .fini = hb_fini,
    .reload = hb_reload,
};
