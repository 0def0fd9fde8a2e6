/* rpc.c - OCPP-J 1.6 RPC frames: parsing one text message into a chg_frame, writing CALL, CALLRESULT
 * and CALLERROR, and UUID v4 message ids (rpc.h). */
#include "rpc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "json_strict.h"

static const char *const err_names[] = {
    [CHG_OCPP_NOT_IMPLEMENTED] = "NotImplemented",
    [CHG_OCPP_NOT_SUPPORTED] = "NotSupported",
    [CHG_OCPP_INTERNAL_ERROR] = "InternalError",
    [CHG_OCPP_PROTOCOL_ERROR] = "ProtocolError",
    [CHG_OCPP_SECURITY_ERROR] = "SecurityError",
    [CHG_OCPP_FORMATION_VIOLATION] = "FormationViolation",
    [CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION] = "PropertyConstraintViolation",
    /* sic: the specification's spelling is what peers send and expect */
    [CHG_OCPP_OCCURENCE_CONSTRAINT_VIOLATION] = "OccurenceConstraintViolation",
    [CHG_OCPP_TYPE_CONSTRAINT_VIOLATION] = "TypeConstraintViolation",
    [CHG_OCPP_GENERIC_ERROR] = "GenericError",
};
#define ERR_COUNT (sizeof err_names / sizeof err_names[0])

const char *chg_ocpp_err_name(enum chg_ocpp_err e)
{
    if ((unsigned)e >= ERR_COUNT)
        return NULL;
    return err_names[e]; /* NULL for CHG_OCPP_OK */
}

int chg_ocpp_err_parse(const char *name, enum chg_ocpp_err *out)
{
    for (size_t e = 1; name && e < ERR_COUNT; e++)
        if (strcmp(name, err_names[e]) == 0) {
            *out = (enum chg_ocpp_err)e;
            return 0;
        }
    return -1;
}

/* --- parsing ------------------------------------------------------------------------------------ */

static enum chg_ocpp_err refuse(enum chg_ocpp_err code, char *why, size_t whylen, const char *what)
{
    if (whylen)
        snprintf(why, whylen, "%s", what);
    return code;
}

/* Element count each message type has (a CALLERROR may leave out its details). */
static enum chg_ocpp_err check_length(enum chg_frame_type type, int n, char *why, size_t whylen)
{
    static const int want[] = {[CHG_CALL] = 4, [CHG_CALLRESULT] = 3, [CHG_CALLERROR] = 5};
    int least = type == CHG_CALLERROR ? 4 : want[type];
    if (n < least) {
        if (whylen)
            snprintf(why, whylen, "a message of type %d has %d elements, not %d", (int)type, n, want[type]);
        return CHG_OCPP_PROTOCOL_ERROR;
    }
    if (n > want[type]) {
        if (whylen)
            snprintf(why, whylen, "a message of type %d has %d elements, not %d", (int)type, n, want[type]);
        return CHG_OCPP_FORMATION_VIOLATION;
    }
    return CHG_OCPP_OK;
}

static enum chg_ocpp_err parse_call(const cJSON *root, struct chg_frame *out, char *why, size_t whylen)
{
    const cJSON *action = cJSON_GetArrayItem(root, 2), *payload = cJSON_GetArrayItem(root, 3);
    if (!cJSON_IsString(action) || action->valuestring[0] == '\0')
        return refuse(CHG_OCPP_FORMATION_VIOLATION, why, whylen, "the action is not a non-empty string");
    if (strlen(action->valuestring) >= sizeof out->action)
        return refuse(CHG_OCPP_NOT_IMPLEMENTED, why, whylen, "unknown action (longer than any there is)");
    if (!cJSON_IsObject(payload))
        return refuse(CHG_OCPP_FORMATION_VIOLATION, why, whylen, "the payload is not an object");
    strcpy(out->action, action->valuestring);
    out->payload = (cJSON *)payload;
    return CHG_OCPP_OK;
}

static enum chg_ocpp_err parse_result(const cJSON *root, struct chg_frame *out, char *why, size_t whylen)
{
    const cJSON *payload = cJSON_GetArrayItem(root, 2);
    if (!cJSON_IsObject(payload))
        return refuse(CHG_OCPP_FORMATION_VIOLATION, why, whylen, "the payload is not an object");
    out->payload = (cJSON *)payload;
    return CHG_OCPP_OK;
}

static enum chg_ocpp_err parse_error(const cJSON *root, struct chg_frame *out, char *why, size_t whylen)
{
    const cJSON *code = cJSON_GetArrayItem(root, 2), *text = cJSON_GetArrayItem(root, 3);
    const cJSON *details = cJSON_GetArrayItem(root, 4);
    if (!cJSON_IsString(code))
        return refuse(CHG_OCPP_FORMATION_VIOLATION, why, whylen, "the error code is not a string");
    if (!cJSON_IsString(text))
        return refuse(CHG_OCPP_FORMATION_VIOLATION, why, whylen, "the error description is not a string");
    if (details && !cJSON_IsObject(details))
        return refuse(CHG_OCPP_FORMATION_VIOLATION, why, whylen, "the error details are not an object");
    if (chg_ocpp_err_parse(code->valuestring, &out->error) != 0)
        out->error = CHG_OCPP_GENERIC_ERROR;
    out->error_code = code->valuestring;
    out->error_text = text->valuestring;
    out->payload = (cJSON *)details;
    return CHG_OCPP_OK;
}

