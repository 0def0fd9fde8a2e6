/* identity_answer.c - the answer of a town's identity service (an HTTP/1.x
 * response) read: the status, and the voter's id from a 200's JSON body.
 * Pure: tests/fuzz/voting_identity.c drives it. */
#include <stdio.h>
#include <string.h>

#include "voting.h"

int vote_identity_answer(const char *answer, int *status, char *voter, size_t voterlen, char *why, size_t whylen)
{
    int major, minor;
    const char *body = strstr(answer, "\r\n\r\n");
    *status = 0;
    voter[0] = '\0';
    if (sscanf(answer, "HTTP/%d.%d %d", &major, &minor, status) != 3 || !body || *status < 100 || *status > 599) {
        *status = 0;
        snprintf(why, whylen, "the identity service gave no HTTP answer");
        return MST_EINVAL;
    }
    cJSON *r = cJSON_Parse(body + 4);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "voter"));
    const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "error"));
    int rc = MST_EINVAL;
    if (*status == 200 && id && *id && strlen(id) < voterlen) {
        snprintf(voter, voterlen, "%s", id);
        rc = 0;
    } else {
        snprintf(why, whylen, "%s", error && *error ? error : "the identity service did not name a voter");
    }
    cJSON_Delete(r);
    return rc;
}
