/* writer.c - one transaction for a group of batches, on a worker thread.
 *
 *   BEGIN
 *   per batch: its (town, epoch) high-water mark FOR UPDATE; messages at or
 *              below it are duplicates (acknowledged, not stored)
 *   new sensors and metrics (ids cached; the cache is cleared on rollback)
 *   COPY readings FROM STDIN (FORMAT binary), rows sorted by key
 *   latest and hourly upserts, events, the marks moved to each batch's last
 *   COMMIT
 *
 * Only after COMMIT does the loop answer 200.  A 23505 (the rows exist: a
 * backfill, a town with a new epoch) redoes the group through a staging
 * table with ON CONFLICT DO UPDATE (store's INSERT OR REPLACE); a data error
 * redoes each batch alone so only the bad one is refused; PostgreSQL down
 * answers 503 and nothing is stored. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "pgstore.h"

#define WHY sizeof ((struct pgstore *)0)->writer_why

struct row {
    int32_t s, m;
    int64_t t_ms;
    double v;
    uint32_t seq; /* arrival order: the later of two equal keys wins */
};

struct buf {
    char *d;
    size_t len, cap;
    int failed;
};

static void put(struct buf *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *d = realloc(b->d, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->len, src, n);
    b->len += n;
    b->d[b->len] = '\0';
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put16(struct buf *b, int16_t v)
{
    uint16_t n = htons((uint16_t)v);
    put(b, &n, 2);
}

static void put32(struct buf *b, int32_t v)
{
    uint32_t n = htonl((uint32_t)v);
    put(b, &n, 4);
}

static void put64(struct buf *b, uint64_t v)
{
    put32(b, (int32_t)(uint32_t)(v >> 32));
    put32(b, (int32_t)(uint32_t)v);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    if (x->m != y->m)
        return x->m < y->m ? -1 : 1;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* --- one group --------------------------------------------------------- */

struct group {
    struct pgstore *p;
    struct pgs_job **jobs;
    size_t n;
    int slow;
    struct row *rows;
    size_t n_rows, cap_rows;
    int64_t today;
    /* per job, until COMMIT */
    int64_t *mark, *stored, *dup, *oow;
};

static enum pgs_class fail(struct group *g, PGresult *r)
{
    struct pgstore *p = g->p;
    enum pgs_class k = pgs_classify(p->conn, r, p->writer_why, WHY);
    PQclear(r);
    return k;
}

static enum pgs_class params(struct group *g, const char *sql, int n, const char *const *v, PGresult **out)
{
    PGresult *r = PQexecParams(g->p->conn, sql, n, NULL, v, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return fail(g, r);
    if (out)
        *out = r;
    else
        PQclear(r);
    return PGS_OK;
}

static const char *job_town(const struct group *g, const struct pgs_job *j)
{
    return j->kind == PGS_JOB_LOCAL ? g->p->town : j->town;
}

/* The mark of (town, epoch): from an earlier batch of this group, or the
 * table (the row made if new, locked until COMMIT). */
static enum pgs_class mark_of(struct group *g, size_t i, int64_t *mark)
{
    struct pgs_job *j = g->jobs[i];
    for (size_t k = i; k-- > 0;)
        if (g->jobs[k]->kind == PGS_JOB_BATCH && strcmp(g->jobs[k]->town, j->town) == 0 &&
            g->jobs[k]->b.epoch == j->b.epoch)
            return *mark = g->mark[k], PGS_OK;
    char epoch[24];
    snprintf(epoch, sizeof epoch, "%" PRId64, j->b.epoch);
    const char *v[] = {j->town, epoch};
    PGresult *r = NULL;
    enum pgs_class k = params(g, "INSERT INTO deliveries (town, epoch, last_id) VALUES ($1, $2, 0) "
                                 "ON CONFLICT DO NOTHING", 2, v, NULL);
    if (k == PGS_OK)
        k = params(g, "SELECT last_id FROM deliveries WHERE town = $1 AND epoch = $2 FOR UPDATE", 2, v, &r);
    if (k != PGS_OK)
        return k;
    *mark = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return PGS_OK;
}

static enum pgs_class sensor_id(struct group *g, const char *town, const struct pgs_reading *x, int32_t *id)
{
    struct pgstore *p = g->p;
    struct buf key = {0};
    put(&key, town, strlen(town));
    put(&key, "\x1f", 1);
    put(&key, x->sensor, strlen(x->sensor));
    if (key.failed)
        return snprintf(p->writer_why, WHY, "out of memory"), PGS_DOWN;
    enum pgs_class k = PGS_OK;
    if ((*id = pgs_ids_get(&p->sensors, key.d)) == 0) {
        char lat[32], lon[32];
        snprintf(lat, sizeof lat, "%.17g", x->lat);
        snprintf(lon, sizeof lon, "%.17g", x->lon);
        const char *v[] = {town, x->sensor, x->has_location ? lat : NULL, x->has_location ? lon : NULL, x->tags};
        PGresult *r = NULL;
        /* a sensor's position and tags: the newest that came with one */
        k = params(g,
                   "INSERT INTO sensors (town, name, lat, lon, tags) VALUES ($1, $2, $3, $4, COALESCE($5::jsonb, '{}')) "
                   "ON CONFLICT (town, name) DO UPDATE SET lat = COALESCE(EXCLUDED.lat, sensors.lat), "
                   "lon = COALESCE(EXCLUDED.lon, sensors.lon), "
                   "tags = CASE WHEN $5 IS NULL THEN sensors.tags ELSE EXCLUDED.tags END RETURNING id",
                   5, v, &r);
        if (k == PGS_OK) {
            *id = (int32_t)atol(PQgetvalue(r, 0, 0));
            PQclear(r);
            pgs_ids_put(&p->sensors, key.d, *id);
        }
    }
    free(key.d);
    return k;
}

static enum pgs_class metric_id(struct group *g, const struct pgs_reading *x, int32_t *id)
{
    struct pgstore *p = g->p;
    struct buf key = {0};
    put(&key, x->metric, strlen(x->metric));
    put(&key, x->unit ? "\x1f" : "\x1e", 1);
    if (x->unit)
        put(&key, x->unit, strlen(x->unit));
    if (key.failed)
        return snprintf(p->writer_why, WHY, "out of memory"), PGS_DOWN;
    enum pgs_class k = PGS_OK;
    if ((*id = pgs_ids_get(&p->metrics, key.d)) == 0) {
        const char *v[] = {x->metric, x->unit};
        PGresult *r = NULL;
        k = params(g, "INSERT INTO metrics (name, unit) VALUES ($1, $2) ON CONFLICT (name, unit) "
                      "DO UPDATE SET name = EXCLUDED.name RETURNING id", 2, v, &r);
        if (k == PGS_OK) {
            *id = (int32_t)atol(PQgetvalue(r, 0, 0));
            PQclear(r);
            pgs_ids_put(&p->metrics, key.d, *id);
        }
    }
    free(key.d);
    return k;
}

static enum pgs_class add_row(struct group *g, const char *town, const struct pgs_reading *x)
{
    if (g->n_rows == g->cap_rows) {
        size_t cap = g->cap_rows ? g->cap_rows * 2 : 1024;
        struct row *r = realloc(g->rows, cap * sizeof *r);
        if (!r)
            return snprintf(g->p->writer_why, WHY, "out of memory"), PGS_DOWN;
        g->rows = r;
        g->cap_rows = cap;
    }
    struct row *r = &g->rows[g->n_rows];
    enum pgs_class k = sensor_id(g, town, x, &r->s);
    if (k == PGS_OK)
        k = metric_id(g, x, &r->m);
    if (k == PGS_OK) {
        r->t_ms = x->time_ms;
        r->v = x->value;
        r->seq = (uint32_t)g->n_rows++;
    }
    return k;
}

static int in_window(const struct group *g, int64_t day)
{
    return day >= g->today - g->p->retention_days && day <= g->today + 1;
}

static enum pgs_class event(struct group *g, const char *town, const struct pgs_event *e)
{
    char at[24];
    snprintf(at, sizeof at, "%" PRId64, e->at_ms);
    const char *v[] = {town, e->topic, at, e->body};
    return params(g, "INSERT INTO events (town, topic, at, body) "
                     "VALUES ($1, $2, timestamptz 'epoch' + $3::int8 * interval '1 millisecond', $4)", 4, v, NULL);
}

/* Rows of every job above its mark, events too; counts per job. */
static enum pgs_class collect(struct group *g)
{
    enum pgs_class k = PGS_OK;
    for (size_t i = 0; i < g->n && k == PGS_OK; i++) {
        struct pgs_job *j = g->jobs[i];
        int64_t mark = 0;
        if (j->kind == PGS_JOB_BATCH && (k = mark_of(g, i, &mark)) != PGS_OK)
            break;
        for (size_t r = 0; r < j->b.n_r && k == PGS_OK; r++) {
            const struct pgs_reading *x = &j->b.r[r];
            if (j->kind == PGS_JOB_BATCH && x->o <= mark)
                g->dup[i]++;
            else if (!in_window(g, pgs_day(x->time_ms)))
                g->oow[i]++;
            else if ((k = add_row(g, job_town(g, j), x)) == PGS_OK)
                g->stored[i]++;
        }
        for (size_t e = 0; e < j->b.n_e && k == PGS_OK; e++) {
            if (j->kind == PGS_JOB_BATCH && j->b.e[e].o <= mark)
                g->dup[i]++;
            else if ((k = event(g, job_town(g, j), &j->b.e[e])) == PGS_OK)
                g->stored[i]++;
        }
        g->mark[i] = j->kind == PGS_JOB_BATCH && j->b.last > mark ? j->b.last : mark;
    }
    return k;
}

/* Sorted by key (the index's order, so COPY appends); of two rows with the
 * same key the later is kept, as store's INSERT OR REPLACE would. */
static void sort_rows(struct group *g)
{
    if (!g->n_rows)
        return; /* qsort's array may not be NULL, even empty */
    qsort(g->rows, g->n_rows, sizeof *g->rows, row_cmp);
    size_t out = 0;
    for (size_t i = 0; i < g->n_rows; i++) {
        if (out && g->rows[out - 1].s == g->rows[i].s && g->rows[out - 1].m == g->rows[i].m &&
            g->rows[out - 1].t_ms == g->rows[i].t_ms)
            out--;
        g->rows[out++] = g->rows[i];
    }
    g->n_rows = out;
}

static void copy_body(const struct group *g, struct buf *b)
{
    static const char sig[11] = "PGCOPY\n\377\r\n\0";
    put(b, sig, sizeof sig);
    put32(b, 0); /* flags */
    put32(b, 0); /* header extension */
    for (size_t i = 0; i < g->n_rows; i++) {
        const struct row *r = &g->rows[i];
        uint64_t v;
        memcpy(&v, &r->v, sizeof v);
        put16(b, 4);
        put32(b, 4), put32(b, r->s);
        put32(b, 4), put32(b, r->m);
        /* timestamptz: microseconds since 2000-01-01 UTC */
        put32(b, 8), put64(b, (uint64_t)((r->t_ms - 946684800000LL) * 1000));
        put32(b, 8), put64(b, v);
    }
    put16(b, -1);
}

static enum pgs_class copy_in(struct group *g, const char *sql)
{
    struct pgstore *p = g->p;
    struct buf b = {0};
    copy_body(g, &b);
    if (b.failed)
        return free(b.d), snprintf(p->writer_why, WHY, "out of memory"), PGS_DOWN;
    PGresult *r = PQexec(p->conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        free(b.d);
        return fail(g, r);
    }
    PQclear(r);
    int ok = 1;
    for (size_t off = 0; off < b.len && ok; off += 256 * 1024) {
        size_t n = b.len - off < 256 * 1024 ? b.len - off : 256 * 1024;
        ok = PQputCopyData(p->conn, b.d + off, (int)n) == 1;
    }
    free(b.d);
    ok = PQputCopyEnd(p->conn, ok ? NULL : "pgstore: sending the rows failed") == 1 && ok;
    enum pgs_class k = PGS_OK;
    while ((r = PQgetResult(p->conn)) != NULL) {
        if (k == PGS_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
            k = pgs_classify(p->conn, r, p->writer_why, WHY);
        PQclear(r);
    }
    if (k == PGS_OK && !ok)
        k = pgs_classify(p->conn, NULL, p->writer_why, WHY);
    return k;
}

static enum pgs_class store_rows(struct group *g)
{
    if (!g->n_rows)
        return PGS_OK;
    if (!g->slow)
        return copy_in(g, "COPY readings (sensor_id, metric_id, t, value) FROM STDIN (FORMAT binary)");
    char *why = g->p->writer_why;
    enum pgs_class k = pgs_exec(g->p->conn, "CREATE TEMP TABLE pgs_stage (LIKE readings) ON COMMIT DROP", why, WHY);
    if (k == PGS_OK)
        k = copy_in(g, "COPY pgs_stage (sensor_id, metric_id, t, value) FROM STDIN (FORMAT binary)");
    if (k == PGS_OK)
        k = pgs_exec(g->p->conn, "INSERT INTO readings SELECT sensor_id, metric_id, t, value FROM pgs_stage "
                                 "ON CONFLICT (sensor_id, metric_id, t) DO UPDATE SET value = EXCLUDED.value",
                     why, WHY);
    return k;
}

/* latest: the last row of each (sensor, metric) run; hourly: each
 * (sensor, metric, hour) run's min, max, sum, count.  Sent as arrays. */
static enum pgs_class aggregates(struct group *g)
{
    struct buf ls = {0}, lm = {0}, lt = {0}, lv = {0}, hs = {0}, hm = {0}, hh = {0}, hmin = {0}, hmax = {0},
               hsum = {0}, hn = {0};
    struct buf *all[] = {&ls, &lm, &lt, &lv, &hs, &hm, &hh, &hmin, &hmax, &hsum, &hn};
    enum pgs_class k = PGS_OK;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        put(all[i], "{", 1);
    for (size_t i = 0, start = 0; i < g->n_rows; i++) {
        const struct row *r = &g->rows[i], *next = i + 1 < g->n_rows ? &g->rows[i + 1] : NULL;
        int same_series = next && next->s == r->s && next->m == r->m;
        int64_t hour = r->t_ms >= 0 ? r->t_ms / 3600000 : (r->t_ms - 3599999) / 3600000;
        int64_t next_hour = next ? (next->t_ms >= 0 ? next->t_ms / 3600000 : (next->t_ms - 3599999) / 3600000) : 0;
        const char *sep = ls.len > 1 ? "," : "";
        if (!same_series) {
            putf(&ls, "%s%d", sep, r->s), putf(&lm, "%s%d", sep, r->m);
            putf(&lt, "%s%" PRId64, sep, r->t_ms), putf(&lv, "%s%.17g", sep, r->v);
        }
        if (!same_series || next_hour != hour) {
            double mn = r->v, mx = r->v, sum = 0;
            for (size_t x = start; x <= i; x++) {
                double v = g->rows[x].v;
                mn = v < mn ? v : mn, mx = v > mx ? v : mx, sum += v;
            }
            const char *hsep = hs.len > 1 ? "," : "";
            putf(&hs, "%s%d", hsep, r->s), putf(&hm, "%s%d", hsep, r->m), putf(&hh, "%s%" PRId64, hsep, hour);
            putf(&hmin, "%s%.17g", hsep, mn), putf(&hmax, "%s%.17g", hsep, mx), putf(&hsum, "%s%.17g", hsep, sum);
            putf(&hn, "%s%zu", hsep, i + 1 - start);
            start = i + 1;
        }
    }
    int failed = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        put(all[i], "}", 1);
        failed |= all[i]->failed;
    }
    if (failed) {
        snprintf(g->p->writer_why, WHY, "out of memory");
        k = PGS_DOWN;
        goto out;
    }
    const char *lv_[] = {ls.d, lm.d, lt.d, lv.d};
    k = params(g, "INSERT INTO latest (sensor_id, metric_id, t, value) "
                  "SELECT s, m, timestamptz 'epoch' + t * interval '1 millisecond', v "
                  "FROM unnest($1::int[], $2::int[], $3::int8[], $4::float8[]) AS x(s, m, t, v) "
                  "ON CONFLICT (sensor_id, metric_id) DO UPDATE SET t = EXCLUDED.t, value = EXCLUDED.value "
                  "WHERE EXCLUDED.t >= latest.t", 4, lv_, NULL);
    const char *hv[] = {hs.d, hm.d, hh.d, hmin.d, hmax.d, hsum.d, hn.d};
    if (k == PGS_OK)
        k = params(g, "INSERT INTO hourly (sensor_id, metric_id, hour, min, max, sum, count) "
                      "SELECT s, m, timestamptz 'epoch' + h * interval '1 hour', mn, mx, sm, n "
                      "FROM unnest($1::int[], $2::int[], $3::int8[], $4::float8[], $5::float8[], $6::float8[], "
                      "$7::int8[]) AS x(s, m, h, mn, mx, sm, n) "
                      "ON CONFLICT (sensor_id, metric_id, hour) DO UPDATE SET min = LEAST(hourly.min, EXCLUDED.min), "
                      "max = GREATEST(hourly.max, EXCLUDED.max), sum = hourly.sum + EXCLUDED.sum, "
                      "count = hourly.count + EXCLUDED.count", 7, hv, NULL);
out:
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->d);
    return k;
}

static enum pgs_class move_marks(struct group *g)
{
    enum pgs_class k = PGS_OK;
    for (size_t i = 0; i < g->n && k == PGS_OK; i++) {
        struct pgs_job *j = g->jobs[i];
        if (j->kind != PGS_JOB_BATCH)
            continue;
        char epoch[24], mark[24];
        snprintf(epoch, sizeof epoch, "%" PRId64, j->b.epoch);
        snprintf(mark, sizeof mark, "%" PRId64, g->mark[i]);
        const char *v[] = {j->town, epoch, mark};
        k = params(g, "UPDATE deliveries SET last_id = GREATEST(last_id, $3::int8), at = now() "
                      "WHERE town = $1 AND epoch = $2", 3, v, NULL);
    }
    return k;
}

/* Partitions for the group's days, before BEGIN (their own statements). */
static enum pgs_class partitions(struct group *g)
{
    int64_t last = INT64_MIN;
    enum pgs_class k = PGS_OK;
    for (size_t i = 0; i < g->n && k == PGS_OK; i++)
        for (size_t r = 0; r < g->jobs[i]->b.n_r && k == PGS_OK; r++) {
            int64_t day = pgs_day(g->jobs[i]->b.r[r].time_ms);
            if (day != last && in_window(g, day))
                k = pgs_partition_ensure(g->p, day, g->p->writer_why, WHY);
            last = day;
        }
    return k;
}

static enum pgs_class run(struct pgstore *p, struct pgs_job **jobs, size_t n, int slow)
{
    struct group g = {.p = p, .jobs = jobs, .n = n, .slow = slow, .today = pgs_day(wall_ms())};
    g.mark = calloc(n * 4, sizeof *g.mark);
    if (!g.mark)
        return snprintf(p->writer_why, WHY, "out of memory"), PGS_DOWN;
    g.stored = g.mark + n, g.dup = g.mark + 2 * n, g.oow = g.mark + 3 * n;
    enum pgs_class k = partitions(&g);
    if (k == PGS_OK)
        k = pgs_exec(p->conn, "BEGIN", p->writer_why, WHY);
    if (k != PGS_OK)
        goto out;
    if ((k = collect(&g)) == PGS_OK) {
        sort_rows(&g);
        k = store_rows(&g);
    }
    if (k == PGS_OK)
        k = aggregates(&g);
    if (k == PGS_OK)
        k = move_marks(&g);
    if (k == PGS_OK)
        k = pgs_exec(p->conn, "COMMIT", p->writer_why, WHY);
    if (k != PGS_OK) {
        if (PQstatus(p->conn) == CONNECTION_OK)
            PQclear(PQexec(p->conn, "ROLLBACK"));
        /* ids handed out in the rolled-back transaction do not exist */
        pgs_ids_clear(&p->sensors);
        pgs_ids_clear(&p->metrics);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct pgs_job *j = jobs[i];
        j->status = 200;
        j->committed = g.mark[i];
        j->stored = g.stored[i];
        j->duplicate = g.dup[i];
        j->out_of_window = g.oow[i];
    }
out:
    free(g.rows);
    free(g.mark);
    return k;
}

/* A group, then on a duplicate the slow path, on bad data each alone. */
static enum pgs_class run_group(struct pgstore *p, struct pgs_job **jobs, size_t n)
{
    int slow = 0;
    for (size_t i = 0; i < n; i++)
        slow |= jobs[i]->b.replay; /* a backfill: its rows may be there already */
    enum pgs_class k = run(p, jobs, n, slow);
    if (k == PGS_DUPLICATE)
        k = run(p, jobs, n, 1);
    if (k != PGS_BAD)
        return k;
    if (n == 1) {
        jobs[0]->status = 400;
        snprintf(jobs[0]->why, sizeof jobs[0]->why, "PostgreSQL refused the data: %.200s", p->writer_why);
        return PGS_OK;
    }
    for (size_t i = 0; i < n && k != PGS_DOWN; i++)
        k = run_group(p, &jobs[i], 1);
    return k;
}

/* --- the parts of a run -------------------------------------------------- */

static void parse_batch(struct pgstore *p, struct pgs_job *j)
{
    char *plain = NULL;
    size_t len = j->len;
    int rc = 0;
    if (j->gzip)
        rc = pgs_inflate(j->body, j->len, (size_t)p->max_batch_bytes, &plain, &len, j->why, sizeof j->why);
    if (rc == 0)
        rc = pgs_batch_parse(plain ? plain : j->body, len, (size_t)p->max_batch_messages, &j->b, j->why,
                             sizeof j->why);
    free(plain);
    if (rc == MST_ETOOBIG)
        j->status = 413;
    else if (rc != 0)
        j->status = 400;
}

static uint32_t get32(const char *s)
{
    uint32_t v;
    memcpy(&v, s, 4);
    return v;
}

/* The local messages: records that are not readings are refused and
 * counted, as store does; other topics are kept as events. */
static void parse_local(struct pgs_job *j)
{
    for (size_t off = 0; off + 8 <= j->len;) {
        uint32_t tl = get32(j->body + off), bl = get32(j->body + off + 4 + tl);
        const char *topic = j->body + off + 4, *body = topic + tl + 4;
        off += 8 + tl + bl;
        cJSON *root = cJSON_ParseWithLength(body, bl), *o;
        const char *why;
        if (tl == 7 && memcmp(topic, "reading", 7) == 0) {
            if (cJSON_IsArray(root)) {
                cJSON_ArrayForEach(o, root) j->refused += pgs_reading_add(&j->b, o, 0, &why) != 0;
            } else
                j->refused += pgs_reading_add(&j->b, root, 0, &why) != 0;
        } else if (root) {
            char t[257];
            snprintf(t, sizeof t, "%.*s", (int)tl, topic);
            if (j->b.n_e == j->b.cap_e) {
                size_t cap = j->b.cap_e ? j->b.cap_e * 2 : 64;
                struct pgs_event *e = realloc(j->b.e, cap * sizeof *e);
                if (!e) {
                    j->refused++;
                    cJSON_Delete(root);
                    continue;
                }
                j->b.e = e, j->b.cap_e = cap;
            }
            struct pgs_event *e = &j->b.e[j->b.n_e];
            e->o = 0;
            e->at_ms = wall_ms();
            e->topic = strdup(t);
            e->body = cJSON_PrintUnformatted(root);
            if (e->topic && e->body)
                j->b.n_e++;
            else
                free(e->topic), free(e->body), j->refused++;
        } else
            j->refused++;
        cJSON_Delete(root);
    }
}

/* Connected, the schema migrated; else every job is answered 503. */
static int ensure_conn(struct pgstore *p)
{
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        return 1;
    PQfinish(p->conn);
    p->conn = pgs_connect(p->conninfo, p->writer_why, WHY);
    if (p->conn && pgs_schema_migrate(p->conn, p->writer_why, WHY) != 0) {
        PQfinish(p->conn);
        p->conn = NULL;
    }
    /* partitions may have been dropped while we were away */
    p->n_days = 0;
    pgs_ids_clear(&p->sensors);
    pgs_ids_clear(&p->metrics);
    return p->conn != NULL;
}

static void position(struct pgstore *p, struct pgs_job *j)
{
    const char *v[] = {j->town};
    PGresult *r = PQexecParams(p->conn, "SELECT epoch, last_id FROM deliveries WHERE town = $1 "
                                        "ORDER BY at DESC LIMIT 1", 1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pgs_classify(p->conn, r, p->writer_why, WHY);
        p->writer_down = 1;
        j->status = 503;
    } else {
        j->status = 200;
        j->has_epoch = PQntuples(r) > 0;
        j->epoch = j->has_epoch ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
        j->committed = j->has_epoch ? strtoll(PQgetvalue(r, 0, 1), NULL, 10) : 0;
    }
    PQclear(r);
}

void pgs_writer_work(void *arg)
{
    struct pgstore *p = arg;
    size_t n = 0;
    p->writer_down = p->writer_up = 0;
    p->writer_why[0] = '\0';
    for (struct pgs_job *j = p->group; j; j = j->next, n++)
        if (j->kind == PGS_JOB_BATCH)
            parse_batch(p, j);
        else if (j->kind == PGS_JOB_LOCAL)
            parse_local(j);
    struct pgs_job **jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!jobs || !ensure_conn(p)) {
        if (!jobs)
            snprintf(p->writer_why, WHY, "out of memory");
        p->writer_down = 1;
        free(jobs);
        return;
    }
    p->writer_up = 1;
    if (p->maintain) {
        p->maintain_why[0] = '\0';
        enum pgs_class k = pgs_maintain(p, wall_ms(), p->maintain_why, sizeof p->maintain_why);
        p->maintain = k != PGS_OK;
        if (k == PGS_DOWN && PQstatus(p->conn) != CONNECTION_OK) {
            snprintf(p->writer_why, WHY, "%s", p->maintain_why);
            p->writer_down = 1;
            free(jobs);
            return;
        }
    }
    size_t m = 0;
    for (struct pgs_job *j = p->group; j; j = j->next)
        if (j->kind == PGS_JOB_POSITION)
            position(p, j);
        else if (j->status == 0)
            jobs[m++] = j;
    if (m && run_group(p, jobs, m) == PGS_DOWN)
        p->writer_down = 1;
    free(jobs);
}

void pgs_writer_close(struct pgstore *p)
{
    PQfinish(p->conn);
    p->conn = NULL;
    pgs_ids_clear(&p->sensors);
    pgs_ids_clear(&p->metrics);
    free(p->days);
    p->days = NULL;
    p->n_days = p->cap_days = 0;
}
