/* harvest.c - one source at a time (the region's own catalogue, then each
 * town), each on a worker with libcurl's easy interface: the catalogue,
 * then every dataset URL it lists, each with the validators of its last
 * copy (If-None-Match, If-Modified-Since) so an unchanged town answers 304
 * and nothing is sent again.  The worker reads the source's last state and
 * builds the new one beside it; the loop swaps them when the job is back.
 * A town that cannot be reached keeps its last records (stale). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <mestys/time.h>

#include "regcat.h"

struct rc_fetch {
    const char *url, *etag, *last_modified; /* in: the validators of the copy we have */
    long status;                             /* out: 200 or 304 */
    char *body, *etag_out, *lm_out;
    size_t len, cap;
    int too_big;
    char err[CURL_ERROR_SIZE + 64];
};


static void fetch_free(struct rc_fetch *f)
{
    free(f->body);
    free(f->etag_out);
    free(f->lm_out);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct rc_fetch *f = arg;
    size_t len = size * n;
    if (f->len + len > RC_BODY_MAX) {
        f->too_big = 1;
        return 0; /* curl stops: CURLE_WRITE_ERROR */
    }
    if (f->len + len + 1 > f->cap) {
        size_t cap = f->cap ? f->cap : 16384;
        while (cap < f->len + len + 1)
            cap *= 2;
        char *b = realloc(f->body, cap);
        if (!b)
            return 0;
        f->body = b;
        f->cap = cap;
    }
    memcpy(f->body + f->len, p, len);
    f->len += len;
    f->body[f->len] = '\0';
    return len;
}

/* "Name: value\r\n" -> a copy of value if the name is `name`. */
static int header_value(const char *p, size_t n, const char *name, char **out)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
        return 0;
    p += nl + 1, n -= nl + 1;
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
        n--;
    free(*out);
    *out = strndup(p, n);
    return 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct rc_fetch *f = arg;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new answer (after a redirect): its own headers */
        free(f->etag_out), free(f->lm_out);
        f->etag_out = f->lm_out = NULL;
    } else if (!header_value(p, len, "etag", &f->etag_out)) {
        header_value(p, len, "last-modified", &f->lm_out);
    }
    return len;
}

static struct curl_slist *request_headers(const struct rc_fetch *f)
{
    char line[512];
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/ld+json, application/json;q=0.9");
    if (f->etag && strlen(f->etag) < 400) {
        snprintf(line, sizeof line, "If-None-Match: %s", f->etag);
        h = curl_slist_append(h, line);
    }
    if (f->last_modified && strlen(f->last_modified) < 400) {
        snprintf(line, sizeof line, "If-Modified-Since: %s", f->last_modified);
        h = curl_slist_append(h, line);
    }
    return h;
}

/* One GET.  0: f->status is 200 (f->body) or 304; -1: f->err says why. */
static int fetch(struct regcat *rc, struct rc_fetch *f)
{
    CURL *c = rc->curl;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = request_headers(f);
    curl_easy_reset(c); /* keeps the connections and TLS sessions */
    curl_easy_setopt(c, CURLOPT_URL, f->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* a worker thread: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)rc->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(rc->timeout_ms < 5000 ? rc->timeout_ms : 5000));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding curl decodes (gzip) */
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mestys-regcat/0.1.0");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
    if (rc->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, rc->ca_file);
    if (rc->connect_to)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, rc->connect_to);
    CURLcode res = curl_easy_perform(c);
    curl_slist_free_all(headers);
    if (res != CURLE_OK) {
        snprintf(f->err, sizeof f->err, "%s", f->too_big ? "larger than 4 MiB" : *errbuf ? errbuf
                                                                                      : curl_easy_strerror(res));
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
    if (f->status == 200 && f->body)
        return 0;
    if (f->status == 200) {
        f->body = strdup(""); /* an empty answer: refused by the check as not JSON */
        return 0;
    }
    if (f->status == 304)
        return 0;
    snprintf(f->err, sizeof f->err, "HTTP %ld", f->status);
    return -1;
}

void rc_record_free(struct rc_record *r)
{
    free(r->iri), free(r->id), free(r->body), free(r->etag), free(r->last_modified), free(r->served);
}

void rc_records_free(struct rc_record *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rc_record_free(&r[i]);
    free(r);
}

