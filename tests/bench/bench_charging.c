/* bench_charging - an OCPP-J 1.6 load generator: one process, one libuv loop, libwebsockets' client.
 *
 * It opens N WebSocket connections (subprotocol ocpp1.6, HTTP Basic optional) to <url>/<prefix><n>,
 * each sends BootNotification; once the boots are answered, Heartbeat and MeterValues go out at a total
 * rate, each charge point with at most one call outstanding (OCPP-J §4.1.1), for some seconds.  It
 * prints connections held, messages/s answered, p50/p99 reply latency and the server's RSS per
 * connection (VmRSS of --pid before the connections and once they are all up).
 *
 * With --echo it first starts, in a child process, a raw libwebsockets server on the same kind of loop
 * that answers each CALL with the CALLRESULT the charging plugin would give (no schema, no database,
 * no bus): the same generator against it measures what the machine and lws allow, the limit the
 * daemon's figures stand next to.  tests/bench/bench_charging.py runs both and the daemon.
 *
 *   bench_charging --url ws://127.0.0.1:8080/api/charging/ocpp --connections 500 --rate 2000 \
 *                  --seconds 10 [--prefix CP-BENCH-] [--password PW] [--pid PID] [--echo]
 *   bench_charging --parse 200000     what reading one message costs: chg_frame_parse + chg_schema_check
 *                                     of a MeterValues CALL, next to cJSON_Parse alone of the same text
 * Output: one "key value" per line (bench_charging.py reads them). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <uv.h>

#include "charging/ocpp_schema.h"
#include "charging/rpc.h"

#define OUT_MAX 1024 /* the longest message either side writes */

struct options {
    char host[128], path[256];
    int port;
    const char *prefix, *password;
    int connections, rate, seconds, inflight, echo, parse;
    long pid;
};

/* --- one charge point --------------------------------------------------------------------------- */

enum cp_state { CP_IDLE, CP_CONNECTING, CP_OPEN, CP_BOOTED, CP_GONE };

struct charge_point {
    struct lws *wsi;
    enum cp_state state;
    int number;
    unsigned seq;            /* message ids: "<seq>" per connection */
    char pending_id[16];     /* the call waiting for its answer, "" if none */
    char pending_action[20];
    uint64_t sent_ns;        /* when that call was decided on */
    char *out;               /* a message waiting for the socket to be writable (LWS_PRE in front) */
    size_t out_len;
    char *reply;             /* an answer to the server's call, waiting too */
    size_t reply_len;
    char *rx;                /* a message arriving in fragments */
    size_t rx_len;
    double energy_wh;
};

struct latencies {
    uint32_t *us;
    size_t n, cap;
};

struct bench {
    struct options o;
    uv_loop_t loop;
    uv_timer_t tick;
    struct lws_context *ctx;
    struct chg_schemas *schemas;
    struct charge_point *cps;
    int next_to_open, connecting, open, booted, failed, closed, boot_refused;
    int phase; /* 0 connecting, 1 load, 2 done */
    uint64_t phase_start, load_end, last_reply;
    double budget;
    size_t rr; /* round robin over the charge points */
    unsigned long sent, answered, call_errors, bad_replies, server_calls, unexpected, throttled;
    struct latencies boot_lat, load_lat;
    uint32_t worst_us[600];     /* the slowest answer of each second of the load: periodic stalls show */
    unsigned long slow;         /* answers over 50 ms */
    long rss_before, rss_connected, rss_after;
};

static struct bench B;

static uint64_t now_ns(void) { return uv_hrtime(); }

