/* mock_host.c - the mock host of mestys/mock.h.  Where a plugin could tell
 * the difference, it answers with the daemon's own code, compiled into
 * libmestys-mock.a beside this file: config is checked and completed by the
 * daemon's schema code (schema.c: the schema table, defaults of nested
 * sections included, then the plugin's own check) and read by path as host.c reads it (json_path.c); topics are validated and
 * matched, and calls checked against the plugin's declared topics, by
 * topic.c; routes answer through the daemon's routing table (http_route.c):
 * 404, 405 with Allow, the trailing-slash rule, the JSON error body;
 * folders mounted with http_static are accepted or refused by the daemon's
 * mount table (http_static_mount.c), a relative folder only checked for its
 * form (the mock has no www folder), and no file is served. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mestys/mock.h>

#include "diag.h"
#include "http_route.h"
#include "http_static_mount.h"
#include "json_path.h"
#include "jsonpos.h"
#include "schema.h"
#include "topic.h"

#define MAX_ITEMS 64

struct mock_sub { char *pattern; mst_message_cb cb; void *arg; };
struct mock_serve { char *topic; mst_serve_cb cb; void *arg; };
struct mock_server { char *topic; mst_mock_server fn; void *arg; };
struct mock_pub { char *topic; size_t count; char *last; size_t last_len; };
struct mst_timer { int used; uint64_t due; uint64_t repeat; mst_timer_cb cb; void *arg; };
struct mst_metric { char *name; double value; };

struct mst_request { int answered; int status; char *body; size_t len; };

struct mst_http_request {
    const char *method, *path, *subpath, *body;
    size_t body_len;
    enum mst_role role; /* what the caller's token grants */
    int answered, status;
    char *response;
    size_t response_len;
    struct mst__buf headers; /* "name\0value\0" pairs the handler set */
};

struct mst_instance { struct mst_mock *m; };

struct mst_mock {
    struct mst_instance inst;
    const struct mst_plugin *plugin;
    cJSON *config;
    void *state;
    int inited, started;
    uint64_t now;
    char state_dir[64];
    struct mock_sub subs[MAX_ITEMS];
    struct mock_serve serves[MAX_ITEMS];
    struct mock_server servers[MAX_ITEMS];
    struct mst__routes routes;
    struct mst__static_mounts mounts;
    struct mst__buf last_headers; /* of the last mst_mock_http answer */
    char *problem; /* what health_set said last, NULL if cleared */
    struct mock_pub pubs[MAX_ITEMS];
    struct mst_timer timers[MAX_ITEMS];
    struct mst_metric metrics[MAX_ITEMS];
};

static struct mst_mock *M(mst_instance *inst) { return inst->m; }

/* --- host functions --------------------------------------------------------- */

static const char *h_instance_name(mst_instance *inst) { (void)inst; return "mock"; }
static const char *h_node_name(mst_instance *inst) { (void)inst; return "mock-node"; }
static const char *h_state_dir(mst_instance *inst) { return M(inst)->state_dir; }
static uint64_t h_now_ms(mst_instance *inst) { return M(inst)->now; }
static void h_free(void *p) { free(p); }

