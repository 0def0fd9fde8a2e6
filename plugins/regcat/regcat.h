/* regcat.h - the regional catalogue: harvests the towns' DCAT-AP-CZ
 * catalogues ("DCAT-AP Dokumenty") and serves one Katalog for NKOD.
 *   plugin.c    lifecycle, config table, routes, metrics, the harvest timer
 *   harvest.c   one source (a town, or the region's own catalogue) fetched
 *               with libcurl on a worker: conditional GETs, records checked
 *   records.c   a harvested Katalog or dataset record checked (the schemas'
 *               required lists, IRI patterns)
 *   catalog.c   the regional Katalog, served records, the towns' list; ETag
 *   db.c        the harvested state in SQLite (kept across restarts) */
#ifndef REGCAT_REGCAT_H
#define REGCAT_REGCAT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include <cjson/cJSON.h>
#include <mestys/dcat.h>
#include <mestys/mestys.h>

struct curl_slist;

#define RC_BODY_MAX (4u << 20)  /* a catalogue or a record larger than this is refused */
#define RC_DATASETS_MAX 10000   /* dataset IRIs read from one catalogue */
#define RC_ETAG_LEN 24
#define RC_RETRY_S 300         /* the next harvest while a town is stale (unless harvest_s is shorter) */
#define RC_OWN "@own"           /* the region's own catalogue in the database (no town name has '@') */

/* Why a harvested document was refused (metric label `reason`). */
enum rc_reason {
    RC_R_JSON,      /* not a JSON object */
    RC_R_CONTEXT,   /* @context is not the 2021-01-11 context */
    RC_R_TYP,       /* typ is not "Datová sada" / "Katalog" */
    RC_R_REQUIRED,  /* a required key is missing */
    RC_R_IRI,       /* an IRI that is not one, or not of its code list; iri not the URL fetched */
    RC_R_TEXT,      /* a text that is not {"cs": "...", ...} */
    RC_R_SIZE,      /* larger than RC_BODY_MAX */
    RC_R_DUPLICATE, /* an IRI its catalogue lists twice */
    RC_R_N
};
extern const char *const rc_reason_names[RC_R_N];

enum rc_kind { RC_REGION, RC_DIRECT, RC_OWN_KIND };

struct rc_record {
    char *iri;            /* as the town lists it: the URL it was fetched from */
    char *id;             /* region towns: served at catalog/towns/<town>/datasets/<id> */
    char *body;           /* the record as harvested (checked) */
    char *etag, *last_modified; /* the town's validators of iri, or NULL */
    char *served;         /* region towns: the record with iri rewritten to the region's URL */
    char served_etag[RC_ETAG_LEN];
    int64_t changed_s;    /* when its bytes last changed (Last-Modified) */
};

/* A catalogue harvested: a town, or the region's own. */
struct rc_source {
    char *name;           /* town name; RC_OWN for the region's own */
    char *catalog_url;
    enum rc_kind kind;
    /* what the last harvests left; a running job reads it, only the loop writes it */
    char *cat_etag, *cat_lm, *cat_body;
    struct rc_record *recs;
    size_t n_recs;
    int64_t last_ok_s, last_try_s, changed_s;
    char *last_error;     /* what went wrong in the last harvest, or NULL */
    int stale;            /* the last harvest failed: the records are the last ones it had */
    unsigned refused[RC_R_N]; /* records refused by the last harvest, by reason */
    mst_metric *m_refused[RC_R_N];
    int logged_down, logged_refused;
};

/* A source harvested on a worker: the new state, given to the source on
 * the loop (harvest.c), saved by the worker (db.c). */
struct rc_job {
    struct regcat *rc;
    struct rc_source *src;
    int64_t now_s;
    /* the new state, given to the source on the loop */
    int ok;                  /* the catalogue was fetched and accepted */
    char error[1024];         /* why not, or the first dataset that could not be fetched */
    char refusal[1024];       /* the first record refused */
    char *cat_etag, *cat_lm, *cat_body;
    struct rc_record *recs;
    size_t n_recs;
    unsigned refused[RC_R_N];
    unsigned n200, n304, nerr;
    int64_t changed_s;
    int db_rc;
};


struct regcat {
    mst_instance *inst;
    const struct mst_host *host;
    cJSON *conf;
    char *base_url;
    struct rc_source *src; /* the own catalogue first (if any), then the towns in config order */
    size_t n_src;
    int64_t harvest_s, timeout_ms, stale_drop_days;
    char *ca_file;
    struct curl_slist *connect_to; /* libcurl's list */
    void *curl;           /* one easy handle: keep-alive across a source's requests */
    struct sqlite3 *db;   /* used by the worker while a job runs, by the loop otherwise */
    mst_timer *timer;
    struct rc_job *job;   /* the job in flight, or NULL */
    size_t next_src;      /* the next source of the running round */
    int round_again;      /* a harvest asked for during a round: one more round after it */
    uint64_t rounds;      /* harvest rounds finished */
    int64_t conf_changed_s; /* when the Katalog's own fields last changed */
    int stopping;
    /* catalog.c */
    char *katalog;
    char katalog_etag[RC_ETAG_LEN];
    int64_t katalog_modified_s;
    mst_metric *m_fetch_200, *m_fetch_304, *m_fetch_error, *m_stale, *m_rounds, *m_requests, *m_not_modified;
};

/* records.c: check a harvested document.  Returns -1 and *out (the parsed
 * document, cJSON_Delete it) when it is accepted, else the reason (enum
 * rc_reason) with a sentence in why.  expect_iri: the URL the record was
 * fetched from, which its iri must be (NULL: not checked). */
int rc_record_check(const char *text, size_t len, const char *expect_iri, cJSON **out, char *why, size_t why_len);
int rc_catalog_check(const char *text, size_t len, cJSON **out, char *why, size_t why_len);
int rc_is_iri(const char *s, int https_only);

/* catalog.c */
void rc_etag(const void *data, size_t len, char out[RC_ETAG_LEN]);
/* The record as the region serves it: iri rewritten to url.  malloc'd. */
char *rc_served(const char *body, const char *url);
char *rc_record_url(const struct regcat *rc, const char *town, const char *id);
void rc_catalog_render(struct regcat *rc);
/* The Katalog's own fields (from the config) as text, to notice a change. */
char *rc_catalog_head_text(const struct regcat *rc);
int rc_source_listed(const struct regcat *rc, const struct rc_source *s, int64_t now_s);
int rc_source_stale(const struct rc_source *s);
void rc_on_catalog(void *arg, mst_http_request *req);
void rc_on_record(void *arg, mst_http_request *req);
void rc_on_towns(void *arg, mst_http_request *req);
void rc_on_town(void *arg, mst_http_request *req);

/* harvest.c */
int rc_harvest_init(struct regcat *rc);
void rc_harvest_fini(struct regcat *rc);
/* Starts a round over every source unless one runs (then one more follows). */
void rc_harvest_round(struct regcat *rc);
void rc_stale_update(struct regcat *rc);
void rc_record_free(struct rc_record *r);
void rc_records_free(struct rc_record *r, size_t n);

/* db.c */
int rc_db_open(struct regcat *rc);
int rc_db_load(struct regcat *rc);
/* Worker side: the source's new state in one transaction. */
int rc_db_save(struct sqlite3 *db, const char *name, const struct rc_job *job);
int rc_db_meta(struct regcat *rc, const char *key, char **value);
int rc_db_meta_set(struct regcat *rc, const char *key, const char *value);

#endif
