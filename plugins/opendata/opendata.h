/* opendata.h - a town's datasets as an API, daily bulk files and a
 * DCAT-AP-CZ catalogue (LKOD, "DCAT-AP Dokumenty" mode).
 *   plugin.c     lifecycle, config table, routes, metrics
 *   config.c     the config read into datasets; the checks `mestys check` runs
 *   catalog.c    JSON-LD records and the API's own metadata documents
 *   data.c       the data API: filters, store/query, paging
 *   render.c     readings as CSV, JSON, GeoJSON
 *   respond.c    ETag / Last-Modified / 304, Cache-Control, JSON errors
 *   lru.c        a string-keyed map with LRU order (response cache, rate buckets)
 *   ratelimit.c  token bucket per client
 *   bulk.c       one CSV per dataset and day, written off the loop
 *   sensors.c    each sensor of a dataset with its newest values, for the map */
#ifndef OPENDATA_OPENDATA_H
#define OPENDATA_OPENDATA_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <mestys/dcat.h>
#include <mestys/mestys.h>
#include <mestys/number.h>
#include <mestys/time.h>

/* datasets[].offline_after_ms when the config leaves it out: two hours,
 * several missed reports of a sensor that reports every 10-30 minutes. */
#define OD_OFFLINE_AFTER_MS 7200000

/* The public fields a reading may have, in CSV column order. */
enum od_field {
    OD_TIME = 1u << 0,
    OD_SENSOR = 1u << 1,
    OD_METRIC = 1u << 2,
    OD_VALUE = 1u << 3,
    OD_UNIT = 1u << 4,
    OD_LAT = 1u << 5,
    OD_LON = 1u << 6,
};
#define OD_N_READING_FIELDS 7
extern const char *const od_reading_fields[OD_N_READING_FIELDS];

/* A config member; an object with no members counts as absent (the schema
 * fills in an empty object for an optional section that was left out). */
static inline const cJSON *od_get(const cJSON *o, const char *key)
{
    return mst_dcat_get(o, key);
}

struct od_dataset {
    char *id;
    cJSON *conf; /* the dataset's config block (metadata is rendered from it) */
    char **sensors, **metrics;
    size_t n_sensors, n_metrics;
    const cJSON *tags; /* source.tags in conf: sensors labelled so, or NULL */
    char *topic;       /* a topic source (kept by the store as events) */
    unsigned fields;   /* readings: the public ones (enum od_field) */
    char **body_fields;/* topic source: the public keys of a message body */
    size_t n_body_fields;
    int64_t offline_after_ms; /* a sensor with nothing newer is shown offline */
    /* rendered once at init */
    char *meta_json, *record_jsonld;
    char meta_etag[24], record_etag[24];
    /* bulk.c */
    char *bulk_dir;
    int64_t latest_day; /* newest day with a file, -1 if none */
    int64_t force_day;  /* a day to write again (POST), -1 if none */
    int64_t *empty_days;/* days the store had nothing for: no file, not asked again */
    size_t n_empty;
};

/* An answer kept for its ETag and to be served again (lru.c values). */
struct od_answer {
    char *body;
    size_t len;
    const char *content_type;
    char etag[24];
    int64_t modified_s;  /* Last-Modified, Unix seconds */
    int64_t expires_ms;  /* loop clock */
    char *link;          /* Link header (next page), or NULL */
    int max_age_s;
    char *gz;            /* the body gzipped, for clients that take it, or NULL */
    size_t gz_len;
    char gz_etag[24];
};

struct od_lru;

struct od_bulk_job;

struct opendata {
    mst_instance *inst;
    const struct mst_host *host;
    cJSON *conf;
    char *base_url;
    struct od_dataset *datasets;
    size_t n_datasets;
    int64_t page_size, max_page, cache_ms, cache_mb, query_timeout_ms;
    double rate, burst;
    int64_t bulk_days, bulk_page, bulk_delay_ms;
    char *catalog_jsonld, *list_json;
    char catalog_etag[24], list_etag[24];
    int64_t started_s; /* Last-Modified of documents that change only with the config */
    struct od_lru *cache;   /* path?query -> struct od_answer */
    struct od_lru *buckets; /* client address -> token bucket */
    mst_timer *bulk_timer, *sweep_timer;
    struct od_bulk_job *bulk_job;
    struct od_pending *pending; /* data requests waiting for the store */
    struct od_sensors_query *sensors_pending; /* sensors.c: the same, for sensor lists */
    int stopping;
    mst_metric *m_requests, *m_hits, *m_misses, *m_not_modified, *m_limited, *m_bad, *m_store_errors,
        *m_bulk_files, *m_bulk_errors, *m_cache_bytes;
    int logged_bad, logged_limited, logged_store, logged_bulk;
};

