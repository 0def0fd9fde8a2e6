#include "registry.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "geo.h"

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS device ("
    " dev_eui TEXT PRIMARY KEY, join_eui TEXT, app_key BLOB, dev_addr INTEGER,"
    " nwk_skey BLOB, app_skey BLOB, fcnt_up INTEGER NOT NULL DEFAULT -1,"
    " fcnt_down INTEGER NOT NULL DEFAULT 0, relax_fcnt INTEGER NOT NULL DEFAULT 0,"
    " name TEXT, decoder TEXT, lat REAL, lon REAL, tags TEXT);"
    "CREATE TABLE IF NOT EXISTS dev_nonce (dev_eui TEXT, nonce INTEGER, PRIMARY KEY (dev_eui, nonce)) WITHOUT ROWID;";

int hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
    if (!hex || strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

int hex_to_u64(const char *hex, uint64_t *out)
{
    uint8_t b[8];
    if (hex_to_bytes(hex, b, 8) != 0)
        return -1;
    *out = 0;
    for (int i = 0; i < 8; i++)
        *out = *out << 8 | b[i];
    return 0;
}

static void eui_text(uint64_t eui, char out[17])
{
    snprintf(out, 17, "%016" PRIX64, eui);
}

static int index_addr(struct registry *r, struct device *d)
{
    struct device *first = u64map_get(&r->by_addr, d->dev_addr);
    if (u64map_put(&r->by_addr, d->dev_addr, d) != 0)
        return MST_ENOMEM;
    d->next_same_addr = first;
    return 0;
}

static void unindex_addr(struct registry *r, struct device *d)
{
    struct device *first = u64map_get(&r->by_addr, d->dev_addr);
    if (first == d) {
        if (d->next_same_addr)
            u64map_put(&r->by_addr, d->dev_addr, d->next_same_addr);
        else
            u64map_del(&r->by_addr, d->dev_addr);
    } else {
        for (struct device *p = first; p; p = p->next_same_addr)
            if (p->next_same_addr == d)
                p->next_same_addr = d->next_same_addr;
    }
    d->next_same_addr = NULL;
}

static void device_free(struct device *d)
{
    free(d->name);
    free(d->decoder);
    free(d->tags);
    free(d);
}

static char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static int load(struct registry *r)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT dev_eui, join_eui, app_key, dev_addr, nwk_skey, app_skey, fcnt_up, fcnt_down,"
                           " relax_fcnt, name, decoder, lat, lon, tags FROM device",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        struct device *d = calloc(1, sizeof *d);
        if (!d) {
            rc = -1;
            break;
        }
        hex_to_u64((const char *)sqlite3_column_text(st, 0), &d->dev_eui);
        if (sqlite3_column_text(st, 1))
            hex_to_u64((const char *)sqlite3_column_text(st, 1), &d->join_eui);
        if (sqlite3_column_bytes(st, 2) == 16) {
            memcpy(d->app_key, sqlite3_column_blob(st, 2), 16);
            d->has_app_key = 1;
        }
        if (sqlite3_column_type(st, 3) != SQLITE_NULL && sqlite3_column_bytes(st, 4) == 16 &&
            sqlite3_column_bytes(st, 5) == 16) {
            d->dev_addr = (uint32_t)sqlite3_column_int64(st, 3);
            memcpy(d->nwk_skey, sqlite3_column_blob(st, 4), 16);
            memcpy(d->app_skey, sqlite3_column_blob(st, 5), 16);
            d->has_session = 1;
        }
        d->fcnt_up = sqlite3_column_int64(st, 6);
        d->fcnt_down = (uint32_t)sqlite3_column_int64(st, 7);
        d->relax_fcnt = sqlite3_column_int(st, 8);
        d->name = col_text(st, 9);
        d->decoder = col_text(st, 10);
        if (sqlite3_column_type(st, 11) != SQLITE_NULL) {
            d->lat = sqlite3_column_double(st, 11);
            d->lon = sqlite3_column_double(st, 12);
            d->has_location = 1;
        }
        d->tags = col_text(st, 13);
        if ((sqlite3_column_type(st, 9) != SQLITE_NULL && !d->name) ||
            (sqlite3_column_type(st, 10) != SQLITE_NULL && !d->decoder) ||
            (sqlite3_column_type(st, 13) != SQLITE_NULL && !d->tags) || u64map_put(&r->by_eui, d->dev_eui, d) != 0) {
            device_free(d);
            rc = -1;
        } else if (d->has_session && index_addr(r, d) != 0) {
            rc = -1; /* it is in by_eui: registry_close frees it */
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int registry_open(struct registry *r, sqlite3 *db, char **err)
{
    memset(r, 0, sizeof *r);
    r->db = db;
    char *msg = NULL;
    if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO device (dev_eui, join_eui, app_key, dev_addr, nwk_skey, app_skey, fcnt_up,"
                           " fcnt_down, relax_fcnt, name, decoder, lat, lon, tags)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                           " ON CONFLICT(dev_eui) DO UPDATE SET join_eui = ?2, app_key = ?3, dev_addr = ?4,"
                           " nwk_skey = ?5, app_skey = ?6, fcnt_up = ?7, fcnt_down = ?8, relax_fcnt = ?9,"
                           " name = ?10, decoder = ?11, lat = ?12, lon = ?13, tags = ?14",
                           -1, &r->upsert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE device SET fcnt_up = ?2, fcnt_down = ?3 WHERE dev_eui = ?1", -1,
                           &r->save_counters, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM device WHERE dev_eui = ?1", -1, &r->remove, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT 1 FROM dev_nonce WHERE dev_eui = ?1 AND nonce = ?2", -1, &r->nonce_seen,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO dev_nonce VALUES (?1, ?2)", -1, &r->nonce_add, NULL) !=
            SQLITE_OK ||
        load(r) != 0 || status_open(r) != 0) {
        *err = strdup(msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return MST_EDB;
    }
    return 0;
}

static void free_device(uint64_t key, void *v, void *arg)
{
    (void)key, (void)arg;
    device_free(v);
}

static void registry_free(struct registry *r)
{
    u64map_each(&r->by_eui, free_device, NULL);
    u64map_free(&r->by_eui);
    u64map_free(&r->by_addr);
    sqlite3_finalize(r->upsert);
    sqlite3_finalize(r->save_counters);
    sqlite3_finalize(r->remove);
    sqlite3_finalize(r->nonce_seen);
    sqlite3_finalize(r->nonce_add);
    status_close(r);
}

void registry_close(struct registry *r)
{
    registry_flush(r);
    registry_free(r);
}

/* A device of the fresh cache takes the counters of the same session in
 * the old one: memory is ahead of the file (frames accepted, not yet
 * published), and a counter must never go back. */
static void keep_counters(uint64_t key, void *v, void *arg)
{
    struct device *fresh = v, *old = registry_by_eui(arg, key);
    if (old && old->has_session && fresh->has_session && old->dev_addr == fresh->dev_addr &&
        !memcmp(old->nwk_skey, fresh->nwk_skey, 16)) {
        fresh->fcnt_up = old->fcnt_up;
        fresh->fcnt_down = old->fcnt_down;
        fresh->dirty = old->dirty;
    }
    if (old)
        status_keep(fresh, old);
}

int registry_reload(struct registry *r, char **err)
{
    struct registry fresh;
    int rc = registry_open(&fresh, r->db, err);
    if (rc != 0)
        return rc;
    u64map_each(&fresh.by_eui, keep_counters, r);
    registry_free(r); /* not flushed: the file is what the cache is rebuilt from */
    *r = fresh;
    return 0;
}

struct device *registry_by_eui(struct registry *r, uint64_t dev_eui)
{
    return u64map_get(&r->by_eui, dev_eui);
}

struct device *registry_by_addr(struct registry *r, uint32_t dev_addr)
{
    return u64map_get(&r->by_addr, dev_addr);
}

static int save(struct registry *r, const struct device *d)
{
    char eui[17], join[17];
    eui_text(d->dev_eui, eui);
    eui_text(d->join_eui, join);
    sqlite3_stmt *st = r->upsert;
    sqlite3_bind_text(st, 1, eui, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, join, -1, SQLITE_TRANSIENT);
    if (d->has_app_key)
        sqlite3_bind_blob(st, 3, d->app_key, 16, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 3);
    if (d->has_session) {
        sqlite3_bind_int64(st, 4, d->dev_addr);
        sqlite3_bind_blob(st, 5, d->nwk_skey, 16, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 6, d->app_skey, 16, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, 4);
        sqlite3_bind_null(st, 5);
        sqlite3_bind_null(st, 6);
    }
    sqlite3_bind_int64(st, 7, d->fcnt_up);
    sqlite3_bind_int64(st, 8, d->fcnt_down);
    sqlite3_bind_int(st, 9, d->relax_fcnt);
    sqlite3_bind_text(st, 10, d->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 11, d->decoder, -1, SQLITE_TRANSIENT);
    if (d->has_location) {
        sqlite3_bind_double(st, 12, d->lat);
        sqlite3_bind_double(st, 13, d->lon);
    } else {
        sqlite3_bind_null(st, 12);
        sqlite3_bind_null(st, 13);
    }
    sqlite3_bind_text(st, 14, d->tags, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : MST_EDB;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* NULL when the decoder may be used, else why not.  A Lua decoder's file
 * is relative to the SDK's lua/ folder or the config's folder, so that a
 * device registered over the API cannot run any file on the machine; the
 * host also refuses a symbolic link that leads out of those folders. */
static const char *decoder_refused(const char *decoder)
{
    if (strcmp(decoder, "none") == 0 || strcmp(decoder, "cayenne") == 0)
        return NULL;
    if (strncmp(decoder, "lua:", 4) != 0 || !decoder[4])
        return "decoder: \"cayenne\", \"none\" or \"lua:<file>\" (e.g. lua:decoders/air-quality.lua)";
    if (decoder[4] == '/' || strstr(decoder, ".."))
        return "decoder: lua:<file> is a path relative to the lua/ folder or the config's folder; "
               "an absolute path or \"..\" is refused";
    return NULL;
}

/* Checks a device's JSON and reads its numbers and keys into n; its
 * strings stay in j.  Nothing changes. */
static int check_device(const cJSON *j, struct device *n_out, const char **why)
{
    struct device n = {0};
    n.fcnt_up = -1;
    if (!cJSON_IsObject(j) || hex_to_u64(str(j, "dev_eui"), &n.dev_eui) != 0) {
        *why = "dev_eui: 16 hex digits are required";
        return MST_EINVAL;
    }
    if (str(j, "join_eui") && hex_to_u64(str(j, "join_eui"), &n.join_eui) != 0) {
        *why = "join_eui: 16 hex digits";
        return MST_EINVAL;
    }
    if (str(j, "app_key")) {
        if (hex_to_bytes(str(j, "app_key"), n.app_key, 16) != 0) {
            *why = "app_key: 32 hex digits";
            return MST_EINVAL;
        }
        n.has_app_key = 1;
    }
    if (str(j, "dev_addr") || str(j, "nwk_skey") || str(j, "app_skey")) {
        uint8_t a[4];
        if (hex_to_bytes(str(j, "dev_addr"), a, 4) != 0 || hex_to_bytes(str(j, "nwk_skey"), n.nwk_skey, 16) != 0 ||
            hex_to_bytes(str(j, "app_skey"), n.app_skey, 16) != 0) {
            *why = "ABP needs dev_addr (8 hex digits), nwk_skey and app_skey (32 hex digits each)";
            return MST_EINVAL;
        }
        n.dev_addr = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
        n.has_session = 1;
    }
    if (!n.has_app_key && !n.has_session) {
        *why = "give app_key (OTAA) or dev_addr + nwk_skey + app_skey (ABP)";
        return MST_EINVAL;
    }
    const char *decoder = str(j, "decoder") ? str(j, "decoder") : "none";
    if ((*why = decoder_refused(decoder)) != NULL)
        return MST_EINVAL;
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(j, "lat"), *lon = cJSON_GetObjectItemCaseSensitive(j, "lon");
    if (lat || lon) { /* the same check as a CSV import's (geo.h) */
        if (!cJSON_IsNumber(lat) || !cJSON_IsNumber(lon)) {
            *why = "lat, lon: both, numbers of degrees (WGS84)";
            return MST_EINVAL;
        }
        if ((*why = lora_degrees_refused(LORA_LAT, lat->valuedouble)) != NULL ||
            (*why = lora_degrees_refused(LORA_LON, lon->valuedouble)) != NULL)
            return MST_EINVAL;
        n.lat = lat->valuedouble;
        n.lon = lon->valuedouble;
        n.has_location = 1;
    }
    n.relax_fcnt = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "relax_fcnt"));
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    if (tags && !cJSON_IsObject(tags)) {
        *why = "tags: an object of labels, e.g. {\"street\": \"Husova\"}";
        return MST_EINVAL;
    }
    char *text = tags ? cJSON_PrintUnformatted(tags) : NULL;
    int printed = text != NULL;
    size_t tags_len = text ? strlen(text) : 0;
    free(text);
    if (tags && !printed) {
        *why = "out of memory";
        return MST_ENOMEM;
    }
    if (tags_len >= LORA_TAGS_MAX) {
        *why = "tags: at most 255 bytes of JSON (they travel with every reading)";
        return MST_EINVAL;
    }
    *n_out = n;
    return 0;
}

int registry_check_json(const cJSON *j, const char **why)
{
    struct device n;
    return check_device(j, &n, why);
}

int registry_upsert_json(struct registry *r, const cJSON *j, const char **why, struct device **out)
{
    struct device n;
    int rc = check_device(j, &n, why);
    if (rc != 0)
        return rc;
    const char *decoder = str(j, "decoder") ? str(j, "decoder") : "none";
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    struct device *d = registry_by_eui(r, n.dev_eui);
    if (d && d->has_session && n.has_session && d->dev_addr == n.dev_addr &&
        !memcmp(d->nwk_skey, n.nwk_skey, 16)) {
        n.fcnt_up = d->fcnt_up; /* same session: keep its counters */
        n.fcnt_down = d->fcnt_down;
    } else if (d && d->has_session && !n.has_session) {
        n.has_session = 1; /* an OTAA device re-registered keeps its session */
        n.dev_addr = d->dev_addr;
        memcpy(n.nwk_skey, d->nwk_skey, 16);
        memcpy(n.app_skey, d->app_skey, 16);
        n.fcnt_up = d->fcnt_up;
        n.fcnt_down = d->fcnt_down;
    }
    n.name = str(j, "name") ? strdup(str(j, "name")) : NULL;
    n.decoder = strdup(decoder);
    n.tags = tags ? cJSON_PrintUnformatted(tags) : NULL;
    struct device *added = d ? NULL : calloc(1, sizeof *d);
    if ((str(j, "name") && !n.name) || !n.decoder || (tags && !n.tags) || (!d && !added)) {
        *why = "out of memory";
        rc = MST_ENOMEM;
    } else if (!d && u64map_put(&r->by_eui, n.dev_eui, added) != 0) {
        *why = "out of memory";
        rc = MST_ENOMEM;
    } else if (save(r, &n) != 0) {
        if (added)
            u64map_del(&r->by_eui, n.dev_eui);
        *why = "the registry could not be written";
        rc = MST_EDB;
    }
    if (rc != 0) {
        free(n.name), free(n.decoder), free(n.tags), free(added);
        return rc;
    }
    if (d)
        status_keep(&n, d); /* registered again: still the same device, heard when it was */
    if (added) {
        d = added;
    } else {
        if (d->has_session)
            unindex_addr(r, d);
        free(d->name), free(d->decoder), free(d->tags);
    }
    *d = n;
    if (d->has_session && index_addr(r, d) != 0) {
        d->has_session = 0; /* stored, but frames cannot find it until the next start */
        *why = "out of memory";
        return MST_ENOMEM;
    }
    if (out)
        *out = d;
    return 0;
}

int registry_remove(struct registry *r, uint64_t dev_eui)
{
    struct device *d = u64map_del(&r->by_eui, dev_eui);
    if (!d)
        return MST_ENOENT;
    if (d->has_session)
        unindex_addr(r, d);
    char eui[17];
    eui_text(dev_eui, eui);
    sqlite3_bind_text(r->remove, 1, eui, -1, SQLITE_TRANSIENT);
    sqlite3_step(r->remove);
    sqlite3_reset(r->remove);
    status_remove(r, eui);
    device_free(d);
    return 0;
}

int registry_set_session(struct registry *r, struct device *d, uint32_t dev_addr, const uint8_t nwk[16],
                         const uint8_t app[16])
{
    if (d->has_session)
        unindex_addr(r, d);
    d->dev_addr = dev_addr;
    memcpy(d->nwk_skey, nwk, 16);
    memcpy(d->app_skey, app, 16);
    d->has_session = 1;
    d->fcnt_up = -1;
    d->fcnt_down = 0;
    int rc = index_addr(r, d);
    if (rc != 0)
        d->has_session = 0;
    return rc != 0 ? rc : save(r, d);
}

int registry_dev_nonce_used(struct registry *r, uint64_t dev_eui, uint16_t nonce)
{
    char eui[17];
    eui_text(dev_eui, eui);
    sqlite3_bind_text(r->nonce_seen, 1, eui, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(r->nonce_seen, 2, nonce);
    int used = sqlite3_step(r->nonce_seen) == SQLITE_ROW;
    sqlite3_reset(r->nonce_seen);
    if (!used) {
        sqlite3_bind_text(r->nonce_add, 1, eui, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(r->nonce_add, 2, nonce);
        sqlite3_step(r->nonce_add);
        sqlite3_reset(r->nonce_add);
    }
    return used;
}

struct flush {
    struct registry *r;
    int n;
};

static void flush_one(uint64_t key, void *v, void *arg)
{
    (void)key;
    struct device *d = v;
    struct flush *f = arg;
    struct registry *r = f->r;
    if (!d->dirty)
        return;
    char eui[17];
    eui_text(d->dev_eui, eui);
    sqlite3_bind_text(r->save_counters, 1, eui, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(r->save_counters, 2, d->fcnt_up);
    sqlite3_bind_int64(r->save_counters, 3, d->fcnt_down);
    sqlite3_step(r->save_counters);
    sqlite3_reset(r->save_counters);
    d->dirty = 0;
    f->n++;
}

int registry_flush(struct registry *r)
{
    struct flush f = {r, 0};
    sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL);
    u64map_each(&r->by_eui, flush_one, &f);
    sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    return f.n;
}

int fcnt_writer_open(struct fcnt_writer *w, sqlite3 *db)
{
    w->db = db;
    /* FULL: the WAL is synced at each commit, and a commit is made once per
     * batch of uplinks, so the cost is one sync per batch, off the loop */
    if (sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE device SET fcnt_up = ?3 WHERE dev_eui = ?1 AND dev_addr = ?2", -1, &w->update,
                           NULL) != SQLITE_OK ||
        status_writer_open(w) != 0)
        return MST_EDB;
    return 0;
}

void fcnt_writer_close(struct fcnt_writer *w)
{
    sqlite3_finalize(w->update);
    sqlite3_finalize(w->status);
    w->update = w->status = NULL;
}

int fcnt_writer_begin(struct fcnt_writer *w)
{
    return sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : MST_EDB;
}

int fcnt_writer_put(struct fcnt_writer *w, uint64_t dev_eui, uint32_t dev_addr, uint32_t fcnt_up)
{
    char eui[17];
    eui_text(dev_eui, eui);
    sqlite3_bind_text(w->update, 1, eui, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(w->update, 2, dev_addr);
    sqlite3_bind_int64(w->update, 3, fcnt_up);
    int rc = sqlite3_step(w->update) == SQLITE_DONE ? 0 : MST_EDB;
    sqlite3_reset(w->update);
    return rc;
}

int fcnt_writer_end(struct fcnt_writer *w, int rc)
{
    if (rc == 0 && sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    return MST_EDB;
}

cJSON *registry_device_json(const struct device *d)
{
    char eui[17], join[17];
    eui_text(d->dev_eui, eui);
    eui_text(d->join_eui, join);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "dev_eui", eui);
    cJSON_AddStringToObject(o, "join_eui", join);
    cJSON_AddStringToObject(o, "activation", d->has_app_key ? "otaa" : "abp");
    if (d->has_session) {
        char addr[9];
        snprintf(addr, sizeof addr, "%08" PRIX32, d->dev_addr);
        cJSON_AddStringToObject(o, "dev_addr", addr);
    }
    cJSON_AddNumberToObject(o, "fcnt_up", (double)d->fcnt_up);
    cJSON_AddNumberToObject(o, "fcnt_down", d->fcnt_down);
    cJSON_AddBoolToObject(o, "relax_fcnt", d->relax_fcnt);
    if (d->name)
        cJSON_AddStringToObject(o, "name", d->name);
    cJSON_AddStringToObject(o, "decoder", d->decoder ? d->decoder : "none");
    if (d->has_location) {
        cJSON_AddNumberToObject(o, "lat", d->lat);
        cJSON_AddNumberToObject(o, "lon", d->lon);
    }
    if (d->tags)
        cJSON_AddItemToObject(o, "tags", cJSON_Parse(d->tags));
    status_json(d, o);
    return o;
}
