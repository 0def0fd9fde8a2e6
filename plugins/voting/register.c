/*
 * register.c - the register of eligible voters and their one-time codes.
 *
 * The operator imports the register as CSV (RFC 4180, UTF-8, a header row
 * naming the columns: `voter` required, `name` and `address` optional, for
 * the letters), then asks for codes: each voter without one gets a fresh
 * code, answered once as CSV for printing letters and stored only as its
 * SHA-256.  A lost letter needs a new register entry; a code is never
 * shown twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voting.h"

static int codes_budget(struct vote *v, struct vote_budget *b, mst_http_request *req)
{
    if (b->eligibility != VOTE_BY_CODE) {
        vote_respond_error(v, req, 409, "budget \"%s\" identifies voters through its identity hook, not codes", b->id);
        return 0;
    }
    if (b->phase >= VOTE_COUNTING) {
        vote_refuse(v, VOTE_R_PHASE, "a register change after voting closed (budget %s)", b->id);
        vote_respond_error(v, req, 409, "budget \"%s\" is in its %s phase: the register is closed", b->id,
                           vote_phase_name(b->phase));
        return 0;
    }
    return 1;
}

void vote_register_post(struct vote *v, struct vote_budget *b, mst_http_request *req)
{
    if (!codes_budget(v, b, req))
        return;
    size_t len = 0, n = 0, added = 0;
    const char *text = v->host->http_body(req, &len);
    struct vote_voter *voters = NULL;
    char why[300];
    sqlite3_stmt *st = NULL;
    int rc = vote_register_parse(text ? text : "", len, &voters, &n, why, sizeof why);
    if (rc != 0) {
        vote_refuse(v, VOTE_R_REGISTER, "a register CSV: %s", why);
        vote_respond_error(v, req, rc == MST_EINVAL ? 400 : 500, "%s", why);
        return;
    }
    rc = vote_db_begin(v->db);
    if (rc == 0 && sqlite3_prepare_v2(v->db, "INSERT OR IGNORE INTO voter(budget, voter, name, address) "
                                      "VALUES (?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        rc = MST_EDB;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, voters[i].voter, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, voters[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, voters[i].address, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = MST_EDB;
        added += (size_t)sqlite3_changes(v->db);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    rc = vote_db_end(v->db, rc);
    vote_register_free(voters, n);
    if (rc != 0) {
        vote_respond_error(v, req, 500, "the register could not be saved; nothing was imported");
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "imported", (double)added);
    cJSON_AddNumberToObject(out, "already_there", (double)(n - added));
    vote_respond_json(v, req, 200, out);
}

/* Appends one CSV field, quoted when it must be. */
static int put_field(char **buf, size_t *len, size_t *cap, const char *s, int last)
{
    size_t need = *len + 2 * strlen(s) + 4;
    if (need > *cap) {
        size_t c = *cap * 2 > need ? *cap * 2 : need;
        char *bigger = realloc(*buf, c);
        if (!bigger)
            return MST_ENOMEM;
        *buf = bigger;
        *cap = c;
    }
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    char *o = *buf + *len;
    if (quote)
        *o++ = '"';
    for (; *s; s++) {
        if (*s == '"')
            *o++ = '"';
        *o++ = *s;
    }
    if (quote)
        *o++ = '"';
    if (last) {
        *o++ = '\r';
        *o++ = '\n';
    } else {
        *o++ = ',';
    }
    *o = '\0';
    *len = (size_t)(o - *buf);
    return 0;
}

void vote_codes_post(struct vote *v, struct vote_budget *b, mst_http_request *req)
{
    if (!codes_budget(v, b, req))
        return;
    sqlite3_stmt *sel = NULL, *upd = NULL;
    size_t len = 0, cap = 4096;
    char *csv = malloc(cap);
    int rc = csv ? vote_db_begin(v->db) : MST_ENOMEM;
    if (rc == 0 && (sqlite3_prepare_v2(v->db, "SELECT voter, name, address FROM voter WHERE budget = ? AND "
                                       "code_hash IS NULL", -1, &sel, NULL) != SQLITE_OK ||
                    sqlite3_prepare_v2(v->db, "UPDATE voter SET code_hash = ? WHERE budget = ? AND voter = ?", -1,
                                       &upd, NULL) != SQLITE_OK))
        rc = MST_EDB;
    if (rc == 0) {
        csv[0] = '\0';
        rc = put_field(&csv, &len, &cap, "voter", 0) || put_field(&csv, &len, &cap, "name", 0) ||
             put_field(&csv, &len, &cap, "address", 0) || put_field(&csv, &len, &cap, "code", 1) ? MST_ENOMEM : 0;
        sqlite3_bind_text(sel, 1, b->id, -1, SQLITE_STATIC);
    }
    while (rc == 0 && sqlite3_step(sel) == SQLITE_ROW) {
        char code[VOTE_CODE_LEN + 1], canonical[32], hash[65];
        const char *voter = (const char *)sqlite3_column_text(sel, 0);
        if ((rc = vote_code_new(code)) != 0)
            break;
        vote_code_normalise(code, canonical, sizeof canonical);
        vote_hash_hex(canonical, hash);
        sqlite3_bind_text(upd, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(upd, 2, b->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(upd, 3, voter, -1, SQLITE_STATIC);
        if (sqlite3_step(upd) != SQLITE_DONE)
            rc = MST_EDB; /* a hash already taken: 2^-120, but then no code is given twice */
        sqlite3_reset(upd);
        if (rc == 0 && (put_field(&csv, &len, &cap, voter, 0) ||
                        put_field(&csv, &len, &cap, (const char *)sqlite3_column_text(sel, 1), 0) ||
                        put_field(&csv, &len, &cap, (const char *)sqlite3_column_text(sel, 2), 0) ||
                        put_field(&csv, &len, &cap, code, 1)))
            rc = MST_ENOMEM;
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    if (csv)
        rc = vote_db_end(v->db, rc);
    if (rc != 0) {
        free(csv);
        vote_respond_error(v, req, 500, "the codes could not be made; none was given out");
        return;
    }
    v->host->http_respond(req, 200, "text/csv; charset=utf-8; header=present", csv, len);
    free(csv);
}
