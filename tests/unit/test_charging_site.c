/* test_charging_site.c - load management: the worked examples of
 * docs/plugins/charging-site.md, a scripted day of three sites checked at
 * every step, the TxProfile, and the Lua policy (fake calls, then real Lua
 * through the daemon's script host with its budget). */
#include "harness.h"

#include <math.h>

#include <cjson/cJSON.h>

#include "script.h"

#include "../../plugins/charging/site.h"

static const struct chg_site_params params_40kw = {.limit_w = 40000, .min_current_a = 6, .voltage = 230};

static struct chg_site_conn conn(const char *station, int prio, int phases, double max_w, int64_t started)
{
    return (struct chg_site_conn){.station = station, .connector = 1, .charging = 1, .priority = prio,
                                  .phases = phases, .max_w = max_w, .meter_w = -1, .started_ms = started,
                                  .transaction_id = 1};
}

/* --- the worked examples of the docs -------------------------------------- */

static void worked_example_fleet_and_public(void **state)
{
    (void)state;
    struct chg_site_conn c[7] = {conn("fleet-van", 1, 3, 22000, 0), conn("P1", 0, 3, 22000, 1),
                                 conn("P2", 0, 3, 22000, 2), conn("P3", 0, 3, 22000, 3),
                                 conn("P4", 0, 3, 22000, 4), conn("P5", 0, 3, 22000, 5),
                                 conn("P6", 0, 3, 22000, 6)};
    double w[7];
    /* the van and three public cars: the van at its maximum, the rest shared */
    assert_int_equal(chg_site_share(&params_40kw, c, 4, w), 0);
    assert_float_equal(w[0], 22000, 0);
    for (int i = 1; i < 4; i++)
        assert_float_equal(w[i], 6000, 0);
    /* a fourth public car: 18 kW / 4 */
    assert_int_equal(chg_site_share(&params_40kw, c, 5, w), 0);
    assert_float_equal(w[0], 22000, 0);
    for (int i = 1; i < 5; i++)
        assert_float_equal(w[i], 4500, 0);
    /* a fifth: 18 kW / 5 = 3.6 kW is under 6 A x 230 V x 3 = 4140 W; every
     * minimum still fits in 40 kW, so the van gives up what the public needs */
    assert_int_equal(chg_site_share(&params_40kw, c, 6, w), 0);
    assert_float_equal(w[0], 40000 - 5 * 4140, 0);
    for (int i = 1; i < 6; i++)
        assert_float_equal(w[i], 4140, 0);
    /* the same on an 11 kW connection: two minima fit, the third car waits */
    struct chg_site_params small = params_40kw;
    small.limit_w = 11000;
    assert_int_equal(chg_site_share(&small, c, 3, w), 0);
    assert_float_equal(w[0], 11000 - 4140, 0);
    assert_float_equal(w[1], 4140, 0);
    assert_float_equal(w[2], 0, 0);
}

static void worked_example_water_filling(void **state)
{
    (void)state;
    /* 20 kW among a 22 kW car, a 1-phase 16 A car and an 11 kW car */
    struct chg_site_conn c[3] = {conn("A", 0, 3, 22000, 0), conn("B", 0, 1, 3680, 1), conn("C", 0, 3, 11000, 2)};
    struct chg_site_params p = params_40kw;
    p.limit_w = 20000;
    double w[3];
    assert_int_equal(chg_site_share(&p, c, 3, w), 0);
    assert_float_equal(w[0], 8160, 0);
    assert_float_equal(w[1], 3680, 0);
    assert_float_equal(w[2], 8160, 0);
    /* watts that do not divide: shares differ by one, none is lost */
    p.limit_w = 20001;
    assert_int_equal(chg_site_share(&p, c, 3, w), 0);
    assert_float_equal(w[0] + w[1] + w[2], 20001, 0);
    assert_true(fabs(w[0] - w[2]) <= 1);
}

static void arrival_order_and_phases(void **state)
{
    (void)state;
    struct chg_site_params p = params_40kw;
    p.limit_w = 6000;
    /* the later 3-phase car does not fit its 4140 W, the 1-phase car its 1380 W does */
    struct chg_site_conn c[3] = {conn("first", 0, 3, 22000, 10), conn("late3", 0, 3, 22000, 30),
                                 conn("late1", 0, 1, 7360, 40)};
    double w[3];
    assert_int_equal(chg_site_share(&p, c, 3, w), 0);
    assert_float_equal(w[1], 0, 0);
    assert_true(w[0] >= 4140 && w[2] >= 1380);
    assert_float_equal(w[0] + w[2], 6000, 0);
    /* but not across classes: a paused higher class keeps every lower class paused */
    c[1].priority = 1;
    c[1].started_ms = 50;
    c[0].priority = 1;
    p.limit_w = 5000;
    assert_int_equal(chg_site_share(&p, c, 3, w), 0);
    assert_float_equal(w[0], 5000, 0);
    assert_float_equal(w[1], 0, 0);
    assert_float_equal(w[2], 0, 0);
}

