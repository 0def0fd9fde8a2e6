/*
 * count.c - counting a budget once voting has closed.
 *
 * On a worker, with its own read-only connection (voting is closed, so
 * nothing writes meanwhile): the feasible projects and the sealed ballots
 * (in key order, which is random, never arrival order) become a pabulib
 * election, the published hash chain is computed over the ballots in that
 * same order, the rules library counts it with the budget's rule and with
 * greedy beside it (vote_explain), and the .pb file is written.  Back on
 * the loop: result, ballot list, audit log and chain head are stored in one
 * statement and the budget moves to results.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "pb.h"
#include "rules.h"
#include "voting.h"

struct count_job {
    struct vote *v;
    struct vote_budget *b;
    char *path;        /* the database file, opened read-only by the worker */
    char *unit;        /* the node's name, for META */
    sqlite3 *db;
    struct pb_election e;
    struct vote_options o;
    char *audit;       /* the published audit log */
    char head[65];
    size_t n_ballots;
    cJSON *explanation; /* worker's output */
    char *pb;
    char err[256];
    int rc;
};

static int add_projects(sqlite3 *db, const struct vote_budget *b, struct pb_election *e)
{
    cJSON *projects = vote_projects(db, b->id);
    const cJSON *p;
    int rc = projects ? 0 : MST_EDB;
    cJSON_ArrayForEach(p, projects) {
        char id[24];
        snprintf(id, sizeof id, "%.0f", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "id")));
        rc = pb_project_add(e, id, (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "cost")),
                            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "title")));
        if (rc != 0)
            break;
    }
    cJSON_Delete(projects);
    return rc;
}

/* A sealed line "<receipt hash>;<ids>[;<points>]" (ballot.c wrote it) into
 * e's ballots. */
static int add_sealed(struct pb_election *e, const char *sealed, int cumulative)
{
    size_t most = 1;
    for (const char *c = sealed; *c; c++)
        most += *c == ',';
    char *copy = strdup(sealed), *save = NULL, *sv = NULL;
    uint32_t *idx = malloc(most * sizeof *idx), n = 0, np = 0;
    int64_t *pts = malloc(most * sizeof *pts);
    int rc = copy && idx && pts ? 0 : MST_ENOMEM;
    char *rh = rc ? NULL : strtok_r(copy, ";", &save), *ids = rh ? strtok_r(NULL, ";", &save) : NULL;
    char *points = ids ? strtok_r(NULL, ";", &save) : NULL;
    if (rc == 0 && !rh)
        rc = MST_EINVAL;
    for (char *tok = ids ? strtok_r(ids, ",", &sv) : NULL; rc == 0 && tok; tok = strtok_r(NULL, ",", &sv)) {
        long i = pb_project_find(e, tok);
        if (i < 0)
            rc = MST_EINVAL;
        else
            idx[n++] = (uint32_t)i;
    }
    for (char *tok = points ? strtok_r(points, ",", &sv) : NULL; rc == 0 && tok; tok = strtok_r(NULL, ",", &sv))
        pts[np++] = strtoll(tok, NULL, 10);
    if (rc == 0 && cumulative && np != n)
        rc = MST_EINVAL;
    if (rc == 0)
        rc = pb_ballot_add(e, rh, idx, cumulative ? pts : NULL, n);
    free(copy);
    free(idx);
    free(pts);
    return rc;
}

