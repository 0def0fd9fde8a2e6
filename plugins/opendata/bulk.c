/* bulk.c - one CSV file per dataset and UTC day, for people who want
 * everything: state_dir/bulk/<dataset>/<YYYY-MM-DD>.csv.
 *
 * A day is written once it is over (plus bulk_delay_ms for late readings):
 * the pages come from store/query on the loop, each is written to a
 * temporary file on a worker, and the last one renames it into place, so a
 * reader never sees half a file.  One file is written at a time.  Files
 * older than bulk_days are removed.  Serving reads the file on a worker and
 * keeps it in the response cache, keyed by its size and mtime. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "opendata.h"

#define DAY_MS 86400000LL

struct od_bulk_job {
    struct opendata *od;
    struct od_dataset *ds;
    int64_t day;
    char *tmp_path, *final_path;
    char *next;   /* the store's cursor for the following page */
    char *reply;  /* the store's page as it came; parsed on the worker */
    size_t reply_len;
    cJSON *page;
    int first, last;
    int empty;     /* the day has no rows: no file is written */
    int on_worker; /* write_page queued or running: page_written frees the job */
    int error; /* errno of a failed write */
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *day_path(const struct od_dataset *ds, int64_t day, const char *suffix)
{
    char date[16];
    mst_date_format(day * DAY_MS, date);
    size_t n = strlen(ds->bulk_dir) + strlen(date) + strlen(suffix) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s%s", ds->bulk_dir, date, suffix);
    return p;
}

/* "2026-11-21.csv" -> its day number; -1 if the name is not a day's file. */
static int64_t file_day(const char *name)
{
    char date[11];
    int64_t ms;
    if (strlen(name) != 14 || strcmp(name + 10, ".csv") != 0)
        return -1;
    memcpy(date, name, 10);
    date[10] = '\0';
    return mst_time_parse(date, &ms) == 0 ? ms / DAY_MS : -1;
}

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Newest day on disk; removes files older than keep_from. */
static int64_t scan(const struct od_dataset *ds, int64_t keep_from)
{
    int64_t newest = -1;
    DIR *d = opendir(ds->bulk_dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t day = file_day(e->d_name);
        if (day < 0)
            continue;
        if (day < keep_from) {
            char *p = day_path(ds, day, ".csv");
            unlink(p);
            free(p);
        } else if (day > newest) {
            newest = day;
        }
    }
    closedir(d);
    return newest;
}

/* --- writing a day -------------------------------------------------------- */

static void job_free(struct od_bulk_job *j)
{
    free(j->tmp_path);
    free(j->final_path);
    free(j->next);
    free(j->reply);
    cJSON_Delete(j->page);
    free(j);
}

/* Worker: appends the page; renames the file into place after the last. */
static void write_page(void *arg)
{
    struct od_bulk_job *j = arg;
    const char *rows = j->ds->topic ? "events" : "readings";
    j->page = cJSON_ParseWithLength(j->reply, j->reply_len);
    const char *next = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j->page, "next"));
    free(j->next);
    j->next = next ? strdup(next) : NULL;
    j->last = next == NULL;
    if (j->first && j->last && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j->page, rows)) == 0) {
        j->empty = 1;
        return;
    }
    FILE *f = fopen(j->tmp_path, j->first ? "w" : "a");
    if (!f) {
        j->error = errno;
        return;
    }
    if (j->first) {
        char *header = od_csv_header(j->ds, 0);
        fputs(header, f);
        free(header);
    }
    od_render_csv_rows(j->ds, j->page, f);
    if (fflush(f) != 0 || (j->last && fsync(fileno(f)) != 0))
        j->error = errno;
    if (fclose(f) != 0 && !j->error)
        j->error = errno;
    if (j->last && !j->error && rename(j->tmp_path, j->final_path) != 0)
        j->error = errno;
}

static void request_page(struct od_bulk_job *j);

static void on_soon(void *arg) { od_bulk_tick(arg); }

