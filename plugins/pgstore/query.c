/* query.c - pgstore serves store/query: requests wait in arrival order and
 * run on worker threads (host->queue_work), `query_threads` at once, each
 * on a PGconn of its own.  libpq allows a connection to move between
 * threads but never to be used by two at once: a connection belongs to the
 * one job that holds its slot (busy), and only that job touches it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pgstore.h"
#include "query.h"
#include "query_sql.h"

#define PGQ_MAX_CONNS 16

struct pgq_job {
    struct pgq_job *next;
    struct pgq *q;
    int conn; /* the slot of q->conns it runs on */
    mst_request *req;
    char *body;
    size_t len;
    char *reply;
    int status;
    char *db_error; /* PostgreSQL's message when it could not answer */
};

struct pgq {
    mst_instance *inst;
    const struct mst_host *host;
    const char *conninfo; /* pgstore's, set before start and never changed: read on workers */
    int64_t max_page, n_conns;
    PGconn *conns[PGQ_MAX_CONNS]; /* opened on first use, by the job holding the slot */
    int busy[PGQ_MAX_CONNS];
    struct pgq_job *waiting, *waiting_tail;
    mst_metric *answered, *refused, *failed; /* the first two are pgstore's (plugin.c registers them) */
    int refusal_logged; /* the first refused request is logged, the rest counted */
    int db_failing;     /* a failure was logged; logged again only after an answer */
};

/* pgstore's connection (its defaults, the user's conninfo winning), made
 * read-only: a query never writes. */
static PGconn *connect_db(const char *conninfo, char *why, size_t why_len)
{
    PGconn *c = pgs_connect(conninfo, why, why_len);
    if (c && pgs_exec(c, "SET default_transaction_read_only = on", why, why_len) != PGS_OK) {
        PQfinish(c);
        c = NULL;
    }
    return c;
}

/* The slot's connection, made or remade if it is not usable. */
static PGconn *usable(struct pgq *q, int slot, char *why, size_t why_len)
{
    PGconn *c = q->conns[slot];
    if (c && PQstatus(c) == CONNECTION_OK)
        return c;
    PQfinish(c); /* a fresh one rather than PQreset: the session settings come with it */
    return q->conns[slot] = connect_db(q->conninfo, why, why_len);
}

/* A refusal needs no database: the request is checked first. */
static void job_work(void *arg)
{
    struct pgq_job *j = arg;
    struct pgq *q = j->q;
    struct pgq_req rq;
    const char *why = NULL;
    int rc = pgq_parse(j->body, j->len, q->max_page, &rq, &why);
    if (rc != 0) {
        j->status = rc == 503 ? MST_ENOMEM : MST_EINVAL;
        j->reply = pgq_error_reply(why);
        return;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        char reason[256] = "";
        PGconn *c = usable(q, j->conn, reason, sizeof reason);
        free(j->reply);
        free(j->db_error);
        j->db_error = NULL;
        if (!c) {
            j->db_error = strdup(reason);
            j->status = MST_EDB;
            j->reply = pgq_error_reply("the region's database is not answering; try again later");
            break;
        }
        j->reply = pgq_run(c, &rq, &j->status, &j->db_error);
        /* a connection that died while idle (a PostgreSQL restart) fails its
         * first query: once more on a fresh one */
        if (j->status != MST_EDB || PQstatus(c) == CONNECTION_OK)
            break;
    }
    pgq_req_free(&rq);
}

static void start_next(struct pgq *q);

static void job_free(struct pgq_job *j)
{
    free(j->reply);
    free(j->db_error);
    free(j->body);
    free(j);
}

