/*
 * opendata - publishes a town's datasets: an API (CSV, JSON, GeoJSON with
 * filters and keyset paging), daily bulk files, and the local catalogue
 * (LKOD) that the national catalogue (NKOD) harvests, in DCAT-AP-CZ.
 * Data comes from store/query; nothing but the fields a dataset declares
 * public leaves the town.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mestys/dcat.h>
#include <mestys/pages.h>

#include "opendata.h"

static const struct mst_config_key keyword_keys[] = {
    {.key = "cs", .type = MST_CFG_STRING_LIST, .flags = MST_CFG_REQUIRED, .description = "keywords in Czech"},
    {.key = "en", .type = MST_CFG_STRING_LIST, .description = "keywords in English"},
    {0},
};

static const struct mst_config_key terms_keys[] = {
    {.key = "author_work", .type = MST_CFG_STRING,
     .default_json = "\"https://data.gov.cz/podmínky-užití/neobsahuje-autorská-díla/\"",
     .description = "copyright of the content: a licence IRI (e.g. CC BY 4.0) or 'contains no authored works'"},
    {.key = "author", .type = MST_CFG_OBJECT, .fields = mst_dcat_name_keys,
     .description = "the author, when author_work is a licence"},
    {.key = "database_work", .type = MST_CFG_STRING,
     .default_json = "\"https://data.gov.cz/podmínky-užití/není-autorskoprávně-chráněnou-databází/\"",
     .description = "copyright of the database as a work"},
    {.key = "database_author", .type = MST_CFG_OBJECT, .fields = mst_dcat_name_keys,
     .description = "the database's author, when database_work is a licence"},
    {.key = "special_rights", .type = MST_CFG_STRING,
     .default_json = "\"https://data.gov.cz/podmínky-užití/není-chráněna-zvláštním-právem-pořizovatele-databáze/\"",
     .description = "the database maker's special right (sui generis)"},
    {.key = "personal_data", .type = MST_CFG_STRING,
     .default_json = "\"https://data.gov.cz/podmínky-užití/neobsahuje-osobní-údaje/\"",
     .choices = "https://data.gov.cz/podmínky-užití/neobsahuje-osobní-údaje/|"
                "https://data.gov.cz/podmínky-užití/obsahuje-osobní-údaje/",
     .description = "whether the data holds personal data"},
    {0},
};

static const struct mst_config_key source_keys[] = {
    {.key = "sensors", .type = MST_CFG_STRING_LIST, .description = "sensors whose readings belong (none: all)"},
    {.key = "metrics", .type = MST_CFG_STRING_LIST, .description = "metrics that belong (none: all)"},
    {.key = "tags", .type = MST_CFG_OBJECT,
     .description = "sensors whose tags have all of these, e.g. {\"kind\": \"parking\"} (lora devices' tags)"},
    {.key = "topic", .type = MST_CFG_STRING,
     .description = "instead: a topic whose messages the store keeps (store's topics)"},
    {0},
};

static const struct mst_config_key dataset_keys[] = {
    {.key = "id", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED,
     .description = "the dataset's name in URLs: a-z, 0-9, '-', '_'"},
    {.key = "title", .type = MST_CFG_OBJECT, .flags = MST_CFG_REQUIRED, .fields = mst_dcat_title_keys,
     .description = "{\"cs\", \"en\"}"},
    {.key = "description", .type = MST_CFG_OBJECT, .flags = MST_CFG_REQUIRED, .fields = mst_dcat_description_keys,
     .description = "{\"cs\", \"en\"}"},
    {.key = "keywords", .type = MST_CFG_OBJECT, .flags = MST_CFG_REQUIRED, .fields = keyword_keys,
     .description = "{\"cs\": [...], \"en\": [...]}"},
    {.key = "themes", .type = MST_CFG_STRING_LIST, .flags = MST_CFG_REQUIRED,
     .description = "EU data-theme IRIs (http://publications.europa.eu/resource/authority/data-theme/...)"},
    {.key = "frequency", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED,
     .description = "EU frequency IRI (http://publications.europa.eu/resource/authority/frequency/...)"},
    {.key = "ruian", .type = MST_CFG_STRING_LIST, .flags = MST_CFG_REQUIRED,
     .description = "RÚIAN territory IRIs (https://linked.cuzk.cz/resource/ruian/...)"},
    {.key = "publisher", .type = MST_CFG_STRING, .description = "overrides catalog.publisher"},
    {.key = "contact", .type = MST_CFG_OBJECT, .fields = mst_dcat_contact_keys, .description = "overrides catalog.contact"},
    {.key = "documentation", .type = MST_CFG_STRING,
     .description = "a page about the dataset (default: its metadata URL)"},
    {.key = "terms", .type = MST_CFG_OBJECT, .fields = terms_keys,
     .description = "terms of use: the four DCAT-AP-CZ fields"},
    {.key = "source", .type = MST_CFG_OBJECT, .flags = MST_CFG_REQUIRED, .fields = source_keys,
     .description = "where the rows come from: a store selection or a topic"},
    {.key = "fields", .type = MST_CFG_STRING_LIST,
     .description = "the public fields; readings default to all seven, a topic must list them"},
    {.key = "offline_after_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "7200000",
     .min = 1000, .max = 31536000000.0,
     .description = "a sensor with no reading newer than this is shown offline on the pages (default 2 hours)"},
    {0},
};

static const struct mst_config_key rate_keys[] = {
    {.key = "per_second", .type = MST_CFG_NUMBER, .flags = MST_CFG_HAS_RANGE, .default_json = "50", .min = 0,
     .max = 1e6, .description = "requests a second one client may make on average (0: no limit)"},
    {.key = "burst", .type = MST_CFG_NUMBER, .flags = MST_CFG_HAS_RANGE, .default_json = "200", .min = 1,
     .max = 1e7, .description = "requests one client may make at once"},
    {0},
};

static const struct mst_config_key config[] = {
    {.key = "base_url", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED,
     .description = "the public https:// URL of /api/<instance>/ (catalogue IRIs and links are built from it)"},
    {.key = "catalog", .type = MST_CFG_OBJECT, .flags = MST_CFG_REQUIRED, .fields = mst_dcat_catalog_keys,
     .description = "the local catalogue (LKOD) record"},
    {.key = "datasets", .type = MST_CFG_ARRAY, .flags = MST_CFG_REQUIRED, .fields = dataset_keys,
     .description = "the datasets"},
    {.key = "pages", .type = MST_CFG_BOOL, .default_json = "true",
     .description = "serve the citizens' sensor pages (map, list, charts) at /<instance>/"},
    {.key = "page_size", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "100", .min = 1,
     .max = 100000, .description = "rows per page when the request names no limit"},
    {.key = "max_page", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "1000", .min = 1,
     .max = 100000, .description = "the largest limit a request may ask for (at most the store's max_page)"},
    {.key = "cache_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "5000", .min = 0,
     .max = 86400000, .description = "how long an answer is served again from memory (0: never)"},
    {.key = "cache_mb", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "64", .min = 1,
     .max = 65536, .description = "memory for kept answers and daily files"},
    {.key = "query_timeout_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "10000",
     .min = 100, .max = 600000, .description = "how long to wait for the store"},
    {.key = "rate_limit", .type = MST_CFG_OBJECT, .fields = rate_keys,
     .description = "a token bucket per client address"},
    {.key = "bulk_days", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "90", .min = 1,
     .max = 36500, .description = "daily files are written for and kept this many days"},
    {.key = "bulk_delay_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "3600000",
     .min = 0, .max = 86400000, .description = "how long after midnight UTC a day's file is written"},
    {.key = "bulk_page", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "1000", .min = 1,
     .max = 100000, .description = "rows asked of the store at once when writing a daily file"},
    {0},
};

static const char *const requests[] = {"store/query", NULL};

static int check_rate(struct opendata *od, mst_http_request *req)
{
    int wait = od_rate_take(od, od->host->http_peer(req));
    if (wait == 0)
        return 0;
    char s[16];
    snprintf(s, sizeof s, "%d", wait);
    od->host->metric_add(od->m_limited, 1);
    if (!od->logged_limited) {
        od->logged_limited = 1;
        od->host->log(od->inst, MST_LOG_WARN, "client %s is over the rate limit (answered 429; further ones are "
                                              "only counted)", od->host->http_peer(req));
    }
    od->host->http_set_header(req, "Retry-After", s);
    od_respond_error(od, req, 429, "too many requests from %s: at most %g a second (bursts of %g); try again in %d s",
                     od->host->http_peer(req), od->rate, od->burst, wait);
    return -1;
}

static void on_list(void *arg, mst_http_request *req)
{
    struct opendata *od = arg;
    od->host->metric_add(od->m_requests, 1);
    if (check_rate(od, req) == 0)
        od_respond_static(od, req, od->list_json, "application/json", od->list_etag);
}

static void on_catalog(void *arg, mst_http_request *req)
{
    struct opendata *od = arg;
    od->host->metric_add(od->m_requests, 1);
    if (check_rate(od, req) == 0)
        od_respond_static(od, req, od->catalog_jsonld, "application/ld+json", od->catalog_etag);
}

/* Splits "<id>/<rest>" and finds the dataset; answers 404 if there is none. */
static struct od_dataset *dataset_of(struct opendata *od, mst_http_request *req, const char **rest)
{
    const char *sub = od->host->http_subpath(req);
    size_t n = strcspn(sub, "/");
    struct od_dataset *ds = od_dataset_find(od, sub, n);
    *rest = sub[n] ? sub + n + 1 : "";
    if (!ds) {
        char *list = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&list, &len);
        for (size_t i = 0; i < od->n_datasets; i++)
            fprintf(f, "%s%s", i ? ", " : "", od->datasets[i].id);
        fclose(f);
        od_respond_error(od, req, 404, "no dataset \"%.*s\"; the datasets are: %s", (int)(n > 64 ? 64 : n), sub,
                         od->n_datasets ? list : "(none)");
        free(list);
    }
    return ds;
}

