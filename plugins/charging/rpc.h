/* rpc.h - OCPP-J 1.6 framing: the RPC frames of the OCPP-J 1.6 specification §4
 * ([2,id,action,payload] CALL, [3,id,payload] CALLRESULT, [4,id,code,description,details] CALLERROR),
 * the §4.2.3 error codes, and message ids.
 *
 * Build: rpc.c needs cJSON only (no host calls).  The charging plugin, tests/unit/test_ocpp_rpc.c,
 * tests/fuzz/charging_rpc.c and tests/bench/bench_charging.c all take the OCPP-J sources (rpc.c,
 * json_strict.c, ocpp_schema.c, ocpp_format.c and the schemas compiled in) from one place,
 * schemas/schemas.cmake's chg_ocpp_sources(VAR); ocpp_schema.h shows the three lines.  The schema
 * validator is in ocpp_schema.h. */
#ifndef CHG_RPC_H
#define CHG_RPC_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Which code each refusal gets: the frame's shape below (chg_frame_parse), a payload's schema rules in
 * ocpp_schema.h (chg_schema_check). */
enum chg_ocpp_err {            /* OCPP-J 1.6 §4.2.3 error codes */
    CHG_OCPP_OK = 0, CHG_OCPP_NOT_IMPLEMENTED, CHG_OCPP_NOT_SUPPORTED, CHG_OCPP_INTERNAL_ERROR,
    CHG_OCPP_PROTOCOL_ERROR, CHG_OCPP_SECURITY_ERROR, CHG_OCPP_FORMATION_VIOLATION,
    CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, CHG_OCPP_OCCURENCE_CONSTRAINT_VIOLATION,
    CHG_OCPP_TYPE_CONSTRAINT_VIOLATION, CHG_OCPP_GENERIC_ERROR,
};
/* The code as written on the wire ("FormationViolation", ...; "OccurenceConstraintViolation" with the
 * specification's spelling); NULL for CHG_OCPP_OK or a value outside the enum. */
const char *chg_ocpp_err_name(enum chg_ocpp_err e);
/* 0 and *out, or -1 for a name that is not one of the ten codes (exact, case-sensitive). */
int chg_ocpp_err_parse(const char *name, enum chg_ocpp_err *out);

enum chg_frame_type { CHG_CALL = 2, CHG_CALLRESULT = 3, CHG_CALLERROR = 4 };
struct chg_frame {
    enum chg_frame_type type;
    char id[37];                /* unique id, at most 36 chars */
    char action[48];            /* CALL only */
    cJSON *payload;             /* CALL/CALLRESULT payload; CALLERROR details; owned by root */
    enum chg_ocpp_err error;    /* CALLERROR only */
    const char *error_text;     /* CALLERROR description; owned by root */
    cJSON *root;                /* the parsed array; freed by chg_frame_free */
    const char *error_code;     /* CALLERROR only: the code as sent; owned by root */
};
/* Parses one text message.  Returns CHG_OCPP_OK, or the error to answer with; `why` gets a short
 * reason; out->id is filled whenever the id could be read (so a CALLERROR can be sent), else "".
 * On an error out->root is NULL (nothing to free); chg_frame_free is safe on it either way.
 *
 * The text must be one JSON value as RFC 8259 defines it (json_strict.h: cJSON alone is more lenient).
 * What is refused, and with which code (OCPP-J 1.6 §4.2.3: FormationViolation is "syntactically
 * incorrect or not conform the PDU structure"; ProtocolError is "incomplete"):
 *   not JSON, not an array, first element not 2, 3 or 4,                FormationViolation
 *   id not a string, empty or longer than 36 bytes, action not a
 *   non-empty string, payload/details not an object, error code or
 *   description not a string, more elements than the type has
 *   fewer elements than the type has (a CALL without its payload)        ProtocolError
 *   a CALL whose action is longer than 47 bytes (no action is)           NotImplemented
 *   no memory to read it                                                 InternalError
 * out->type is set as soon as the first element was read (else 0): only a CALL is ever answered, a
 * refused CALLRESULT or CALLERROR is dropped (and counted) by the caller.
 * A CALLERROR's details may be absent (some peers send four elements): payload is then NULL.  Its
 * code may be any string: one of the ten gives out->error, any other (ocpp-rpc answers with OCPP 2.0.1
 * names such as "FormatViolation" or "RpcFrameworkError" on 1.6 too) gives CHG_OCPP_GENERIC_ERROR;
 * out->error_code is the code as sent either way. */
enum chg_ocpp_err chg_frame_parse(const char *data, size_t len, struct chg_frame *out, char *why, size_t whylen);
void chg_frame_free(struct chg_frame *f);
/* Serialise frames; free with free().  NULL only if out of memory or an argument is invalid (a NULL,
 * empty or over-36-byte id or a NULL/empty action for a CALL or CALLRESULT, a payload that is not an
 * object, code CHG_OCPP_OK).  A NULL payload/details is sent as {}.  chg_frame_error takes a NULL or
 * "" id (the message's id could not be read) and sends "-1", as ocpp-rpc does. */
char *chg_frame_call(const char *id, const char *action, const cJSON *payload);
char *chg_frame_result(const char *id, const cJSON *payload);
char *chg_frame_error(const char *id, enum chg_ocpp_err code, const char *description, const cJSON *details);
/* A unique message id (a UUID v4 from the kernel's random bytes) into buf[37]. */
void chg_frame_new_id(char buf[37]);

#endif