static void job_done(struct od_bulk_job *j, const char *error)
{
    struct opendata *od = j->od;
    char date[16];
    mst_date_format(j->day * DAY_MS, date);
    if (error) {
        od->host->metric_add(od->m_bulk_errors, 1);
        if (!od->logged_bulk) /* once until a file is written again: it is retried every minute */
            od->host->log(od->inst, MST_LOG_WARN, "bulk file %s of dataset %s not written: %s (retried every "
                                                  "minute; further failures are only counted)",
                          date, j->ds->id, error);
        od->logged_bulk = 1;
        unlink(j->tmp_path);
    } else if (j->empty) {
        struct od_dataset *ds = j->ds;
        ds->empty_days = realloc(ds->empty_days, (ds->n_empty + 1) * sizeof *ds->empty_days);
        ds->empty_days[ds->n_empty++] = j->day;
        unlink(j->final_path); /* a day written again that has nothing now */
    } else {
        od->logged_bulk = 0;
        od->host->metric_add(od->m_bulk_files, 1);
        od->host->log(od->inst, MST_LOG_INFO, "bulk file %s of dataset %s written", date, j->ds->id);
        if (j->day > j->ds->latest_day)
            j->ds->latest_day = j->day;
    }
    if (j->ds->force_day == j->day)
        j->ds->force_day = -1;
    od->bulk_job = NULL;
    int failed = error != NULL;
    job_free(j);
    if (!failed && !od->stopping)
        od->host->timer_start(od->inst, 0, 0, on_soon, od, NULL); /* the next missing day */
}

static void page_written(void *arg, int status)
{
    struct od_bulk_job *j = arg;
    j->on_worker = 0;
    if (status != 0 || j->od->stopping) { /* the instance is going away */
        unlink(j->tmp_path);
        if (j->od->bulk_job == j)
            j->od->bulk_job = NULL;
        job_free(j);
        return;
    }
    if (j->error) {
        job_done(j, strerror(j->error));
        return;
    }
    cJSON_Delete(j->page);
    j->page = NULL;
    j->first = 0;
    if (j->last)
        job_done(j, NULL);
    else
        request_page(j);
}

static void on_page(void *arg, int status, const char *body, size_t len)
{
    struct od_bulk_job *j = arg;
    if (status != 0) {
        char why[200]; /* the store's {"error": ...}, as text for the log */
        snprintf(why, sizeof why, "%.*s", (int)(len < sizeof why ? len : sizeof why - 1), body);
        job_done(j, status == MST_EINVAL ? why : mst_strerror(status));
        return;
    }
    free(j->reply);
    j->reply = malloc(len ? len : 1);
    memcpy(j->reply, body, len);
    j->reply_len = len;
    j->on_worker = 1;
    if (j->od->host->queue_work(j->od->inst, write_page, page_written, j) != 0) {
        j->on_worker = 0;
        job_done(j, "no worker");
    }
}

static void request_page(struct od_bulk_job *j)
{
    struct opendata *od = j->od;
    cJSON *q = cJSON_CreateObject();
    char t[32];
    if (j->ds->topic)
        cJSON_AddStringToObject(q, "events", j->ds->topic);
    if (j->ds->n_sensors)
        cJSON_AddItemToObject(q, "sensors", cJSON_CreateStringArray((const char *const *)j->ds->sensors,
                                                                    (int)j->ds->n_sensors));
    if (j->ds->tags)
        cJSON_AddItemToObject(q, "tags", cJSON_Duplicate(j->ds->tags, 1));
    if (j->ds->n_metrics)
        cJSON_AddItemToObject(q, "metrics", cJSON_CreateStringArray((const char *const *)j->ds->metrics,
                                                                    (int)j->ds->n_metrics));
    mst_time_format(j->day * DAY_MS, t);
    cJSON_AddStringToObject(q, "from", t);
    mst_time_format((j->day + 1) * DAY_MS, t);
    cJSON_AddStringToObject(q, "to", t);
    cJSON_AddNumberToObject(q, "limit", (double)od->bulk_page);
    if (j->next)
        cJSON_AddStringToObject(q, "cursor", j->next);
    char *json = cJSON_PrintUnformatted(q);
    cJSON_Delete(q);
    int rc = od->host->request(od->inst, "store/query", json, strlen(json), (uint32_t)od->query_timeout_ms, on_page, j);
    free(json);
    if (rc != 0)
        job_done(j, mst_strerror(rc));
}

