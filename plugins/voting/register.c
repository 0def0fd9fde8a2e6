/*
 * register.c - the register of eligible voters and their one-time codes.
 *
 * The operator imports the register as CSV (RFC 4180, UTF-8, a header row
 * naming the columns: `voter` required, `name` and `address` optional, for
 * the letters), then asks for codes: each voter without one gets a fresh
 * code, answered once as CSV for printing letters and stored only as its
 * SHA-256; the name and address are dropped then.  A lost letter: a new
 * code for that voter (?voter=), which replaces the old one if they have
 * not voted.  A code is never shown twice.
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

/* The voters to give a code: every one without a code, or the one named by
 * ?voter= (a lost letter) if they have not voted.  Read out first: the
 * table is written while the codes are made. */
static int voters_to_code(struct vote *v, struct vote_budget *b, const char *only, struct vote_voter **out,
                          size_t *n)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = 0;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(v->db, only ? "SELECT voter, name, address FROM voter WHERE budget = ? AND voter = ? "
                                         "AND voted = 0"
                                       : "SELECT voter, name, address FROM voter WHERE budget = ? AND "
                                         "code_hash IS NULL", -1, &st, NULL) != SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
    if (only)
        sqlite3_bind_text(st, 2, only, -1, SQLITE_STATIC);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            struct vote_voter *bigger = realloc(*out, cap * sizeof **out);
            if (!bigger) {
                rc = MST_ENOMEM;
                break;
            }
            *out = bigger;
        }
        struct vote_voter *vo = &(*out)[(*n)++];
        vo->voter = strdup((const char *)sqlite3_column_text(st, 0));
        vo->name = strdup((const char *)sqlite3_column_text(st, 1));
        vo->address = strdup((const char *)sqlite3_column_text(st, 2));
        if (!vo->voter || !vo->name || !vo->address)
            rc = MST_ENOMEM;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Codes for the voters, stored hashed; the letters' CSV into *csv.  The
 * name and address are dropped once the letter is made: the register then
 * holds the voter's id, their code's hash and whether they voted. */
static int make_codes(struct vote *v, struct vote_budget *b, const struct vote_voter *voters, size_t n, char **csv,
                      size_t *len)
{
    size_t cap = 4096;
    sqlite3_stmt *upd = NULL;
    int rc = (*csv = malloc(cap)) ? 0 : MST_ENOMEM;
    *len = 0;
    if (rc == 0 && sqlite3_prepare_v2(v->db, "UPDATE voter SET code_hash = ?, name = '', address = '' "
                                      "WHERE budget = ? AND voter = ?", -1, &upd, NULL) != SQLITE_OK)
        rc = MST_EDB;
    if (rc == 0 && (put_field(csv, len, &cap, "voter", 0) || put_field(csv, len, &cap, "name", 0) ||
                    put_field(csv, len, &cap, "address", 0) || put_field(csv, len, &cap, "code", 1)))
        rc = MST_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char code[VOTE_CODE_LEN + 1], canonical[32], hash[65];
        if ((rc = vote_code_new(code)) != 0)
            break;
        vote_code_normalise(code, canonical, sizeof canonical);
        vote_hash_hex(canonical, hash);
        sqlite3_bind_text(upd, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(upd, 2, b->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(upd, 3, voters[i].voter, -1, SQLITE_STATIC);
        if (sqlite3_step(upd) != SQLITE_DONE)
            rc = MST_EDB; /* a hash already taken (2^-120): no code is ever given twice */
        sqlite3_reset(upd);
        if (rc == 0 && (put_field(csv, len, &cap, voters[i].voter, 0) || put_field(csv, len, &cap, voters[i].name, 0) ||
                        put_field(csv, len, &cap, voters[i].address, 0) || put_field(csv, len, &cap, code, 1)))
            rc = MST_ENOMEM;
    }
    sqlite3_finalize(upd);
    return rc;
}

void vote_codes_post(struct vote *v, struct vote_budget *b, mst_http_request *req)
{
    if (!codes_budget(v, b, req))
        return;
    const char *only = v->host->http_query_param(req, "voter");
    struct vote_voter *voters = NULL;
    size_t n = 0, len = 0;
    char *csv = NULL;
    int rc = vote_db_begin(v->db);
    if (rc == 0)
        rc = voters_to_code(v, b, only, &voters, &n);
    if (rc == 0 && only && n == 0) {
        const char *p[] = {b->id, only};
        char *known = vote_db_text(v->db, "SELECT voted FROM voter WHERE budget = ? AND voter = ?", 2, p);
        vote_db_end(v->db, MST_ENOENT);
        if (known)
            vote_respond_error(v, req, 409, "voter \"%s\" has voted: their code is spent and no new one is made",
                               only);
        else
            vote_respond_error(v, req, 404, "no voter \"%s\" in the register of budget \"%s\"", only, b->id);
        free(known);
        vote_register_free(voters, n);
        return;
    }
    if (rc == 0)
        rc = make_codes(v, b, voters, n, &csv, &len);
    rc = vote_db_end(v->db, rc);
    vote_register_free(voters, n);
    if (rc != 0) {
        free(csv);
        vote_respond_error(v, req, 500, "the codes could not be made; none was given out");
        return;
    }
    v->host->http_respond(req, 200, "text/csv; charset=utf-8; header=present", csv, len);
    free(csv);
}
