/* charging_station.c - what a charge point sends, through the charging
 * plugin on the mock host: the Authorization header of a handshake
 * (handshake.c: Basic credentials, the password check), then its OCPP-J
 * messages on an open connection (conn.c, incoming.c, session.c: frames,
 * schemas, every Core handler and its SQLite writes).
 *
 * Input: the Authorization header, a newline, then messages separated by
 * newlines.  The header is tried on CP-1 (profile 1, a password set); the
 * messages go to CP-3 (profile 3, let in by its certificate's CN), so they
 * are handled whatever the header was.  Every frame the plugin sends must
 * be a well-formed OCPP-J frame (rpc.c reads it back). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charging/charging.h"
#include "quiet.h"

extern const struct mst_plugin mestys_plugin;

/* The one connection the target opens at a time. */
static struct {
    void *data;
    int closed;
} conn;

static void *fake_data(mst_ws_conn *c)
{
    (void)c;
    return conn.data;
}

static int fake_send(mst_ws_conn *c, const void *data, size_t len, int binary)
{
    (void)c;
    struct chg_frame f;
    char why[128];
    if (binary || chg_frame_parse(data, len, &f, why, sizeof why) != CHG_OCPP_OK)
        abort(); /* we sent something that is not OCPP-J */
    chg_frame_free(&f);
    return conn.closed ? MST_ECLOSED : 0;
}

static void fake_close(mst_ws_conn *c)
{
    (void)c;
    conn.closed = 1;
}

static struct mst_mock *mock;
static struct mst_host host;
static void *state;

static void setup(void)
{
    mock = quiet_mock(&mestys_plugin,
                      "{\"password_iterations\": 1000, \"call_timeout_s\": 1, \"stations\": ["
                      "{\"id\": \"CP-1\", \"accepted\": true}, {\"id\": \"CP-3\", \"security_profile\": 3,"
                      " \"accepted\": true, \"site\": \"depot\"}],"
                      " \"sites\": [{\"name\": \"depot\", \"limit_kw\": 30}],"
                      " \"tariff\": {\"per_kwh\": \"7.90\"}}",
                      &host);
    host.ws_data = fake_data;
    host.ws_send = fake_send;
    host.ws_close = fake_close;
    if (mestys_plugin.init(mst_mock_instance(mock), &host, &state) != 0)
        abort();
    struct charging *c = state;
    const char *why = NULL;
    if (chg_station_set_password(c, chg_station_find(c, "CP-1"), "correct-horse-battery", 21, &why) != 0)
        abort();
}

/* One connection's life: the hook, open, the messages, close. */
static void connect_and_send(const char *auth, const char *cn, const uint8_t *msgs, size_t len)
{
    struct mst_ws_handshake hs = {.struct_size = sizeof hs, .subpath = cn ? cn : "CP-1", .authorization = auth,
                                  .tls = cn != NULL, .client_cn = cn};
    mst_ws_conn *ws = (mst_ws_conn *)&conn; /* an address the plugin only hands back */
    memset(&conn, 0, sizeof conn);
    if (chg_ws_handlers.handshake(state, &hs, &conn.data) != 0)
        return;
    chg_ws_handlers.open(state, ws, "");
    for (size_t at = 0; at < len;) {
        const uint8_t *end = memchr(msgs + at, '\n', len - at);
        size_t n = end ? (size_t)(end - msgs) - at : len - at;
        chg_ws_handlers.message(state, ws, msgs + at, n, 0);
        at += n + 1;
    }
    chg_ws_handlers.close(state, ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!mock)
        setup();
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    char *auth = malloc(hlen + 1);
    if (!auth)
        return 0;
    memcpy(auth, data, hlen);
    auth[hlen] = '\0';
    connect_and_send(auth, NULL, NULL, 0);
    if (nl)
        connect_and_send(NULL, "CP-3", nl + 1, size - hlen - 1);
    free(auth);
    mst_mock_advance(mock, 1500); /* the calls we sent time out */
    return 0;
}
