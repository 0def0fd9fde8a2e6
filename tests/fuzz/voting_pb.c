/* fuzz_voting_pb - a pabulib .pb file (an election imported for a recount,
 * or published and read back by `mestys verify`): pb_parse; what it accepts
 * is written and read back to an equal election, then counted by greedy,
 * Equal Shares (cost and points utilities), and (when small enough to
 * finish fast) Equal Shares with the add1 and iterated completions, each
 * checked against counting every step (the jumps over steps must not
 * change the outcome).  A refusal says line:col; an outcome
 * never costs more than the budget. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "voting/explain.h"
#include "voting/pb.h"
#include "voting/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The completions count MES once per step up to the largest cost: kept
 * to elections whose costs are small. */
static int small(const struct pb_election *e)
{
    int64_t all = 0;
    if (e->n_projects > 64 || e->n_ballots > 256)
        return 0;
    for (size_t p = 0; p < e->n_projects; p++) {
        if (e->projects[p].cost > 5000)
            return 0;
        all += e->projects[p].cost;
    }
    return all <= 20000;
}

/* A completion that jumps over steps gives what counting every step gives. */
static void same_as_every_step(const struct pb_election *e, struct vote_options o, const struct vote_outcome *out)
{
    struct vote_outcome slow;
    char err[256];
    if (o.completion == VOTE_COMPLETION_NONE)
        return;
    o.every_step = 1;
    if (vote_count(e, &o, &slow, err, sizeof err))
        abort();
    if (slow.steps != out->steps || slow.total_cost != out->total_cost)
        abort();
    for (size_t p = 0; p < e->n_projects; p++)
        if (slow.projects[p].selected != out->projects[p].selected)
            abort();
    vote_outcome_free(&slow);
}

static void count(const struct pb_election *e, enum vote_rule rule, enum vote_completion completion, int fill,
                  enum vote_utility utility)
{
    struct vote_options o = {.rule = rule, .completion = completion, .greedy_fill = fill, .utility = utility};
    struct vote_outcome out;
    char err[256];
    int rc = vote_count(e, &o, &out, err, sizeof err);
    if (rc) {
        if (rc != MST_EINVAL || !err[0])
            abort(); /* a refusal says why (the default tie order never fails) */
        return;
    }
    same_as_every_step(e, o, &out);
    int64_t cost = 0;
    for (size_t p = 0; p < e->n_projects; p++)
        if (out.projects[p].selected)
            cost += e->projects[p].cost;
    if (cost != out.total_cost || cost > e->budget)
        abort();
    cJSON *j = vote_explain_json(e, &o, &out, NULL);
    cJSON_Delete(j);
    vote_outcome_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pb_election a, b;
    char err[256];
    unsigned line, col;
    if (pb_parse((const char *)data, size, &a, err, sizeof err)) {
        if (sscanf(err, "%u:%u: ", &line, &col) != 2 && strcmp(err, "out of memory"))
            abort(); /* every refusal names line:col */
        return 0;
    }
    size_t len;
    char *text = pb_write(&a, &len);
    if (!text)
        abort();
    if (pb_parse(text, len, &b, err, sizeof err) || !pb_equal(&a, &b))
        abort(); /* what was accepted reads back the same */
    free(text);
    pb_election_free(&b);
    count(&a, VOTE_RULE_GREEDY, VOTE_COMPLETION_NONE, 0, VOTE_UTILITY_COST);
    count(&a, VOTE_RULE_MES, VOTE_COMPLETION_NONE, 1, VOTE_UTILITY_COST);
    count(&a, VOTE_RULE_MES, VOTE_COMPLETION_NONE, 0, VOTE_UTILITY_POINTS);
    if (small(&a)) {
        count(&a, VOTE_RULE_MES, VOTE_COMPLETION_ADD1, 0, VOTE_UTILITY_COST);
        count(&a, VOTE_RULE_MES, VOTE_COMPLETION_ITERATED, 1, VOTE_UTILITY_COST);
        count(&a, VOTE_RULE_MES, VOTE_COMPLETION_ITERATED, 0, VOTE_UTILITY_POINTS);
    }
    pb_election_free(&a);
    return 0;
}
