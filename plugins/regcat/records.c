/* records.c - a harvested DCAT-AP-CZ document checked before the region
 * lists it: a JSON object with the 2021-01-11 context, the right typ, every
 * key the schema's `required` list names (schema-datová-sada.json,
 * schema-katalog.json), texts as {"cs": ...}, IRIs that are IRIs of their
 * code lists.  Not a full JSON Schema validator: the tests run ajv over
 * what passes here.  Runs on the harvest worker (no host calls). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mestys/utf8.h>

#include "regcat.h"

const char *const rc_reason_names[RC_R_N] = {"json", "context", "typ", "required", "iri", "text", "size",
                                             "duplicate"};

#define THEME_PREFIX "http://publications.europa.eu/resource/authority/data-theme/"
#define FREQUENCY_PREFIX "http://publications.europa.eu/resource/authority/frequency/"
#define RUIAN_PREFIX "https://linked.cuzk.cz/resource/ruian/"

static const char *const dataset_required[] = {"@context", "typ", "iri", "název", "popis", "poskytovatel",
                                               "téma", "periodicita_aktualizace", "klíčové_slovo", "prvek_rúian"};
static const char *const catalog_required[] = {"@context", "typ", "iri", "název", "popis", "poskytovatel",
                                               "datová_sada"};

static int refuse(int reason, char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(int reason, char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return reason;
}

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* An absolute http(s) IRI of at least 8 characters, with a host and no
 * character an IRI cannot hold (the schemas' minLength and ^https?://). */
int rc_is_iri(const char *s, int https_only)
{
    if (!s || strlen(s) < 8 || !(starts(s, "https://") || (!https_only && starts(s, "http://"))))
        return 0;
    const char *host = strstr(s, "://") + 3;
    if (!*host || *host == '/')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f || strchr("\"<>{}|\\^`", *p))
            return 0;
    return 1;
}

/* schema text.json: an object of strings with "cs" or "en". */
static int is_text(const cJSON *v, int lists)
{
    if (!cJSON_IsObject(v))
        return 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, v) {
        if (cJSON_IsString(m))
            continue;
        if (!lists || !cJSON_IsArray(m))
            return 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, m) if (!cJSON_IsString(s)) return 0;
    }
    return cJSON_GetObjectItemCaseSensitive(v, "cs") || cJSON_GetObjectItemCaseSensitive(v, "en");
}

/* typ is `want` or an array of strings holding it. */
static int has_typ(const cJSON *typ, const char *want)
{
    if (cJSON_IsString(typ))
        return strcmp(typ->valuestring, want) == 0;
    if (!cJSON_IsArray(typ))
        return 0;
    int found = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, typ) {
        if (!cJSON_IsString(t))
            return 0;
        found |= strcmp(t->valuestring, want) == 0;
    }
    return found;
}

/* The parts every document shares: object, @context, typ, required keys. */
static int check_common(const char *text, size_t len, const char *typ, const char *const *required, size_t n_req,
                        cJSON **out, char *why, size_t wl)
{
    if (len > RC_BODY_MAX)
        return refuse(RC_R_SIZE, why, wl, "%zu bytes, more than the %u accepted", len, RC_BODY_MAX);
    /* cJSON takes any bytes in strings: the region serves what it lists as UTF-8 */
    cJSON *doc = mst_utf8_valid(text, len) ? cJSON_ParseWithLength(text, len) : NULL;
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return refuse(RC_R_JSON, why, wl, "not a JSON object in UTF-8");
    }
    *out = doc;
    const char *ctx = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "@context"));
    if (!ctx || strcmp(ctx, MST_DCAT_CONTEXT) != 0)
        return refuse(RC_R_CONTEXT, why, wl, "@context is not the DCAT-AP-CZ 2021-01-11 context %s", MST_DCAT_CONTEXT);
    if (!has_typ(cJSON_GetObjectItemCaseSensitive(doc, "typ"), typ))
        return refuse(RC_R_TYP, why, wl, "typ is not \"%s\"", typ);
    for (size_t i = 0; i < n_req; i++)
        if (!cJSON_GetObjectItemCaseSensitive(doc, required[i]))
            return refuse(RC_R_REQUIRED, why, wl, "no \"%s\" (required by the schema)", required[i]);
    static const char *const texts[] = {"název", "popis"};
    for (size_t i = 0; i < 2; i++)
        if (!is_text(cJSON_GetObjectItemCaseSensitive(doc, texts[i]), 0))
            return refuse(RC_R_TEXT, why, wl, "\"%s\" is not a text ({\"cs\": \"...\"})", texts[i]);
    const char *publisher = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "poskytovatel"));
    if (!rc_is_iri(publisher, 0))
        return refuse(RC_R_IRI, why, wl, "\"poskytovatel\" is not an IRI");
    return -1;
}

