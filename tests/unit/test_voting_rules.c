/* test_voting_rules.c - the voting rules library alone: every reference
 * instance in MESTYS_PABULIB_DIR (the shared pabulib folder, read in place)
 * counted by every rule line of its expected.md that we implement, one
 * test per instance and rule; hand-built elections; the .pb reader and
 * writer (round trips, malformed files with line:col); and the fast MES
 * against a plain per-voter MES on random elections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mestys/error.h>

#include "../../plugins/voting/explain.h"
#include "../../plugins/voting/pb.h"
#include "../../plugins/voting/rules.h"

#define TOY "toy_ties.pb"
#define DIEPPE "Canada_Stanford_Dataset_PB_Dieppe_2018_vote_approvals.pb"
#define CZESTOCHOWA "Poland_Czestochowa_2020_Grabowka.pb"
#define REMBERTOW "Poland_Warszawa_2023_Rembertow.pb"

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", MESTYS_PABULIB_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: the reference folder is MESTYS_PABULIB_DIR", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return text;
}

static void load(const char *name, struct pb_election *e)
{
    size_t len;
    char err[256];
    char *text = slurp(name, &len);
    int rc = pb_parse(text, len, e, err, sizeof err);
    if (rc)
        fail_msg("%s: %s", name, err);
    free(text);
}

/* --- every reference instance by every rule ------------------------------ */

static const char *const no_list[] = {""};

struct ref_case {
    const char *file;
    const char *line;           /* the expected.md row, for the test's name */
    struct vote_options o;
    const char *ids;            /* expected selection, comma-separated, sorted as in expected.md */
    long steps;                 /* expected completion steps, -1 if not listed */
    const char *error;          /* expected error instead, or NULL */
};

#define PABU VOTE_TIE_ID_STRING
#define TOOL VOTE_TIE_VOTES_COST_ID
/* the tool without a tie-breaking list: any tie votes and cost leave fails */
#define NOLIST .tie_ids = no_list, .n_tie_ids = 0

static const char *const list_9_10[] = {"9", "10"}, *const list_10_9[] = {"10", "9"}, *const list_10[] = {"10"};

#define G(t) {.rule = VOTE_RULE_GREEDY, .tie = (t)}
#define M(c, t, ...) {.rule = VOTE_RULE_MES, .completion = VOTE_COMPLETION_##c, .tie = (t), __VA_ARGS__}

#define DIEPPE_FULL "779,780,786,788,789,791,792"
#define CZ_FULL "47,196,198,443,463"
#define REM_16 "782,839,840,849,874,950,1090,1258,1260,1324,1384,1569,1639,1883,1899,1910"
#define REM_17 "782,839,840,849,874,950,1090,1258,1260,1324,1384,1569,1639,1883,1899,1907,1910"