/* config.c: reads and checks the whole config; on a problem sets path
 * (relative to the config) and msg and returns MST_EINVAL. */
int od_config_read(struct opendata *od, const cJSON *conf, char *path, size_t path_len, char *msg,
                   size_t msg_len);
void od_config_free(struct opendata *od);
struct od_dataset *od_dataset_find(struct opendata *od, const char *id, size_t len);
int od_plugin_check(const char *config, char *path, size_t path_len, char *msg, size_t msg_len);

/* catalog.c: renders every static document (catalogue, records, metadata). */
void od_catalog_render(struct opendata *od);
/* The URL of something under the instance, for people and harvesters. */
char *od_url(const struct opendata *od, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* data.c */
void od_data_get(struct opendata *od, mst_http_request *req, struct od_dataset *ds, const char *ext);
void od_data_cancel_all(struct opendata *od);
void od_answer_free(void *answer); /* an od_lru free callback */

/* sensors.c: GET datasets/<id>/sensors */
void od_sensors_get(struct opendata *od, mst_http_request *req, struct od_dataset *ds);
void od_sensors_cancel_all(struct opendata *od);

/* render.c: a store/query reply as the format asked for.  Returns a
 * malloc'd body and its length. */
enum od_format { OD_JSON, OD_CSV, OD_GEOJSON };
char *od_render(const struct od_dataset *ds, enum od_format f, cJSON *reply, const char *next_url, int bom,
                size_t *len);
/* Writes a reply's rows as CSV rows (no header). */
void od_render_csv_rows(const struct od_dataset *ds, const cJSON *reply, FILE *out);
char *od_csv_header(const struct od_dataset *ds, int bom);
const char *od_format_type(enum od_format f);

/* respond.c */
/* Adds the gzip form of a->body when it is worth it (thread-safe: workers
 * call it once per answer they make). */
void od_answer_compress(struct od_answer *a);
/* The request's Accept-Encoding takes gzip. */
int od_takes_gzip(const struct opendata *od, mst_http_request *req);
uint64_t od_hash(const void *data, size_t len); /* FNV-1a */
void od_etag(const void *data, size_t len, char out[24]);
void od_http_date(int64_t unix_s, char out[40]);
/* Answers 304 if the request's conditions match etag/modified, else the
 * body; sets ETag, Last-Modified, Cache-Control (and Link). */
void od_respond_answer(struct opendata *od, mst_http_request *req, const struct od_answer *a);
/* {"error": "...", "status": N} with a sentence a person understands. */
void od_respond_error(struct opendata *od, mst_http_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A document that changes only with the config. */
void od_respond_static(struct opendata *od, mst_http_request *req, const char *body, const char *type,
                       const char *etag);

/* lru.c */
typedef void (*od_lru_free_cb)(void *value);
struct od_lru *od_lru_new(size_t max_entries, size_t max_bytes, od_lru_free_cb free_value);
void *od_lru_get(struct od_lru *l, const char *key); /* and marks it recently used */
/* Takes value; replaces (and frees) an older one under the same key. */
void od_lru_put(struct od_lru *l, const char *key, void *value, size_t bytes);
/* Removes entries for which drop(value) says 1, oldest first, until one says 0. */
void od_lru_trim_old(struct od_lru *l, int (*drop)(void *value, void *arg), void *arg);
size_t od_lru_bytes(const struct od_lru *l);
size_t od_lru_count(const struct od_lru *l);
void od_lru_free(struct od_lru *l);

/* ratelimit.c: 0 to go on, or the seconds to wait (Retry-After). */
int od_rate_take(struct opendata *od, const char *client);
void od_rate_sweep(struct opendata *od);

/* bulk.c */
int od_bulk_start(struct opendata *od);
void od_bulk_stop(struct opendata *od);
void od_bulk_get(struct opendata *od, mst_http_request *req, struct od_dataset *ds, const char *file);
void od_bulk_index(struct opendata *od, mst_http_request *req, struct od_dataset *ds);
void od_bulk_rebuild(struct opendata *od, mst_http_request *req, struct od_dataset *ds, const char *file);
/* Starts writing the newest missing day, if no file is being written. */
void od_bulk_tick(struct opendata *od);

#endif