static void idle_connectors_and_bad_input(void **state)
{
    (void)state;
    struct chg_site_conn c[2] = {conn("A", 0, 3, 22000, 0), conn("B", 0, 3, 22000, 0)};
    c[1].charging = 0;
    double w[2] = {-1, -1};
    assert_int_equal(chg_site_share(&params_40kw, c, 2, w), 0);
    assert_float_equal(w[0], 22000, 0);
    assert_float_equal(w[1], 0, 0); /* no headroom kept for a car that has not started */
    /* a connector whose own maximum is below the minimum may still use it */
    c[1] = conn("tiny", 0, 1, 1000, 1);
    assert_int_equal(chg_site_share(&params_40kw, c, 2, w), 0);
    assert_float_equal(w[1], 1000, 0);
    /* refused: what would break the arithmetic */
    struct chg_site_params p = params_40kw;
    p.limit_w = NAN;
    assert_int_equal(chg_site_share(&p, c, 2, w), MST_EINVAL);
    p.limit_w = -1;
    assert_int_equal(chg_site_share(&p, c, 2, w), MST_EINVAL);
    p = params_40kw;
    p.voltage = 0;
    assert_int_equal(chg_site_share(&p, c, 2, w), MST_EINVAL);
    c[0].phases = 2;
    assert_int_equal(chg_site_share(&params_40kw, c, 2, w), MST_EINVAL);
    assert_float_equal(w[0], 0, 0);
    c[0].phases = 3;
    c[0].max_w = INFINITY;
    assert_int_equal(chg_site_share(&params_40kw, c, 2, w), MST_EINVAL);
    assert_int_equal(chg_site_share(&params_40kw, c, 0, w), 0);
}

/* A station that did not lower its limit keeps it, and the rest is shared. */
static void held_connectors_keep_their_limit(void **state)
{
    (void)state;
    struct chg_site_conn c[3] = {conn("A", 0, 3, 22000, 0), conn("B", 0, 3, 22000, 1), conn("C", 2, 3, 22000, 2)};
    c[0].held = 1;
    c[0].held_w = 20000.7;
    double w[3];
    assert_int_equal(chg_site_share(&params_40kw, c, 3, w), 0);
    assert_float_equal(w[0], 20000, 0);
    assert_float_equal(w[2], 15860, 0); /* the fleet car: 40,000 - 20,000 - B's 4,140 */
    assert_float_equal(w[1], 4140, 0);
    /* held limits over the site's: nothing for anyone else */
    c[1].held = 1;
    c[1].held_w = 22000;
    assert_int_equal(chg_site_share(&params_40kw, c, 3, w), 0);
    assert_float_equal(w[2], 0, 0);
    c[1].held_w = NAN;
    assert_int_equal(chg_site_share(&params_40kw, c, 3, w), MST_EINVAL);
}

/* --- a scripted day ------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define DAY_SITES 3
#define DAY_CONNS 20

struct day_site {
    struct chg_site_params params;
    size_t first, n;       /* its connectors in the day's array */
};

struct day {
    struct day_site sites[DAY_SITES];
    struct chg_site_conn conns[DAY_CONNS];
    double sent[DAY_CONNS]; /* the limit in force at each connector */
    int down[DAY_CONNS];    /* the station answers no SetChargingProfile */
    int64_t now;
    int steps, pauses, full, holds;
};

