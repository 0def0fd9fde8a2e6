/* catalog.c - what the region serves: its Katalog (DCAT-AP-CZ JSON-LD,
 * "DCAT-AP Dokumenty" for NKOD) listing the region's own datasets and the
 * records of its `nkod: "region"` towns, each of those served at a region
 * URL that is its IRI; `GET towns` with each town's harvest state.  The
 * Katalog is rendered after each harvest, with a strong ETag over its
 * bytes and Last-Modified from when what it lists last changed, so NKOD's
 * conditional GET is answered 304 as the towns answer the region's. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mestys/cjson.h>
#include <mestys/dcat.h>
#include <mestys/http_cache.h>
#include <mestys/time.h>

#include "regcat.h"

/* The first 8 bytes of SHA-256 of the bytes served: names them, changes with them. */
void rc_etag(const void *data, size_t len, char out[RC_ETAG_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n < 8)
        memset(md, 0, 8);
    snprintf(out, RC_ETAG_LEN, "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", md[0], md[1], md[2], md[3], md[4], md[5],
             md[6], md[7]);
}

char *rc_record_url(const struct regcat *rc, const char *town, const char *id)
{
    size_t n = strlen(rc->base_url) + strlen(town) + strlen(id) + 40;
    char *url = malloc(n);
    snprintf(url, n, "%s/catalog/towns/%s/datasets/%s", rc->base_url, town, id);
    return url;
}

char *rc_served(const char *body, const char *url)
{
    cJSON *doc = cJSON_Parse(body);
    cJSON_ReplaceItemInObjectCaseSensitive(doc, "iri", cJSON_CreateString(url));
    char *out = cJSON_Print(doc);
    cJSON_Delete(doc);
    return out ? out : strdup("{}");
}

int rc_source_stale(const struct rc_source *s)
{
    return s->stale;
}

/* A source's records are in the Katalog: harvested once at least, not a
 * direct town (NKOD harvests those itself), and not stale for longer than
 * stale_drop_days. */
int rc_source_listed(const struct regcat *rc, const struct rc_source *s, int64_t now_s)
{
    if (s->kind == RC_DIRECT || s->last_ok_s == 0)
        return 0;
    return now_s - s->last_ok_s <= rc->stale_drop_days * 86400;
}

static void add_copy(cJSON *to, const char *name, const cJSON *from, const char *key)
{
    const cJSON *v = mst_dcat_get(from, key);
    if (v)
        cJSON_AddItemToObject(to, name, cJSON_Duplicate(v, 1));
}

static cJSON *katalog_head(const struct regcat *rc)
{
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(rc->conf, "catalog");
    cJSON *r = cJSON_CreateObject();
    char url[1024];
    cJSON_AddStringToObject(r, "@context", MST_DCAT_CONTEXT);
    snprintf(url, sizeof url, "%s/catalog", rc->base_url);
    cJSON_AddStringToObject(r, "iri", url);
    cJSON_AddStringToObject(r, "typ", "Katalog");
    add_copy(r, "název", cat, "title");
    add_copy(r, "popis", cat, "description");
    add_copy(r, "poskytovatel", cat, "publisher");
    cJSON *contact = mst_dcat_contact_point(mst_dcat_get(cat, "contact"));
    if (contact)
        cJSON_AddItemToObject(r, "kontaktní_bod", contact);
    add_copy(r, "domovská_stránka", cat, "homepage");
    return r;
}

/* The Katalog's fields from the config, hashed: init compares it with the
 * last run's to know whether Last-Modified moves. */
char *rc_catalog_head_text(const struct regcat *rc)
{
    cJSON *h = katalog_head(rc);
    char *s = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    return s;
}