static void latency_add(struct latencies *l, uint64_t ns)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        uint32_t *us = realloc(l->us, cap * sizeof *us);
        if (!us)
            return;
        l->us = us;
        l->cap = cap;
    }
    uint64_t us = ns / 1000;
    l->us[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_ms(struct latencies *l, double p)
{
    if (!l->n)
        return 0;
    qsort(l->us, l->n, sizeof *l->us, by_value);
    size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
    return l->us[i] / 1000.0;
}

static long rss_kb(long pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void rfc3339_now(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

/* --- sending ------------------------------------------------------------------------------------ */

/* Keeps text (with LWS_PRE bytes in front) until the socket can take it. */
static char *framed(const char *text, size_t *len)
{
    size_t n = strlen(text);
    char *buf = malloc(LWS_PRE + n + 1);
    if (!buf)
        return NULL;
    memcpy(buf + LWS_PRE, text, n + 1);
    *len = n;
    return buf;
}

static void send_call(struct charge_point *cp, const char *action, const char *payload)
{
    char text[OUT_MAX];
    snprintf(cp->pending_id, sizeof cp->pending_id, "%u", ++cp->seq);
    snprintf(cp->pending_action, sizeof cp->pending_action, "%s", action);
    snprintf(text, sizeof text, "[2,\"%s\",\"%s\",%s]", cp->pending_id, action, payload);
    cp->out = framed(text, &cp->out_len);
    cp->sent_ns = now_ns();
    B.sent++;
    lws_callback_on_writable(cp->wsi);
}

static void send_boot(struct charge_point *cp)
{
    send_call(cp, "BootNotification",
              "{\"chargePointVendor\":\"mestys-bench\",\"chargePointModel\":\"bench_charging\","
              "\"firmwareVersion\":\"1.0\"}");
}

static void send_load(struct charge_point *cp)
{
    char payload[OUT_MAX], now[32];
    if (cp->seq % 2) {
        send_call(cp, "Heartbeat", "{}");
        return;
    }
    rfc3339_now(now);
    cp->energy_wh += 3.7;
    snprintf(payload, sizeof payload,
             "{\"connectorId\":1,\"meterValue\":[{\"timestamp\":\"%s\",\"sampledValue\":["
             "{\"value\":\"%.1f\",\"measurand\":\"Energy.Active.Import.Register\",\"unit\":\"Wh\"},"
             "{\"value\":\"7400\",\"measurand\":\"Power.Active.Import\",\"unit\":\"W\"}]}]}",
             now, cp->energy_wh);
    send_call(cp, "MeterValues", payload);
}

/* The server's own calls (the plugin sends TriggerMessage after an accepted boot): answered as a
 * charge point that does not take them would, within the schemas. */
static void answer_server_call(struct charge_point *cp, const struct chg_frame *f)
{
    char *text = strcmp(f->action, "TriggerMessage") == 0 ? chg_frame_result(f->id, NULL) : NULL;
    cJSON *rejected = NULL;
    if (text) {
        free(text);
        rejected = cJSON_Parse("{\"status\":\"Rejected\"}");
        text = chg_frame_result(f->id, rejected);
    } else {
        text = chg_frame_error(f->id, CHG_OCPP_NOT_SUPPORTED, "not in the benchmark", NULL);
    }
    cJSON_Delete(rejected);
    B.server_calls++;
    if (!text || cp->reply) { /* one at a time is all a bench station answers */
        free(text);
        return;
    }
    cp->reply = framed(text, &cp->reply_len);
    free(text);
    lws_callback_on_writable(cp->wsi);
}

static int write_pending(struct charge_point *cp)
{
    char **buf = cp->reply ? &cp->reply : &cp->out;
    size_t len = cp->reply ? cp->reply_len : cp->out_len;
    if (!*buf)
        return 0;
    int n = lws_write(cp->wsi, (unsigned char *)*buf + LWS_PRE, len, LWS_WRITE_TEXT);
    free(*buf);
    *buf = NULL;
    if (n < (int)len)
        return -1;
    if (cp->out || cp->reply)
        lws_callback_on_writable(cp->wsi);
    return 0;
}

/* --- receiving ---------------------------------------------------------------------------------- */

static void on_answer(struct charge_point *cp, const struct chg_frame *f)
{
    char why[256];
    uint64_t took = now_ns() - cp->sent_ns;
    int boot = strcmp(cp->pending_action, "BootNotification") == 0;
    if (f->type == CHG_CALLERROR) {
        B.call_errors++;
    } else if (chg_schema_check(B.schemas, cp->pending_action, 1, f->payload, why, sizeof why) != CHG_OCPP_OK) {
        if (B.bad_replies++ < 3)
            fprintf(stderr, "bench_charging: a %s.conf breaks the schema: %s\n", cp->pending_action, why);
    }
    cp->pending_id[0] = '\0';
    B.answered++;
    B.last_reply = now_ns();
    if (!boot) {
        if (B.phase == 1) {
            uint64_t second = (cp->sent_ns - B.phase_start) / 1000000000u;
            uint32_t us = took / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(took / 1000);
            latency_add(&B.load_lat, took);
            if (second < sizeof B.worst_us / sizeof B.worst_us[0] && us > B.worst_us[second])
                B.worst_us[second] = us;
            B.slow += us > 50000;
        }
        return;
    }
    latency_add(&B.boot_lat, took);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(f->payload, "status");
    if (f->type == CHG_CALLRESULT && cJSON_IsString(status) && strcmp(status->valuestring, "Accepted") == 0) {
        cp->state = CP_BOOTED;
        B.booted++;
    } else if (B.boot_refused++ < 3) {
        fprintf(stderr, "bench_charging: %s%d's boot was not accepted\n", B.o.prefix, cp->number);
    }
}

static void on_message(struct charge_point *cp, const char *text, size_t len)
{
    struct chg_frame f;
    char why[256];
    if (chg_frame_parse(text, len, &f, why, sizeof why) != CHG_OCPP_OK) {
        if (B.bad_replies++ < 3)
            fprintf(stderr, "bench_charging: a bad frame from the server: %s\n", why);
        return;
    }
    if (f.type == CHG_CALL)
        answer_server_call(cp, &f);
    else if (cp->pending_id[0] && strcmp(f.id, cp->pending_id) == 0)
        on_answer(cp, &f);
    else
        B.unexpected++;
    chg_frame_free(&f);
}

static void on_fragment(struct charge_point *cp, struct lws *wsi, const char *in, size_t len)
{
    int first = lws_is_first_fragment(wsi), last = lws_is_final_fragment(wsi);
    if (first && last) {
        on_message(cp, in, len);
        return;
    }
    if (first) {
        free(cp->rx);
        cp->rx = NULL;
        cp->rx_len = 0;
    }
    char *rx = realloc(cp->rx, cp->rx_len + len);
    if (!rx)
        return;
    memcpy(rx + cp->rx_len, in, len);
    cp->rx = rx;
    cp->rx_len += len;
    if (last) {
        on_message(cp, cp->rx, cp->rx_len);
        free(cp->rx);
        cp->rx = NULL;
        cp->rx_len = 0;
    }
}

static void gone(struct charge_point *cp)
{
    if (cp->state == CP_CONNECTING)
        B.connecting--;
    if (cp->state == CP_OPEN || cp->state == CP_BOOTED)
        B.open--;
    if (cp->state == CP_BOOTED)
        B.booted--;
    cp->state = CP_GONE;
    cp->wsi = NULL;
    free(cp->out);
    free(cp->reply);
    free(cp->rx);
    cp->out = cp->reply = cp->rx = NULL;
}

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct charge_point *cp = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        /* HTTP Basic: the user is the charge point's id (OCPP 1.6 security profile 1) */
        unsigned char **p = in, *end = *p + len;
        char plain[256], value[400] = "Basic ";
        if (!B.o.password)
            break;
        int n = snprintf(plain, sizeof plain, "%s%d:%s", B.o.prefix, cp->number, B.o.password);
        if (lws_b64_encode_string(plain, n, value + 6, (int)sizeof value - 6) < 0 ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)value,
                                         (int)strlen(value), p, end))
            return -1;
        break;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        B.connecting--;
        B.open++;
        cp->state = CP_OPEN;
        send_boot(cp);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (B.failed++ < 3)
            fprintf(stderr, "bench_charging: %s%d: %s\n", B.o.prefix, cp->number, in ? (char *)in : "(no reason)");
        gone(cp);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        on_fragment(cp, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return write_pending(cp);
    case LWS_CALLBACK_CLIENT_CLOSED:
        B.closed++;
        gone(cp);
        break;
    default:
        break;
    }
    (void)user;
    return 0;
}

