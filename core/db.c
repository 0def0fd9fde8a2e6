/* db.c - the SQLite open helper every plugin gets: WAL, a busy timeout and
 * schema migrations keyed by PRAGMA user_version. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "util.h"

/* SQLite's words, and the system's when a system call failed under them:
 * "unable to open database file" alone does not say "Permission denied". */
static char *describe(sqlite3 *db, const char *msg)
{
    int sys = db ? sqlite3_system_errno(db) : 0;
    if (!msg)
        msg = db ? sqlite3_errmsg(db) : "out of memory";
    return sys ? mst__xasprintf("%s: %s", msg, strerror(sys)) : mst__xstrdup(msg);
}

static int exec(sqlite3 *db, const char *sql, char **err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    if (err)
        *err = describe(db, msg);
    sqlite3_free(msg);
    return MST_EDB;
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(sqlite3 *db, const char *const *migrations, char **err)
{
    int v = user_version(db);
    if (v < 0)
        return exec(db, "SELECT 1 FROM no_such_table", err);
    int n = 0;
    while (migrations && migrations[n])
        n++;
    if (v > n) {
        if (err)
            *err = mst__xasprintf("the database is at schema version %d, newer than this plugin "
                                  "knows (%d): refusing to touch it", v, n);
        return MST_EDB;
    }
    for (; v < n; v++) {
        /* Each step and its version bump commit together or not at all. */
        char *sql = mst__xasprintf("BEGIN; %s; PRAGMA user_version = %d; COMMIT;", migrations[v], v + 1);
        int rc = exec(db, sql, err);
        free(sql);
        if (rc != 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    return 0;
}

int mst__db_open(const char *path, const char *const *migrations, sqlite3 **out, char **err)
{
    sqlite3 *db = NULL;
    *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        if (err)
            *err = describe(db, NULL);
        sqlite3_close(db);
        return MST_EDB;
    }
    sqlite3_busy_timeout(db, 5000);
    int rc = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err);
    if (rc == 0)
        rc = migrate(db, migrations, err);
    if (rc != 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}
