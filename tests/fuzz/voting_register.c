/* fuzz_voting_register - the register of eligible voters as text/csv
 * (POST manage/<id>/register, plugins/voting/register_csv.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "voting/voting.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vote_voter *voters = NULL;
    size_t n = 0;
    char why[300] = "";
    int rc = vote_register_parse((const char *)data, size, &voters, &n, why, sizeof why);
    if (rc != 0) {
        if (voters || n || !why[0])
            abort(); /* a refusal leaves nothing and says why */
        return 0;
    }
    for (size_t i = 0; i < n; i++) /* every voter has an id; fields fit their limit */
        if (!voters[i].voter[0] || strlen(voters[i].voter) > 1000 || strlen(voters[i].name) > 1000 ||
            strlen(voters[i].address) > 1000)
            abort();
    vote_register_free(voters, n);
    return 0;
}
