#include "instance.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "timer.h"
#include "script.h"
#include "udp.h"
#include "util.h"

const char *mst__instance_state_name(enum mst__instance_state s)
{
    static const char *const names[] = {"new", "ready", "running", "stopped", "failed"};
    return s <= MST__INST_FAILED ? names[s] : "?";
}

char *mst__json_canonical(const cJSON *v)
{
    return v ? cJSON_PrintUnformatted(v) : mst__xstrdup("null");
}

static struct mst_metric *instance_metric(struct mst_instance *inst, enum mst_metric_kind kind,
                                          const char *name, const char *help)
{
    struct mst_metric *m = NULL;
    char *labels = mst__xasprintf("plugin=\"%s\",instance=\"%s\"", inst->plugin->name, inst->name);
    mst__metrics_get(&inst->d->metrics, kind, name, help, labels, &m);
    free(labels);
    return m;
}

struct mst_instance *mst__instance_new(struct mst__daemon *d, const struct mst__instance_conf *ic)
{
    struct mst_instance *inst = mst__xcalloc(1, sizeof *inst);
    mst__list_init(&inst->link);
    mst__list_init(&inst->timers);
    mst__list_init(&inst->udp_sockets);
    mst__list_init(&inst->scripts);
    inst->d = d;
    inst->name = mst__xstrdup(ic->name);
    inst->module = ic->module;
    mst__module_ref(ic->module);
    inst->plugin = ic->module->plugin;
    inst->required = ic->required;
    inst->lua_instructions = ic->lua_instructions;
    inst->lua_memory_mb = ic->lua_memory_mb;
    inst->source = mst__xasprintf("%s:%s", inst->plugin->name, inst->name);
    inst->state_dir = mst__path_join(d->cfg_state_dir, inst->name);
    mst__instance_set_config(inst, ic->config);
    inst->published = instance_metric(inst, MST_METRIC_COUNTER, "mestys_plugin_published_total",
                                      "events an instance published");
    inst->delivered = instance_metric(inst, MST_METRIC_COUNTER, "mestys_plugin_delivered_total",
                                      "events delivered to an instance's subscriptions");
    inst->refused = instance_metric(inst, MST_METRIC_COUNTER, "mestys_plugin_refused_total",
                                    "calls refused by the core (undeclared topic, bad argument)");
    inst->errors = instance_metric(inst, MST_METRIC_COUNTER, "mestys_plugin_errors_total",
                                   "failed init/start/reload and errors reported by the instance");
    return inst;
}

void mst__instance_set_config(struct mst_instance *inst, const cJSON *config)
{
    cJSON_Delete(inst->config);
    free(inst->config_text);
    inst->config = config ? cJSON_Duplicate(config, 1) : cJSON_CreateObject();
    inst->config_text = mst__json_canonical(inst->config);
}

void mst__instance_fail(struct mst_instance *inst, const char *fmt, ...)
{
    struct mst__buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    mst__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(inst->error);
    inst->error = b.data;
    inst->state_kind = MST__INST_FAILED;
    mst__metric_add(inst->errors, 1);
    mst__log(inst->required ? MST_LOG_ERROR : MST_LOG_WARN, inst->source, "%s", inst->error);
}

void mst__instance_refuse(struct mst_instance *inst, const char *topic, const char *reason,
                          const char *fmt, ...)
{
    mst__metric_add(inst->refused, 1);
    mst__bus_count_refused(&inst->d->bus, topic, reason);
    char *key = mst__xasprintf("%s %s", reason, topic);
    if (!mst__strmap_get(&inst->refusals_logged, key)) {
        mst__strmap_put(&inst->refusals_logged, key, inst);
        va_list ap;
        va_start(ap, fmt);
        mst__vlog(MST_LOG_WARN, inst->source, fmt, ap);
        va_end(ap);
    }
    free(key);
}

int mst__instance_init(struct mst_instance *inst)
{
    void *state = NULL;
    int rc = inst->plugin->init(inst, &mst__host, &state);
    if (rc != 0) {
        mst__instance_stop(inst); /* take back what init registered */
        mst__instance_fail(inst, "init failed: %s (%s)", mst_strerror(rc), mst_err_name(rc));
        return rc;
    }
    inst->state = state;
    inst->state_kind = MST__INST_READY;
    return 0;
}

