/*
 * results.c - what is published once counting has ended, and only then:
 * the result with its explanation, the ballot list (pabulib .pb, each
 * ballot under SHA-256 of its receipt), the audit log (the hash chain over
 * the sealed ballots) and its head, a receipt check, and one voting/result
 * message per project for the bus and the open-data datasets.  Before the
 * results phase every one of these answers 409: no live counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voting.h"

/* The stored result's column, NULL if none. */
static char *stored(struct vote *v, const struct vote_budget *b, const char *column)
{
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT %s FROM result WHERE budget = ?", column);
    const char *p[] = {b->id};
    return vote_db_text(v->db, sql, 1, p);
}

static void receipt_get(struct vote *v, struct vote_budget *b, mst_http_request *req)
{
    const char *typed = v->host->http_query_param(req, "receipt");
    char receipt[32], rh[65];
    if (!typed || vote_receipt_normalise(typed, receipt, sizeof receipt) != 0) {
        vote_refuse(v, VOTE_R_RECEIPT, "a receipt check without a receipt");
        vote_respond_error(v, req, 400, "give ?receipt=XXXXX-XXXXX-XXXXX-XXXXX-XXXXX as you got it");
        return;
    }
    vote_hash_hex(receipt, rh);
    char *audit = stored(v, b, "audit");
    char *line = audit ? strstr(audit, rh) : NULL;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "receipt_hash", rh);
    cJSON_AddBoolToObject(out, "found", line != NULL);
    if (line) {
        char *end = strchr(line, '\n');
        cJSON_AddStringToObject(out, "sealed", end ? (*end = '\0', line) : line);
    }
    free(audit);
    vote_respond_json(v, req, line ? 200 : 404, out);
}

void vote_results_get(struct vote *v, struct vote_budget *b, const char *what, mst_http_request *req)
{
    static const char *const known[] = {"results", "ballots.pb", "audit", "receipt"};
    size_t k = 0;
    while (k < sizeof known / sizeof known[0] && strcmp(what, known[k]) != 0)
        k++;
    if (k == sizeof known / sizeof known[0]) {
        vote_respond_error(v, req, 404, "GET budgets/%s/%s: no such resource; there are proposals, results, "
                           "ballots.pb, audit, receipt", b->id, what);
        return;
    }
    if (b->phase != VOTE_RESULTS) {
        vote_respond_error(v, req, 409, "budget \"%s\" is in its %s phase: results, ballots and the audit log are "
                           "published once counting ends", b->id, vote_phase_name(b->phase));
        return;
    }
    if (k == 3) {
        receipt_get(v, b, req);
        return;
    }
    static const char *const column[] = {"result", "pb", "audit"};
    static const char *const type[] = {"application/json", "text/plain; charset=utf-8",
                                       "text/plain; charset=utf-8"};
    char *text = stored(v, b, column[k]);
    if (!text) {
        vote_respond_error(v, req, 500, "the results of budget \"%s\" could not be read", b->id);
        return;
    }
    if (k == 1) {
        char disposition[120];
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s.pb\"", b->id);
        v->host->http_set_header(req, "Content-Disposition", disposition);
    }
    vote_respond_text(v, req, type[k], text);
}

/* One voting/result message per project: what the open-data dataset of
 * results shows (projects, costs, votes, winners, why; never voters). */
void vote_results_publish(struct vote *v, struct vote_budget *b)
{
    char *text = stored(v, b, "result");
    cJSON *result = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *projects = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(result, "explanation"), "projects");
    const cJSON *p;
    size_t failed = 0;
    cJSON_ArrayForEach(p, projects) {
        static const char *const keys[] = {"id", "name", "cost", "votes", "effective_support", "selected",
                                           "reason", "why", "rank"};
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "budget", b->id);
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const cJSON *value = cJSON_GetObjectItemCaseSensitive(p, keys[k]);
            if (value)
                cJSON_AddItemToObject(row, k == 0 ? "project" : keys[k], cJSON_Duplicate(value, 1));
        }
        const cJSON *greedy = cJSON_GetObjectItemCaseSensitive(p, "greedy");
        cJSON_AddBoolToObject(row, "selected_by_greedy",
                              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(greedy, "selected")));
        char *body = cJSON_PrintUnformatted(row);
        cJSON_Delete(row);
        if (!body || v->host->publish(v->inst, "voting/result", body, strlen(body)) != 0)
            failed++;
        cJSON_free(body);
    }
    if (!result || failed)
        v->host->log(v->inst, MST_LOG_ERROR, "budget %s: %s voting/result message(s) not published", b->id,
                     result ? "some" : "the");
    cJSON_Delete(result);
}
