/*
 * proposals.c - proposals (anyone, in the proposals phase) and their review
 * (the operator, before voting).  A proposal's author contact is kept for
 * the town and never shown on a public route.  Nothing here ever says how
 * a project stands in the vote.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/utf8.h>

#include "voting.h"

#define COLUMNS "id, title, description, cost, district, lat, lon, photo, feasible, reason, contact"

static cJSON *proposal_json(sqlite3_stmt *st, int private_view)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "id", (double)sqlite3_column_int64(st, 0));
    cJSON_AddStringToObject(p, "title", (const char *)sqlite3_column_text(st, 1));
    cJSON_AddStringToObject(p, "description", (const char *)sqlite3_column_text(st, 2));
    cJSON_AddNumberToObject(p, "cost", sqlite3_column_double(st, 3));
    cJSON_AddStringToObject(p, "district", (const char *)sqlite3_column_text(st, 4));
    if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
        cJSON *at = cJSON_AddObjectToObject(p, "location");
        cJSON_AddNumberToObject(at, "lat", sqlite3_column_double(st, 5));
        cJSON_AddNumberToObject(at, "lon", sqlite3_column_double(st, 6));
    } else {
        cJSON_AddNullToObject(p, "location");
    }
    cJSON_AddStringToObject(p, "photo", (const char *)sqlite3_column_text(st, 7));
    if (sqlite3_column_type(st, 8) == SQLITE_NULL)
        cJSON_AddNullToObject(p, "feasible");
    else
        cJSON_AddBoolToObject(p, "feasible", sqlite3_column_int(st, 8));
    cJSON_AddStringToObject(p, "reason", (const char *)sqlite3_column_text(st, 9));
    if (private_view)
        cJSON_AddStringToObject(p, "contact", (const char *)sqlite3_column_text(st, 10));
    return p;
}

void vote_proposals_get(struct vote *v, struct vote_budget *b, mst_http_request *req, int private_view)
{
    sqlite3_stmt *st = NULL;
    cJSON *out = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(out, "proposals");
    if (sqlite3_prepare_v2(v->db, "SELECT " COLUMNS " FROM proposal WHERE budget = ? ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK) {
        cJSON_Delete(out);
        vote_respond_error(v, req, 500, "the proposals could not be read");
        return;
    }
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        cJSON_AddItemToArray(list, proposal_json(st, private_view));
    sqlite3_finalize(st);
    cJSON_AddStringToObject(out, "phase", vote_phase_name(b->phase));
    vote_respond_json(v, req, 200, out);
}

cJSON *vote_projects(sqlite3 *db, const char *budget)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, title, cost FROM proposal WHERE budget = ? AND feasible = 1 "
                           "ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, budget, -1, SQLITE_STATIC);
    cJSON *list = cJSON_CreateArray();
    while (list && sqlite3_step(st) == SQLITE_ROW) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "id", (double)sqlite3_column_int64(st, 0));
        cJSON_AddStringToObject(p, "title", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddNumberToObject(p, "cost", sqlite3_column_double(st, 2));
        cJSON_AddItemToArray(list, p);
    }
    sqlite3_finalize(st);
    return list;
}

/* A text field: present (unless optional), a string, valid UTF-8 (the core
 * checked the body), at most max bytes.  NULL and why on a problem. */
static const char *text_field(const cJSON *body, const char *key, size_t max, int optional, char *why,
                              size_t whylen)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!j && optional)
        return "";
    const char *s = cJSON_GetStringValue(j);
    if (!s || (!*s && !optional) || strlen(s) > max) {
        snprintf(why, whylen, "\"%s\" must be a text of 1 to %zu bytes", key, max);
        return NULL;
    }
    return s;
}

struct fields {
    const char *title, *description, *district, *photo, *contact;
    double cost, lat, lon;
    int located;
};

