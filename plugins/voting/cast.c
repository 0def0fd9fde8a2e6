/*
 * cast.c - ballots cast: one voter, one ballot, committed durably before the
 * voter gets a receipt.
 *
 * A checked ballot waits in a queue; one worker at a time commits the whole
 * queue in one transaction on its own connection with synchronous=FULL (one
 * fsync per batch, off the loop), each ballot in a savepoint of its own so a
 * refused one does not undo the others; then the loop answers each request.
 * A voter's row is claimed by `UPDATE voter SET voted = 1 WHERE ... AND
 * voted = 0` in the ballot's savepoint, so a code is spent exactly once
 * whatever arrives at the same time; a replacement deletes the old ballot
 * (found by its receipt and the code together) there too, so a voter's
 * ballot is never counted twice.
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

/* A ballot waiting for the worker, and what the worker made of it. */
struct vote_pending {
    struct vote_pending *next;
    struct vote_budget *b;
    mst_http_request *req;
    char voter_key[65];
    char *old_receipt; /* a replacement: the receipt of the ballot it replaces */
    struct vote_choice *c;
    size_t n;
    int status;  /* 0: cast; else the HTTP status of the refusal */
    int refusal; /* an enum vote_refusal to count, or -1 */
    char why[300];
    char receipt[VOTE_RECEIPT_LEN + 1];
};

static int refuse(struct vote_pending *p, int status, enum vote_refusal r, const char *why)
{
    p->refusal = (int)r;
    snprintf(p->why, sizeof p->why, "%s", why);
    return status;
}

/* Claims the voter's one ballot; an HTTP status on refusal.  Worker. */
static int claim(sqlite3 *db, struct vote_pending *p)
{
    const char *k[] = {p->b->id, p->voter_key};
    if (vote_db_exec(db, "UPDATE voter SET voted = 1 WHERE budget = ? AND code_hash = ? AND voted = 0", 2, k))
        return 500;
    if (sqlite3_changes(db) == 1)
        return 0;
    char *known = vote_db_text(db, "SELECT voted FROM voter WHERE budget = ? AND code_hash = ?", 2, k);
    int status = known ? 409 : 403;
    free(known);
    if (status == 403)
        return refuse(p, 403, VOTE_R_UNKNOWN_CODE, "this code is not a voting code of this budget");
    return refuse(p, 409, VOTE_R_USED_CODE, p->b->rules.replace
                                                ? "this code has already voted; to replace that ballot, send your "
                                                  "receipt too"
                                                : "this code has already voted");
}

static void tag_of(const char *voter_key, const char *receipt, char out[65])
{
    char both[65 + 32 + 2];
    snprintf(both, sizeof both, "%s:%s", voter_key, receipt);
    vote_hash_hex(both, out);
}

/* Deletes the ballot the voter's old receipt names; a status on refusal. */
static int unseat(sqlite3 *db, struct vote_pending *p)
{
    char receipt[32], rh[65], tag[65];
    if (vote_receipt_normalise(p->old_receipt, receipt, sizeof receipt) != 0)
        return refuse(p, 400, VOTE_R_RECEIPT, "\"receipt\" is not a receipt (25 symbols, e.g. "
                      "ABCDE-FGHJK-MNPQR-STVWX-YZ012)");
    vote_hash_hex(receipt, rh);
    tag_of(p->voter_key, receipt, tag);
    const char *k[] = {p->b->id, rh, tag};
    if (vote_db_exec(db, "DELETE FROM ballot WHERE budget = ? AND receipt_hash = ? AND replace_tag = ?", 3, k))
        return 500;
    if (sqlite3_changes(db) == 1)
        return 0;
    return refuse(p, 403, VOTE_R_RECEIPT, "this receipt does not name a ballot cast with this code");
}

