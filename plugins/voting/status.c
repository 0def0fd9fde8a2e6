/*
 * status.c - one budget as the clerk's pages need it (GET manage/<id>):
 * the public entry (with the dates its phases begin by themselves), where
 * its ballot rules are set and whether they are locked, how far the register
 * and its letters are, and how many paper ballots wait for a second clerk.
 *
 * Nothing here says how a project stands or how many ballots were cast in
 * this budget ("No live counts", docs/plugins/voting.md): the register's
 * figures are voters and codes made, never who or how many voted.
 */
#include <stdio.h>
#include <stdlib.h>

#include "voting.h"

/* Fills `out` with the first row's integer columns, named by keys; 0 or MST_EDB. */
static int counts(sqlite3 *db, const char *sql, const char *budget, cJSON *out, const char *const *keys, int n)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_text(st, 1, budget, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : MST_EDB;
    for (int i = 0; rc == 0 && i < n; i++)
        cJSON_AddNumberToObject(out, keys[i], (double)sqlite3_column_int64(st, i));
    sqlite3_finalize(st);
    return rc;
}

void vote_status_get(struct vote *v, struct vote_budget *b, cJSON *entry, mst_http_request *req)
{
    static const char *const register_keys[] = {"voters", "with_code"};
    static const char *const paper_keys[] = {"waiting", "disagreements"};
    char where[64];
    snprintf(where, sizeof where, "budgets[%zu]", (size_t)(b - v->budgets));
    cJSON_AddStringToObject(entry, "config_key", where);
    /* frozen when voting opens (budget.c); a config that differs is refused then */
    cJSON_AddBoolToObject(entry, "rules_locked", b->phase >= VOTE_VOTING);
    cJSON *reg = cJSON_AddObjectToObject(entry, "register"), *paper = cJSON_AddObjectToObject(entry, "paper");
    int rc = counts(v->db, "SELECT count(*), count(code_hash) FROM voter WHERE budget = ?", b->id, reg,
                    register_keys, 2);
    if (rc == 0)
        rc = counts(v->db, "SELECT coalesce(sum(n = 1), 0), coalesce(sum(n > 1), 0) FROM (SELECT count(*) AS n "
                    "FROM paper WHERE budget = ? GROUP BY code_hash)", b->id, paper, paper_keys, 2);
    if (rc != 0) {
        cJSON_Delete(entry);
        vote_respond_error(v, req, 500, "the register of budget \"%s\" could not be read", b->id);
        return;
    }
    vote_respond_json(v, req, 200, entry);
}