static const struct rc_record *old_record(const struct rc_source *s, const char *iri)
{
    for (size_t i = 0; i < s->n_recs; i++)
        if (strcmp(s->recs[i].iri, iri) == 0)
            return &s->recs[i];
    return NULL;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* The last path segment of iri when it can name the record in a URL and
 * no record before it took it; else a hash of the IRI. */
static char *record_id(const struct rc_job *j, const char *iri)
{
    const char *seg = strrchr(iri, '/');
    seg = seg ? seg + 1 : iri;
    size_t n = strlen(seg);
    int ok = n > 0 && n <= 64 && strspn(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n &&
             seg[0] != '.';
    for (size_t i = 0; ok && i < j->n_recs; i++)
        ok = strcmp(j->recs[i].id, seg) != 0;
    if (ok)
        return strdup(seg);
    char tag[RC_ETAG_LEN], id[20];
    rc_etag(iri, strlen(iri), tag);
    snprintf(id, sizeof id, "h-%.16s", tag + 1);
    return strdup(id);
}

static int listed_before(const cJSON *list, const cJSON *item)
{
    for (const cJSON *v = list->child; v && v != item; v = v->next)
        if (strcmp(v->valuestring, item->valuestring) == 0)
            return 1;
    return 0;
}

static void refused(struct rc_job *j, int reason, const char *iri, const char *why)
{
    j->refused[reason]++;
    if (!j->refusal[0])
        snprintf(j->refusal, sizeof j->refusal, "%.200s: %s (%s)", iri, why, rc_reason_names[reason]);
}

/* One dataset URL: its new record appended to the job, or its last copy
 * kept when the town did not answer for it, or nothing when refused. */
static void harvest_record(struct rc_job *j, const char *iri)
{
    const struct rc_record *old = old_record(j->src, iri);
    struct rc_fetch f = {.url = iri, .etag = old ? old->etag : NULL, .last_modified = old ? old->last_modified : NULL};
    struct rc_record r = {0};
    char why[400];
    cJSON *doc = NULL;
    int reason;
    if (fetch(j->rc, &f) != 0) {
        j->nerr++;
        if (f.too_big)
            refused(j, RC_R_SIZE, iri, "larger than 4 MiB");
        else if (!j->error[0])
            snprintf(j->error, sizeof j->error, "%.200s: %s", iri, f.err);
        if (old && !f.too_big)
            goto keep;
        goto out;
    }
    if (f.status == 304 && old) {
        j->n304++;
        goto keep;
    }
    if (f.status == 304) { /* validators we never sent: ask again without them next time */
        j->nerr++;
        goto out;
    }
    j->n200++;
    reason = rc_record_check(f.body, f.len, iri, &doc, why, sizeof why);
    cJSON_Delete(doc);
    if (reason >= 0) {
        refused(j, reason, iri, why);
        goto out;
    }
    r.iri = strdup(iri);
    r.body = f.body, f.body = NULL;
    r.etag = f.etag_out, f.etag_out = NULL;
    r.last_modified = f.lm_out, f.lm_out = NULL;
    r.changed_s = old && strcmp(old->body, r.body) == 0 ? old->changed_s : j->now_s;
    goto add;
keep:
    r.iri = strdup(old->iri), r.body = strdup(old->body);
    r.etag = dup_or_null(old->etag), r.last_modified = dup_or_null(old->last_modified);
    r.changed_s = old->changed_s;
add:
    r.id = record_id(j, iri);
    if (j->src->kind == RC_REGION) {
        char *url = rc_record_url(j->rc, j->src->name, r.id);
        r.served = rc_served(r.body, url);
        free(url);
        rc_etag(r.served, strlen(r.served), r.served_etag);
    }
    j->recs[j->n_recs++] = r;
out:
    fetch_free(&f);
}

/* Did the listed records change against the source's last state? */
static int records_changed(const struct rc_job *j)
{
    if (j->n_recs != j->src->n_recs)
        return 1;
    for (size_t i = 0; i < j->n_recs; i++)
        if (strcmp(j->recs[i].iri, j->src->recs[i].iri) != 0 || j->recs[i].changed_s != j->src->recs[i].changed_s)
            return 1;
    return 0;
}

static void harvest_catalog(struct rc_job *j)
{
    struct rc_source *s = j->src;
    struct rc_fetch f = {.url = s->catalog_url, .etag = s->cat_etag, .last_modified = s->cat_lm};
    char why[400];
    cJSON *doc = NULL;
    if (fetch(j->rc, &f) != 0) {
        j->nerr++;
        snprintf(j->error, sizeof j->error, "%.200s: %s", s->catalog_url, f.err);
        goto out;
    }
    if (f.status == 304 && s->cat_body) {
        j->n304++;
        j->cat_body = strdup(s->cat_body);
        j->cat_etag = dup_or_null(s->cat_etag), j->cat_lm = dup_or_null(s->cat_lm);
    } else if (f.status == 304) {
        j->nerr++;
        snprintf(j->error, sizeof j->error, "%.200s: 304 to a request without validators", s->catalog_url);
        goto out;
    } else {
        j->n200++;
        j->cat_body = f.body, f.body = NULL;
        j->cat_etag = f.etag_out, f.etag_out = NULL;
        j->cat_lm = f.lm_out, f.lm_out = NULL;
    }
    int reason = rc_catalog_check(j->cat_body, strlen(j->cat_body), &doc, why, sizeof why);
    if (reason >= 0) {
        refused(j, reason, s->catalog_url, why);
        snprintf(j->error, sizeof j->error, "%.200s: the catalogue is refused: %s", s->catalog_url, why);
        goto out;
    }
    j->ok = 1;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "datová_sada"), *v;
    size_t n = (size_t)cJSON_GetArraySize(list);
    j->recs = calloc(n ? (n < RC_DATASETS_MAX ? n : RC_DATASETS_MAX) : 1, sizeof *j->recs);
    size_t seen = 0;
    cJSON_ArrayForEach(v, list) {
        if (seen++ == RC_DATASETS_MAX)
            break;
        if (listed_before(list, v))
            refused(j, RC_R_DUPLICATE, v->valuestring, "listed twice in the catalogue");
        else
            harvest_record(j, v->valuestring);
    }
    j->changed_s = records_changed(j) ? j->now_s : s->changed_s;
out:
    cJSON_Delete(doc);
    fetch_free(&f);
}

static void job_work(void *arg)
{
    struct rc_job *j = arg;
    harvest_catalog(j);
    j->db_rc = rc_db_save(j->rc->db, j->src->name, j);
}

static void job_free(struct rc_job *j)
{
    rc_records_free(j->recs, j->n_recs);
    free(j->cat_etag), free(j->cat_lm), free(j->cat_body);
    free(j);
}

static void start_next(struct regcat *rc);

static void count_refusals(struct regcat *rc, struct rc_source *s, const struct rc_job *j)
{
    const struct mst_host *h = rc->host;
    for (int r = 0; r < RC_R_N; r++) {
        s->refused[r] = j->refused[r];
        if (!j->refused[r])
            continue;
        if (!s->m_refused[r]) {
            char name[200];
            snprintf(name, sizeof name, "records_refused_total{town=\"%s\",reason=\"%s\"}",
                     s->kind == RC_OWN_KIND ? "" : s->name, rc_reason_names[r]);
            h->metric(rc->inst, MST_METRIC_COUNTER, name, "harvested records refused, by town and reason",
                      &s->m_refused[r]);
        }
        if (s->m_refused[r])
            h->metric_add(s->m_refused[r], j->refused[r]);
    }
    if (j->refusal[0] && !s->logged_refused) {
        s->logged_refused = 1; /* once a town: it would refuse the same record every harvest */
        h->log(rc->inst, MST_LOG_WARN, "%s: refused %s; the rest of its records are kept (further refusals are "
                                       "only counted: mestys_regcat_records_refused_total)",
               s->kind == RC_OWN_KIND ? "the region's own catalogue" : s->name, j->refusal);
    }
}

/* Back on the loop: the source takes the job's state, unless the town
 * could not be harvested, which keeps what it had (stale). */
static void take(struct regcat *rc, struct rc_source *s, struct rc_job *j)
{
    const struct mst_host *h = rc->host;
    const char *who = s->kind == RC_OWN_KIND ? "the region's own catalogue" : s->name;
    s->last_try_s = j->now_s;
    s->stale = !j->ok;
    free(s->last_error);
    s->last_error = j->error[0] ? strdup(j->error) : NULL;
    if (j->ok) {
        rc_records_free(s->recs, s->n_recs);
        s->recs = j->recs, s->n_recs = j->n_recs, j->recs = NULL, j->n_recs = 0;
        free(s->cat_etag), free(s->cat_lm), free(s->cat_body);
        s->cat_etag = j->cat_etag, s->cat_lm = j->cat_lm, s->cat_body = j->cat_body;
        j->cat_etag = j->cat_lm = j->cat_body = NULL;
        s->last_ok_s = j->now_s;
        s->changed_s = j->changed_s;
        if (s->logged_down)
            h->log(rc->inst, MST_LOG_INFO, "%s is harvested again (%zu records)", who, s->n_recs);
        s->logged_down = 0;
    } else if (!s->logged_down) {
        s->logged_down = 1;
        h->log(rc->inst, MST_LOG_WARN, "%s cannot be harvested: %s; its last %zu records stay listed, marked stale",
               who, j->error, s->n_recs);
    }
    if (j->db_rc != 0)
        h->log(rc->inst, MST_LOG_ERROR, "%s: the harvested state could not be saved (%s); it is served from memory",
               who, mst_strerror(j->db_rc));
    count_refusals(rc, s, j);
}

/* towns_stale, and /health's problem for the instance: which towns are
 * stale since when (a state, set when it changes, not per harvest). */
void rc_stale_update(struct regcat *rc)
{
    char problem[1024] = "", when[32];
    size_t n = 0, len = 0;
    for (size_t i = 0; i < rc->n_src; i++) {
        const struct rc_source *s = &rc->src[i];
        if (!s->stale)
            continue;
        n++;
        if (s->last_ok_s > 0)
            mst_time_format(s->last_ok_s * 1000, when);
        if (len < sizeof problem)
            len += (size_t)snprintf(problem + len, sizeof problem - len, "%s%s (last harvested %s)",
                                    len ? ", " : "cannot be harvested, records kept and marked stale: ",
                                    s->kind == RC_OWN_KIND ? "the region's own catalogue" : s->name,
                                    s->last_ok_s > 0 ? when : "never");
    }
    rc->host->metric_set(rc->m_stale, (double)n);
    if (MST_HOST_HAS(rc->host, health_set))
        rc->host->health_set(rc->inst, n ? problem : NULL);
}

static void job_done(void *arg, int status)
{
    struct rc_job *j = arg;
    struct regcat *rc = j->rc;
    rc->job = NULL;
    rc->host->metric_add(rc->m_fetch_200, j->n200);
    rc->host->metric_add(rc->m_fetch_304, j->n304);
    rc->host->metric_add(rc->m_fetch_error, j->nerr);
    if (status == 0 && !rc->stopping) {
        take(rc, j->src, j);
        rc_stale_update(rc);
        rc_catalog_render(rc);
    }
    job_free(j);
    if (status == 0)
        start_next(rc);
}

static void on_timer(void *arg)
{
    struct regcat *rc = arg;
    rc->timer = NULL; /* a one-shot timer is freed after this */
    rc_harvest_round(rc);
}

/* harvest_s plus up to a tenth of it, so towns sharing a region's schedule
 * are not all asked in the same second; while a source is stale, at most
 * RC_RETRY_S, so a town back after a short outage is not stale for an hour. */
static void schedule(struct regcat *rc)
{
    int64_t s = rc->harvest_s;
    for (size_t i = 0; i < rc->n_src; i++)
        if (rc->src[i].stale && s > RC_RETRY_S)
            s = RC_RETRY_S;
    uint64_t ms = (uint64_t)s * 1000;
    ms += (uint64_t)rand() % (ms / 10 + 1);
    if (rc->host->timer_start(rc->inst, ms, 0, on_timer, rc, &rc->timer) != 0)
        rc->host->log(rc->inst, MST_LOG_ERROR, "cannot start the harvest timer: harvests only on POST harvest");
}

static void start_next(struct regcat *rc)
{
    if (rc->stopping)
        return;
    if (rc->next_src >= rc->n_src) {
        rc->rounds++;
        rc->host->metric_add(rc->m_rounds, 1);
        if (rc->round_again) {
            rc->round_again = 0;
            rc->next_src = 0;
        } else {
            rc->next_src = SIZE_MAX; /* no round running */
            schedule(rc);
            return;
        }
    }
    struct rc_job *j = calloc(1, sizeof *j);
    j->rc = rc;
    j->src = &rc->src[rc->next_src++];
    j->now_s = (int64_t)time(NULL);
    int rc_ = rc->host->queue_work(rc->inst, job_work, job_done, j);
    if (rc_ != 0) {
        rc->host->log(rc->inst, MST_LOG_ERROR, "cannot queue a harvest: %s", mst_strerror(rc_));
        free(j);
        rc->next_src = SIZE_MAX;
        schedule(rc);
        return;
    }
    rc->job = j;
}

void rc_harvest_round(struct regcat *rc)
{
    if (rc->next_src != SIZE_MAX) { /* a round runs: one more after it */
        rc->round_again = 1;
        return;
    }
    if (rc->timer) {
        rc->host->timer_stop(rc->timer);
        rc->timer = NULL;
    }
    rc->next_src = 0;
    start_next(rc);
}

int rc_harvest_init(struct regcat *rc)
{
    /* once, on the loop, before any worker uses curl (libcurl-thread(3)) */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return MST_EIO;
    rc->curl = curl_easy_init();
    rc->next_src = SIZE_MAX;
    if (!rc->curl) {
        curl_global_cleanup();
        return MST_ENOMEM;
    }
    return 0;
}

void rc_harvest_fini(struct regcat *rc)
{
    if (!rc->curl)
        return;
    curl_easy_cleanup(rc->curl);
    curl_slist_free_all(rc->connect_to);
    curl_global_cleanup();
}