static void log_outcome(struct pgq *q, const struct pgq_job *j)
{
    const struct mst_host *h = q->host;
    if (j->status == MST_EINVAL) { /* from another node: counted and logged here, answered there */
        h->metric_add(q->refused, 1);
        if (!q->refusal_logged) {
            q->refusal_logged = 1;
            h->log(q->inst, MST_LOG_WARN, "store/query refused: %s (further refusals only counted in "
                                          "mestys_pgstore_queries_refused_total)", j->reply);
        }
    } else if (j->status == MST_EDB) {
        h->metric_add(q->failed, 1);
        if (!q->db_failing)
            h->log(q->inst, MST_LOG_ERROR, "store/query: PostgreSQL did not answer: %s (answered %s until it does; "
                                           "counted in mestys_pgstore_queries_failed_total)",
                   j->db_error ? j->db_error : "?", mst_err_name(MST_EDB));
        q->db_failing = 1;
    } else if (j->status == 0 && q->db_failing) {
        q->db_failing = 0;
        h->log(q->inst, MST_LOG_INFO, "store/query: PostgreSQL answers again");
    }
}

static void job_done(void *arg, int status)
{
    struct pgq_job *j = arg;
    struct pgq *q = j->q;
    q->busy[j->conn] = 0;
    /* MST_ECLOSED: the instance is stopping and the core has answered */
    if (status == 0) {
        static const char no_memory[] = "{\"error\":\"the store is out of memory; try again later\"}";
        if (!j->reply)
            j->status = MST_ENOMEM;
        log_outcome(q, j);
        q->host->respond(j->req, j->status, j->reply ? j->reply : no_memory,
                         j->reply ? strlen(j->reply) : sizeof no_memory - 1);
        q->host->metric_add(q->answered, 1);
    }
    job_free(j);
    if (status == 0)
        start_next(q);
}

/* In arrival order, as many at once as there are connections. */
static void start_next(struct pgq *q)
{
    for (int c = 0; c < q->n_conns && q->waiting; c++) {
        if (q->busy[c])
            continue;
        struct pgq_job *j = q->waiting;
        q->waiting = j->next;
        if (!q->waiting)
            q->waiting_tail = NULL;
        j->conn = c;
        q->busy[c] = 1;
        if (q->host->queue_work(q->inst, job_work, job_done, j) != 0) {
            q->busy[c] = 0;
            static const char err[] = "{\"error\":\"the store is stopping\"}";
            q->host->respond(j->req, MST_ECLOSED, err, sizeof err - 1);
            job_free(j);
        }
    }
}

static void serve_query(void *arg, mst_request *req, const char *topic, const char *body, size_t len)
{
    (void)topic;
    struct pgq *q = arg;
    struct pgq_job *j = calloc(1, sizeof *j);
    char *copy = malloc(len + 1);
    if (!j || !copy) {
        static const char err[] = "{\"error\":\"the store is out of memory; try again later\"}";
        q->host->respond(req, MST_ENOMEM, err, sizeof err - 1);
        free(j);
        free(copy);
        return;
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    *j = (struct pgq_job){.q = q, .req = req, .body = copy, .len = len};
    if (q->waiting_tail)
        q->waiting_tail->next = j;
    else
        q->waiting = j;
    q->waiting_tail = j;
    start_next(q);
}

int pgq_start(struct pgstore *pg)
{
    const struct mst_host *h = pg->host;
    struct pgq *q = calloc(1, sizeof *q);
    if (!q)
        return MST_ENOMEM;
    pg->query = q;
    *q = (struct pgq){.inst = pg->inst, .host = h, .conninfo = pg->conninfo, .max_page = pg->max_page,
                      .n_conns = pg->query_threads < PGQ_MAX_CONNS ? pg->query_threads : PGQ_MAX_CONNS,
                      .answered = pg->m_queries, .refused = pg->m_queries_refused};
    int rc = h->metric(pg->inst, MST_METRIC_COUNTER, "queries_failed_total",
                       "store/query requests PostgreSQL could not answer (answered MST_EDB)", &q->failed);
    if (rc == 0)
        rc = h->serve(pg->inst, "store/query", serve_query, q);
    return rc;
}

/* From fini: every worker job is back, so no connection is in use. */
void pgq_stop(struct pgstore *pg)
{
    struct pgq *q = pg->query;
    if (!q)
        return;
    while (q->waiting) {
        struct pgq_job *j = q->waiting;
        q->waiting = j->next;
        job_free(j);
    }
    for (int c = 0; c < PGQ_MAX_CONNS; c++)
        PQfinish(q->conns[c]);
    free(q);
    pg->query = NULL;
}
