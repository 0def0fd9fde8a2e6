/* load.c - load management wired to the charge points: each site's limit
 * shared among the sessions of its stations (site.c computes the shares),
 * and each share sent as a TxProfile with SetChargingProfile.
 *
 * The sum of the limits in force never exceeds the site's limit, also
 * while they change:
 *   - an accepted boot of a station of a site gets a TxDefaultProfile of
 *     0 W, so a session that starts draws nothing until its share is sent,
 *     and a stopped session's TxProfile ends with it (back to 0 W);
 *   - a recomputation sends the decreases first and waits until every one
 *     is answered (a limit counts as in force at its old value until then),
 *     and only then the increases (counted in force from when they are
 *     sent).  A change that comes while calls are out marks the site dirty:
 *     it is recomputed when they are in.
 * A call that fails (timeout, error, disconnect) leaves the old value
 * counted for a decrease, so the bookkeeping errs on the safe side.
 * Recomputed on every start, stop and status change, and every
 * sites[].recompute_s.  A site's Lua policy (sites[].policy) replaces the
 * built-in sharing; site.c clamps its answer, or falls back to the
 * built-in one when it fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charging.h"

/* One connector of a site, as load management sees it. */
struct slot {
    struct chg_station *st;
    int connector;
};

/* A limit sent to one connector, waiting for its answer. */
struct pending_limit {
    struct chg_site_state *site;
    char station[CHG_ID_MAX + 1];
    int connector;
    int64_t txn;
    double limit_w;
    int decrease;
};

static void recompute(struct chg_site_state *s);

static struct chg_site_state *site_of(struct charging *c, const char *name)
{
    for (struct chg_site_state *s = c->sites; name && s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

int chg_load_is_fleet(const struct charging *c, const char *id_tag)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, c->fleet_tags)
        if (cJSON_IsString(t) && strcasecmp(t->valuestring, id_tag) == 0)
            return 1;
    return 0;
}

int chg_load_priority(struct charging *c, const char *id_tag, int booked)
{
    int p = chg_load_is_fleet(c, id_tag) ? c->prio_fleet : 0;
    return booked && c->prio_carsharing > p ? c->prio_carsharing : p;
}

/* "priorities": the classes highest first.  Each gets its distance above
 * the public's place (the public is 0; a class listed after it, or left
 * out, is served with it; without "public" in the list, every listed class
 * is above it). */
static void read_priorities(struct charging *c)
{
    char *json = c->host->config_json(c->inst, "priorities");
    cJSON *list = cJSON_Parse(json ? json : "[]");
    c->host->free(json);
    int n = cJSON_GetArraySize(list), i = 0, public_rank = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, list)
    {
        if (cJSON_IsString(v) && strcmp(v->valuestring, "public") == 0)
            public_rank = n - i;
        i++;
    }
    i = 0;
    cJSON_ArrayForEach(v, list)
    {
        int p = n - i++ - public_rank;
        p = p > 0 ? p : 0;
        if (cJSON_IsString(v) && strcmp(v->valuestring, "fleet") == 0)
            c->prio_fleet = p;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "carsharing") == 0)
            c->prio_carsharing = p;
    }
    cJSON_Delete(list);
}

/* The site's connectors with their state, into conns/slots (at most max). */
static size_t gather(struct chg_site_state *s, struct chg_site_conn *conns, struct slot *slots, double *old_w,
                     size_t max)
{
    size_t n = 0;
    for (struct chg_station *st = s->c->stations; st; st = st->next) {
        if (!st->site || strcmp(st->site, s->name) != 0)
            continue;
        for (int i = 1; i <= st->n_connectors && n < max; i++) {
            struct chg_connector *k = &st->connectors[i];
            conns[n] = (struct chg_site_conn){.station = st->id, .connector = i, .charging = k->txn != 0,
                                              .priority = k->priority, .phases = k->phases, .max_w = k->max_w,
                                              .meter_w = k->meter_w, .energy_wh = k->energy_wh,
                                              .started_ms = k->started_ms, .transaction_id = (int)k->txn,
                                              .held = k->held && k->txn, .held_w = k->sent_w};
            slots[n] = (struct slot){st, i};
            old_w[n] = k->sent_w;
            n++;
        }
    }
    return n;
}