/* --- the loop: opening connections, then the load ----------------------------------------------- */

static void open_one(struct charge_point *cp)
{
    char path[300];
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    snprintf(path, sizeof path, "%s/%s%d", B.o.path, B.o.prefix, cp->number);
    ci.context = B.ctx;
    ci.address = B.o.host;
    ci.port = B.o.port;
    ci.path = path;
    ci.host = B.o.host;
    ci.origin = B.o.host;
    ci.protocol = "ocpp1.6";
    ci.local_protocol_name = "bench-ocpp";
    ci.opaque_user_data = cp;
    ci.pwsi = &cp->wsi;
    cp->state = CP_CONNECTING;
    B.connecting++;
    if (!lws_client_connect_via_info(&ci) && cp->state == CP_CONNECTING) {
        B.failed++;
        gone(cp);
    }
}

static void summary(void);

static void start_load(void)
{
    if (B.o.pid > 0)
        B.rss_connected = rss_kb(B.o.pid);
    B.phase = 1;
    B.phase_start = now_ns();
    B.budget = 0;
    fprintf(stderr, "bench_charging: %d of %d booted, %d failed; load for %d s\n", B.booted, B.o.connections,
            B.failed, B.o.seconds);
    if (!B.booted) { /* nobody to load */
        B.phase = 2;
        B.load_end = B.phase_start;
        summary();
    }
}