/* The ballot row and the chain's next link. */
static int seal_and_chain(sqlite3 *db, struct vote_pending *p)
{
    char receipt[32], rh[65], tag[65], hex[65];
    unsigned char key[16], prev[32], next[32];
    if (vote_receipt_new(p->receipt) != 0 || getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
        return 500;
    vote_receipt_normalise(p->receipt, receipt, sizeof receipt);
    vote_hash_hex(receipt, rh);
    tag_of(p->voter_key, receipt, tag);
    char *sealed = vote_ballot_seal(rh, p->c, p->n, p->b->rules.type == VOTE_CUMULATIVE);
    sqlite3_stmt *st = NULL;
    int rc = 500;
    if (!sealed || sqlite3_prepare_v2(db, "INSERT INTO ballot(key, budget, sealed, receipt_hash, replace_tag) "
                                      "VALUES (?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_blob(st, 1, key, sizeof key, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->b->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sealed, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, rh, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, tag, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto out;
    const char *k[] = {p->b->id};
    char *head = vote_db_text(db, "SELECT head FROM chain WHERE budget = ?", 1, k);
    vote_chain_start(p->b->id, prev);
    for (size_t i = 0; head && i < 32; i++) /* our own hex, written below */
        sscanf(head + 2 * i, "%2hhx", &prev[i]);
    free(head);
    vote_chain_next(prev, sealed, strlen(sealed), next);
    vote_hex(next, 32, hex);
    const char *q[] = {p->b->id, hex};
    /* paper entries still waiting for this code would link it to a ballot */
    const char *r[] = {p->b->id, p->voter_key};
    if (vote_db_exec(db, "INSERT INTO chain(budget, length, head) VALUES (?1, 1, ?2) ON CONFLICT(budget) "
                     "DO UPDATE SET length = length + 1, head = ?2", 2, q) == 0 &&
        vote_db_exec(db, "DELETE FROM paper WHERE budget = ? AND code_hash = ?", 2, r) == 0)
        rc = 0;
out:
    sqlite3_finalize(st);
    free(sealed);
    return rc;
}

/* Voting may have closed while the ballot waited: the phase is written in
 * this database, by a writer that waits for a batch being committed, so a
 * ballot is either committed before counting reads the ballots or refused. */
static int still_open(sqlite3 *db, struct vote_pending *p)
{
    const char *k[] = {p->b->id};
    char *phase = vote_db_text(db, "SELECT phase FROM budget WHERE budget = ?", 1, k);
    int open = phase && atoi(phase) == VOTE_VOTING;
    free(phase);
    return open ? 0 : refuse(p, 409, VOTE_R_PHASE, "voting closed before this ballot was stored: it was not counted");
}

/* One ballot in its own savepoint: a refusal undoes it alone. */
static void cast_one(sqlite3 *db, struct vote_pending *p)
{
    p->refusal = -1;
    if (sqlite3_exec(db, "SAVEPOINT ballot", NULL, NULL, NULL) != SQLITE_OK) {
        p->status = 500;
        return;
    }
    p->status = still_open(db, p);
    if (p->status == 0)
        p->status = p->old_receipt ? unseat(db, p) : claim(db, p);
    if (p->status == 0)
        p->status = seal_and_chain(db, p);
    if (p->status != 0)
        sqlite3_exec(db, "ROLLBACK TO ballot", NULL, NULL, NULL);
    sqlite3_exec(db, "RELEASE ballot", NULL, NULL, NULL);
}

/* The worker: the whole batch in one transaction, one fsync. */
static void commit_work(void *arg)
{
    struct vote *v = arg;
    int rc = vote_db_begin(v->ballot_db);
    for (struct vote_pending *p = v->committing; rc == 0 && p; p = p->next)
        cast_one(v->ballot_db, p);
    if (rc == 0)
        rc = vote_db_end(v->ballot_db, 0);
    /* The write-ahead log holds each transaction's pages together, the
     * voter's "has voted" beside their ballot: moved into the database
     * (where each sits in its own page, in key order) and the log emptied
     * at once, so no copy of the -wal file links a voter to a ballot.  A
     * reader in the way makes it partial; the next batch tries again. */
    if (rc == 0)
        sqlite3_wal_checkpoint_v2(v->ballot_db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    for (struct vote_pending *p = v->committing; rc != 0 && p; p = p->next) {
        p->status = 503;
        p->refusal = -1;
        snprintf(p->why, sizeof p->why, "the ballot could not be stored; it was not counted, try again");
    }
}

static void pending_free(struct vote_pending *p)
{
    while (p) {
        struct vote_pending *next = p->next;
        free(p->old_receipt);
        free(p->c);
        free(p);
        p = next;
    }
}

static void answer(struct vote *v, struct vote_pending *p)
{
    if (p->status != 0) {
        if (p->status == 500)
            snprintf(p->why, sizeof p->why, "the ballot could not be stored; it was not counted, try again");
        if (p->refusal >= 0)
            vote_refuse(v, (enum vote_refusal)p->refusal, "a ballot of budget %s: %s", p->b->id, p->why);
        vote_respond_error(v, p->req, p->status, "%s", p->why);
        return;
    }
    v->host->metric_add(v->cast, 1);
    if (p->old_receipt)
        v->host->metric_add(v->replaced, 1);
    char canonical[32], rh[65];
    vote_receipt_normalise(p->receipt, canonical, sizeof canonical);
    vote_hash_hex(canonical, rh);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "receipt", p->receipt);
    cJSON_AddStringToObject(out, "receipt_hash", rh);
    cJSON_AddBoolToObject(out, "replaced", p->old_receipt != NULL);
    cJSON_AddStringToObject(out, "note", "keep the receipt: after counting, find SHA-256 of it (receipt_hash) in "
                            "the published ballot list; do not show it to anyone");
    vote_respond_json(v, p->req, 201, out);
}

static void commit_next(struct vote *v);

static void commit_done(void *arg, int status)
{
    struct vote *v = arg;
    /* stopping: the core has answered the instance's open requests (503) */
    for (struct vote_pending *p = v->committing; status == 0 && !v->stopping && p; p = p->next)
        answer(v, p);
    pending_free(v->committing);
    v->committing = NULL;
    if (status == 0 && !v->stopping)
        commit_next(v);
}

static void commit_next(struct vote *v)
{
    if (v->committing || !v->queue)
        return;
    v->committing = v->queue;
    v->queue = NULL;
    v->queue_tail = &v->queue;
    v->queued = 0;
    if (v->host->queue_work(v->inst, commit_work, commit_done, v) != 0) {
        for (struct vote_pending *p = v->committing; p; p = p->next)
            vote_respond_error(v, p->req, 503, "the ballot box is busy; the ballot was not counted, try again");
        pending_free(v->committing);
        v->committing = NULL;
    }
}

void vote_cast_free(struct vote *v)
{
    pending_free(v->queue);
    pending_free(v->committing);
    v->queue = v->committing = NULL;
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

/* The common path of online and paper ballots (paper.c): an identified
 * voter's checked ballot joins the queue; answered once committed. */
void vote_cast_request(struct vote *v, struct vote_budget *b, const cJSON *body, const char *voter_key,
                       const struct vote_choice *c, size_t n, mst_http_request *req)
{
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
    if (v->queued >= VOTE_MAX_QUEUED) {
        vote_refuse(v, VOTE_R_BUSY, "a ballot while %d wait for the disk", VOTE_MAX_QUEUED);
        vote_respond_error(v, req, 503, "the ballot box is busy: the ballot was not counted, try again in a moment");
        return;
    }
    struct vote_pending *p = calloc(1, sizeof *p);
    if (p && (p->c = malloc((n + 1) * sizeof *c)) && (!old || (p->old_receipt = strdup(old->valuestring)))) {
        p->b = b;
        p->req = req;
        snprintf(p->voter_key, sizeof p->voter_key, "%s", voter_key);
        memcpy(p->c, c, n * sizeof *c);
        p->n = n;
        *v->queue_tail = p;
        v->queue_tail = &p->next;
        v->queued++;
        commit_next(v);
        return;
    }
    pending_free(p);
    vote_respond_error(v, req, 500, "out of memory; the ballot was not counted");
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
    if (b->eligibility == VOTE_BY_HTTP) { /* the ballot first, then the web service */
        if (vote_ballot_from_request(v, b, body, &c, &n, why, sizeof why) == 0) {
            vote_identity_http(v, b, body, c, n, req);
            return;
        }
        vote_refuse(v, VOTE_R_BALLOT, "a ballot: %s", why);
        vote_respond_error(v, req, 400, "%s", why);
        cJSON_Delete(body);
        return;
    }
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
