/* fuzz_trust_revocations - a region's revocation list (core/trust_list.c),
 * as the parser sees it once root.pub's signature has verified: whatever is
 * accepted has a serial >= 0, well-formed key ids and plugin names, and
 * answers lookups. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trust_list.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mst__revlist l;
    struct mst__buf why = {0};
    if (mst__revlist_parse((const char *)data, size, &l, &why) == 0) {
        if (l.serial < 0)
            abort();
        for (size_t i = 0; i < l.n_revoked; i++)
            if (strlen(l.revoked[i]) != 16 || !mst__revlist_key_revoked(&l, l.revoked[i]))
                abort();
        for (size_t i = 0; i < l.n_floors; i++)
            if (!mst__valid_name(l.floors[i].name) || !mst__revlist_floor(&l, l.floors[i].name) ||
                !l.floors[i].reason)
                abort();
        mst__revlist_free(&l);
    } else if (!why.data || !why.data[0]) {
        abort(); /* every refusal says why */
    }
    mst__buf_free(&why);
    return 0;
}