/* Every property the sharing promises, for one site's answer. */
static void check_shares(const struct chg_site_params *p, const struct chg_site_conn *c, size_t n, const double *w)
{
    double sum = 0, minima = 0;
    int below_max = 0;
    for (size_t i = 0; i < n; i++) {
        double min = chg_site_min_w(p, &c[i]);
        sum += w[i];
        assert_true(w[i] == floor(w[i]));
        assert_true(w[i] <= c[i].max_w);
        assert_true(w[i] == 0 || w[i] >= min);
        if (!c[i].charging) {
            assert_true(w[i] == 0);
            continue;
        }
        minima += min;
        below_max |= w[i] > 0 && w[i] < floor(c[i].max_w);
        for (size_t j = 0; j < n; j++) {
            if (!c[j].charging || i == j)
                continue;
            /* a paused class above pauses every class below */
            if (c[i].priority > c[j].priority && w[i] == 0 && min > 0)
                assert_true(w[j] == 0);
            /* surplus reaches a lower class only once the classes above are full */
            if (c[i].priority > c[j].priority && w[i] > 0 && w[j] > chg_site_min_w(p, &c[j]))
                assert_true(w[i] == floor(c[i].max_w));
            /* within a class, equal shares unless capped */
            if (c[i].priority == c[j].priority && w[i] > 0 && w[j] > chg_site_min_w(p, &c[j]) + 1 &&
                w[i] + 1 < w[j])
                assert_true(w[i] == floor(c[i].max_w));
        }
    }
    assert_true(sum <= p->limit_w);
    /* nobody starved when every minimum fits */
    if (minima <= p->limit_w)
        for (size_t i = 0; i < n; i++)
            assert_true(!c[i].charging || w[i] > 0 || chg_site_min_w(p, &c[i]) == 0);
    /* nothing left unused while someone could take more */
    if (below_max)
        assert_true(sum == floor(p->limit_w));
}

/* check_shares for a site with held connectors: they keep their limit,
 * the rest is checked against what they leave. */
static void check_site(const struct chg_site_params *p, const struct chg_site_conn *c, size_t n, const double *w)
{
    struct chg_site_conn free_c[DAY_CONNS];
    double free_w[DAY_CONNS];
    struct chg_site_params left = *p;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].held) {
            assert_true(w[i] == floor(c[i].held_w));
            left.limit_w -= w[i];
            continue;
        }
        free_c[m] = c[i];
        free_w[m++] = w[i];
    }
    left.limit_w = left.limit_w > 0 ? left.limit_w : 0;
    check_shares(&left, free_c, m, free_w);
}

/* The sum in force after one SetChargingProfile has been applied. */
static void day_apply(struct day *d, struct day_site *s, size_t i, double w)
{
    struct chg_site_conn *c = &d->conns[s->first + i];
    struct chg_site_profile_opts o = {.rate_amps = (int)(i % 2), .stack_level = 1, .profile_id = 100 + (int)i,
                                      .voltage = 230};
    cJSON *prof = chg_site_tx_profile(c, w, &o);
    assert_non_null(prof);
    cJSON *period = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(prof,
                        "csChargingProfiles"), "chargingSchedule"), "chargingSchedulePeriod"), 0);
    double limit = cJSON_GetObjectItem(period, "limit")->valuedouble;
    /* what the profile allows is never more than the share */
    assert_true((o.rate_amps ? limit * 230 * c->phases : limit) <= w + 1e-6);
    cJSON_Delete(prof);
    d->sent[s->first + i] = w;
    double in_force = 0;
    for (size_t m = 0; m < s->n; m++)
        in_force += d->sent[s->first + m];
    assert_true(in_force <= s->params.limit_w);
}

/* Recomputes a site and sends its limits in the two phases site.h gives:
 * every decrease, answered Accepted unless the station is down (then it is
 * held at the limit it keeps, and the site recomputed at once), then, only
 * if all were accepted, the increases (one to a station that is down stays
 * unapplied: the lower limit stays in force).  The sum in force is checked
 * after every single SetChargingProfile. */
static void day_recompute(struct day *d, struct day_site *s)
{
    double w[DAY_CONNS];
    size_t order[DAY_CONNS], decreases;
    struct chg_site_conn *c = &d->conns[s->first];
    for (int round = 0;; round++) {
        assert_true(round <= DAY_CONNS); /* each round holds one more connector, or ends */
        assert_int_equal(chg_site_share(&s->params, c, s->n, w), 0);
        check_site(&s->params, c, s->n, w);
        size_t k = chg_site_send_order(&d->sent[s->first], w, s->n, order, &decreases);
        int refused = 0;
        for (size_t j = 0; j < decreases; j++) {
            size_t i = order[j];
            if (d->down[s->first + i]) {
                c[i].held = 1;
                c[i].held_w = d->sent[s->first + i];
                refused = 1;
                d->holds++;
                continue;
            }
            day_apply(d, s, i, w[i]);
        }
        if (refused)
            continue;
        for (size_t j = decreases; j < k; j++)
            if (!d->down[s->first + order[j]])
                day_apply(d, s, order[j], w[order[j]]);
        break;
    }
    for (size_t i = 0; i < s->n; i++) {
        assert_true(d->sent[s->first + i] == w[i] || (d->down[s->first + i] && d->sent[s->first + i] < w[i]));
        d->pauses += c[i].charging && w[i] == 0;
        d->full += c[i].charging && w[i] == floor(c[i].max_w);
    }
    d->steps++;
}

