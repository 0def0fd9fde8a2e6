/* site.c - a grid connection's limit shared among its charging connectors
 * (every minimum first, in serving order; then the rest by priority class,
 * water-filling within a class), the profiles carrying the shares, and the
 * Lua policy's answer clamped to the same invariant.
 *
 * The arithmetic is in whole watts (int64): a sum of doubles can land a
 * hair above the limit, a sum of integers cannot. */
#include "site.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>
#include <mestys/time.h>

/* Far above any grid connection (1 TW), far below where watts x watts
 * overflows an int64 in the policy's scaling. */
#define SITE_MAX_W 1e12

struct site_slot {
    size_t idx;      /* into conns / out_w */
    int priority;
    int64_t started_ms;
    int64_t max_w;
    int64_t min_w;
};

static int site_params_check(const struct chg_site_params *p)
{
    if (!p || !(p->limit_w >= 0 && p->limit_w <= SITE_MAX_W) ||
        !(p->min_current_a >= 0 && p->min_current_a <= 1000) || !(p->voltage > 0 && p->voltage <= 1000))
        return MST_EINVAL;
    return 0;
}

static int site_conn_check(const struct chg_site_conn *c)
{
    if ((c->phases != 1 && c->phases != 3) || !(c->max_w >= 0 && c->max_w <= SITE_MAX_W) || /* NaN fails too */
        (c->held && !(c->held_w >= 0 && c->held_w <= SITE_MAX_W)))
        return MST_EINVAL;
    return 0;
}

/* The site's limit less what held connectors keep (never below 0), whole
 * watts; out_w (if given) gets the held limits. */
static int64_t site_budget(const struct chg_site_params *p, const struct chg_site_conn *conns, size_t n,
                           double *out_w)
{
    int64_t budget = (int64_t)floor(p->limit_w);
    for (size_t i = 0; i < n; i++) {
        if (!conns[i].held)
            continue;
        if (out_w)
            out_w[i] = floor(conns[i].held_w);
        budget -= (int64_t)floor(conns[i].held_w);
    }
    return budget > 0 ? budget : 0;
}

double chg_site_min_w(const struct chg_site_params *p, const struct chg_site_conn *c)
{
    double min = ceil(p->min_current_a * p->voltage * c->phases);
    double max = floor(c->max_w);
    return min < max ? min : max;
}

/* Serving order: class (highest first), then who came first, then index,
 * so the same inputs always give the same shares. */
static int site_cmp_serve(const void *a, const void *b)
{
    const struct site_slot *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    if (x->started_ms != y->started_ms)
        return x->started_ms < y->started_ms ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int64_t site_clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* What the class takes at water level L: each member clamp(L, min, max). */
static int64_t site_level_sum(const struct site_slot *s, size_t k, int64_t level)
{
    int64_t sum = 0;
    for (size_t i = 0; i < k; i++)
        sum += site_clamp(level, s[i].min_w, s[i].max_w);
    return sum;
}

/* Shares `budget` (at least the members' minima) among s[0..k): the
 * highest level L whose clamp(L, min, max) still fits, found by bisection,
 * then the watts left over one each to the members still under their
 * maximum at L (fewer watts than such members, or L would be higher), in
 * serving order.  Returns what the members got. */
static int64_t site_fill(const struct site_slot *s, size_t k, int64_t budget, double *out_w)
{
    int64_t lo = 0, hi = 0;
    for (size_t i = 0; i < k; i++)
        hi = s[i].max_w > hi ? s[i].max_w : hi;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (site_level_sum(s, k, mid) <= budget)
            lo = mid;
        else
            hi = mid - 1;
    }
    int64_t used = site_level_sum(s, k, lo), extra = budget - used;
    for (size_t i = 0; i < k; i++) {
        int64_t w = site_clamp(lo, s[i].min_w, s[i].max_w);
        if (extra > 0 && s[i].min_w <= lo && lo < s[i].max_w) {
            w++;
            extra--;
            used++;
        }
        out_w[s[i].idx] = (double)w;
    }
    return used;
}

/* Admission, in serving order: each connector whose minimum still fits is
 * admitted and its minimum set aside; once one does not fit, no connector
 * of a lower class is admitted (a smaller minimum of the same class may
 * still be).  The admitted are compacted to the front of s; returns how many,
 * *left what remains after their minima. */
