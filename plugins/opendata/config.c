/* config.c - the config read into datasets, and the checks a schema table
 * cannot express: what NKOD would refuse is refused here, by `mestys check`,
 * naming the key. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opendata.h"

const char *const od_reading_fields[OD_N_READING_FIELDS] = {"time", "sensor", "metric", "value",
                                                            "unit", "lat",    "lon"};

#define THEME_PREFIX "http://publications.europa.eu/resource/authority/data-theme/"
#define FREQUENCY_PREFIX "http://publications.europa.eu/resource/authority/frequency/"
#define RUIAN_PREFIX "https://linked.cuzk.cz/resource/ruian/"
#define NO_AUTHOR_WORK "https://data.gov.cz/podmínky-užití/neobsahuje-autorská-díla/"
#define NO_DATABASE_WORK "https://data.gov.cz/podmínky-užití/není-autorskoprávně-chráněnou-databází/"

struct problem {
    char *path;
    size_t path_len;
    char *msg;
    size_t msg_len;
};

static int fail(struct problem *p, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct problem *p, const char *path, const char *fmt, ...)
{
    va_list ap;
    snprintf(p->path, p->path_len, "%s", path);
    va_start(ap, fmt);
    vsnprintf(p->msg, p->msg_len, fmt, ap);
    va_end(ap);
    return MST_EINVAL;
}

/* "parent.key" into out (a path is at most a few dozen bytes) */
static void key_path(char *out, size_t n, const char *parent, const char *key)
{
    if (snprintf(out, n, "%s.%s", parent, key) >= (int)n)
        out[n - 1] = '\0';
}

static void item_path(char *out, size_t n, const char *parent, int i)
{
    if (snprintf(out, n, "%s[%d]", parent, i) >= (int)n)
        out[n - 1] = '\0';
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = od_get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int starts(const char *s, const char *prefix) { return s && strncmp(s, prefix, strlen(prefix)) == 0; }

/* An absolute http(s) IRI without spaces or quotes. */
static int is_iri(const char *s, int https_only)
{
    if (!s || !(starts(s, "https://") || (!https_only && starts(s, "http://"))))
        return 0;
    const char *host = strstr(s, "://") + 3;
    return *host && *host != '/' && !strpbrk(s, " \t\r\n\"<>{}|\\^`");
}

static int check_iri(struct problem *p, const char *path, const char *s, int https_only, const char *what)
{
    if (!s)
        return 0; /* absent: the schema says whether that is allowed */
    if (!is_iri(s, https_only))
        return fail(p, path, "\"%s\" is not an %s IRI; %s", s, https_only ? "https://" : "http(s)://", what);
    return 0;
}

/* A {"cs": ..., "en": ...} text: NKOD wants Czech. */
static int check_text(struct problem *p, const cJSON *o, const char *path)
{
    const char *cs = str(o, "cs");
    if (!cs || !*cs)
        return fail(p, path, "needs a Czech text in \"cs\" (NKOD shows it); \"en\" is optional");
    return 0;
}

static int check_list_prefix(struct problem *p, const cJSON *list, const char *path, const char *prefix,
                             const char *example, int need_one)
{
    char item[160];
    int i = 0;
    const cJSON *v;
    if (need_one && cJSON_GetArraySize(list) == 0)
        return fail(p, path, "needs at least one IRI, e.g. \"%s\"", example);
    cJSON_ArrayForEach(v, list) {
        item_path(item, sizeof item, path, i++);
        if (!cJSON_IsString(v) || !starts(v->valuestring, prefix) || !is_iri(v->valuestring, 0))
            return fail(p, item, "\"%s\" is not one of the IRIs starting %s (e.g. \"%s\")",
                        cJSON_IsString(v) ? v->valuestring : "?", prefix, example);
    }
    return 0;
}

static int check_contact(struct problem *p, const cJSON *c, const char *path)
{
    char sub[160];
    if (!c)
        return 0;
    const char *email = str(c, "email");
    key_path(sub, sizeof sub, path, "email");
    if (email) {
        const char *addr = starts(email, "mailto:") ? email + 7 : email;
        const char *atc = strchr(addr, '@');
        if (!atc || atc == addr || !atc[1] || strpbrk(addr, " \t<>\"") || strchr(atc + 1, '@'))
            return fail(p, sub, "\"%s\" is not an e-mail address", email);
    }
    key_path(sub, sizeof sub, path, "name");
    const cJSON *name = od_get(c, "name");
    return name ? check_text(p, name, sub) : 0;
}

static int check_terms(struct problem *p, const cJSON *t, const char *path)
{
    static const char *const iris[] = {"author_work", "database_work", "special_rights"};
    char sub[160];
    for (size_t i = 0; i < sizeof iris / sizeof iris[0]; i++) {
        key_path(sub, sizeof sub, path, iris[i]);
        if (check_iri(p, sub, str(t, iris[i]), 0, "use a licence IRI or one of data.gov.cz/podmínky-užití/"))
            return MST_EINVAL;
    }
    /* DCAT-AP-CZ: a work under a licence names its author */
    const char *work = str(t, "author_work"), *db_work = str(t, "database_work");
    if (work && strcmp(work, NO_AUTHOR_WORK) != 0 && !od_get(t, "author")) {
        key_path(sub, sizeof sub, path, "author_work");
        return fail(p, sub, "a dataset that is an authored work under a licence needs \"author\" ({\"cs\": …})");
    }
    if (db_work && strcmp(db_work, NO_DATABASE_WORK) != 0 && !od_get(t, "database_author")) {
        key_path(sub, sizeof sub, path, "database_work");
        return fail(p, sub, "a database that is an authored work needs \"database_author\" ({\"cs\": …})");
    }
    key_path(sub, sizeof sub, path, "author");
    if (od_get(t, "author") && check_text(p, od_get(t, "author"), sub))
        return MST_EINVAL;
    key_path(sub, sizeof sub, path, "database_author");
    return od_get(t, "database_author") ? check_text(p, od_get(t, "database_author"), sub) : 0;
}

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64 || id[0] == '-' || id[0] == '_')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-' || id[i] == '_'))
            return 0;
    return 1;
}