static const double day_max[] = {22000, 11000, 7360, 3680, 22000, 11000};
static const int day_phases[] = {3, 3, 1, 1, 3, 3};

static void day_init(struct day *d)
{
    memset(d, 0, sizeof *d);
    static const size_t sizes[DAY_SITES] = {8, 7, 5};
    static const double limits[DAY_SITES] = {40000, 22000, 15000};
    static char names[DAY_CONNS][32];
    size_t first = 0;
    for (int s = 0; s < DAY_SITES; s++) {
        d->sites[s] = (struct day_site){{limits[s], 6, 230}, first, sizes[s]};
        for (size_t i = first; i < first + sizes[s]; i++) {
            snprintf(names[i], sizeof names[i], "CP-%zu", i);
            d->conns[i] = (struct chg_site_conn){.station = names[i], .connector = 1, .phases = day_phases[i % 6],
                                                 .max_w = day_max[i % 6], .meter_w = -1};
        }
        first += sizes[s];
    }
}

static struct day_site *day_site_of(struct day *d, size_t i)
{
    for (int s = 0; s < DAY_SITES; s++)
        if (i >= d->sites[s].first && i < d->sites[s].first + d->sites[s].n)
            return &d->sites[s];
    fail();
    return NULL;
}

/* One event at a random connector: a car arrives, leaves, the connector
 * faults, or a meter value comes in; now and then a station stops
 * answering, or comes back; the clock moves on. */
static void day_event(struct day *d, int *tx)
{
    size_t i = rng() % DAY_CONNS;
    struct chg_site_conn *c = &d->conns[i];
    d->now += 1000 * (int64_t)(1 + rng() % 300);
    uint64_t roll = rng() % 100;
    if (roll < 8) {
        d->down[i] = !d->down[i];
        if (!d->down[i])
            c->held = 0; /* back: it takes profiles again */
    } else if (!c->charging) {
        static const int classes[] = {0, 0, 0, 1, 2}; /* public, carsharing booking, fleet */
        c->charging = 1;
        c->priority = classes[rng() % 5];
        c->started_ms = d->now;
        c->energy_wh = 0;
        c->transaction_id = ++*tx;
        d->sent[i] = 0; /* the station's TxDefaultProfile: nothing until its TxProfile */
    } else if (roll < 30) {
        c->charging = 0; /* StopTransaction, or a Faulted status: its profile ends with it */
        c->held = 0;
        d->sent[i] = 0;
    } else {
        c->meter_w = (double)(rng() % (uint64_t)(d->sent[i] + 1));
        c->energy_wh += c->meter_w / 60;
        return; /* a meter value changes nobody's share: no recomputation */
    }
    day_recompute(d, day_site_of(d, i));
}

static void scripted_day_keeps_every_promise(void **state)
{
    (void)state;
    struct day d;
    day_init(&d);
    rng_state = 0x9e3779b97f4a7c15ull;
    int tx = 0;
    for (int e = 0; e < 2000; e++) {
        day_event(&d, &tx);
        if (e % 25 == 0) /* the timer: every site */
            for (int s = 0; s < DAY_SITES; s++)
                day_recompute(&d, &d.sites[s]);
    }
    /* the day was busy enough to test something: cars paused and cars at full power */
    assert_true(tx > 300);
    assert_true(d.steps > 500);
    assert_true(d.pauses > 50);
    assert_true(d.full > 50);
    print_message("the day: %d sessions, %d recomputations, %d paused and %d full shares, %d holds\n", tx, d.steps,
                  d.pauses, d.full, d.holds);
    assert_true(d.holds > 10); /* and stations that would not lower their limit */
}

/* --- the order of sending ------------------------------------------------- */

static void decreases_go_first(void **state)
{
    (void)state;
    double old[4] = {10000, 5000, 0, 7000}, now[4] = {4000, 9000, 6000, 7000};
    size_t order[4], decreases;
    assert_int_equal(chg_site_send_order(old, now, 4, order, &decreases), 3);
    assert_int_equal(decreases, 1);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 2);
}

/* --- the TxProfile -------------------------------------------------------- */