static const struct ref_case ref_cases[] = {
    {TOY, "greedy, pabutools", G(PABU), "5,9,10", -1, NULL},
    {TOY, "greedy, equalshares tool", G(TOOL), "5,9,10", -1, NULL},
    {TOY, "MES plain, pabutools (\"10\" < \"9\")", M(NONE, PABU), "10", 0, NULL},
    {TOY, "MES plain, tool without tie-breaking", M(NONE, TOOL, NOLIST), NULL, -1,
     "tie between projects 9 and 10"},
    {TOY, "MES plain, tool maxVotes,minCost + list [9,10]", M(NONE, TOOL, .tie_ids = list_9_10, .n_tie_ids = 2),
     "9", 0, NULL},
    {TOY, "MES plain, tool maxVotes,minCost + list [10,9]", M(NONE, TOOL, .tie_ids = list_10_9, .n_tie_ids = 2),
     "9", 0, NULL},
    {TOY, "MES plain, tool maxVotes,minCost + list [10]", M(NONE, TOOL, .tie_ids = list_10, .n_tie_ids = 1), "10",
     0, NULL},
    {TOY, "MES + add1, tool without tie-breaking", M(ADD1, TOOL, NOLIST), NULL, -1, "tie between projects 9 and 10"},
    {TOY, "MES + add1, tool + list", M(ADD1, TOOL, .tie_ids = list_9_10, .n_tie_ids = 2), "9,10", 2, NULL},
    {TOY, "MES + add1e, tool + list", M(ADD1E, TOOL, .tie_ids = list_10_9, .n_tie_ids = 2), "9,10", 2, NULL},
    {TOY, "MES + add1u, tool + list (b = 4)", M(ADD1U, TOOL, .tie_ids = list_9_10, .n_tie_ids = 2), "5,9,10", 2,
     NULL},
    {TOY, "MES iterated, pabutools (b = 4.5)", M(ITERATED, PABU), "9,10", 2, NULL},
    {TOY, "MES iterated + greedy, pabutools", M(ITERATED, PABU, .greedy_fill = 1), "5,9,10", 2, NULL},

    {DIEPPE, "greedy, pabutools", G(PABU), "780,786,787,791,792", -1, NULL},
    {DIEPPE, "greedy, equalshares tool", G(TOOL), "780,786,787,791,792", -1, NULL},
    {DIEPPE, "MES plain, pabutools", M(NONE, PABU), "780,786,788,789,792", 0, NULL},
    {DIEPPE, "MES plain, equalshares tool", M(NONE, TOOL, NOLIST), "780,786,788,789,792", 0, NULL},
    {DIEPPE, "MES + add1, tool (B/n + 290)", M(ADD1, TOOL, NOLIST), DIEPPE_FULL, 290, NULL},
    {DIEPPE, "MES + add1e, tool (B/n + 162)", M(ADD1E, TOOL, NOLIST), DIEPPE_FULL, 162, NULL},
    {DIEPPE, "MES + add1u, tool (b = 638)", M(ADD1U, TOOL, NOLIST), DIEPPE_FULL, 638 - 476, NULL},
    {DIEPPE, "MES iterated, pabutools (B/n + 162)", M(ITERATED, PABU), DIEPPE_FULL, 162, NULL},
    {DIEPPE, "MES iterated + greedy, pabutools", M(ITERATED, PABU, .greedy_fill = 1), DIEPPE_FULL, 162, NULL},

    {CZESTOCHOWA, "greedy by votes, pabutools", G(PABU), CZ_FULL, -1, NULL},
    {CZESTOCHOWA, "greedy by votes, equalshares tool", G(TOOL), CZ_FULL, -1, NULL},
    {CZESTOCHOWA, "greedy by total points, pabutools",
     {.rule = VOTE_RULE_GREEDY, .tie = PABU, .score = VOTE_SCORE_POINTS}, CZ_FULL, -1, NULL},
    {CZESTOCHOWA, "MES plain, pabutools", M(NONE, PABU), "47,196,198,463", 0, NULL},
    {CZESTOCHOWA, "MES plain, equalshares tool", M(NONE, TOOL, NOLIST), "47,196,198,463", 0, NULL},
    {CZESTOCHOWA, "MES plain, utility = points, pabutools Additive_Cardinal_Sat",
     M(NONE, PABU, .utility = VOTE_UTILITY_POINTS), "47,196,198,463", 0, NULL},
    {CZESTOCHOWA, "MES plain, utility = points x cost, pabutools custom",
     M(NONE, PABU, .utility = VOTE_UTILITY_POINTS_COST), "47,196,198,463", 0, NULL},
    {CZESTOCHOWA, "MES iterated, utility = points, pabutools (B/n + 1557)",
     M(ITERATED, PABU, .utility = VOTE_UTILITY_POINTS), CZ_FULL, 1557, NULL},
    {CZESTOCHOWA, "MES + add1, tool (B/n + 2561)", M(ADD1, TOOL, NOLIST), CZ_FULL, 2561, NULL},
    {CZESTOCHOWA, "MES + add1e, tool (B/n + 1540)", M(ADD1E, TOOL, NOLIST), CZ_FULL, 1540, NULL},
    {CZESTOCHOWA, "MES + add1u, tool (b = 2664)", M(ADD1U, TOOL, NOLIST), CZ_FULL, 2664 - 1123, NULL},
    {CZESTOCHOWA, "MES iterated, pabutools (B/n + 1540)", M(ITERATED, PABU), CZ_FULL, 1540, NULL},
    {CZESTOCHOWA, "MES iterated + greedy, pabutools", M(ITERATED, PABU, .greedy_fill = 1), CZ_FULL, 1540, NULL},

    {REMBERTOW, "greedy, pabutools", G(PABU), "209,839,840,849,1090,1147,1260,1384,1639", -1, NULL},
    {REMBERTOW, "greedy, equalshares tool", G(TOOL), "209,839,840,849,1090,1147,1260,1384,1639", -1, NULL},
    {REMBERTOW, "MES plain, pabutools", M(NONE, PABU),
     "782,839,849,874,950,1090,1258,1260,1324,1384,1569,1639,1899", 0, NULL},
    {REMBERTOW, "MES plain, equalshares tool", M(NONE, TOOL, NOLIST),
     "782,839,849,874,950,1090,1258,1260,1324,1384,1569,1639,1899", 0, NULL},
    {REMBERTOW, "MES + add1, tool (B/n + 223)", M(ADD1, TOOL, NOLIST), REM_16, 223, NULL},
    {REMBERTOW, "MES + add1e, tool (B/n + 223)", M(ADD1E, TOOL, NOLIST), REM_16, 223, NULL},
    {REMBERTOW, "MES + add1u, tool (b = 1086)", M(ADD1U, TOOL, NOLIST), REM_17, 1086 - 862, NULL},
    {REMBERTOW, "MES iterated, pabutools (B/n + 223)", M(ITERATED, PABU), REM_16, 223, NULL},
    {REMBERTOW, "MES iterated + greedy, pabutools", M(ITERATED, PABU, .greedy_fill = 1), REM_17, 223, NULL},
};

/* The selected ids, sorted numerically, comma-separated. */
static int id_cmp(const void *a, const void *b)
{
    long x = strtol(*(char *const *)a, NULL, 10), y = strtol(*(char *const *)b, NULL, 10);
    return (x > y) - (x < y);
}

static void selected_ids(const struct pb_election *e, const struct vote_outcome *o, char *buf, size_t len)
{
    const char *ids[512];
    size_t n = 0;
    int64_t cost = 0;
    for (size_t p = 0; p < e->n_projects; p++)
        if (o->projects[p].selected) {
            assert_true(n < 512);
            ids[n++] = e->projects[p].id;
            cost += e->projects[p].cost;
        }
    assert_int_equal(n, o->n_selected);
    assert_int_equal(cost, o->total_cost);
    assert_true(o->total_cost <= e->budget);
    qsort(ids, n, sizeof ids[0], id_cmp);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "", ids[i]);
}