static void start_job(struct opendata *od, struct od_dataset *ds, int64_t day)
{
    struct od_bulk_job *j = calloc(1, sizeof *j);
    j->od = od;
    j->ds = ds;
    j->day = day;
    j->first = 1;
    j->final_path = day_path(ds, day, ".csv");
    j->tmp_path = day_path(ds, day, ".csv.part");
    od->bulk_job = j;
    request_page(j);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int known_empty(const struct od_dataset *ds, int64_t day)
{
    for (size_t i = 0; i < ds->n_empty; i++)
        if (ds->empty_days[i] == day)
            return 1;
    return 0;
}

/* Starts the newest missing day of the first dataset that has one. */
void od_bulk_tick(struct opendata *od)
{
    if (od->bulk_job || od->stopping)
        return;
    int64_t now = wall_ms(), today = now / DAY_MS, oldest = today - od->bulk_days;
    for (size_t i = 0; i < od->n_datasets; i++) {
        struct od_dataset *ds = &od->datasets[i];
        if (ds->force_day >= 0) {
            start_job(od, ds, ds->force_day);
            return;
        }
        for (int64_t day = today - 1; day >= oldest; day--) {
            if ((day + 1) * DAY_MS + od->bulk_delay_ms > now || known_empty(ds, day))
                continue; /* not settled (late readings may still come), or nothing to write */
            char *p = day_path(ds, day, ".csv");
            int have = exists(p);
            free(p);
            if (!have) {
                start_job(od, ds, day);
                return;
            }
        }
    }
}

static void on_bulk_timer(void *arg)
{
    struct opendata *od = arg;
    int64_t oldest = wall_ms() / DAY_MS - od->bulk_days;
    for (size_t i = 0; i < od->n_datasets; i++) {
        struct od_dataset *ds = &od->datasets[i];
        ds->latest_day = scan(ds, oldest);
        size_t kept = 0;
        for (size_t k = 0; k < ds->n_empty; k++)
            if (ds->empty_days[k] >= oldest)
                ds->empty_days[kept++] = ds->empty_days[k];
        ds->n_empty = kept;
    }
    od_bulk_tick(od);
}

int od_bulk_start(struct opendata *od)
{
    const char *state = od->host->state_dir(od->inst);
    for (size_t i = 0; i < od->n_datasets; i++) {
        struct od_dataset *ds = &od->datasets[i];
        size_t n = strlen(state) + strlen(ds->id) + 8;
        ds->bulk_dir = malloc(n);
        snprintf(ds->bulk_dir, n, "%s/bulk/%s", state, ds->id);
        ds->force_day = -1;
        if (mkdirs(ds->bulk_dir) != 0) {
            od->host->log(od->inst, MST_LOG_ERROR, "cannot create %s: %s", ds->bulk_dir, strerror(errno));
            return MST_EIO;
        }
        ds->latest_day = scan(ds, wall_ms() / DAY_MS - od->bulk_days);
    }
    return od->host->timer_start(od->inst, 1000, 60000, on_bulk_timer, od, &od->bulk_timer);
}

void od_bulk_stop(struct opendata *od)
{
    /* a job waiting for the store is dropped with the instance's requests;
     * one on a worker is freed by page_written(MST_ECLOSED) */
    if (od->bulk_job && !od->bulk_job->on_worker) {
        unlink(od->bulk_job->tmp_path);
        job_free(od->bulk_job);
    }
    od->bulk_job = NULL;
}

/* --- serving -------------------------------------------------------------- */

struct read_job {
    struct opendata *od;
    mst_http_request *req;
    char *path, *key, *filename;
    struct od_answer *answer;
    int error;
};

static void read_file(void *arg)
{
    struct read_job *r = arg;
    FILE *f = fopen(r->path, "rb");
    if (!f) {
        r->error = errno;
        return;
    }
    struct od_answer *a = r->answer;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    a->body = malloc(n > 0 ? (size_t)n : 1);
    a->len = n > 0 ? fread(a->body, 1, (size_t)n, f) : 0;
    if (ferror(f))
        r->error = EIO;
    fclose(f);
    if (!r->error)
        od_answer_compress(a);
}

static void file_read(void *arg, int status)
{
    struct read_job *r = arg;
    struct opendata *od = r->od;
    if (status == 0 && !od->stopping) { /* else the core has answered 503 */
        if (r->error) {
            od_respond_error(od, r->req, 500, "the daily file cannot be read: %s", strerror(r->error));
            od_answer_free(r->answer);
        } else {
            od->host->http_set_header(r->req, "Content-Disposition", r->filename);
            od_respond_answer(od, r->req, r->answer);
            od_lru_put(od->cache, r->key, r->answer, r->answer->len + r->answer->gz_len);
        }
    } else {
        od_answer_free(r->answer);
    }
    free(r->path);
    free(r->key);
    free(r->filename);
    free(r);
}

void od_bulk_get(struct opendata *od, mst_http_request *req, struct od_dataset *ds, const char *file)
{
    int latest = strcmp(file, "latest.csv") == 0;
    int64_t day = latest ? ds->latest_day : file_day(file);
    if (day < 0)
        return latest ? od_respond_error(od, req, 404, "dataset \"%s\" has no daily file yet: the first is written "
                                                       "after the first whole day", ds->id)
                      : od_respond_error(od, req, 404, "\"%.40s\" is not a daily file; they are named "
                                                       "YYYY-MM-DD.csv, or latest.csv for the newest", file);
    char *path = day_path(ds, day, ".csv");
    struct stat st;
    if (stat(path, &st) != 0) {
        char date[16];
        mst_date_format(day * DAY_MS, date);
        free(path);
        return od_respond_error(od, req, 404, "dataset \"%s\" has no file for %s (the list is at bulk)", ds->id, date);
    }
    char key[512], disposition[160], date[16];
    snprintf(key, sizeof key, "bulk|%s|%lld|%lld|%lld", path, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
             (long long)st.st_mtim.tv_nsec);
    mst_date_format(day * DAY_MS, date);
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s-%s.csv\"", ds->id, date);
    struct od_answer *hit = od_lru_get(od->cache, key);
    if (hit) {
        od->host->metric_add(od->m_hits, 1);
        free(path);
        hit->max_age_s = latest ? 300 : 86400;
        od->host->http_set_header(req, "Content-Disposition", disposition);
        return od_respond_answer(od, req, hit);
    }
    od->host->metric_add(od->m_misses, 1);
    struct read_job *r = calloc(1, sizeof *r);
    r->od = od;
    r->req = req;
    r->path = path;
    r->key = strdup(key);
    r->filename = strdup(disposition);
    r->answer = calloc(1, sizeof *r->answer);
    r->answer->content_type = od_format_type(OD_CSV);
    r->answer->modified_s = st.st_mtim.tv_sec;
    r->answer->max_age_s = latest ? 300 : 86400;
    od_etag(key, strlen(key), r->answer->etag); /* size and mtime: no need to read it to know */
    if (od->host->queue_work(od->inst, read_file, file_read, r) != 0)
        file_read(r, MST_ECLOSED);
}

