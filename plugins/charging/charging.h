/* charging.h - the charging plugin's state, shared by its files:
 *   plugin.c     description, config, life, metrics
 *   station.c    charge points in memory: registration, connectors, liveness
 *   db.c         the SQLite file: migrations, stations, id tags, transactions
 *   handshake.c  who may open an OCPP connection (security profiles 1-3)
 *   password.c   salted password hashes
 *   conn.c       one OCPP-J connection: frames in, calls out (queue, timeout)
 *   incoming.c   the Core profile's messages from a charge point
 *   api.c        the HTTP API: stations, sessions, id tags
 *   operate.c    calls the operator sends a charge point (generic and convenient routes)
 * rpc.c and ocpp_schema.c (framing, schemas) have their own headers. */
#ifndef CHARGING_CHARGING_H
#define CHARGING_CHARGING_H

#include <sqlite3.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <mestys/mestys.h>
#include <mestys/time.h>

#include "ocpp_schema.h"
#include "password.h"
#include "rpc.h"
#include "booking.h"
#include "site.h"
#include "tariff.h"

#define CHG_ID_MAX 48        /* a charge point id: 1..48 of [A-Za-z0-9._:-] */
#define CHG_MAX_CONNECTORS 32 /* connectors per charge point we keep a status for */
#define CHG_STATUS_MAX 16

/* Why a handshake was refused; each is a label of handshakes_refused_total. */
enum chg_refusal {
    CHG_REF_UNKNOWN_STATION, /* 404: no charge point registered with that id */
    CHG_REF_NO_PASSWORD_SET, /* 401: profile 1/2 but the operator set no password yet */
    CHG_REF_NO_CREDENTIALS,  /* 401: no (or not a Basic) Authorization header */
    CHG_REF_BAD_PASSWORD,    /* 401: wrong user or password */
    CHG_REF_THROTTLED,       /* 429: too many wrong passwords for this id just now */
    CHG_REF_TLS_REQUIRED,    /* 403: profile 2/3 over plain HTTP */
    CHG_REF_NO_CERTIFICATE,  /* 401: profile 3 without a verified client certificate */
    CHG_REF_WRONG_CERTIFICATE, /* 403: profile 3, the certificate's CN is another id */
    CHG_REF_COUNT
};

/* One connector's last reported state (StatusNotification). */
struct chg_connector {
    char status[CHG_STATUS_MAX];    /* "Available", "Charging", ...; "" never reported */
    char error_code[32];
    int64_t updated_ms;             /* wall clock of the report */
    /* load management (load.c) */
    double max_w;                   /* its own maximum (registration "connectors"), W */
    char type[16];                  /* its plug (registration "connectors"), e.g. "Type2" */
    int phases;                     /* 1 or 3 */
    int64_t txn;                    /* the open transaction on it, 0 none */
    int64_t started_ms;
    int priority;                   /* the open session's class (fleet tags first) */
    double meter_w, energy_wh;      /* last readings of the open session (-1: none) */
    double sent_w;                  /* the limit in force as far as we know (0: the TxDefaultProfile) */
    int held;                       /* a decrease it did not take: sent_w stays in force, not shared */
};

struct chg_conn;

/* A registered charge point. */
struct chg_station {
    struct chg_station *next;
    char id[CHG_ID_MAX + 1];
    char *name;
    int profile;            /* security profile 1, 2 or 3 */
    int accepted;           /* the operator accepted it: BootNotification Accepted, else Pending */
    char *password;         /* password.h's stored form, or NULL */
    char *site;
    double lat, lon;
    int has_location;
    char *vendor, *model, *serial, *firmware; /* from its last BootNotification */
    struct chg_tariff tariff;   /* its own ("tariff" in its registration), or the instance's */
    char *connectors_json, *tariff_json; /* as registered, kept in the file; NULL: defaults */

    struct chg_conn *conn;  /* the open connection, or NULL */
    uint64_t last_contact;  /* loop clock, ms: the last message or pong */
    int64_t last_contact_wall; /* the same, wall clock ms, 0 never */
    int booted;             /* a BootNotification was answered Accepted on this connection */