static void reference(void **state)
{
    const struct ref_case *c = *state;
    struct pb_election e;
    struct vote_outcome o;
    char err[256], got[2048];
    load(c->file, &e);
    int rc = vote_count(&e, &c->o, &o, err, sizeof err);
    if (c->error) {
        assert_int_equal(rc, MST_EINVAL);
        assert_non_null(strstr(err, c->error));
    } else {
        if (rc)
            fail_msg("%s", err);
        selected_ids(&e, &o, got, sizeof got);
        assert_string_equal(got, c->ids);
        if (c->steps >= 0)
            assert_int_equal(o.steps, c->steps);
        vote_outcome_free(&o);
    }
    pb_election_free(&e);
}

/* --- reference details ----------------------------------------------------- */

/* Rembertów's `selected` column is the town's real (greedy) outcome. */
static void rembertow_selected_column_is_greedy(void **state)
{
    (void)state;
    struct pb_election e;
    struct vote_outcome o;
    struct vote_options opt = {.rule = VOTE_RULE_GREEDY};
    char err[128];
    load(REMBERTOW, &e);
    size_t col = 0;
    while (col < e.n_project_cols && strcmp(e.project_cols[col], "selected"))
        col++;
    assert_true(col < e.n_project_cols);
    assert_int_equal(vote_count(&e, &opt, &o, err, sizeof err), 0);
    for (size_t p = 0; p < e.n_projects; p++)
        assert_int_equal(o.projects[p].selected, strcmp(e.projects[p].fields[col], "1") == 0);
    vote_outcome_free(&o);
    pb_election_free(&e);
}

/* At B/n + 224 MES buys 1147 and goes over B: add1 keeps the B/n + 223
 * outcome, and explains 1147 so. */
static void rembertow_add1_explains_the_stop(void **state)
{
    (void)state;
    struct pb_election e;
    struct vote_outcome o;
    struct vote_options opt = {.rule = VOTE_RULE_MES, .completion = VOTE_COMPLETION_ADD1};
    char err[128];
    load(REMBERTOW, &e);
    assert_int_equal(vote_count(&e, &opt, &o, err, sizeof err), 0);
    long p1147 = pb_project_find(&e, "1147"), p840 = pb_project_find(&e, "840"), p209 = pb_project_find(&e, "209");
    long p1639 = pb_project_find(&e, "1639");
    assert_int_equal(o.projects[p1147].reason, VOTE_LOST_COMPLETION);
    assert_int_equal(o.projects[p840].reason, VOTE_WON_COMPLETION);
    assert_int_equal(o.projects[p1639].reason, VOTE_WON_MES);
    assert_int_equal(o.projects[p209].reason, VOTE_LOST_MONEY);
    assert_int_equal(o.projects[p1639].votes, 650);
    assert_int_equal(o.steps, 223);
    assert_true(o.mes_runs > 1 && o.mes_runs <= 225); /* here, the failed jumps cost no more than the good ones save */
    vote_outcome_free(&o);
    pb_election_free(&e);
}

/* Częstochowa's points are read: 196 has 72 voters and 435 points. */
static void czestochowa_points(void **state)
{
    (void)state;
    struct pb_election e;
    struct vote_outcome o;
    struct vote_options opt = {.rule = VOTE_RULE_GREEDY, .score = VOTE_SCORE_POINTS};
    char err[128];
    load(CZESTOCHOWA, &e);
    assert_int_equal(e.vote_type, PB_CUMULATIVE);
    assert_int_equal(e.n_ballots, 201);
    assert_int_equal(vote_count(&e, &opt, &o, err, sizeof err), 0);
    long p = pb_project_find(&e, "196");
    assert_int_equal(o.projects[p].votes, 72);
    assert_int_equal(o.projects[p].points, 435);
    assert_int_equal(o.projects[pb_project_find(&e, "177")].points, 259);
    vote_outcome_free(&o);
    pb_election_free(&e);
}

/* --- hand-built elections ---------------------------------------------------- */

/* projects "a:cost,b:cost", ballots "a b|b|" ('|' between ballots). */
static void build(struct pb_election *e, int64_t budget, const char *projects, const char *ballots)
{
    char buf[512], *save = NULL;
    assert_int_equal(pb_election_init(e, budget, PB_APPROVAL), 0);
    snprintf(buf, sizeof buf, "%s", projects);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        *colon = '\0';
        assert_int_equal(pb_project_add(e, tok, strtoll(colon + 1, NULL, 10), NULL), 0);
    }
    const char *p = ballots;
    for (int voter = 1; p; voter++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        char one[256], id[16];
        uint32_t idx[64];
        uint32_t n = 0;
        snprintf(one, sizeof one, "%.*s", (int)len, p);
        for (char *tok = strtok_r(one, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            long i = pb_project_find(e, tok);
            assert_true(i >= 0);
            idx[n++] = (uint32_t)i;
        }
        snprintf(id, sizeof id, "%d", voter);
        assert_int_equal(pb_ballot_add(e, id, idx, NULL, n), 0);
        p = bar ? bar + 1 : NULL;
    }
}

