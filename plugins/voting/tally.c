/* tally.c - an election prepared for counting: weighted groups of
 * identical ballots, supporters per project, the tie order, and the greedy
 * pass that greedy by votes and greedy fill share. */
/* qsort_r (GNU, the build defines _GNU_SOURCE): the comparators need the election */
#include "tally.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A ballot's projects in order: insertion for the usual handful. */
static void sort_small(uint32_t *v, size_t n)
{
    if (n > 32) {
        qsort(v, n, sizeof *v, cmp_u32);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* An id JavaScript would list first among an object's keys: a canonical
 * array index ("0", "17", not "017"), below 2^32 - 1. */
static int js_index(const char *id, uint64_t *v)
{
    size_t len = strlen(id);
    if (!len || len > 10 || (len > 1 && id[0] == '0'))
        return 0;
    *v = 0;
    for (size_t i = 0; i < len; i++) {
        if (id[i] < '0' || id[i] > '9')
            return 0;
        *v = *v * 10 + (uint64_t)(id[i] - '0');
    }
    return *v < 4294967295ull;
}

/* Project id order: indices numerically, then the rest in file order. */
static int natural_id_cmp(const struct pb_election *e, uint32_t a, uint32_t b)
{
    uint64_t x = 0, y = 0; /* gcc -O2 cannot see js_index sets them when it returns 1 */
    int ia = js_index(e->projects[a].id, &x), ib = js_index(e->projects[b].id, &y);
    if (ia && ib)
        return (x > y) - (x < y);
    if (ia != ib)
        return ia ? -1 : 1;
    return (a > b) - (a < b);
}

static int tie_cmp(const void *pa, const void *pb, void *arg)
{
    const struct tally *t = arg;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    if (t->o->tie == VOTE_TIE_ID_STRING) {
        int c = strcmp(t->e->projects[a].id, t->e->projects[b].id);
        return c ? c : (a > b) - (a < b);
    }
    if (t->votes[a] != t->votes[b])
        return t->votes[a] > t->votes[b] ? -1 : 1;
    if (t->cost[a] != t->cost[b])
        return t->cost[a] < t->cost[b] ? -1 : 1;
    if (t->tie_listed && t->tie_listed[a] != t->tie_listed[b])
        return t->tie_listed[a] ? -1 : 1;
    return natural_id_cmp(t->e, a, b);
}

long tally_tie(const struct tally *t, uint32_t a, uint32_t b)
{
    long first = t->rank[a] < t->rank[b] ? (long)a : (long)b;
    if (t->o->tie == VOTE_TIE_VOTES_COST_ID && t->tie_listed && t->votes[a] == t->votes[b] &&
        t->cost[a] == t->cost[b] && !t->tie_listed[a] && !t->tie_listed[b])
        return -1;
    return first;
}

static int build_rank(struct tally *t, char *err, size_t errlen)
{
    const struct vote_options *o = t->o;
    if (o->tie == VOTE_TIE_VOTES_COST_ID && o->tie_ids) {
        if (!(t->tie_listed = calloc(t->n_projects + 1, 1)))
            return MST_ENOMEM;
        for (size_t i = 0; i < o->n_tie_ids; i++) {
            long p = pb_project_find(t->e, o->tie_ids[i]);
            if (p < 0) {
                snprintf(err, errlen, "tie order names project \"%s\" that the election does not have",
                         o->tie_ids[i]);
                return MST_EINVAL;
            }
            t->tie_listed[p] = 1;
        }
    }
    uint32_t *idx = malloc((t->n_projects + 1) * sizeof *idx);
    if (!idx || !(t->rank = malloc((t->n_projects + 1) * sizeof *t->rank))) {
        free(idx);
        return MST_ENOMEM;
    }
    for (uint32_t i = 0; i < t->n_projects; i++)
        idx[i] = i;
    qsort_r(idx, t->n_projects, sizeof *idx, tie_cmp, t);
    for (uint32_t i = 0; i < t->n_projects; i++)
        t->rank[idx[i]] = i;
    free(idx);
    return 0;
}

/* --- groups of identical ballots ---------------------------------------- */

struct sets {
    uint32_t *flat;      /* every ballot's projects, sorted per ballot */
    size_t *start;       /* n_ballots + 1 */
};

static uint64_t set_hash(const uint32_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* group[b] = the group of ballot b; the groups numbered in order of
 * their first ballot. */
static int group_ballots(struct tally *t, const struct sets *s, uint32_t *group, uint32_t *first)
{
    size_t nb = t->e->n_ballots, cap = 16;
    if (t->o->utility != VOTE_UTILITY_COST) {
        /* two ballots with the same projects may give them different points */
        for (size_t b = 0; b < nb; b++)
            group[b] = first[b] = (uint32_t)b;
        t->n_groups = nb;
        return 0;
    }
    while (cap < nb * 2)
        cap *= 2;
    uint32_t *slot = malloc(cap * sizeof *slot);
    if (!slot)
        return MST_ENOMEM;
    memset(slot, 0xff, cap * sizeof *slot);
    t->n_groups = 0;
    for (size_t b = 0; b < nb; b++) {
        const uint32_t *p = s->flat + s->start[b];
        size_t n = s->start[b + 1] - s->start[b];
        size_t i = set_hash(p, n) & (cap - 1);
        for (; slot[i] != UINT32_MAX; i = (i + 1) & (cap - 1)) {
            uint32_t o = first[slot[i]];
            if (s->start[o + 1] - s->start[o] == n && !memcmp(s->flat + s->start[o], p, n * sizeof *p))
                break;
        }
        if (slot[i] == UINT32_MAX) {
            slot[i] = (uint32_t)t->n_groups;
            first[t->n_groups++] = (uint32_t)b;
        }
        group[b] = slot[i];
    }
    free(slot);
    return 0;
}

static int build_sets(const struct pb_election *e, struct sets *s, int by_points)
{
    size_t total = 0;
    for (size_t b = 0; b < e->n_ballots; b++)
        total += e->ballots[b].n;
    s->flat = malloc((total + 1) * sizeof *s->flat);
    s->start = malloc((e->n_ballots + 1) * sizeof *s->start);
    if (!s->flat || !s->start)
        return MST_ENOMEM;
    size_t at = 0;
    for (size_t b = 0; b < e->n_ballots; b++) {
        s->start[b] = at;
        memcpy(s->flat + at, e->ballots[b].projects, e->ballots[b].n * sizeof *s->flat);
        if (!by_points) /* sorted, to find equal sets; with points, in ballot order like the points */
            sort_small(s->flat + at, e->ballots[b].n);
        at += e->ballots[b].n;
    }
    s->start[e->n_ballots] = at;
    return 0;
}

/* The flat arrays: each group's projects, each project's groups. */
static int build_groups(struct tally *t, const struct sets *s, const uint32_t *group, const uint32_t *first)
{
    size_t ng = t->n_groups, np = t->n_projects, entries = 0;
    t->weight = calloc(ng + 1, sizeof *t->weight);
    t->group_start = malloc((ng + 1) * sizeof *t->group_start);
    t->sup_start = calloc(np + 1, sizeof *t->sup_start);
    if (!t->weight || !t->group_start || !t->sup_start)
        return MST_ENOMEM;
    for (size_t b = 0; b < t->e->n_ballots; b++)
        t->weight[group[b]]++;
    for (size_t g = 0; g < ng; g++)
        entries += s->start[first[g] + 1] - s->start[first[g]];
    t->group_projects = malloc((entries + 1) * sizeof *t->group_projects);
    t->sup_groups = malloc((entries + 1) * sizeof *t->sup_groups);
    if (!t->group_projects || !t->sup_groups)
        return MST_ENOMEM;
    if (t->o->utility != VOTE_UTILITY_COST) {
        t->sup_util = malloc((entries + 1) * sizeof *t->sup_util);
        t->total_util = calloc(np + 1, sizeof *t->total_util);
        if (!t->sup_util || !t->total_util)
            return MST_ENOMEM;
    }
    size_t at = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t n = s->start[first[g] + 1] - s->start[first[g]];
        t->group_start[g] = (uint32_t)at;
        memcpy(t->group_projects + at, s->flat + s->start[first[g]], n * sizeof *s->flat);
        for (size_t i = 0; i < n; i++)
            t->sup_start[t->group_projects[at + i] + 1]++;
        at += n;
    }
    t->group_start[ng] = (uint32_t)at;
    for (size_t p = 0; p < np; p++)
        t->sup_start[p + 1] += t->sup_start[p];
    uint32_t *fill = t->group_start; /* reused below as a cursor copy */
    uint32_t *cursor = malloc((np + 1) * sizeof *cursor);
    if (!cursor)
        return MST_ENOMEM;
    memcpy(cursor, t->sup_start, (np + 1) * sizeof *cursor);
    for (size_t g = 0; g < ng; g++)
        for (uint32_t i = fill[g]; i < fill[g + 1]; i++) {
            uint32_t at_p = cursor[t->group_projects[i]]++;
            t->sup_groups[at_p] = (uint32_t)g;
            if (t->sup_util) {
                const struct pb_ballot *v = &t->e->ballots[g]; /* not merged: group g is ballot g */
                long double u = v->points ? (long double)v->points[i - fill[g]] : 1;
                if (t->o->utility == VOTE_UTILITY_POINTS_COST)
                    u *= (long double)t->cost[t->group_projects[i]];
                t->sup_util[at_p] = u;
                t->total_util[t->group_projects[i]] += u;
            }
        }
    free(cursor);
    return 0;
}

/* Supporters and points per project: all greedy needs. */
static void count_votes(struct tally *t)
{
    for (size_t b = 0; b < t->e->n_ballots; b++) {
        const struct pb_ballot *v = &t->e->ballots[b];
        for (uint32_t i = 0; i < v->n; i++) {
            t->votes[v->projects[i]]++;
            if (v->points)
                t->points[v->projects[i]] = tally_add(t->points[v->projects[i]], v->points[i]);
        }
    }
}

static int check_options(const struct pb_election *e, const struct vote_options *o, char *err, size_t errlen)
{
    if (!vote_rule_name(o->rule) || !vote_completion_name(o->completion) || !vote_tie_name(o->tie) ||
        (o->score != VOTE_SCORE_VOTES && o->score != VOTE_SCORE_POINTS) ||
        !vote_utility_name(o->utility)) {
        snprintf(err, errlen, "unknown rule, completion, tie order, score or utility");
        return MST_EINVAL;
    }
    for (size_t b = 0; o->utility != VOTE_UTILITY_COST && b < e->n_ballots; b++)
        for (uint32_t i = 0; e->ballots[b].points && i < e->ballots[b].n; i++)
            if (e->ballots[b].points[i] < 0) {
                snprintf(err, errlen, "ballot %zu gives negative points: not a utility", b + 1);
                return MST_EINVAL;
            }
    if (e->budget < 0 || e->n_ballots >= UINT32_MAX || e->n_projects >= UINT32_MAX / 2) {
        snprintf(err, errlen, "a negative budget or too many ballots or projects");
        return MST_EINVAL;
    }
    return 0;
}

/* The weighted groups of identical ballots and the flat arrays MES runs on. */
static int build_mes(struct tally *t)
{
    struct sets s = {0};
    size_t nb = t->e->n_ballots;
    uint32_t *group = malloc((nb + 1) * sizeof *group), *first = malloc((nb + 1) * sizeof *first);
    int rc = MST_ENOMEM;
    if (group && first && !(rc = build_sets(t->e, &s, t->o->utility != VOTE_UTILITY_COST)) &&
        !(rc = group_ballots(t, &s, group, first)))
        rc = build_groups(t, &s, group, first);
    free(s.flat);
    free(s.start);
    free(group);
    free(first);
    return rc;
}

int tally_build(struct tally *t, const struct pb_election *e, const struct vote_options *o, char *err,
                size_t errlen)
{
    int64_t *cost;
    int rc = check_options(e, o, err, errlen);
    memset(t, 0, sizeof *t);
    if (rc)
        return rc;
    t->e = e;
    t->o = o;
    t->n_projects = e->n_projects;
    t->n_voters = e->n_ballots;
    t->budget = e->budget;
    t->cost = cost = malloc((e->n_projects + 1) * sizeof *cost);
    t->votes = calloc(e->n_projects + 1, sizeof *t->votes);
    t->points = calloc(e->n_projects + 1, sizeof *t->points);
    if (!cost || !t->votes || !t->points) {
        rc = MST_ENOMEM;
        goto out;
    }
    for (size_t p = 0; p < e->n_projects; p++)
        cost[p] = e->projects[p].cost;
    count_votes(t);
    /* the groups are for Equal Shares; greedy needs only the votes */
    if (o->rule == VOTE_RULE_MES && (rc = build_mes(t)))
        goto out;
    rc = build_rank(t, err, errlen);
out:
    if (rc)
        tally_free(t);
    return rc;
}

void tally_free(struct tally *t)
{
    free((void *)t->cost);
    free(t->votes);
    free(t->points);
    free(t->rank);
    free(t->tie_listed);
    free(t->weight);
    free(t->group_start);
    free(t->group_projects);
    free(t->sup_start);
    free(t->sup_groups);
    free(t->sup_util);
    free(t->total_util);
    memset(t, 0, sizeof *t);
}

/* --- greedy ------------------------------------------------------------- */

int tally_exhaustive(const struct tally *t, const uint8_t *selected, int64_t cost, int supported_only)
{
    for (size_t p = 0; p < t->n_projects; p++) {
        if (selected[p] || (supported_only && (t->cost[p] == 0 || t->votes[p] == 0)))
            continue;
        if (t->cost[p] <= t->budget - cost)
            return 0;
    }
    return 1;
}

/* Greedy's score: supporters (or points); a supported project that costs
 * nothing scores above everything. */
static int greedy_cmp(const void *pa, const void *pb, void *arg)
{
    const struct tally *t = arg;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int fa = t->cost[a] == 0 && t->votes[a], fb = t->cost[b] == 0 && t->votes[b];
    if (fa != fb)
        return fa ? -1 : 1;
    int64_t sa = t->o->score == VOTE_SCORE_POINTS ? t->points[a] : t->votes[a];
    int64_t sb = t->o->score == VOTE_SCORE_POINTS ? t->points[b] : t->votes[b];
    if (sa != sb)
        return sa > sb ? -1 : 1;
    return (t->rank[a] > t->rank[b]) - (t->rank[a] < t->rank[b]);
}

void tally_greedy(const struct tally *t, uint8_t *selected, uint32_t *order, size_t *n, int64_t *cost,
                  uint8_t *added)
{
    /* the candidates are sorted in order's free tail: it has room for every project */
    uint32_t *idx = order + *n;
    size_t m = 0;
    for (uint32_t p = 0; p < t->n_projects; p++)
        if (!selected[p])
            idx[m++] = p;
    qsort_r(idx, m, sizeof *idx, greedy_cmp, (void *)t);
    /* compact the projects that fit to the front of idx, in order */
    size_t kept = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t p = idx[i];
        if (t->cost[p] > t->budget - *cost)
            continue;
        *cost += t->cost[p];
        selected[p] = 1;
        if (added)
            added[p] = 1;
        idx[kept++] = p;
    }
    *n += kept;
}
