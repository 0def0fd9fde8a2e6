/*
 * voting - participatory budgeting: citizens propose projects, the town
 * reviews them, citizens vote with one-time codes (or an identity hook), and
 * after counting the town publishes a result anyone can recount from the
 * published ballot list alone (`mestys verify voting`).
 *
 * Everything runs on the loop thread except counting, which runs on a
 * worker.  docs/plugins/voting.md describes the process, the secrecy
 * guarantees and every route.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voting.h"

static const struct mst_config_key ballot_keys[] = {
    {.key = "type", .type = MST_CFG_STRING, .default_json = "\"approval\"",
     .choices = "approval|knapsack|cumulative",
     .description = "approval: between min_projects and max_projects; knapsack: projects whose total cost is "
                    "within the amount (and at least min_share of it); cumulative: points spread over projects"},
    {.key = "min_projects", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "1", .min = 0,
     .max = 10000, .description = "fewest projects a ballot names"},
    {.key = "max_projects", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "0", .min = 0,
     .max = 10000, .description = "most projects a ballot names (0: no limit)"},
    {.key = "min_share", .type = MST_CFG_NUMBER, .flags = MST_CFG_HAS_RANGE, .default_json = "0", .min = 0, .max = 1,
     .description = "knapsack: a ballot's projects cost at least this share of the amount"},
    {.key = "points", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "10", .min = 1,
     .max = 1000000, .description = "cumulative: points each voter spreads (at most this many in all)"},
    {.key = "max_points", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "0", .min = 0,
     .max = 1000000, .description = "cumulative: most points on one project (0: no limit)"},
    {0},
};

static const struct mst_config_key date_keys[] = {
    {.key = "review", .type = MST_CFG_STRING, .default_json = "\"\"",
     .description = "ISO 8601 time the review phase begins (\"\": when the operator says)"},
    {.key = "voting", .type = MST_CFG_STRING, .default_json = "\"\"",
     .description = "ISO 8601 time voting opens (\"\": when the operator says)"},
    {.key = "counting", .type = MST_CFG_STRING, .default_json = "\"\"",
     .description = "ISO 8601 time voting closes and counting begins (\"\": when the operator says)"},
    {0},
};

static const struct mst_config_key budget_keys[] = {
    {.key = "id", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 1, .max = VOTE_ID_MAX,
     .description = "the budget's id in URLs: a-z 0-9 - _"},
    {.key = "name", .type = MST_CFG_STRING, .default_json = "\"\"", .description = "the budget's name, for people"},
    {.key = "district", .type = MST_CFG_STRING, .default_json = "\"\"",
     .description = "the district it is for (\"\": the whole town)"},
    {.key = "amount", .type = MST_CFG_NUMBER, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 1, .max = 1e12,
     .description = "money to spend, in currency units"},
    {.key = "currency", .type = MST_CFG_STRING, .default_json = "\"CZK\"", .description = "ISO 4217 code"},
    {.key = "ballot", .type = MST_CFG_OBJECT, .fields = ballot_keys, .default_json = "{}",
     .description = "what a ballot may be"},
    {.key = "rule", .type = MST_CFG_STRING, .default_json = "\"mes+add1+greedy\"",
     .choices = "greedy|mes|mes+add1|mes+add1+greedy|mes+iterated|mes+iterated+greedy",
     .description = "the counting rule (docs/plugins/voting-rules.md)"},
    {.key = "replace", .type = MST_CFG_BOOL, .default_json = "false",
     .description = "a voter may replace their ballot (with their code and receipt) until voting closes"},
    {.key = "eligibility", .type = MST_CFG_STRING, .default_json = "\"codes\"", .choices = "codes|lua|http",
     .description = "codes: one-time codes for the imported register; lua: identity_hook says who votes; "
                    "http: identity_url does"},
    {.key = "identity_hook", .type = MST_CFG_STRING, .flags = MST_CFG_SCRIPT, .default_json = "\"\"",
     .description = "lua:<file>: its function `identify(credentials)` returns {voter = \"...\"} or "
                    "{error = \"...\"}"},
    {.key = "identity_url", .type = MST_CFG_STRING, .default_json = "\"\"",
     .description = "http://host[:port]/path: POSTed the voter's credentials, answers 200 {\"voter\": \"...\"}"},
    {.key = "identity_timeout_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "3000",
     .min = 100, .max = 60000, .description = "how long identity_url may take to answer"},
    {.key = "dates", .type = MST_CFG_OBJECT, .fields = date_keys, .default_json = "{}",
     .description = "when phases begin by themselves"},
    {0},
};

static const struct mst_config_key config[] = {
    {.key = "file", .type = MST_CFG_STRING, .default_json = "\"voting.sqlite\"",
     .description = "the database, in the instance's state directory"},
    {.key = "budgets", .type = MST_CFG_ARRAY, .fields = budget_keys, .default_json = "[]",
     .description = "the budgets this town runs"},
    {.key = "pages", .type = MST_CFG_BOOL, .default_json = "true",
     .description = "serve the citizen pages (and the clerk's, under admin/) at /<instance>/"},
    {0},
};

static const char *const publishes[] = {"voting/phase", "voting/result", NULL};

static void vote_fini(void *state);

/* The pages (www/, copied to the daemon's www folder as "voting") at
 * /<instance>/, so that they find their API at /api/<instance>/. */
