/* fuzz_manifest_parse - a bundle's manifest.json as anyone could put it on
 * disk (core/bundle_manifest.c): a refusal always says why; what is
 * accepted has a valid name, version, range and sorted, unique, valid
 * paths, and written by our emitter reads back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const struct mst__manifest *m)
{
    if (m->format != 1 || m->abi < 1 || !mst__valid_name(m->name) || !mst__semver_valid(m->version) ||
        m->n_files == 0)
        abort();
    struct mst__buf why = {0};
    if (mst__range_contains(m->host, "0.0.0", &why) < 0)
        abort();
    mst__buf_free(&why);
    for (size_t i = 0; i < m->n_files; i++) {
        if (!mst__bundle_path_valid(m->paths[i]) || mst__bundle_is_meta_file(m->paths[i]))
            abort();
        if (i && strcmp(m->paths[i - 1], m->paths[i]) >= 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mst__manifest m, again;
    struct mst__buf why = {0}, out = {0}, out2 = {0};
    if (mst__manifest_parse((const char *)data, size, &m, &why) != 0) {
        if (!why.len)
            abort();
        mst__manifest_free(&m);
        mst__buf_free(&why);
        return 0;
    }
    check_accepted(&m);
    mst__manifest_emit(&m, &out);
    if (mst__manifest_parse(out.data, out.len, &again, &why) != 0)
        abort();
    mst__manifest_emit(&again, &out2);
    if (out.len != out2.len || memcmp(out.data, out2.data, out.len) != 0 || again.n_files != m.n_files ||
        memcmp(again.sha, m.sha, 32 * m.n_files) != 0 || strcmp(again.host, m.host) != 0)
        abort();
    mst__manifest_free(&again);
    mst__manifest_free(&m);
    mst__buf_free(&out);
    mst__buf_free(&out2);
    mst__buf_free(&why);
    return 0;
}