static size_t site_admit(struct site_slot *s, size_t k, int64_t *left)
{
    size_t admitted = 0;
    int blocked = 0, blocked_priority = 0;
    for (size_t i = 0; i < k; i++) {
        if (blocked && s[i].priority < blocked_priority)
            continue;
        if (s[i].min_w > *left) {
            blocked = 1;
            blocked_priority = s[i].priority;
            continue;
        }
        *left -= s[i].min_w;
        s[admitted++] = s[i];
    }
    return admitted;
}

/* The connectors with a session, in serving order; *m gets their count. */
static int site_sessions(const struct chg_site_params *p, const struct chg_site_conn *conns, size_t n,
                         struct site_slot **out, size_t *m)
{
    *out = NULL;
    *m = 0;
    if (site_params_check(p) < 0)
        return MST_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (site_conn_check(&conns[i]) < 0)
            return MST_EINVAL;
    struct site_slot *slots = calloc(n ? n : 1, sizeof *slots);
    if (!slots)
        return MST_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!conns[i].charging || conns[i].held)
            continue;
        slots[k].idx = i;
        slots[k].priority = conns[i].priority;
        slots[k].started_ms = conns[i].started_ms;
        slots[k].max_w = (int64_t)floor(conns[i].max_w);
        slots[k].min_w = (int64_t)chg_site_min_w(p, &conns[i]);
        k++;
    }
    qsort(slots, k, sizeof *slots, site_cmp_serve);
    *out = slots;
    *m = k;
    return 0;
}

int chg_site_share(const struct chg_site_params *p, const struct chg_site_conn *conns, size_t n, double *out_w)
{
    for (size_t i = 0; i < n; i++)
        out_w[i] = 0;
    struct site_slot *slots;
    size_t k;
    int rc = site_sessions(p, conns, n, &slots, &k);
    if (rc < 0)
        return rc;
    int64_t left = site_budget(p, conns, n, out_w);
    k = site_admit(slots, k, &left);
    /* the rest on top of the minima, class by class, highest first */
    for (size_t a = 0; a < k;) {
        size_t b = a + 1;
        int64_t minima = slots[a].min_w;
        for (; b < k && slots[b].priority == slots[a].priority; b++)
            minima += slots[b].min_w;
        left -= site_fill(slots + a, b - a, minima + left, out_w) - minima;
        a = b;
    }
    free(slots);
    return 0;
}

size_t chg_site_send_order(const double *old_w, const double *new_w, size_t n, size_t *order,
                           size_t *decreases)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (new_w[i] < old_w[i])
            order[k++] = i;
    *decreases = k;
    for (size_t i = 0; i < n; i++)
        if (new_w[i] > old_w[i])
            order[k++] = i;
    return k;
}

/* The largest limit in the profile's unit that does not allow more than
 * limit_w: whole watts, or amperes per phase rounded down to 0.1 A (the
 * schema's multipleOf), computed in tenths so the text is exact. */
static double site_profile_limit(int phases, double limit_w, const struct chg_site_profile_opts *o)
{
    if (!o->rate_amps)
        return floor(limit_w);
    double per_amp = o->voltage * phases;
    double tenths = floor(limit_w * 10 / per_amp);
    while (tenths > 0 && tenths / 10 * per_amp > limit_w)
        tenths--;
    return tenths / 10;
}

/* A SetChargingProfile.req with one period from the start: connector 0 for
 * the station's default, transaction 0 for none. */
