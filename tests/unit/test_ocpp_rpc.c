/* test_ocpp_rpc.c - the charging plugin's OCPP-J layer alone: frames (rpc.c, json_strict.c), the 78
 * OCA OCPP 1.6 schemas and the validator (ocpp_schema.c), the date-time and uri formats
 * (ocpp_format.c).  tests/integration/ocpp_schema_diff.js compares the validator with ajv. */
#include "harness.h"

#include "../../plugins/charging/json_strict.h"
#include "../../plugins/charging/ocpp_format.h"
#include "../../plugins/charging/ocpp_schema.h"
#include "../../plugins/charging/rpc.h"

static struct chg_schemas *schemas;

static int load_schemas(void **state)
{
    (void)state;
    char why[256];
    if (chg_schemas_load(&schemas, why, sizeof why) != 0) {
        fprintf(stderr, "schemas: %s\n", why);
        return -1;
    }
    return 0;
}

static int free_schemas(void **state)
{
    (void)state;
    chg_schemas_free(schemas);
    return 0;
}

/* --- error codes -------------------------------------------------------------------------------- */

static void error_names(void **state)
{
    (void)state;
    static const char *const names[] = {"NotImplemented", "NotSupported", "InternalError", "ProtocolError",
                                        "SecurityError", "FormationViolation", "PropertyConstraintViolation",
                                        "OccurenceConstraintViolation", "TypeConstraintViolation", "GenericError"};
    for (int e = CHG_OCPP_NOT_IMPLEMENTED; e <= CHG_OCPP_GENERIC_ERROR; e++) {
        enum chg_ocpp_err back;
        assert_string_equal(chg_ocpp_err_name((enum chg_ocpp_err)e), names[e - 1]);
        assert_int_equal(chg_ocpp_err_parse(names[e - 1], &back), 0);
        assert_int_equal(back, e);
    }
    enum chg_ocpp_err e;
    assert_null(chg_ocpp_err_name(CHG_OCPP_OK));
    assert_null(chg_ocpp_err_name((enum chg_ocpp_err)99));
    assert_int_equal(chg_ocpp_err_parse("OccurrenceConstraintViolation", &e), -1); /* not the spec's spelling */
    assert_int_equal(chg_ocpp_err_parse("formationviolation", &e), -1);
    assert_int_equal(chg_ocpp_err_parse("FormatViolation", &e), -1); /* OCPP 2.0.1's */
    assert_int_equal(chg_ocpp_err_parse(NULL, &e), -1);
}

/* --- frames ------------------------------------------------------------------------------------- */

static enum chg_ocpp_err parse(const char *text, struct chg_frame *f, char *why, size_t whylen)
{
    return chg_frame_parse(text, strlen(text), f, why, whylen);
}

static void frames_read(void **state)
{
    (void)state;
    struct chg_frame f;
    char why[128];
    assert_int_equal(parse(" [2, \"19223201\", \"BootNotification\", {\"chargePointVendor\": \"VendorX\", "
                           "\"chargePointModel\": \"SingleSocketCharger\"}]\n", &f, why, sizeof why), CHG_OCPP_OK);
    assert_int_equal(f.type, CHG_CALL);
    assert_string_equal(f.id, "19223201");
    assert_string_equal(f.action, "BootNotification");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(f.payload, "chargePointVendor")->valuestring, "VendorX");
    chg_frame_free(&f);

    assert_int_equal(parse("[3,\"19223201\",{\"status\":\"Accepted\",\"currentTime\":\"2013-02-01T20:53:32.486Z\","
                           "\"interval\":300}]", &f, why, sizeof why), CHG_OCPP_OK);
    assert_int_equal(f.type, CHG_CALLRESULT);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(f.payload, "interval")->valueint, 300);
    chg_frame_free(&f);

    assert_int_equal(parse("[4,\"162376037\",\"NotSupported\",\"SetDisplayMessageRequest not implemented\",{}]", &f,
                           why, sizeof why), CHG_OCPP_OK);
    assert_int_equal(f.type, CHG_CALLERROR);
    assert_int_equal(f.error, CHG_OCPP_NOT_SUPPORTED);
    assert_string_equal(f.error_code, "NotSupported");
    assert_string_equal(f.error_text, "SetDisplayMessageRequest not implemented");
    assert_true(cJSON_IsObject(f.payload));
    chg_frame_free(&f);

    /* no details; a code of OCPP 2.0.1 (ocpp-rpc sends those on 1.6 too) */
    assert_int_equal(parse("[4,\"a\",\"FormatViolation\",\"bad\"]", &f, why, sizeof why), CHG_OCPP_OK);
    assert_int_equal(f.error, CHG_OCPP_GENERIC_ERROR);
    assert_string_equal(f.error_code, "FormatViolation");
    assert_null(f.payload);
    chg_frame_free(&f);
    chg_frame_free(&f); /* twice is harmless */

    /* a number longer than any double: still JSON, read as the nearest double */
    assert_int_equal(parse("[2,\"big\",\"DataTransfer\",{\"vendorId\":"
                           "1000000000000000000000000000000000000000000000000000000000000000000000000}]", &f, why, sizeof why),
                     CHG_OCPP_OK);
    assert_true(cJSON_GetObjectItemCaseSensitive(f.payload, "vendorId")->valuedouble > 9.9e71);
    chg_frame_free(&f);

    /* a 36-character id is the longest; type 2.0 is 2 */
    assert_int_equal(parse("[2.0,\"123456789012345678901234567890123456\",\"Heartbeat\",{}]", &f, why, sizeof why),
                     CHG_OCPP_OK);
    assert_string_equal(f.id, "123456789012345678901234567890123456");
    chg_frame_free(&f);
}

