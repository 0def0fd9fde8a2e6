/*
 * regcat - the region's catalogue: harvests each town's DCAT-AP-CZ
 * catalogue (and the region's own opendata catalogue) with conditional
 * GETs, checks every record, and serves one Katalog that NKOD harvests.
 * Towns NKOD harvests directly (`nkod: "direct"`) are listed in `GET
 * towns` but not in the Katalog, so nothing is harvested twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include <mestys/cjson.h>
#include <mestys/dcat.h>

#include "regcat.h"

static const struct mst_config_key town_keys[] = {
    {.key = "town", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED,
     .description = "the town's name in URLs: a-z, 0-9, '-', '_'"},
    {.key = "catalog", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED,
     .description = "the URL of the town's DCAT-AP-CZ catalogue (opendata: .../api/opendata/catalog)"},
    {.key = "nkod", .type = MST_CFG_STRING, .default_json = "\"region\"", .choices = "region|direct",
     .description = "region: NKOD gets the town's records from the regional Katalog; direct: NKOD harvests the "
                    "town itself, the region only lists it"},
    {0},
};

static const struct mst_config_key config[] = {
    {.key = "base_url", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED,
     .description = "the public https:// URL of /api/<instance>/ (the Katalog's and the served records' IRIs)"},
    {.key = "catalog", .type = MST_CFG_OBJECT, .flags = MST_CFG_REQUIRED, .fields = mst_dcat_catalog_keys,
     .description = "the regional Katalog's own record"},
    {.key = "own_catalog", .type = MST_CFG_STRING,
     .description = "the URL of the region's own opendata catalogue, harvested like a town's and listed as is"},
    {.key = "towns", .type = MST_CFG_ARRAY, .fields = town_keys, .description = "the towns harvested"},
    {.key = "harvest_s", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "3600", .min = 1,
     .max = 604800, .description = "seconds between harvests (plus up to a tenth, at random)"},
    {.key = "timeout_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "10000", .min = 100,
     .max = 600000, .description = "the longest one request to a town may take"},
    {.key = "stale_drop_days", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "30", .min = 1,
     .max = 3650, .description = "a town unreachable for longer has its records left out of the Katalog"},
    {.key = "ca_file", .type = MST_CFG_STRING,
     .description = "PEM file of the CA certificates towns' https:// servers are checked against (default: "
                    "the system's)"},
    {.key = "connect_to", .type = MST_CFG_STRING_LIST,
     .description = "libcurl CONNECT_TO entries \"HOST:PORT:CONNECT-HOST:CONNECT-PORT\": reach a town's public "
                    "name at another address (split DNS, tests)"},
    {0},
};

static int fail(char *path, size_t pl, char *msg, size_t ml, const char *p, const char *m)
{
    snprintf(path, pl, "%s", p);
    snprintf(msg, ml, "%s", m);
    return MST_EINVAL;
}

static int town_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* What NKOD would refuse in the Katalog's own record, and towns that could
 * not be told apart. */
static int rc_check(const char *json, char *path, size_t pl, char *msg, size_t ml)
{
    cJSON *c = cJSON_Parse(json);
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(c, "catalog"), *t;
    const char *own = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "own_catalog"));
    const char *home = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cat, "homepage"));
    int rc = 0, i = 0;
    if (!rc_is_iri(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "base_url")), 1))
        rc = fail(path, pl, msg, ml, "base_url", "is not an https:// URL (NKOD takes https:// records only)");
    else if (!rc_is_iri(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cat, "publisher")), 0))
        rc = fail(path, pl, msg, ml, "catalog.publisher", "is not an IRI (https://rpp-opendata.egon.gov.cz/odrpp/"
                                                          "zdroj/orgán-veřejné-moci/<IČO>)");
    else if (home && !rc_is_iri(home, 1))
        rc = fail(path, pl, msg, ml, "catalog.homepage", "is not an https:// URL");
    else if (own && !rc_is_iri(own, 0))
        rc = fail(path, pl, msg, ml, "own_catalog", "is not an http(s):// URL");
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(c, "towns")) {
        char p[64];
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "town"));
        const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "catalog"));
        if (rc)
            break;
        snprintf(p, sizeof p, "towns[%d].town", i);
        if (name && !town_name_ok(name))
            rc = fail(path, pl, msg, ml, p, "is not a name for URLs: 1 to 64 of a-z, 0-9, '-', '_'");
        for (const cJSON *u = cJSON_GetObjectItemCaseSensitive(c, "towns")->child; !rc && name && u != t; u = u->next) {
            const char *before = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "town"));
            if (before && strcmp(name, before) == 0)
                rc = fail(path, pl, msg, ml, p, "names a town listed before");
        }
        snprintf(p, sizeof p, "towns[%d].catalog", i++);
        if (!rc && url && !rc_is_iri(url, 0))
            rc = fail(path, pl, msg, ml, p, "is not an http(s):// URL");
    }
    cJSON_Delete(c);
    return rc;
}