/* Every 2 ms: open connections (at most `inflight` handshakes at once), then send what the rate allows
 * since the last tick, to charge points with nothing outstanding. */
static void on_tick(uv_timer_t *t)
{
    static uint64_t last;
    uint64_t now = now_ns();
    (void)t;
    if (B.phase == 0) {
        while (B.next_to_open < B.o.connections && B.connecting < B.o.inflight)
            open_one(&B.cps[B.next_to_open++]);
        int settled = B.next_to_open == B.o.connections && B.connecting == 0;
        int waiting = 0;
        for (int i = 0; settled && i < B.o.connections; i++)
            waiting += B.cps[i].state == CP_OPEN;
        if (settled && !waiting)
            start_load();
        last = now;
        return;
    }
    if (B.phase == 2)
        return;
    if (now - B.phase_start >= (uint64_t)B.o.seconds * 1000000000u) {
        B.phase = 2;
        B.load_end = now;
        summary();
        return;
    }
    B.budget += B.o.rate * (double)(now - last) / 1e9;
    last = now;
    size_t scanned = 0, n = (size_t)B.o.connections;
    while (B.budget >= 1 && scanned < n) {
        struct charge_point *cp = &B.cps[B.rr++ % n];
        scanned++;
        if (cp->state != CP_BOOTED || cp->pending_id[0] || cp->out)
            continue;
        send_load(cp);
        B.budget -= 1;
        scanned = 0;
    }
    if (B.budget >= 1) { /* every charge point still waits for an answer: the server is behind */
        B.throttled += (unsigned long)B.budget;
        B.budget = 0;
    }
}