static void count_ok(const struct pb_election *e, const struct vote_options *o, const char *want)
{
    struct vote_outcome out;
    char err[128], got[512];
    int rc = vote_count(e, o, &out, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    selected_ids(e, &out, got, sizeof got);
    assert_string_equal(got, want);
    vote_outcome_free(&out);
}

static const struct vote_options greedy = {.rule = VOTE_RULE_GREEDY};
static const struct vote_options mes = {.rule = VOTE_RULE_MES};
static const struct vote_options mes_add1 = {.rule = VOTE_RULE_MES, .completion = VOTE_COMPLETION_ADD1};
static const struct vote_options mes_iter = {.rule = VOTE_RULE_MES, .completion = VOTE_COMPLETION_ITERATED};
static const struct vote_options mes_fill = {.rule = VOTE_RULE_MES, .greedy_fill = 1};

/* 1 and 2 tie on votes: lower cost first, then id order; in MES a tie on
 * price goes to more votes, then lower cost. */
static void hand_ties(void **state)
{
    (void)state;
    struct pb_election e;
    struct vote_options pabu = {.rule = VOTE_RULE_GREEDY, .tie = VOTE_TIE_ID_STRING};
    build(&e, 12, "1:6,2:5,3:6", "1 2 3|1 2 3|3");
    count_ok(&e, &greedy, "2,3"); /* 3 has the most votes; of 1 and 2 (tied on votes) 2 is cheaper */
    count_ok(&e, &pabu, "1,3");   /* pabutools: ids as strings */
    pb_election_free(&e);
    build(&e, 8, "1:4,2:4", "1|2");
    count_ok(&e, &greedy, "1,2");
    count_ok(&e, &mes, "1,2");
    pb_election_free(&e);
    /* equal price per unit of utility (1/2 each): the cheaper 8 first,
     * then 4 + 4 left < 10; pabutools takes "7" first, then 2 + 2 < 6 */
    struct vote_options mes_pabu = {.rule = VOTE_RULE_MES, .tie = VOTE_TIE_ID_STRING};
    build(&e, 14, "7:10,8:6", "7 8|7 8");
    count_ok(&e, &mes, "8");
    count_ok(&e, &mes_pabu, "7");
    pb_election_free(&e);
}

static void hand_zero_votes(void **state)
{
    (void)state;
    struct pb_election e;
    build(&e, 10, "1:5,2:3", "1|1");
    count_ok(&e, &greedy, "1,2"); /* greedy adds the zero-vote project if it fits */
    count_ok(&e, &mes, "1");      /* MES never buys it */
    count_ok(&e, &mes_fill, "1,2");
    struct vote_outcome o;
    char err[64];
    assert_int_equal(vote_count(&e, &mes, &o, err, sizeof err), 0);
    assert_int_equal(o.projects[1].reason, VOTE_LOST_NO_VOTES);
    assert_int_equal(o.projects[0].reason, VOTE_WON_MES);
    vote_outcome_free(&o);
    pb_election_free(&e);
}

static void hand_too_expensive(void **state)
{
    (void)state;
    struct pb_election e;
    build(&e, 10, "big:11,small:4", "big small|big|big");
    count_ok(&e, &greedy, "small");
    /* small's one supporter holds 10/3 < 4; at 10/3 + 1 they could pay
     * for it, but big's three supporters then buy big (11 > B) first: the
     * completions keep the empty outcome.  Greedy fill adds small. */
    count_ok(&e, &mes, "");
    count_ok(&e, &mes_add1, "");
    count_ok(&e, &mes_iter, "");
    count_ok(&e, &mes_fill, "small");
    pb_election_free(&e);
}

static void hand_single_voter(void **state)
{
    (void)state;
    struct pb_election e;
    build(&e, 10, "1:7,2:3,3:4", "1 3");
    count_ok(&e, &greedy, "2,3"); /* 1 and 3 tie on votes: the cheaper 3 first, then 1 does not fit */
    count_ok(&e, &mes, "3");      /* equal price per unit: the cheaper 3, then 6 left < 7 */
    count_ok(&e, &mes_add1, "3"); /* at 11 it buys 3 and 1: 11 > B */
    pb_election_free(&e);
}

static void hand_one_project(void **state)
{
    (void)state;
    struct pb_election e;
    build(&e, 100, "only:60", "only|only|");
    count_ok(&e, &greedy, "only");
    count_ok(&e, &mes, "only");
    count_ok(&e, &mes_add1, "only");
    pb_election_free(&e);
    /* a third of the voters cannot pay 60 with 100/3 each: add1 raises until it can */
    build(&e, 100, "only:60", "only||");
    count_ok(&e, &mes, "");
    count_ok(&e, &mes_add1, "");      /* the tool: everything costs at most B, so plain MES */
    count_ok(&e, &mes_iter, "only");  /* pabutools raises until 60 is affordable */
    pb_election_free(&e);
}

static void hand_empty_ballots(void **state)
{
    (void)state;
    struct pb_election e;
    build(&e, 10, "1:5,2:6", "||");
    count_ok(&e, &greedy, "1");
    count_ok(&e, &mes, "");
    count_ok(&e, &mes_add1, "");
    count_ok(&e, &mes_iter, "");
    pb_election_free(&e);
    /* no ballots at all */
    assert_int_equal(pb_election_init(&e, 10, PB_APPROVAL), 0);
    assert_int_equal(pb_project_add(&e, "1", 4, "a"), 0);
    count_ok(&e, &mes_add1, "");
    count_ok(&e, &greedy, "1");
    pb_election_free(&e);
}

static void hand_voters_without(void **state)
{
    (void)state;
    struct pb_election e;
    struct vote_outcome o;
    char err[64];
    build(&e, 10, "1:10,2:5,3:5", "1|1|1|2|3|");
    assert_int_equal(vote_count(&e, &greedy, &o, err, sizeof err), 0);
    assert_int_equal(o.voters_without, 2); /* 1 won: the voters of 2 and 3 got nothing */
    vote_outcome_free(&o);
    cJSON *j;
    assert_int_equal(vote_explain(&e, &mes, &j, err, sizeof err), 0);
    cJSON *without = cJSON_GetObjectItem(j, "voters_without");
    assert_int_equal(cJSON_GetObjectItem(without, "greedy")->valueint, 2);
    cJSON *p1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "projects"), 0);
    assert_string_equal(cJSON_GetObjectItem(p1, "id")->valuestring, "1");
    assert_true(cJSON_IsBool(cJSON_GetObjectItem(p1, "selected")));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(p1, "greedy"), "why"));
    cJSON_Delete(j);
    pb_election_free(&e);
}

