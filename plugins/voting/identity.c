/*
 * identity.c - the Lua identity hook: a town that has its own login (a
 * citizen portal, a school's accounts) says who a voter is instead of
 * sending codes.  The budget's script (identity_hook "lua:<file>") defines
 *
 *     function identify(credentials)      -- what the voter sent, as a table
 *         return { voter = "<stable id>" } -- or { error = "why not" }
 *     end
 *
 * and runs in the core's sandbox with the instance's budget and memory cap.
 * The voter's row is keyed by SHA-256 of the hook, the budget and that id,
 * so the register holds "has voted" for them exactly as for a code
 * (identity_http.c asks a web service instead, and registers the same way).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voting.h"

int vote_identity_check(struct vote *v, struct vote_budget *b, const cJSON *credentials, char voter_key[65],
                        char *why, size_t whylen)
{
    if (!cJSON_IsObject(credentials)) {
        vote_refuse(v, VOTE_R_IDENTITY, "a ballot without credentials");
        snprintf(why, whylen, "this budget needs \"credentials\": an object your town's login gives you");
        return 400;
    }
    char *arg = cJSON_PrintUnformatted(credentials), *result = NULL;
    int rc = arg ? v->host->script_call(b->identity, "identify", arg, strlen(arg), &result) : MST_ENOMEM;
    cJSON *r = result ? cJSON_Parse(result) : NULL;
    const char *voter = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "voter"));
    const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "error"));
    int status = 0;
    if (rc != 0 || !voter || !*voter) {
        vote_refuse(v, VOTE_R_IDENTITY, "the identity hook of budget %s said no: %s", b->id,
                    error ? error : rc ? mst_strerror(rc) : "no voter");
        snprintf(why, whylen, "you could not be identified: %s", rc == 0 && error ? error : "the check failed");
        status = rc == 0 ? 403 : 503;
    } else if (vote_identity_register(v, b, "lua", voter, voter_key) != 0) {
        snprintf(why, whylen, "the register could not be written");
        status = 500;
    }
    cJSON_Delete(r);
    v->host->free(result);
    cJSON_free(arg);
    return status;
}

int vote_identity_register(struct vote *v, struct vote_budget *b, const char *hook, const char *voter,
                           char voter_key[65])
{
    char *both = malloc(strlen(hook) + strlen(b->id) + strlen(voter) + 3);
    if (!both)
        return MST_ENOMEM;
    sprintf(both, "%s:%s:%s", hook, b->id, voter);
    vote_hash_hex(both, voter_key);
    free(both);
    const char *p[] = {b->id, voter_key};
    return vote_db_exec(v->db, "INSERT OR IGNORE INTO voter(budget, voter, code_hash) VALUES (?1, ?2, ?2)", 2, p);
}
