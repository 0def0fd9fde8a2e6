/*
 * paper.c - paper ballots, entered twice.
 *
 * A clerk types a paper ballot with the code printed on it; a second clerk,
 * with another operator token, types it again.  Only when the two entries
 * agree is the ballot cast (cast.c, the same path as online, so the code is
 * spent exactly once); when they differ, neither counts, the disagreement is
 * answered and counted, and the entries stay until an operator discards
 * them ({"code", "discard": true}) and the ballot is entered twice again.
 * A clerk is told apart by SHA-256 of their bearer token; pending entries
 * (which do link a code to a ballot) are deleted as soon as the ballot is
 * cast or discarded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voting.h"

static void clerk_of(struct vote *v, mst_http_request *req, char out[65])
{
    const char *auth = v->host->http_header(req, "Authorization");
    vote_hash_hex(auth ? auth : "", out);
}

/* The entries waiting for this code: how many, and whether one is this
 * clerk's, and whether one other says the same as `entry`. */
struct pending {
    int n, mine, agrees;
};

static int pending_of(struct vote *v, struct vote_budget *b, const char *code_hash, const char *clerk,
                      const char *entry, struct pending *p)
{
    sqlite3_stmt *st = NULL;
    memset(p, 0, sizeof *p);
    if (sqlite3_prepare_v2(v->db, "SELECT clerk, ballot FROM paper WHERE budget = ? AND code_hash = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, code_hash, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        p->n++;
        if (strcmp((const char *)sqlite3_column_text(st, 0), clerk) == 0)
            p->mine = 1;
        else if (strcmp((const char *)sqlite3_column_text(st, 1), entry) == 0)
            p->agrees = 1;
    }
    sqlite3_finalize(st);
    return 0;
}

static void answer(struct vote *v, mst_http_request *req, int status, const char *state, const char *msg)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "paper", state);
    cJSON_AddStringToObject(out, status >= 400 ? "error" : "message", msg);
    if (status >= 400)
        cJSON_AddNumberToObject(out, "status", status);
    vote_respond_json(v, req, status, out);
}

static void discard(struct vote *v, struct vote_budget *b, const char *code_hash, mst_http_request *req)
{
    const char *p[] = {b->id, code_hash};
    if (vote_db_exec(v->db, "DELETE FROM paper WHERE budget = ? AND code_hash = ?", 2, p) != 0)
        vote_respond_error(v, req, 500, "the entries could not be discarded");
    else
        answer(v, req, 200, "discarded", "the entries of this code are discarded: enter the ballot twice again");
}

/* A second entry: cast when it agrees, else a disagreement kept. */
static void second(struct vote *v, struct vote_budget *b, const cJSON *body, const char *code_hash,
                   const char *clerk, const char *entry, const struct pending *p, const struct vote_choice *c,
                   size_t n, mst_http_request *req)
{
    const char *k[] = {b->id, code_hash, clerk, entry};
    if (!p->agrees) {
        vote_db_exec(v->db, "INSERT OR REPLACE INTO paper(budget, code_hash, clerk, ballot) VALUES (?, ?, ?, ?)", 4, k);
        v->host->metric_add(v->paper_disagreed, 1);
        answer(v, req, 409, "disagreement", "the two entries of this paper ballot differ: neither counts; check "
               "the paper, discard the entries ({\"code\", \"discard\": true}) and enter it twice again");
        return;
    }
    vote_cast_request(v, b, body, code_hash, c, n, req); /* its commit deletes the entries */
}

void vote_paper_post(struct vote *v, struct vote_budget *b, mst_http_request *req)
{
    if (!vote_voting_open(v, b, req))
        return;
    cJSON *body = vote_body_json(v, req);
    if (!body)
        return;
    char code[32], code_hash[65], clerk[65], why[300] = "";
    struct vote_choice *c = NULL;
    size_t n = 0;
    char *entry = NULL;
    struct pending p;
    const char *hp[2] = {b->id, code_hash};
    char *voted = NULL;
    if (b->eligibility != VOTE_BY_CODE ||
        vote_code_normalise(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "code")), code,
                            sizeof code) != 0) {
        vote_refuse(v, VOTE_R_UNKNOWN_CODE, "a paper ballot without a valid code");
        vote_respond_error(v, req, 400, "a paper ballot carries the voter's code (\"code\"), as printed");
        goto out;
    }
    vote_hash_hex(code, code_hash);
    clerk_of(v, req, clerk);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "discard"))) {
        discard(v, b, code_hash, req);
        goto out;
    }
    voted = vote_db_text(v->db, "SELECT voted FROM voter WHERE budget = ? AND code_hash = ?", 2, hp);
    if (!voted || strcmp(voted, "0") != 0) {
        vote_refuse(v, voted ? VOTE_R_USED_CODE : VOTE_R_UNKNOWN_CODE, "a paper ballot with an %s code",
                    voted ? "used" : "unknown");
        vote_respond_error(v, req, voted ? 409 : 403, voted ? "this code has already voted"
                                                            : "this code is not a voting code of this budget");
        goto out;
    }
    if (vote_ballot_from_request(v, b, body, &c, &n, why, sizeof why) != 0) {
        vote_refuse(v, VOTE_R_BALLOT, "a paper ballot: %s", why);
        vote_respond_error(v, req, 400, "%s", why);
        goto out;
    }
    entry = vote_ballot_seal("paper", c, n, 1); /* projects and points: all the paper says */
    if (!entry || pending_of(v, b, code_hash, clerk, entry, &p) != 0) {
        vote_respond_error(v, req, 500, "the paper ballot could not be read back");
    } else if (p.n >= 2) {
        answer(v, req, 409, "disagreement", "this paper ballot's entries disagree: discard them first");
    } else if (p.mine) {
        answer(v, req, 409, "waiting", "you entered this paper ballot already: the second entry must come from "
               "another clerk (another operator token)");
    } else if (p.n == 1) {
        second(v, b, body, code_hash, clerk, entry, &p, c, n, req);
    } else {
        const char *k[] = {b->id, code_hash, clerk, entry};
        if (vote_db_exec(v->db, "INSERT INTO paper(budget, code_hash, clerk, ballot) VALUES (?, ?, ?, ?)", 4, k))
            vote_respond_error(v, req, 500, "the entry could not be saved");
        else
            answer(v, req, 202, "waiting", "first entry saved: it counts once a second clerk enters the same");
    }
out:
    free(voted);
    free(entry);
    free(c);
    cJSON_Delete(body);
}
