/* mes.c - the Method of Equal Shares with cost utilities, and its
 * completions (add1, add1e, add1u, pabutools' iterated +1 per voter).
 *
 * One run: every voter holds the per-voter budget b; in each round every
 * candidate whose supporters' money is less than its cost is dropped for
 * good, and of the rest the one with the lowest price per unit of utility
 * rho = alpha/cost is bought, each supporter paying min(money, alpha).
 *
 * What makes it fast (the completions run it hundreds or thousands of
 * times): voters with identical ballots are one weighted group (tally.c);
 * a project's rho never falls as money is spent, so the last value
 * computed is a lower bound and a round computes alpha only for the
 * candidates whose bound is not already above the best price found (the
 * lazy evaluation of the equalshares.net reference code), and dropping an
 * unaffordable project waits until its bound comes up (round_candidates);
 * alpha is found without sorting (alpha_of).  A run allocates nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "tally.h"

/* Amounts closer than this, relative, are equal: a tie in rho, or a
 * project its supporters can just afford.  Rounding in long double over a
 * count is around 1e-18; real differences between rationals with the
 * denominators of a town's election are far above 1e-12. */
#define MES_EPS 1e-12L

enum { CAND = 0, BOUGHT, DROPPED, OUT };

struct mes {
    const struct tally *t;
    long double per_voter;
    long double *money;     /* per group: each voter's money left */
    long double *rho;       /* per project: price per unit of utility, last computed (a lower bound) */
    uint8_t *state;         /* per project */
    uint32_t *cands;        /* the candidates of a round */
};

int mes_new(struct mes **out, const struct tally *t)
{
    size_t np = t->n_projects + 1, ng = t->n_groups + 1;
    struct mes *m = calloc(1, sizeof *m);
    if (!m)
        return MST_ENOMEM;
    m->t = t;
    m->money = malloc(ng * sizeof *m->money);
    m->rho = malloc(np * sizeof *m->rho);
    m->state = malloc(np);
    m->cands = malloc(np * sizeof *m->cands);
    if (!m->money || !m->rho || !m->state || !m->cands) {
        mes_free(m);
        return MST_ENOMEM;
    }
    *out = m;
    return 0;
}

void mes_free(struct mes *m)
{
    if (!m)
        return;
    free(m->money);
    free(m->rho);
    free(m->state);
    free(m->cands);
    free(m);
}

int mes_run_init(struct mes_run *r, size_t n_projects)
{
    memset(r, 0, sizeof *r);
    r->order = malloc((n_projects + 1) * sizeof *r->order);
    r->selected = calloc(n_projects + 1, 1);
    r->effective = calloc(n_projects + 1, sizeof *r->effective);
    r->price = malloc((n_projects + 1) * sizeof *r->price);
    r->runner_up = malloc((n_projects + 1) * sizeof *r->runner_up);
    if (!r->order || !r->selected || !r->effective || !r->price || !r->runner_up) {
        mes_run_free(r);
        return MST_ENOMEM;
    }
    return 0;
}

void mes_run_free(struct mes_run *r)
{
    free(r->order);
    free(r->selected);
    free(r->effective);
    free(r->price);
    free(r->runner_up);
    memset(r, 0, sizeof *r);
}

/* The smallest alpha with sum over supporters of min(money, alpha) = cost,
 * or INFINITY when they cannot afford it.
 *
 * No sort: start from the equal split cost/W (or the alpha of an earlier
 * round, if higher), which is at most alpha; the
 * supporters holding less than the current guess pay all they have and
 * the rest split what is left, giving the next guess.  f(a) = sum of
 * min(money, a) is concave and the line through the current capped set
 * lies above f from the guess on, so the guesses rise and never pass
 * alpha; each one caps at least one more group, or is alpha, which is
 * known as soon as no uncapped supporter holds less than the next guess.
 * In practice one to three passes over the supporters. */
static long double alpha_of(struct mes *m, uint32_t p)
{
    const struct tally *t = m->t;
    const long double cost = (long double)t->cost[p];
    /* alpha only rises as money is spent: the last one is a closer start */
    long double guess = cost / t->votes[p], before = m->rho[p] * cost;
    if (before > guess)
        guess = before;
    for (;;) {
        long double capped_money = 0, poorest_uncapped = INFINITY;
        uint32_t capped = 0;
        for (uint32_t i = t->sup_start[p]; i < t->sup_start[p + 1]; i++) {
            uint32_t g = t->sup_groups[i];
            if (m->money[g] < guess) {
                capped_money += m->money[g] * t->weight[g];
                capped += t->weight[g];
            } else if (m->money[g] < poorest_uncapped) {
                poorest_uncapped = m->money[g];
            }
        }
        if (capped == t->votes[p])
            /* everyone pays all: affordable only if that is (about) the cost */
            return capped_money >= cost * (1 - MES_EPS) ? guess : INFINITY;
        long double next = (cost - capped_money) / (t->votes[p] - capped);
        /* nobody holds between the guess and the next one: the capped set
         * would not change, so next is alpha (no confirming pass) */
        if (next <= guess * (1 + MES_EPS / 16) || next <= poorest_uncapped)
            return next > guess ? next : guess;
        guess = next;
    }
}

