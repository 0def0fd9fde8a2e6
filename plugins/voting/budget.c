/* budget.c - budgets from the config, their phases, the frozen ballot rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mestys/time.h>

#include "voting.h"

static const char *const phase_names[VOTE_N_PHASES] = {"proposals", "review", "voting", "counting", "results"};
static const char *const type_names[] = {"approval", "knapsack", "cumulative"};

const char *vote_phase_name(enum vote_phase p)
{
    return p < VOTE_N_PHASES ? phase_names[p] : "?";
}

int vote_phase_parse(const char *name, enum vote_phase *out)
{
    for (int p = 0; p < VOTE_N_PHASES; p++)
        if (strcmp(name, phase_names[p]) == 0) {
            *out = (enum vote_phase)p;
            return 0;
        }
    return MST_EINVAL;
}

const char *vote_ballot_type_name(enum vote_ballot_type t)
{
    return type_names[t];
}

static char *config_text(struct vote *v, const char *fmt, size_t i)
{
    char path[64];
    snprintf(path, sizeof path, fmt, i);
    const char *s = v->host->config_string(v->inst, path);
    return strdup(s ? s : "");
}

static int64_t config_i64(struct vote *v, const char *fmt, size_t i)
{
    char path[64];
    int64_t n = 0;
    snprintf(path, sizeof path, fmt, i);
    v->host->config_int(v->inst, path, &n);
    return n;
}

/* Dates were checked by check.c: here only read. */
static void load_dates(struct vote *v, struct vote_budget *b, size_t i)
{
    static const enum vote_phase dated[] = {VOTE_REVIEW, VOTE_VOTING, VOTE_COUNTING};
    for (size_t d = 0; d < sizeof dated / sizeof dated[0]; d++) {
        char path[64];
        snprintf(path, sizeof path, "budgets[%zu].dates.%s", i, phase_names[dated[d]]);
        const char *s = v->host->config_string(v->inst, path);
        if (s && *s && mst_time_parse(s, &b->dates[dated[d]]) != 0)
            b->dates[dated[d]] = 0;
    }
}

static int load_identity(struct vote *v, struct vote_budget *b, size_t i, char *why, size_t whylen)
{
    char *hook = config_text(v, "budgets[%zu].identity_hook", i);
    int rc = 0;
    if (!hook)
        return MST_ENOMEM;
    if (b->eligibility == VOTE_BY_LUA && (rc = v->host->script_open(v->inst, hook + 4, &b->identity)) != 0)
        snprintf(why, whylen, "budgets[%zu].identity_hook: %s: %s", i, hook + 4, mst_strerror(rc));
    free(hook);
    return rc;
}

static int load_budget(struct vote *v, struct vote_budget *b, size_t i, char *why, size_t whylen)
{
    char *id = config_text(v, "budgets[%zu].id", i); /* checked by check.c */
    if (!id)
        return MST_ENOMEM;
    snprintf(b->id, sizeof b->id, "%s", id);
    free(id);
    b->name = config_text(v, "budgets[%zu].name", i);
    b->district = config_text(v, "budgets[%zu].district", i);
    b->currency = config_text(v, "budgets[%zu].currency", i);
    if (!b->name || !b->district || !b->currency)
        return MST_ENOMEM;
    struct vote_rules *r = &b->rules;
    char path[64];
    snprintf(path, sizeof path, "budgets[%zu].amount", i);
    v->host->config_number(v->inst, path, &r->amount);
    char *type = config_text(v, "budgets[%zu].ballot.type", i), *rule = config_text(v, "budgets[%zu].rule", i);
    char *elig = config_text(v, "budgets[%zu].eligibility", i);
    if (!type || !rule || !elig) {
        free(type), free(rule), free(elig);
        return MST_ENOMEM;
    }
    r->type = strcmp(type, "knapsack") == 0 ? VOTE_KNAPSACK : strcmp(type, "cumulative") == 0 ? VOTE_CUMULATIVE
                                                                                               : VOTE_APPROVAL;
    snprintf(r->rule, sizeof r->rule, "%s", rule);
    b->eligibility = strcmp(elig, "lua") == 0 ? VOTE_BY_LUA : strcmp(elig, "http") == 0 ? VOTE_BY_HTTP : VOTE_BY_CODE;
    free(type), free(rule), free(elig);
    r->min_projects = config_i64(v, "budgets[%zu].ballot.min_projects", i);
    r->max_projects = config_i64(v, "budgets[%zu].ballot.max_projects", i);
    r->points = config_i64(v, "budgets[%zu].ballot.points", i);
    b->identity_timeout_ms = config_i64(v, "budgets[%zu].identity_timeout_ms", i);
    if (!(b->identity_url = config_text(v, "budgets[%zu].identity_url", i)))
        return MST_ENOMEM;
    r->max_points = config_i64(v, "budgets[%zu].ballot.max_points", i);
    snprintf(path, sizeof path, "budgets[%zu].ballot.min_share", i);
    v->host->config_number(v->inst, path, &r->min_share);
    int flag = 0;
    snprintf(path, sizeof path, "budgets[%zu].replace", i);
    v->host->config_bool(v->inst, path, &flag);
    r->replace = flag;
    load_dates(v, b, i);
    return load_identity(v, b, i, why, whylen);
}

