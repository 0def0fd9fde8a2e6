/* query_sql.h - one store/query request run on one PostgreSQL connection. */
#ifndef PGSTORE_QUERY_SQL_H
#define PGSTORE_QUERY_SQL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* Runs a request body on db (a worker thread; db is this call's alone).
 * Returns the reply JSON (free it) and sets *status: 0, MST_EINVAL (the
 * request was refused: {"error": ...} as store words it), MST_ENOMEM, or
 * MST_EDB with *db_error set to PostgreSQL's message (free it). */
char *pgq_run(PGconn *db, const char *body, size_t len, int64_t max_page, int *status, char **db_error);

#endif
