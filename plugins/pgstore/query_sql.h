/* query_sql.h - one store/query request run on one PostgreSQL connection. */
#ifndef PGSTORE_QUERY_SQL_H
#define PGSTORE_QUERY_SQL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "query.h"

/* Runs a checked request on db (a worker thread; db is this call's
 * alone).  Returns the reply JSON (free it) and sets *status: 0,
 * MST_ENOMEM, or MST_EDB with *db_error set to PostgreSQL's message (free
 * it); the reply is then {"error": ...}. */
char *pgq_run(PGconn *db, const struct pgq_req *rq, int *status, char **db_error);
/* {"error": why} */
char *pgq_error_reply(const char *why);

#endif