static int meta(struct count_job *j)
{
    struct pb_election *e = &j->e;
    const struct vote_budget *b = j->b;
    char n[24];
    snprintf(n, sizeof n, "%zu", j->n_ballots);
    int rc = pb_meta_set(e, "description", b->name[0] ? b->name : b->id);
    if (rc == 0)
        rc = pb_meta_set(e, "unit", j->unit);
    if (rc == 0 && b->district[0])
        rc = pb_meta_set(e, "district", b->district);
    if (rc == 0)
        rc = pb_meta_set(e, "instance", b->id);
    if (rc == 0)
        rc = pb_meta_set(e, "currency", b->currency);
    if (rc == 0)
        rc = pb_meta_set(e, "num_votes", n);
    if (rc == 0)
        rc = pb_meta_set(e, "rule", b->rules.rule);
    /* the ballot's limits under pabulib's own META keys, for other tools */
    const struct vote_rules *r = &b->rules;
    const struct {
        const char *key;
        double value;
        int set;
    } limits[] = {
        {"num_projects", (double)e->n_projects, 1},
        {"min_length", (double)r->min_projects, r->min_projects > 0},
        {"max_length", (double)r->max_projects, r->max_projects > 0},
        {"max_sum_cost", r->amount, r->type == VOTE_KNAPSACK},
        {"min_sum_cost", ceil(r->min_share * r->amount), r->type == VOTE_KNAPSACK && r->min_share > 0},
        {"max_sum_points", (double)r->points, r->type == VOTE_CUMULATIVE},
        {"max_points", (double)r->max_points, r->type == VOTE_CUMULATIVE && r->max_points > 0},
    };
    for (size_t i = 0; rc == 0 && i < sizeof limits / sizeof limits[0]; i++) {
        char value[32];
        snprintf(value, sizeof value, "%.0f", limits[i].value);
        if (limits[i].set)
            rc = pb_meta_set(e, limits[i].key, value);
    }
    return rc;
}

/* The election and the published chain, from the database. */
static int load(struct count_job *j)
{
    struct vote_budget *b = j->b;
    int cumulative = b->rules.type == VOTE_CUMULATIVE;
    int rc = pb_election_init(&j->e, (int64_t)b->rules.amount, cumulative ? PB_CUMULATIVE : PB_APPROVAL);
    if (rc == 0)
        rc = add_projects(j->db, b, &j->e);
    sqlite3_stmt *st = NULL;
    if (rc == 0 && sqlite3_prepare_v2(j->db, "SELECT sealed FROM ballot WHERE budget = ? ORDER BY key", -1, &st,
                                      NULL) != SQLITE_OK)
        rc = MST_EDB;
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
    unsigned char link[32];
    vote_chain_start(b->id, link);
    size_t len = 0, cap = 4096;
    j->audit = malloc(cap);
    if (!j->audit)
        rc = MST_ENOMEM;
    else
        len = (size_t)snprintf(j->audit, cap, "# mestys voting audit log 1\n# budget %s\n", b->id);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *sealed = (const char *)sqlite3_column_text(st, 0);
        size_t sl = strlen(sealed);
        vote_chain_next(link, sealed, sl, link);
        if (len + sl + 70 > cap) {
            char *bigger = realloc(j->audit, cap * 2 + sl);
            if (!bigger) {
                rc = MST_ENOMEM;
                break;
            }
            j->audit = bigger;
            cap = cap * 2 + sl;
        }
        vote_hex(link, 32, j->audit + len);
        len += 64;
        len += (size_t)snprintf(j->audit + len, cap - len, " %s\n", sealed);
        j->n_ballots++;
        rc = add_sealed(&j->e, sealed, cumulative);
    }
    sqlite3_finalize(st);
    vote_hex(link, 32, j->head);
    if (rc == 0)
        rc = meta(j);
    return rc;
}

