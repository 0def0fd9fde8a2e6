/* fuzz_ws_subprotocol - a client's Sec-WebSocket-Protocol list against the
 * subprotocols the server offers (core/http_route.c): the pick is a known
 * name the client offered as a whole token, the first such one, and "" only
 * when no offered token is known. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KNOWN 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the first line is the header; each further line a known name */
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    const char *known[MAX_KNOWN];
    size_t n = 0;
    char *offered = text, *save = NULL;
    char *nl = strchr(text, '\n');
    if (nl) {
        *nl = '\0';
        for (char *name = strtok_r(nl + 1, "\n", &save); name && n < MAX_KNOWN; name = strtok_r(NULL, "\n", &save))
            known[n++] = name;
    }
    const char *pick = mst__ws_pick_subprotocol(offered, known, n);
    if (!pick)
        abort(); /* a header was given */
    /* the answer as a plain split of the list would give it */
    char *copy = strdup(offered);
    const char *want = "";
    for (char *tok = strtok_r(copy, ", ", &save); tok && !*want; tok = strtok_r(NULL, ", ", &save))
        for (size_t i = 0; i < n; i++)
            if (strcmp(tok, known[i]) == 0) {
                want = known[i];
                break;
            }
    if (strcmp(pick, want) != 0)
        abort();
    if (*pick) {
        int from_known = 0;
        for (size_t i = 0; i < n; i++)
            from_known |= pick == known[i];
        if (!from_known)
            abort(); /* the server's own string, which outlives the header */
    }
    if (mst__ws_pick_subprotocol(NULL, known, n) != NULL)
        abort();
    free(copy);
    free(text);
    return 0;
}
