#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "statelock.h"
#include "trust_report.h"
#include "util.h"

struct mst_instance *mst__daemon_find(struct mst__daemon *d, const char *name)
{
    struct mst__list *pos;
    for (pos = d->instances.next; pos != &d->instances; pos = pos->next) {
        struct mst_instance *inst = mst__container_of(pos, struct mst_instance, link);
        if (strcmp(inst->name, name) == 0)
            return inst;
    }
    return NULL;
}

int mst__daemon_init(struct mst__daemon *d, const char *config_file, struct mst__diag *diag)
{
    memset(d, 0, sizeof *d);
    d->state_lock = -1;
    mst__list_init(&d->instances);
    mst__loader_init(&d->loader);
    mst__metrics_init(&d->metrics);
    d->config_file = mst__xstrdup(config_file);
    int rc = mst__config_load(config_file, &d->loader, diag, &d->cfg);
    if (rc != 0)
        return rc;
    d->cfg_state_dir = d->cfg->state_dir;
    mst__log_set_level((enum mst_log_level)d->cfg->log_level);
    return 0;
}

static void bus_options(const struct mst__config *c, struct mst__bus_opts *o)
{
    memset(o, 0, sizeof *o);
    o->node_name = c->node_name;
    o->events_listen = c->bus_events_listen;
    o->n_events_listen = c->n_bus_events_listen;
    o->queries_listen = c->bus_queries_listen;
    o->n_queries_listen = c->n_bus_queries_listen;
    static const char *none[1];
    const char **ev = mst__xcalloc(c->n_bus_peers + 1, sizeof *ev);
    const char **qu = mst__xcalloc(c->n_bus_peers + 1, sizeof *qu);
    for (size_t i = 0; i < c->n_bus_peers; i++) {
        if (c->bus_peers[i].events)
            ev[o->n_peer_events++] = c->bus_peers[i].events;
        if (c->bus_peers[i].queries)
            qu[o->n_peer_queries++] = c->bus_peers[i].queries;
    }
    o->peer_events = o->n_peer_events ? ev : none;
    o->peer_queries = o->n_peer_queries ? qu : none;
    if (!o->n_peer_events)
        free(ev);
    if (!o->n_peer_queries)
        free(qu);
    o->queue_depth = (size_t)c->bus_queue_depth;
    o->request_timeout_ms = (uint32_t)c->bus_request_timeout_ms;
    o->max_message = (size_t)c->bus_max_message;
}

static void free_bus_options(struct mst__bus_opts *o)
{
    if (o->n_peer_events)
        free((void *)o->peer_events);
    if (o->n_peer_queries)
        free((void *)o->peer_queries);
}

/* Creates and inits the instances of cfg whose names are not running yet.
 * Returns MST_EPLUGIN if a required one failed; the new ones are then gone. */
static int bring_up(struct mst__daemon *d, const struct mst__config *cfg)
{
    for (size_t i = 0; i < cfg->n_instances; i++) {
        const struct mst__instance_conf *ic = &cfg->instances[i];
        if (!ic->module || mst__daemon_find(d, ic->name))
            continue;
        struct mst_instance *inst = mst__instance_new(d, ic);
        mst__list_push(&d->instances, &inst->link);
        if (ic->module->verified.status == MST__TRUST_UNSIGNED) /* once per instance started */
            mst__log(MST_LOG_WARN, inst->source, "loads unsigned: %s", ic->module->verified.reason.data);
        if (mst__instance_init(inst) != 0 && inst->required)
            return MST_EPLUGIN;
    }
    return 0;
}

static void order_like(struct mst__daemon *d, const struct mst__config *cfg)
{
    struct mst__list ordered;
    mst__list_init(&ordered);
    for (size_t i = 0; i < cfg->n_instances; i++) {
        struct mst_instance *inst = mst__daemon_find(d, cfg->instances[i].name);
        if (inst) {
            mst__list_remove(&inst->link);
            mst__list_push(&ordered, &inst->link);
        }
    }
    mst__list_move_all(&d->instances, &ordered);
    mst__list_move_all(&ordered, &d->instances);
}

