/* catalog.c - the documents that change only with the config: the LKOD
 * catalogue and dataset records in DCAT-AP-CZ JSON-LD ("Rozhraní katalogů
 * otevřených dat" 2021-01-11), and the API's own metadata.  Rendered once
 * at init, served with a strong ETag. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/dcat.h>

#include "opendata.h"

#define FILE_TYPE "http://publications.europa.eu/resource/authority/file-type/"
#define MEDIA_TYPE "http://www.iana.org/assignments/media-types/"

char *od_url(const struct opendata *od, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t bl = strlen(od->base_url);
    char *out = malloc(bl + (size_t)n + 1);
    memcpy(out, od->base_url, bl);
    va_start(ap, fmt);
    vsnprintf(out + bl, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

static void add_copy(cJSON *to, const char *name, const cJSON *v)
{
    if (v)
        cJSON_AddItemToObject(to, name, cJSON_Duplicate(v, 1));
}

/* Copies config members under the record's names: {record key, config key}. */
static void add_copies(cJSON *to, const cJSON *from, const char *const map[][2], size_t n)
{
    for (size_t i = 0; i < n; i++)
        add_copy(to, map[i][0], od_get(from, map[i][1]));
}

static void add_url(cJSON *to, const char *name, char *url)
{
    cJSON_AddStringToObject(to, name, url);
    free(url);
}

static void add_text(cJSON *to, const char *name, const char *cs, const char *en)
{
    cJSON *t = cJSON_AddObjectToObject(to, name);
    cJSON_AddStringToObject(t, "cs", cs);
    cJSON_AddStringToObject(t, "en", en);
}

static cJSON *terms_of_use(const cJSON *t)
{
    cJSON *u = cJSON_CreateObject();
    static const char *const map[][2] = {
        {"autorské_dílo", "author_work"},
        {"autor", "author"},
        {"databáze_jako_autorské_dílo", "database_work"},
        {"autor_databáze", "database_author"},
        {"databáze_chráněná_zvláštními_právy", "special_rights"},
        {"osobní_údaje", "personal_data"},
    };
    cJSON_AddStringToObject(u, "typ", "Specifikace podmínek užití");
    add_copies(u, t, map, sizeof map / sizeof map[0]);
    return u;
}

static cJSON *distribution(const struct opendata *od, const struct od_dataset *ds, const char *name,
                           const char *file_type, const char *media_type)
{
    cJSON *d = cJSON_CreateObject();
    add_url(d, "iri", od_url(od, "/catalog/datasets/%s/distributions/%s", ds->id, name));
    cJSON_AddStringToObject(d, "typ", "Distribuce");
    cJSON_AddItemToObject(d, "podmínky_užití", terms_of_use(od_get(ds->conf, "terms")));
    char buf[160];
    snprintf(buf, sizeof buf, FILE_TYPE "%s", file_type);
    cJSON_AddStringToObject(d, "formát", buf);
    snprintf(buf, sizeof buf, MEDIA_TYPE "%s", media_type);
    cJSON_AddStringToObject(d, "typ_média", buf);
    return d;
}

/* The API as a DCAT data service, shared by the JSON and GeoJSON distributions. */
static cJSON *data_service(const struct opendata *od, const struct od_dataset *ds)
{
    cJSON *s = cJSON_CreateObject();
    add_url(s, "iri", od_url(od, "/catalog/datasets/%s/service", ds->id));
    cJSON_AddStringToObject(s, "typ", "Datová služba");
    const cJSON *title = od_get(ds->conf, "title");
    char cs[512], en[512];
    snprintf(cs, sizeof cs, "API datové sady %s", cJSON_GetStringValue(od_get(title, "cs")));
    snprintf(en, sizeof en, "API of the dataset %s",
             cJSON_GetStringValue(od_get(title, "en")) ? cJSON_GetStringValue(od_get(title, "en"))
                                                   : cJSON_GetStringValue(od_get(title, "cs")));
    add_text(s, "název", cs, en);
    add_url(s, "přístupový_bod", od_url(od, "/datasets/%s/data", ds->id));
    add_url(s, "popis_přístupového_bodu", od_url(od, "/datasets/%s", ds->id));
    return s;
}