    /* handshake throttle: wrong passwords per window, and the quick digest
     * of the last password that verified (password.h) */
    uint64_t fail_window;
    unsigned fails;
    uint64_t refusal_logged; /* loop clock of the last refusal logged for it */
    unsigned char verified[32];
    int has_verified;

    int n_connectors;       /* highest connector id reported, 0 none */
    int n_registered;       /* connectors its registration describes ("connectors"), 0 none */
    struct chg_connector connectors[CHG_MAX_CONNECTORS + 1]; /* [0] is the charge point itself */
};

/* Things a peer can repeat at will, logged the first time only (a bit each). */
enum chg_log_once {
    CHG_LOG_TIMEOUT, CHG_LOG_UNEXPECTED, CHG_LOG_INVALID_CONF, CHG_LOG_BINARY, CHG_LOG_FRAME,
    CHG_LOG_UNKNOWN_TXN, CHG_LOG_CONNECTOR, CHG_LOG_PUBLISH,
    CHG_LOG_CODE, /* + an enum chg_ocpp_err: a CALL we answered with that error */
};
#define CHG_OCPP_CODES (CHG_OCPP_GENERIC_ERROR + 1)

/* How an outgoing call ended. */
enum chg_outcome {
    CHG_CALL_RESULT,   /* the .conf came and is valid: payload */
    CHG_CALL_ERROR,    /* the charge point answered CALLERROR: code, text */
    CHG_CALL_INVALID,  /* the .conf breaks its schema: text says how */
    CHG_CALL_TIMEOUT,  /* no answer within call_timeout_s */
    CHG_CALL_CLOSED,   /* the connection closed (or the plugin stopped) first */
};

struct chg_reply {
    enum chg_outcome outcome;
    const cJSON *payload;      /* RESULT */
    enum chg_ocpp_err code;    /* ERROR */
    const char *text;          /* ERROR, INVALID: why */
};

typedef void (*chg_reply_cb)(void *arg, const struct chg_reply *r);

/* A call to a charge point, queued: one is outstanding per connection. */
struct chg_call {
    struct chg_call *next;
    char id[37];
    char action[48];
    char *frame;            /* the serialised CALL */
    chg_reply_cb cb;
    void *arg;
};

/* One OCPP-J connection.  It outlives its station's claim on it: a newer
 * connection for the same id takes the station, this one is closed. */
struct chg_conn {
    struct charging *c;
    char id[CHG_ID_MAX + 1]; /* the charge point it authenticated as */
    mst_ws_conn *ws;         /* NULL until open() */
    int booted_now;          /* the CALL being answered is an accepted BootNotification */
    struct chg_station *st;  /* NULL once replaced or the station deleted */
    struct chg_call *queue, *queue_tail; /* queue[0] is outstanding when sent */
    int sent;                /* queue[0] was sent, its reply awaited */
    mst_timer *timeout;
    struct chg_conn *next;   /* all open connections */
};

/* A site: a grid connection whose limit its stations' sessions share (load.c). */
struct chg_site_state {
    struct chg_site_state *next;
    struct charging *c;
    char *name;
    struct chg_site_params p;
    struct chg_site_profile_opts o;
    mst_timer *timer;
    int in_flight;   /* SetChargingProfile calls not answered yet */
    int dirty;       /* something changed while they were out: recompute when they are in */
    mst_metric *limit_m, *allocated_m, *paused_m, *clamped_m, *fallbacks_m;
    mst_script *policy;  /* sites[].policy, or NULL: the built-in sharing */
    int policy_logged;   /* a failing policy is logged once */
};

struct charging {
    mst_instance *inst;
    const struct mst_host *host;
    sqlite3 *db;
    sqlite3 *checkpoint_db; /* a second connection: the WAL is checkpointed on a worker */
    int checkpointing;
    int64_t meter_retention_days;     /* 0: meter values are kept for ever */
    int64_t pruned_ms;                /* wall clock of the last prune (the worker's; 0 not yet) */
    int64_t pruned;                   /* rows the last prune deleted, for the loop to count */
    mst_timer *checkpoint_timer;
    sqlite3_stmt *stmts[4];  /* db.c's statements of the hot path, prepared once */
    struct chg_schemas *schemas;
    struct chg_station *stations;
    struct chg_conn *conns;

