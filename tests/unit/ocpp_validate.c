/* ocpp_validate - the charging plugin's OCPP-J reading as a filter, for ocpp_schema_diff.js: each line
 * of stdin is "<Action>\t<req|conf>\t<payload JSON>"; the payload goes through what the plugin does
 * with a message (chg_frame_parse of a CALL or CALLRESULT carrying it, then chg_schema_check) and one
 * line comes out: "OK", or the OCPP-J error code, a tab and why.
 * A line "text\t<hex>" is raw bytes for chg_json_strict alone: "OK" or "NotJSON\t<why>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/charging/json_strict.h"
#include "../../plugins/charging/ocpp_schema.h"
#include "../../plugins/charging/rpc.h"

static int nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void text_verdict(const char *hex)
{
    size_t n = strlen(hex) / 2;
    char *bytes = malloc(n + 1), why[256];
    if (!bytes)
        abort();
    for (size_t i = 0; i < n; i++)
        bytes[i] = (char)(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
    if (chg_json_strict(bytes, n, why, sizeof why) == 0)
        printf("OK\n");
    else
        printf("NotJSON\t%s\n", why);
    free(bytes);
}

static void verdict(const struct chg_schemas *s, char *line)
{
    if (strncmp(line, "text\t", 5) == 0) {
        text_verdict(line + 5);
        return;
    }
    char *action = line, *dir = strchr(line, '\t'), *payload = dir ? strchr(dir + 1, '\t') : NULL;
    if (!payload) {
        printf("BadLine\t%s\n", line);
        return;
    }
    *dir++ = '\0';
    *payload++ = '\0';
    int is_conf = strcmp(dir, "conf") == 0;
    size_t n = strlen(payload) + strlen(action) + 32;
    char *frame = malloc(n), why[512];
    if (!frame)
        abort();
    snprintf(frame, n, is_conf ? "[3,\"x\",%s]" : "[2,\"x\",\"%s\",%s]", is_conf ? payload : action, payload);
    struct chg_frame f;
    enum chg_ocpp_err e = chg_frame_parse(frame, strlen(frame), &f, why, sizeof why);
    if (e == CHG_OCPP_OK)
        e = chg_schema_check(s, action, is_conf, f.payload, why, sizeof why);
    if (e == CHG_OCPP_OK)
        printf("OK\n");
    else
        printf("%s\t%s\n", chg_ocpp_err_name(e), why);
    chg_frame_free(&f);
    free(frame);
}

int main(void)
{
    struct chg_schemas *s;
    char why[256], *line = NULL;
    size_t cap = 0;
    ssize_t len;
    if (chg_schemas_load(&s, why, sizeof why) != 0) {
        fprintf(stderr, "ocpp_validate: %s\n", why);
        return 1;
    }
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        verdict(s, line);
    }
    free(line);
    chg_schemas_free(s);
    return 0;
}