void od_bulk_index(struct opendata *od, mst_http_request *req, struct od_dataset *ds)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "dataset", ds->id);
    cJSON *days = cJSON_AddArrayToObject(out, "days");
    int64_t today = wall_ms() / DAY_MS;
    for (int64_t day = today; day >= today - od->bulk_days; day--) {
        char *p = day_path(ds, day, ".csv");
        struct stat st;
        if (stat(p, &st) == 0) {
            char date[16];
            mst_date_format(day * DAY_MS, date);
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "day", date);
            char *url = od_url(od, "/datasets/%s/bulk/%s.csv", ds->id, date);
            cJSON_AddStringToObject(d, "url", url);
            free(url);
            cJSON_AddNumberToObject(d, "bytes", (double)st.st_size);
            cJSON_AddItemToArray(days, d);
        }
        free(p);
    }
    char *latest = od_url(od, "/datasets/%s/bulk/latest.csv", ds->id);
    cJSON_AddStringToObject(out, "latest", latest);
    free(latest);
    struct od_answer a = {.content_type = "application/json", .max_age_s = 60, .modified_s = 0};
    a.body = cJSON_Print(out);
    a.len = strlen(a.body);
    od_etag(a.body, a.len, a.etag);
    cJSON_Delete(out);
    od_respond_answer(od, req, &a);
    free(a.body);
}

void od_bulk_rebuild(struct opendata *od, mst_http_request *req, struct od_dataset *ds, const char *file)
{
    int64_t day = file_day(file), today = wall_ms() / DAY_MS;
    if (day < 0 || day >= today || day < today - od->bulk_days)
        return od_respond_error(od, req, 400, "\"%.40s\": name a whole day that is over, within bulk_days (%lld), as "
                                              "YYYY-MM-DD.csv",
                                file, (long long)od->bulk_days);
    ds->force_day = day;
    for (size_t k = 0; k < ds->n_empty; k++)
        if (ds->empty_days[k] == day)
            ds->empty_days[k] = -1;
    od_bulk_tick(od);
    char date[16];
    mst_date_format(day * DAY_MS, date);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "dataset", ds->id);
    cJSON_AddStringToObject(out, "day", date);
    cJSON_AddStringToObject(out, "status", "queued");
    char *body = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    od->host->http_respond(req, 202, "application/json", body, strlen(body));
    free(body);
}