/* Reads and checks a proposal's fields; why on a problem. */
static int read_fields(const struct vote_budget *b, const cJSON *body, struct fields *f, char *why, size_t whylen)
{
    if (!(f->title = text_field(body, "title", 200, 0, why, whylen)) ||
        !(f->description = text_field(body, "description", 10000, 0, why, whylen)) ||
        !(f->district = text_field(body, "district", 200, 1, why, whylen)) ||
        !(f->photo = text_field(body, "photo", 2000, 1, why, whylen)) ||
        !(f->contact = text_field(body, "contact", 200, 0, why, whylen)))
        return MST_EINVAL;
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(body, "cost");
    /* whole units: the published .pb file (pabulib) has whole costs */
    if (!cJSON_IsNumber(cost) || !(cost->valuedouble >= 1) || cost->valuedouble > b->rules.amount ||
        cost->valuedouble != floor(cost->valuedouble)) {
        snprintf(why, whylen, "\"cost\" must be a whole number of %s from 1 to the budget's amount (%.0f)",
                 b->currency, b->rules.amount);
        return MST_EINVAL;
    }
    f->cost = cost->valuedouble;
    if (*f->photo && strncmp(f->photo, "https://", 8) != 0) {
        snprintf(why, whylen, "\"photo\" must be an https:// link");
        return MST_EINVAL;
    }
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(body, "location");
    f->located = at && !cJSON_IsNull(at);
    if (f->located) {
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(at, "lat"), *lon = cJSON_GetObjectItemCaseSensitive(at, "lon");
        if (!cJSON_IsNumber(lat) || !cJSON_IsNumber(lon) || !(fabs(lat->valuedouble) <= 90) ||
            !(fabs(lon->valuedouble) <= 180)) {
            snprintf(why, whylen, "\"location\" must be {\"lat\": -90..90, \"lon\": -180..180} (WGS84 degrees)");
            return MST_EINVAL;
        }
        f->lat = lat->valuedouble;
        f->lon = lon->valuedouble;
    }
    return 0;
}

static int bind_fields(sqlite3_stmt *st, const struct fields *f, int first)
{
    sqlite3_bind_text(st, first, f->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, first + 1, f->description, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, first + 2, f->cost);
    sqlite3_bind_text(st, first + 3, f->district, -1, SQLITE_STATIC);
    if (f->located) {
        sqlite3_bind_double(st, first + 4, f->lat);
        sqlite3_bind_double(st, first + 5, f->lon);
    }
    sqlite3_bind_text(st, first + 6, f->photo, -1, SQLITE_STATIC);
    return sqlite3_bind_text(st, first + 7, f->contact, -1, SQLITE_STATIC);
}

/* Projects, costs and ballot rules are fixed once voting starts. */
static int editable(struct vote *v, struct vote_budget *b, mst_http_request *req, enum vote_phase last)
{
    if (b->phase <= last)
        return 1;
    vote_refuse(v, VOTE_R_PHASE, "a proposal change in budget %s's %s phase", b->id, vote_phase_name(b->phase));
    vote_respond_error(v, req, 409, "budget \"%s\" is in its %s phase: %s", b->id, vote_phase_name(b->phase),
                       last == VOTE_PROPOSALS ? "proposals are taken only in the proposals phase"
                                              : "projects and their costs cannot change once voting has started");
    return 0;
}

void vote_proposals_post(struct vote *v, struct vote_budget *b, mst_http_request *req)
{
    if (!editable(v, b, req, VOTE_PROPOSALS))
        return;
    cJSON *body = vote_body_json(v, req);
    if (!body)
        return;
    struct fields f = {0};
    char why[300];
    sqlite3_stmt *st = NULL;
    const char *k[] = {b->id};
    char *count = vote_db_text(v->db, "SELECT count(*) FROM proposal WHERE budget = ?", 1, k);
    int full = !count || atoi(count) >= VOTE_MAX_PROPOSALS;
    free(count);
    if (full) { /* anyone may propose: a flood stops here */
        vote_refuse(v, VOTE_R_PROPOSAL, "a proposal over the %d a budget takes", VOTE_MAX_PROPOSALS);
        vote_respond_error(v, req, 409, "budget \"%s\" takes at most %d proposals", b->id, VOTE_MAX_PROPOSALS);
    } else if (read_fields(b, body, &f, why, sizeof why) != 0) {
        vote_refuse(v, VOTE_R_PROPOSAL, "a proposal: %s", why);
        vote_respond_error(v, req, 400, "%s", why);
    } else if (sqlite3_prepare_v2(v->db, "INSERT INTO proposal(budget, id, title, description, cost, district, "
                                  "lat, lon, photo, contact) SELECT ?1, coalesce(max(id), 0) + 1, ?2, ?3, ?4, ?5, "
                                  "?6, ?7, ?8, ?9 FROM proposal WHERE budget = ?1 RETURNING id", -1, &st,
                                  NULL) != SQLITE_OK ||
               sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC) != SQLITE_OK || bind_fields(st, &f, 2) != SQLITE_OK ||
               sqlite3_step(st) != SQLITE_ROW) {
        vote_respond_error(v, req, 500, "the proposal could not be saved");
    } else {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddNumberToObject(out, "id", (double)sqlite3_column_int64(st, 0));
        vote_respond_json(v, req, 201, out);
    }
    sqlite3_finalize(st);
    cJSON_Delete(body);
}

