/*
 * cast.c - a ballot cast: one voter, one ballot, in one transaction.
 *
 * The voter's row is claimed by `UPDATE voter SET voted = 1 WHERE ... AND
 * voted = 0` and the ballot inserted in the same transaction, so a code is
 * spent exactly once whatever arrives at the same time; a replacement
 * deletes the old ballot (found by its receipt and the code together) in
 * that transaction too, so a voter's ballot is never counted twice.
 *
 * What the ballot row holds links it to no one: a random 128-bit key (the
 * WITHOUT ROWID table keeps rows in key order, not arrival order), the
 * sealed ballot, H(receipt), and H(code hash || receipt), which only the
 * holder of both can recompute.  The running hash chain keeps only its
 * head and length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "voting.h"

/* Claims the voter's one ballot; HTTP status and why on refusal. */
static int claim(struct vote *v, struct vote_budget *b, const char *voter_key, char *why, size_t whylen)
{
    const char *p[] = {b->id, voter_key};
    if (vote_db_exec(v->db, "UPDATE voter SET voted = 1 WHERE budget = ? AND code_hash = ? AND voted = 0", 2, p))
        return 500;
    if (sqlite3_changes(v->db) == 1)
        return 0;
    char *known = vote_db_text(v->db, "SELECT voted FROM voter WHERE budget = ? AND code_hash = ?", 2, p);
    int status = known ? 409 : 403;
    if (!known) {
        vote_refuse(v, VOTE_R_UNKNOWN_CODE, "a code budget %s does not know", b->id);
        snprintf(why, whylen, "this code is not a voting code of budget \"%s\"", b->id);
    } else {
        vote_refuse(v, VOTE_R_USED_CODE, "a code of budget %s that has already voted", b->id);
        snprintf(why, whylen, "this code has already voted%s", b->rules.replace
                                                               ? "; to replace that ballot, send your receipt too"
                                                               : "");
    }
    free(known);
    return status;
}

static void tag_of(const char *voter_key, const char *receipt, char out[65])
{
    char *both = malloc(strlen(voter_key) + strlen(receipt) + 2);
    if (!both) {
        memset(out, '0', 64), out[64] = '\0';
        return;
    }
    sprintf(both, "%s:%s", voter_key, receipt);
    vote_hash_hex(both, out);
    free(both);
}

/* Deletes the ballot the voter's old receipt names; status and why. */
static int unseat(struct vote *v, struct vote_budget *b, const char *voter_key, const char *typed, char *why,
                  size_t whylen)
{
    char receipt[32], rh[65], tag[65];
    if (vote_receipt_normalise(typed, receipt, sizeof receipt) != 0) {
        vote_refuse(v, VOTE_R_RECEIPT, "a receipt that is not one");
        snprintf(why, whylen, "\"receipt\" is not a receipt (25 symbols, e.g. ABCDE-FGHJK-MNPQR-STVWX-YZ012)");
        return 400;
    }
    vote_hash_hex(receipt, rh);
    tag_of(voter_key, receipt, tag);
    const char *p[] = {b->id, rh, tag};
    if (vote_db_exec(v->db, "DELETE FROM ballot WHERE budget = ? AND receipt_hash = ? AND replace_tag = ?", 3, p))
        return 500;
    if (sqlite3_changes(v->db) == 1)
        return 0;
    vote_refuse(v, VOTE_R_RECEIPT, "a replacement whose receipt names no ballot of its code");
    snprintf(why, whylen, "this receipt does not name a ballot cast with this code");
    return 403;
}

/* The ballot row and the chain's next link. */
static int seal_and_chain(struct vote *v, struct vote_budget *b, const char *voter_key, const struct vote_choice *c,
                          size_t n, char receipt_out[VOTE_RECEIPT_LEN + 1])
{
    char receipt[32], rh[65], tag[65], hex[65];
    unsigned char key[16], prev[32], next[32];
    if (vote_receipt_new(receipt_out) != 0 || getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
        return 500;
    vote_receipt_normalise(receipt_out, receipt, sizeof receipt);
    vote_hash_hex(receipt, rh);
    tag_of(voter_key, receipt, tag);
    char *sealed = vote_ballot_seal(rh, c, n, b->rules.type == VOTE_CUMULATIVE);
    sqlite3_stmt *st = NULL;
    int rc = 500;
    if (!sealed || sqlite3_prepare_v2(v->db, "INSERT INTO ballot(key, budget, sealed, receipt_hash, replace_tag) "
                                      "VALUES (?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_blob(st, 1, key, sizeof key, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sealed, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, rh, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, tag, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto out;
    const char *p[] = {b->id};
    char *head = vote_db_text(v->db, "SELECT head FROM chain WHERE budget = ?", 1, p);
    vote_chain_start(b->id, prev);
    for (size_t i = 0; head && i < 32; i++) /* our own hex, written below */
        sscanf(head + 2 * i, "%2hhx", &prev[i]);
    free(head);
    vote_chain_next(prev, sealed, strlen(sealed), next);
    vote_hex(next, 32, hex);
    const char *q[] = {b->id, hex};
    if (vote_db_exec(v->db, "INSERT INTO chain(budget, length, head) VALUES (?1, 1, ?2) ON CONFLICT(budget) "
                     "DO UPDATE SET length = length + 1, head = ?2", 2, q) == 0)
        rc = 0;
out:
    sqlite3_finalize(st);
    free(sealed);
    return rc;
}

int vote_cast(struct vote *v, struct vote_budget *b, const char *voter_key, const char *replace_receipt,
              const struct vote_choice *c, size_t n, char receipt_out[VOTE_RECEIPT_LEN + 1], char *why,
              size_t whylen)
{
    if (vote_db_begin(v->db) != 0) {
        snprintf(why, whylen, "the ballot box is busy; try again");
        return 503;
    }
    int status = replace_receipt ? unseat(v, b, voter_key, replace_receipt, why, whylen)
                                 : claim(v, b, voter_key, why, whylen);
    if (status == 0)
        status = seal_and_chain(v, b, voter_key, c, n, receipt_out);
    /* paper entries still waiting for this code would link it to a ballot */
    const char *p[] = {b->id, voter_key};
    if (status == 0 && vote_db_exec(v->db, "DELETE FROM paper WHERE budget = ? AND code_hash = ?", 2, p) != 0)
        status = 500;
    if (status == 500)
        snprintf(why, whylen, "the ballot could not be stored; it was not counted, try again");
    if (vote_db_end(v->db, status == 0 ? 0 : MST_EDB) != 0 && status == 0) {
        snprintf(why, whylen, "the ballot could not be stored; it was not counted, try again");
        status = 500;
    }
    if (status == 0) {
        v->host->metric_add(v->cast, 1);
        if (replace_receipt)
            v->host->metric_add(v->replaced, 1);
    }
    return status;
}

int vote_ballot_from_request(struct vote *v, struct vote_budget *b, const cJSON *body, struct vote_choice **c,
                             size_t *n, char *why, size_t whylen)
{
    cJSON *projects = vote_projects(v->db, b->id);
    size_t np = projects ? (size_t)cJSON_GetArraySize(projects) : 0;
    struct vote_project_ref *refs = calloc(np + 1, sizeof *refs);
    int rc = MST_ENOMEM;
    if (projects && refs) {
        size_t i = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, projects) {
            refs[i].id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "id"));
            refs[i++].cost = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "cost"));
        }
        rc = vote_ballot_read(body, &b->rules, refs, np, c, n, why, whylen);
    }
    if (rc == MST_ENOMEM)
        snprintf(why, whylen, "out of memory");
    free(refs);
    cJSON_Delete(projects);
    return rc;
}