static cJSON *site_profile(int connector, int transaction_id, const char *purpose, int phases, double limit_w,
                           const struct chg_site_profile_opts *o)
{
    if (!o || connector < 0 || (phases != 1 && phases != 3) || !(limit_w >= 0 && limit_w <= SITE_MAX_W) ||
        (o->rate_amps && !(o->voltage > 0 && o->voltage <= 1000)) || o->stack_level < 0 || transaction_id < 0)
        return NULL;
    cJSON *req = cJSON_CreateObject();
    cJSON *id = cJSON_AddNumberToObject(req, "connectorId", connector);
    cJSON *prof = id ? cJSON_AddObjectToObject(req, "csChargingProfiles") : NULL;
    cJSON *sched = cJSON_AddObjectToObject(prof, "chargingSchedule");
    cJSON *periods = cJSON_AddArrayToObject(sched, "chargingSchedulePeriod");
    cJSON *period = cJSON_CreateObject();
    if (!period || !cJSON_AddItemToArray(periods, period)) {
        cJSON_Delete(period);
        cJSON_Delete(req);
        return NULL;
    }
    if (!cJSON_AddNumberToObject(prof, "chargingProfileId", o->profile_id) ||
        (transaction_id > 0 && !cJSON_AddNumberToObject(prof, "transactionId", transaction_id)) ||
        !cJSON_AddNumberToObject(prof, "stackLevel", o->stack_level) ||
        !cJSON_AddStringToObject(prof, "chargingProfilePurpose", purpose) ||
        !cJSON_AddStringToObject(prof, "chargingProfileKind", "Relative") ||
        !cJSON_AddStringToObject(sched, "chargingRateUnit", o->rate_amps ? "A" : "W") ||
        !cJSON_AddNumberToObject(period, "startPeriod", 0) ||
        !cJSON_AddNumberToObject(period, "limit", site_profile_limit(phases, limit_w, o)) ||
        !cJSON_AddNumberToObject(period, "numberPhases", phases)) {
        cJSON_Delete(req);
        return NULL;
    }
    return req;
}

cJSON *chg_site_tx_profile(const struct chg_site_conn *c, double limit_w, const struct chg_site_profile_opts *o)
{
    if (!c || c->connector < 1)
        return NULL;
    return site_profile(c->connector, c->transaction_id, "TxProfile", c->phases, limit_w, o);
}

cJSON *chg_site_default_profile(int phases, double limit_w, const struct chg_site_profile_opts *o)
{
    return site_profile(0, 0, "TxDefaultProfile", phases, limit_w, o);
}

static void site_why(char *why, size_t whylen, const char *fmt, const char *detail)
{
    if (why && whylen)
        snprintf(why, whylen, fmt, detail);
}

/* {"site", "limit_w", "sessions": [...]}, the sessions being the connectors
 * listed in idx[0..m). */
static char *site_policy_input(const struct chg_site_params *p, const char *site, const struct chg_site_conn *conns,
                               const size_t *idx, size_t m)
{
    char *json = NULL;
    cJSON *in = cJSON_CreateObject();
    cJSON *sessions = cJSON_AddArrayToObject(in, "sessions");
    if (!cJSON_AddStringToObject(in, "site", site ? site : "") ||
        !cJSON_AddNumberToObject(in, "limit_w", floor(p->limit_w)) || !sessions)
        goto out;
    for (size_t j = 0; j < m; j++) {
        const struct chg_site_conn *c = &conns[idx[j]];
        char started[32];
        mst_time_format(c->started_ms, started);
        cJSON *s = cJSON_CreateObject();
        if (!s || !cJSON_AddItemToArray(sessions, s)) {
            cJSON_Delete(s);
            goto out;
        }
        if (!cJSON_AddStringToObject(s, "station", c->station ? c->station : "") ||
            !cJSON_AddNumberToObject(s, "connector", c->connector) ||
            !cJSON_AddNumberToObject(s, "priority", c->priority) || !cJSON_AddNumberToObject(s, "phases", c->phases) ||
            !cJSON_AddNumberToObject(s, "max_w", floor(c->max_w)) ||
            !cJSON_AddNumberToObject(s, "min_w", chg_site_min_w(p, c)) ||
            !cJSON_AddNumberToObject(s, "meter_w", isfinite(c->meter_w) ? c->meter_w : -1) ||
            !cJSON_AddNumberToObject(s, "energy_wh", isfinite(c->energy_wh) ? c->energy_wh : 0) ||
            !cJSON_AddStringToObject(s, "started", started))
            goto out;
    }
    json = cJSON_PrintUnformatted(in);
out:
    cJSON_Delete(in);
    return json;
}

/* The script's watts, each in [0, max] and 0 or at least its minimum, then
 * all scaled down together if they sum above the limit.  w[j] gets session
 * j's; returns 1 if anything had to be cut, 0 if not, -1 (why set) if the
 * answer is not an array of m finite numbers. */