    int64_t heartbeat_s, grace_s, call_timeout_s, iterations, ping_s, max_message;
    int64_t auth_fail_limit;          /* wrong passwords per station per minute before 429 */
    cJSON *vendors;                   /* DataTransfer vendor ids answered Accepted */
    cJSON *fleet_tags;                /* id tags of the town's fleet */
    int prio_fleet, prio_carsharing;  /* their classes ("priorities"; the public's is 0) */
    struct chg_tariff tariff;         /* the default tariff */
    struct chg_site_state *sites;
    struct chg_bookings *bookings;
    mst_timer *bookings_timer, *reservations_timer, *figures_timer;
    int stopping;                     /* no new calls: the instance is stopping */
    uint64_t unknown_logged;          /* loop clock of the last unknown-id refusal logged */
    uint32_t logged;                  /* enum chg_log_once bits */

    mst_metric *refused[CHG_REF_COUNT];
    mst_metric *connections, *replaced, *calls_in, *calls_out, *call_timeouts, *call_errors;
    mst_metric *frames_refused, *outgoing_invalid, *replies_invalid, *replies_unexpected;
    mst_metric *errors_sent[CHG_OCPP_CODES]; /* CALLERRORs we answered, per code */
    mst_metric *transactions, *transactions_unauthorized, *meter_values, *publish_refused, *meter_pruned;
};

/* --- station.c --- */
struct chg_station *chg_station_find(const struct charging *c, const char *id);
/* 1 if id is a charge point id we accept (1..CHG_ID_MAX of [A-Za-z0-9._:-]). */
int chg_station_id_valid(const char *id);
/* "online" (connected, heard within heartbeat + grace), "unknown"
 * (connected but silent, or a dead TCP connection not yet closed), "offline". */
const char *chg_station_liveness(const struct charging *c, const struct chg_station *st);
/* operator: with what only an operator sees (security_profile, password_set). */
cJSON *chg_station_json(const struct charging *c, const struct chg_station *st, int operator);
void chg_station_free(struct chg_station *st);
/* Marks a message (or pong) from st: last contact now. */
void chg_station_heard(struct charging *c, struct chg_station *st);
/* A station from a JSON registration ({"id", "name", "security_profile",
 * "site", "lat", "lon", "accepted", "password"}), all checked before
 * anything changes; new or updated in memory and in the file. */
int chg_station_register(struct charging *c, const cJSON *j, const char **why);
/* A new station's defaults: 22 kW three-phase connectors, the instance's tariff. */
struct chg_station *chg_station_new(struct charging *c, const char *id);
/* Applies registered "connectors" and "tariff" JSON texts (NULL: defaults). */
int chg_station_apply(struct charging *c, struct chg_station *st, const char *connectors, const char *tariff,
                      const char **why);
/* The same checks, nothing changed: 0 or MST_EINVAL and *why. */
int chg_station_check(const cJSON *j, const char **why);
int chg_station_delete(struct charging *c, const char *id);
int chg_station_set_password(struct charging *c, struct chg_station *st, const char *password, size_t len,
                             const char **why);

/* --- db.c --- */
extern const char *const chg_migrations[];
/* Steps a prepared statement to its end and finalizes it: 0 or MST_EDB. */
int chg_db_finish(sqlite3_stmt *q);
/* Statements of the hot path (every MeterValues), prepared once and kept:
 * take one with chg_db_cached, give it back with chg_db_reuse (which resets
 * it); chg_db_close finalizes them. */
enum chg_stmt { CHG_STMT_METER, CHG_STMT_FIND_SESSION, CHG_STMT_COUNT };
sqlite3_stmt *chg_db_cached(struct charging *c, enum chg_stmt which);
/* Steps q to its end and resets it for the next use: 0 or MST_EDB. */
int chg_db_reuse(sqlite3_stmt *q);
void chg_db_close(struct charging *c);
/* Runs sql with one text parameter (?1): 0 or MST_EDB. */
int chg_db_exec1(struct charging *c, const char *sql, const char *text);
int chg_db_load_stations(struct charging *c);
int chg_db_save_station(struct charging *c, const struct chg_station *st);
int chg_db_delete_station(struct charging *c, const char *id);
int chg_db_save_connector(struct charging *c, const struct chg_station *st, int connector);
/* The local authorization list version last accepted by the station (0: none). */
int64_t chg_db_list_version(struct charging *c, const char *station);
int chg_db_set_list_version(struct charging *c, const char *station, int64_t version);
/* Deletes the meter values older than before_ms, but those of an open
 * session; on db, from a worker.  Returns how many, or -1. */