/* The same with points as utility (ballots not merged: every weight is
 * 1): the smallest rho with sum of min(money, rho * points) = cost, by
 * the same rising guesses from cost / (all its points). */
static long double rho_points(struct mes *m, uint32_t p)
{
    const struct tally *t = m->t;
    const long double cost = (long double)t->cost[p];
    long double rho = cost / t->total_util[p];
    if (m->rho[p] > rho)
        rho = m->rho[p];
    for (;;) {
        long double capped_money = 0, util = 0;
        for (uint32_t i = t->sup_start[p]; i < t->sup_start[p + 1]; i++) {
            uint32_t g = t->sup_groups[i];
            if (m->money[g] < rho * t->sup_util[i])
                capped_money += m->money[g];
            else
                util += t->sup_util[i];
        }
        if (util <= 0)
            return capped_money >= cost * (1 - MES_EPS) ? rho : INFINITY;
        long double next = (cost - capped_money) / util;
        if (next <= rho * (1 + MES_EPS / 16))
            return next > rho ? next : rho;
        rho = next;
    }
}

/* The price per unit of utility of p (INFINITY: unaffordable). */
static long double rho_of(struct mes *m, uint32_t p)
{
    if (m->t->sup_util)
        return rho_points(m, p);
    return alpha_of(m, p) / m->t->cost[p];
}

/* Each supporter pays rho times its utility, or all it has. */
static void buy(struct mes *m, uint32_t p, long double rho, struct mes_run *out)
{
    const struct tally *t = m->t;
    for (uint32_t i = t->sup_start[p]; i < t->sup_start[p + 1]; i++) {
        uint32_t g = t->sup_groups[i];
        long double due = rho * (t->sup_util ? t->sup_util[i] : (long double)t->cost[p]);
        long double pay = m->money[g] < due ? m->money[g] : due;
        if (pay <= 0)
            continue;
        m->money[g] -= pay;
    }
    m->state[p] = BOUGHT;
    out->price[out->n] = rho;
    out->runner_up[out->n] = INFINITY;
    out->selected[p] = 1;
    out->order[out->n++] = p;
    out->cost = tally_add(out->cost, t->cost[p]);
}

/* The candidates into cands, sorted by their lower bound, then the tie
 * order.  Dropping what the supporters cannot afford is lazy: money only
 * falls, so such a project stays unaffordable, and alpha_of finds it out
 * when (if ever) its bound comes up; a run ends when no candidate is left
 * whose alpha is finite. */
static size_t round_candidates(struct mes *m)
{
    const struct tally *t = m->t;
    size_t n = 0;
    for (uint32_t p = 0; p < t->n_projects; p++) {
        if (m->state[p] != CAND)
            continue;
        /* insertion: a round has at most a few hundred candidates */
        size_t i = n++;
        for (; i > 0; i--) {
            uint32_t q = m->cands[i - 1];
            if (m->rho[q] < m->rho[p] || (m->rho[q] == m->rho[p] && t->rank[q] < t->rank[p]))
                break;
            m->cands[i] = q;
        }
        m->cands[i] = p;
    }
    return n;
}

static int tie_failed(const struct mes *m, uint32_t a, uint32_t b, char *err, size_t errlen)
{
    snprintf(err, errlen, "tie between projects %s and %s that the tie order cannot break",
             m->t->e->projects[a].id, m->t->e->projects[b].id);
    return MST_EINVAL;
}

