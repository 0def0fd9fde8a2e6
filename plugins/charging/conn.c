/* conn.c - one OCPP-J connection (OCPP-J 1.6 §4): the handshake, frames
 * in, and our calls out.
 *
 * Incoming CALLs are answered at once, in the order they came: every
 * handler is synchronous (its SQLite write included), so a second CALL the
 * charge point sends before reading our first answer simply waits in the
 * socket until the first is answered -- it is never refused, and the
 * answers go out in order.  (OCPP-J asks a charge point not to send it; a
 * CSMS that refused it would lose a message the station believes it sent.)
 *
 * Outgoing CALLs are queued per connection, one outstanding at a time,
 * matched by id, each with a timeout (call_timeout_s).  A late reply to a
 * call that timed out no longer matches and is counted and dropped; the
 * connection stays usable.  Every payload we send, ours or an answer, is
 * checked against its schema first: a bug of ours becomes an
 * InternalError and a log line, never a frame that breaks the protocol. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charging.h"

#define MAX_QUEUED 64 /* outgoing calls waiting per connection */

static void log_once(struct charging *c, unsigned bit, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The first time something goes wrong in a way a peer can repeat at will,
 * it is logged; afterwards only counted. */
static void log_once(struct charging *c, unsigned bit, const char *fmt, ...)
{
    if (c->logged & (1u << bit))
        return;
    c->logged |= 1u << bit;
    va_list ap;
    va_start(ap, fmt);
    c->host->vlog(c->inst, MST_LOG_WARN, fmt, ap);
    va_end(ap);
}

static void send_text(struct chg_conn *cc, char *frame)
{
    if (frame)
        cc->c->host->ws_send(cc->ws, frame, strlen(frame), 0);
    free(frame);
}

/* A CALLERROR for id ("-1" if the id could not be read, as ocpp-rpc does). */
static void send_error(struct chg_conn *cc, const char *id, enum chg_ocpp_err code, const char *why)
{
    struct charging *c = cc->c;
    c->host->metric_add(c->errors_sent[code], 1);
    send_text(cc, chg_frame_error(id[0] ? id : "-1", code, why, NULL));
}

/* --- outgoing calls -------------------------------------------------------- */

static void call_free(struct chg_call *k)
{
    free(k->frame);
    free(k);
}

static void on_timeout(void *arg);
static void finish_head(struct chg_conn *cc, const struct chg_reply *r);

/* Sends the head of the queue if nothing is outstanding. */
static void send_next(struct chg_conn *cc)
{
    struct charging *c = cc->c;
    while (!cc->sent && cc->queue && cc->ws) {
        int rc = c->host->ws_send(cc->ws, cc->queue->frame, strlen(cc->queue->frame), 0);
        if (rc == MST_ECLOSED)
            return; /* closing: close() fails what is queued */
        if (rc == 0)
            break;
        /* the station does not read what we send (MST_EAGAIN): this call fails, the next is tried */
        struct chg_reply r = {.outcome = CHG_CALL_CLOSED, .text = "the charge point is not reading what we send"};
        finish_head(cc, &r);
    }
    if (cc->sent || !cc->queue || !cc->ws)
        return;
    cc->sent = 1;
    c->host->metric_add(c->calls_out, 1);
    c->host->timer_start(c->inst, (uint64_t)c->call_timeout_s * 1000, 0, on_timeout, cc, &cc->timeout);
}

/* Takes the head off the queue and tells its caller how it ended. */
static void finish_head(struct chg_conn *cc, const struct chg_reply *r)
{
    struct chg_call *k = cc->queue;
    cc->queue = k->next;
    if (!cc->queue)
        cc->queue_tail = NULL;
    cc->sent = 0;
    if (cc->timeout) {
        cc->c->host->timer_stop(cc->timeout);
        cc->timeout = NULL;
    }
    k->cb(k->arg, r);
    call_free(k);
}

static void on_timeout(void *arg)
{
    struct chg_conn *cc = arg;
    struct charging *c = cc->c;
    cc->timeout = NULL; /* a one-shot timer is gone once it fired */
    c->host->metric_add(c->call_timeouts, 1);
    log_once(c, CHG_LOG_TIMEOUT, "charge point %s did not answer %s within %lld s (further timeouts are only counted)",
             cc->id, cc->queue->action, (long long)c->call_timeout_s);
    struct chg_reply r = {.outcome = CHG_CALL_TIMEOUT, .text = "the charge point did not answer in time"};
    finish_head(cc, &r);
    send_next(cc);
}

/* Every call still queued ends CLOSED. */
static void fail_all(struct chg_conn *cc)
{
    struct chg_reply r = {.outcome = CHG_CALL_CLOSED, .text = "the charge point's connection closed"};
    while (cc->queue)
        finish_head(cc, &r);
}

int chg_call(struct charging *c, struct chg_station *st, const char *action, const cJSON *payload, chg_reply_cb cb,
             void *arg, char *why, size_t whylen)
{
    struct chg_conn *cc = st->conn;
    /* a bad payload is the caller's to fix whether or not the station is
     * there: say so first (400 before 409 in the API) */
    enum chg_ocpp_err e = chg_schema_check(c->schemas, action, 0, payload, why, whylen);
    if (e != CHG_OCPP_OK)
        return MST_EINVAL;
    if (!cc || !cc->ws) {
        snprintf(why, whylen, "charge point %s is not connected", st->id);
        return MST_ECLOSED;
    }
    size_t n = 0;
    for (struct chg_call *k = cc->queue; k; k = k->next)
        n++;
    if (n >= MAX_QUEUED) {
        snprintf(why, whylen, "%d calls are already waiting for charge point %s", MAX_QUEUED, st->id);
        return MST_EAGAIN;
    }
    struct chg_call *k = calloc(1, sizeof *k);
    if (!k)
        return MST_ENOMEM;
    chg_frame_new_id(k->id);
    snprintf(k->action, sizeof k->action, "%s", action);
    k->cb = cb;
    k->arg = arg;
    if (!(k->frame = chg_frame_call(k->id, action, payload))) {
        free(k);
        return MST_ENOMEM;
    }
    if (cc->queue_tail)
        cc->queue_tail->next = k;
    else
        cc->queue = k;
    cc->queue_tail = k;
    send_next(cc);
    return 0;
}

/* A CALLRESULT or CALLERROR: the answer to our outstanding call, or noise. */
static void on_reply(struct chg_conn *cc, const struct chg_frame *f)
{
    struct charging *c = cc->c;
    if (!cc->sent || strcmp(cc->queue->id, f->id) != 0) {
        c->host->metric_add(c->replies_unexpected, 1);
        log_once(c, CHG_LOG_UNEXPECTED, "charge point %s answered a call we are not waiting for (id %.36s): dropped"
                 " (a late answer after a timeout, or a confused peer; further ones are only counted)", cc->id, f->id);
        return;
    }
    char why[256] = "";
    struct chg_reply r = {.outcome = CHG_CALL_RESULT, .payload = f->payload};
    if (f->type == CHG_CALLERROR) {
        r.outcome = CHG_CALL_ERROR;
        r.code = f->error;
        r.text = f->error_text ? f->error_text : "";
        c->host->metric_add(c->call_errors, 1);
    } else if (chg_schema_check(c->schemas, cc->queue->action, 1, f->payload, why, sizeof why) != CHG_OCPP_OK) {
        r.outcome = CHG_CALL_INVALID;
        r.text = why;
        c->host->metric_add(c->replies_invalid, 1);
        log_once(c, CHG_LOG_INVALID_CONF, "charge point %s answered %s with a payload that breaks its schema: %s"
                 " (further ones are only counted)", cc->id, cc->queue->action, why);
    }
    finish_head(cc, &r);
    send_next(cc);
}

/* --- incoming calls -------------------------------------------------------- */

static void on_call(struct chg_conn *cc, const struct chg_frame *f)
{
    struct charging *c = cc->c;
    char why[256] = "";
    cJSON *conf = NULL;
    c->host->metric_add(c->calls_in, 1);
    enum chg_ocpp_err e = chg_incoming(cc, f, &conf, why, sizeof why);
    if (e != CHG_OCPP_OK) {
        log_once(c, CHG_LOG_CODE + e, "charge point %s: %s %s answered %s: %s (further ones are only counted)",
                 cc->id, f->action, f->id, chg_ocpp_err_name(e), why);
        send_error(cc, f->id, e, why);
        cJSON_Delete(conf);
        return;
    }
    /* what we answer must be valid too: a bug of ours is not sent */
    if (chg_schema_check(c->schemas, f->action, 1, conf, why, sizeof why) != CHG_OCPP_OK) {
        c->host->metric_add(c->outgoing_invalid, 1);
        c->host->log(c->inst, MST_LOG_ERROR, "our answer to %s breaks its schema (a bug): %s", f->action, why);
        send_error(cc, f->id, CHG_OCPP_INTERNAL_ERROR, "the central system could not form its answer");
    } else {
        send_text(cc, chg_frame_result(f->id, conf));
    }
    cJSON_Delete(conf);
    if (cc->booted_now) {
        cc->booted_now = 0;
        chg_after_boot(cc);
    }
}

/* --- the WebSocket endpoint ------------------------------------------------ */

static int on_handshake(void *arg, const struct mst_ws_handshake *hs, void **conn_data)
{
    struct charging *c = arg;
    struct chg_hello h = {.id = hs->subpath, .authorization = hs->authorization, .tls = hs->tls,
                          .client_cn = hs->client_cn};
    struct chg_station *st;
    enum chg_refusal why;
    int status = chg_handshake_decide(c, &h, &st, &why);
    if (status != 0)
        return status;
    struct chg_conn *cc = calloc(1, sizeof *cc);
    if (!cc)
        return 503;
    cc->c = c;
    snprintf(cc->id, sizeof cc->id, "%s", st->id);
    cc->next = c->conns;
    c->conns = cc;
    *conn_data = cc;
    return 0;
}

/* The newer connection wins: the older one's calls fail, it is closed. */
static void claim(struct chg_conn *cc, struct chg_station *st)
{
    struct charging *c = cc->c;
    struct chg_conn *old = st->conn;
    if (old) {
        /* detached first, so what its failing calls start anew waits for the new one */
        old->st = NULL;
        st->conn = NULL;
        c->host->ws_close(old->ws);
        fail_all(old);
        c->host->metric_add(c->replaced, 1);
        c->host->log(c->inst, MST_LOG_INFO, "charge point %s connected again: its older connection is closed", st->id);
    }
    st->conn = cc;
    st->booted = 0;
    cc->st = st;
    chg_station_heard(c, st);
}

static void on_open(void *arg, mst_ws_conn *ws, const char *path)
{
    struct charging *c = arg;
    struct chg_conn *cc = c->host->ws_data(ws);
    if (!cc)
        return;
    cc->ws = ws;
    struct chg_station *st = chg_station_find(c, cc->id);
    if (!st) { /* deleted between the handshake and now */
        c->host->ws_close(ws);
        return;
    }
    claim(cc, st);
    c->host->metric_add(c->connections, 1);
}

static void on_message(void *arg, mst_ws_conn *ws, const void *data, size_t len, int binary)
{
    struct charging *c = arg;
    struct chg_conn *cc = c->host->ws_data(ws);
    if (!cc || !cc->st)
        return; /* replaced by a newer connection, closing */
    chg_station_heard(c, cc->st);
    if (binary) {
        c->host->metric_add(c->frames_refused, 1);
        log_once(c, CHG_LOG_BINARY, "charge point %s sent a binary frame; OCPP-J is text only: connection closed"
                 " (further ones are only counted)", cc->id);
        c->host->ws_close(ws);
        return;
    }
    struct chg_frame f;
    char why[256] = "";
    enum chg_ocpp_err e = chg_frame_parse(data, len, &f, why, sizeof why);
    if (e != CHG_OCPP_OK) {
        c->host->metric_add(c->frames_refused, 1);
        log_once(c, CHG_LOG_FRAME, "charge point %s sent a frame that is not OCPP-J: %s (%s; further ones are only"
                 " counted)", cc->id, why, chg_ocpp_err_name(e));
        if (f.type == CHG_CALLRESULT || f.type == CHG_CALLERROR) {
            /* an answer is never answered; a broken answer to our call ends it */
            if (cc->sent && strcmp(cc->queue->id, f.id) == 0) {
                struct chg_reply r = {.outcome = CHG_CALL_INVALID, .text = why};
                c->host->metric_add(c->replies_invalid, 1);
                finish_head(cc, &r);
                send_next(cc);
            }
        } else {
            send_error(cc, f.id, e, why);
        }
        chg_frame_free(&f);
        return;
    }
    if (f.type == CHG_CALL)
        on_call(cc, &f);
    else
        on_reply(cc, &f);
    chg_frame_free(&f);
}

static void unlink_conn(struct charging *c, struct chg_conn *cc)
{
    for (struct chg_conn **p = &c->conns; *p; p = &(*p)->next)
        if (*p == cc) {
            *p = cc->next;
            return;
        }
}

static void on_close(void *arg, mst_ws_conn *ws)
{
    struct charging *c = arg;
    struct chg_conn *cc = c->host->ws_data(ws);
    if (!cc)
        return;
    if (cc->st && cc->st->conn == cc) {
        cc->st->conn = NULL;
        cc->st->booted = 0;
        chg_figures_offline(c, cc->st);
        chg_db_save_station(c, cc->st); /* its last contact, kept across restarts */
    }
    cc->st = NULL;
    fail_all(cc);
    unlink_conn(c, cc);
    free(cc);
}

const struct mst_ws_handlers chg_ws_handlers = {
    .struct_size = sizeof(struct mst_ws_handlers),
    .open = on_open,
    .message = on_message,
    .close = on_close,
    .handshake = on_handshake,
};

void chg_conn_close_all(struct charging *c)
{
    for (struct chg_conn *cc = c->conns; cc; cc = cc->next) {
        if (cc->st && cc->st->conn == cc) {
            cc->st->conn = NULL;
            chg_figures_offline(c, cc->st); /* unknown while we are down: not counted as up */
            chg_db_save_station(c, cc->st);
        }
        cc->st = NULL;
        fail_all(cc);
        if (cc->ws)
            c->host->ws_close(cc->ws);
    }
}

void chg_conn_free_all(struct charging *c)
{
    while (c->conns) {
        struct chg_conn *cc = c->conns;
        c->conns = cc->next;
        fail_all(cc);
        free(cc);
    }
}