/* The worked example of docs/plugins/voting-rules.md, number by number. */
static void docs_worked_example(void **state)
{
    (void)state;
    struct pb_election e;
    struct vote_outcome o;
    char err[128];
    build(&e, 100, "A:60,B:40,C:30,D:20", "A B|A B|A B|A B|A B|A|C D|C D|C D|C D");
    count_ok(&e, &greedy, "A,B");
    count_ok(&e, &mes, "A,D");
    count_ok(&e, &mes_add1, "A,D");
    assert_int_equal(vote_count(&e, &mes_add1, &o, err, sizeof err), 0);
    assert_int_equal(o.steps, 2); /* 12 each; at 13 C is bought too: 110 > 100 */
    assert_int_equal(o.voters_without, 0);
    assert_int_equal(o.projects[1].reason, VOTE_LOST_MONEY);      /* B: its supporters paid for A */
    assert_int_equal(o.projects[2].reason, VOTE_LOST_COMPLETION); /* C: only at 13 each */
    assert_float_equal(o.projects[0].effective_support, 6, 1e-9); /* 60 / 10 each, at b = 12 too */
    vote_outcome_free(&o);
    assert_int_equal(vote_count(&e, &mes, &o, err, sizeof err), 0);
    assert_int_equal(o.projects[2].reason, VOTE_LOST_MONEY);
    assert_float_equal(o.projects[3].effective_support, 4, 1e-9); /* 20 / 5 each */
    assert_float_equal(o.projects[0].effective_support, 6, 1e-9); /* 60 / 10 each */
    vote_outcome_free(&o);
    assert_int_equal(vote_count(&e, &greedy, &o, err, sizeof err), 0);
    assert_int_equal(o.voters_without, 4);
    vote_outcome_free(&o);
    pb_election_free(&e);
}

static void bad_options(void **state)
{
    (void)state;
    struct pb_election e;
    struct vote_outcome o;
    char err[128];
    build(&e, 10, "1:5", "1");
    struct vote_options bad = {.rule = (enum vote_rule)7};
    assert_int_equal(vote_count(&e, &bad, &o, err, sizeof err), MST_EINVAL);
    const char *ids[] = {"nope"};
    struct vote_options unknown = {.rule = VOTE_RULE_MES, .tie_ids = ids, .n_tie_ids = 1};
    assert_int_equal(vote_count(&e, &unknown, &o, err, sizeof err), MST_EINVAL);
    assert_non_null(strstr(err, "\"nope\""));
    pb_election_free(&e);
    /* big's one supporter could pay for it only at a share of 10^14:
     * as many raises of one unit */
    build(&e, 1000, "big:100000000000000,x:1", "big|x");
    assert_int_equal(vote_count(&e, &mes_add1, &o, err, sizeof err), MST_EINVAL);
    assert_string_equal(err, "the completion needs more than 1000000 steps (raises of every voter's share)");
    pb_election_free(&e);
    /* points as utility: negative points are no utility */
    assert_int_equal(pb_election_init(&e, 10, PB_SCORING), 0);
    assert_int_equal(pb_project_add(&e, "1", 5, NULL), 0);
    uint32_t one[] = {0};
    int64_t minus[] = {-2};
    assert_int_equal(pb_ballot_add(&e, "v", one, minus, 1), 0);
    struct vote_options points = {.rule = VOTE_RULE_MES, .utility = VOTE_UTILITY_POINTS};
    assert_int_equal(vote_count(&e, &points, &o, err, sizeof err), MST_EINVAL);
    assert_string_equal(err, "ballot 1 gives negative points: not a utility");
    pb_election_free(&e);
    enum vote_completion c;
    assert_int_equal(vote_completion_parse("add1u", &c), 0);
    assert_int_equal(c, VOTE_COMPLETION_ADD1U);
    assert_int_equal(vote_completion_parse("add2", &c), MST_EINVAL);
    assert_string_equal(vote_completion_name(VOTE_COMPLETION_ITERATED), "iterated");
    enum vote_utility u;
    assert_int_equal(vote_utility_parse("points", &u), 0);
    assert_int_equal(u, VOTE_UTILITY_POINTS);
    assert_null(vote_utility_name((enum vote_utility)9));
}