static void tx_profile_in_watts_and_amps(void **state)
{
    (void)state;
    struct chg_site_conn c = conn("CP-1", 0, 3, 22000, 0);
    c.connector = 2;
    c.transaction_id = 4711;
    struct chg_site_profile_opts o = {.rate_amps = 0, .stack_level = 1, .profile_id = 7, .voltage = 230};
    cJSON *p = chg_site_tx_profile(&c, 8160.9, &o);
    char *text = cJSON_PrintUnformatted(p);
    assert_string_equal(text, "{\"connectorId\":2,\"csChargingProfiles\":{\"chargingSchedule\":{"
                              "\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":8160,\"numberPhases\":3}],"
                              "\"chargingRateUnit\":\"W\"},\"chargingProfileId\":7,\"transactionId\":4711,"
                              "\"stackLevel\":1,\"chargingProfilePurpose\":\"TxProfile\","
                              "\"chargingProfileKind\":\"Relative\"}}");
    free(text);
    cJSON_Delete(p);
    /* 8160 W / (230 V x 3) = 11.826 A: 11.8 A, never 11.9 */
    o.rate_amps = 1;
    p = chg_site_tx_profile(&c, 8160, &o);
    const cJSON *period = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "csChargingProfiles"), "chargingSchedule"),
                            "chargingSchedulePeriod"),
        0);
    assert_float_equal(cJSON_GetObjectItem(period, "limit")->valuedouble, 11.8, 1e-9);
    text = cJSON_PrintUnformatted(cJSON_GetObjectItem(period, "limit"));
    assert_string_equal(text, "11.8");
    free(text);
    cJSON_Delete(p);
    /* exactly 6 A x 230 V x 3 stays 6 A; paused is 0 */
    p = chg_site_tx_profile(&c, 4140, &o);
    text = cJSON_PrintUnformatted(p);
    assert_non_null(strstr(text, "\"limit\":6,"));
    free(text);
    cJSON_Delete(p);
    p = chg_site_tx_profile(&c, 0, &o);
    text = cJSON_PrintUnformatted(p);
    assert_non_null(strstr(text, "\"limit\":0,"));
    free(text);
    cJSON_Delete(p);
    /* no transaction yet: no transactionId; connector 0 or bad numbers: refused */
    c.transaction_id = 0;
    p = chg_site_tx_profile(&c, 4140, &o);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "csChargingProfiles"), "transactionId"));
    cJSON_Delete(p);
    c.connector = 0;
    assert_null(chg_site_tx_profile(&c, 4140, &o));
    c.connector = 1;
    assert_null(chg_site_tx_profile(&c, NAN, &o));
    assert_null(chg_site_tx_profile(&c, -5, &o));
    /* the station's default until a TxProfile comes: connector 0, nothing */
    o.rate_amps = 0;
    p = chg_site_default_profile(3, 0, &o);
    text = cJSON_PrintUnformatted(p);
    assert_string_equal(text, "{\"connectorId\":0,\"csChargingProfiles\":{\"chargingSchedule\":{"
                              "\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":0,\"numberPhases\":3}],"
                              "\"chargingRateUnit\":\"W\"},\"chargingProfileId\":7,\"stackLevel\":1,"
                              "\"chargingProfilePurpose\":\"TxDefaultProfile\",\"chargingProfileKind\":\"Relative\"}}");
    free(text);
    cJSON_Delete(p);
    assert_null(chg_site_default_profile(2, 0, &o));
}

/* --- the Lua policy, through a fake call ---------------------------------- */

struct fake_policy {
    const char *answer; /* what the "script" returns */
    int rc;
    char input[4096];   /* what it was given */
    int released;
};

static int fake_call(void *arg, const char *json, size_t len, char **result)
{
    struct fake_policy *f = arg;
    snprintf(f->input, sizeof f->input, "%.*s", (int)len, json);
    *result = strdup(f->answer);
    return f->rc;
}

static void fake_release(void *arg, char *result)
{
    ((struct fake_policy *)arg)->released++;
    free(result);
}

