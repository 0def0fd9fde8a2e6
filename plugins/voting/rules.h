/* rules.h - counting a participatory budget: greedy by votes and the
 * Method of Equal Shares (MES) with cost utilities, its completions, and
 * greedy fill.  Definitions step by step: docs/plugins/voting-rules.md and
 * /work/shared/reference/pabulib/expected.md (what pabutools and the
 * equalshares.net tool select, which the unit tests reproduce).
 *
 * The library (pb.c, pb_write.c, election.c, tally.c, mes.c, completion.c,
 * rules.c, explain.c) is the OBJECT library `voting_rules` in
 * plugins/voting/rules.cmake: the plugin, the unit tests,
 * the fuzz target, the bench and `mestys verify` link the same objects.
 * It depends on cJSON only (explain.h) and never calls the host; a tally
 * of a big election is CPU work the plugin runs through host->work.
 *
 * Ballots are read as approval ballots: a voter supports every project the
 * ballot lists, whatever the vote type (cumulative points and ordinal ranks
 * are ignored, as both reference implementations do with cost utilities),
 * except greedy with VOTE_SCORE_POINTS and MES with a utility from points.
 *
 * Arithmetic: money is long double (64-bit mantissa), per voter; two
 * amounts closer than 1e-12 relative count as equal (a tie, or "just
 * affordable"), so the exact results of the references (rationals) are
 * reproduced: see docs/plugins/voting-rules.md, "Arithmetic".
 */
#ifndef VOTING_RULES_H
#define VOTING_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "pb.h"

enum vote_rule {
    VOTE_RULE_GREEDY = 0, /* greedy by votes: most supporters first, each added if it fits */
    VOTE_RULE_MES,        /* Method of Equal Shares, cost utilities, then `completion` */
};

/* How MES is completed (ignored by greedy).  b is the per-voter budget. */
enum vote_completion {
    VOTE_COMPLETION_NONE = 0, /* plain MES at b = B/n */
    VOTE_COMPLETION_ADD1,     /* equalshares.net add1: b = B/n + 1, + 2, ...; keep the last outcome within B */
    VOTE_COMPLETION_ADD1E,    /* add1, stopping at the first exhaustive outcome (zero-vote projects count) */
    VOTE_COMPLETION_ADD1U,    /* the tool's default: b = floor(B/n) + k, add1e's stop, then greedy fill */
    VOTE_COMPLETION_ITERATED, /* pabutools voter_budget_increment=1: stop at the first outcome exhaustive
                                 over supported projects, or return the previous one when over B */
};

/* Order among tied projects (equal votes in greedy, equal price in MES). */
enum vote_tie {
    /* The town's default and the equalshares.net tool's maxVotes,minCost
     * with a list of every project: more supporters, then lower cost, then
     * project id (ids that are whole numbers ascending numerically, before
     * the others in file order).  With `tie_ids` set, only those ids can win
     * a tie that votes and cost leave (the tool's list); if none of the tied
     * projects is listed the count fails (MST_EINVAL, "tie between ..."). */
    VOTE_TIE_VOTES_COST_ID = 0,
    /* pabutools: project ids compared as strings ("10" before "9"). */
    VOTE_TIE_ID_STRING,
};

/* What a voter gains from a project, in MES. */
enum vote_utility {
    VOTE_UTILITY_COST = 0, /* its cost, if the ballot lists it (pabutools Cost_Sat, the equalshares tool) */
    VOTE_UTILITY_POINTS,   /* the points the ballot gives it (pabutools Additive_Cardinal_Sat); 1 per
                              listed project on ballots without points; negative points are refused */
    VOTE_UTILITY_POINTS_COST, /* points times cost (the expected.md "custom" satisfaction) */
};

enum vote_score {
    VOTE_SCORE_VOTES = 0, /* greedy orders by supporters */
    VOTE_SCORE_POINTS,    /* greedy orders by total points (cumulative/scoring ballots) */
};