/* --- the .pb reader and writer -------------------------------------------------- */

static void round_trip_file(const char *name)
{
    struct pb_election a, b;
    char err[256];
    size_t len;
    load(name, &a);
    char *text = pb_write(&a, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    if (pb_parse(text, len, &b, err, sizeof err))
        fail_msg("%s written back: %s", name, err);
    assert_true(pb_equal(&a, &b));
    char *again = pb_write(&b, NULL);
    assert_string_equal(text, again); /* a fixed point after one write */
    free(again);
    free(text);
    pb_election_free(&a);
    pb_election_free(&b);
}

static void round_trip(void **state)
{
    round_trip_file(*state);
}

static void round_trip_built(void **state)
{
    (void)state;
    struct pb_election a, b;
    char err[256];
    assert_int_equal(pb_election_init(&a, 1000, PB_CUMULATIVE), 0);
    assert_int_equal(pb_meta_set(&a, "description", "a; \"quoted\"\nline"), 0);
    assert_int_equal(pb_meta_set(&a, "description", "twice"), MST_EINVAL);
    assert_int_equal(pb_project_add(&a, "p1", 300, "Park; benches"), 0);
    assert_int_equal(pb_project_add(&a, "p2", 700, NULL), 0);
    assert_int_equal(pb_project_add(&a, "p1", 5, NULL), MST_EINVAL);
    assert_int_equal(pb_project_add(&a, "x,y", 5, NULL), MST_EINVAL);
    uint32_t v[] = {1, 0};
    int64_t pts[] = {3, 7};
    assert_int_equal(pb_ballot_add(&a, "v1", v, pts, 2), 0);
    assert_int_equal(pb_ballot_add(&a, "v2", v, pts, 0), 0);
    assert_int_equal(pb_ballot_add(&a, "v3", v, NULL, 2), MST_EINVAL); /* points required */
    uint32_t dup[] = {0, 0};
    assert_int_equal(pb_ballot_add(&a, "v4", dup, pts, 2), MST_EINVAL);
    char *text = pb_write(&a, NULL);
    assert_non_null(strstr(text, "v1;p2,p1;3,7\n"));
    assert_non_null(strstr(text, "p1;300;\"Park; benches\"\n"));
    assert_int_equal(pb_parse(text, strlen(text), &b, err, sizeof err), 0);
    assert_true(pb_equal(&a, &b));
    assert_string_equal(b.meta[2].value, "a; \"quoted\"\nline");
    assert_int_equal(b.ballots[0].points[1], 7);
    assert_int_equal(b.vote_type, PB_CUMULATIVE);
    free(text);
    pb_election_free(&a);
    pb_election_free(&b);
}

static void crlf_and_bom(void **state)
{
    (void)state;
    struct pb_election e;
    char err[128];
    const char *t = "\xEF\xBB\xBF" "META\r\nkey;value\r\nbudget;10.00\r\nvote_type;approval\r\n\r\n"
                    "PROJECTS\r\nproject_id;cost\r\n1;4\r\n2;5.0\r\nVOTES\r\nvoter_id;vote\r\na; 1 , 2\r\nb;\r\n";
    if (pb_parse(t, strlen(t), &e, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(e.budget, 10);
    assert_int_equal(e.projects[1].cost, 5);
    assert_int_equal(e.n_ballots, 2);
    assert_int_equal(e.ballots[0].n, 2);
    assert_int_equal(e.ballots[1].n, 0);
    pb_election_free(&e);
}

static void malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text, *err;
    } cases[] = {
        {"", "1:1: the file must start with a META section"},
        {"PROJECTS\n", "1:1: the file must start with a META section"},
        {"META\nkey;value\nbudget;ten\n", "3:8: budget: a whole non-negative number, not \"ten\""},
        {"META\nkey;value\nbudget;10.5\n", "3:8: budget: a whole non-negative number, not \"10.5\""},
        {"META\nkey;value\nbudget;10\n", "4:1: no PROJECTS section"},
        {"META\nkey;value\nvote_type;approval\nPROJECTS\n", "4:1: META has no budget"},
        {"META\nkey;value\nbudget;1\nbudget;2\n", "4:1: META key \"budget\" appears twice"},
        {"META\nkey;value\nbudget;1\nvote_type;ranked\n",
         "4:11: vote_type: approval, cumulative, ordinal, scoring or choose-1, not \"ranked\""},
        {"META\nkey;value\nbudget;1;x\n", "3:10: a META row is key;value (quote a value that holds ';')"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nid;cost\n", "5:1: PROJECTS needs the columns project_id and cost"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;-4\n",
         "6:3: cost: a whole non-negative number, not \"-4\""},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;4\n1;5\n", "7:1: project_id \"1\" appears twice"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;4;9\n", "6:1: a project row has 3 fields, the header 2"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;4\n", "7:1: no VOTES section"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;4\nVOTES\nvoter_id;vote\nv;1,7\n",
         "9:5: the ballot names project \"7\" that PROJECTS does not list"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;4\nVOTES\nvoter_id;vote\nv;1,1\n",
         "9:5: the ballot names project \"1\" twice"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;\"4\n", "6:3: a quoted field is not closed"},
        {"META\nkey;value\nbudget;1\nvote_type;cumulative\nPROJECTS\nproject_id;cost\n1;4\nVOTES\nvoter_id;vote\n",
         "9:1: cumulative ballots need a points column"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;4\n2;4\nVOTES\nvoter_id;vote;points\nv;1,2;3\n",
         "10:7: 1 points for 2 projects"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;4\nVOTES\nvoter_id;vote;points\nv;1;x\n",
         "9:5: points: whole numbers separated by ','"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost;cost\n", "5:17: column \"cost\" appears twice"},
        {"META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;4\nVOTES\nvoter;vote\n",
         "8:1: VOTES needs the columns voter_id and vote"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pb_election e;
        char err[256];
        int rc = pb_parse(cases[i].text, strlen(cases[i].text), &e, err, sizeof err);
        if (rc != MST_EINVAL || strcmp(err, cases[i].err))
            fail_msg("case %zu: rc %d, \"%s\", wanted \"%s\"", i, rc, err, cases[i].err);
        assert_int_equal(e.n_projects, 0);
    }
    struct pb_election e;
    char err[64];
    const char nul[] = "META\nkey;value\nbud\0get;1\n";
    assert_int_equal(pb_parse(nul, sizeof nul - 1, &e, err, sizeof err), MST_EINVAL);
    assert_string_equal(err, "3:4: a NUL byte");
}

/* a small generator for random elections (uses a local `seed`) */
#define RAND() (seed = seed * 6364136223846793005ull + 1442695040888963407ull, (uint32_t)(seed >> 33))

/* --- fast MES against a plain one --------------------------------------------- */

/* MES as the definition reads: per-voter money, every candidate's alpha
 * recomputed every round by sorting its supporters; ties by tie rank. */
static int plain_mes(const struct pb_election *e, long double b, uint8_t *selected)
{
    size_t n = e->n_ballots, np = e->n_projects;
    long double *money = malloc((n + 1) * sizeof *money), *sorted = malloc((n + 1) * sizeof *sorted);
    uint8_t *gone = calloc(np + 1, 1);
    for (size_t i = 0; i < n; i++)
        money[i] = b;
    memset(selected, 0, np);
    for (;;) {
        long best = -1;
        long double best_alpha = 0;
        for (size_t p = 0; p < np; p++) {
            if (selected[p] || gone[p])
                continue;
            size_t m = 0;
            long double total = 0;
            for (size_t i = 0; i < n; i++)
                for (uint32_t k = 0; k < e->ballots[i].n; k++)
                    if (e->ballots[i].projects[k] == p)
                        sorted[m++] = money[i], total += money[i];
            long double c = (long double)e->projects[p].cost;
            if (m == 0 || c == 0 || total < c * (1 - 1e-12L)) {
                gone[p] = 1;
                continue;
            }
            for (size_t i = 1; i < m; i++) /* insertion sort */
                for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
                    long double x = sorted[j];
                    sorted[j] = sorted[j - 1];
                    sorted[j - 1] = x;
                }
            long double left = c, alpha = sorted[m - 1];
            for (size_t i = 0; i < m; i++) {
                if (sorted[i] * (long double)(m - i) >= left) {
                    alpha = left / (long double)(m - i);
                    break;
                }
                left -= sorted[i];
            }
            long double rho = alpha / c;
            if (best < 0 || rho < best_alpha / (long double)e->projects[best].cost * (1 - 1e-12L))
                best = (long)p, best_alpha = alpha;
        }
        if (best < 0)
            break;
        selected[best] = 1;
        for (size_t i = 0; i < n; i++)
            for (uint32_t k = 0; k < e->ballots[i].n; k++)
                if (e->ballots[i].projects[k] == (uint32_t)best)
                    money[i] -= money[i] < best_alpha ? money[i] : best_alpha;
    }
    free(money);
    free(sorted);
    free(gone);
    return 0;
}

