/* host.c - the struct mst_host table handed to every plugin: each entry
 * checks what the plugin declared, then calls into the bus, the HTTP server,
 * the loop or the metrics registry on the instance's behalf. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "json_path.h"
#include "log.h"
#include "script.h"
#include "udp.h"
#include "topic.h"
#include "util.h"

static const char *h_instance_name(mst_instance *inst) { return inst->name; }
static const char *h_node_name(mst_instance *inst) { return inst->d->cfg->node_name; }
static uint64_t h_now_ms(mst_instance *inst) { return uv_now(&inst->d->loop); }
static void h_free(void *p) { free(p); }

static const char *h_state_dir(mst_instance *inst)
{
    if (!inst->state_dir_ready) {
        int rc = mst__mkdirs(inst->state_dir, 0750);
        if (rc != 0) {
            mst__log(MST_LOG_ERROR, inst->source, "cannot create state folder %s: %s", inst->state_dir,
                     strerror(errno));
            return NULL;
        }
        inst->state_dir_ready = 1;
    }
    return inst->state_dir;
}

static void h_vlog(mst_instance *inst, enum mst_log_level level, const char *fmt, va_list ap)
{
    if (level > MST_LOG_DEBUG)
        level = MST_LOG_DEBUG;
    mst__vlog(level, inst->source, fmt, ap);
}

static void h_log(mst_instance *inst, enum mst_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_vlog(inst, level, fmt, ap);
    va_end(ap);
}

/* --- config ------------------------------------------------------------- */

static const char *h_config_string(mst_instance *inst, const char *path)
{
    return mst__json_string_at(inst->config, path);
}

static int h_config_number(mst_instance *inst, const char *path, double *out)
{
    return mst__json_number_at(inst->config, path, out);
}

static int h_config_int(mst_instance *inst, const char *path, int64_t *out)
{
    return mst__json_int_at(inst->config, path, out);
}

static int h_config_bool(mst_instance *inst, const char *path, int *out)
{
    return mst__json_bool_at(inst->config, path, out);
}

static size_t h_config_count(mst_instance *inst, const char *path)
{
    return mst__json_count_at(inst->config, path);
}

static char *h_config_json(mst_instance *inst, const char *path)
{
    return mst__json_text_at(inst->config, path);
}

/* --- bus, with the plugin's declared topics enforced -------------------- */

static int h_publish(mst_instance *inst, const char *topic, const void *body, size_t len)
{
    if (!topic || !mst__valid_topic(topic)) {
        mst__instance_refuse(inst, topic ? topic : "", "invalid", "publish refused: \"%s\" is not a valid topic",
                             topic ? topic : "(null)");
        return MST_EINVAL;
    }
    if (!mst__topic_declared(inst->plugin->publishes, topic)) {
        mst__instance_refuse(inst, topic, "acl",
                             "publish to \"%s\" refused: the plugin does not declare it in publishes", topic);
        return MST_EACCES;
    }
    int rc = mst__bus_publish(&inst->d->bus, topic, body, len);
    if (rc == 0)
        mst__metric_add(inst->published, 1);
    return rc;
}

static int h_subscribe(mst_instance *inst, const char *pattern, mst_message_cb cb, void *arg)
{
    if (!pattern || !mst__valid_pattern(pattern))
        return MST_EINVAL;
    if (!mst__pattern_declared(inst->plugin->subscribes, pattern)) {
        mst__instance_refuse(inst, pattern, "acl",
                             "subscribe to \"%s\" refused: the plugin does not declare it in subscribes", pattern);
        return MST_EACCES;
    }
    return mst__bus_subscribe(&inst->d->bus, inst, pattern, cb, arg, inst->delivered);
}

static int h_unsubscribe(mst_instance *inst, const char *pattern)
{
    return pattern ? mst__bus_unsubscribe(&inst->d->bus, inst, pattern) : MST_EINVAL;
}

static int h_request(mst_instance *inst, const char *topic, const void *body, size_t len,
                     uint32_t timeout_ms, mst_reply_cb cb, void *arg)
{
    if (!topic || !mst__valid_topic(topic))
        return MST_EINVAL;
    if (!mst__topic_declared(inst->plugin->requests, topic)) {
        mst__instance_refuse(inst, topic, "acl",
                             "request to \"%s\" refused: the plugin does not declare it in requests", topic);
        return MST_EACCES;
    }
    return mst__bus_request(&inst->d->bus, inst, topic, body, len, timeout_ms, cb, arg);
}