static void summary(void)
{
    double seconds = (double)(B.load_end - B.phase_start) / 1e9;
    if (B.o.pid > 0)
        B.rss_after = rss_kb(B.o.pid);
    printf("target %s\n", B.o.echo ? "echo" : "daemon");
    printf("connections %d\n", B.o.connections);
    printf("held %d\n", B.booted);
    printf("failed %d\n", B.failed);
    printf("closed %d\n", B.closed);
    printf("boot_p50_ms %.2f\nboot_p99_ms %.2f\n", percentile_ms(&B.boot_lat, 0.50), percentile_ms(&B.boot_lat, 0.99));
    printf("offered_per_s %d\n", B.o.rate);
    printf("messages_per_s %.0f\n", seconds > 0 ? B.load_lat.n / seconds : 0.0);
    printf("p50_ms %.2f\np99_ms %.2f\nmax_ms %.2f\n", percentile_ms(&B.load_lat, 0.50),
           percentile_ms(&B.load_lat, 0.99), percentile_ms(&B.load_lat, 1.0));
    printf("over_50ms %lu\nworst_ms_each_second", B.slow);
    for (int i = 0; i < B.o.seconds && i < (int)(sizeof B.worst_us / sizeof B.worst_us[0]); i++)
        printf(" %.0f", B.worst_us[i] / 1000.0);
    printf("\n");
    printf("call_errors %lu\nbad_replies %lu\nunexpected %lu\nserver_calls %lu\nthrottled %lu\n", B.call_errors,
           B.bad_replies, B.unexpected, B.server_calls, B.throttled);
    if (B.o.pid > 0) {
        printf("rss_before_kb %ld\nrss_connected_kb %ld\nrss_after_kb %ld\n", B.rss_before, B.rss_connected,
               B.rss_after);
        if (B.booted > 0)
            printf("rss_per_connection_kb %.2f\n", (double)(B.rss_connected - B.rss_before) / B.booted);
    }
    fflush(stdout);
    uv_timer_stop(&B.tick);
    /* closes every connection; on a foreign loop this only begins (finished in main) */
    lws_context_destroy(B.ctx);
}

/* --- the echo server: raw lws, the same answers, nothing behind them ----------------------------- */

struct echo_session {
    char *out;
    size_t out_len;
};

/* The CALLRESULT the plugin gives each of the generator's calls, built from the id alone. */
static char *echo_answer(const char *in, size_t len, size_t *out_len)
{
    char id[40], now[32], text[256];
    const char *q = memchr(in, '"', len), *e;
    if (!q || !(e = memchr(q + 1, '"', len - (size_t)(q + 1 - in))) || e - q - 1 >= (long)sizeof id)
        return NULL;
    snprintf(id, sizeof id, "%.*s", (int)(e - q - 1), q + 1);
    rfc3339_now(now);
    if (memmem(in, len, "\"BootNotification\"", 18))
        snprintf(text, sizeof text, "[3,\"%s\",{\"status\":\"Accepted\",\"currentTime\":\"%s\",\"interval\":60}]",
                 id, now);
    else if (memmem(in, len, "\"Heartbeat\"", 11))
        snprintf(text, sizeof text, "[3,\"%s\",{\"currentTime\":\"%s\"}]", id, now);
    else
        snprintf(text, sizeof text, "[3,\"%s\",{}]", id);
    return framed(text, out_len);
}

static int echo_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct echo_session *s = user;
    switch (reason) {
    case LWS_CALLBACK_RECEIVE:
        if (!lws_is_first_fragment(wsi) || !lws_is_final_fragment(wsi) || s->out)
            break; /* the generator's calls are small and one at a time */
        if ((s->out = echo_answer(in, len, &s->out_len)))
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!s->out)
            break;
        int n = lws_write(wsi, (unsigned char *)s->out + LWS_PRE, s->out_len, LWS_WRITE_TEXT);
        free(s->out);
        s->out = NULL;
        if (n < 0)
            return -1;
        break;
    }
    case LWS_CALLBACK_CLOSED:
        free(s->out);
        s->out = NULL;
        break;
    default:
        break;
    }
    return 0;
}