static void count_work(void *arg)
{
    struct count_job *j = arg;
    if (sqlite3_open_v2(j->path, &j->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(j->err, sizeof j->err, "%s: %s", j->path, j->db ? sqlite3_errmsg(j->db) : "out of memory");
        j->rc = MST_EDB;
        return;
    }
    sqlite3_busy_timeout(j->db, 5000);
    j->rc = load(j);
    if (j->rc == 0)
        j->rc = vote_explain(&j->e, &j->o, &j->explanation, j->err, sizeof j->err);
    if (j->rc == 0 && !(j->pb = pb_write(&j->e, NULL)))
        j->rc = MST_ENOMEM;
}

static int store(struct count_job *j)
{
    struct vote *v = j->v;
    cJSON *result = cJSON_CreateObject();
    cJSON_AddStringToObject(result, "budget", j->b->id);
    cJSON_AddNumberToObject(result, "ballots", (double)j->n_ballots);
    cJSON_AddStringToObject(result, "chain_head", j->head);
    const char *p[] = {j->b->id};
    char *running = vote_db_text(v->db, "SELECT head || ' ' || length FROM chain WHERE budget = ?", 1, p);
    cJSON_AddStringToObject(result, "running_chain", running ? running : "");
    free(running);
    cJSON_AddItemToObject(result, "explanation", j->explanation);
    j->explanation = NULL;
    char *text = cJSON_PrintUnformatted(result);
    cJSON_Delete(result);
    const char *q[] = {j->b->id, text, j->pb, j->audit, j->head};
    int rc = text ? vote_db_exec(v->db, "INSERT OR REPLACE INTO result(budget, result, pb, audit, head) "
                                 "VALUES (?, ?, ?, ?, ?)", 5, q) : MST_ENOMEM;
    cJSON_free(text);
    return rc;
}

static void job_free(struct count_job *j)
{
    sqlite3_close(j->db);
    free(j->path);
    free(j->unit);
    pb_election_free(&j->e);
    cJSON_Delete(j->explanation);
    free(j->pb);
    free(j->audit);
    free(j);
}

static void count_done(void *arg, int status)
{
    struct count_job *j = arg;
    struct vote *v = j->v;
    struct vote_budget *b = j->b;
    b->counting_busy = 0;
    if (status != 0 || v->stopping) {
        job_free(j); /* counted again at the next start */
        return;
    }
    int rc = j->rc ? j->rc : store(j);
    if (rc != 0) {
        b->count_failed = 1; /* not retried every second: the operator reads the log */
        v->host->log(v->inst, MST_LOG_ERROR, "budget %s could not be counted: %s", b->id,
                     j->err[0] ? j->err : mst_strerror(rc));
        job_free(j);
        return;
    }
    v->host->metric_add(v->counted, 1);
    v->host->log(v->inst, MST_LOG_INFO, "budget %s counted: %zu ballots, chain head %s", b->id, j->n_ballots,
                 j->head);
    job_free(j);
    char why[256];
    const char *ph[] = {"4", b->id};
    if (vote_db_exec(v->db, "UPDATE budget SET phase = ? WHERE budget = ?", 2, ph) != 0) {
        snprintf(why, sizeof why, "the results phase could not be saved");
        v->host->log(v->inst, MST_LOG_ERROR, "budget %s: %s", b->id, why);
        return;
    }
    b->phase = VOTE_RESULTS;
    vote_phase_published(v, b);
    vote_results_publish(v, b);
}

int vote_count_start(struct vote *v, struct vote_budget *b)
{
    if (b->counting_busy || b->count_failed)
        return 0;
    struct count_job *j = calloc(1, sizeof *j);
    if (!j)
        return MST_ENOMEM;
    j->v = v;
    j->b = b;
    vote_options_of(b->rules.rule, b->rules.type, &j->o);
    const char *dir = v->host->state_dir(v->inst), *file = v->host->config_string(v->inst, "file");
    j->unit = strdup(v->host->node_name(v->inst));
    if ((j->path = malloc(strlen(dir) + strlen(file) + 2)))
        sprintf(j->path, "%s/%s", dir, file);
    int rc = j->unit && j->path ? v->host->queue_work(v->inst, count_work, count_done, j) : MST_ENOMEM;
    if (rc != 0) {
        b->count_failed = 1;
        v->host->log(v->inst, MST_LOG_ERROR, "budget %s could not be counted: %s", b->id, mst_strerror(rc));
        job_free(j);
        return rc;
    }
    b->counting_busy = 1;
    return 0;
}