int vote_budgets_load(struct vote *v, char *why, size_t whylen)
{
    size_t n = v->host->config_count(v->inst, "budgets");
    if (n > VOTE_MAX_BUDGETS) /* check.c said so already */
        n = VOTE_MAX_BUDGETS;
    for (size_t i = 0; i < n; i++) {
        v->n_budgets = i + 1; /* so that vote_budgets_free frees a half-loaded one */
        int rc = load_budget(v, &v->budgets[i], i, why, whylen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void vote_budgets_free(struct vote *v)
{
    for (size_t i = 0; i < v->n_budgets; i++) {
        struct vote_budget *b = &v->budgets[i];
        free(b->name);
        free(b->district);
        free(b->currency);
        free(b->identity_url);
        if (b->identity)
            v->host->script_close(b->identity);
    }
    v->n_budgets = 0;
}

struct vote_budget *vote_budget_find(struct vote *v, const char *id, size_t len)
{
    for (size_t i = 0; i < v->n_budgets; i++)
        if (strlen(v->budgets[i].id) == len && memcmp(v->budgets[i].id, id, len) == 0)
            return &v->budgets[i];
    return NULL;
}

/* Everything that decides what a ballot may be and how it is counted: a
 * change to any of it once voting has started is refused. */
char *vote_rules_json(const struct vote_budget *b)
{
    const struct vote_rules *r = &b->rules;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "amount", r->amount);
    cJSON_AddStringToObject(j, "type", type_names[r->type]);
    cJSON_AddNumberToObject(j, "min_projects", (double)r->min_projects);
    cJSON_AddNumberToObject(j, "max_projects", (double)r->max_projects);
    cJSON_AddNumberToObject(j, "min_share", r->min_share);
    cJSON_AddNumberToObject(j, "points", (double)r->points);
    cJSON_AddNumberToObject(j, "max_points", (double)r->max_points);
    cJSON_AddStringToObject(j, "rule", r->rule);
    cJSON_AddBoolToObject(j, "replace", r->replace);
    static const char *const eligibility[] = {"codes", "lua", "http"};
    cJSON_AddStringToObject(j, "eligibility", eligibility[b->eligibility]);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

int vote_budgets_restore(struct vote *v, char *why, size_t whylen)
{
    for (size_t i = 0; i < v->n_budgets; i++) {
        struct vote_budget *b = &v->budgets[i];
        const char *p[] = {b->id};
        if (vote_db_exec(v->db, "INSERT OR IGNORE INTO budget(budget, phase) VALUES (?, 0)", 1, p) != 0)
            return MST_EDB;
        char *phase = vote_db_text(v->db, "SELECT phase FROM budget WHERE budget = ?", 1, p);
        b->phase = phase ? (enum vote_phase)atoi(phase) : VOTE_PROPOSALS;
        free(phase);
        if (b->phase < VOTE_VOTING)
            continue;
        char *frozen = vote_db_text(v->db, "SELECT rules FROM budget WHERE budget = ?", 1, p);
        char *now = vote_rules_json(b);
        int same = frozen && now && strcmp(frozen, now) == 0;
        if (!same)
            snprintf(why, whylen,
                     "budgets[%zu] (\"%s\"): its ballot rules cannot change: voting started with %s; the config "
                     "now says %s", i, b->id, frozen ? frozen : "?", now ? now : "?");
        free(frozen);
        free(now);
        if (!same)
            return MST_ECONFIG;
    }
    return 0;
}

void vote_phase_published(struct vote *v, const struct vote_budget *b)
{
    char body[160];
    int n = snprintf(body, sizeof body, "{\"budget\":\"%s\",\"phase\":\"%s\"}", b->id, vote_phase_name(b->phase));
    int rc = v->host->publish(v->inst, "voting/phase", body, (size_t)n);
    if (rc != 0)
        v->host->log(v->inst, MST_LOG_WARN, "voting/phase for %s not published: %s", b->id, mst_strerror(rc));
}

/* What must be true before a budget enters a phase. */
static int may_enter(struct vote *v, struct vote_budget *b, enum vote_phase to, char *why, size_t whylen)
{
    if (to <= b->phase) {
        snprintf(why, whylen, "budget \"%s\" is in its %s phase; phases only move forward (proposals, review, "
                 "voting, counting, results)", b->id, vote_phase_name(b->phase));
        return MST_EINVAL;
    }
    if (to == VOTE_RESULTS) {
        snprintf(why, whylen, "results come when counting ends; move budget \"%s\" to counting", b->id);
        return MST_EINVAL;
    }
    if (to >= VOTE_VOTING && b->phase < VOTE_VOTING) {
        cJSON *projects = vote_projects(v->db, b->id);
        int n = projects ? cJSON_GetArraySize(projects) : -1;
        cJSON_Delete(projects);
        if (n <= 0) {
            snprintf(why, whylen, "budget \"%s\" has no feasible project to vote on: review its proposals first",
                     b->id);
            return MST_EINVAL;
        }
    }
    return 0;
}

int vote_phase_set(struct vote *v, struct vote_budget *b, enum vote_phase to, char *why, size_t whylen)
{
    int rc = may_enter(v, b, to, why, whylen);
    if (rc != 0)
        return rc;
    char phase[8], *rules = to >= VOTE_VOTING && b->phase < VOTE_VOTING ? vote_rules_json(b) : NULL;
    snprintf(phase, sizeof phase, "%d", (int)to);
    const char *p[] = {phase, b->id, rules};
    rc = rules ? vote_db_exec(v->db, "UPDATE budget SET phase = ?, rules = ? WHERE budget = ?", 3,
                              (const char *[]){phase, rules, b->id})
               : vote_db_exec(v->db, "UPDATE budget SET phase = ? WHERE budget = ?", 2, p);
    free(rules);
    if (rc != 0) {
        snprintf(why, whylen, "the phase of budget \"%s\" could not be saved", b->id);
        return rc;
    }
    v->host->log(v->inst, MST_LOG_INFO, "budget %s: %s -> %s", b->id, vote_phase_name(b->phase),
                 vote_phase_name(to));
    b->phase = to;
    vote_phase_published(v, b);
    if (to == VOTE_COUNTING)
        vote_count_start(v, b);
    return 0;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vote_clock(void *arg)
{
    struct vote *v = arg;
    int64_t now = wall_ms();
    for (size_t i = 0; i < v->n_budgets && !v->stopping; i++) {
        struct vote_budget *b = &v->budgets[i];
        enum vote_phase due = b->phase;
        for (int p = VOTE_REVIEW; p <= VOTE_COUNTING; p++)
            if (b->dates[p] && now >= b->dates[p] && p > (int)due)
                due = (enum vote_phase)p;
        char why[256];
        if (due != b->phase && vote_phase_set(v, b, due, why, sizeof why) != 0 && !b->date_refused) {
            b->date_refused = 1; /* said once, not every second */
            v->host->log(v->inst, MST_LOG_ERROR, "budget %s: its %s date has come, but: %s", b->id,
                         vote_phase_name(due), why);
        }
        if (b->phase == VOTE_COUNTING && !b->counting_busy)
            vote_count_start(v, b); /* a restart cut counting short */
    }
}