static void on_record(void *arg, mst_http_request *req)
{
    struct opendata *od = arg;
    od->host->metric_add(od->m_requests, 1);
    if (check_rate(od, req) != 0)
        return;
    const char *sub = od->host->http_subpath(req), *rest;
    if (strncmp(sub, "datasets/", 9) != 0)
        return od_respond_error(od, req, 404, "the catalogue has /catalog and /catalog/datasets/<id>");
    /* dataset_of reads the subpath: skip "datasets/" by looking it up here */
    size_t n = strcspn(sub + 9, "/");
    struct od_dataset *ds = od_dataset_find(od, sub + 9, n);
    rest = sub[9 + n] ? sub + 9 + n + 1 : "";
    if (!ds || *rest)
        return od_respond_error(od, req, 404, "no catalogue record %.80s; the list is at /catalog", sub);
    od_respond_static(od, req, ds->record_jsonld, "application/ld+json", ds->record_etag);
}

static void on_dataset(void *arg, mst_http_request *req)
{
    struct opendata *od = arg;
    const char *rest;
    od->host->metric_add(od->m_requests, 1);
    if (check_rate(od, req) != 0)
        return;
    struct od_dataset *ds = dataset_of(od, req, &rest);
    if (!ds)
        return;
    if (!*rest)
        return od_respond_static(od, req, ds->meta_json, "application/json", ds->meta_etag);
    if (strncmp(rest, "data", 4) == 0 && (rest[4] == '\0' || rest[4] == '.') && !strchr(rest, '/'))
        return od_data_get(od, req, ds, rest + 4);
    if (strcmp(rest, "bulk") == 0)
        return od_bulk_index(od, req, ds);
    if (strcmp(rest, "sensors") == 0)
        return od_sensors_get(od, req, ds);
    if (strncmp(rest, "bulk/", 5) == 0)
        return od_bulk_get(od, req, ds, rest + 5);
    od_respond_error(od, req, 404, "dataset \"%s\" has data, data.csv, data.json, data.geojson, sensors, "
                                   "bulk and bulk/<YYYY-MM-DD>.csv; not \"%.80s\"", ds->id, rest);
}