static int site_policy_clamp(const struct chg_site_params *p, const struct chg_site_conn *conns, const size_t *idx,
                             size_t m, const cJSON *answer, int64_t *w, char *why, size_t whylen)
{
    if (!cJSON_IsArray(answer) || (size_t)cJSON_GetArraySize(answer) != m) {
        site_why(why, whylen, "%s", "the policy must return an array of watts, one per session");
        return -1;
    }
    int cut = 0;
    int64_t sum = 0, budget = (int64_t)floor(p->limit_w);
    const cJSON *item = answer->child;
    for (size_t j = 0; j < m; j++, item = item->next) {
        if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
            site_why(why, whylen, "%s", "the policy returned something other than a number of watts");
            return -1;
        }
        const struct chg_site_conn *c = &conns[idx[j]];
        double v = item->valuedouble, max = floor(c->max_w);
        if (v < 0 || v > max)
            cut = 1;
        v = v < 0 ? 0 : v > max ? max : floor(v);
        if (v > 0 && v < chg_site_min_w(p, c)) {
            v = 0;
            cut = 1;
        }
        w[j] = (int64_t)v;
        sum += w[j];
    }
    if (sum <= budget)
        return cut;
    for (size_t j = 0; j < m; j++) {
        w[j] = (int64_t)((__int128)w[j] * budget / sum);
        if (w[j] > 0 && (double)w[j] < chg_site_min_w(p, &conns[idx[j]]))
            w[j] = 0;
    }
    return 1;
}

/* Runs the policy; 0 or 1 (cut) with w[] set, -1 with why set. */
static int site_policy_run(const struct chg_site_params *p, const char *site, const struct chg_site_conn *conns,
                           const size_t *idx, size_t m, const struct chg_site_policy *policy, int64_t *w, char *why,
                           size_t whylen)
{
    int rc = -1;
    char *result = NULL;
    cJSON *answer = NULL;
    char *input = site_policy_input(p, site, conns, idx, m);
    if (!input) {
        site_why(why, whylen, "%s", "no memory for the policy's input");
        goto out;
    }
    int err = policy->call(policy->arg, input, strlen(input), &result);
    if (err < 0) {
        cJSON *e = result ? cJSON_Parse(result) : NULL;
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "error"));
        site_why(why, whylen, "the policy failed: %s", msg ? msg : mst_strerror(err));
        cJSON_Delete(e);
        goto out;
    }
    answer = result ? cJSON_Parse(result) : NULL;
    rc = site_policy_clamp(p, conns, idx, m, answer, w, why, whylen);
out:
    cJSON_Delete(answer);
    if (result && policy->release)
        policy->release(policy->arg, result);
    free(input);
    return rc;
}

int chg_site_share_policy(const struct chg_site_params *p, const char *site, const struct chg_site_conn *conns,
                          size_t n, const struct chg_site_policy *policy, double *out_w, char *why, size_t whylen)
{
    site_why(why, whylen, "%s", "");
    /* the built-in shares first: they validate the input and are the fallback */
    int rc = chg_site_share(p, conns, n, out_w);
    if (rc < 0 || !policy || !policy->call)
        return rc < 0 ? rc : CHG_SITE_BUILTIN;
    size_t *idx = calloc(n ? n : 1, sizeof *idx);
    int64_t *w = calloc(n ? n : 1, sizeof *w);
    size_t m = 0;
    if (!idx || !w) {
        rc = MST_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (conns[i].charging && !conns[i].held)
            idx[m++] = i;
    /* the script shares what the held connectors leave */
    struct chg_site_params left = *p;
    left.limit_w = (double)site_budget(p, conns, n, NULL);
    int cut = site_policy_run(&left, site, conns, idx, m, policy, w, why, whylen);
    if (cut < 0) {
        rc = CHG_SITE_FELL_BACK;
        goto out;
    }
    for (size_t j = 0; j < m; j++)
        out_w[idx[j]] = (double)w[j];
    rc = cut ? CHG_SITE_CLAMPED : CHG_SITE_SCRIPT;
out:
    free(idx);
    free(w);
    return rc;
}