/* In the child: serve until killed; the port goes to the parent through the pipe. */
static void echo_server(int port_fd, int connections)
{
    static const struct lws_protocols protocols[] = {
        {"ocpp1.6", echo_cb, sizeof(struct echo_session), 1024, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    uv_loop_t loop;
    void *foreign[1] = {&loop};
    struct lws_context_creation_info info;
    uv_loop_init(&loop);
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = foreign;
    info.port = 0;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.fd_limit_per_thread = (unsigned)connections + 64;
    struct lws_context *ctx = lws_create_context(&info);
    int port = ctx ? lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default")) : -1;
    if (write(port_fd, &port, sizeof port) != sizeof port || port <= 0)
        _exit(1);
    close(port_fd);
    uv_run(&loop, UV_RUN_DEFAULT);
    _exit(0);
}

static pid_t start_echo(int connections, int *port)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        echo_server(fds[1], connections);
    }
    close(fds[1]);
    if (pid < 0 || read(fds[0], port, sizeof *port) != sizeof *port || *port <= 0) {
        close(fds[0]);
        return -1;
    }
    close(fds[0]);
    return pid;
}

/* --- reading one message, alone ----------------------------------------------------------------- */

static double per_second(int n, uint64_t ns) { return n / ((double)ns / 1e9); }

static int parse_only(int n)
{
    static const char text[] =
        "[2,\"4711\",\"MeterValues\",{\"connectorId\":1,\"transactionId\":7,\"meterValue\":[{\"timestamp\":"
        "\"2026-11-27T10:05:00.123Z\",\"sampledValue\":[{\"value\":\"1200.5\",\"measurand\":"
        "\"Energy.Active.Import.Register\",\"unit\":\"Wh\"},{\"value\":\"7400\",\"measurand\":"
        "\"Power.Active.Import\",\"unit\":\"W\"}]}]}]";
    char why[256];
    uint64_t t = now_ns();
    for (int i = 0; i < n; i++) {
        struct chg_frame f;
        if (chg_frame_parse(text, sizeof text - 1, &f, why, sizeof why) != CHG_OCPP_OK ||
            chg_schema_check(B.schemas, f.action, 0, f.payload, why, sizeof why) != CHG_OCPP_OK) {
            fprintf(stderr, "bench_charging: the sample message is refused: %s\n", why);
            return 1;
        }
        chg_frame_free(&f);
    }
    uint64_t ours = now_ns() - t;
    t = now_ns();
    for (int i = 0; i < n; i++)
        cJSON_Delete(cJSON_ParseWithLength(text, sizeof text - 1));
    uint64_t cjson = now_ns() - t;
    printf("message_bytes %zu\nparse_validate_per_s %.0f\ncjson_parse_per_s %.0f\n", sizeof text - 1,
           per_second(n, ours), per_second(n, cjson));
    return 0;
}

/* --- main --------------------------------------------------------------------------------------- */

static int parse_url(struct options *o, const char *url)
{
    char rest[256];
    if (sscanf(url, "ws://%127[^:/]:%d%255s", o->host, &o->port, rest) != 3)
        return -1;
    snprintf(o->path, sizeof o->path, "%s", rest);
    return 0;
}

static int parse_options(struct options *o, int argc, char **argv)
{
    *o = (struct options){.prefix = "CP-BENCH-", .connections = 100, .rate = 1000, .seconds = 10, .inflight = 64};
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--echo") == 0) {
            o->echo = 1;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (strcmp(a, "--url") == 0)
            url = v;
        else if (strcmp(a, "--connections") == 0)
            o->connections = atoi(v);
        else if (strcmp(a, "--rate") == 0)
            o->rate = atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            o->seconds = atoi(v);
        else if (strcmp(a, "--inflight") == 0)
            o->inflight = atoi(v);
        else if (strcmp(a, "--prefix") == 0)
            o->prefix = v;
        else if (strcmp(a, "--password") == 0)
            o->password = v;
        else if (strcmp(a, "--pid") == 0)
            o->pid = atol(v);
        else if (strcmp(a, "--parse") == 0)
            o->parse = atoi(v);
        else
            return -1;
    }
    if (o->echo || o->parse > 0)
        url = url ? url : "ws://127.0.0.1:0/ocpp";
    if (!url || parse_url(o, url) != 0 || o->connections < 1 || o->rate < 1 || o->seconds < 1 || o->inflight < 1)
        return -1;
    return 0;
}