static char **strings(const cJSON *list, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(list);
    char **v = calloc(*n + 1, sizeof *v);
    size_t i = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, list) v[i++] = strdup(cJSON_IsString(s) ? s->valuestring : "");
    return v;
}

static int read_fields(struct problem *p, struct od_dataset *ds, const cJSON *fields, const char *path)
{
    char sub[160];
    int i = 0;
    const cJSON *f;
    if (ds->topic) {
        if (cJSON_GetArraySize(fields) == 0)
            return fail(p, path, "a dataset from a topic must list its public fields: everything else in a "
                                 "message is left out, so nothing identifying a person is published by accident");
        ds->body_fields = strings(fields, &ds->n_body_fields);
        return 0;
    }
    if (!fields) {
        ds->fields = (1u << OD_N_READING_FIELDS) - 1;
        return 0;
    }
    cJSON_ArrayForEach(f, fields) {
        item_path(sub, sizeof sub, path, i++);
        size_t k = 0;
        while (k < OD_N_READING_FIELDS && strcmp(f->valuestring, od_reading_fields[k]) != 0)
            k++;
        if (k == OD_N_READING_FIELDS)
            return fail(p, sub, "\"%s\" is not a field of a reading; they are time, sensor, metric, value, unit, "
                                "lat, lon", f->valuestring);
        ds->fields |= 1u << k;
    }
    if (!(ds->fields & OD_TIME) || !(ds->fields & OD_VALUE))
        return fail(p, path, "a reading is published with at least \"time\" and \"value\"");
    return 0;
}

