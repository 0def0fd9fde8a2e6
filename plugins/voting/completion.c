/* completion.c - MES completed: the per-voter budget raised one currency
 * unit at a time (equalshares.net add1, add1e, add1u; pabutools' iterated
 * +1 per voter), then optionally greedy fill, and the outcome with the
 * reason for every project.
 *
 * Where each stops (expected.md, "add1 completion" and "pabutools iterated
 * MES"):
 *   add1      keeps raising b while the outcome stays within B and returns
 *             the LAST outcome within B (it goes on through exhaustive ones);
 *   add1e     as add1, but stops before a raise once the outcome is
 *             exhaustive (no unselected project, zero-vote ones included,
 *             fits into what is left);
 *   add1u     add1e from b = floor(B/n), then greedy fill;
 *   iterated  returns the first outcome exhaustive over the supported
 *             projects, or the one before the first that is over B.
 * The outcome is not monotone in b, so there is no bisection; but two
 * counts can prove that every step between them gives the same outcome
 * (mes_same_between), so the raising jumps ahead where nothing changes
 * (raise_shares) and counts step by step where something does.  add1 also
 * stops once every supported project is bought (raising b changes nothing
 * after that; the equalshares.net tool would loop for ever there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "tally.h"

struct completion {
    const struct tally *t;
    struct mes *m;
    struct mes_run cur, next, plain, over;
    int have_over;              /* `over` holds the run that went over B */
    long double base;
    uint32_t steps, runs;
};

static void swap(struct mes_run *a, struct mes_run *b)
{
    struct mes_run x = *a;
    *a = *b;
    *b = x;
}

static void copy_run(struct mes_run *to, const struct mes_run *from, size_t np)
{
    memcpy(to->order, from->order, from->n * sizeof *to->order);
    memcpy(to->selected, from->selected, np);
    memcpy(to->effective, from->effective, np * sizeof *to->effective);
    to->n = from->n;
    to->cost = from->cost;
}

/* Is every project MES could buy bought?  (With points as utility, one
 * listed only with 0 points is no candidate.) */
static int all_supported_bought(const struct tally *t, const uint8_t *selected)
{
    for (size_t p = 0; p < t->n_projects; p++)
        if (t->votes[p] && !selected[p] && (!t->total_util || t->total_util[p] > 0))
            return 0;
    return 1;
}

static int run_at(struct completion *c, uint32_t k, struct mes_run *out, const struct mes_run *lo, char *err,
                  size_t errlen)
{
    c->runs++;
    return mes_run(c->m, c->base + k, out, lo, err, errlen);
}

/* Is the raising over before the next step?  add1 goes on while anything
 * supported is left; add1e and add1u stop at an exhaustive outcome (every
 * project counted); iterated at one exhaustive over the supported ones. */
static int done(const struct completion *c)
{
    const struct tally *t = c->t;
    switch (t->o->completion) {
    case VOTE_COMPLETION_ADD1: return all_supported_bought(t, c->cur.selected);
    case VOTE_COMPLETION_ADD1E:
    case VOTE_COMPLETION_ADD1U:
        return all_supported_bought(t, c->cur.selected) || tally_exhaustive(t, c->cur.selected, c->cur.cost, 0);
    case VOTE_COMPLETION_ITERATED: return tally_exhaustive(t, c->cur.selected, c->cur.cost, 1);
    case VOTE_COMPLETION_NONE: break;
    }
    return 1;
}

/* The tool's add1 family returns plain MES when everything fits anyway. */
static int everything_fits(const struct tally *t)
{
    int64_t all = 0;
    for (size_t p = 0; p < t->n_projects; p++)
        all = tally_add(all, t->cost[p]);
    return all <= t->budget && t->o->completion != VOTE_COMPLETION_ITERATED;
}

/* Raises every voter's share one unit at a time until done(), or until
 * an outcome costs more than B: that one is kept in `over`, cur stays.
 *
 * Where the outcome stays the same for many steps, it jumps: a count
 * `jump` steps ahead that mes_same_between proves to give cur's outcome
 * at every step between is taken at once (those steps change nothing:
 * within B, not exhaustive, or the raising would have stopped at cur),
 * and the next jump is twice as long; when the proof fails, that count is
 * dropped and a quarter of the jump is tried (one step below 8). */