static void h_vlog(mst_instance *inst, enum mst_log_level level, const char *fmt, va_list ap)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    fprintf(stderr, "%s [%s:mock] ", names[level <= MST_LOG_DEBUG ? level : MST_LOG_DEBUG],
            M(inst)->plugin->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void h_log(mst_instance *inst, enum mst_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_vlog(inst, level, fmt, ap);
    va_end(ap);
}

static const char *h_config_string(mst_instance *inst, const char *path)
{
    return mst__json_string_at(M(inst)->config, path);
}

static int h_config_number(mst_instance *inst, const char *path, double *out)
{
    return mst__json_number_at(M(inst)->config, path, out);
}

static int h_config_int(mst_instance *inst, const char *path, int64_t *out)
{
    return mst__json_int_at(M(inst)->config, path, out);
}

static int h_config_bool(mst_instance *inst, const char *path, int *out)
{
    return mst__json_bool_at(M(inst)->config, path, out);
}

static size_t h_config_count(mst_instance *inst, const char *path)
{
    return mst__json_count_at(M(inst)->config, path);
}

static char *h_config_json(mst_instance *inst, const char *path)
{
    return mst__json_text_at(M(inst)->config, path);
}

static int h_publish(mst_instance *inst, const char *topic, const void *body, size_t len)
{
    struct mst_mock *m = M(inst);
    if (!topic || !mst__valid_topic(topic))
        return MST_EINVAL;
    if (!mst__topic_declared(m->plugin->publishes, topic))
        return MST_EACCES;
    for (int i = 0; i < MAX_ITEMS; i++) {
        struct mock_pub *p = &m->pubs[i];
        if (p->topic && strcmp(p->topic, topic) != 0)
            continue;
        if (!p->topic)
            p->topic = strdup(topic);
        p->count++;
        free(p->last);
        p->last = malloc(len + 1);
        memcpy(p->last, body, len);
        p->last[len] = '\0';
        p->last_len = len;
        return 0;
    }
    return MST_ENOMEM;
}

static int h_subscribe(mst_instance *inst, const char *pattern, mst_message_cb cb, void *arg)
{
    struct mst_mock *m = M(inst);
    if (!pattern || !mst__valid_pattern(pattern))
        return MST_EINVAL;
    if (!mst__pattern_declared(m->plugin->subscribes, pattern))
        return MST_EACCES;
    for (int i = 0; i < MAX_ITEMS; i++)
        if (!m->subs[i].pattern) {
            m->subs[i] = (struct mock_sub){strdup(pattern), cb, arg};
            return 0;
        }
    return MST_ENOMEM;
}

static int h_unsubscribe(mst_instance *inst, const char *pattern)
{
    struct mst_mock *m = M(inst);
    for (int i = 0; i < MAX_ITEMS; i++)
        if (m->subs[i].pattern && strcmp(m->subs[i].pattern, pattern) == 0) {
            free(m->subs[i].pattern);
            m->subs[i].pattern = NULL;
            return 0;
        }
    return MST_ENOENT;
}

static int h_request(mst_instance *inst, const char *topic, const void *body, size_t len,
                     uint32_t timeout_ms, mst_reply_cb cb, void *arg)
{
    (void)timeout_ms;
    struct mst_mock *m = M(inst);
    if (!topic || !mst__valid_topic(topic))
        return MST_EINVAL;
    if (!mst__topic_declared(m->plugin->requests, topic))
        return MST_EACCES;
    for (int i = 0; i < MAX_ITEMS; i++) {
        if (m->servers[i].topic && strcmp(m->servers[i].topic, topic) == 0) {
            char *reply = NULL;
            size_t rlen = 0;
            int status = m->servers[i].fn(m->servers[i].arg, body, len, &reply, &rlen);
            cb(arg, status, reply ? reply : "", reply ? rlen : 0);
            free(reply);
            return 0;
        }
    }
    return MST_ENOSERVER;
}

static int h_serve(mst_instance *inst, const char *topic, mst_serve_cb cb, void *arg)
{
    struct mst_mock *m = M(inst);
    if (!topic || !mst__valid_topic(topic))
        return MST_EINVAL;
    if (!mst__topic_declared(m->plugin->serves, topic))
        return MST_EACCES;
    for (int i = 0; i < MAX_ITEMS; i++)
        if (!m->serves[i].topic) {
            m->serves[i] = (struct mock_serve){strdup(topic), cb, arg};
            return 0;
        }
    return MST_ENOMEM;
}

static int h_respond(mst_request *req, int status, const void *body, size_t len)
{
    if (req->answered)
        return MST_EINVAL;
    req->answered = 1;
    req->status = status;
    req->body = malloc(len + 1);
    memcpy(req->body, body, len);
    req->body[len] = '\0';
    req->len = len;
    return 0;
}

static int h_timer_start(mst_instance *inst, uint64_t after_ms, uint64_t repeat_ms, mst_timer_cb cb,
                         void *arg, mst_timer **out)
{
    struct mst_mock *m = M(inst);
    for (int i = 0; i < MAX_ITEMS; i++)
        if (!m->timers[i].used) {
            m->timers[i] = (struct mst_timer){1, m->now + after_ms, repeat_ms, cb, arg};
            if (out)
                *out = &m->timers[i];
            return 0;
        }
    return MST_ENOMEM;
}

static void h_timer_stop(mst_timer *t) { if (t) t->used = 0; }

static int h_queue_work(mst_instance *inst, mst_work_cb work, mst_after_work_cb after, void *arg)
{
    (void)inst;
    work(arg);
    if (after)
        after(arg, 0);
    return 0;
}

static int h_db_open(mst_instance *inst, const char *file, const char *const *migrations, sqlite3 **out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", M(inst)->state_dir, file);
    if (sqlite3_open(path, out) != SQLITE_OK)
        return MST_EDB;
    sqlite3_exec(*out, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    sqlite3_stmt *st;
    int v = 0;
    if (sqlite3_prepare_v2(*out, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    for (; migrations && migrations[v]; v++) {
        char sql[64];
        if (sqlite3_exec(*out, migrations[v], NULL, NULL, NULL) != SQLITE_OK)
            return sqlite3_close(*out), *out = NULL, MST_EDB;
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        sqlite3_exec(*out, sql, NULL, NULL, NULL);
    }
    return 0;
}

static int h_http_route(mst_instance *inst, const char *method, const char *path, enum mst_role role,
                        mst_http_cb cb, void *arg)
{
    char *full = mst__route_path(h_instance_name(inst), path);
    int rc = mst__routes_add(&M(inst)->routes, M(inst), method, full, role, cb, arg);
    free(full);
    return rc;
}

static int h_http_static(mst_instance *inst, const char *prefix, const char *dir,
                         const struct mst_http_static_opts *opts)
{
    struct mst__buf why = {0};
    int rc = mst__static_mounts_add(&M(inst)->mounts, M(inst), h_instance_name(inst), M(inst)->plugin->name,
                                    prefix, dir, NULL, opts, &why);
    if (rc != 0)
        h_log(inst, MST_LOG_ERROR, "cannot serve files: %s", why.data);
    mst__buf_free(&why);
    return rc;
}

static const char *h_http_method(mst_http_request *r) { return r->method; }
static const char *h_http_path(mst_http_request *r) { return r->path; }
static const char *h_http_subpath(mst_http_request *r) { return r->subpath; }
static const char *h_http_query(mst_http_request *r) { (void)r; return ""; }
static const char *h_http_header(mst_http_request *r, const char *n) { (void)r, (void)n; return NULL; }
static const char *h_http_query_param(mst_http_request *r, const char *n) { (void)r, (void)n; return NULL; }
static const void *h_http_body(mst_http_request *r, size_t *len) { *len = r->body_len; return r->body; }
static int h_http_set_header(mst_http_request *r, const char *n, const char *v)
{
    if (r->answered || !n || !v)
        return MST_EINVAL;
    mst__buf_append(&r->headers, n, strlen(n) + 1);
    mst__buf_append(&r->headers, v, strlen(v) + 1);
    return 0;
}

static int h_http_respond(mst_http_request *r, int status, const char *ctype, const void *body, size_t len)
{
    (void)ctype;
    if (r->answered)
        return MST_EINVAL;
    r->answered = 1;
    r->status = status;
    r->response = malloc(len + 1);
    memcpy(r->response, body, len);
    r->response[len] = '\0';
    r->response_len = len;
    return 0;
}

static int h_ws_endpoint(mst_instance *i, const char *p, const char *s, enum mst_role r,
                         const struct mst_ws_handlers *h, void *a)
{
    (void)i, (void)p, (void)s, (void)r, (void)h, (void)a;
    return 0;
}
static int h_ws_send(mst_ws_conn *c, const void *d, size_t l, int b) { (void)c, (void)d, (void)l, (void)b; return MST_ENOTSUP; }
static void h_ws_close(mst_ws_conn *c) { (void)c; }
/* No connection ever opens under the mock: no data to hold; limits are accepted. */
static void *h_ws_data(mst_ws_conn *c) { (void)c; return NULL; }
static void h_ws_set_data(mst_ws_conn *c, void *d) { (void)c, (void)d; }
static int h_ws_endpoint_limits(mst_instance *i, const char *p, size_t max, unsigned ping)
{
    (void)i, (void)max, (void)ping;
    return p ? 0 : MST_EINVAL;
}

static int h_metric(mst_instance *inst, enum mst_metric_kind kind, const char *name, const char *help,
                    mst_metric **out)
{
    (void)kind, (void)help;
    struct mst_mock *m = M(inst);
    for (int i = 0; i < MAX_ITEMS; i++) {
        if (m->metrics[i].name && strcmp(m->metrics[i].name, name) == 0) {
            *out = &m->metrics[i];
            return 0;
        }
        if (!m->metrics[i].name) {
            m->metrics[i].name = strdup(name);
            *out = &m->metrics[i];
            return 0;
        }
    }
    return MST_ENOMEM;
}

static void h_metric_add(mst_metric *x, double d) { if (x) x->value += d; }
static void h_metric_set(mst_metric *x, double v) { if (x) x->value = v; }
static void h_metric_observe(mst_metric *x, double v) { if (x) x->value = v; }

static int h_udp_bind(mst_instance *i, const char *a, uint16_t p, size_t r, mst_udp_cb cb, void *arg, mst_udp **o)
{
    (void)i, (void)a, (void)p, (void)r, (void)cb, (void)arg, (void)o;
    return MST_ENOTSUP; /* drive the plugin's datagram handler directly in a unit test */
}
static int h_udp_send(mst_udp *u, const struct sockaddr *t, const void *d, size_t l) { (void)u, (void)t, (void)d, (void)l; return MST_ENOTSUP; }
static void h_udp_close(mst_udp *u) { (void)u; }
static int h_udp_port(mst_udp *u) { (void)u; return -1; }
static const char *h_http_peer(mst_http_request *r) { (void)r; return "127.0.0.1"; }
static enum mst_role h_http_role(mst_http_request *r) { return r->role; }

static int h_health_set(mst_instance *inst, const char *problem)
{
    free(M(inst)->problem);
    M(inst)->problem = problem && *problem ? mst__xstrdup(problem) : NULL;
    return 0;
}

static int h_script_open(mst_instance *i, const char *p, mst_script **o) { (void)i, (void)p, (void)o; return MST_ENOTSUP; }
static int h_script_call(mst_script *s, const char *f, const char *j, size_t l, char **r)
{
    (void)s, (void)f, (void)j, (void)l;
    *r = NULL;
    return MST_ENOTSUP;
}
static void h_script_close(mst_script *s) { (void)s; }

static const struct mst_host mock_host = {
    .abi_version = MST_PLUGIN_ABI, .struct_size = sizeof(struct mst_host),
    .instance_name = h_instance_name, .node_name = h_node_name, .state_dir = h_state_dir,
    .now_ms = h_now_ms, .free = h_free, .log = h_log, .vlog = h_vlog,
    .config_string = h_config_string, .config_int = h_config_int, .config_number = h_config_number,
    .config_bool = h_config_bool, .config_count = h_config_count, .config_json = h_config_json,
    .publish = h_publish, .subscribe = h_subscribe, .unsubscribe = h_unsubscribe,
    .request = h_request, .serve = h_serve, .respond = h_respond,
    .timer_start = h_timer_start, .timer_stop = h_timer_stop, .queue_work = h_queue_work,
    .db_open = h_db_open, .http_route = h_http_route, .http_method = h_http_method,
    .http_path = h_http_path, .http_subpath = h_http_subpath, .http_query = h_http_query,
    .http_header = h_http_header, .http_body = h_http_body, .http_set_header = h_http_set_header,
    .http_respond = h_http_respond, .ws_endpoint = h_ws_endpoint, .ws_send = h_ws_send,
    .ws_close = h_ws_close, .metric = h_metric, .metric_add = h_metric_add,
    .metric_set = h_metric_set, .metric_observe = h_metric_observe,
    .http_query_param = h_http_query_param,
    .udp_bind = h_udp_bind, .udp_send = h_udp_send, .udp_close = h_udp_close, .udp_port = h_udp_port,
    .script_open = h_script_open, .script_call = h_script_call, .script_close = h_script_close,
    .http_peer = h_http_peer,
    .ws_data = h_ws_data, .ws_set_data = h_ws_set_data, .ws_endpoint_limits = h_ws_endpoint_limits,
    .http_role = h_http_role,
    .http_static = h_http_static,
    .health_set = h_health_set,
};

/* --- the test-facing API ------------------------------------------------------ */

/* The instance's config as mestysd would hand it to init: parsed (comments
 * allowed, as in the town's file), checked against the plugin's schema and
 * completed with its defaults by the daemon's own code.  Problems go to
 * stderr in the daemon's words; NULL if there were any. */
static cJSON *load_config(const struct mst_plugin *p, const char *json)
{
    char *text = mst__xstrdup(json && *json ? json : "{}");
    size_t len = strlen(text), bad_comment;
    struct mst__diag d = {.file = "mock config"};
    struct mst__jsonpos *pos = NULL;
    cJSON *cfg = NULL, *valid = NULL;
    if (mst__json_strip_comments(text, len, &bad_comment) != 0) {
        mst__buf_printf(&d.text, "%s: error: a comment is not closed\n", d.file);
        goto out;
    }
    cfg = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(cfg)) {
        mst__buf_printf(&d.text, "%s: error: not a JSON object\n", d.file);
        goto out;
    }
    d.pos = pos = mst__jsonpos_build(text, len, cfg);
    if (mst__schema_check_plugin(&d, p, cfg, cfg, "config") == 0)
        valid = cfg, cfg = NULL;
out:
    fputs(d.text.data ? d.text.data : "", stderr);
    cJSON_Delete(cfg);
    mst__jsonpos_free(pos);
    mst__diag_free(&d);
    free(text);
    return valid;
}

struct mst_mock *mst_mock_new(const struct mst_plugin *plugin, const char *config_json)
{
    cJSON *cfg = load_config(plugin, config_json);
    if (!cfg)
        return NULL;
    struct mst_mock *m = calloc(1, sizeof *m);
    m->inst.m = m;
    mst__routes_init(&m->routes);
    mst__static_mounts_init(&m->mounts);
    m->plugin = plugin;
    m->config = cfg;
    snprintf(m->state_dir, sizeof m->state_dir, "/tmp/mestys-mock-XXXXXX");
    if (!mkdtemp(m->state_dir)) {
        cJSON_Delete(cfg);
        free(m);
        return NULL;
    }
    return m;
}

const struct mst_host *mst_mock_host(struct mst_mock *m) { (void)m; return &mock_host; }
mst_instance *mst_mock_instance(struct mst_mock *m) { return &m->inst; }
const char *mst_mock_state_dir(struct mst_mock *m) { return m->state_dir; }

int mst_mock_init(struct mst_mock *m)
{
    int rc = m->plugin->init(&m->inst, &mock_host, &m->state);
    m->inited = rc == 0;
    return rc;
}

int mst_mock_start(struct mst_mock *m)
{
    int rc = m->plugin->start ? m->plugin->start(m->state) : 0;
    m->started = rc == 0;
    return rc;
}

void mst_mock_stop(struct mst_mock *m)
{
    if (m->started && m->plugin->stop)
        m->plugin->stop(m->state);
    m->started = 0;
}

int mst_mock_reload(struct mst_mock *m, const char *config_json)
{
    cJSON *cfg = load_config(m->plugin, config_json);
    if (!cfg)
        return MST_ECONFIG;
    cJSON_Delete(m->config);
    m->config = cfg;
    return m->plugin->reload ? m->plugin->reload(m->state) : MST_ENOTSUP;
}

void mst_mock_advance(struct mst_mock *m, uint64_t ms)
{
    uint64_t end = m->now + ms;
    for (;;) {
        struct mst_timer *next = NULL;
        for (int i = 0; i < MAX_ITEMS; i++)
            if (m->timers[i].used && m->timers[i].due <= end && (!next || m->timers[i].due < next->due))
                next = &m->timers[i];
        if (!next)
            break;
        m->now = next->due;
        if (next->repeat)
            next->due += next->repeat;
        else
            next->used = 0;
        next->cb(next->arg);
    }
    m->now = end;
}

int mst_mock_deliver(struct mst_mock *m, const char *topic, const char *body, size_t len)
{
    int n = 0;
    for (int i = 0; i < MAX_ITEMS; i++)
        if (m->subs[i].pattern && mst__topic_matches(m->subs[i].pattern, topic)) {
            m->subs[i].cb(m->subs[i].arg, topic, body, len);
            n++;
        }
    return n ? 0 : MST_ENOENT;
}

size_t mst_mock_published_count(struct mst_mock *m, const char *topic)
{
    for (int i = 0; i < MAX_ITEMS && m->pubs[i].topic; i++)
        if (strcmp(m->pubs[i].topic, topic) == 0)
            return m->pubs[i].count;
    return 0;
}

const char *mst_mock_last_published(struct mst_mock *m, const char *topic, size_t *len)
{
    for (int i = 0; i < MAX_ITEMS && m->pubs[i].topic; i++)
        if (strcmp(m->pubs[i].topic, topic) == 0) {
            if (len)
                *len = m->pubs[i].last_len;
            return m->pubs[i].last;
        }
    return NULL;
}

int mst_mock_request(struct mst_mock *m, const char *topic, const char *body, size_t len, int *status,
                     char **reply, size_t *reply_len)
{
    for (int i = 0; i < MAX_ITEMS; i++) {
        if (!m->serves[i].topic || strcmp(m->serves[i].topic, topic) != 0)
            continue;
        struct mst_request req = {0};
        m->serves[i].cb(m->serves[i].arg, &req, topic, body, len);
        if (!req.answered)
            return MST_EAGAIN;
        *status = req.status;
        *reply = req.body;
        if (reply_len)
            *reply_len = req.len;
        return 0;
    }
    return MST_ENOSERVER;
}

void mst_mock_serve(struct mst_mock *m, const char *topic, mst_mock_server fn, void *arg)
{
    for (int i = 0; i < MAX_ITEMS; i++)
        if (!m->servers[i].topic) {
            m->servers[i] = (struct mock_server){strdup(topic), fn, arg};
            return;
        }
}

/* An answer the core gives itself (404, 405, 403), in the daemon's words. */
static void core_answer(struct mst_http_request *req, int status, const char *message)
{
    struct mst__buf body = {0};
    mst__http_error_body(&body, status, message);
    req->answered = 1;
    req->status = status;
    req->response = body.data;
    req->response_len = body.len;
}

int mst_mock_http(struct mst_mock *m, const char *method, const char *path, enum mst_role role,
                  const char *body, size_t len, int *status, char **response, size_t *response_len)
{
    char *full = mst__route_path(h_instance_name(&m->inst), path);
    struct mst_http_request req = {.method = method, .path = full, .body = body ? body : "", .body_len = len,
                                   .role = role};
    struct mst__route_match match;
    struct mst__buf why = {0};
    mst__routes_match(&m->routes, method, full, &match);
    if (!match.route) {
        if (match.status == 405)
            h_http_set_header(&req, "Allow", match.allow.data);
        core_answer(&req, match.status, match.message.data);
    } else if (mst__route_authorize((int)role, match.route->role, &why) != 0) {
        core_answer(&req, 403, why.data); /* the caller holds a token: a role, never none */
    } else {
        req.subpath = match.subpath;
        match.route->cb(match.route->arg, &req);
    }
    mst__route_match_free(&match);
    mst__buf_free(&why);
    mst__buf_free(&m->last_headers);
    m->last_headers = req.headers;
    free(full);
    if (!req.answered)
        return MST_EAGAIN;
    if (strcmp(method, "HEAD") == 0)
        req.response_len = 0; /* answered like GET, without the body */
    *status = req.status;
    *response = req.response ? req.response : strdup("");
    if (response_len)
        *response_len = req.response_len;
    return 0;
}

const char *mst_mock_health_problem(struct mst_mock *m)
{
    return m->problem;
}

const char *mst_mock_http_header(struct mst_mock *m, const char *name)
{
    for (size_t off = 0; off < m->last_headers.len;) {
        const char *n = m->last_headers.data + off;
        const char *v = n + strlen(n) + 1;
        if (strcasecmp(n, name) == 0)
            return v;
        off += strlen(n) + strlen(v) + 2;
    }
    return NULL;
}

double mst_mock_metric(struct mst_mock *m, const char *name)
{
    for (int i = 0; i < MAX_ITEMS && m->metrics[i].name; i++)
        if (strcmp(m->metrics[i].name, name) == 0)
            return m->metrics[i].value;
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

void mst_mock_free(struct mst_mock *m)
{
    if (!m)
        return;
    mst_mock_stop(m);
    if (m->inited && m->plugin->fini)
        m->plugin->fini(m->state);
    for (int i = 0; i < MAX_ITEMS; i++) {
        free(m->subs[i].pattern);
        free(m->serves[i].topic);
        free(m->servers[i].topic);
        free(m->pubs[i].topic);
        free(m->pubs[i].last);
        free(m->metrics[i].name);
    }
    mst__routes_clear(&m->routes);
    mst__static_mounts_free(&m->mounts);
    mst__buf_free(&m->last_headers);
    free(m->problem);
    cJSON_Delete(m->config);
    remove_tree(m->state_dir);
    free(m);
}