/* The message type and id, which every frame has; the id is kept even if the rest is wrong. */
static enum chg_ocpp_err parse_head(const cJSON *root, struct chg_frame *out, char *why, size_t whylen)
{
    const cJSON *type = cJSON_GetArrayItem(root, 0), *id = cJSON_GetArrayItem(root, 1);
    if (cJSON_IsString(id) && id->valuestring[0] && strlen(id->valuestring) < sizeof out->id)
        strcpy(out->id, id->valuestring);
    if (!cJSON_IsNumber(type) ||
        (type->valuedouble != CHG_CALL && type->valuedouble != CHG_CALLRESULT && type->valuedouble != CHG_CALLERROR))
        return refuse(CHG_OCPP_FORMATION_VIOLATION, why, whylen, "the message type is not 2, 3 or 4");
    out->type = (enum chg_frame_type)(int)type->valuedouble;
    int n = cJSON_GetArraySize(root);
    if (n >= 2 && !cJSON_IsString(id))
        return refuse(CHG_OCPP_FORMATION_VIOLATION, why, whylen, "the message id is not a string");
    if (n >= 2 && !out->id[0])
        return refuse(CHG_OCPP_FORMATION_VIOLATION, why, whylen,
                      id->valuestring[0] ? "the message id is longer than 36" : "the message id is empty");
    return check_length(out->type, n, why, whylen);
}

enum chg_ocpp_err chg_frame_parse(const char *data, size_t len, struct chg_frame *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (whylen)
        why[0] = '\0';
    if (chg_json_strict(data, len, why, whylen) != 0)
        return CHG_OCPP_FORMATION_VIOLATION;
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root) /* strict JSON that cJSON does not read: out of memory, our fault, not the peer's */
        return refuse(CHG_OCPP_INTERNAL_ERROR, why, whylen, "no memory to read the message");
    enum chg_ocpp_err e = CHG_OCPP_FORMATION_VIOLATION;
    if (!cJSON_IsArray(root)) {
        refuse(e, why, whylen, "the message is not a JSON array");
        goto out;
    }
    e = parse_head(root, out, why, whylen);
    if (e != CHG_OCPP_OK)
        goto out;
    switch (out->type) {
    case CHG_CALL: e = parse_call(root, out, why, whylen); break;
    case CHG_CALLRESULT: e = parse_result(root, out, why, whylen); break;
    case CHG_CALLERROR: e = parse_error(root, out, why, whylen); break;
    }
out:
    if (e != CHG_OCPP_OK) {
        cJSON_Delete(root);
        /* what was read stays readable (type, id); nothing points into the freed tree */
        out->payload = NULL;
        out->error_text = out->error_code = NULL;
        out->root = NULL;
        return e;
    }
    out->root = root;
    return CHG_OCPP_OK;
}

void chg_frame_free(struct chg_frame *f)
{
    if (!f)
        return;
    cJSON_Delete(f->root);
    f->root = NULL;
    f->payload = NULL;
    f->error_text = f->error_code = NULL;
}

/* --- writing ------------------------------------------------------------------------------------ */

/* Prints [type, id, strings..., body] without copying body: the array holds references only. */
static char *print_frame(int type, const char *id, const char *s1, const char *s2, const cJSON *body)
{
    char *text = NULL;
    cJSON *empty = NULL, *frame = cJSON_CreateArray();
    if (!frame || !cJSON_AddItemToArray(frame, cJSON_CreateNumber(type)) ||
        !cJSON_AddItemToArray(frame, cJSON_CreateStringReference(id)))
        goto out;
    if (s1 && !cJSON_AddItemToArray(frame, cJSON_CreateStringReference(s1)))
        goto out;
    if (s2 && !cJSON_AddItemToArray(frame, cJSON_CreateStringReference(s2)))
        goto out;
    if (!body && !(body = empty = cJSON_CreateObject()))
        goto out;
    /* cJSON takes a non-const item, but a reference is never changed or freed */
    if (!cJSON_AddItemReferenceToArray(frame, (cJSON *)body))
        goto out;
    text = cJSON_PrintUnformatted(frame);
out:
    cJSON_Delete(frame);
    cJSON_Delete(empty);
    return text;
}

static int valid_id(const char *id) { return id && id[0] && strlen(id) <= 36; }

char *chg_frame_call(const char *id, const char *action, const cJSON *payload)
{
    if (!valid_id(id) || !action || !action[0] || (payload && !cJSON_IsObject(payload)))
        return NULL;
    return print_frame(CHG_CALL, id, action, NULL, payload);
}

char *chg_frame_result(const char *id, const cJSON *payload)
{
    if (!valid_id(id) || (payload && !cJSON_IsObject(payload)))
        return NULL;
    return print_frame(CHG_CALLRESULT, id, NULL, NULL, payload);
}

char *chg_frame_error(const char *id, enum chg_ocpp_err code, const char *description, const cJSON *details)
{
    const char *name = chg_ocpp_err_name(code);
    /* an error to a message whose id could not be read goes out with the id "-1" (ocpp-rpc does too) */
    if (!name || (details && !cJSON_IsObject(details)))
        return NULL;
    return print_frame(CHG_CALLERROR, valid_id(id) ? id : "-1", name, description ? description : "", details);
}

/* --- ids ---------------------------------------------------------------------------------------- */

/* 16 random bytes from the kernel.  Ids need only be unique on their connection: should getrandom
 * fail (no entropy syscall in a sandbox), a counter and the clock still give that. */
static void random_bytes(uint8_t b[16])
{
    static uint64_t counter;
    ssize_t n;
    do
        n = getrandom(b, 16, 0);
    while (n < 0 && errno == EINTR);
    if (n == 16)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t a = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, c = ++counter;
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
}

void chg_frame_new_id(char buf[37])
{
    uint8_t b[16];
    random_bytes(b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10xx */
    snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