int64_t chg_db_prune_meter(sqlite3 *db, int64_t before_ms);

/* --- session.c --- */
struct chg_start {
    const char *station, *id_tag, *timestamp;
    int connector;
    int64_t start_ms, meter_start, reservation_id;
    int has_reservation;
    int unauthorized;  /* its idTagInfo was not Accepted */
};
struct chg_stop {
    const char *station, *timestamp, *reason, *id_tag;
    int64_t txn, stop_ms, meter_stop;
};
struct chg_sample {
    int64_t txn; /* 0: none */
    const char *station, *measurand, *phase, *unit, *context;
    int connector;
    int64_t time_ms;
    double value;
};
struct chg_session {
    int64_t id, start_ms, meter_start, stop_ms, meter_stop;
    int connector, stopped;
};
/* The session a start opened, or (*existed) the one the same start opened before. */
int chg_session_start(struct charging *c, const struct chg_start *s, int64_t *txn, int *existed);
/* MST_ENOENT if station has no session txn. */
int chg_session_find(struct charging *c, const char *station, int64_t txn, struct chg_session *out);
/* Closes the session if it is open, with its cost by tariff t; a closed one is left as it is. */
int chg_session_stop(struct charging *c, const struct chg_stop *s, const struct chg_tariff *t);
int chg_session_meter(struct charging *c, const struct chg_sample *m);
/* Newest first; station NULL: every station. */
cJSON *chg_sessions_json(struct charging *c, const char *station, int open_only, int64_t limit);

/* --- idtag.c --- */
/* An idTagInfo for tag; concurrent: ConcurrentTx if it is in an open session. */
cJSON *chg_idtag_info(struct charging *c, const char *tag, int concurrent);
/* The same at a station's connector (0: not known yet): a car of the
 * calendar is judged by its bookings (carsharing.c). */
cJSON *chg_idtag_info_at(struct charging *c, const struct chg_station *st, int connector, const char *tag,
                         int concurrent);
/* {"id_tag", "status", "expiry", "parent", "name"}: added or replaced. */
int chg_idtag_put(struct charging *c, const cJSON *j, const char **why);
int chg_idtag_delete(struct charging *c, const char *tag);
cJSON *chg_idtags_json(struct charging *c);

/* --- handshake.c --- */
struct chg_hello {
    const char *id;            /* the last path segment */
    const char *authorization; /* the header, or NULL */
    int tls;
    const char *client_cn;     /* verified client certificate's CN, or NULL */
};
/* 0 (and *out the station) to accept, or the HTTP status to refuse with
 * and *why.  Counts and logs (throttled) what it refuses. */
int chg_handshake_decide(struct charging *c, const struct chg_hello *h, struct chg_station **out,
                         enum chg_refusal *why);
extern const char *const chg_refusal_names[CHG_REF_COUNT];

/* --- conn.c --- */
extern const struct mst_ws_handlers chg_ws_handlers;
/* Queues a CALL of action (payload checked against its .req schema first:
 * MST_EINVAL and *why if it breaks it).  cb is called exactly once, unless
 * this returns an error. */
int chg_call(struct charging *c, struct chg_station *st, const char *action, const cJSON *payload, chg_reply_cb cb,
             void *arg, char *why, size_t whylen);
/* At stop: every call fails CLOSED, every connection is closed. */
void chg_conn_close_all(struct charging *c);
/* At fini: what is left of the connections is freed. */
void chg_conn_free_all(struct charging *c);

/* --- incoming.c --- */
/* Answers a CALL from st: *conf the .conf payload, or an error. */
enum chg_ocpp_err chg_incoming(struct chg_conn *cc, const struct chg_frame *f, cJSON **conf, char *why,
                               size_t whylen);