static void limit_answered(void *arg, const struct chg_reply *r)
{
    struct pending_limit *p = arg;
    struct chg_site_state *s = p->site;
    struct chg_station *st = chg_station_find(s->c, p->station);
    const cJSON *status = r->outcome == CHG_CALL_RESULT ? cJSON_GetObjectItemCaseSensitive(r->payload, "status") : NULL;
    int accepted = cJSON_IsString(status) && strcmp(status->valuestring, "Accepted") == 0;
    /* a decrease counts once the station took it; an increase counted from
     * when it was sent; a decrease it did not take holds the old limit */
    struct chg_connector *k = st && st->connectors[p->connector].txn == p->txn ? &st->connectors[p->connector] : NULL;
    if (k && p->decrease && accepted)
        k->sent_w = p->limit_w;
    if (k)
        k->held = p->decrease && !accepted ? 1 : accepted ? 0 : k->held;
    if (!accepted)
        s->c->host->log(s->c->inst, MST_LOG_WARN, "site %s: charge point %s connector %d did not take its %.0f W limit",
                        s->name, p->station, p->connector, p->limit_w);
    free(p);
    if (--s->in_flight == 0)
        recompute(s);
}

static int send_limit(struct chg_site_state *s, const struct chg_site_conn *conn, struct chg_station *st,
                      double limit_w, int decrease)
{
    char why[256];
    struct chg_site_profile_opts o = s->o;
    o.profile_id = 1000 + conn->connector; /* one per connector: a new one replaces the old */
    cJSON *payload = chg_site_tx_profile(conn, limit_w, &o);
    struct pending_limit *p = calloc(1, sizeof *p);
    int rc = payload && p ? 0 : MST_ENOMEM;
    if (rc == 0) {
        *p = (struct pending_limit){.site = s, .connector = conn->connector, .txn = conn->transaction_id,
                                    .limit_w = limit_w, .decrease = decrease};
        snprintf(p->station, sizeof p->station, "%s", st->id);
        rc = chg_call(s->c, st, "SetChargingProfile", payload, limit_answered, p, why, sizeof why);
    }
    cJSON_Delete(payload);
    if (rc != 0) {
        free(p);
        return rc;
    }
    s->in_flight++;
    if (!decrease)
        st->connectors[conn->connector].sent_w = limit_w;
    return 0;
}

#define SITE_MAX 512 /* connectors per site */

static int policy_call(void *arg, const char *json, size_t len, char **result)
{
    struct chg_site_state *s = arg;
    return s->c->host->script_call(s->policy, "share", json, len, result);
}

static void policy_release(void *arg, char *result)
{
    ((struct chg_site_state *)arg)->c->host->free(result);
}

/* The shares: the site's policy, or the built-in sharing.  0 or an error. */
static int share(struct chg_site_state *s, const struct chg_site_conn *conns, size_t n, double *out_w)
{
    if (!s->policy)
        return chg_site_share(&s->p, conns, n, out_w);
    struct chg_site_policy policy = {policy_call, policy_release, s};
    char why[256] = "";
    int r = chg_site_share_policy(&s->p, s->name, conns, n, &policy, out_w, why, sizeof why);
    if (r == CHG_SITE_CLAMPED)
        s->c->host->metric_add(s->clamped_m, 1);
    if (r == CHG_SITE_FELL_BACK) {
        s->c->host->metric_add(s->fallbacks_m, 1);
        if (!s->policy_logged)
            s->c->host->log(s->c->inst, MST_LOG_WARN, "site %s: the Lua policy failed (%s); the built-in sharing is"
                            " used (further failures are only counted)", s->name, why);
        s->policy_logged = 1;
    }
    return r < 0 ? r : 0;
}

