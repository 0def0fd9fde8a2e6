/* test_regcat.c - the regional catalogue's checks of a harvested record
 * and Katalog alone (plugins/regcat/records.c): each refusal has its
 * reason and says what is wrong; what opendata publishes is accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/regcat/regcat.h"

#define IRI "https://data.dolni-lhota.cz/api/opendata/catalog/datasets/teplota"
#define PUBLISHER "https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00299308"

/* A record as opendata renders it, with one key replaced ("" drops it). */
static char *record(const char *key, const char *json)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "@context", MST_DCAT_CONTEXT);
    cJSON_AddStringToObject(r, "iri", IRI);
    cJSON_AddStringToObject(r, "typ", "Datová sada");
    cJSON_AddItemToObject(r, "název", cJSON_Parse("{\"cs\": \"Teplota\", \"en\": \"Temperature\"}"));
    cJSON_AddItemToObject(r, "popis", cJSON_Parse("{\"cs\": \"Čidla obce.\"}"));
    cJSON_AddStringToObject(r, "poskytovatel", PUBLISHER);
    cJSON_AddItemToObject(r, "téma", cJSON_Parse("[\"http://publications.europa.eu/resource/authority/data-theme/"
                                                 "ENVI\", \"http://eurovoc.europa.eu/100141\"]"));
    cJSON_AddStringToObject(r, "periodicita_aktualizace",
                            "http://publications.europa.eu/resource/authority/frequency/CONT");
    cJSON_AddItemToObject(r, "klíčové_slovo", cJSON_Parse("{\"cs\": [\"teplota\"], \"en\": \"temperature\"}"));
    cJSON_AddItemToObject(r, "prvek_rúian", cJSON_Parse("[\"https://linked.cuzk.cz/resource/ruian/obec/500496\"]"));
    if (key) {
        cJSON_DeleteItemFromObjectCaseSensitive(r, key);
        if (*json)
            cJSON_AddItemToObject(r, key, cJSON_Parse(json));
    }
    char *s = cJSON_Print(r);
    cJSON_Delete(r);
    return s;
}

static int check(const char *key, const char *json, char *why, size_t n)
{
    char *text = record(key, json);
    cJSON *doc = NULL;
    int r = rc_record_check(text, strlen(text), IRI, &doc, why, n);
    if ((r < 0) != (doc != NULL))
        fail_msg("the parsed record must come back exactly when accepted");
    cJSON_Delete(doc);
    free(text);
    return r;
}

static void a_good_record_is_accepted(void **state)
{
    (void)state;
    char why[400];
    assert_int_equal(check(NULL, NULL, why, sizeof why), -1);
    assert_int_equal(check("typ", "[\"Datová sada\", \"Dataset\"]", why, sizeof why), -1);
}

