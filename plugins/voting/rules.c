/* rules.c - vote_count: greedy by votes, or MES (mes.c, completion.c);
 * the names of rules, completions and tie orders for config values. */
#include "rules.h"

#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "tally.h"

#define NAMES(x) (sizeof(x) / sizeof((x)[0]))

static const char *const rule_names[] = {[VOTE_RULE_GREEDY] = "greedy", [VOTE_RULE_MES] = "mes"};
static const char *const completion_names[] = {
    [VOTE_COMPLETION_NONE] = "none",   [VOTE_COMPLETION_ADD1] = "add1",
    [VOTE_COMPLETION_ADD1E] = "add1e", [VOTE_COMPLETION_ADD1U] = "add1u",
    [VOTE_COMPLETION_ITERATED] = "iterated",
};
static const char *const tie_names[] = {[VOTE_TIE_VOTES_COST_ID] = "votes-cost-id",
                                        [VOTE_TIE_ID_STRING] = "id-string"};
static const char *const utility_names[] = {[VOTE_UTILITY_COST] = "cost", [VOTE_UTILITY_POINTS] = "points",
                                            [VOTE_UTILITY_POINTS_COST] = "points-cost"};

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
    return v < n ? names[v] : NULL;
}

static int parse_name(const char *const *names, size_t n, const char *name, unsigned *out)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0) {
            *out = (unsigned)i;
            return 0;
        }
    return MST_EINVAL;
}

const char *vote_rule_name(enum vote_rule r)
{
    return name_of(rule_names, NAMES(rule_names), r);
}

int vote_rule_parse(const char *name, enum vote_rule *out)
{
    unsigned v;
    int rc = parse_name(rule_names, NAMES(rule_names), name, &v);
    if (!rc)
        *out = (enum vote_rule)v;
    return rc;
}

const char *vote_completion_name(enum vote_completion c)
{
    return name_of(completion_names, NAMES(completion_names), c);
}

int vote_completion_parse(const char *name, enum vote_completion *out)
{
    unsigned v;
    int rc = parse_name(completion_names, NAMES(completion_names), name, &v);
    if (!rc)
        *out = (enum vote_completion)v;
    return rc;
}

const char *vote_tie_name(enum vote_tie t)
{
    return name_of(tie_names, NAMES(tie_names), t);
}

int vote_tie_parse(const char *name, enum vote_tie *out)
{
    unsigned v;
    int rc = parse_name(tie_names, NAMES(tie_names), name, &v);
    if (!rc)
        *out = (enum vote_tie)v;
    return rc;
}

const char *vote_utility_name(enum vote_utility u)
{
    return name_of(utility_names, NAMES(utility_names), u);
}

int vote_utility_parse(const char *name, enum vote_utility *out)
{
    unsigned v;
    int rc = parse_name(utility_names, NAMES(utility_names), name, &v);
    if (!rc)
        *out = (enum vote_utility)v;
    return rc;
}

/* Greedy by votes from the empty set. */
static int greedy_count(const struct tally *t, struct vote_outcome *out)
{
    uint8_t *selected = calloc(t->n_projects + 1, 1);
    if (!selected)
        return MST_ENOMEM;
    size_t n = 0;
    int64_t cost = 0;
    tally_greedy(t, selected, out->order, &n, &cost, NULL);
    out->n_selected = n;
    out->total_cost = cost;
    for (uint32_t p = 0; p < t->n_projects; p++) {
        struct vote_project_result *r = &out->projects[p];
        r->selected = selected[p];
        r->reason = selected[p] ? VOTE_WON_GREEDY : VOTE_LOST_BUDGET;
        r->votes = t->votes[p];
        r->points = t->points[p];
        r->effective_support = t->votes[p];
    }
    for (size_t i = 0; i < n; i++)
        out->projects[out->order[i]].rank = (uint32_t)i + 1;
    free(selected);
    return 0;
}

/* Voters with a non-empty ballot none of whose projects won. */
static uint32_t count_without(const struct pb_election *e, const struct vote_outcome *o)
{
    uint32_t n = 0;
    for (size_t b = 0; b < e->n_ballots; b++) {
        const struct pb_ballot *v = &e->ballots[b];
        uint32_t i = 0;
        while (i < v->n && !o->projects[v->projects[i]].selected)
            i++;
        n += v->n && i == v->n;
    }
    return n;
}

int vote_count(const struct pb_election *e, const struct vote_options *o, struct vote_outcome *out, char *err,
               size_t errlen)
{
    struct tally t;
    if (errlen)
        err[0] = '\0';
    memset(out, 0, sizeof *out);
    int rc = tally_build(&t, e, o, err, errlen);
    if (rc)
        return rc;
    out->n_projects = e->n_projects;
    out->projects = calloc(e->n_projects + 1, sizeof *out->projects);
    out->order = malloc((e->n_projects + 1) * sizeof *out->order);
    if (!out->projects || !out->order) {
        rc = MST_ENOMEM;
        goto out;
    }
    rc = o->rule == VOTE_RULE_GREEDY ? greedy_count(&t, out) : mes_count(&t, out, err, errlen);
    if (rc == 0)
        out->voters_without = count_without(e, out);
out:
    tally_free(&t);
    if (rc)
        vote_outcome_free(out);
    return rc;
}

void vote_outcome_free(struct vote_outcome *out)
{
    free(out->projects);
    free(out->order);
    memset(out, 0, sizeof *out);
}