static int h_serve(mst_instance *inst, const char *topic, mst_serve_cb cb, void *arg)
{
    if (!topic || !mst__valid_topic(topic))
        return MST_EINVAL;
    if (!mst__topic_declared(inst->plugin->serves, topic)) {
        mst__instance_refuse(inst, topic, "acl",
                             "serving \"%s\" refused: the plugin does not declare it in serves", topic);
        return MST_EACCES;
    }
    int rc = mst__bus_serve(&inst->d->bus, inst, topic, cb, arg);
    if (rc == MST_EEXIST)
        mst__log(MST_LOG_ERROR, inst->source, "cannot serve \"%s\": another instance serves it already", topic);
    return rc;
}

/* --- loop services ------------------------------------------------------ */

static int h_db_open(mst_instance *inst, const char *file, const char *const *migrations,
                     struct sqlite3 **out)
{
    if (!file || !*file || strstr(file, "..") || strchr(file, '/'))
        return MST_EINVAL;
    const char *dir = h_state_dir(inst);
    if (!dir)
        return MST_EIO;
    char *path = mst__path_join(dir, file);
    char *err = NULL;
    int rc = mst__db_open(path, migrations, out, &err);
    if (rc != 0)
        mst__log(MST_LOG_ERROR, inst->source, "cannot open database %s: %s", path, err ? err : "error");
    free(err);
    free(path);
    return rc;
}

static int h_http_route(mst_instance *inst, const char *method, const char *path, enum mst_role role,
                        mst_http_cb cb, void *arg)
{
    char *full = mst__route_path(inst->name, path);
    int rc = mst__http_route(&inst->d->http, inst, method, full, role, cb, arg);
    free(full);
    return rc;
}

static int h_http_static(mst_instance *inst, const char *prefix, const char *dir,
                         const struct mst_http_static_opts *opts)
{
    struct mst__buf why = {0};
    int rc = mst__http_static(&inst->d->http, inst, inst->name, inst->plugin->name, prefix, dir,
                              inst->d->loader.www_dir, opts, &why);
    if (rc != 0)
        mst__log(MST_LOG_ERROR, inst->source, "cannot serve files: %s", why.data ? why.data : mst_strerror(rc));
    mst__buf_free(&why);
    return rc;
}

static int h_health_set(mst_instance *inst, const char *problem)
{
    free(inst->problem);
    inst->problem = problem && *problem ? mst__xstrdup(problem) : NULL;
    return 0;
}

static int h_ws_endpoint(mst_instance *inst, const char *path, const char *subprotocol,
                         enum mst_role role, const struct mst_ws_handlers *handlers, void *arg)
{
    char *full = mst__route_path(inst->name, path);
    int rc = mst__http_ws_endpoint(&inst->d->http, inst, full, subprotocol, role, handlers, arg);
    if (rc == MST_ENOTSUP)
        mst__log(MST_LOG_ERROR, inst->source,
                 "WebSocket subprotocol \"%s\" is new since the server started: restart mestysd to offer it",
                 subprotocol);
    free(full);
    return rc;
}

static int h_ws_endpoint_limits(mst_instance *inst, const char *path, size_t max_message, unsigned ping_s)
{
    if (!path)
        return MST_EINVAL;
    char *full = mst__route_path(inst->name, path);
    int rc = mst__http_ws_limits(&inst->d->http, inst, full, max_message, ping_s);
    free(full);
    return rc;
}

/* --- metrics ------------------------------------------------------------ */