static int metrics(struct regcat *rc)
{
    const struct mst_metric_def m[] = {
        {MST_METRIC_COUNTER, "fetches_total{result=\"200\"}", "harvest requests, by answer", &rc->m_fetch_200},
        {MST_METRIC_COUNTER, "fetches_total{result=\"304\"}", "harvest requests, by answer", &rc->m_fetch_304},
        {MST_METRIC_COUNTER, "fetches_total{result=\"error\"}", "harvest requests, by answer", &rc->m_fetch_error},
        {MST_METRIC_GAUGE, "towns_stale", "towns whose last harvest failed (their last records still listed)",
         &rc->m_stale},
        {MST_METRIC_COUNTER, "harvests_total", "harvest rounds finished", &rc->m_rounds},
        {MST_METRIC_COUNTER, "requests_total", "requests to the Katalog, records and towns", &rc->m_requests},
        {MST_METRIC_COUNTER, "not_modified_total", "conditional requests answered 304", &rc->m_not_modified},
    };
    return mst_metrics_register(rc->host, rc->inst, m, sizeof m / sizeof m[0]);
}

static void on_harvest(void *arg, mst_http_request *req)
{
    struct regcat *rc = arg;
    int running = rc->next_src != SIZE_MAX;
    rc_harvest_round(rc);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", running ? "queued after the running harvest" : "started");
    cJSON_AddNumberToObject(o, "rounds", (double)rc->rounds);
    mst_http_respond_json(rc->host, req, 202, o);
}

static int routes(struct regcat *rc)
{
    const struct mst_host *h = rc->host;
    int r = h->http_route(rc->inst, "GET", "catalog", MST_ROLE_PUBLIC, rc_on_catalog, rc);
    if (r == 0)
        r = h->http_route(rc->inst, "GET", "catalog/*", MST_ROLE_PUBLIC, rc_on_record, rc);
    if (r == 0)
        r = h->http_route(rc->inst, "GET", "towns", MST_ROLE_PUBLIC, rc_on_towns, rc);
    if (r == 0)
        r = h->http_route(rc->inst, "GET", "towns/*", MST_ROLE_PUBLIC, rc_on_town, rc);
    if (r == 0)
        r = h->http_route(rc->inst, "POST", "harvest", MST_ROLE_OPERATOR, on_harvest, rc);
    return r;
}

static char *conf_string(struct regcat *rc, const char *path)
{
    const char *s = rc->host->config_string(rc->inst, path);
    return s ? strdup(s) : NULL;
}

static void add_source(struct regcat *rc, const char *name, const char *url, enum rc_kind kind)
{
    struct rc_source *s = &rc->src[rc->n_src++];
    s->name = strdup(name);
    s->catalog_url = strdup(url);
    s->kind = kind;
}