struct bad_frame {
    const char *text;
    enum chg_ocpp_err want;
    const char *id;   /* what must be read for the CALLERROR */
    int type;         /* what out->type must be */
};

static void frames_refused(void **state)
{
    (void)state;
    static const char deep[] = "[2,\"d\",\"DataTransfer\",{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]"
                               "]]]]]]]]]]]]]]}]";
    static const struct bad_frame cases[] = {
        {"", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"not json", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"{\"2\":1}", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2]", CHG_OCPP_PROTOCOL_ERROR, "", CHG_CALL},
        {"[2,\"a1\",\"Heartbeat\"]", CHG_OCPP_PROTOCOL_ERROR, "a1", CHG_CALL},
        {"[2,\"a1\",\"Heartbeat\",{},{}]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALL},
        {"[5,\"a1\",{}]", CHG_OCPP_FORMATION_VIOLATION, "a1", 0},
        {"[0,\"a1\",{}]", CHG_OCPP_FORMATION_VIOLATION, "a1", 0},
        {"[2.5,\"a1\",\"Heartbeat\",{}]", CHG_OCPP_FORMATION_VIOLATION, "a1", 0},
        {"[\"2\",\"a1\",\"Heartbeat\",{}]", CHG_OCPP_FORMATION_VIOLATION, "a1", 0},
        {"[2,1,\"Heartbeat\",{}]", CHG_OCPP_FORMATION_VIOLATION, "", CHG_CALL},
        {"[2,\"\",\"Heartbeat\",{}]", CHG_OCPP_FORMATION_VIOLATION, "", CHG_CALL},
        {"[2,\"1234567890123456789012345678901234567\",\"Heartbeat\",{}]", CHG_OCPP_FORMATION_VIOLATION, "", CHG_CALL},
        {"[2,\"a1\",5,{}]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALL},
        {"[2,\"a1\",\"\",{}]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALL},
        {"[2,\"a1\",\"Heartbeat\",[]]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALL},
        {"[2,\"a1\",\"Heartbeat\",null]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALL},
        {"[2,\"a1\",\"ThisActionNameIsLongerThanAnyActionOfOcppOnePointSixThereIs\",{}]", CHG_OCPP_NOT_IMPLEMENTED, "a1", CHG_CALL},
        {"[3,\"a1\"]", CHG_OCPP_PROTOCOL_ERROR, "a1", CHG_CALLRESULT},
        {"[3,\"a1\",5]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALLRESULT},
        {"[3,\"a1\",{},{}]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALLRESULT},
        {"[4,\"a1\",\"GenericError\"]", CHG_OCPP_PROTOCOL_ERROR, "a1", CHG_CALLERROR},
        {"[4,\"a1\",5,\"x\",{}]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALLERROR},
        {"[4,\"a1\",\"GenericError\",null,{}]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALLERROR},
        {"[4,\"a1\",\"GenericError\",\"x\",[]]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALLERROR},
        {"[4,\"a1\",\"GenericError\",\"x\",{},1]", CHG_OCPP_FORMATION_VIOLATION, "a1", CHG_CALLERROR},
        /* JSON that cJSON alone would take */
        {"[2,\"a1\",\"Heartbeat\",{}] x", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"Heartbeat\",{}][]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{\"vendorId\":01}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{\"vendorId\":1.}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{\"vendorId\":\"a\tb\"}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{\"vendorId\":\"\xff\"}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{\"vendorId\":\"\xc0\xaf\"}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{\"vendorId\":\"x\\u0000y\"}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{\"vendorId\":\"\\ud800\"}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{\"vendorId\":\"\\x\"}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{\"vendorId\":tru}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{\"vendorId\":\"x\",}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"DataTransfer\",{'vendorId':\"x\"}]", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {"[2,\"a1\",\"Heartbeat\",{}", CHG_OCPP_FORMATION_VIOLATION, "", 0},
        {deep, CHG_OCPP_FORMATION_VIOLATION, "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct chg_frame f;
        char why[128] = "";
        enum chg_ocpp_err e = parse(cases[i].text, &f, why, sizeof why);
        if (e != cases[i].want || strcmp(f.id, cases[i].id) != 0 || (int)f.type != cases[i].type)
            fail_msg("%s: %s \"%s\" type %d (%s), want %s \"%s\" type %d", cases[i].text, chg_ocpp_err_name(e), f.id,
                     (int)f.type, why, chg_ocpp_err_name(cases[i].want), cases[i].id, cases[i].type);
        assert_true(why[0] != '\0'); /* a refusal says why */
        assert_null(f.root);
        assert_null(f.payload);
        chg_frame_free(&f);
    }
}

/* cJSON's allocator failing after n allocations */
static int allocations_left;
static void *failing_malloc(size_t n) { return allocations_left-- > 0 ? malloc(n) : NULL; }

/* no memory is our fault: InternalError, never a FormationViolation blamed on the charge point */
static void frames_without_memory(void **state)
{
    (void)state;
    const char text[] = "[2,\"m1\",\"Heartbeat\",{}]";
    cJSON_Hooks hooks = {.malloc_fn = failing_malloc, .free_fn = free};
    for (int n = 0; n < 4; n++) {
        struct chg_frame f;
        char why[128] = "";
        allocations_left = n;
        cJSON_InitHooks(&hooks);
        enum chg_ocpp_err e = chg_frame_parse(text, sizeof text - 1, &f, why, sizeof why);
        cJSON_InitHooks(NULL);
        assert_int_equal(e, CHG_OCPP_INTERNAL_ERROR);
        assert_string_equal(why, "no memory to read the message");
        assert_null(f.root);
    }
}

/* what each writer makes is one strict JSON text that reads back as what was written */
static void frames_written(void **state)
{
    (void)state;
    struct chg_frame f;
    char why[128];
    cJSON *payload = cJSON_Parse("{\"currentTime\":\"2026-11-27T10:00:00Z\",\"interval\":300,\"status\":\"Accepted\"}");
    char *text = chg_frame_call("id-1", "BootNotification", payload);
    assert_string_equal(text, "[2,\"id-1\",\"BootNotification\",{\"currentTime\":\"2026-11-27T10:00:00Z\","
                              "\"interval\":300,\"status\":\"Accepted\"}]");
    free(text);
    text = chg_frame_result("id-2", payload);
    assert_int_equal(chg_json_strict(text, strlen(text), why, sizeof why), 0);
    assert_int_equal(parse(text, &f, why, sizeof why), CHG_OCPP_OK);
    assert_int_equal(f.type, CHG_CALLRESULT);
    assert_string_equal(f.id, "id-2");
    assert_true(cJSON_Compare(f.payload, payload, 1));
    chg_frame_free(&f);
    free(text);
    text = chg_frame_result("id-3", NULL);
    assert_string_equal(text, "[3,\"id-3\",{}]");
    free(text);

    /* quotes, backslashes, control characters and non-ASCII in the description are escaped */
    text = chg_frame_error("id-4", CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "idTag \"x\\y\"\n: 21 znaků", NULL);
    assert_int_equal(chg_json_strict(text, strlen(text), why, sizeof why), 0);
    assert_int_equal(parse(text, &f, why, sizeof why), CHG_OCPP_OK);
    assert_int_equal(f.error, CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION);
    assert_string_equal(f.error_code, "PropertyConstraintViolation");
    assert_string_equal(f.error_text, "idTag \"x\\y\"\n: 21 znaků");
    assert_true(cJSON_IsObject(f.payload) && !f.payload->child);
    chg_frame_free(&f);
    free(text);
    text = chg_frame_error(NULL, CHG_OCPP_FORMATION_VIOLATION, "not JSON", NULL);
    assert_string_equal(text, "[4,\"-1\",\"FormationViolation\",\"not JSON\",{}]");
    free(text);

    /* what cannot be written */
    cJSON *array = cJSON_CreateArray();
    assert_null(chg_frame_call("id", "Heartbeat", array));
    assert_null(chg_frame_call("id", "", NULL));
    assert_null(chg_frame_call("", "Heartbeat", NULL));
    assert_null(chg_frame_call("1234567890123456789012345678901234567", "Heartbeat", NULL));
    assert_null(chg_frame_result(NULL, NULL));
    assert_null(chg_frame_error("id", CHG_OCPP_OK, "x", NULL));
    assert_null(chg_frame_error("id", CHG_OCPP_GENERIC_ERROR, "x", array));
    cJSON_Delete(array);
    /* the payload is referenced, not consumed */
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(payload, "status")->valuestring, "Accepted");
    cJSON_Delete(payload);
}

static int compare_ids(const void *a, const void *b) { return strcmp(a, b); }

static void message_ids(void **state)
{
    (void)state;
    enum { N = 2000 };
    static char ids[N][37];
    for (int i = 0; i < N; i++) {
        chg_frame_new_id(ids[i]);
        const char *id = ids[i];
        assert_int_equal(strlen(id), 36);
        for (int k = 0; k < 36; k++) {
            if (k == 8 || k == 13 || k == 18 || k == 23)
                assert_int_equal(id[k], '-');
            else
                assert_non_null(strchr("0123456789abcdef", id[k]));
        }
        assert_int_equal(id[14], '4');                  /* version 4 */
        assert_non_null(strchr("89ab", id[19]));        /* variant 10xx */
    }
    qsort(ids, N, sizeof ids[0], compare_ids);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
}

/* --- schemas ------------------------------------------------------------------------------------ */

/* Every $id of the compiled-in file has its schema: 78, a .req and a .conf for each of 39 actions. */
static void all_schemas_load(void **state)
{
    (void)state;
    assert_int_equal(chg_schemas_count(schemas), 78);
    cJSON *doc = cJSON_ParseWithLength(chg_ocpp1_6_json, chg_ocpp1_6_json_len), *schema;
    int n = 0;
    assert_int_equal(cJSON_GetArraySize(doc), 78);
    cJSON_ArrayForEach(schema, doc)
    {
        char action[64], why[256];
        const char *id = cJSON_GetObjectItemCaseSensitive(schema, "$id")->valuestring;
        const char *dot = strrchr(id, '.');
        snprintf(action, sizeof action, "%.*s", (int)(dot - id - 4), id + 4);
        /* a payload of the wrong shape is refused by that schema, not as an unknown action */
        cJSON *not_object = cJSON_CreateString("x");
        assert_int_equal(chg_schema_check(schemas, action, strcmp(dot, ".conf") == 0, not_object, why, sizeof why),
                         CHG_OCPP_FORMATION_VIOLATION);
        cJSON_Delete(not_object);
        cJSON *wrong = cJSON_Parse("{\"noSuchProperty\":1}");
        assert_int_not_equal(chg_schema_check(schemas, action, strcmp(dot, ".conf") == 0, wrong, why, sizeof why),
                             CHG_OCPP_NOT_IMPLEMENTED);
        cJSON_Delete(wrong);
        n++;
    }
    assert_int_equal(n, 78);
    cJSON_Delete(doc);
}

struct payload_case {
    const char *action;
    int is_conf;
    const char *payload;
    enum chg_ocpp_err want;
    const char *why; /* a part of what `why` must say */
};

#define BOOT_OK "\"chargePointVendor\":\"VendorX\",\"chargePointModel\":\"SingleSocketCharger\""
#define METER(sv) "{\"connectorId\":1,\"transactionId\":7,\"meterValue\":[{\"timestamp\":\"2026-11-27T10:00:00Z\"," \
                  "\"sampledValue\":[{\"value\":\"1200\"}," sv "]}]}"

static void check_cases(const struct payload_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char why[256] = "";
        cJSON *p = cJSON_Parse(cases[i].payload);
        assert_non_null(p);
        enum chg_ocpp_err e = chg_schema_check(schemas, cases[i].action, cases[i].is_conf, p, why, sizeof why);
        if (e != cases[i].want || (cases[i].why && !strstr(why, cases[i].why)))
            fail_msg("%s.%s %s: %s (%s), want %s (%s)", cases[i].action, cases[i].is_conf ? "conf" : "req",
                     cases[i].payload, e ? chg_ocpp_err_name(e) : "OK", why,
                     cases[i].want ? chg_ocpp_err_name(cases[i].want) : "OK", cases[i].why ? cases[i].why : "");
        cJSON_Delete(p);
    }
}

/* real violations of real actions, each with the code OCPP-J 1.6 §4.2.3 gives it and the path */
static void payload_violations(void **state)
{
    (void)state;
    static const struct payload_case cases[] = {
        {"BootNotification", 0, "{" BOOT_OK "}", CHG_OCPP_OK, NULL},
        {"BootNotification", 0, "{\"chargePointModel\":\"M\"}", CHG_OCPP_OCCURENCE_CONSTRAINT_VIOLATION,
         "chargePointVendor: required"},
        /* CiString20: 20 is fine, 21 is not; characters are code points, not bytes */
        {"BootNotification", 0, "{\"chargePointVendor\":\"12345678901234567890\",\"chargePointModel\":\"M\"}",
         CHG_OCPP_OK, NULL},
        {"BootNotification", 0, "{\"chargePointVendor\":\"123456789012345678901\",\"chargePointModel\":\"M\"}",
         CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "chargePointVendor: 21 characters, at most 20"},
        {"BootNotification", 0, "{\"chargePointVendor\":\"čččččččččččččččččččč\",\"chargePointModel\":\"M\"}",
         CHG_OCPP_OK, NULL},
        {"BootNotification", 0, "{\"chargePointVendor\":\"ččččččččččččččččččččč\",\"chargePointModel\":\"M\"}",
         CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "21 characters"},
        {"BootNotification", 0, "{\"chargePointVendor\":\"\\ud83d\\ude00\\ud83d\\ude00\",\"chargePointModel\":\"M\"}",
         CHG_OCPP_OK, NULL},
        {"BootNotification", 0, "{\"chargePointVendor\":5,\"chargePointModel\":\"M\"}",
         CHG_OCPP_TYPE_CONSTRAINT_VIOLATION, "chargePointVendor: an integer, not a string"},
        {"BootNotification", 0, "{" BOOT_OK ",\"firmwareVersion\":null}", CHG_OCPP_TYPE_CONSTRAINT_VIOLATION,
         "firmwareVersion"},
        {"BootNotification", 0, "{" BOOT_OK ",\"colour\":\"red\"}", CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION,
         "colour: not a property"},
        /* property names are case-sensitive */
        {"BootNotification", 0, "{\"chargepointvendor\":\"V\",\"chargePointModel\":\"M\"}",
         CHG_OCPP_OCCURENCE_CONSTRAINT_VIOLATION, "chargePointVendor: required"},
        {"BootNotification", 1, "{\"status\":\"Accepted\",\"currentTime\":\"2026-11-27T10:00:00.123+01:00\","
                                "\"interval\":300}", CHG_OCPP_OK, NULL},
        {"BootNotification", 1, "{\"status\":\"Maybe\",\"currentTime\":\"2026-11-27T10:00:00Z\",\"interval\":300}",
         CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "status: not one of the values allowed"},
        {"BootNotification", 1, "{\"status\":\"Accepted\",\"currentTime\":\"2026-11-27T10:00:00\",\"interval\":300}",
         CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "currentTime: not an RFC 3339 date-time"},
        {"BootNotification", 1, "{\"status\":\"Accepted\",\"currentTime\":\"2026-02-29T10:00:00Z\",\"interval\":300}",
         CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "currentTime"},
        {"BootNotification", 1, "{\"status\":\"Accepted\",\"currentTime\":\"2026-11-27T10:00:00Z\",\"interval\":1.5}",
         CHG_OCPP_TYPE_CONSTRAINT_VIOLATION, "interval: a number, not an integer"},
        {"BootNotification", 1, "{\"status\":\"Accepted\",\"currentTime\":\"2026-11-27T10:00:00Z\",\"interval\":1e999}",
         CHG_OCPP_TYPE_CONSTRAINT_VIOLATION, "interval"},
        {"StatusNotification", 0, "{\"connectorId\":\"1\",\"errorCode\":\"NoError\",\"status\":\"Available\"}",
         CHG_OCPP_TYPE_CONSTRAINT_VIOLATION, "connectorId: a string, not an integer"},
        {"StatusNotification", 0, "{\"connectorId\":1,\"errorCode\":\"NoError\",\"status\":\"Broken\"}",
         CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "status: not one of"},
        /* MeterValues: nested objects in arrays, with the path to the value */
        {"MeterValues", 0, METER("{\"value\":\"7.2\",\"measurand\":\"Power.Active.Import\",\"unit\":\"kW\"}"),
         CHG_OCPP_OK, NULL},
        {"MeterValues", 0, METER("{\"value\":\"7.2\",\"measurand\":\"Power.Bogus\"}"),
         CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "meterValue[0].sampledValue[1].measurand: not one of"},
        {"MeterValues", 0, METER("{\"measurand\":\"Power.Active.Import\"}"),
         CHG_OCPP_OCCURENCE_CONSTRAINT_VIOLATION, "meterValue[0].sampledValue[1].value: required"},
        {"MeterValues", 0, METER("{\"value\":7.2}"), CHG_OCPP_TYPE_CONSTRAINT_VIOLATION,
         "meterValue[0].sampledValue[1].value: a number, not a string"},
        {"MeterValues", 0, METER("{\"value\":\"1\",\"extra\":true}"), CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION,
         "meterValue[0].sampledValue[1].extra"},
        {"MeterValues", 0, "{\"connectorId\":1,\"meterValue\":{}}", CHG_OCPP_TYPE_CONSTRAINT_VIOLATION,
         "meterValue: an object, not an array"},
        {"MeterValues", 0, "{\"connectorId\":1,\"meterValue\":[{\"timestamp\":\"yesterday\",\"sampledValue\":[]}]}",
         CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "meterValue[0].timestamp: not an RFC 3339 date-time"},
        /* multipleOf 0.1, as ocpp-rpc checks it: 0.3 is a multiple despite doubles, 0.35 is not */
        {"SetChargingProfile", 0,
         "{\"connectorId\":1,\"csChargingProfiles\":{\"chargingProfileId\":1,\"stackLevel\":0,"
         "\"chargingProfilePurpose\":\"TxProfile\",\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":{"
         "\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":0.3}]}}}",
         CHG_OCPP_OK, NULL},
        {"SetChargingProfile", 0,
         "{\"connectorId\":1,\"csChargingProfiles\":{\"chargingProfileId\":1,\"stackLevel\":0,"
         "\"chargingProfilePurpose\":\"TxProfile\",\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":{"
         "\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":0.35}]}}}",
         CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION,
         "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit: not a multiple of 0.1"},
        /* minItems, through a $ref'd definition */
        {"GetInstalledCertificateIds", 1, "{\"status\":\"Accepted\",\"certificateHashData\":[]}",
         CHG_OCPP_OCCURENCE_CONSTRAINT_VIOLATION, "certificateHashData: 0 items, at least 1"},
        {"GetInstalledCertificateIds", 1, "{\"status\":\"Accepted\",\"certificateHashData\":[{\"hashAlgorithm\":"
         "\"SHA256\",\"issuerNameHash\":\"a\",\"issuerKeyHash\":\"b\",\"serialNumber\":\"c\"}]}", CHG_OCPP_OK, NULL},
        {"GetInstalledCertificateIds", 1, "{\"status\":\"Accepted\",\"certificateHashData\":[{\"hashAlgorithm\":"
         "\"MD5\",\"issuerNameHash\":\"a\",\"issuerKeyHash\":\"b\",\"serialNumber\":\"c\"}]}",
         CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "certificateHashData[0].hashAlgorithm"},
        /* format uri */
        {"UpdateFirmware", 0, "{\"location\":\"ftp://fw.example.com/cp/1.2.bin\",\"retrieveDate\":"
                              "\"2026-11-27T10:00:00Z\"}", CHG_OCPP_OK, NULL},
        {"UpdateFirmware", 0, "{\"location\":\"fw.example.com/cp 1.2.bin\",\"retrieveDate\":"
                              "\"2026-11-27T10:00:00Z\"}", CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "location: not a URI"},
        /* a name twice: parsers differ in which they keep */
        {"BootNotification", 0, "{" BOOT_OK ",\"chargePointVendor\":\"Other\"}", CHG_OCPP_FORMATION_VIOLATION,
         "chargePointVendor: given twice"},
        {"MeterValues", 0, METER("{\"value\":\"1\",\"value\":\"2\"}"), CHG_OCPP_FORMATION_VIOLATION,
         "meterValue[0].sampledValue[1].value: given twice"},
        /* what has no schema */
        {"SetDisplayMessage", 0, "{}", CHG_OCPP_NOT_IMPLEMENTED, "no schema"},
        {"heartbeat", 0, "{}", CHG_OCPP_NOT_IMPLEMENTED, NULL},
        {"Heartbeat", 0, "{}", CHG_OCPP_OK, NULL},
        {"Heartbeat", 0, "[]", CHG_OCPP_FORMATION_VIOLATION, "not an object"},
    };
    check_cases(cases, sizeof cases / sizeof cases[0]);
}

/* a schema with a keyword the validator does not understand is refused, never half-applied */
static void unknown_keywords_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"[{\"$id\":\"urn:A.req\",\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\",\"pattern\":\"^a\"}}}]",
         "urn:A.req: keyword \"pattern\" is not understood"},
        {"[{\"$id\":\"urn:A.req\",\"type\":\"object\",\"minProperties\":1}]", "\"minProperties\""},
        /* a definition nothing refers to is read too */
        {"[{\"$id\":\"urn:A.req\",\"definitions\":{\"Unused\":{\"type\":\"string\",\"pattern\":\"x\"}}}]",
         "keyword \"pattern\""},
        {"[{\"$id\":\"urn:A.req\",\"definitions\":[]}]", "\"definitions\" is not an object"},
        {"[{\"$id\":\"urn:A.req\",\"properties\":{\"x\":{\"$id\":\"inner\"}}}]", "\"$id\""},
        {"[{\"$id\":\"urn:A.req\",\"properties\":{\"x\":{\"type\":\"string\",\"format\":\"email\"}}}]",
         "unknown format email"},
        {"[{\"$id\":\"urn:A.req\",\"additionalProperties\":{\"type\":\"string\"}}]", "additionalProperties"},
        {"[{\"$id\":\"urn:A.req\",\"type\":\"decimal\"}]", "unknown type"},
        {"[{\"$id\":\"urn:A.req\",\"definitions\":{\"D\":{\"type\":\"string\"}},\"properties\":{\"x\":"
         "{\"$ref\":\"#/definitions/D\",\"maxLength\":3}}}]", "a $ref with other keywords"},
        {"[{\"$id\":\"urn:A.req\",\"properties\":{\"x\":{\"$ref\":\"#/definitions/Missing\"}}}]", "missing definition"},
        {"[{\"$id\":\"urn:A.req\",\"properties\":{\"x\":{\"$ref\":\"other.json#/x\"}}}]", "$ref that is not"},
        {"[{\"$id\":\"urn:A.req\",\"definitions\":{\"D\":{\"$ref\":\"#/definitions/D\"}},\"properties\":{\"x\":"
         "{\"$ref\":\"#/definitions/D\"}}}]", "only leads to $refs"},
        {"[{\"type\":\"object\"}]", "without a string $id"},
        {"[{\"$id\":\"Authorize\",\"type\":\"object\"}]", "$id is not"},
        {"[{\"$id\":\"urn:A.req\"},{\"$id\":\"urn:A.req\"}]", "a second schema"},
        {"{}", "not a JSON array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct chg_schemas *s = (struct chg_schemas *)1;
        char why[256] = "";
        if (chg_schemas_load_text(&s, cases[i].text, strlen(cases[i].text), why, sizeof why) != -1 || s ||
            !strstr(why, cases[i].why))
            fail_msg("%s: loaded or said \"%s\", want \"%s\"", cases[i].text, why, cases[i].why);
    }
    /* what is understood loads, recursion through a definition included */
    const char ok[] = "[{\"$id\":\"urn:Tree.req\",\"$schema\":\"http://json-schema.org/draft-07/schema\","
                      "\"definitions\":{\"Node\":{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\","
                      "\"items\":{\"$ref\":\"#/definitions/Node\"}}},\"additionalProperties\":false}},"
                      "\"type\":\"object\",\"properties\":{\"root\":{\"$ref\":\"#/definitions/Node\"}}}]";
    struct chg_schemas *s;
    char why[256];
    assert_int_equal(chg_schemas_load_text(&s, ok, strlen(ok), why, sizeof why), 0);
    cJSON *p = cJSON_Parse("{\"root\":{\"kids\":[{\"kids\":[]},{\"kids\":[{\"bad\":1}]}]}}");
    assert_int_equal(chg_schema_check(s, "Tree", 0, p, why, sizeof why), CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION);
    assert_non_null(strstr(why, "root.kids[1].kids[0].bad"));
    cJSON_Delete(p);
    /* deeper than the path keeps: its first 32 levels, then "..." */
    char deep[1024] = "{\"root\":";
    for (int i = 0; i < 20; i++)
        strcat(deep, "{\"kids\":[");
    strcat(deep, "{\"bad\":1}");
    for (int i = 0; i < 20; i++)
        strcat(deep, "]}");
    strcat(deep, "}");
    assert_non_null(p = cJSON_Parse(deep));
    assert_int_equal(chg_schema_check(s, "Tree", 0, p, why, sizeof why), CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION);
    assert_non_null(strstr(why, "root.kids[0].kids[0]"));
    assert_non_null(strstr(why, "...: not a property"));
    cJSON_Delete(p);
    chg_schemas_free(s);
}