void rc_catalog_render(struct regcat *rc)
{
    int64_t now_s = (int64_t)time(NULL), modified = rc->conf_changed_s;
    cJSON *r = katalog_head(rc);
    cJSON *list = cJSON_AddArrayToObject(r, "datová_sada");
    for (size_t i = 0; i < rc->n_src; i++) {
        const struct rc_source *s = &rc->src[i];
        if (!rc_source_listed(rc, s, now_s)) {
            /* dropped after stale_drop_days: the Katalog changed then */
            int64_t dropped = s->last_ok_s + rc->stale_drop_days * 86400;
            if (s->kind != RC_DIRECT && s->last_ok_s && dropped > modified)
                modified = dropped;
            continue;
        }
        if (s->changed_s > modified)
            modified = s->changed_s;
        for (size_t k = 0; k < s->n_recs; k++) {
            char *url = s->kind == RC_REGION ? rc_record_url(rc, s->name, s->recs[k].id) : NULL;
            cJSON_AddItemToArray(list, cJSON_CreateString(url ? url : s->recs[k].iri));
            free(url);
        }
    }
    char *text = cJSON_Print(r);
    cJSON_Delete(r);
    free(rc->katalog);
    rc->katalog = text;
    rc_etag(text, strlen(text), rc->katalog_etag);
    rc->katalog_modified_s = modified;
}

/* ETag, Last-Modified, Cache-Control, then 304 or the body. */
static void respond(struct regcat *rc, mst_http_request *req, const char *body, const char *etag, int64_t modified_s)
{
    const struct mst_host *h = rc->host;
    char date[40];
    h->metric_add(rc->m_requests, 1);
    h->http_set_header(req, "ETag", etag);
    if (modified_s > 0) {
        mst_http_date(modified_s, date);
        h->http_set_header(req, "Last-Modified", date);
    }
    h->http_set_header(req, "Cache-Control", "public, max-age=300");
    h->http_set_header(req, "Access-Control-Allow-Origin", "*");
    if (mst_http_not_modified(h->http_header(req, "if-none-match"), h->http_header(req, "if-modified-since"), etag,
                              modified_s)) {
        h->metric_add(rc->m_not_modified, 1);
        h->http_respond(req, 304, "application/ld+json", NULL, 0);
        return;
    }
    h->http_respond(req, 200, "application/ld+json", body, strlen(body));
}

void rc_on_catalog(void *arg, mst_http_request *req)
{
    struct regcat *rc = arg;
    respond(rc, req, rc->katalog, rc->katalog_etag, rc->katalog_modified_s);
}

static struct rc_source *town_of(struct regcat *rc, const char *name, size_t n)
{
    for (size_t i = 0; i < rc->n_src; i++)
        if (rc->src[i].kind != RC_OWN_KIND && strlen(rc->src[i].name) == n && strncmp(rc->src[i].name, name, n) == 0)
            return &rc->src[i];
    return NULL;
}

static void not_found(struct regcat *rc, mst_http_request *req, const char *fmt, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, what);
    rc->host->http_set_header(req, "Access-Control-Allow-Origin", "*");
    mst_http_respond_error(rc->host, req, 404, msg);
}

/* GET catalog/towns/<town>/datasets/<id> */
void rc_on_record(void *arg, mst_http_request *req)
{
    struct regcat *rc = arg;
    const char *sub = rc->host->http_subpath(req);
    if (strncmp(sub, "towns/", 6) != 0)
        return not_found(rc, req, "no record %.200s; the Katalog is at /catalog and lists every record", sub);
    const char *town = sub + 6, *slash = strchr(town, '/');
    struct rc_source *s = slash ? town_of(rc, town, (size_t)(slash - town)) : NULL;
    if (!s || strncmp(slash, "/datasets/", 10) != 0)
        return not_found(rc, req, "no record %.200s; the Katalog is at /catalog and lists every record", sub);
    if (s->kind == RC_DIRECT)
        return not_found(rc, req, "town %.64s is harvested by NKOD directly (nkod: direct): its records are at "
                                  "its own catalogue", s->name);
    const char *id = slash + 10;
    int64_t now_s = (int64_t)time(NULL);
    for (size_t i = 0; rc_source_listed(rc, s, now_s) && i < s->n_recs; i++)
        if (strcmp(s->recs[i].id, id) == 0)
            return respond(rc, req, s->recs[i].served, s->recs[i].served_etag, s->recs[i].changed_s);
    not_found(rc, req, "no record %.200s; the Katalog is at /catalog and lists every record", sub);
}