static int h_metric(mst_instance *inst, enum mst_metric_kind kind, const char *name, const char *help,
                    mst_metric **out)
{
    if (!name || !out || kind < MST_METRIC_COUNTER || kind > MST_METRIC_HISTOGRAM)
        return MST_EINVAL;
    size_t base = strcspn(name, "{");
    for (size_t i = 0; i < base; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return MST_EINVAL;
    struct mst__buf labels = {0};
    mst__buf_printf(&labels, "plugin=\"%s\",instance=\"%s\"", inst->plugin->name, inst->name);
    if (name[base] == '{') {
        const char *end = strrchr(name, '}');
        if (!end || end < name + base)
            return mst__buf_free(&labels), MST_EINVAL;
        if (end > name + base + 1) {
            mst__buf_puts(&labels, ",");
            mst__buf_append(&labels, name + base + 1, (size_t)(end - name - base - 1));
        }
    }
    char *family = mst__xasprintf("mestys_%s_%.*s", inst->plugin->name, (int)base, name);
    for (char *c = family; *c; c++)
        if (*c == '-')
            *c = '_';
    int rc = mst__metrics_get(&inst->d->metrics, kind, family, help, labels.data, out);
    free(family);
    mst__buf_free(&labels);
    return rc;
}

static int h_udp_bind(mst_instance *inst, const char *address, uint16_t port, size_t rcvbuf, mst_udp_cb cb,
                      void *arg, mst_udp **out)
{
    char why[128] = "";
    int rc = mst__udp_bind(&inst->d->loop, &inst->udp_sockets, address, port, rcvbuf, cb, arg, out, why,
                           sizeof why);
    if (rc != 0) {
        mst__log(MST_LOG_ERROR, inst->source, "cannot listen on UDP %s:%u: %s", address ? address : "?", port,
                 why[0] ? why : mst_strerror(rc));
        return rc;
    }
    /* one series per socket, by the port it got (port 0 binds any free one) */
    struct mst_metric *drops = NULL;
    char *labels = mst__xasprintf("plugin=\"%s\",instance=\"%s\",port=\"%d\"", inst->plugin->name, inst->name,
                                  mst__udp_port(*out));
    mst__metrics_get(&inst->d->metrics, MST_METRIC_COUNTER, "mestys_udp_dropped_total",
                     "datagrams the kernel dropped because the socket's receive queue was full", labels, &drops);
    free(labels);
    mst__udp_count_drops(*out, drops);
    return 0;
}

const struct mst_host mst__host = {
    .abi_version = MST_PLUGIN_ABI,
    .struct_size = sizeof(struct mst_host),
    .instance_name = h_instance_name,
    .node_name = h_node_name,
    .state_dir = h_state_dir,
    .now_ms = h_now_ms,
    .free = h_free,
    .log = h_log,
    .vlog = h_vlog,
    .config_string = h_config_string,
    .config_int = h_config_int,
    .config_number = h_config_number,
    .config_bool = h_config_bool,
    .config_count = h_config_count,
    .config_json = h_config_json,
    .publish = h_publish,
    .subscribe = h_subscribe,
    .unsubscribe = h_unsubscribe,
    .request = h_request,
    .serve = h_serve,
    .respond = mst__bus_respond,
    .timer_start = mst__instance_timer_start,
    .timer_stop = mst__instance_timer_stop,
    .queue_work = mst__instance_queue_work,
    .db_open = h_db_open,
    .http_route = h_http_route,
    .http_method = mst__http_method,
    .http_path = mst__http_path,
    .http_subpath = mst__http_subpath,
    .http_query = mst__http_query,
    .http_header = mst__http_header,
    .http_body = mst__http_body,
    .http_set_header = mst__http_set_header,
    .http_respond = mst__http_respond,
    .ws_endpoint = h_ws_endpoint,
    .ws_send = mst__ws_send,
    .ws_close = mst__ws_close,
    .metric = h_metric,
    .metric_add = mst__metric_add,
    .metric_set = mst__metric_set,
    .metric_observe = mst__metric_observe,
    .http_query_param = mst__http_query_param,
    .udp_bind = h_udp_bind,
    .udp_send = mst__udp_send,
    .udp_close = mst__udp_close,
    .udp_port = mst__udp_port,
    .script_open = mst__script_open,
    .script_call = mst__script_call,
    .script_close = mst__script_close,
    .http_peer = mst__http_peer,
    .ws_data = mst__ws_data,
    .ws_set_data = mst__ws_set_data,
    .ws_endpoint_limits = h_ws_endpoint_limits,
    .http_role = mst__http_role,
    .http_static = h_http_static,
    .health_set = h_health_set,
};