static void recompute(struct chg_site_state *s)
{
    if (s->c->stopping)
        return;
    if (s->in_flight) {
        s->dirty = 1;
        return;
    }
    s->dirty = 0;
    struct chg_site_conn *conns = calloc(SITE_MAX, sizeof *conns);
    struct slot *slots = calloc(SITE_MAX, sizeof *slots);
    double *old_w = calloc(SITE_MAX, sizeof *old_w), *new_w = calloc(SITE_MAX, sizeof *new_w);
    size_t *order = calloc(SITE_MAX, sizeof *order);
    if (!conns || !slots || !old_w || !new_w || !order)
        goto out;
    size_t n = gather(s, conns, slots, old_w, SITE_MAX);
    if (share(s, conns, n, new_w) != 0)
        goto out;
    /* a connector without a session is at its TxDefaultProfile: nothing to send */
    for (size_t i = 0; i < n; i++)
        if (!conns[i].charging) {
            slots[i].st->connectors[slots[i].connector].sent_w = 0;
            old_w[i] = new_w[i] = 0;
        }
    size_t decreases, m = chg_site_send_order(old_w, new_w, n, order, &decreases);
    double allocated = 0, paused = 0;
    /* the increases wait until every decrease is answered (a recomputation then) */
    for (size_t k = 0; k < (decreases ? decreases : m); k++) {
        size_t i = order[k];
        send_limit(s, &conns[i], slots[i].st, new_w[i], decreases > 0);
    }
    for (size_t i = 0; i < n; i++) {
        allocated += slots[i].st->connectors[slots[i].connector].sent_w;
        paused += conns[i].charging && new_w[i] == 0;
    }
    s->c->host->metric_set(s->allocated_m, allocated);
    s->c->host->metric_set(s->paused_m, paused);
out:
    free(conns);
    free(slots);
    free(old_w);
    free(new_w);
    free(order);
}

void chg_load_changed(struct charging *c, struct chg_station *st)
{
    struct chg_site_state *s = site_of(c, st->site);
    if (s)
        recompute(s);
}

static void default_answered(void *arg, const struct chg_reply *r)
{
    (void)arg, (void)r; /* a station that refuses it is still limited by each TxProfile */
}

void chg_load_boot(struct charging *c, struct chg_station *st)
{
    struct chg_site_state *s = site_of(c, st->site);
    if (!s)
        return;
    struct chg_site_profile_opts o = s->o;
    o.profile_id = 1000;
    cJSON *p = chg_site_default_profile(3, 0, &o);
    char why[256];
    if (!p || chg_call(c, st, "SetChargingProfile", p, default_answered, NULL, why, sizeof why) != 0)
        c->host->log(c->inst, MST_LOG_WARN, "site %s: the TxDefaultProfile for %s was not sent", s->name, st->id);
    cJSON_Delete(p);
    for (int i = 0; i <= CHG_MAX_CONNECTORS; i++)
        st->connectors[i].sent_w = 0;
    recompute(s);
}

int chg_load_open_sessions(struct charging *c)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db, "SELECT station, connector, id, start_ms, id_tag FROM txn WHERE stop_ms IS NULL AND authorized", -1,
                           &q, NULL) != SQLITE_OK)
        return MST_EDB;
    while (sqlite3_step(q) == SQLITE_ROW) {
        struct chg_station *st = chg_station_find(c, (const char *)sqlite3_column_text(q, 0));
        int n = sqlite3_column_int(q, 1);
        if (!st || n < 1 || n > CHG_MAX_CONNECTORS)
            continue;
        struct chg_connector *k = &st->connectors[n];
        k->txn = sqlite3_column_int64(q, 2);
        k->started_ms = sqlite3_column_int64(q, 3);
        const char *tag = (const char *)sqlite3_column_text(q, 4), *booked;
        k->priority = chg_load_priority(c, tag, chg_bookings_judge(c, st, n, tag, &booked) > 0);
        if (n > st->n_connectors)
            st->n_connectors = n;
    }
    sqlite3_finalize(q);
    return 0;
}

/* --- sites from the config ------------------------------------------------ */

static void tick(void *arg)
{
    recompute(arg);
}

