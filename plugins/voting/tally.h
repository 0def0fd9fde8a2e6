/* tally.h - an election prepared for counting (internal to the voting
 * rules): identical ballots merged into weighted groups, each project's
 * supporting groups and each group's projects as flat arrays, and the tie
 * order.  Built once per count; the MES runs of a completion reuse it and
 * their scratch space, allocating nothing per run. */
#ifndef VOTING_TALLY_H
#define VOTING_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "pb.h"
#include "rules.h"

struct tally {
    const struct pb_election *e;
    const struct vote_options *o;
    size_t n_projects;
    size_t n_voters;         /* ballots, empty ones included: the per-voter share is B/n */
    int64_t budget;
    const int64_t *cost;     /* n_projects (a copy) */
    uint32_t *votes;         /* supporters per project */
    int64_t *points;         /* total points per project */
    uint32_t *rank;          /* position of each project in the tie order (0 first) */
    uint8_t *tie_listed;     /* VOTE_TIE_VOTES_COST_ID with tie_ids: 1 if listed */
    /* groups of identical ballots (as sets of projects) */
    size_t n_groups;
    uint32_t *weight;        /* voters in each group */
    uint32_t *group_start;   /* n_groups + 1: projects of group g are group_projects[start[g]..start[g+1]) */
    uint32_t *group_projects;
    uint32_t *sup_start;     /* n_projects + 1: supporting groups of p are sup_groups[..] */
    uint32_t *sup_groups;
    /* utility from points (ballots are not merged then): each supporter's
     * utility, aligned with sup_groups, and each project's total */
    long double *sup_util;
    long double *total_util;
};

/* a + b, held at the int64 limits: costs and points come from files, and
 * a sum that wrapped would turn "over the budget" into "within" */
static inline int64_t tally_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

int tally_build(struct tally *t, const struct pb_election *e, const struct vote_options *o, char *err,
                size_t errlen);
void tally_free(struct tally *t);

/* Which of two projects tied on price wins: a or b, or -1 if the options
 * cannot tell them apart (the tool's "Tie-breaking failed"). */
long tally_tie(const struct tally *t, uint32_t a, uint32_t b);

/* One MES count at a per-voter budget. */
struct mes_run {
    uint32_t *order;         /* selected projects in the order bought */
    size_t n;
    int64_t cost;
    uint8_t *selected;       /* per project */
    double *effective;       /* per project: cost/alpha when bought or last computed */
    /* per purchase (as order): the price per unit of utility paid, and the
     * lowest price any other candidate could have had then (a lower bound:
     * what was last computed for it); for mes_same_between */
    long double *price, *runner_up;
};

struct mes;                  /* scratch space for runs on one tally */
int mes_new(struct mes **out, const struct tally *t);
void mes_free(struct mes *m);
int mes_run_init(struct mes_run *r, size_t n_projects);
void mes_run_free(struct mes_run *r);
/* 0, or MST_EINVAL for a tie the options cannot break (err says which). */
/* `lo` (may be NULL): a run at a smaller budget this one will be compared
 * with by mes_same_between; the runner-up prices are then computed where
 * they decide that comparison. */
int mes_run(struct mes *m, long double per_voter, struct mes_run *out, const struct mes_run *lo, char *err,
            size_t errlen);

/* Do the runs at per-voter budgets lo <= hi prove that every budget
 * between gives the same outcome?  Yes when both bought the same projects
 * in the same order and at every purchase the project's price in `lo` is
 * below every other candidate's price in `hi` (mes.c explains why). */
int mes_same_between(const struct mes_run *lo, const struct mes_run *hi);

/* Is no unselected project left that fits into the budget?  Over all
 * projects, or (supported_only) those with cost > 0 and a supporter. */
int tally_exhaustive(const struct tally *t, const uint8_t *selected, int64_t cost, int supported_only);

/* Greedy over the projects not yet selected, from `cost` spent: adds to
 * selected/order/n/cost; `added` (may be NULL) marks what it added. */
void tally_greedy(const struct tally *t, uint8_t *selected, uint32_t *order, size_t *n, int64_t *cost,
                  uint8_t *added);

/* The MES rule with its completion and fill, into out. */
int mes_count(const struct tally *t, struct vote_outcome *out, char *err, size_t errlen);

#endif