/* Descriptors for every connection (and the echo server's, in the child). */
static void raise_fd_limit(int connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)connections + 256;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want)
        fprintf(stderr, "bench_charging: ulimit -n is %lu, %d connections need about %lu\n",
                (unsigned long)rl.rlim_cur, connections, (unsigned long)want);
}

int main(int argc, char **argv)
{
    static const struct lws_protocols protocols[] = {
        {"bench-ocpp", client_cb, 0, 1024, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    char why[256];
    pid_t echo = 0;
    if (parse_options(&B.o, argc, argv) != 0) {
        fprintf(stderr, "usage: bench_charging --url ws://HOST:PORT/PATH [--echo] [--connections N] [--rate "
                        "MSG_PER_S] [--seconds S] [--prefix ID_PREFIX] [--password PW] [--pid PID] [--inflight N]\n"
                        "       bench_charging --parse N\n");
        return 2;
    }
    raise_fd_limit(B.o.connections);
    lws_set_log_level(LLL_ERR, NULL); /* before the echo server forks: quiet there too */
    signal(SIGPIPE, SIG_IGN);
    if (B.o.echo) {
        if ((echo = start_echo(B.o.connections, &B.o.port)) <= 0) {
            fprintf(stderr, "bench_charging: the echo server did not start\n");
            return 1;
        }
        B.o.pid = echo;
    }
    if (chg_schemas_load(&B.schemas, why, sizeof why) != 0) {
        fprintf(stderr, "bench_charging: %s\n", why);
        return 1;
    }
    if (B.o.parse > 0) {
        int rc = parse_only(B.o.parse);
        chg_schemas_free(B.schemas);
        return rc;
    }
    B.cps = calloc((size_t)B.o.connections, sizeof *B.cps);
    for (int i = 0; i < B.o.connections; i++)
        B.cps[i].number = i + 1;
    if (B.o.pid > 0)
        B.rss_before = rss_kb(B.o.pid);

    uv_loop_init(&B.loop);
    void *foreign[1] = {&B.loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = foreign;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.fd_limit_per_thread = (unsigned)B.o.connections + 64;
    info.timeout_secs = 60;
    info.pcontext = &B.ctx; /* lws clears it once its destruction has finished */

    B.ctx = lws_create_context(&info);
    if (!B.ctx) {
        fprintf(stderr, "bench_charging: no libwebsockets context\n");
        return 1;
    }
    uv_timer_init(&B.loop, &B.tick);
    uv_timer_start(&B.tick, on_tick, 2, 2);
    uv_run(&B.loop, UV_RUN_DEFAULT);

    if (B.ctx) { /* the second call ends what the first began, once the loop ran the close callbacks */
        lws_context_destroy(B.ctx);
        uv_run(&B.loop, UV_RUN_DEFAULT);
    }
    uv_close((uv_handle_t *)&B.tick, NULL);
    uv_run(&B.loop, UV_RUN_DEFAULT);
    uv_loop_close(&B.loop);
    if (echo > 0) {
        kill(echo, SIGTERM);
        waitpid(echo, NULL, 0);
    }
    chg_schemas_free(B.schemas);
    free(B.cps);
    free(B.boot_lat.us);
    free(B.load_lat.us);
    return B.booted > 0 ? 0 : 1;
}
