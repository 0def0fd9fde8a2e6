/* bench_voting.c - tally time of greedy, plain Equal Shares and Equal
 * Shares with the add1 completion (vote_count, the whole call: grouping
 * the ballots included), the median of several runs, on:
 *   - the largest reference instance (MESTYS_PABULIB_DIR),
 *   - a synthetic Warsaw-district election: 80 projects, 11,000 ballots,
 *   - a synthetic election of 100,000 voters and 200 projects;
 * each printed next to the floor measured in the same run: one pass that
 * reads every ballot entry (what any rule must at least do).  Wall time and
 * the thread's CPU time: on a shared machine the second is the steadier.
 * Not a test: nothing here asserts a time.
 *
 *   bench_voting [runs [only]]   runs default 5; only: ref, warsaw or big
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../plugins/voting/pb.h"
#include "../../plugins/voting/rules.h"

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

/* CPU time of this thread: on a loaded machine, closer to what the work costs */
static double cpu_ms(void)
{
    return clock_ms(CLOCK_THREAD_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t seed = 42;

static uint32_t rnd(void)
{
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(seed >> 33);
}

/* Projects with skewed popularity (a few favourites, a long tail), costs
 * from 1/200 to 1/8 of the budget, ballots of 1 to max_len projects. */
static int synthetic(struct pb_election *e, size_t n_projects, size_t n_voters, uint32_t max_len)
{
    const int64_t budget = 10000000;
    seed = 42 + n_projects; /* the same election whichever others run */
    if (pb_election_init(e, budget, PB_APPROVAL))
        return -1;
    double *weight = malloc(n_projects * sizeof *weight), total = 0;
    uint32_t *idx = malloc(n_projects * sizeof *idx);
    uint8_t *taken = calloc(n_projects, 1);
    for (size_t p = 0; p < n_projects; p++) {
        char id[24];
        snprintf(id, sizeof id, "%zu", p + 1);
        if (pb_project_add(e, id, budget / 200 + (int64_t)(rnd() % (uint32_t)(budget / 8)), NULL))
            return -1;
        weight[p] = 1.0 / (1.0 + (double)p * 0.15);
        total += weight[p];
    }
    for (size_t v = 0; v < n_voters; v++) {
        uint32_t len = 1 + rnd() % max_len, n = 0;
        for (uint32_t tries = 0; n < len && tries < 4 * len; tries++) {
            double x = (rnd() / 2147483648.0) * total;
            size_t p = 0;
            while (p + 1 < n_projects && x >= weight[p])
                x -= weight[p++];
            if (!taken[p])
                taken[p] = 1, idx[n++] = (uint32_t)p;
        }
        for (uint32_t i = 0; i < n; i++)
            taken[idx[i]] = 0;
        char id[24];
        snprintf(id, sizeof id, "%zu", v + 1);
        if (pb_ballot_add(e, id, idx, NULL, n))
            return -1;
    }
    free(weight);
    free(idx);
    free(taken);
    return 0;
}

/* The floor: every ballot entry read once (a per-project count). */
static double floor_ms(const struct pb_election *e, int runs)
{
    double t[64];
    uint32_t *votes = calloc(e->n_projects + 1, sizeof *votes);
    volatile uint32_t sink = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = cpu_ms();
        memset(votes, 0, e->n_projects * sizeof *votes);
        for (size_t b = 0; b < e->n_ballots; b++)
            for (uint32_t i = 0; i < e->ballots[b].n; i++)
                votes[e->ballots[b].projects[i]]++;
        sink += votes[0];
        t[r] = cpu_ms() - t0;
    }
    free(votes);
    return median(t, runs);
}

static void one(const char *what, const struct pb_election *e, const struct vote_options *o, int runs)
{
    double t[64], cpu[64];
    struct vote_outcome out = {0};
    char err[256];
    for (int r = 0; r < runs; r++) {
        vote_outcome_free(&out);
        double t0 = now_ms(), c0 = cpu_ms();
        if (vote_count(e, o, &out, err, sizeof err)) {
            printf("  %-22s error: %s\n", what, err);
            return;
        }
        t[r] = now_ms() - t0;
        cpu[r] = cpu_ms() - c0;
    }
    printf("  %-16s %9.2f ms wall %9.2f ms cpu   %3zu selected, cost %lld, %u MES runs (steps %u)\n", what,
           median(t, runs), median(cpu, runs), out.n_selected, (long long)out.total_cost, out.mes_runs,
           out.steps);
    vote_outcome_free(&out);
}

static void bench(const char *title, const struct pb_election *e, int runs)
{
    size_t entries = 0;
    for (size_t b = 0; b < e->n_ballots; b++)
        entries += e->ballots[b].n;
    printf("%s: %zu projects, %zu ballots, %zu ballot entries\n", title, e->n_projects, e->n_ballots, entries);
    printf("  %-16s %9s    %9.3f ms cpu   (one pass over every ballot entry)\n", "floor", "", floor_ms(e, runs));
    struct vote_options greedy = {.rule = VOTE_RULE_GREEDY};
    struct vote_options mes = {.rule = VOTE_RULE_MES};
    struct vote_options add1 = {.rule = VOTE_RULE_MES, .completion = VOTE_COMPLETION_ADD1};
    struct vote_options iter = {.rule = VOTE_RULE_MES, .completion = VOTE_COMPLETION_ITERATED};
    one("greedy", e, &greedy, runs);
    one("MES", e, &mes, runs);
    one("MES + add1", e, &add1, runs);
    one("MES + iterated", e, &iter, runs);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 64)
        runs = 5;
    const char *only = argc > 2 ? argv[2] : "";
    struct pb_election e;
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/Poland_Warszawa_2023_Rembertow.pb", MESTYS_PABULIB_DIR);
    FILE *f = !*only || !strcmp(only, "ref") ? fopen(path, "rb") : NULL;
    if (f) {
        static char text[1 << 20];
        size_t len = fread(text, 1, sizeof text, f);
        fclose(f);
        double t0 = now_ms();
        if (pb_parse(text, len, &e, err, sizeof err) == 0) {
            printf("(pb_parse of the file: %.2f ms)\n", now_ms() - t0);
            bench("Rembertow 2023 (largest reference)", &e, runs);
            pb_election_free(&e);
        } else {
            printf("%s: %s\n", path, err);
        }
    } else if (!*only) {
        printf("%s: not found, skipping the reference instance\n", path);
    }
    if ((!*only || !strcmp(only, "warsaw")) && synthetic(&e, 80, 11000, 15) == 0) {
        bench("synthetic Warsaw district", &e, runs);
        pb_election_free(&e);
    }
    if ((!*only || !strcmp(only, "big")) && synthetic(&e, 200, 100000, 20) == 0) {
        bench("synthetic 100,000 voters x 200 projects", &e, runs);
        pb_election_free(&e);
    }
    return 0;
}