static int site_metrics(struct charging *c, struct chg_site_state *s)
{
    char limit[160], allocated[160], paused[160], clamped[160], fallbacks[160];
    snprintf(limit, sizeof limit, "site_limit_watts{site=\"%s\"}", s->name);
    snprintf(allocated, sizeof allocated, "site_allocated_watts{site=\"%s\"}", s->name);
    snprintf(paused, sizeof paused, "sessions_paused{site=\"%s\"}", s->name);
    snprintf(clamped, sizeof clamped, "policy_clamped_total{site=\"%s\"}", s->name);
    snprintf(fallbacks, sizeof fallbacks, "policy_fallbacks_total{site=\"%s\"}", s->name);
    const struct mst_metric_def defs[] = {
        {MST_METRIC_GAUGE, limit, "a site's limit for charging", &s->limit_m},
        {MST_METRIC_GAUGE, allocated, "the sum of the limits in force at a site", &s->allocated_m},
        {MST_METRIC_GAUGE, paused, "sessions at 0 W for want of power", &s->paused_m},
        {MST_METRIC_COUNTER, clamped, "a Lua policy's answers cut to the limits", &s->clamped_m},
        {MST_METRIC_COUNTER, fallbacks, "a Lua policy that failed or answered nonsense", &s->fallbacks_m},
    };
    int rc = mst_metrics_register(c->host, c->inst, defs, sizeof defs / sizeof defs[0]);
    if (rc == 0)
        c->host->metric_set(s->limit_m, s->p.limit_w);
    return rc;
}

static int add_site(struct charging *c, int i)
{
    const struct mst_host *h = c->host;
    char path[64];
    struct chg_site_state *s = calloc(1, sizeof *s);
    if (!s)
        return MST_ENOMEM;
    s->c = c;
    s->next = c->sites;
    c->sites = s;
#define KEY(k) (snprintf(path, sizeof path, "sites[%d].%s", i, k), path)
    const char *name = h->config_string(c->inst, KEY("name")), *unit = h->config_string(c->inst, KEY("rate_unit"));
    const char *policy = h->config_string(c->inst, KEY("policy"));
    int64_t stack = 1;
    double kw = 0;
    if (!(s->name = strdup(name ? name : "")))
        return MST_ENOMEM;
    h->config_number(c->inst, KEY("limit_kw"), &kw);
    h->config_number(c->inst, KEY("min_current_a"), &s->p.min_current_a);
    h->config_number(c->inst, KEY("voltage"), &s->p.voltage);
    h->config_int(c->inst, KEY("stack_level"), &stack);
#undef KEY
    s->p.limit_w = kw * 1000;
    s->o.rate_amps = unit && strcmp(unit, "A") == 0;
    s->o.stack_level = (int)stack;
    s->o.voltage = s->p.voltage;
    /* "lua:<file>", compiled by the core when it checked the config */
    if (policy && strncmp(policy, "lua:", 4) == 0 && h->script_open(c->inst, policy + 4, &s->policy) != 0)
        return MST_ECONFIG;
    return site_metrics(c, s);
}

int chg_sites_init(struct charging *c)
{
    int rc = 0;
    size_t n = c->host->config_count(c->inst, "sites");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = add_site(c, (int)i);
    read_priorities(c);
    char *tags = c->host->config_json(c->inst, "fleet_tags");
    c->fleet_tags = cJSON_Parse(tags ? tags : "[]");
    c->host->free(tags);
    return rc == 0 && !c->fleet_tags ? MST_ENOMEM : rc;
}

int chg_sites_start(struct charging *c)
{
    int rc = 0, i = 0;
    for (struct chg_site_state *s = c->sites; rc == 0 && s; s = s->next, i++) {
        int64_t every = 60;
        char path[64];
        /* c->sites is in reverse config order */
        snprintf(path, sizeof path, "sites[%zu].recompute_s", c->host->config_count(c->inst, "sites") - 1 - i);
        c->host->config_int(c->inst, path, &every);
        rc = c->host->timer_start(c->inst, (uint64_t)every * 1000, (uint64_t)every * 1000, tick, s, &s->timer);
    }
    return rc;
}

