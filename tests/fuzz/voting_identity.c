/* fuzz_voting_identity - the answer of a town's identity service
 * (plugins/voting/identity_http.c): status line, headers, JSON body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "voting/voting.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *answer = malloc(size + 1), voter[256], why[300] = "";
    int status = -1;
    if (!answer)
        return 0;
    memcpy(answer, data, size);
    answer[size] = '\0';
    int rc = vote_identity_answer(answer, &status, voter, sizeof voter, why, sizeof why);
    /* a voter only from a 200 with a non-empty id; a refusal says why */
    if (rc == 0 && (status != 200 || !voter[0] || strlen(voter) >= sizeof voter))
        abort();
    if (rc != 0 && (!why[0] || voter[0]))
        abort();
    if (status != 0 && (status < 100 || status > 599))
        abort();
    free(answer);
    return 0;
}