static void policy_answers_are_used_clamped_or_replaced(void **state)
{
    (void)state;
    struct chg_site_conn c[3] = {conn("A", 2, 3, 22000, 1000), conn("B", 0, 3, 11000, 2000),
                                 conn("C", 0, 1, 7360, 3000)};
    c[1].charging = 0;
    c[2].meter_w = 3200;
    c[2].energy_wh = 1500;
    struct fake_policy f = {.answer = "[10000, 5000]"};
    struct chg_site_policy pol = {fake_call, fake_release, &f};
    double w[3];
    char why[256];
    /* used as given; the script saw the two sessions, with their numbers */
    assert_int_equal(chg_site_share_policy(&params_40kw, "town-hall", c, 3, &pol, w, why, sizeof why),
                     CHG_SITE_SCRIPT);
    assert_float_equal(w[0], 10000, 0);
    assert_float_equal(w[1], 0, 0);
    assert_float_equal(w[2], 5000, 0);
    assert_int_equal(f.released, 1);
    cJSON *in = cJSON_Parse(f.input);
    assert_string_equal(cJSON_GetObjectItem(in, "site")->valuestring, "town-hall");
    assert_float_equal(cJSON_GetObjectItem(in, "limit_w")->valuedouble, 40000, 0);
    cJSON *sessions = cJSON_GetObjectItem(in, "sessions");
    assert_int_equal(cJSON_GetArraySize(sessions), 2);
    cJSON *s1 = cJSON_GetArrayItem(sessions, 1);
    assert_string_equal(cJSON_GetObjectItem(s1, "station")->valuestring, "C");
    assert_float_equal(cJSON_GetObjectItem(s1, "meter_w")->valuedouble, 3200, 0);
    assert_float_equal(cJSON_GetObjectItem(s1, "energy_wh")->valuedouble, 1500, 0);
    assert_float_equal(cJSON_GetObjectItem(s1, "min_w")->valuedouble, 1380, 0);
    assert_string_equal(cJSON_GetObjectItem(s1, "started")->valuestring, "1970-01-01T00:00:03.000Z");
    cJSON_Delete(in);
    /* over a maximum, negative, under a minimum: clamped */
    f.answer = "[99999, -3]";
    assert_int_equal(chg_site_share_policy(&params_40kw, "s", c, 3, &pol, w, why, sizeof why), CHG_SITE_CLAMPED);
    assert_float_equal(w[0], 22000, 0);
    assert_float_equal(w[2], 0, 0);
    f.answer = "[22000, 1000]";
    assert_int_equal(chg_site_share_policy(&params_40kw, "s", c, 3, &pol, w, why, sizeof why), CHG_SITE_CLAMPED);
    assert_float_equal(w[2], 0, 0);
    /* over the site's limit: scaled down together, never above it */
    struct chg_site_params p = params_40kw;
    p.limit_w = 20000;
    f.answer = "[22000, 7360]";
    assert_int_equal(chg_site_share_policy(&p, "s", c, 3, &pol, w, why, sizeof why), CHG_SITE_CLAMPED);
    assert_true(w[0] + w[2] <= 20000);
    assert_float_equal(w[0], floor(22000.0 * 20000 / 29360), 0);
    /* nonsense or a failure: the built-in sharing, and why */
    double builtin[3];
    assert_int_equal(chg_site_share(&p, c, 3, builtin), 0);
    const char *nonsense[] = {"{\"A\": 1}", "[1]", "[1, 2, 3]", "[1, \"2\"]", "not json", "[1, null]"};
    for (size_t i = 0; i < sizeof nonsense / sizeof *nonsense; i++) {
        f.answer = nonsense[i];
        assert_int_equal(chg_site_share_policy(&p, "s", c, 3, &pol, w, why, sizeof why), CHG_SITE_FELL_BACK);
        assert_memory_equal(w, builtin, sizeof w);
        assert_non_null(strstr(why, "the policy"));
    }
    f.answer = "{\"error\":\"policy.lua:3: attempt to index a nil value\"}";
    f.rc = MST_EPLUGIN;
    assert_int_equal(chg_site_share_policy(&p, "s", c, 3, &pol, w, why, sizeof why), CHG_SITE_FELL_BACK);
    assert_string_equal(why, "the policy failed: policy.lua:3: attempt to index a nil value");
    assert_memory_equal(w, builtin, sizeof w);
    /* no policy: built-in */
    assert_int_equal(chg_site_share_policy(&p, "s", c, 3, NULL, w, why, sizeof why), CHG_SITE_BUILTIN);
    assert_memory_equal(w, builtin, sizeof w);
    /* a held connector is not the script's: it shares what that one leaves */
    c[0].held = 1;
    c[0].held_w = 12000;
    f.rc = 0;
    f.answer = "[9000]";
    assert_int_equal(chg_site_share_policy(&p, "s", c, 3, &pol, w, why, sizeof why), CHG_SITE_CLAMPED);
    assert_float_equal(w[0], 12000, 0);
    assert_float_equal(w[2], 7360, 0); /* C's maximum */
    in = cJSON_Parse(f.input);
    assert_float_equal(cJSON_GetObjectItem(in, "limit_w")->valuedouble, 8000, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(in, "sessions")), 1);
    cJSON_Delete(in);
    assert_int_equal(f.released, 1 + 2 + 1 + 6 + 1 + 1);
}