static void each_refusal_has_its_reason(void **state)
{
    (void)state;
    static const struct {
        const char *key, *json;
        int reason;
        const char *says;
    } cases[] = {
        {"@context", "\"https://example.org/context.jsonld\"", RC_R_CONTEXT, "2021-01-11"},
        {"typ", "\"Katalog\"", RC_R_TYP, "Datová sada"},
        {"typ", "[\"Datová sada\", 5]", RC_R_TYP, "typ"},
        {"téma", "", RC_R_REQUIRED, "no \"téma\""},
        {"prvek_rúian", "", RC_R_REQUIRED, "prvek_rúian"},
        {"název", "{\"de\": \"Temperatur\"}", RC_R_TEXT, "název"},
        {"popis", "\"Čidla\"", RC_R_TEXT, "popis"},
        {"klíčové_slovo", "{\"cs\": [1]}", RC_R_TEXT, "klíčové_slovo"},
        {"iri", "\"http://data.dolni-lhota.cz/api/opendata/catalog/datasets/teplota\"", RC_R_IRI, "https://"},
        {"iri", "\"https://data.horni-lhota.cz/catalog/datasets/teplota\"", RC_R_IRI, "fetched from"},
        {"poskytovatel", "\"Obec Dolní Lhota\"", RC_R_IRI, "poskytovatel"},
        {"téma", "[\"http://eurovoc.europa.eu/100141\"]", RC_R_IRI, "data-theme"},
        {"téma", "[\"ENVI\"]", RC_R_IRI, "not an IRI"},
        {"periodicita_aktualizace", "\"http://example.org/daily\"", RC_R_IRI, "frequency"},
        {"prvek_rúian", "[\"https://example.org/obec/1\"]", RC_R_IRI, "ruian"},
        {"prvek_rúian", "[\"https://linked.cuzk.cz/resource/ruian/obec/5 00\"]", RC_R_IRI, "not an IRI"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[400] = "";
        int r = check(cases[i].key, cases[i].json, why, sizeof why);
        if (r != cases[i].reason || !strstr(why, cases[i].says))
            fail_msg("%s = %s: reason %d (%s), expected %d (%s)", cases[i].key, cases[i].json, r, why, cases[i].reason,
                     cases[i].says);
    }
}

static void not_an_object(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "[]", "\"x\"", "{", "null", "{\"a\": \"\xff\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[400] = "";
        cJSON *doc = NULL;
        assert_int_equal(rc_record_check(bad[i], strlen(bad[i]), NULL, &doc, why, sizeof why), RC_R_JSON);
        assert_null(doc);
        assert_non_null(strstr(why, "JSON object"));
    }
}

static void a_katalog(void **state)
{
    (void)state;
    char text[2048], why[400];
    cJSON *doc = NULL;
    const char *fmt = "{\"@context\": \"%s\", \"iri\": \"https://data.dolni-lhota.cz/api/opendata/catalog\", "
                      "\"typ\": \"Katalog\", \"název\": {\"cs\": \"Data\"}, \"popis\": {\"en\": \"Data\"}, "
                      "\"poskytovatel\": \"%s\", \"datová_sada\": %s}";
    snprintf(text, sizeof text, fmt, MST_DCAT_CONTEXT, PUBLISHER, "[\"" IRI "\"]");
    assert_int_equal(rc_catalog_check(text, strlen(text), &doc, why, sizeof why), -1);
    assert_non_null(doc);
    cJSON_Delete(doc);
    snprintf(text, sizeof text, fmt, MST_DCAT_CONTEXT, PUBLISHER, "[\"http://data.dolni-lhota.cz/x\"]");
    assert_int_equal(rc_catalog_check(text, strlen(text), &doc, why, sizeof why), RC_R_IRI);
    assert_non_null(strstr(why, "datová_sada"));
    snprintf(text, sizeof text, fmt, MST_DCAT_CONTEXT, PUBLISHER, "{}");
    assert_int_equal(rc_catalog_check(text, strlen(text), &doc, why, sizeof why), RC_R_IRI);
    /* a dataset record is not a Katalog */
    char *rec = record(NULL, NULL);
    assert_int_equal(rc_catalog_check(rec, strlen(rec), &doc, why, sizeof why), RC_R_TYP);
    assert_null(doc);
    free(rec);
}

static void iris(void **state)
{
    (void)state;
    assert_true(rc_is_iri("https://data.gov.cz/", 1));
    assert_true(rc_is_iri("https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/1", 1));
    assert_true(rc_is_iri("http://a.cz", 0));
    assert_false(rc_is_iri("http://a.cz", 1));
    assert_false(rc_is_iri("https://", 0));
    assert_false(rc_is_iri("https:///path", 0));
    assert_false(rc_is_iri("https://a b.cz/", 0));
    assert_false(rc_is_iri("https://a.cz/<x>", 0));
    assert_false(rc_is_iri("ftp://a.cz/x", 0));
    assert_false(rc_is_iri(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_good_record_is_accepted),
        cmocka_unit_test(each_refusal_has_its_reason),
        cmocka_unit_test(not_an_object),
        cmocka_unit_test(a_katalog),
        cmocka_unit_test(iris),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
