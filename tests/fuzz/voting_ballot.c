/* fuzz_voting_ballot - a ballot as a voter sends it (POST budgets/<id>/ballots):
 * the JSON body read and checked against each ballot type's rules
 * (plugins/voting/ballot.c), its code and receipt read as people type them
 * (code.c), and the sealed line the published ballot list carries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "voting/voting.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vote_project_ref projects[] = {{1, 300}, {2, 500}, {3, 400}, {7, 900}, {12, 50}};
#define N_PROJECTS (sizeof projects / sizeof projects[0])

static double cost_of(int64_t id)
{
    for (size_t i = 0; i < N_PROJECTS; i++)
        if (projects[i].id == id)
            return projects[i].cost;
    abort(); /* an accepted ballot names only projects on it */
}

/* What an accepted ballot must be: sorted, no project twice, within the rules. */
static void check(const struct vote_rules *r, const struct vote_choice *c, size_t n)
{
    double cost = 0;
    int64_t points = 0;
    if ((int64_t)n < r->min_projects || (r->max_projects && (int64_t)n > r->max_projects))
        abort();
    for (size_t i = 0; i < n; i++) {
        if (i && c[i].project <= c[i - 1].project)
            abort();
        if (c[i].points < 1 || (r->max_points && c[i].points > r->max_points))
            abort();
        cost += cost_of(c[i].project);
        points += c[i].points;
    }
    if (r->type == VOTE_KNAPSACK && (cost > r->amount || cost < r->min_share * r->amount))
        abort();
    if (r->type == VOTE_CUMULATIVE && points > r->points)
        abort();
    char *sealed = vote_ballot_seal("00", c, n, r->type == VOTE_CUMULATIVE);
    if (!sealed || strncmp(sealed, "00;", 3) != 0)
        abort();
    free(sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct vote_rules rules[] = {
        {.type = VOTE_APPROVAL, .min_projects = 1, .max_projects = 3, .amount = 1000},
        {.type = VOTE_KNAPSACK, .min_projects = 0, .min_share = 0.1, .amount = 1000},
        {.type = VOTE_CUMULATIVE, .min_projects = 1, .points = 10, .max_points = 4, .amount = 1000},
    };
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char canonical[32];
    if (vote_code_normalise(text, canonical, sizeof canonical) == 0 && strlen(canonical) != 25)
        abort();
    if (vote_receipt_normalise(text, canonical, sizeof canonical) == 0 && strlen(canonical) != 25)
        abort();
    cJSON *body = cJSON_ParseWithLength(text, size);
    for (size_t r = 0; body && r < sizeof rules / sizeof rules[0]; r++) {
        struct vote_choice *c = NULL;
        size_t n = 0;
        char why[300] = "";
        int rc = vote_ballot_read(body, &rules[r], projects, N_PROJECTS, &c, &n, why, sizeof why);
        if (rc == 0)
            check(&rules[r], c, n);
        else if (!why[0] && rc != MST_ENOMEM)
            abort(); /* a refusal always says why */
        free(c);
    }
    cJSON_Delete(body);
    free(text);
    return 0;
}