/* A policy answering random numbers all day: the invariant holds anyway. */
static int random_call(void *arg, const char *json, size_t len, char **result)
{
    (void)arg;
    cJSON *in = cJSON_ParseWithLength(json, len);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(in, "sessions"));
    cJSON_Delete(in);
    cJSON *out = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(out, cJSON_CreateNumber((double)(int64_t)(rng() % 60000) - 10000 + 0.5));
    *result = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return 0;
}

static void random_policy_cannot_break_the_limit(void **state)
{
    (void)state;
    struct day d;
    day_init(&d);
    rng_state = 42;
    struct chg_site_policy pol = {random_call, fake_release, &(struct fake_policy){0}};
    int clamped = 0;
    for (int e = 0; e < 1000; e++) {
        size_t i = rng() % DAY_CONNS;
        d.conns[i].charging = !d.conns[i].charging;
        d.conns[i].started_ms = e;
        struct day_site *s = day_site_of(&d, i);
        double w[DAY_CONNS];
        char why[128];
        int rc = chg_site_share_policy(&s->params, "s", &d.conns[s->first], s->n, &pol, w, why, sizeof why);
        assert_true(rc == CHG_SITE_SCRIPT || rc == CHG_SITE_CLAMPED);
        clamped += rc == CHG_SITE_CLAMPED;
        double sum = 0;
        for (size_t j = 0; j < s->n; j++) {
            const struct chg_site_conn *c = &d.conns[s->first + j];
            assert_true(w[j] >= 0 && w[j] <= c->max_w);
            assert_true(w[j] == 0 || w[j] >= chg_site_min_w(&s->params, c));
            assert_true(c->charging || w[j] == 0);
            sum += w[j];
        }
        assert_true(sum <= s->params.limit_w);
    }
    assert_true(clamped > 100);
}

/* --- the Lua policy, in real Lua through the daemon's script host ---------- */

static char *dir;
static struct mst__daemon daemon_;

static int daemon_setup(void **state)
{
    (void)state;
    mst__log_set_level(MST_LOG_ERROR);
    dir = make_tmpdir();
    setenv("MESTYS_PLUGIN_PATH", env_or_fail("MESTYS_TEST_PLUGIN_DIR"), 1);
    char *path = write_file(dir, "mestys.json",
                            "{\"node\": {\"name\": \"t\", \"http\": {\"listen\": \"\"},"
                            " \"lua\": {\"instructions\": 100000, \"memory_mb\": 4}},\n"
                            " \"plugins\": [{\"use\": \"testplug\", \"config\": {\"label\": \"x\"}}]}\n");
    free(write_file(dir, "policy.lua",
                    "-- fleet first at full power, the public shares the rest equally\n"
                    "function share(input)\n"
                    "  local left, out, public = input.limit_w, {}, {}\n"
                    "  for i, s in ipairs(input.sessions) do\n"
                    "    if s.priority > 0 then out[i] = math.min(s.max_w, left); left = left - out[i]\n"
                    "    else public[#public + 1] = i end\n"
                    "  end\n"
                    "  for _, i in ipairs(public) do out[i] = left / #public end\n"
                    "  return out\n"
                    "end\n"
                    "function greedy(input)\n"
                    "  local out = {}\n"
                    "  for i, s in ipairs(input.sessions) do out[i] = s.max_w end\n"
                    "  return out\n"
                    "end\n"
                    "function spin(input) while true do end end\n"
                    "function broken(input) return input.nothing.here end\n"));
    struct mst__diag diag = {0};
    int rc = mst__daemon_init(&daemon_, path, &diag);
    if (rc != 0)
        fprintf(stderr, "%s", diag.text.data);
    mst__diag_free(&diag);
    free(path);
    assert_int_equal(rc, 0);
    assert_int_equal(mst__daemon_start(&daemon_), 0);
    return 0;
}

static int daemon_teardown(void **state)
{
    (void)state;
    assert_int_equal(mst__daemon_finish(&daemon_), 0);
    mst__daemon_free(&daemon_);
    remove_tmpdir(dir);
    return 0;
}

struct real_policy {
    mst_script *script;
    const char *function;
};

static int real_call(void *arg, const char *json, size_t len, char **result)
{
    struct real_policy *r = arg;
    return mst__script_call(r->script, r->function, json, len, result);
}