static int vote_pages(struct vote *v, char *why, size_t whylen)
{
    const struct mst_host *h = v->host;
    int on = 1;
    if (h->config_bool(v->inst, "pages", &on) != 0 || !on)
        return 0;
    if (!MST_HOST_HAS(h, http_static)) {
        h->log(v->inst, MST_LOG_WARN, "this daemon cannot serve a plugin's pages: the budget's pages are off");
        return 0;
    }
    const char *name = h->instance_name(v->inst);
    int rc = h->http_static(v->inst, name, "voting", NULL);
    if (rc != 0)
        snprintf(why, whylen, "cannot serve the pages at /%s/: %s (%s)", name, mst_strerror(rc),
                 rc == MST_ENOENT ? "the www/voting folder is missing: build the voting_www target, or install; "
                                    "or set \"pages\": false"
                                  : "another instance has that prefix");
    return rc;
}

static int vote_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct vote *v = calloc(1, sizeof *v);
    if (!v)
        return MST_ENOMEM;
    v->inst = inst;
    v->host = host;
    v->queue_tail = &v->queue;
    *state = v;
    char why[512] = "";
    int rc = vote_budgets_load(v, why, sizeof why);
    if (rc == 0 && (rc = host->db_open(inst, host->config_string(inst, "file"), vote_migrations, &v->db)) != 0)
        snprintf(why, sizeof why, "%s: %s", host->config_string(inst, "file"), mst_strerror(rc));
    /* deleted rows (a replaced ballot, paper entries, the letters' names and
     * addresses) are overwritten, not left in free pages */
    if (rc == 0 && sqlite3_exec(v->db, "PRAGMA secure_delete = ON", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(why, sizeof why, "PRAGMA secure_delete: %s", sqlite3_errmsg(v->db));
        rc = MST_EDB;
    }
    /* ballots are acknowledged with a receipt only once on disk */
    if (rc == 0 && (rc = host->db_open(inst, host->config_string(inst, "file"), vote_migrations, &v->ballot_db)) == 0 &&
        sqlite3_exec(v->ballot_db, "PRAGMA secure_delete = ON; PRAGMA synchronous = FULL", NULL, NULL, NULL) !=
            SQLITE_OK) {
        snprintf(why, sizeof why, "PRAGMA synchronous: %s", sqlite3_errmsg(v->ballot_db));
        rc = MST_EDB;
    }
    if (rc == 0)
        rc = vote_budgets_restore(v, why, sizeof why);
    const struct mst_metric_def metrics[] = {
        {MST_METRIC_COUNTER, "ballots_cast_total", "ballots accepted (online and paper; replacements included)",
         &v->cast},
        {MST_METRIC_COUNTER, "ballots_replaced_total", "ballots replaced by their voter", &v->replaced},
        {MST_METRIC_COUNTER, "paper_disagreements_total", "paper ballots whose two entries differed",
         &v->paper_disagreed},
        {MST_METRIC_COUNTER, "budgets_counted_total", "budgets counted", &v->counted},
    };
    if (rc == 0)
        rc = mst_metrics_register(host, inst, metrics, sizeof metrics / sizeof metrics[0]);
    if (rc == 0)
        rc = vote_refusal_metrics(v);
    if (rc == 0)
        rc = vote_routes(v);
    if (rc == 0)
        rc = vote_pages(v, why, sizeof why);
    if (rc != 0) {
        host->log(inst, MST_LOG_ERROR, "%s", why[0] ? why : mst_strerror(rc));
        vote_fini(v);
        *state = NULL;
        return rc;
    }
    return 0;
}

static int vote_start(void *state)
{
    struct vote *v = state;
    vote_clock(v); /* dates already passed, and counting cut short by a restart */
    return v->host->timer_start(v->inst, 1000, 1000, vote_clock, v, &v->clock);
}

static void vote_stop(void *state)
{
    struct vote *v = state;
    v->stopping = 1;
}

static void vote_fini(void *state)
{
    struct vote *v = state;
    if (!v)
        return;
    vote_cast_free(v);
    vote_budgets_free(v);
    sqlite3_close(v->ballot_db);
    sqlite3_close(v->db);
    free(v);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "voting",
    .version = "0.1.0",
    .description = "participatory budgeting: proposals, review, secret ballots, counting, recountable results",
    .config = config,
    .publishes = publishes,
    .init = vote_init,
    .start = vote_start,
    .stop = vote_stop,
    .fini = vote_fini,
    .check = vote_config_check,
};
