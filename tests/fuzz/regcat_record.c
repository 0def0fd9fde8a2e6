/* fuzz_regcat_record - a document a town's catalogue server answers with
 * (plugins/regcat/records.c): as a dataset record and as a Katalog.  A
 * refusal names a reason and says why and hands back nothing; an accepted
 * document is accepted again once printed back by cJSON (what the region
 * stores and serves), with its own iri as the URL it came from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regcat/regcat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int reason, cJSON *doc, const char *why)
{
    if (reason >= 0 && (reason >= RC_R_N || doc || !why[0]))
        abort();
    if (reason < 0 && !doc)
        abort();
}

/* An accepted document printed back reads as accepted again. */
static void again(cJSON *doc, int record)
{
    char why[400] = "", *text = cJSON_PrintUnformatted(doc);
    const char *iri = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "iri"));
    cJSON *back = NULL;
    if (!text || !iri || !rc_is_iri(iri, 0))
        abort();
    int r = record ? rc_record_check(text, strlen(text), iri, &back, why, sizeof why)
                   : rc_catalog_check(text, strlen(text), &back, why, sizeof why);
    if (r >= 0 || !back)
        abort();
    cJSON_Delete(back);
    cJSON_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[400] = "";
    cJSON *doc = NULL;
    int r = rc_record_check((const char *)data, size, NULL, &doc, why, sizeof why);
    check(r, doc, why);
    if (doc)
        again(doc, 1);
    cJSON_Delete(doc);
    doc = NULL;
    why[0] = '\0';
    r = rc_catalog_check((const char *)data, size, &doc, why, sizeof why);
    check(r, doc, why);
    if (doc)
        again(doc, 0);
    cJSON_Delete(doc);
    return 0;
}