static cJSON *distributions(const struct opendata *od, const struct od_dataset *ds)
{
    cJSON *list = cJSON_CreateArray();
    cJSON *csv = distribution(od, ds, "csv", "CSV", "text/csv");
    add_url(csv, "přístupové_url", od_url(od, "/datasets/%s/bulk", ds->id));
    add_url(csv, "soubor_ke_stažení", od_url(od, "/datasets/%s/bulk/latest.csv", ds->id));
    add_text(csv, "název", "Denní soubory CSV (nejnovější den)", "Daily CSV files (the newest day)");
    cJSON_AddItemToArray(list, csv);
    cJSON *json = distribution(od, ds, "json", "JSON", "application/json");
    add_url(json, "přístupové_url", od_url(od, "/datasets/%s/data.json", ds->id));
    add_text(json, "název", "API, JSON", "API, JSON");
    cJSON_AddItemToObject(json, "přístupová_služba", data_service(od, ds));
    cJSON_AddItemToArray(list, json);
    if (!ds->topic) {
        cJSON *geo = distribution(od, ds, "geojson", "GEOJSON", "application/geo+json");
        add_url(geo, "přístupové_url", od_url(od, "/datasets/%s/data.geojson", ds->id));
        add_text(geo, "název", "API, GeoJSON", "API, GeoJSON");
        cJSON_AddItemToObject(geo, "přístupová_služba", data_service(od, ds));
        cJSON_AddItemToArray(list, geo);
    }
    return list;
}

static char *dataset_record(const struct opendata *od, const struct od_dataset *ds)
{
    const cJSON *c = ds->conf, *cat = od_get(od->conf, "catalog");
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "@context", MST_DCAT_CONTEXT);
    add_url(r, "iri", od_url(od, "/catalog/datasets/%s", ds->id));
    cJSON_AddStringToObject(r, "typ", "Datová sada");
    static const char *const map[][2] = {
        {"název", "title"},      {"popis", "description"},
        {"téma", "themes"},      {"periodicita_aktualizace", "frequency"},
        {"klíčové_slovo", "keywords"}, {"prvek_rúian", "ruian"},
    };
    add_copies(r, c, map, sizeof map / sizeof map[0]);
    add_copy(r, "poskytovatel", od_get(c, "publisher") ? od_get(c, "publisher") : od_get(cat, "publisher"));
    cJSON *contact = mst_dcat_contact_point(od_get(c, "contact") ? od_get(c, "contact") : od_get(cat, "contact"));
    if (contact)
        cJSON_AddItemToObject(r, "kontaktní_bod", contact);
    if (od_get(c, "documentation"))
        add_copy(r, "dokumentace", od_get(c, "documentation"));
    else
        add_url(r, "dokumentace", od_url(od, "/datasets/%s", ds->id));
    cJSON_AddItemToObject(r, "distribuce", distributions(od, ds));
    char *out = cJSON_Print(r);
    cJSON_Delete(r);
    return out;
}

static char *catalog_record(const struct opendata *od)
{
    const cJSON *cat = od_get(od->conf, "catalog");
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "@context", MST_DCAT_CONTEXT);
    add_url(r, "iri", od_url(od, "/catalog"));
    cJSON_AddStringToObject(r, "typ", "Katalog");
    add_copy(r, "název", od_get(cat, "title"));
    add_copy(r, "popis", od_get(cat, "description"));
    add_copy(r, "poskytovatel", od_get(cat, "publisher"));
    cJSON *contact = mst_dcat_contact_point(od_get(cat, "contact"));
    if (contact)
        cJSON_AddItemToObject(r, "kontaktní_bod", contact);
    add_copy(r, "domovská_stránka", od_get(cat, "homepage"));
    cJSON *list = cJSON_AddArrayToObject(r, "datová_sada");
    for (size_t i = 0; i < od->n_datasets; i++) {
        char *iri = od_url(od, "/catalog/datasets/%s", od->datasets[i].id);
        cJSON_AddItemToArray(list, cJSON_CreateString(iri));
        free(iri);
    }
    char *out = cJSON_Print(r);
    cJSON_Delete(r);
    return out;
}