void chg_sites_free(struct charging *c)
{
    while (c->sites) {
        struct chg_site_state *s = c->sites;
        c->sites = s->next;
        if (s->policy)
            c->host->script_close(s->policy);
        free(s->name);
        free(s);
    }
    cJSON_Delete(c->fleet_tags);
}

/* --- the sites API ---------------------------------------------------------- */

static cJSON *site_json(struct chg_site_state *s)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "connectors");
    if (!list || !cJSON_AddStringToObject(o, "site", s->name) ||
        !cJSON_AddNumberToObject(o, "limit_kw", s->p.limit_w / 1000))
        goto fail;
    for (struct chg_station *st = s->c->stations; st; st = st->next) {
        if (!st->site || strcmp(st->site, s->name) != 0)
            continue;
        for (int i = 1; i <= st->n_connectors; i++) {
            const struct chg_connector *k = &st->connectors[i];
            cJSON *e = cJSON_CreateObject();
            if (!e || !cJSON_AddItemToArray(list, e)) {
                cJSON_Delete(e);
                goto fail;
            }
            /* a limit is in force only on a running transaction (else the
             * TxDefaultProfile's 0 W holds) */
            if (!cJSON_AddStringToObject(e, "station", st->id) || !cJSON_AddNumberToObject(e, "connector", i) ||
                !cJSON_AddNumberToObject(e, "limit_kw", k->sent_w / 1000) ||
                !cJSON_AddBoolToObject(e, "in_force", k->txn != 0) || !cJSON_AddBoolToObject(e, "held", k->held) ||
                !cJSON_AddNumberToObject(e, "max_kw", k->max_w / 1000))
                goto fail;
        }
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

/* POST sites/{name}/limit {"limit_kw"}: the new limit holds until the
 * daemon restarts (the config's is read again then).  The shares are
 * recomputed at once, decreases first as always, so the sum in force goes
 * under the new limit as soon as the stations have answered. */
static void set_limit(struct charging *c, mst_http_request *req, struct chg_site_state *s)
{
    size_t len;
    const char *body = c->host->http_body(req, &len);
    cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *kw = cJSON_GetObjectItemCaseSensitive(j, "limit_kw");
    char msg[200];
    if (chg_unknown_key(j, (const char *const[]){"limit_kw", NULL}, msg, sizeof msg)) {
        chg_respond_error(c, req, 400, msg);
    } else if (!cJSON_IsNumber(kw) || !(kw->valuedouble >= 0 && kw->valuedouble <= 1e6)) {
        chg_respond_error(c, req, 400, "send {\"limit_kw\": 0 to 1000000}");
    } else {
        s->p.limit_w = kw->valuedouble * 1000;
        c->host->metric_set(s->limit_m, s->p.limit_w);
        c->host->log(c->inst, MST_LOG_INFO, "site %s: limit set to %g kW by the operator (until restart)", s->name,
                     kw->valuedouble);
        recompute(s);
        chg_respond_json(c, req, 200, site_json(s));
    }
    cJSON_Delete(j);
}

void chg_api_sites(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    const char *sub = c->host->http_subpath(req);
    if (c->host->http_method(req)[0] == 'G') {
        cJSON *list = cJSON_CreateArray();
        for (struct chg_site_state *s = c->sites; list && s; s = s->next) {
            cJSON *o = site_json(s);
            if (!o || !cJSON_AddItemToArray(list, o)) {
                cJSON_Delete(o);
                cJSON_Delete(list);
                list = NULL;
            }
        }
        chg_respond_json(c, req, 200, list);
        return;
    }
    size_t n = strcspn(sub, "/");
    struct chg_site_state *s = NULL;
    for (s = c->sites; s && (strlen(s->name) != n || strncmp(s->name, sub, n) != 0); s = s->next)
        ;
    if (!s)
        chg_respond_error(c, req, 404, "no such site");
    else if (strcmp(sub + n, "/limit") != 0)
        chg_respond_error(c, req, 404, "POST sites/{name}/limit only");
    else
        set_limit(c, req, s);
}