/* One round: the cheapest candidate per unit of utility into *best, or -1. */
static int round_best(struct mes *m, size_t n, long *best, long double *best_rho, struct mes_run *out,
                      char *err, size_t errlen)
{
    const struct tally *t = m->t;
    *best = -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t p = m->cands[i];
        if (*best >= 0 && m->rho[p] > *best_rho * (1 + MES_EPS))
            break;
        long double rho = rho_of(m, p);
        if (isinf(rho)) {
            m->state[p] = DROPPED;
            continue;
        }
        m->rho[p] = rho;
        out->effective[p] = (double)(1 / rho);
        if (*best < 0 || m->rho[p] < *best_rho * (1 - MES_EPS)) {
            *best = p;
            *best_rho = m->rho[p];
        } else if (m->rho[p] <= *best_rho * (1 + MES_EPS)) {
            long w = tally_tie(t, (uint32_t)*best, p);
            if (w < 0)
                return tie_failed(m, (uint32_t)*best, p, err, errlen);
            *best = w;
            *best_rho = m->rho[w];
        }
    }
    return 0;
}

static void run_start(struct mes *m, long double per_voter, struct mes_run *out)
{
    const struct tally *t = m->t;
    m->per_voter = per_voter;
    for (size_t g = 0; g < t->n_groups; g++)
        m->money[g] = per_voter;
    out->n = 0;
    out->cost = 0;
    for (uint32_t p = 0; p < t->n_projects; p++) {
        out->selected[p] = 0;
        out->effective[p] = t->votes[p];
        m->state[p] = t->votes[p] && (!t->total_util || t->total_util[p] > 0) ? CAND : OUT;
        /* everyone holds the same: an equal split is the price, if affordable */
        /* the price if everyone could pay an equal part: a lower bound */
        m->rho[p] = m->state[p] == OUT ? 0
                    : t->total_util      ? (long double)t->cost[p] / t->total_util[p]
                                         : 1.0L / t->votes[p];
    }
    /* a supported project that costs nothing is bought outright, as pabutools does */
    for (uint32_t p = 0; p < t->n_projects; p++)
        if (m->state[p] == CAND && t->cost[p] == 0)
            buy(m, p, 0, out);
}

/* The lowest price another candidate of the round could have: what was
 * last computed for each is a lower bound (prices only rise in a run);
 * those whose bound is not above `bar` are computed, so that the bound
 * is the price where it matters for mes_same_between. */
static long double runner_up(struct mes *m, size_t n, uint32_t best, long double bar)
{
    long double low = INFINITY;
    for (size_t i = 0; i < n; i++) {
        uint32_t p = m->cands[i];
        if (p == best || m->state[p] != CAND)
            continue;
        if (m->rho[p] <= bar) {
            long double rho = rho_of(m, p);
            if (isinf(rho)) {
                m->state[p] = DROPPED;
                continue;
            }
            m->rho[p] = rho;
        }
        if (m->rho[p] < low)
            low = m->rho[p];
    }
    return low;
}

int mes_run(struct mes *m, long double per_voter, struct mes_run *out, const struct mes_run *lo, char *err,
            size_t errlen)
{
    run_start(m, per_voter, out);
    for (;;) {
        size_t n = round_candidates(m);
        long best;
        long double best_rho = 0;
        if (n == 0)
            return 0;
        int rc = round_best(m, n, &best, &best_rho, out, err, errlen);
        if (rc)
            return rc;
        if (best < 0)
            return 0;
        long double bar = lo && out->n < lo->n ? lo->price[out->n] * (1 + 4 * MES_EPS) : -1;
        long double second = runner_up(m, n, (uint32_t)best, bar);
        buy(m, (uint32_t)best, best_rho, out);
        out->runner_up[out->n - 1] = second;
    }
}

/* --- Skipping completion steps -------------------------------------------
 *
 * Replay one sequence of purchases at a larger per-voter budget b: every
 * voter's money after each purchase is at least what it was (more to
 * start with, and each price, the solution of sum min(money, alpha) =
 * cost, can only fall when money rises, so max(0, money - alpha) rises),
 * hence every candidate's price is at most what it was.  Take the counts
 * at lo < hi that bought the same projects in the same order, and b
 * between them, replaying that order: at purchase r, money at lo <= at b
 * <= at hi.  The project bought is affordable at b (it was at lo) and
 * costs at most its price at lo; any other candidate costs at least its
 * price at hi, and a project unaffordable at hi is so at b.  If at every
 * purchase the price at lo is below the runner-up's (lower bound) at hi,
 * the count at b takes the same decisions: the same outcome, for every b
 * in [lo, hi].  So the completions may jump ahead, and step back to one
 * unit when the proof fails. */
int mes_same_between(const struct mes_run *lo, const struct mes_run *hi)
{
    if (lo->n != hi->n || memcmp(lo->order, hi->order, lo->n * sizeof *lo->order))
        return 0;
    for (size_t r = 0; r < lo->n; r++)
        if (!(lo->price[r] * (1 + 4 * MES_EPS) < hi->runner_up[r]))
            return 0;
    return 1;
}