/* A change to proposal <n> before voting: its number and the body, or NULL
 * (answered). */
static cJSON *change_request(struct vote *v, struct vote_budget *b, const char *n, mst_http_request *req,
                             int64_t *id)
{
    char *end;
    long long number = strtoll(n, &end, 10);
    *id = number;
    if (!*n || *end || number <= 0) {
        vote_respond_error(v, req, 404, "no proposal \"%s\"", n);
        return NULL;
    }
    return editable(v, b, req, VOTE_REVIEW) ? vote_body_json(v, req) : NULL;
}

/* Runs an UPDATE of one proposal; answers 404 if there is none. */
static void update_one(struct vote *v, mst_http_request *req, sqlite3_stmt *st, int64_t id)
{
    if (!st || sqlite3_step(st) != SQLITE_DONE)
        vote_respond_error(v, req, 500, "the proposal could not be saved");
    else if (sqlite3_changes(v->db) == 0)
        vote_respond_error(v, req, 404, "no proposal %lld", (long long)id);
    else
        v->host->http_respond(req, 204, "application/json", "", 0);
    sqlite3_finalize(st);
}

void vote_proposal_put(struct vote *v, struct vote_budget *b, const char *n, mst_http_request *req)
{
    int64_t id;
    cJSON *body = change_request(v, b, n, req, &id);
    if (!body)
        return;
    struct fields f = {0};
    char why[300];
    sqlite3_stmt *st = NULL;
    if (read_fields(b, body, &f, why, sizeof why) != 0) {
        vote_refuse(v, VOTE_R_PROPOSAL, "a proposal: %s", why);
        vote_respond_error(v, req, 400, "%s", why);
    } else {
        /* a changed proposal is reviewed again */
        sqlite3_prepare_v2(v->db, "UPDATE proposal SET title = ?2, description = ?3, cost = ?4, district = ?5, "
                           "lat = ?6, lon = ?7, photo = ?8, contact = ?9, feasible = NULL, reason = '' "
                           "WHERE budget = ?1 AND id = ?10", -1, &st, NULL);
        if (st) {
            sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
            bind_fields(st, &f, 2);
            sqlite3_bind_int64(st, 10, id);
        }
        update_one(v, req, st, id);
    }
    cJSON_Delete(body);
}

void vote_proposal_review(struct vote *v, struct vote_budget *b, const char *n, mst_http_request *req)
{
    int64_t id;
    cJSON *body = change_request(v, b, n, req, &id);
    if (!body)
        return;
    const cJSON *feasible = cJSON_GetObjectItemCaseSensitive(body, "feasible");
    const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "reason"));
    if (!cJSON_IsBool(feasible) || (reason && strlen(reason) > 2000) ||
        (cJSON_IsFalse(feasible) && (!reason || !*reason))) {
        vote_respond_error(v, req, 400, "a review is {\"feasible\": true|false, \"reason\": \"...\"}; the "
                           "public reason is required when a proposal is not feasible");
    } else {
        sqlite3_stmt *st = NULL;
        sqlite3_prepare_v2(v->db, "UPDATE proposal SET feasible = ?, reason = ? WHERE budget = ? AND id = ?", -1,
                           &st, NULL);
        if (st) {
            sqlite3_bind_int(st, 1, cJSON_IsTrue(feasible));
            sqlite3_bind_text(st, 2, reason ? reason : "", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, b->id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, id);
        }
        update_one(v, req, st, id);
    }
    cJSON_Delete(body);
}