/* --- formats ------------------------------------------------------------------------------------ */

struct format_case {
    const char *s;
    int ok;
};

/* Each verdict here is ajv-formats 3.0.1's (checked with node when written; the generated corpus of
 * ocpp_schema_diff.js covers more). */
static void date_times(void **state)
{
    (void)state;
    static const struct format_case cases[] = {
        {"2026-11-27T10:00:00Z", 1}, {"2026-11-27t10:00:00z", 1}, {"2026-11-27 10:00:00Z", 1},
        {"2026-11-27\xc2\xa0" "10:00:00Z", 1}, /* U+00A0 is whitespace to JavaScript's split */
        {"2026-11-27T10:00:00.123456789Z", 1}, {"2026-11-27T10:00:00+01:00", 1}, {"2026-11-27T10:00:00+0100", 1},
        {"2026-11-27T10:00:00-01", 1}, {"2024-02-29T00:00:00Z", 1}, {"2000-02-29T00:00:00Z", 1},
        {"2026-11-27T23:59:60Z", 1}, {"2026-11-27T23:59:60.5Z", 1}, {"2026-11-27T00:59:60+01:00", 1},
        {"2026-11-27T22:59:60-01:00", 1},
        {"2026-11-27T10:00:59.99999999999999Z", 1},
        {"2026-11-27T23:59:59.99999999999999999Z", 1}, /* a double of 60: as a leap second at 23:59 UTC */
        {"2026-11-27T10:00:59.99999999999999999Z", 0}, /* the same rounding elsewhere: second 60 */
        {"2026-11-27T10:00:00", 0}, {"2026-11-27T10:00Z", 0}, {"2026-11-27T10:00:00.Z", 0},
        {"2026-11-27T24:00:00Z", 0}, {"2026-11-27T10:60:00Z", 0}, {"2026-11-27T10:00:60Z", 0},
        {"2026-11-27T23:59:60+01:00", 0}, {"2026-11-27T10:00:00+24:00", 0}, {"2026-11-27T10:00:00+01:60", 0},
        {"2026-11-27T10:00:00+1", 0}, {"2026-11-27T10:00:00+01:0", 0}, {"2026-13-01T10:00:00Z", 0},
        {"2026-00-01T10:00:00Z", 0}, {"2026-11-00T10:00:00Z", 0}, {"2026-11-31T10:00:00Z", 0},
        {"2026-02-29T10:00:00Z", 0}, {"1900-02-29T00:00:00Z", 0}, {"26-11-27T10:00:00Z", 0},
        {"2026-11-27TT10:00:00Z", 0}, {"2026-11-27T10:00:00Zt", 0}, {"2026-11-27X10:00:00Z", 0},
        {"２026-11-27T10:00:00Z", 0}, {"", 0}, {"2026-11-27", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (chg_format_date_time(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
            fail_msg("date-time \"%s\": want %d", cases[i].s, cases[i].ok);
}

static void uris(void **state)
{
    (void)state;
    static const struct format_case cases[] = {
        {"ftp://fw.example.com/cp/1.2.bin", 1}, {"https://user:pw@example.com:8443/a/b?c=d&e#f", 1},
        {"HTTP://EXAMPLE.COM", 1}, {"urn:isbn:0451450523", 1}, {"mailto:a@b.cz", 1}, {"file:///tmp/x", 1},
        {"http://[::1]:80/", 1}, {"http://[2001:db8::7]/c=GB", 1}, {"http://[::ffff:192.0.2.1]/", 1},
        {"http://[v1.fe80::a+en1]/", 1}, {"http://192.168.0.1/", 1}, {"x:", 0}, {"http:/[::1]/x", 1},
        {"http://ex%41mple.com/%7e", 1}, {"a+b-c.d:x", 1}, {"http://h:/", 1}, {"http://h?", 1},
        {"http://h#", 1}, {"http://h/?a/?b#c/?d", 1},
        {"fw.example.com/cp/1.2.bin", 0}, {"/relative/path", 0}, {"1http://x", 0}, {"http://exa mple.com", 0},
        {"http://example.com/%zz", 0}, {"http://example.com/%4", 0}, {"http://[::1/", 0}, {"http://[:::1]/", 0},
        {"http://[1:2:3:4:5:6:7:8:9]/", 0}, {"http://[1::2::3]/", 0}, {"http://[::256.0.0.1]/", 0},
        {"http://h:8o/", 1} /* "/" then an empty authority, then the path "/h:8o/" */, {"http://h/a#b#c", 0}, {"http://h/\xc3\xa9", 0}, {"http://a@b@c/", 1},
        {"http://h/a\\b", 0}, {"http://h/<", 0}, {"", 0}, {"http", 0}, {"http:?x", 0}, {"http://[vz.x]/", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (chg_format_uri(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
            fail_msg("uri \"%s\": want %d", cases[i].s, cases[i].ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_names),
        cmocka_unit_test(frames_read),
        cmocka_unit_test(frames_refused),
        cmocka_unit_test(frames_without_memory),
        cmocka_unit_test(frames_written),
        cmocka_unit_test(message_ids),
        cmocka_unit_test(all_schemas_load),
        cmocka_unit_test(payload_violations),
        cmocka_unit_test(unknown_keywords_refused),
        cmocka_unit_test(date_times),
        cmocka_unit_test(uris),
    };
    return cmocka_run_group_tests(tests, load_schemas, free_schemas);
}