static void on_rebuild(void *arg, mst_http_request *req)
{
    struct opendata *od = arg;
    const char *rest;
    struct od_dataset *ds = dataset_of(od, req, &rest);
    if (!ds)
        return;
    if (strncmp(rest, "bulk/", 5) != 0)
        return od_respond_error(od, req, 404, "POST datasets/<id>/bulk/<YYYY-MM-DD>.csv writes that day's file again");
    od_bulk_rebuild(od, req, ds, rest + 5);
}

static void on_sweep(void *arg)
{
    struct opendata *od = arg;
    od_rate_sweep(od);
}

static int metrics(struct opendata *od)
{
    const struct mst_metric_def m[] = {
        {MST_METRIC_COUNTER, "requests_total", "requests to the datasets and catalogue", &od->m_requests},
        {MST_METRIC_COUNTER, "cache_hits_total", "answers served from memory", &od->m_hits},
        {MST_METRIC_COUNTER, "cache_misses_total", "answers that had to be made", &od->m_misses},
        {MST_METRIC_COUNTER, "not_modified_total", "conditional requests answered 304", &od->m_not_modified},
        {MST_METRIC_COUNTER, "rate_limited_total", "requests answered 429", &od->m_limited},
        {MST_METRIC_COUNTER, "bad_requests_total", "requests refused for bad parameters", &od->m_bad},
        {MST_METRIC_COUNTER, "store_errors_total", "store/query failures (answered 503)",
         &od->m_store_errors},
        {MST_METRIC_COUNTER, "bulk_files_total", "daily files written", &od->m_bulk_files},
        {MST_METRIC_COUNTER, "bulk_errors_total", "daily files that failed", &od->m_bulk_errors},
        {MST_METRIC_GAUGE, "cache_bytes", "memory held by kept answers", &od->m_cache_bytes},
    };
    return mst_metrics_register(od->host, od->inst, m, sizeof m / sizeof m[0]);
}