int mst__instance_start(struct mst_instance *inst)
{
    if (inst->state_kind != MST__INST_READY)
        return MST_EINVAL;
    int rc = inst->plugin->start ? inst->plugin->start(inst->state) : 0;
    if (rc != 0) {
        mst__instance_stop(inst);
        mst__instance_fail(inst, "start failed: %s (%s)", mst_strerror(rc), mst_err_name(rc));
        return rc;
    }
    inst->state_kind = MST__INST_RUNNING;
    mst__log(MST_LOG_INFO, inst->source, "running (%s %s, %s)", inst->plugin->name,
             inst->plugin->version, inst->module->path);
    return 0;
}

void mst__instance_stop(struct mst_instance *inst)
{
    if (inst->state_kind == MST__INST_RUNNING && inst->plugin->stop)
        inst->plugin->stop(inst->state);
    if (inst->state_kind == MST__INST_RUNNING)
        inst->state_kind = MST__INST_STOPPED;
    mst__bus_drop_owner(&inst->d->bus, inst);
    mst__http_drop_owner(&inst->d->http, inst);
    mst__timer_stop_all(&inst->timers);
    mst__udp_close_all(&inst->udp_sockets);
}

static void instance_free(struct mst_instance *inst)
{
    if (inst->state && inst->plugin->fini)
        inst->plugin->fini(inst->state);
    inst->state = NULL;
    /* fini may have stopped timers or dropped subscriptions; catch the rest */
    mst__instance_stop(inst);
    mst__script_close_all(&inst->scripts);
    mst__module_release(inst->module);
    mst__strmap_free(&inst->refusals_logged, NULL);
    cJSON_Delete(inst->config);
    free(inst->config_text);
    free(inst->state_dir);
    free(inst->source);
    free(inst->error);
    free(inst->problem);
    free(inst->name);
    free(inst);
}

void mst__instance_destroy(struct mst_instance *inst)
{
    mst__list_remove(&inst->link);
    mst__instance_stop(inst);
    inst->destroying = 1;
    if (inst->works == 0)
        instance_free(inst);
}

/* --- timers and work: used by the host table --------------------------- */

int mst__instance_timer_start(struct mst_instance *inst, uint64_t after_ms, uint64_t repeat_ms,
                              mst_timer_cb cb, void *arg, mst_timer **out)
{
    return mst__timer_start(&inst->d->loop, &inst->d->soon, &inst->timers, after_ms, repeat_ms, cb,
                            arg, out);
}

void mst__instance_timer_stop(mst_timer *t)
{
    mst__timer_stop(t);
}

struct work {
    uv_work_t req;
    struct mst_instance *inst;
    mst_work_cb work;
    mst_after_work_cb after;
    void *arg;
};

static void on_work(uv_work_t *req)
{
    struct work *w = req->data;
    w->work(w->arg);
}

static void on_after_work(uv_work_t *req, int status)
{
    struct work *w = req->data;
    struct mst_instance *inst = w->inst;
    inst->works--;
    if (w->after)
        w->after(w->arg, inst->destroying || status != 0 ? MST_ECLOSED : 0);
    free(w);
    if (inst->destroying && inst->works == 0)
        instance_free(inst);
}

int mst__instance_queue_work(struct mst_instance *inst, mst_work_cb fn, mst_after_work_cb after,
                             void *arg)
{
    if (!fn)
        return MST_EINVAL;
    if (inst->destroying)
        return MST_ECLOSED;
    struct work *w = mst__xcalloc(1, sizeof *w);
    w->req.data = w;
    w->inst = inst;
    w->work = fn;
    w->after = after;
    w->arg = arg;
    int rc = uv_queue_work(&inst->d->loop, &w->req, on_work, on_after_work);
    if (rc != 0) {
        free(w);
        return MST_EIO;
    }
    inst->works++;
    return 0;
}