static int raise_shares(struct completion *c, char *err, size_t errlen)
{
    uint32_t jump = 1;
    if (everything_fits(c->t))
        return 0;
    while (!done(c)) {
        if (c->steps >= VOTE_MAX_STEPS) {
            /* a town's election needs thousands; a file with huge costs
             * and shares would need as many steps as currency units */
            snprintf(err, errlen, "the completion needs more than %u steps (raises of every voter's share)",
                     VOTE_MAX_STEPS);
            return MST_EINVAL;
        }
        if (c->t->o->every_step || jump > VOTE_MAX_STEPS - c->steps)
            jump = 1;
        int rc = run_at(c, c->steps + jump, &c->next, &c->cur, err, errlen);
        if (rc)
            return rc;
        int same = mes_same_between(&c->cur, &c->next);
        if (jump > 1 && !same) {
            jump = jump > 4 ? jump / 4 : 1; /* something changes in between: a shorter jump */
            continue;
        }
        if (jump == 1 && c->next.cost > c->t->budget) {
            swap(&c->next, &c->over);
            c->have_over = 1;
            return 0;
        }
        swap(&c->cur, &c->next);
        c->steps += jump;
        jump = same ? jump * 2 : 1;
    }
    return 0;
}

static enum vote_reason reason_of(const struct completion *c, uint32_t p, const uint8_t *filled, int fill)
{
    const struct tally *t = c->t;
    if (filled[p])
        return VOTE_WON_FILL;
    if (c->cur.selected[p])
        return c->plain.selected[p] ? VOTE_WON_MES : VOTE_WON_COMPLETION;
    if (!t->votes[p])
        return VOTE_LOST_NO_VOTES;
    if (c->have_over && c->over.selected[p])
        return VOTE_LOST_COMPLETION;
    return fill ? VOTE_LOST_BUDGET : VOTE_LOST_MONEY;
}

static void fill_outcome(struct completion *c, const uint8_t *filled, int fill, struct vote_outcome *out)
{
    const struct tally *t = c->t;
    memcpy(out->order, c->cur.order, c->cur.n * sizeof *out->order);
    out->n_selected = c->cur.n;
    out->total_cost = c->cur.cost;
    out->steps = c->steps;
    out->mes_runs = c->runs;
    for (uint32_t p = 0; p < t->n_projects; p++) {
        struct vote_project_result *r = &out->projects[p];
        r->selected = c->cur.selected[p];
        r->reason = reason_of(c, p, filled, fill);
        r->votes = t->votes[p];
        r->points = t->points[p];
        r->effective_support = c->cur.effective[p];
        r->rank = 0;
    }
    for (size_t i = 0; i < out->n_selected; i++)
        out->projects[out->order[i]].rank = (uint32_t)i + 1;
}

static int complete(struct completion *c, char *err, size_t errlen)
{
    int rc = run_at(c, 0, &c->cur, NULL, err, errlen);
    if (rc)
        return rc;
    copy_run(&c->plain, &c->cur, c->t->n_projects);
    return raise_shares(c, err, errlen);
}

int mes_count(const struct tally *t, struct vote_outcome *out, char *err, size_t errlen)
{
    struct completion c = {.t = t};
    uint8_t *filled = calloc(t->n_projects + 1, 1);
    size_t np = t->n_projects;
    int rc = MST_ENOMEM;
    if (!filled || mes_new(&c.m, t) || mes_run_init(&c.cur, np) || mes_run_init(&c.next, np) ||
        mes_run_init(&c.plain, np) || mes_run_init(&c.over, np))
        goto out;
    /* add1u starts from the whole units of B/n */
    if (t->n_voters)
        c.base = t->o->completion == VOTE_COMPLETION_ADD1U ? (long double)(t->budget / (int64_t)t->n_voters)
                                                           : (long double)t->budget / t->n_voters;
    if ((rc = complete(&c, err, errlen)))
        goto out;
    int fill = t->o->greedy_fill || t->o->completion == VOTE_COMPLETION_ADD1U;
    if (fill)
        tally_greedy(t, c.cur.selected, c.cur.order, &c.cur.n, &c.cur.cost, filled);
    fill_outcome(&c, filled, fill, out);
out:
    free(filled);
    mes_free(c.m);
    mes_run_free(&c.cur);
    mes_run_free(&c.next);
    mes_run_free(&c.plain);
    mes_run_free(&c.over);
    return rc;
}