/* Who is voting: the hash of their code, or what the identity hook says. */
static int voter_of(struct vote *v, struct vote_budget *b, const cJSON *body, char key[65], char *why,
                    size_t whylen)
{
    if (b->eligibility == VOTE_BY_LUA)
        return vote_identity_check(v, b, cJSON_GetObjectItemCaseSensitive(body, "credentials"), key, why, whylen);
    char code[32];
    if (vote_code_normalise(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "code")), code,
                            sizeof code) != 0) {
        vote_refuse(v, VOTE_R_UNKNOWN_CODE, "a code mistyped or missing");
        snprintf(why, whylen, "\"code\" is not a voting code: 25 symbols as on your letter "
                 "(XXXXX-XXXXX-XXXXX-XXXXX-XXXXX); check it for a typing mistake");
        return 400;
    }
    vote_hash_hex(code, key);
    return 0;
}

/* The common path of online and paper ballots (paper.c): identified voter,
 * checked ballot, cast.  Answers the request. */
void vote_cast_request(struct vote *v, struct vote_budget *b, const cJSON *body, const char *voter_key,
                       const struct vote_choice *c, size_t n, mst_http_request *req)
{
    char why[300] = "", receipt[VOTE_RECEIPT_LEN + 1];
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(body, "receipt");
    if (old && !b->rules.replace) {
        vote_refuse(v, VOTE_R_RECEIPT, "a replacement in budget %s, which does not allow them", b->id);
        vote_respond_error(v, req, 409, "budget \"%s\" does not allow a ballot to be replaced", b->id);
        return;
    }
    if (old && !cJSON_IsString(old)) {
        vote_respond_error(v, req, 400, "\"receipt\" must be the receipt text");
        return;
    }
    int status = vote_cast(v, b, voter_key, old ? old->valuestring : NULL, c, n, receipt, why, sizeof why);
    if (status != 0) {
        vote_respond_error(v, req, status, "%s", why);
        return;
    }
    char canonical[32], rh[65];
    vote_receipt_normalise(receipt, canonical, sizeof canonical);
    vote_hash_hex(canonical, rh);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "receipt", receipt);
    cJSON_AddStringToObject(out, "receipt_hash", rh);
    cJSON_AddBoolToObject(out, "replaced", old != NULL);
    cJSON_AddStringToObject(out, "note", "keep the receipt: after counting, find SHA-256 of it (receipt_hash) in "
                            "the published ballot list; do not show it to anyone");
    vote_respond_json(v, req, 201, out);
}

int vote_voting_open(struct vote *v, struct vote_budget *b, mst_http_request *req)
{
    if (b->phase == VOTE_VOTING)
        return 1;
    vote_refuse(v, VOTE_R_PHASE, "a ballot outside voting (budget %s in %s)", b->id, vote_phase_name(b->phase));
    vote_respond_error(v, req, 409, "budget \"%s\" is in its %s phase: ballots are taken only while voting is open",
                       b->id, vote_phase_name(b->phase));
    return 0;
}

void vote_ballots_post(struct vote *v, struct vote_budget *b, mst_http_request *req)
{
    if (!vote_voting_open(v, b, req))
        return;
    cJSON *body = vote_body_json(v, req);
    if (!body)
        return;
    char key[65], why[300] = "";
    struct vote_choice *c = NULL;
    size_t n = 0;
    int status = voter_of(v, b, body, key, why, sizeof why);
    if (status == 0 && vote_ballot_from_request(v, b, body, &c, &n, why, sizeof why) != 0) {
        vote_refuse(v, VOTE_R_BALLOT, "a ballot: %s", why);
        status = 400;
    }
    if (status != 0)
        vote_respond_error(v, req, status, "%s", why);
    else
        vote_cast_request(v, b, body, key, c, n, req);
    free(c);
    cJSON_Delete(body);
}
