/* db.c - what the harvests found, in the instance's own SQLite file
 * (regcat.sqlite), so a restart serves the last records at once, with
 * their validators for the next conditional GETs, and a town that cannot
 * be reached after a restart still has its records.  The loop reads it at
 * init; afterwards only the harvest worker writes it (one job at a time). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "regcat.h"

static const char *const migrations[] = {
    "CREATE TABLE sources (name TEXT PRIMARY KEY, cat_etag TEXT, cat_lm TEXT, cat_body TEXT,"
    "  last_ok INTEGER NOT NULL DEFAULT 0, last_try INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
    "  changed INTEGER NOT NULL DEFAULT 0, stale INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE records (source TEXT NOT NULL, pos INTEGER NOT NULL, iri TEXT NOT NULL, id TEXT NOT NULL,"
    "  body TEXT NOT NULL, etag TEXT, last_modified TEXT, changed INTEGER NOT NULL,"
    "  PRIMARY KEY (source, iri));"
    "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT);",
    NULL,
};

int rc_db_open(struct regcat *rc)
{
    return rc->host->db_open(rc->inst, "regcat.sqlite", migrations, &rc->db);
}

static char *col(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? strdup((const char *)t) : NULL;
}

static int load_records(struct regcat *rc, struct rc_source *s)
{
    sqlite3_stmt *q = NULL;
    int rc_ = sqlite3_prepare_v2(rc->db, "SELECT iri, id, body, etag, last_modified, changed FROM records "
                                         "WHERE source = ?1 ORDER BY pos", -1, &q, NULL);
    sqlite3_bind_text(q, 1, s->name, -1, SQLITE_STATIC);
    size_t cap = 0;
    while (rc_ == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        if (s->n_recs == cap) {
            cap = cap ? cap * 2 : 16;
            s->recs = realloc(s->recs, cap * sizeof *s->recs);
        }
        struct rc_record *r = &s->recs[s->n_recs++];
        memset(r, 0, sizeof *r);
        r->iri = col(q, 0), r->id = col(q, 1), r->body = col(q, 2);
        r->etag = col(q, 3), r->last_modified = col(q, 4);
        r->changed_s = sqlite3_column_int64(q, 5);
        if (s->kind == RC_REGION) { /* the URL follows base_url, which may have changed */
            char *url = rc_record_url(rc, s->name, r->id);
            r->served = rc_served(r->body, url);
            free(url);
            rc_etag(r->served, strlen(r->served), r->served_etag);
        }
    }
    sqlite3_finalize(q);
    return rc_ == SQLITE_OK ? 0 : MST_EIO;
}

int rc_db_load(struct regcat *rc)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(rc->db, "SELECT cat_etag, cat_lm, cat_body, last_ok, last_try, last_error, changed, stale "
                                   "FROM sources WHERE name = ?1", -1, &q, NULL) != SQLITE_OK)
        return MST_EIO;
    int rc_ = 0;
    for (size_t i = 0; i < rc->n_src && rc_ == 0; i++) {
        struct rc_source *s = &rc->src[i];
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, s->name, -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_ROW)
            continue; /* never harvested */
        s->cat_etag = col(q, 0), s->cat_lm = col(q, 1), s->cat_body = col(q, 2);
        s->last_ok_s = sqlite3_column_int64(q, 3);
        s->last_try_s = sqlite3_column_int64(q, 4);
        s->last_error = col(q, 5);
        s->changed_s = sqlite3_column_int64(q, 6);
        s->stale = sqlite3_column_int(q, 7);
        rc_ = load_records(rc, s);
    }
    sqlite3_finalize(q);
    return rc_;
}

static void bind_or_null(sqlite3_stmt *q, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static int step_done(sqlite3_stmt *q)
{
    int r = sqlite3_step(q);
    sqlite3_reset(q);
    return r == SQLITE_DONE ? 0 : MST_EIO;
}

static int save_records(sqlite3 *db, const char *name, const struct rc_job *j)
{
    sqlite3_stmt *del = NULL, *ins = NULL;
    int rc = MST_EIO;
    if (sqlite3_prepare_v2(db, "DELETE FROM records WHERE source = ?1", -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO records (source, pos, iri, id, body, etag, last_modified, changed) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &ins, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(del, 1, name, -1, SQLITE_STATIC);
    if (step_done(del) != 0)
        goto out;
    sqlite3_bind_text(ins, 1, name, -1, SQLITE_STATIC);
    for (size_t i = 0; i < j->n_recs; i++) {
        const struct rc_record *r = &j->recs[i];
        sqlite3_bind_int64(ins, 2, (sqlite3_int64)i);
        sqlite3_bind_text(ins, 3, r->iri, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, r->body, -1, SQLITE_STATIC);
        bind_or_null(ins, 6, r->etag);
        bind_or_null(ins, 7, r->last_modified);
        sqlite3_bind_int64(ins, 8, r->changed_s);
        if (step_done(ins) != 0)
            goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return rc;
}

/* A harvest that went well replaces the source's row and records; one that
 * did not only notes the attempt and why (the records stay). */
int rc_db_save(sqlite3 *db, const char *name, const struct rc_job *j)
{
    sqlite3_stmt *q = NULL;
    int rc = MST_EIO;
    const char *sql = j->ok
        ? "INSERT INTO sources (name, cat_etag, cat_lm, cat_body, last_ok, last_try, last_error, changed, stale) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, 0) ON CONFLICT (name) DO UPDATE SET cat_etag = excluded.cat_etag, "
          "cat_lm = excluded.cat_lm, cat_body = excluded.cat_body, last_ok = excluded.last_ok, "
          "last_try = excluded.last_try, last_error = excluded.last_error, changed = excluded.changed, stale = 0"
        : "INSERT INTO sources (name, last_try, last_error, stale) VALUES (?1, ?5, ?6, 1) ON CONFLICT (name) DO "
          "UPDATE SET last_try = excluded.last_try, last_error = excluded.last_error, stale = 1";
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return MST_EIO;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (j->ok) {
        bind_or_null(q, 2, j->cat_etag);
        bind_or_null(q, 3, j->cat_lm);
        bind_or_null(q, 4, j->cat_body);
        sqlite3_bind_int64(q, 7, j->changed_s);
    }
    sqlite3_bind_int64(q, 5, j->now_s);
    bind_or_null(q, 6, j->error[0] ? j->error : NULL);
    if (step_done(q) != 0 || (j->ok && save_records(db, name, j) != 0))
        goto out;
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : MST_EIO;
out:
    sqlite3_finalize(q);
    if (rc != 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int rc_db_meta(struct regcat *rc, const char *key, char **value)
{
    sqlite3_stmt *q = NULL;
    *value = NULL;
    if (sqlite3_prepare_v2(rc->db, "SELECT v FROM meta WHERE k = ?1", -1, &q, NULL) != SQLITE_OK)
        return MST_EIO;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        *value = col(q, 0);
    sqlite3_finalize(q);
    return 0;
}

int rc_db_meta_set(struct regcat *rc, const char *key, const char *value)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(rc->db, "INSERT OR REPLACE INTO meta (k, v) VALUES (?1, ?2)", -1, &q, NULL) != SQLITE_OK)
        return MST_EIO;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    int rc_ = step_done(q);
    sqlite3_finalize(q);
    return rc_;
}