static void add_time(cJSON *o, const char *name, int64_t s)
{
    char buf[32];
    if (s <= 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    mst_time_format(s * 1000, buf);
    cJSON_AddStringToObject(o, name, buf);
}

static cJSON *town_json(struct regcat *rc, const struct rc_source *s, int records)
{
    static const char *const kinds[] = {"region", "direct", "own"};
    int64_t now_s = (int64_t)time(NULL);
    cJSON *t = cJSON_CreateObject();
    if (s->kind == RC_OWN_KIND)
        cJSON_AddNullToObject(t, "town");
    else
        cJSON_AddStringToObject(t, "town", s->name);
    cJSON_AddStringToObject(t, "catalog", s->catalog_url);
    cJSON_AddStringToObject(t, "nkod", kinds[s->kind]);
    add_time(t, "last_ok", s->last_ok_s);
    add_time(t, "last_attempt", s->last_try_s);
    cJSON_AddBoolToObject(t, "stale", rc_source_stale(s));
    cJSON_AddBoolToObject(t, "listed", rc_source_listed(rc, s, now_s));
    if (s->last_error)
        cJSON_AddStringToObject(t, "last_error", s->last_error);
    else
        cJSON_AddNullToObject(t, "last_error");
    cJSON_AddNumberToObject(t, "datasets", (double)s->n_recs);
    cJSON *refused = cJSON_AddObjectToObject(t, "refused");
    for (int r = 0; r < RC_R_N; r++)
        if (s->refused[r])
            cJSON_AddNumberToObject(refused, rc_reason_names[r], s->refused[r]);
    if (!records)
        return t;
    cJSON *list = cJSON_AddArrayToObject(t, "records");
    for (size_t i = 0; i < s->n_recs; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "iri", s->recs[i].iri);
        if (s->kind == RC_REGION) {
            char *url = rc_record_url(rc, s->name, s->recs[i].id);
            cJSON_AddStringToObject(o, "served", url);
            free(url);
        } else {
            cJSON_AddNullToObject(o, "served");
        }
        add_time(o, "changed", s->recs[i].changed_s);
        cJSON_AddItemToArray(list, o);
    }
    return t;
}

/* GET towns: every source with its harvest state */
void rc_on_towns(void *arg, mst_http_request *req)
{
    struct regcat *rc = arg;
    cJSON *o = cJSON_CreateObject(), *towns = cJSON_AddArrayToObject(o, "towns");
    for (size_t i = 0; i < rc->n_src; i++) {
        if (rc->src[i].kind == RC_OWN_KIND)
            cJSON_AddItemToObject(o, "own", town_json(rc, &rc->src[i], 0));
        else
            cJSON_AddItemToArray(towns, town_json(rc, &rc->src[i], 0));
    }
    cJSON_AddNumberToObject(o, "rounds", (double)rc->rounds);
    cJSON_AddBoolToObject(o, "harvesting", rc->next_src != SIZE_MAX);
    rc->host->metric_add(rc->m_requests, 1);
    mst_http_respond_json(rc->host, req, 200, o);
}

/* GET towns/<town>: one town with its records */
void rc_on_town(void *arg, mst_http_request *req)
{
    struct regcat *rc = arg;
    const char *name = rc->host->http_subpath(req);
    struct rc_source *s = town_of(rc, name, strlen(name));
    if (!s)
        return not_found(rc, req, "no town \"%.64s\"; GET towns lists them", name);
    rc->host->metric_add(rc->m_requests, 1);
    mst_http_respond_json(rc->host, req, 200, town_json(rc, s, 1));
}