static void fast_mes_equals_plain_mes(void **state)
{
    (void)state;
    uint64_t seed = 12345;
    for (int round = 0; round < 200; round++) {
        struct pb_election e;
        size_t np = 2 + RAND() % 12, nv = 1 + RAND() % 60;
        assert_int_equal(pb_election_init(&e, 100 + RAND() % 5000, PB_APPROVAL), 0);
        for (size_t p = 0; p < np; p++) {
            char id[16];
            snprintf(id, sizeof id, "%zu", p + 1);
            /* distinct costs: a tie on price would need the tie order in the plain count too */
            assert_int_equal(pb_project_add(&e, id, (int64_t)(50 + RAND() % 2000) * 16 + (int64_t)p, NULL), 0);
        }
        for (size_t v = 0; v < nv; v++) {
            uint32_t idx[16], n = 0;
            for (uint32_t p = 0; p < np; p++)
                if (RAND() % 3 == 0)
                    idx[n++] = p;
            char id[16];
            snprintf(id, sizeof id, "v%zu", v);
            assert_int_equal(pb_ballot_add(&e, id, idx, NULL, n), 0);
        }
        struct vote_outcome o;
        char err[128];
        uint8_t want[16];
        assert_int_equal(vote_count(&e, &mes, &o, err, sizeof err), 0);
        plain_mes(&e, (long double)e.budget / nv, want);
        for (size_t p = 0; p < np; p++)
            if (o.projects[p].selected != want[p])
                fail_msg("round %d: project %zu: fast %d, plain %d", round, p + 1, o.projects[p].selected, want[p]);
        vote_outcome_free(&o);
        pb_election_free(&e);
    }
}

