/* site.h - load management: one grid connection's power limit shared among
 * the connectors of its stations, the OCPP 1.6 TxProfile that carries each
 * share to its charge point, and an optional Lua policy that replaces the
 * built-in sharing.
 *
 * Pure: no host calls, no state between calls.  The plugin recomputes on
 * every StartTransaction, StopTransaction, StatusNotification and on a timer,
 * and sends each changed limit with SetChargingProfile.  The library is
 * site.c alone (cJSON for the profile and the policy's JSON).
 *
 * The invariant: the limits chg_site_share gives never sum above the site's
 * limit, no connector gets more than its own maximum, and a connector gets
 * either 0 (paused) or at least its minimum useful power.
 *
 * Keeping the limits *in force* under the site's limit while they change
 * takes two phases (chg_site_send_order gives them):
 *  1. send every decrease and wait for the answers;
 *  2. only if all were Accepted, send the increases.
 * A decrease that is Rejected or not answered leaves the old limit in force
 * at that connector: mark it `held` with that limit and recompute at once
 * (the held limit is counted first and not shared), dropping phase 2 of the
 * old plan.  Clear `held` when the station accepts a profile again or its
 * transaction ends (its limit in force is then 0).
 */
#ifndef CHARGING_SITE_H
#define CHARGING_SITE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include <mestys/error.h>

/* One connector of one of the site's stations, as the plugin last saw it. */
struct chg_site_conn {
    const char *station;  /* charge point id */
    int connector;        /* 1.. */
    int charging;         /* a transaction is running on it (Charging, SuspendedEV/EVSE) */
    int priority;         /* class: higher is served first (config order, e.g. fleet 2, carsharing
                             booking 1, public 0) */
    int phases;           /* 1 or 3: what the connector (and the car, if known) can use */
    double max_w;         /* the connector's own maximum (config, or from its rating) */
    double meter_w;       /* last Power.Active.Import from MeterValues, -1 if none yet */
    double energy_wh;     /* energy of the running session so far */
    int64_t started_ms;   /* when the session started (Unix ms): among equals the earlier one
                             keeps charging when there is not enough for all */
    int transaction_id;   /* the running transaction's id (for the TxProfile), 0 if none */
    int held;             /* 1: its limit in force could not be lowered (station refused or did not
                             answer): held_w is counted as it is, not shared */
    double held_w;        /* the limit in force at a held connector */
};

/* The site's parameters (config: plugins[].charging.sites[]). */
struct chg_site_params {
    double limit_w;       /* the grid connection's limit for charging, W (>= 0) */
    double min_current_a; /* smallest useful current per phase (IEC 61851: 6 A) */
    double voltage;       /* phase voltage used to turn amperes into watts (230 V) */
};

/* A connector's minimum useful power: min_current_a x voltage x phases, but
 * never more than its own max_w (a connector rated below the minimum may
 * still use what it has). */
double chg_site_min_w(const struct chg_site_params *p, const struct chg_site_conn *c);

/* The built-in sharing.  out_w[i] gets connector i's limit in whole watts
 * (0 = paused).  A held connector keeps held_w (rounded down), which is taken
 * off the limit before anything is shared; if the held limits alone exceed
 * the site's, every other connector gets 0.  A connector with no session
 * gets 0: no headroom is kept for a car that has not started; it gets its
 * share at the recomputation its StartTransaction triggers.  In two passes over the sessions in serving
 * order (priority class, highest first; then who started first):
 *  1. admission: each session whose minimum useful power still fits in
 *     what is left is admitted and its minimum set aside; one that does not
 *     fit is paused, and so is every session of a lower class after it (a
 *     session of its own class with a smaller minimum, 1-phase, may still
 *     fit).  So nobody is paused while the limit covers everyone's minimum,
 *     and a new arrival never pauses a car of its class already charging.
 *  2. the rest, on top of the minima, class by class, highest first: within
 *     a class equal shares, each capped at its connector's max_w, what a
 *     capped one leaves going to the others (water-filling); shares differ
 *     by at most a watt.  A lower class gets surplus only once every
 *     connector of the classes above is at its maximum.
 * meter_w is not used (a car drawing less than its share leaves the rest on
 * the grid connection; the Lua policy may use it).
 * Returns 0, or MST_EINVAL (a limit, min_current_a, voltage or max_w
 * negative, over 10^12 or not finite; phases other than 1 and 3; out_w is
 * then all zeros), MST_ENOMEM. */
