/* conn.c - the libpq side: connecting, and what an error means for the
 * towns.  Blocking calls, so only on worker threads.  SQLSTATE classes as
 * in docs/15/errcodes-appendix.html; an error libpq made itself (a lost
 * connection) has no SQLSTATE and counts as "PostgreSQL unavailable". */
#include <stdio.h>
#include <string.h>

#include "pgstore.h"

/* The user's conninfo (a libpq string, URI or "service=name") comes
 * second and wins; ours are only defaults. */
static const char *const keys[] = {"connect_timeout", "keepalives", "keepalives_idle", "dbname",
                                   "fallback_application_name", NULL};

static void params(const char *conninfo, const char *values[6])
{
    values[0] = "5";
    values[1] = "1";
    values[2] = "30";
    values[3] = conninfo;
    values[4] = "mestys-pgstore";
    values[5] = NULL;
}

static void copy_message(char *why, size_t why_len, const char *msg)
{
    snprintf(why, why_len, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(why);
    while (n && (why[n - 1] == '\n' || why[n - 1] == ' '))
        why[--n] = '\0';
    for (char *c = why; *c; c++)
        if (*c == '\n')
            *c = ' '; /* one log line */
}

PGconn *pgs_connect(const char *conninfo, char *why, size_t why_len)
{
    const char *values[6];
    params(conninfo, values);
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (c && PQstatus(c) == CONNECTION_OK) {
        /* a stuck lock must not hold the region's only writer for ever;
         * and a 200 means committed: an asynchronous commit (a server set to
         * synchronous_commit=off) is lost when PostgreSQL restarts after a
         * backend crashes, after the towns have deleted what it held */
        if (pgs_exec(c, "SET statement_timeout = '30s'; SET synchronous_commit = on", why, why_len) == PGS_OK)
            return c;
    } else
        copy_message(why, why_len, c ? PQerrorMessage(c) : "out of memory");
    PQfinish(c);
    return NULL;
}

int pgs_ping(const char *conninfo)
{
    const char *values[6];
    params(conninfo, values);
    return PQpingParams(keys, values, 1) == PQPING_OK;
}

enum pgs_class pgs_classify(PGconn *c, const PGresult *r, char *why, size_t why_len)
{
    copy_message(why, why_len, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(c) == CONNECTION_BAD || !state)
        return PGS_DOWN;
    if (strcmp(state, "23505") == 0)
        return PGS_DUPLICATE;
    if (strncmp(state, "22", 2) == 0 || strcmp(state, "23502") == 0 || strcmp(state, "23514") == 0)
        return PGS_BAD;
    return PGS_DOWN; /* 08, 57P0x, 53, 40001, 40P01, 25006, 55P03, and what we do not know: retry */
}

enum pgs_class pgs_exec(PGconn *c, const char *sql, char *why, size_t why_len)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    enum pgs_class k = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? PGS_OK : pgs_classify(c, r, why, why_len);
    PQclear(r);
    return k;
}