static int read_config(struct regcat *rc)
{
    const struct mst_host *h = rc->host;
    char path[64];
    char *json = h->config_json(rc->inst, "");
    rc->conf = cJSON_Parse(json);
    h->free(json);
    rc->base_url = conf_string(rc, "base_url");
    size_t bl = strlen(rc->base_url);
    while (bl && rc->base_url[bl - 1] == '/')
        rc->base_url[--bl] = '\0';
    rc->ca_file = conf_string(rc, "ca_file");
    h->config_int(rc->inst, "harvest_s", &rc->harvest_s);
    h->config_int(rc->inst, "timeout_ms", &rc->timeout_ms);
    h->config_int(rc->inst, "stale_drop_days", &rc->stale_drop_days);
    for (size_t i = 0; i < h->config_count(rc->inst, "connect_to"); i++) {
        snprintf(path, sizeof path, "connect_to[%zu]", i);
        rc->connect_to = curl_slist_append(rc->connect_to, h->config_string(rc->inst, path));
    }
    size_t n = h->config_count(rc->inst, "towns");
    rc->src = calloc(n + 1, sizeof *rc->src);
    const char *own = h->config_string(rc->inst, "own_catalog");
    if (own)
        add_source(rc, RC_OWN, own, RC_OWN_KIND);
    for (size_t i = 0; i < n; i++) {
        char town[64], url[64], nkod[64];
        snprintf(town, sizeof town, "towns[%zu].town", i);
        snprintf(url, sizeof url, "towns[%zu].catalog", i);
        snprintf(nkod, sizeof nkod, "towns[%zu].nkod", i);
        const char *kind = h->config_string(rc->inst, nkod);
        add_source(rc, h->config_string(rc->inst, town), h->config_string(rc->inst, url),
                   kind && strcmp(kind, "direct") == 0 ? RC_DIRECT : RC_REGION);
    }
    return 0;
}

/* Last-Modified of the Katalog moves when its own fields (config) change:
 * their hash is kept in the database with the time it was first seen. */
static int conf_changed(struct regcat *rc)
{
    char *head = rc_catalog_head_text(rc), *seen = NULL, *since = NULL, etag[RC_ETAG_LEN], now[24];
    rc_etag(head, strlen(head), etag);
    free(head);
    int r = rc_db_meta(rc, "head_etag", &seen);
    if (r == 0)
        r = rc_db_meta(rc, "head_since", &since);
    if (r == 0 && seen && since && strcmp(seen, etag) == 0) {
        rc->conf_changed_s = strtoll(since, NULL, 10);
    } else if (r == 0) {
        rc->conf_changed_s = (int64_t)time(NULL);
        snprintf(now, sizeof now, "%lld", (long long)rc->conf_changed_s);
        r = rc_db_meta_set(rc, "head_etag", etag);
        if (r == 0)
            r = rc_db_meta_set(rc, "head_since", now);
    }
    free(seen);
    free(since);
    return r;
}

static void rc_fini(void *state);

static int rc_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct regcat *rc = calloc(1, sizeof *rc);
    rc->inst = inst;
    rc->host = host;
    int r = read_config(rc);
    if (r == 0)
        r = rc_harvest_init(rc);
    if (r == 0 && (r = rc_db_open(rc)) != 0)
        host->log(inst, MST_LOG_ERROR, "cannot open regcat.sqlite: %s", mst_strerror(r));
    if (r == 0 && (r = rc_db_load(rc)) != 0)
        host->log(inst, MST_LOG_ERROR, "cannot read regcat.sqlite: %s", mst_strerror(r));
    if (r == 0)
        r = conf_changed(rc);
    if (r == 0) {
        rc_catalog_render(rc);
        r = metrics(rc);
    }
    if (r == 0)
        rc_stale_update(rc);
    if (r == 0)
        r = routes(rc);
    if (r != 0) {
        rc_fini(rc);
        return r;
    }
    *state = rc;
    return 0;
}

static int rc_start(void *state)
{
    struct regcat *rc = state;
    rc_harvest_round(rc); /* at once: the last records are served meanwhile */
    return 0;
}

static void rc_stop(void *state)
{
    struct regcat *rc = state;
    rc->stopping = 1;
}

static void rc_fini(void *state)
{
    struct regcat *rc = state;
    rc_harvest_fini(rc);
    if (rc->db)
        sqlite3_close(rc->db);
    for (size_t i = 0; i < rc->n_src; i++) {
        struct rc_source *s = &rc->src[i];
        free(s->name), free(s->catalog_url), free(s->cat_etag), free(s->cat_lm), free(s->cat_body);
        free(s->last_error);
        rc_records_free(s->recs, s->n_recs);
    }
    free(rc->src);
    free(rc->katalog);
    free(rc->base_url);
    free(rc->ca_file);
    cJSON_Delete(rc->conf);
    free(rc);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "regcat",
    .version = "0.1.0",
    .description = "the regional catalogue: harvests the towns' DCAT-AP-CZ catalogues, serves one Katalog for NKOD",
    .config = config,
    .init = rc_init,
    .start = rc_start,
    .stop = rc_stop,
    .fini = rc_fini,
    .check = rc_check,
};
