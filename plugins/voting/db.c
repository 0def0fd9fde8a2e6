/*
 * db.c - the voting database: its schema and the few statements every part
 * runs.
 *
 * Secrecy lives in the schema (docs/plugins/voting.md, "Ballot secrecy"):
 * `voter` holds whether someone voted and nothing about when; `ballot` is a
 * WITHOUT ROWID table keyed by a random 128-bit key, so its rows sit in key
 * order, not arrival order, and carry no time, no row id, no sequence and
 * nothing derived from the code or the voter.
 */
#include <stdlib.h>
#include <string.h>

#include "voting.h"

const char *const vote_migrations[] = {
    "CREATE TABLE budget(budget TEXT PRIMARY KEY, phase INTEGER NOT NULL, rules TEXT) WITHOUT ROWID;"
    "CREATE TABLE proposal(budget TEXT NOT NULL, id INTEGER NOT NULL, title TEXT NOT NULL,"
    "  description TEXT NOT NULL, cost REAL NOT NULL, district TEXT NOT NULL, lat REAL, lon REAL,"
    "  photo TEXT NOT NULL, contact TEXT NOT NULL, feasible INTEGER, reason TEXT NOT NULL DEFAULT '',"
    "  PRIMARY KEY(budget, id)) WITHOUT ROWID;"
    /* code_hash: SHA-256 of the code (hex); the identity hook's voters are
     * keyed by SHA-256 of what the hook said, in the same column */
    "CREATE TABLE voter(budget TEXT NOT NULL, voter TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',"
    "  address TEXT NOT NULL DEFAULT '', code_hash TEXT, voted INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(budget, voter)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX voter_code ON voter(budget, code_hash);"
    /* replace_tag: SHA-256(code hash || receipt), found only with both */
    "CREATE TABLE ballot(key BLOB PRIMARY KEY, budget TEXT NOT NULL, sealed TEXT NOT NULL,"
    "  receipt_hash TEXT NOT NULL, replace_tag TEXT NOT NULL, UNIQUE(budget, receipt_hash)) WITHOUT ROWID;"
    /* the running chain: its length and head only, never its entries */
    "CREATE TABLE chain(budget TEXT PRIMARY KEY, length INTEGER NOT NULL, head TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE paper(budget TEXT NOT NULL, code_hash TEXT NOT NULL, clerk TEXT NOT NULL, ballot TEXT NOT NULL,"
    "  PRIMARY KEY(budget, code_hash, clerk)) WITHOUT ROWID;"
    "CREATE TABLE result(budget TEXT PRIMARY KEY, result TEXT NOT NULL, pb TEXT NOT NULL, audit TEXT NOT NULL,"
    "  head TEXT NOT NULL) WITHOUT ROWID;",
    NULL,
};

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, int n, const char *const *params)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    for (int i = 0; i < n; i++) {
        int rc = params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT)
                           : sqlite3_bind_null(st, i + 1);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st);
            return NULL;
        }
    }
    return st;
}

int vote_db_exec(sqlite3 *db, const char *sql, int n, const char *const *params)
{
    sqlite3_stmt *st = prepare(db, sql, n, params);
    if (!st)
        return MST_EDB;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : MST_EDB;
}

char *vote_db_text(sqlite3 *db, const char *sql, int n, const char *const *params)
{
    sqlite3_stmt *st = prepare(db, sql, n, params);
    char *out = NULL;
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

int vote_db_begin(sqlite3 *db)
{
    return sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : MST_EDB;
}

int vote_db_end(sqlite3 *db, int rc)
{
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc ? rc : MST_EDB;
}