/* Every item of a list is an IRI starting prefix; need: at least one does. */
static int check_iris(const cJSON *doc, const char *key, const char *prefix, int all, char *why, size_t wl)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, key), *v;
    int found = 0;
    if (!cJSON_IsArray(list))
        return refuse(RC_R_IRI, why, wl, "\"%s\" is not a list of IRIs", key);
    cJSON_ArrayForEach(v, list) {
        const char *s = cJSON_GetStringValue(v);
        if (!rc_is_iri(s, 0))
            return refuse(RC_R_IRI, why, wl, "\"%s\" holds something that is not an IRI", key);
        int of = starts(s, prefix);
        if (all && !of)
            return refuse(RC_R_IRI, why, wl, "\"%s\": %.200s does not start %s", key, s, prefix);
        found |= of;
    }
    if (!all && !found)
        return refuse(RC_R_IRI, why, wl, "\"%s\" names no IRI starting %s", key, prefix);
    return -1;
}

int rc_record_check(const char *text, size_t len, const char *expect_iri, cJSON **out, char *why, size_t why_len)
{
    cJSON *doc = NULL;
    int r = check_common(text, len, "Datová sada", dataset_required,
                         sizeof dataset_required / sizeof dataset_required[0], &doc, why, why_len);
    const char *iri = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "iri"));
    if (r < 0 && !rc_is_iri(iri, 1))
        r = refuse(RC_R_IRI, why, why_len, "\"iri\" is not an https:// IRI");
    if (r < 0 && expect_iri && strcmp(iri, expect_iri) != 0)
        r = refuse(RC_R_IRI, why, why_len, "\"iri\" %.200s is not the URL the record was fetched from", iri);
    if (r < 0)
        r = check_iris(doc, "téma", THEME_PREFIX, 0, why, why_len);
    const char *freq = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "periodicita_aktualizace"));
    if (r < 0 && (!rc_is_iri(freq, 0) || !starts(freq, FREQUENCY_PREFIX)))
        r = refuse(RC_R_IRI, why, why_len, "\"periodicita_aktualizace\" is not an IRI starting " FREQUENCY_PREFIX);
    if (r < 0 && !is_text(cJSON_GetObjectItemCaseSensitive(doc, "klíčové_slovo"), 1))
        r = refuse(RC_R_TEXT, why, why_len, "\"klíčové_slovo\" is not a text list ({\"cs\": [\"...\"]})");
    if (r < 0)
        r = check_iris(doc, "prvek_rúian", RUIAN_PREFIX, 1, why, why_len);
    if (r >= 0) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    *out = doc;
    return r;
}

int rc_catalog_check(const char *text, size_t len, cJSON **out, char *why, size_t why_len)
{
    cJSON *doc = NULL;
    int r = check_common(text, len, "Katalog", catalog_required, sizeof catalog_required / sizeof catalog_required[0],
                         &doc, why, why_len);
    if (r < 0 && !rc_is_iri(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "iri")), 0))
        r = refuse(RC_R_IRI, why, why_len, "\"iri\" is not an IRI");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "datová_sada"), *v;
    if (r < 0 && !cJSON_IsArray(list))
        r = refuse(RC_R_IRI, why, why_len, "\"datová_sada\" is not a list of https:// IRIs");
    if (r < 0)
        cJSON_ArrayForEach(v, list) {
            if (!rc_is_iri(cJSON_GetStringValue(v), 1)) {
                r = refuse(RC_R_IRI, why, why_len, "\"datová_sada\" holds something that is not an https:// IRI");
                break;
            }
        }
    if (r >= 0) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    *out = doc;
    return r;
}