static int start_ready(struct mst__daemon *d)
{
    struct mst__list *pos;
    for (pos = d->instances.next; pos != &d->instances; pos = pos->next) {
        struct mst_instance *inst = mst__container_of(pos, struct mst_instance, link);
        if (inst->state_kind == MST__INST_READY && mst__instance_start(inst) != 0 && inst->required)
            return MST_EPLUGIN;
    }
    return 0;
}

/* Stops and destroys instances in reverse order; keep(inst) spares some. */
static void tear_down(struct mst__daemon *d, int (*keep)(struct mst_instance *, void *), void *arg)
{
    struct mst__list *pos = d->instances.prev;
    while (pos != &d->instances) {
        struct mst__list *prev = pos->prev;
        struct mst_instance *inst = mst__container_of(pos, struct mst_instance, link);
        if (!keep || !keep(inst, arg)) {
            if (inst->state_kind == MST__INST_RUNNING || inst->state_kind == MST__INST_READY)
                mst__log(MST_LOG_INFO, inst->source, "stopping");
            mst__instance_destroy(inst);
        }
        pos = prev;
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct mst__daemon *d = s->data;
    if (signum == SIGHUP) {
        struct mst__buf why = {0};
        mst__log_info("SIGHUP: reloading %s", d->config_file);
        mst__daemon_reload(d, &why);
        mst__buf_free(&why);
        return;
    }
    mst__log_info("%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    mst__daemon_stop(d);
}

static void start_signals(struct mst__daemon *d)
{
    uv_signal_t *sigs[] = {&d->sigint, &d->sigterm, &d->sighup};
    int nums[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&d->loop, sigs[i]);
        sigs[i]->data = d;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    d->signals_started = 1;
}

static int start_services(struct mst__daemon *d)
{
    char err[512] = "";
    struct mst__bus_opts bo;
    bus_options(d->cfg, &bo);
    int rc = mst__bus_init(&d->bus, &d->loop, &d->metrics, &bo, err, sizeof err);
    free_bus_options(&bo);
    if (rc != 0) {
        mst__log_error("bus: %s", err);
        return rc;
    }
    d->bus_up = 1;
    mst__soon_init(&d->loop, &d->soon);
    mst__http_init(&d->http, &d->loop, &d->metrics);
    mst__http_set_tokens(&d->http, d->cfg->tokens, d->cfg->n_tokens);
    mst__http_set_body_limit(&d->http, (size_t)d->cfg->http_body_limit);
    mst__admin_register(d);
    return 0;
}

static int listen_http(struct mst__daemon *d)
{
    char err[512] = "";
    struct mst__http_opts ho = {
        .listen = d->cfg->http_listen,
        .tls_cert = d->cfg->tls_cert,
        .tls_key = d->cfg->tls_key,
        .tls_client_ca = d->cfg->tls_client_ca,
        .body_limit = (size_t)d->cfg->http_body_limit,
        .max_connections = (unsigned)d->cfg->http_max_connections,
    };
    int rc = mst__http_listen(&d->http, &ho, err, sizeof err);
    if (rc != 0)
        mst__log_error("http: %s", err);
    else if (d->http.vhost)
        mst__log_info("HTTP on %s%s (port %d)%s", ho.tls_cert ? "https://" : "http://", ho.listen, d->http.port,
                      ho.tls_cert && ho.tls_client_ca ? ", client certificates verified against node.http.tls.client_ca" : "");
    return rc;
}

/* Before anything opens a file in the state folder: a second mestysd on
 * it is refused here, not started beside the first. */
static int take_state_lock(struct mst__daemon *d)
{
    char why[1024] = "";
    int rc = mst__statelock_take(d->cfg->state_dir, &d->state_lock, why, sizeof why);
    if (rc != 0)
        mst__log_error("%s", why);
    return rc;
}

int mst__daemon_start(struct mst__daemon *d)
{
    uv_loop_init(&d->loop);
    d->loop_ready = 1;
    d->started_ms = uv_now(&d->loop);
    mst__metrics_get(&d->metrics, MST_METRIC_COUNTER, "mestys_reloads_total",
                     "config reloads, per result", "result=\"ok\"", &d->reloads_ok);
    mst__metrics_get(&d->metrics, MST_METRIC_COUNTER, "mestys_reloads_total", NULL,
                     "result=\"failed\"", &d->reloads_failed);
    int rc = mst__mkdirs(d->cfg->state_dir, 0750);
    if (rc != 0)
        mst__log_error("cannot create state folder %s: %s", d->cfg->state_dir, strerror(errno));
    if (rc == 0)
        rc = take_state_lock(d);
    if (rc == 0)
        rc = start_services(d);
    if (rc == 0)
        rc = bring_up(d, d->cfg);
    if (rc == 0)
        rc = listen_http(d);
    if (rc == 0)
        rc = start_ready(d);
    start_signals(d);
    mst__trust_report_loaded(d);
    if (rc == 0)
        mst__log_info("node %s ready: %zu plugin instance(s), config %s", d->cfg->node_name,
                      d->cfg->n_instances, d->config_file);
    else
        mst__log_error("start-up failed; stopping what was started");
    return rc;
}

int mst__daemon_finish(struct mst__daemon *d)
{
    mst__daemon_stop(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (mst__http_finish(&d->http))
        uv_run(&d->loop, UV_RUN_DEFAULT);
    mst__http_free(&d->http);
    int rc = uv_loop_close(&d->loop);
    if (rc != 0)
        mst__log_error("loop still has open handles at exit: %s", uv_strerror(rc));
    d->loop_ready = 0;
    /* every instance has closed its files: the folder is free for the next */
    mst__statelock_release(d->state_lock);
    d->state_lock = -1;
    return rc;
}

int mst__daemon_run(struct mst__daemon *d)
{
    int rc = mst__daemon_start(d);
    if (rc == 0)
        uv_run(&d->loop, UV_RUN_DEFAULT);
    mst__daemon_finish(d);
    return rc;
}

static void close_signal(uv_signal_t *s)
{
    uv_signal_stop(s);
    uv_close((uv_handle_t *)s, NULL);
}

void mst__daemon_stop(struct mst__daemon *d)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    tear_down(d, NULL, NULL);
    if (d->bus_up) {
        mst__bus_close(&d->bus);
        mst__http_close(&d->http);
        mst__soon_close(&d->soon);
        d->bus_up = 0;
    }
    if (d->signals_started) {
        close_signal(&d->sigint);
        close_signal(&d->sigterm);
        close_signal(&d->sighup);
        d->signals_started = 0;
    }
}

/* --- reload -------------------------------------------------------------- */

static const struct mst__instance_conf *conf_of(const struct mst__config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_instances; i++)
        if (strcmp(cfg->instances[i].name, name) == 0)
            return &cfg->instances[i];
    return NULL;
}

static int same_config(struct mst_instance *inst, const struct mst__instance_conf *ic)
{
    char *text = mst__json_canonical(ic->config);
    int same = strcmp(text, inst->config_text) == 0;
    free(text);
    return same;
}

/* An instance survives a reload if the new config has it with the same
 * plugin and either the same config or a reload callback that accepts it. */
static int survives(struct mst_instance *inst, void *arg)
{
    const struct mst__config *next = arg;
    const struct mst__instance_conf *ic = conf_of(next, inst->name);
    if (!ic || ic->module != inst->module || inst->state_kind != MST__INST_RUNNING)
        return 0;
    inst->required = ic->required;
    if (same_config(inst, ic))
        return 1;
    if (!inst->plugin->reload)
        return 0;
    cJSON *old = cJSON_Duplicate(inst->config, 1);
    mst__instance_set_config(inst, ic->config);
    int rc = inst->plugin->reload(inst->state);
    if (rc == 0) {
        mst__log(MST_LOG_INFO, inst->source, "reloaded its config");
        cJSON_Delete(old);
        return 1;
    }
    mst__log(MST_LOG_WARN, inst->source, "reload refused (%s): restarting the instance", mst_strerror(rc));
    mst__instance_set_config(inst, old);
    cJSON_Delete(old);
    return 0;
}

static void apply_node_settings(struct mst__daemon *d)
{
    mst__log_set_level((enum mst_log_level)d->cfg->log_level);
    mst__http_set_tokens(&d->http, d->cfg->tokens, d->cfg->n_tokens);
    mst__http_set_body_limit(&d->http, (size_t)d->cfg->http_body_limit);
    d->cfg_state_dir = d->cfg->state_dir;
}

int mst__daemon_reload(struct mst__daemon *d, struct mst__buf *why)
{
    struct mst__diag diag = {0};
    struct mst__config *next = NULL;
    int rc = mst__config_load(d->config_file, &d->loader, &diag, &next);
    if (rc != 0) {
        mst__buf_append(why, diag.text.data, diag.text.len);
        mst__log_error("reload refused; the running plugins are untouched:");
        /* one log line per diagnostic, as mestys check prints them */
        for (char *line = diag.text.data, *nl; line && *line; line = nl + 1) {
            nl = strchr(line, '\n');
            if (!nl)
                nl = line + strlen(line) - 1;
            mst__log_error("%.*s", (int)(nl - line + (*nl != '\n')), line);
        }
        mst__diag_free(&diag);
        mst__metric_add(d->reloads_failed, 1);
        return rc;
    }
    mst__diag_free(&diag);
    if (strcmp(next->state_dir, d->cfg->state_dir) != 0 || strcmp(next->node_name, d->cfg->node_name) != 0)
        mst__log_warn("node.name and node.state_dir take effect at restart; keeping the running ones");
    struct mst__config *prev = d->cfg;
    /* Old instances that do not survive go first (reverse order), so the
     * new ones can take their names, routes and topics. */
    tear_down(d, survives, next);
    d->cfg = next;
    d->cfg_state_dir = prev->state_dir;
    rc = bring_up(d, next);
    if (rc == 0) {
        order_like(d, next);
        rc = start_ready(d);
    }
    if (rc != 0) {
        mst__buf_puts(why, "a required plugin instance failed to start; the previous configuration was restored\n");
        mst__log_error("reload failed at start-up of a required instance: restoring the previous configuration");
        tear_down(d, NULL, NULL);
        d->cfg = prev;
        bring_up(d, prev);
        order_like(d, prev);
        start_ready(d);
        mst__config_free(next);
        mst__metric_add(d->reloads_failed, 1);
        return MST_EPLUGIN;
    }
    /* keep the running node's name and state_dir: they change at restart */
    char *sd = next->state_dir;
    next->state_dir = prev->state_dir;
    prev->state_dir = sd;
    cJSON *node_name = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
                                           cJSON_GetObjectItemCaseSensitive(prev->root, "node"), "name"), 1);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(next->root, "node"), "name", node_name);
    next->node_name = node_name->valuestring;
    apply_node_settings(d);
    mst__config_free(prev);
    mst__trust_report_loaded(d);
    mst__metric_add(d->reloads_ok, 1);
    mst__log_info("reloaded %s: %zu plugin instance(s)", d->config_file, next->n_instances);
    return 0;
}

void mst__daemon_free(struct mst__daemon *d)
{
    mst__statelock_release(d->state_lock);
    mst__config_free(d->cfg);
    mst__loader_close(&d->loader);
    mst__metrics_free(&d->metrics);
    free(d->config_file);
    memset(d, 0, sizeof *d);
    d->state_lock = -1;
}