static cJSON *metadata(const struct opendata *od, const struct od_dataset *ds)
{
    const cJSON *c = ds->conf;
    cJSON *m = cJSON_CreateObject();
    static const char *const map[][2] = {
        {"title", "title"},   {"description", "description"}, {"keywords", "keywords"},
        {"themes", "themes"}, {"frequency", "frequency"},     {"ruian", "ruian"},
    };
    cJSON_AddStringToObject(m, "id", ds->id);
    add_copies(m, c, map, sizeof map / sizeof map[0]);
    cJSON *fields = cJSON_AddArrayToObject(m, "fields");
    if (ds->topic) {
        cJSON_AddItemToArray(fields, cJSON_CreateString("time"));
        for (size_t i = 0; i < ds->n_body_fields; i++)
            if (strcmp(ds->body_fields[i], "time") != 0)
                cJSON_AddItemToArray(fields, cJSON_CreateString(ds->body_fields[i]));
    } else {
        for (int i = 0; i < OD_N_READING_FIELDS; i++)
            if (ds->fields & (1u << i))
                cJSON_AddItemToArray(fields, cJSON_CreateString(od_reading_fields[i]));
    }
    cJSON_AddItemToObject(m, "filters", ds->topic ? cJSON_CreateStringArray((const char *[]){"from", "to"}, 2)
                                                  : cJSON_CreateStringArray((const char *[]){"from", "to", "sensor",
                                                                                             "metric", "bbox"},
                                                                            5));
    if (!ds->topic)
        cJSON_AddNumberToObject(m, "offline_after_ms", (double)ds->offline_after_ms);
    cJSON *links = cJSON_AddObjectToObject(m, "links");
    add_url(links, "self", od_url(od, "/datasets/%s", ds->id));
    add_url(links, "json", od_url(od, "/datasets/%s/data.json", ds->id));
    add_url(links, "csv", od_url(od, "/datasets/%s/data.csv", ds->id));
    if (!ds->topic)
        add_url(links, "geojson", od_url(od, "/datasets/%s/data.geojson", ds->id));
    if (!ds->topic && (ds->fields & OD_SENSOR))
        add_url(links, "sensors", od_url(od, "/datasets/%s/sensors", ds->id));
    add_url(links, "bulk", od_url(od, "/datasets/%s/bulk", ds->id));
    add_url(links, "latest", od_url(od, "/datasets/%s/bulk/latest.csv", ds->id));
    add_url(links, "record", od_url(od, "/catalog/datasets/%s", ds->id));
    return m;
}

void od_catalog_render(struct opendata *od)
{
    cJSON *list = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(list, "datasets");
    for (size_t i = 0; i < od->n_datasets; i++) {
        struct od_dataset *ds = &od->datasets[i];
        cJSON *m = metadata(od, ds);
        ds->meta_json = cJSON_Print(m);
        od_etag(ds->meta_json, strlen(ds->meta_json), ds->meta_etag);
        cJSON_AddItemToArray(arr, m);
        ds->record_jsonld = dataset_record(od, ds);
        od_etag(ds->record_jsonld, strlen(ds->record_jsonld), ds->record_etag);
    }
    add_url(list, "catalog", od_url(od, "/catalog"));
    od->list_json = cJSON_Print(list);
    od_etag(od->list_json, strlen(od->list_json), od->list_etag);
    cJSON_Delete(list);
    od->catalog_jsonld = catalog_record(od);
    od_etag(od->catalog_jsonld, strlen(od->catalog_jsonld), od->catalog_etag);
}