static int routes(struct opendata *od)
{
    const struct mst_host *h = od->host;
    int rc = h->http_route(od->inst, "GET", "datasets", MST_ROLE_PUBLIC, on_list, od);
    if (rc == 0)
        rc = h->http_route(od->inst, "GET", "datasets/*", MST_ROLE_PUBLIC, on_dataset, od);
    if (rc == 0)
        rc = h->http_route(od->inst, "POST", "datasets/*", MST_ROLE_OPERATOR, on_rebuild, od);
    if (rc == 0)
        rc = h->http_route(od->inst, "GET", "catalog", MST_ROLE_PUBLIC, on_catalog, od);
    if (rc == 0)
        rc = h->http_route(od->inst, "GET", "catalog/*", MST_ROLE_PUBLIC, on_record, od);
    return rc;
}

static void od_fini(void *state);

static int read_numbers(struct opendata *od)
{
    const struct mst_host *h = od->host;
    h->config_int(od->inst, "page_size", &od->page_size);
    h->config_int(od->inst, "max_page", &od->max_page);
    h->config_int(od->inst, "cache_ms", &od->cache_ms);
    h->config_int(od->inst, "cache_mb", &od->cache_mb);
    h->config_int(od->inst, "query_timeout_ms", &od->query_timeout_ms);
    h->config_int(od->inst, "bulk_days", &od->bulk_days);
    h->config_int(od->inst, "bulk_delay_ms", &od->bulk_delay_ms);
    h->config_int(od->inst, "bulk_page", &od->bulk_page);
    h->config_number(od->inst, "rate_limit.per_second", &od->rate);
    h->config_number(od->inst, "rate_limit.burst", &od->burst);
    if (od->page_size > od->max_page) {
        h->log(od->inst, MST_LOG_ERROR, "page_size (%lld) is larger than max_page (%lld)", (long long)od->page_size,
               (long long)od->max_page);
        return MST_EINVAL;
    }
    return 0;
}

static int od_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    if (!MST_HOST_HAS(host, http_peer))
        return MST_ENOTSUP;
    struct opendata *od = calloc(1, sizeof *od);
    od->inst = inst;
    od->host = host;
    od->started_s = (int64_t)time(NULL);
    char *json = host->config_json(inst, "");
    od->conf = cJSON_Parse(json);
    host->free(json);
    char path[256], msg[512];
    int rc = od_config_read(od, od->conf, path, sizeof path, msg, sizeof msg);
    if (rc != 0)
        host->log(inst, MST_LOG_ERROR, "%s: %s", path, msg);
    if (rc == 0)
        rc = read_numbers(od);
    if (rc == 0) {
        od->cache = od_lru_new(4096, (size_t)od->cache_mb << 20, od_answer_free);
        od->buckets = od_lru_new(65536, 64u << 20, free);
        od_catalog_render(od);
        rc = metrics(od);
    }
    if (rc == 0)
        rc = routes(od);
    if (rc == 0)
        rc = mst_pages_mount(host, inst, "opendata");
    if (rc != 0) {
        od_fini(od);
        return rc;
    }
    *state = od;
    return 0;
}

static int od_start(void *state)
{
    struct opendata *od = state;
    int rc = od_bulk_start(od);
    if (rc == 0)
        rc = od->host->timer_start(od->inst, 10000, 10000, on_sweep, od, &od->sweep_timer);
    return rc;
}

static void od_stop(void *state)
{
    struct opendata *od = state;
    od->stopping = 1;
    od_bulk_stop(od);
}

static void od_fini(void *state)
{
    struct opendata *od = state;
    od_data_cancel_all(od);
    od_sensors_cancel_all(od);
    od_lru_free(od->cache);
    od_lru_free(od->buckets);
    od_config_free(od);
    free(od->catalog_jsonld);
    free(od->list_json);
    cJSON_Delete(od->conf);
    free(od);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "opendata",
    .version = "0.1.0",
    .description = "datasets as an API (CSV, JSON, GeoJSON), daily files and a DCAT-AP-CZ catalogue for NKOD",
    .config = config,
    .requests = requests,
    .init = od_init,
    .start = od_start,
    .stop = od_stop,
    .fini = od_fini,
    .check = od_plugin_check,
};
