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

#define MAX_VOTERS 5000000
#define MAX_FIELD 1000

/* One CSV field at *pos (RFC 4180 quoting); NULL when out of memory.
 * *end_of_row when the row ends after it; *bad for an unclosed quote or a
 * field over MAX_FIELD bytes. */
static char *field(const char *t, size_t len, size_t *pos, int *end_of_row, int *bad)
{
    char *out = malloc(MAX_FIELD + 1);
    size_t n = 0;
    if (!out)
        return NULL;
    int quoted = *pos < len && t[*pos] == '"';
    if (quoted)
        (*pos)++;
    for (; *pos < len; (*pos)++) {
        char c = t[*pos];
        if (quoted && c == '"') {
            if (*pos + 1 < len && t[*pos + 1] == '"') {
                (*pos)++;
            } else {
                quoted = 0;
                continue;
            }
        } else if (!quoted && (c == ',' || c == '\n' || c == '\r')) {
            break;
        }
        if (n == MAX_FIELD || c == '\0') {
            *bad = 1;
            break;
        }
        out[n++] = c;
    }
    if (quoted)
        *bad = 1;
    out[n] = '\0';
    *end_of_row = *pos >= len || t[*pos] != ',';
    if (*pos < len && t[*pos] == ',') {
        (*pos)++;
    } else if (*pos < len && t[*pos] == '\r') {
        (*pos)++;
        if (*pos < len && t[*pos] == '\n')
            (*pos)++;
    } else if (*pos < len && t[*pos] == '\n') {
        (*pos)++;
    }
    return out;
}

/* A row's fields (at most 8 kept); -1 out of memory, 1 bad, 0 fine. */
static int row(const char *t, size_t len, size_t *pos, char *f[8], size_t *nf)
{
    int end = 0, bad = 0;
    *nf = 0;
    while (!end && !bad) {
        char *s = field(t, len, pos, &end, &bad);
        if (!s)
            return -1;
        if (*nf < 8)
            f[(*nf)++] = s;
        else
            free(s);
    }
    return bad;
}

static void fields_free(char *f[8], size_t nf)
{
    for (size_t i = 0; i < nf; i++)
        free(f[i]);
}

/* Where the header names voter, name and address (-1: absent). */
static int header(const char *t, size_t len, size_t *pos, int col[3], char *why, size_t whylen)
{
    static const char *const names[3] = {"voter", "name", "address"};
    char *f[8];
    size_t nf;
    size_t start = *pos;
    if (len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
        *pos = start = 3; /* a spreadsheet's BOM */
    int rc = row(t, len, pos, f, &nf);
    if (rc < 0)
        return MST_ENOMEM;
    for (int c = 0; c < 3; c++) {
        col[c] = -1;
        for (size_t i = 0; rc == 0 && i < nf; i++)
            if (strcmp(f[i], names[c]) == 0)
                col[c] = (int)i;
    }
    fields_free(f, nf);
    if (rc != 0 || col[0] < 0) {
        snprintf(why, whylen, "line 1: the header must name the columns, with \"voter\" among them "
                 "(voter,name,address)");
        return MST_EINVAL;
    }
    return 0;
}

int vote_register_parse(const char *text, size_t len, struct vote_voter **out, size_t *n, char *why,
                        size_t whylen)
{
    size_t pos = 0, cap = 0, line = 1;
    int col[3], rc = header(text, len, &pos, col, why, whylen);
    *out = NULL;
    *n = 0;
    while (rc == 0 && pos < len) {
        char *f[8];
        size_t nf;
        line++;
        int bad = row(text, len, &pos, f, &nf);
        if (bad < 0) {
            rc = MST_ENOMEM;
            break;
        }
        if (!bad && nf == 1 && !f[0][0]) { /* an empty line */
            fields_free(f, nf);
            continue;
        }
        if (bad || (size_t)col[0] >= nf || !f[col[0]][0] || *n == MAX_VOTERS) {
            snprintf(why, whylen, "line %zu: %s", line, bad ? "an unclosed quote, a NUL byte or a field over "
                     "1000 bytes" : *n == MAX_VOTERS ? "more than 5,000,000 voters" : "no voter id");
            fields_free(f, nf);
            rc = MST_EINVAL;
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            struct vote_voter *bigger = realloc(*out, cap * sizeof **out);
            if (!bigger) {
                fields_free(f, nf);
                rc = MST_ENOMEM;
                break;
            }
            *out = bigger;
        }
        struct vote_voter *vo = &(*out)[(*n)++];
        vo->voter = strdup(f[col[0]]);
        vo->name = strdup(col[1] >= 0 && (size_t)col[1] < nf ? f[col[1]] : "");
        vo->address = strdup(col[2] >= 0 && (size_t)col[2] < nf ? f[col[2]] : "");
        fields_free(f, nf);
        if (!vo->voter || !vo->name || !vo->address)
            rc = MST_ENOMEM;
    }
    if (rc == MST_ENOMEM)
        snprintf(why, whylen, "out of memory");
    if (rc != 0) {
        vote_register_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void vote_register_free(struct vote_voter *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].voter);
        free(v[i].name);
        free(v[i].address);
    }
    free(v);
}

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
