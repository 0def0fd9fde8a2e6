/* explain.c - an outcome told per project, beside greedy's. */
#include "explain.h"

#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

static const struct {
    const char *name, *text;
} reasons[] = {
    [VOTE_WON_GREEDY] = {"won_greedy", "won: among the most voted projects that fit the budget"},
    [VOTE_WON_MES] = {"won_equal_shares", "won: its supporters could pay for it with their equal shares"},
    [VOTE_WON_COMPLETION] = {"won_completion",
                             "won: its supporters could pay for it once every voter's share was raised"},
    [VOTE_WON_FILL] = {"won_fill", "won: added with the money left over, most voted first"},
    [VOTE_LOST_MONEY] = {"lost_money", "not selected: not enough supporters' money left"},
    [VOTE_LOST_BUDGET] = {"lost_budget", "not selected: no budget left for it"},
    [VOTE_LOST_NO_VOTES] = {"lost_no_votes", "not selected: nobody voted for it"},
    [VOTE_LOST_COMPLETION] = {"lost_completion",
                              "not selected: its supporters could pay for it only with shares so large that "
                              "the projects bought would cost more than the budget"},
};

const char *vote_reason_name(enum vote_reason r)
{
    return (unsigned)r < sizeof reasons / sizeof reasons[0] ? reasons[r].name : "unknown";
}

const char *vote_reason_text(enum vote_reason r)
{
    return (unsigned)r < sizeof reasons / sizeof reasons[0] ? reasons[r].text : "unknown";
}

static int add_result(cJSON *to, const struct vote_project_result *r)
{
    return cJSON_AddBoolToObject(to, "selected", r->selected) &&
           cJSON_AddStringToObject(to, "reason", vote_reason_name(r->reason)) &&
           cJSON_AddStringToObject(to, "why", vote_reason_text(r->reason));
}

static cJSON *project_json(const struct pb_election *e, size_t p, const struct vote_outcome *rule,
                           const struct vote_outcome *greedy)
{
    const struct vote_project_result *r = &rule->projects[p];
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "id", e->projects[p].id) ||
        !(e->projects[p].name ? cJSON_AddStringToObject(j, "name", e->projects[p].name)
                              : cJSON_AddNullToObject(j, "name")) ||
        !cJSON_AddNumberToObject(j, "cost", (double)e->projects[p].cost) ||
        !cJSON_AddNumberToObject(j, "votes", r->votes) ||
        !cJSON_AddNumberToObject(j, "effective_support", r->effective_support) || !add_result(j, r) ||
        !cJSON_AddNumberToObject(j, "rank", r->rank))
        goto fail;
    if (greedy) {
        cJSON *g = cJSON_AddObjectToObject(j, "greedy");
        if (!g || !add_result(g, &greedy->projects[p]))
            goto fail;
    }
    return j;
fail:
    cJSON_Delete(j);
    return NULL;
}

static int add_header(cJSON *j, const struct pb_election *e, const struct vote_options *o,
                      const struct vote_outcome *rule, const struct vote_outcome *greedy)
{
    double n = (double)e->n_ballots;
    double share = 0;
    if (n > 0)
        share = (o->completion == VOTE_COMPLETION_ADD1U ? (double)(e->budget / (int64_t)e->n_ballots)
                                                        : (double)e->budget / n) +
                rule->steps;
    cJSON *without = cJSON_AddObjectToObject(j, "voters_without");
    return cJSON_AddStringToObject(j, "rule", vote_rule_name(o->rule)) &&
           cJSON_AddStringToObject(j, "completion",
                                   o->rule == VOTE_RULE_MES ? vote_completion_name(o->completion) : "none") &&
           cJSON_AddStringToObject(j, "tie", vote_tie_name(o->tie)) &&
           cJSON_AddStringToObject(j, "utility", vote_utility_name(o->utility)) &&
           cJSON_AddNumberToObject(j, "budget", (double)e->budget) && cJSON_AddNumberToObject(j, "voters", n) &&
           cJSON_AddNumberToObject(j, "per_voter_budget", o->rule == VOTE_RULE_MES ? share : 0) &&
           cJSON_AddNumberToObject(j, "steps", rule->steps) &&
           cJSON_AddNumberToObject(j, "total_cost", (double)rule->total_cost) && without &&
           cJSON_AddNumberToObject(without, "rule", rule->voters_without) &&
           (!greedy || cJSON_AddNumberToObject(without, "greedy", greedy->voters_without));
}

cJSON *vote_explain_json(const struct pb_election *e, const struct vote_options *o,
                         const struct vote_outcome *rule, const struct vote_outcome *greedy)
{
    cJSON *j = cJSON_CreateObject(), *list;
    if (!j || !add_header(j, e, o, rule, greedy) || !(list = cJSON_AddArrayToObject(j, "projects")))
        goto fail;
    for (size_t p = 0; p < e->n_projects; p++) {
        cJSON *one = project_json(e, p, rule, greedy);
        if (!one || !cJSON_AddItemToArray(list, one)) {
            cJSON_Delete(one);
            goto fail;
        }
    }
    return j;
fail:
    cJSON_Delete(j);
    return NULL;
}

int vote_explain(const struct pb_election *e, const struct vote_options *o, cJSON **out, char *err,
                 size_t errlen)
{
    struct vote_outcome rule, greedy;
    struct vote_options g = *o;
    g.rule = VOTE_RULE_GREEDY;
    int rc = vote_count(e, o, &rule, err, errlen);
    if (rc)
        return rc;
    if ((rc = vote_count(e, &g, &greedy, err, errlen))) {
        vote_outcome_free(&rule);
        return rc;
    }
    *out = vote_explain_json(e, o, &rule, &greedy);
    rc = *out ? 0 : MST_ENOMEM;
    vote_outcome_free(&rule);
    vote_outcome_free(&greedy);
    return rc;
}