/* The completions jump over steps proven not to change the outcome
 * (mes_same_between): the same selection and steps as counting every
 * step, on every reference file and on random elections. */
static void same_outcome(const struct pb_election *e, struct vote_options o, const char *what)
{
    struct vote_outcome fast, slow;
    char err[128];
    o.every_step = 0;
    int rc_fast = vote_count(e, &o, &fast, err, sizeof err);
    o.every_step = 1;
    int rc_slow = vote_count(e, &o, &slow, err, sizeof err);
    assert_int_equal(rc_fast, rc_slow);
    if (rc_fast)
        return;
    if (fast.steps != slow.steps || fast.total_cost != slow.total_cost)
        fail_msg("%s: jumping %u steps, cost %lld; every step %u, cost %lld", what, fast.steps,
                 (long long)fast.total_cost, slow.steps, (long long)slow.total_cost);
    for (size_t p = 0; p < e->n_projects; p++) {
        assert_int_equal(fast.projects[p].selected, slow.projects[p].selected);
        assert_int_equal(fast.projects[p].reason, slow.projects[p].reason);
    }
    vote_outcome_free(&fast);
    vote_outcome_free(&slow);
}

static const enum vote_completion completions[] = {VOTE_COMPLETION_ADD1, VOTE_COMPLETION_ADD1E,
                                                   VOTE_COMPLETION_ADD1U, VOTE_COMPLETION_ITERATED};

static void jumps_equal_every_step(void **state)
{
    (void)state;
    static const char *const files[] = {TOY, DIEPPE, CZESTOCHOWA, REMBERTOW};
    for (size_t f = 0; f < 4; f++) {
        struct pb_election e;
        load(files[f], &e);
        for (size_t c = 0; c < 4; c++) {
            struct vote_options o = {.rule = VOTE_RULE_MES, .completion = completions[c], .tie = VOTE_TIE_ID_STRING};
            same_outcome(&e, o, files[f]);
            o.utility = VOTE_UTILITY_POINTS;
            same_outcome(&e, o, files[f]);
        }
        pb_election_free(&e);
    }
    uint64_t seed = 777;
    for (int round = 0; round < 150; round++) {
        struct pb_election e;
        size_t np = 2 + RAND() % 10, nv = 1 + RAND() % 40;
        assert_int_equal(pb_election_init(&e, 50 + RAND() % 400, PB_APPROVAL), 0);
        for (size_t p = 0; p < np; p++) {
            char id[16];
            snprintf(id, sizeof id, "%zu", p + 1);
            assert_int_equal(pb_project_add(&e, id, 1 + RAND() % 200, NULL), 0);
        }
        for (size_t v = 0; v < nv; v++) {
            uint32_t idx[16], n = 0;
            for (uint32_t p = 0; p < np; p++)
                if (RAND() % 3 == 0)
                    idx[n++] = p;
            char id[16];
            snprintf(id, sizeof id, "v%zu", v);
            assert_int_equal(pb_ballot_add(&e, id, idx, NULL, n), 0);
        }
        for (size_t c = 0; c < 4; c++) {
            char what[32];
            snprintf(what, sizeof what, "random %d", round);
            struct vote_options o = {.rule = VOTE_RULE_MES, .completion = completions[c], .tie = VOTE_TIE_ID_STRING};
            same_outcome(&e, o, what);
        }
        pb_election_free(&e);
    }
}

int main(void)
{
    enum { N_REF = sizeof ref_cases / sizeof ref_cases[0] };
    static const char *const files[] = {TOY, DIEPPE, CZESTOCHOWA, REMBERTOW};
    struct CMUnitTest tests[N_REF + 32];
    static char names[N_REF + 4][200];
    size_t n = 0;
    for (size_t i = 0; i < N_REF; i++) {
        snprintf(names[i], sizeof names[i], "%s: %s", ref_cases[i].file, ref_cases[i].line);
        tests[n++] = (struct CMUnitTest){names[i], reference, NULL, NULL, (void *)&ref_cases[i]};
    }
    for (size_t i = 0; i < 4; i++) {
        snprintf(names[N_REF + i], sizeof names[0], "round trip: %s", files[i]);
        tests[n++] = (struct CMUnitTest){names[N_REF + i], round_trip, NULL, NULL, (void *)files[i]};
    }
    const struct CMUnitTest more[] = {
        cmocka_unit_test(rembertow_selected_column_is_greedy),
        cmocka_unit_test(rembertow_add1_explains_the_stop),
        cmocka_unit_test(czestochowa_points),
        cmocka_unit_test(hand_ties),
        cmocka_unit_test(hand_zero_votes),
        cmocka_unit_test(hand_too_expensive),
        cmocka_unit_test(hand_single_voter),
        cmocka_unit_test(hand_one_project),
        cmocka_unit_test(hand_empty_ballots),
        cmocka_unit_test(hand_voters_without),
        cmocka_unit_test(docs_worked_example),
        cmocka_unit_test(bad_options),
        cmocka_unit_test(round_trip_built),
        cmocka_unit_test(crlf_and_bom),
        cmocka_unit_test(malformed),
        cmocka_unit_test(fast_mes_equals_plain_mes),
        cmocka_unit_test(jumps_equal_every_step),
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        tests[n++] = more[i];
    return _cmocka_run_group_tests("voting_rules", tests, n, NULL, NULL);
}