int chg_site_share(const struct chg_site_params *p, const struct chg_site_conn *conns, size_t n,
                   double *out_w);

/* The order in which to send new limits so that the sum of the limits in
 * force never exceeds the site limit on the way: order[] gets the indexes of
 * the connectors whose limit changed, the decreases first (*decreases gets
 * how many: phase 1), then the increases (phase 2); the count is returned.
 * (If old and new each sum to at most the limit, every prefix of the
 * sequence does too.) */
size_t chg_site_send_order(const double *old_w, const double *new_w, size_t n, size_t *order,
                           size_t *decreases);

/* How a TxProfile says its limit (config: rate_unit "W" or "A"). */
struct chg_site_profile_opts {
    int rate_amps;        /* 1: chargingRateUnit "A" (per phase), 0: "W" */
    int stack_level;      /* the profile's stackLevel (config, default 1) */
    int profile_id;       /* chargingProfileId: one per connector, so a new one replaces the old */
    double voltage;       /* for "A": W / (voltage x phases) */
};

/* The SetChargingProfile.req payload that puts `limit_w` on a connector's
 * running transaction: {"connectorId", "csChargingProfiles": {
 * "chargingProfileId", "transactionId", "stackLevel", "chargingProfilePurpose":
 * "TxProfile", "chargingProfileKind": "Relative", "chargingSchedule":
 * {"chargingRateUnit", "chargingSchedulePeriod": [{"startPeriod": 0,
 * "limit", "numberPhases"}]}}}.  The limit is rounded down to 0.1 A (the
 * schema's multipleOf) or to a whole watt, so the profile never allows more
 * than limit_w.  NULL on a bad argument or no memory; free with cJSON_Delete. */
cJSON *chg_site_tx_profile(const struct chg_site_conn *c, double limit_w,
                           const struct chg_site_profile_opts *o);

/* The SetChargingProfile.req for a station's TxDefaultProfile (connector
 * 0, every connector, no transaction), which holds from a session's start
 * until its TxProfile arrives.  Send it once per station at BootNotification
 * with limit 0 (the plugin's default): then a car that starts draws nothing
 * until its share is sent, and the sum in force never exceeds the site's
 * limit, even for the moment between a StartTransaction and its TxProfile.
 * (A non-zero default would have to be kept free for every idle connector.)
 * NULL on a bad argument or no memory; free with cJSON_Delete. */
cJSON *chg_site_default_profile(int phases, double limit_w, const struct chg_site_profile_opts *o);

/* A town's own sharing in Lua.  call() runs the policy's function on the
 * JSON it is given and sets *result to the JSON the function returned (the
 * plugin's call is host->script_call(script, "share", json, len, result) on
 * the site's mst_script, its release host->free).  It returns 0, or a negative MST_E code (budget
 * spent, memory cap, the script failed): then the built-in sharing is used. */
struct chg_site_policy {
    int (*call)(void *arg, const char *json, size_t len, char **result);
    void (*release)(void *arg, char *result);
    void *arg;
};

enum chg_site_outcome {
    CHG_SITE_BUILTIN = 0,   /* no policy: the built-in sharing */
    CHG_SITE_SCRIPT,        /* the policy's limits, used as given */
    CHG_SITE_CLAMPED,       /* the policy's limits, cut to keep the invariant (count it) */
    CHG_SITE_FELL_BACK,     /* the policy failed or answered nonsense: built-in (count it) */
};

/* Like chg_site_share, but asks the policy first.  The script's function
 * gets {"site": name, "limit_w": L, "sessions": [{"station", "connector",
 * "priority", "phases", "max_w", "min_w", "meter_w", "energy_wh", "started"
 * (ISO 8601)}]} -- only the connectors with a session, in the order given --
 * and returns an array of watts, one per session, in the same order (held
 * connectors are not among the sessions: their limits are taken off limit_w
 * before the script sees it).  Each is clamped to [0, max_w]; one under its
 * min_w becomes 0; if they still sum above the limit they are all scaled
 * down by the same factor (and any that falls under its minimum paused).
 * An answer that is not an array of as many finite numbers, or a failed
 * call, falls back to chg_site_share; `why` then says what was wrong (for
 * the log, once).  Returns the outcome, or MST_EINVAL / MST_ENOMEM as
 * chg_site_share does. */
int chg_site_share_policy(const struct chg_site_params *p, const char *site,
                          const struct chg_site_conn *conns, size_t n,
                          const struct chg_site_policy *policy, double *out_w, char *why,
                          size_t whylen);

#endif
