/*
 * ballot.c - a ballot as the voter sent it (JSON), checked against its
 * budget's rules and projects, and sealed as the line the published ballot
 * list will carry.  Pure (no host, no database): the fuzz target
 * tests/fuzz/voting_ballot.c drives it directly.
 *
 *   approval, knapsack: {"projects": [3, 7]}
 *   cumulative:         {"points": {"3": 4, "7": 6}}
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voting.h"

static int by_project(const void *a, const void *b)
{
    const struct vote_choice *x = a, *y = b;
    return (x->project > y->project) - (x->project < y->project);
}

static const struct vote_project_ref *find(const struct vote_project_ref *p, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].id == id)
            return &p[i];
    return NULL;
}

/* A project id as JSON number or text: a whole number from 1. */
static int project_id(const cJSON *j, const char *text, int64_t *out)
{
    if (j) {
        if (!cJSON_IsNumber(j) || !(j->valuedouble >= 1 && j->valuedouble <= 1e15) ||
            j->valuedouble != floor(j->valuedouble))
            return MST_EINVAL;
        *out = (int64_t)j->valuedouble;
        return 0;
    }
    char *end;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || v < 1)
        return MST_EINVAL;
    *out = v;
    return 0;
}

/* Reads the choices as they come; checks only their form. */
static int read_choices(const cJSON *ballot, int cumulative, struct vote_choice *c, size_t *n, size_t max,
                        char *why, size_t whylen)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ballot, cumulative ? "points" : "projects");
    if (cumulative ? !cJSON_IsObject(list) : !cJSON_IsArray(list)) {
        snprintf(why, whylen, cumulative ? "a cumulative ballot is {\"points\": {\"<project id>\": <points>, ...}}"
                                         : "a ballot is {\"projects\": [<project id>, ...]}");
        return MST_EINVAL;
    }
    const cJSON *item;
    *n = 0;
    cJSON_ArrayForEach(item, list) {
        if (*n == max) {
            snprintf(why, whylen, "the ballot names more projects than there are (%zu)", max);
            return MST_EINVAL;
        }
        struct vote_choice *ch = &c[(*n)++];
        ch->points = 1;
        if (project_id(cumulative ? NULL : item, item->string, &ch->project) != 0) {
            snprintf(why, whylen, "\"%.40s\" is not a project id (a whole number from 1)",
                     cumulative ? item->string : "the ballot's item");
            return MST_EINVAL;
        }
        if (cumulative) {
            if (!cJSON_IsNumber(item) || !(item->valuedouble >= 1 && item->valuedouble <= 1e9) ||
                item->valuedouble != floor(item->valuedouble)) {
                snprintf(why, whylen, "project %lld: points must be a whole number from 1", (long long)ch->project);
                return MST_EINVAL;
            }
            ch->points = (int64_t)item->valuedouble;
        }
    }
    return 0;
}

/* The budget's rules over checked choices (sorted, known projects). */
static int check_rules(const struct vote_rules *r, const struct vote_choice *c, size_t n,
                       const struct vote_project_ref *p, size_t np, char *why, size_t whylen)
{
    if ((int64_t)n < r->min_projects || (r->max_projects && (int64_t)n > r->max_projects)) {
        if (r->max_projects)
            snprintf(why, whylen, "the ballot names %zu project(s); it must name %lld to %lld", n,
                     (long long)r->min_projects, (long long)r->max_projects);
        else
            snprintf(why, whylen, "the ballot names %zu project(s); it must name at least %lld", n,
                     (long long)r->min_projects);
        return MST_EINVAL;
    }
    double cost = 0;
    int64_t points = 0;
    for (size_t i = 0; i < n; i++) {
        cost += find(p, np, c[i].project)->cost;
        points += c[i].points;
        if (r->type == VOTE_CUMULATIVE && r->max_points && c[i].points > r->max_points) {
            snprintf(why, whylen, "project %lld has %lld points; at most %lld on one project",
                     (long long)c[i].project, (long long)c[i].points, (long long)r->max_points);
            return MST_EINVAL;
        }
    }
    if (r->type == VOTE_KNAPSACK && cost > r->amount) {
        snprintf(why, whylen, "the ballot's projects cost %.0f in all, over the budget's %.0f", cost, r->amount);
        return MST_EINVAL;
    }
    if (r->type == VOTE_KNAPSACK && cost < r->min_share * r->amount) {
        snprintf(why, whylen, "the ballot's projects cost %.0f in all; they must cost at least %.0f (%g of the "
                 "budget)", cost, r->min_share * r->amount, r->min_share);
        return MST_EINVAL;
    }
    if (r->type == VOTE_CUMULATIVE && points > r->points) {
        snprintf(why, whylen, "the ballot gives %lld points; each voter has %lld", (long long)points,
                 (long long)r->points);
        return MST_EINVAL;
    }
    return 0;
}

int vote_ballot_read(const cJSON *ballot, const struct vote_rules *rules, const struct vote_project_ref *projects,
                     size_t n_projects, struct vote_choice **out, size_t *n, char *why, size_t whylen)
{
    *out = NULL;
    *n = 0;
    struct vote_choice *c = calloc(n_projects + 1, sizeof *c);
    if (!c)
        return MST_ENOMEM;
    int rc = read_choices(ballot, rules->type == VOTE_CUMULATIVE, c, n, n_projects, why, whylen);
    if (rc == 0)
        qsort(c, *n, sizeof *c, by_project);
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        if (!find(projects, n_projects, c[i].project)) {
            /* an infeasible proposal has an id too: say why it may be missing, and where the ids are */
            snprintf(why, whylen, "there is no project %lld on this ballot: only proposals found feasible in "
                     "review are on it (GET budgets/<id>/proposals lists them)", (long long)c[i].project);
            rc = MST_EINVAL;
        } else if (i && c[i].project == c[i - 1].project) {
            snprintf(why, whylen, "project %lld is named twice", (long long)c[i].project);
            rc = MST_EINVAL;
        }
    }
    if (rc == 0)
        rc = check_rules(rules, c, *n, projects, n_projects, why, whylen);
    if (rc != 0) {
        free(c);
        *n = 0;
        return rc;
    }
    *out = c;
    return 0;
}

char *vote_ballot_seal(const char *receipt_hash, const struct vote_choice *c, size_t n, int cumulative)
{
    size_t cap = strlen(receipt_hash) + 2 + n * 44, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    len += (size_t)snprintf(s, cap, "%s;", receipt_hash);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%lld", i ? "," : "", (long long)c[i].project);
    if (cumulative) {
        s[len++] = ';';
        s[len] = '\0';
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(s + len, cap - len, "%s%lld", i ? "," : "", (long long)c[i].points);
    }
    return s;
}