/* After a BootNotification was answered Accepted. */
void chg_after_boot(struct chg_conn *cc);

/* --- load.c --- */
/* Sites from the config ("sites"); timers started by chg_sites_start. */
int chg_sites_init(struct charging *c);
int chg_sites_start(struct charging *c);
void chg_sites_free(struct charging *c);
/* The open transactions in the file, onto their connectors (at start). */
int chg_load_open_sessions(struct charging *c);
/* A session started or stopped, a status changed: st's site shares again. */
void chg_load_changed(struct charging *c, struct chg_station *st);
/* After an accepted boot: the TxDefaultProfile of 0 W for a station of a site. */
void chg_load_boot(struct charging *c, struct chg_station *st);
/* A session's class for load management ("priorities"): the fleet's tags,
 * a booked car in its slot (booked = 1), or the public (0). */
/* Whether id_tag is one of config fleet_tags (compared ignoring case, as OCPP's CiString). */
int chg_load_is_fleet(const struct charging *c, const char *id_tag);
int chg_load_priority(struct charging *c, const char *id_tag, int booked);

/* --- carsharing.c --- */
int chg_bookings_init(struct charging *c);
int chg_bookings_start(struct charging *c);
/* For a tag with bookings: 1 and *status "Accepted" inside one of its slots
 * here, -1 and "Invalid" outside; 0 for a tag with none (a public card). */
int chg_bookings_judge(struct charging *c, const struct chg_station *st, int connector, const char *tag,
                       const char **status);
/* GET bookings, POST bookings, DELETE bookings/{id} */
void chg_api_bookings(void *arg, mst_http_request *req);

/* --- reservation.c --- */
/* POST stations/{id}/reserve and cancel-reservation (body already parsed). */
void chg_reserve(struct charging *c, mst_http_request *req, struct chg_station *st, const cJSON *body);
void chg_cancel_reservation(struct charging *c, mst_http_request *req, struct chg_station *st, const cJSON *body);
/* A StartTransaction named reservation id. */
void chg_reservation_used(struct charging *c, const char *station, int64_t id);
int chg_reservations_start(struct charging *c);
/* GET reservations?station= */
void chg_api_reservations(void *arg, mst_http_request *req);

/* --- figures.c --- */
/* A connector's state, logged for its uptime. */
void chg_figures_log(struct charging *c, const char *station, int connector, const char *status, int64_t at_ms);
/* Every connector of st Offline from now (its connection closed). */
void chg_figures_offline(struct charging *c, const struct chg_station *st);
/* GET energy?month=, GET availability?day= (public) */
void chg_api_figures(void *arg, mst_http_request *req);
/* POST figures/publish (operator): a period's rows on the bus now. */
void chg_api_publish(void *arg, mst_http_request *req);
/* What a connector's charging/status row says besides its state: plug,
 * power, price, last contact, location (never anything about a person). */
int chg_figures_describe(const struct chg_station *st, int n, cJSON *o);
/* The timer that publishes each closed day's uptime and month's energy. */
int chg_figures_start(struct charging *c);

/* --- api.c --- */
int chg_api_routes(struct charging *c);
void chg_respond_json(struct charging *c, mst_http_request *req, int status, cJSON *body);
void chg_respond_error(struct charging *c, mst_http_request *req, int status, const char *msg);
/* 1 if obj (an object) has a key not in valid (NULL-terminated): msg then
 * names it and lists the valid ones, as the config check does. */
int chg_unknown_key(const cJSON *obj, const char *const *valid, char *msg, size_t len);
/* GET sites, POST sites/{name}/limit (load.c) */
void chg_api_sites(void *arg, mst_http_request *req);

/* --- operate.c --- */
/* POST stations/{id}/{what...}: the operator's calls to a charge point. */
void chg_operate(struct charging *c, mst_http_request *req, struct chg_station *st, const char *what);

/* Publishes body (freed) on topic; a refusal is counted, logged once. */
void chg_publish(struct charging *c, const char *topic, cJSON *body);

/* wall clock, ms */
int64_t chg_wall_ms(void);

#endif
