/* idtag.c - id tags (RFID cards, app tokens, the town's cars): what an
 * Authorize or a StartTransaction is told, and their CRUD for the API.
 * Id tags identify people: they never leave the plugin except to an
 * operator through the API. */
#include <string.h>

#include "charging.h"

static const char *const statuses = "Accepted|Blocked|Expired|Invalid";

static int status_valid(const char *s)
{
    size_t n = strlen(s);
    for (const char *p = statuses; *p;) {
        size_t len = strcspn(p, "|");
        if (len == n && strncmp(p, s, n) == 0)
            return 1;
        p += len + (p[len] == '|');
    }
    return 0;
}

/* 1 if tag is in a transaction not yet stopped. */
static int in_transaction(struct charging *c, const char *tag)
{
    sqlite3_stmt *q;
    int busy = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM txn WHERE id_tag = ?1 AND stop_ms IS NULL AND authorized LIMIT 1", -1, &q, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(q, 1, tag, -1, SQLITE_STATIC);
        busy = sqlite3_step(q) == SQLITE_ROW;
        sqlite3_finalize(q);
    }
    return busy;
}

cJSON *chg_idtag_info(struct charging *c, const char *tag, int concurrent)
{
    cJSON *info = cJSON_CreateObject();
    sqlite3_stmt *q;
    if (!info || sqlite3_prepare_v2(c->db, "SELECT status, expiry, parent FROM id_tag WHERE id_tag = ?1", -1, &q,
                                    NULL) != SQLITE_OK) {
        cJSON_Delete(info);
        return NULL;
    }
    sqlite3_bind_text(q, 1, tag, -1, SQLITE_STATIC);
    const char *status = "Invalid";
    int ok = 1;
    if (sqlite3_step(q) == SQLITE_ROW) {
        status = (const char *)sqlite3_column_text(q, 0);
        const char *expiry = (const char *)sqlite3_column_text(q, 1);
        const char *parent = (const char *)sqlite3_column_text(q, 2);
        int64_t until;
        if (expiry && mst_time_parse(expiry, &until) == 0) {
            char when[32];
            mst_time_format(until, when);
            ok = cJSON_AddStringToObject(info, "expiryDate", when) != NULL;
            if (until <= chg_wall_ms() && strcmp(status, "Accepted") == 0)
                status = "Expired";
        }
        if (ok && parent)
            ok = cJSON_AddStringToObject(info, "parentIdTag", parent) != NULL;
    } else if (chg_load_is_fleet(c, tag)) {
        /* The town's own cars need no id tag row to charge (charging-site.md); a row
         * (Blocked, say) still decides for one, above. */
        status = "Accepted";
    }
    if (concurrent && strcmp(status, "Accepted") == 0 && in_transaction(c, tag))
        status = "ConcurrentTx";
    ok = ok && cJSON_AddStringToObject(info, "status", status);
    sqlite3_finalize(q);
    if (!ok) {
        cJSON_Delete(info);
        return NULL;
    }
    return info;
}

cJSON *chg_idtag_info_at(struct charging *c, const struct chg_station *st, int connector, const char *tag,
                         int concurrent)
{
    const char *status;
    if (chg_bookings_judge(c, st, connector, tag, &status) == 0)
        return chg_idtag_info(c, tag, concurrent);
    cJSON *info = cJSON_CreateObject();
    if (info && !cJSON_AddStringToObject(info, "status", status)) {
        cJSON_Delete(info);
        return NULL;
    }
    return info;
}

/* --- the API's CRUD ------------------------------------------------------- */

int chg_idtag_put(struct charging *c, const cJSON *j, const char **why)
{
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(j, "id_tag");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
    const cJSON *expiry = cJSON_GetObjectItemCaseSensitive(j, "expiry");
    const cJSON *parent = cJSON_GetObjectItemCaseSensitive(j, "parent");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    int64_t ms;
    if (!cJSON_IsString(tag) || !tag->valuestring[0] || strlen(tag->valuestring) > 20)
        *why = "id_tag: 1 to 20 characters (OCPP IdToken, CiString20)";
    else if (status && !(cJSON_IsString(status) && status_valid(status->valuestring)))
        *why = "status: Accepted, Blocked, Expired or Invalid";
    else if (expiry && !(cJSON_IsString(expiry) && mst_time_parse(expiry->valuestring, &ms) == 0))
        *why = "expiry: an ISO 8601 time with a zone";
    else if (parent && !(cJSON_IsString(parent) && strlen(parent->valuestring) <= 20))
        *why = "parent: an id tag, at most 20 characters";
    else if (name && !cJSON_IsString(name))
        *why = "name: a string";
    else
        *why = NULL;
    if (*why)
        return MST_EINVAL;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO id_tag (id_tag, status, expiry, parent, name) VALUES (?1, ?2, ?3, ?4, ?5)"
                           " ON CONFLICT (id_tag) DO UPDATE SET status = ?2, expiry = ?3, parent = ?4, name = ?5",
                           -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_text(q, 1, tag->valuestring, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, status ? status->valuestring : "Accepted", -1, SQLITE_STATIC);
    if (expiry)
        sqlite3_bind_text(q, 3, expiry->valuestring, -1, SQLITE_STATIC);
    if (parent)
        sqlite3_bind_text(q, 4, parent->valuestring, -1, SQLITE_STATIC);
    if (name)
        sqlite3_bind_text(q, 5, name->valuestring, -1, SQLITE_STATIC);
    int rc = chg_db_finish(q);
    if (rc != 0)
        *why = "the id tag could not be stored";
    return rc;
}

int chg_idtag_delete(struct charging *c, const char *tag)
{
    int rc = chg_db_exec1(c, "DELETE FROM id_tag WHERE id_tag = ?1", tag);
    return rc == 0 && sqlite3_changes(c->db) == 0 ? MST_ENOENT : rc;
}

cJSON *chg_idtags_json(struct charging *c)
{
    sqlite3_stmt *q;
    cJSON *list = cJSON_CreateArray();
    if (!list || sqlite3_prepare_v2(c->db, "SELECT id_tag, status, expiry, parent, name FROM id_tag ORDER BY id_tag",
                                    -1, &q, NULL) != SQLITE_OK) {
        cJSON_Delete(list);
        return NULL;
    }
    static const char *const keys[] = {"id_tag", "status", "expiry", "parent", "name"};
    int ok = 1;
    while (ok && sqlite3_step(q) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(list, o);
        for (int i = 0; ok && i < 5; i++) {
            const char *v = (const char *)sqlite3_column_text(q, i);
            ok = (v ? cJSON_AddStringToObject(o, keys[i], v) : cJSON_AddNullToObject(o, keys[i])) != NULL;
        }
    }
    sqlite3_finalize(q);
    if (!ok) {
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}