struct vote_options {
    enum vote_rule rule;
    enum vote_completion completion;
    int greedy_fill;             /* after MES: fill what is left greedily by votes (ADD1U always does) */
    enum vote_tie tie;
    const char *const *tie_ids;  /* VOTE_TIE_VOTES_COST_ID only: NULL = every project */
    size_t n_tie_ids;
    enum vote_score score;       /* greedy (and greedy fill) only */
    enum vote_utility utility;   /* MES only */
    /* Count MES at every completion step, never jumping over steps proven
     * to change nothing (completion.c): the same result, slower; for
     * checking the jumps. */
    int every_step;
};

/* Why a project is or is not in the outcome. */
enum vote_reason {
    VOTE_WON_GREEDY = 0,      /* greedy rule: among the most voted that fit */
    VOTE_WON_MES,             /* bought by its supporters at per-voter budget B/n */
    VOTE_WON_COMPLETION,      /* bought once the completion raised the per-voter budget */
    VOTE_WON_FILL,            /* added by greedy fill of the money MES left */
    VOTE_LOST_MONEY,          /* MES: its supporters' money left was less than its cost */
    VOTE_LOST_BUDGET,         /* greedy / fill: less budget left than its cost */
    VOTE_LOST_NO_VOTES,       /* MES: nobody supports it (greedy fill may still add it) */
    VOTE_LOST_COMPLETION,     /* MES: bought at a raised per-voter budget whose outcome went over B */
};

struct vote_project_result {
    int selected;               /* 1 if in the outcome */
    enum vote_reason reason;
    uint32_t votes;             /* supporters (ballots listing it) */
    int64_t points;             /* total points (0 without a points column) */
    /* MES: the "effective vote count" 1/rho when it was bought, rho being
     * the price per unit of utility (with cost utilities: cost/alpha, the
     * number of supporters that would each pay alpha); for a project not
     * bought: the last value computed; greedy: votes. */
    double effective_support;
    uint32_t rank;              /* 1-based position in the order of selection; 0 if not selected */
};

struct vote_outcome {
    struct vote_project_result *projects; /* indexed like election->projects */
    size_t n_projects;
    uint32_t *order;            /* selected project indices, in the order they were selected */
    size_t n_selected;
    int64_t total_cost;
    /* MES with a completion: the per-voter budget of the outcome is
     * base + steps, base = B/n (floor(B/n) for ADD1U); 0 otherwise. */
    uint32_t steps;
    uint32_t mes_runs;          /* how many MES counts the completion needed */
    uint32_t voters_without;    /* voters none of whose listed projects won (empty ballots excluded) */
};

/* A completion raises every voter's share at most this many times (one
 * MES count each): Warsaw-sized elections need hundreds to thousands. */
#define VOTE_MAX_STEPS 1000000u

/* Counts `e` by `o`.  0 and *out filled (free with vote_outcome_free), or
 * MST_EINVAL (a tie the options cannot break, a budget < 0, an option out
 * of range, a completion longer than VOTE_MAX_STEPS; err says which) or
 * MST_ENOMEM.  Deterministic: the same
 * election and options give the same outcome on every machine. */
int vote_count(const struct pb_election *e, const struct vote_options *o, struct vote_outcome *out,
               char *err, size_t errlen);
void vote_outcome_free(struct vote_outcome *out);

/* "greedy", "mes"; "none", "add1", "add1e", "add1u", "iterated";
 * "votes-cost-id", "id-string": for config values.  The parsers return 0
 * or MST_EINVAL. */
const char *vote_rule_name(enum vote_rule r);
int vote_rule_parse(const char *name, enum vote_rule *out);
const char *vote_completion_name(enum vote_completion c);
int vote_completion_parse(const char *name, enum vote_completion *out);
const char *vote_tie_name(enum vote_tie t);
int vote_tie_parse(const char *name, enum vote_tie *out);
/* "cost", "points", "points-cost" */
const char *vote_utility_name(enum vote_utility u);
int vote_utility_parse(const char *name, enum vote_utility *out);

#endif /* VOTING_RULES_H */