static void real_release(void *arg, char *result)
{
    (void)arg;
    free(result); /* the host's free is free() */
}

static void lua_policy_in_the_sandbox(void **state)
{
    (void)state;
    struct mst_instance *tp = mst__daemon_find(&daemon_, "testplug");
    assert_non_null(tp);
    struct real_policy r = {NULL, "share"};
    assert_int_equal(mst__script_open(tp, "policy.lua", &r.script), 0);
    struct chg_site_policy pol = {real_call, real_release, &r};
    struct chg_site_conn c[4] = {conn("fleet", 2, 3, 11000, 1), conn("P1", 0, 3, 22000, 2),
                                 conn("P2", 0, 3, 22000, 3), conn("P3", 0, 3, 22000, 4)};
    double w[4];
    char why[256];
    assert_int_equal(chg_site_share_policy(&params_40kw, "s", c, 4, &pol, w, why, sizeof why), CHG_SITE_SCRIPT);
    assert_float_equal(w[0], 11000, 0);
    for (int i = 1; i < 4; i++)
        assert_float_equal(w[i], floor(29000.0 / 3), 0);
    /* a greedy policy is cut back to the limit */
    r.function = "greedy";
    assert_int_equal(chg_site_share_policy(&params_40kw, "s", c, 4, &pol, w, why, sizeof why), CHG_SITE_CLAMPED);
    assert_true(w[0] + w[1] + w[2] + w[3] <= 40000);
    /* an endless loop runs out of its budget, a script error is an error: built-in both times */
    double builtin[4];
    assert_int_equal(chg_site_share(&params_40kw, c, 4, builtin), 0);
    r.function = "spin";
    assert_int_equal(chg_site_share_policy(&params_40kw, "s", c, 4, &pol, w, why, sizeof why), CHG_SITE_FELL_BACK);
    assert_memory_equal(w, builtin, sizeof w);
    assert_non_null(strstr(why, "the policy failed"));
    r.function = "broken";
    assert_int_equal(chg_site_share_policy(&params_40kw, "s", c, 4, &pol, w, why, sizeof why), CHG_SITE_FELL_BACK);
    assert_non_null(strstr(why, "nothing"));
    r.function = "missing";
    assert_int_equal(chg_site_share_policy(&params_40kw, "s", c, 4, &pol, w, why, sizeof why), CHG_SITE_FELL_BACK);
    assert_non_null(strstr(why, "no such function"));
    mst__script_close(r.script);
}

/* --payloads: every kind of SetChargingProfile this module builds, one
 * "Action<TAB>payload" a line, for ocpp_payloads.js to check against the
 * OCA schemas with ocpp-rpc's own validator (unit_charging_schemas). */
static int print_payloads(void)
{
    int n = 0;
    for (int phases = 1; phases <= 3; phases += 2) {
        for (int amps = 0; amps <= 1; amps++) {
            struct chg_site_profile_opts o = {.rate_amps = amps, .stack_level = 2, .profile_id = 1000 + n,
                                              .voltage = amps && phases == 1 ? 240 : 230};
            for (double w = 0; w <= 44000; w += 23.7) {
                struct chg_site_conn c = conn("CP-1", 0, phases, 44000, 0);
                c.connector = 1 + n % 4;
                c.transaction_id = n % 3 ? n : 0;
                cJSON *p = chg_site_tx_profile(&c, w, &o);
                if (!p)
                    return 1;
                char *text = cJSON_PrintUnformatted(p);
                printf("SetChargingProfile\t%s\n", text);
                free(text);
                cJSON_Delete(p);
                n++;
            }
            cJSON *p = chg_site_default_profile(phases, 0, &o);
            char *text = cJSON_PrintUnformatted(p);
            printf("SetChargingProfile\t%s\n", text);
            free(text);
            cJSON_Delete(p);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--payloads") == 0)
        return print_payloads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worked_example_fleet_and_public),
        cmocka_unit_test(worked_example_water_filling),
        cmocka_unit_test(arrival_order_and_phases),
        cmocka_unit_test(idle_connectors_and_bad_input),
        cmocka_unit_test(held_connectors_keep_their_limit),
        cmocka_unit_test(scripted_day_keeps_every_promise),
        cmocka_unit_test(decreases_go_first),
        cmocka_unit_test(tx_profile_in_watts_and_amps),
        cmocka_unit_test(policy_answers_are_used_clamped_or_replaced),
        cmocka_unit_test(random_policy_cannot_break_the_limit),
        cmocka_unit_test_setup_teardown(lua_policy_in_the_sandbox, daemon_setup, daemon_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