static int read_dataset(struct opendata *od, struct problem *p, const cJSON *c, size_t idx)
{
    struct od_dataset *ds = &od->datasets[idx];
    char base[64], sub[160];
    snprintf(base, sizeof base, "datasets[%zu]", idx);
#define SUB(key) (key_path(sub, sizeof sub, base, key), sub)
    ds->conf = cJSON_Duplicate(c, 1);
    ds->latest_day = -1;
    const cJSON *offline = od_get(c, "offline_after_ms");
    ds->offline_after_ms = cJSON_IsNumber(offline) ? (int64_t)offline->valuedouble : OD_OFFLINE_AFTER_MS;
    const char *id = str(c, "id");
    if (!id || !valid_id(id))
        return fail(p, SUB("id"), "\"%s\" cannot be a dataset id: use 1-64 of a-z, 0-9, '-' and '_' (it is part "
                                  "of every URL)", id ? id : "");
    for (size_t i = 0; i < idx; i++)
        if (strcmp(od->datasets[i].id, id) == 0)
            return fail(p, SUB("id"), "dataset \"%s\" is declared twice", id);
    ds->id = strdup(id);
    if (check_text(p, od_get(c, "title"), SUB("title")) || check_text(p, od_get(c, "description"), SUB("description")))
        return MST_EINVAL;
    const cJSON *kw = od_get(c, "keywords");
    if (cJSON_GetArraySize(od_get(kw, "cs")) == 0)
        return fail(p, SUB("keywords.cs"), "needs at least one Czech keyword (NKOD requires one)");
    if (check_list_prefix(p, od_get(c, "themes"), SUB("themes"), THEME_PREFIX, THEME_PREFIX "ENVI", 1))
        return MST_EINVAL;
    const char *freq = str(c, "frequency");
    if (!starts(freq, FREQUENCY_PREFIX) || !is_iri(freq, 0))
        return fail(p, SUB("frequency"), "\"%s\" is not an EU frequency IRI, e.g. \"" FREQUENCY_PREFIX "DAILY\"",
                    freq ? freq : "");
    if (check_list_prefix(p, od_get(c, "ruian"), SUB("ruian"), RUIAN_PREFIX, RUIAN_PREFIX "obec/500496", 1))
        return MST_EINVAL;
    if (check_iri(p, SUB("publisher"), str(c, "publisher"), 0, "the publisher's IRI in the register of public "
                                                               "authorities") ||
        check_iri(p, SUB("documentation"), str(c, "documentation"), 0, "a page about the dataset") ||
        check_contact(p, od_get(c, "contact"), SUB("contact")) || check_terms(p, od_get(c, "terms"), SUB("terms")))
        return MST_EINVAL;
    const cJSON *src = od_get(c, "source");
    const char *topic = str(src, "topic");
    if (topic && (od_get(src, "sensors") || od_get(src, "metrics") || od_get(src, "tags")))
        return fail(p, SUB("source"), "a source is either a topic or a selection of sensors, metrics and tags, "
                                      "not both");
    const cJSON *tags = od_get(src, "tags"), *t;
    cJSON_ArrayForEach(t, tags) {
        if (!(cJSON_IsString(t) || cJSON_IsNumber(t) || cJSON_IsBool(t)) || !*t->string ||
            strspn(t->string, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(t->string))
            return fail(p, SUB("source.tags"), "tags are word: value pairs (letters, digits, '-', '_'), e.g. "
                                               "{\"kind\": \"parking\"}");
    }
    ds->tags = od_get(od_get(ds->conf, "source"), "tags"); /* ds->conf lives as long as ds */
    if (topic) {
        if (!*topic || strchr(topic, '#'))
            return fail(p, SUB("source.topic"), "name one topic whose messages the store keeps (store's "
                                                "\"topics\"), e.g. \"charging/session\"");
        ds->topic = strdup(topic);
    } else {
        ds->sensors = strings(od_get(src, "sensors"), &ds->n_sensors);
        ds->metrics = strings(od_get(src, "metrics"), &ds->n_metrics);
    }
    return read_fields(p, ds, od_get(c, "fields"), SUB("fields"));
#undef SUB
}

int od_config_read(struct opendata *od, const cJSON *conf, char *path, size_t path_len, char *msg, size_t msg_len)
{
    struct problem p = {path, path_len, msg, msg_len};
    const char *base = str(conf, "base_url");
    if (!is_iri(base, 1))
        return fail(&p, "base_url", "\"%s\" must be the https:// address where this instance's /api/<instance>/ "
                                    "is published (catalogue IRIs are built from it; NKOD takes https only)",
                    base ? base : "");
    size_t bl = strlen(base);
    od->base_url = strndup(base, bl && base[bl - 1] == '/' ? bl - 1 : bl);
    const cJSON *cat = od_get(conf, "catalog");
    if (check_text(&p, od_get(cat, "title"), "catalog.title") ||
        check_text(&p, od_get(cat, "description"), "catalog.description") ||
        check_iri(&p, "catalog.publisher", str(cat, "publisher"), 0,
                  "the town's IRI in the register of public authorities, e.g. "
                  "\"https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00299308\"") ||
        check_iri(&p, "catalog.homepage", str(cat, "homepage"), 1, "the town's web site") ||
        check_contact(&p, od_get(cat, "contact"), "catalog.contact"))
        return MST_EINVAL;
    const cJSON *list = od_get(conf, "datasets");
    od->n_datasets = (size_t)cJSON_GetArraySize(list);
    od->datasets = calloc(od->n_datasets ? od->n_datasets : 1, sizeof *od->datasets);
    for (size_t i = 0; i < od->n_datasets; i++)
        if (read_dataset(od, &p, cJSON_GetArrayItem(list, (int)i), i) != 0)
            return MST_EINVAL;
    return 0;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void od_config_free(struct opendata *od)
{
    for (size_t i = 0; i < od->n_datasets; i++) {
        struct od_dataset *ds = &od->datasets[i];
        free(ds->id);
        cJSON_Delete(ds->conf);
        free_strings(ds->sensors, ds->n_sensors);
        free_strings(ds->metrics, ds->n_metrics);
        free_strings(ds->body_fields, ds->n_body_fields);
        free(ds->topic);
        free(ds->meta_json);
        free(ds->record_jsonld);
        free(ds->bulk_dir);
        free(ds->empty_days);
    }
    free(od->datasets);
    od->datasets = NULL;
    od->n_datasets = 0;
    free(od->base_url);
    od->base_url = NULL;
}

struct od_dataset *od_dataset_find(struct opendata *od, const char *id, size_t len)
{
    for (size_t i = 0; i < od->n_datasets; i++)
        if (strlen(od->datasets[i].id) == len && memcmp(od->datasets[i].id, id, len) == 0)
            return &od->datasets[i];
    return NULL;
}

int od_plugin_check(const char *config, char *path, size_t path_len, char *msg, size_t msg_len)
{
    struct opendata od = {0};
    cJSON *conf = cJSON_Parse(config);
    int rc = od_config_read(&od, conf, path, path_len, msg, msg_len);
    od_config_free(&od);
    cJSON_Delete(conf);
    return rc;
}
