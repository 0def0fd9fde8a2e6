/*
 * mestys/dcat.h - what every DCAT-AP-CZ catalogue a plugin publishes
 * shares ("Rozhraní katalogů otevřených dat", 2021-01-11): the context IRI,
 * the config block of the catalogue's own record (`catalog`: title,
 * description, publisher, homepage, contact) and its contact point.
 * opendata (a town's LKOD) and regcat (a region's) read the same block.
 *
 * Header-only; needs cJSON (mestys/cjson.h).
 */
#ifndef MESTYS_DCAT_H
#define MESTYS_DCAT_H

#include <stdio.h>
#include <string.h>

#include "cjson.h"
#include "plugin.h"

#define MST_DCAT_CONTEXT                                                                                          \
    "https://ofn.gov.cz/rozhraní-katalogů-otevřených-dat/2021-01-11/kontexty/rozhraní-katalogů-otevřených-dat.jsonld"

#define MST_DCAT_TEXT_KEYS(what)                                                                                  \
    {.key = "cs", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED, .description = what " in Czech"},           \
        {.key = "en", .type = MST_CFG_STRING, .description = what " in English"}, { 0 }

static const struct mst_config_key mst_dcat_title_keys[] = {MST_DCAT_TEXT_KEYS("the title")};
static const struct mst_config_key mst_dcat_description_keys[] = {MST_DCAT_TEXT_KEYS("the description")};
/* optional sections: cs is required by the plugin's check only when the section is there */
static const struct mst_config_key mst_dcat_name_keys[] = {
    {.key = "cs", .type = MST_CFG_STRING, .description = "the name in Czech"},
    {.key = "en", .type = MST_CFG_STRING, .description = "the name in English"},
    {0},
};
static const struct mst_config_key mst_dcat_contact_keys[] = {
    {.key = "name", .type = MST_CFG_OBJECT, .fields = mst_dcat_name_keys,
     .description = "who answers ({\"cs\", \"en\"})"},
    {.key = "email", .type = MST_CFG_STRING, .description = "their e-mail address"},
    {0},
};
/* The `catalog` block: the catalogue's own record. */
static const struct mst_config_key mst_dcat_catalog_keys[] = {
    {.key = "title", .type = MST_CFG_OBJECT, .flags = MST_CFG_REQUIRED, .fields = mst_dcat_title_keys,
     .description = "the catalogue's title ({\"cs\", \"en\"})"},
    {.key = "description", .type = MST_CFG_OBJECT, .flags = MST_CFG_REQUIRED, .fields = mst_dcat_description_keys,
     .description = "what the catalogue holds ({\"cs\", \"en\"})"},
    {.key = "publisher", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED,
     .description = "the town's or region's IRI in the register of public authorities (rpp-opendata.egon.gov.cz)"},
    {.key = "homepage", .type = MST_CFG_STRING, .description = "its web site (https://)"},
    {.key = "contact", .type = MST_CFG_OBJECT, .fields = mst_dcat_contact_keys,
     .description = "who answers questions"},
    {0},
};

/* A config member; an object with no members counts as absent (the schema
 * fills in an empty object for an optional section that was left out). */
static inline const cJSON *mst_dcat_get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsObject(v) && !v->child ? NULL : v;
}

/* A `contact` block ({"name": {...}, "email": "..."}) as a record's
 * kontaktní_bod, or NULL when it says nothing. */
static inline cJSON *mst_dcat_contact_point(const cJSON *c)
{
    const cJSON *name = mst_dcat_get(c, "name"), *email = mst_dcat_get(c, "email");
    if (!c || (!name && !email))
        return NULL;
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "typ", "Organizace");
    if (name)
        cJSON_AddItemToObject(k, "jméno", cJSON_Duplicate(name, 1));
    if (cJSON_IsString(email)) {
        char buf[320];
        snprintf(buf, sizeof buf, "%s%s", strncmp(email->valuestring, "mailto:", 7) ? "mailto:" : "",
                 email->valuestring);
        cJSON_AddStringToObject(k, "e-mail", buf);
    }
    return k;
}

#endif
