/* fuzz_charging_rpc - a WebSocket text message from a charge point, as the charging plugin reads it:
 * the strict JSON check, the OCPP-J frame (rpc.c), then the payload against the OCA OCPP 1.6 schemas
 * (ocpp_schema.c with its date-time and uri formats).  A refusal must say why; a frame that is read
 * must write back (chg_frame_call/result/error) as a text that reads back the same; the answer to a
 * refused CALL must be a frame that reads back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charging/ocpp_format.h"
#include "charging/ocpp_schema.h"
#include "charging/rpc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct chg_schemas *schemas;
/* the actions a CALLRESULT is checked against, picked by the id's first byte */
static const char *const actions[] = {"BootNotification", "Authorize", "StartTransaction", "StopTransaction",
                                      "Heartbeat", "MeterValues", "StatusNotification", "DataTransfer",
                                      "GetConfiguration", "RemoteStartTransaction", "SetChargingProfile",
                                      "GetCompositeSchedule", "ReserveNow", "GetInstalledCertificateIds"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char why[256];
    if (chg_schemas_load(&schemas, why, sizeof why) != 0) {
        fprintf(stderr, "fuzz_charging_rpc: %s\n", why);
        abort();
    }
    return 0;
}

/* the same JSON text (cJSON_Compare would not do: it looks a repeated name up as its first one) */
static int same_json(const cJSON *a, const cJSON *b)
{
    char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);
    int same = ta && tb && strcmp(ta, tb) == 0;
    free(ta);
    free(tb);
    return same;
}

/* text must be one frame that reads back with this type, id and body */
static void reads_back(char *text, enum chg_frame_type type, const char *id, const cJSON *body)
{
    struct chg_frame f;
    char why[256];
    if (!text || chg_frame_parse(text, strlen(text), &f, why, sizeof why) != CHG_OCPP_OK || f.type != type ||
        strcmp(f.id, id) != 0 || (body && !same_json(f.payload, body)))
        abort();
    chg_frame_free(&f);
    free(text);
}

static void check_payload(const struct chg_frame *f)
{
    char why[256] = "";
    enum chg_ocpp_err e;
    if (f->type == CHG_CALL)
        e = chg_schema_check(schemas, f->action, 0, f->payload, why, sizeof why);
    else if (f->type == CHG_CALLRESULT)
        e = chg_schema_check(schemas, actions[(unsigned char)f->id[0] % (sizeof actions / sizeof actions[0])], 1,
                             f->payload, why, sizeof why);
    else
        return;
    if (e != CHG_OCPP_OK && (!why[0] || !chg_ocpp_err_name(e)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chg_frame f;
    char why[256] = "";
    enum chg_ocpp_err e = chg_frame_parse((const char *)data, size, &f, why, sizeof why);
    if (e != CHG_OCPP_OK) {
        if (!why[0] || !chg_ocpp_err_name(e) || f.root || f.payload)
            abort();
        /* what the plugin answers a refused CALL with */
        if (f.type == CHG_CALL)
            reads_back(chg_frame_error(f.id, e, why, NULL), CHG_CALLERROR, f.id[0] ? f.id : "-1", NULL);
        goto formats;
    }
    check_payload(&f);
    switch (f.type) {
    case CHG_CALL: reads_back(chg_frame_call(f.id, f.action, f.payload), CHG_CALL, f.id, f.payload); break;
    case CHG_CALLRESULT: reads_back(chg_frame_result(f.id, f.payload), CHG_CALLRESULT, f.id, f.payload); break;
    case CHG_CALLERROR:
        reads_back(chg_frame_error(f.id, f.error, f.error_text, f.payload), CHG_CALLERROR, f.id, f.payload);
        break;
    }
    chg_frame_free(&f);
formats:
    /* the formats alone, on the raw bytes */
    if (size <= 256) {
        chg_format_date_time((const char *)data, size);
        chg_format_uri((const char *)data, size);
    }
    return 0;
}
