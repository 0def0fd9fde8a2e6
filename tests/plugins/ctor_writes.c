/* A plugin whose constructor writes a file (MESTYS_TEST_CTOR_FILE): it
 * runs at dlopen, before any check the loader could make after it, so a
 * refused bundle of it must never reach dlopen (test_trust.py). */
#include <stdio.h>
#include <stdlib.h>

#include <mestys/mestys.h>

__attribute__((constructor)) static void wrote_at_dlopen(void)
{
    const char *path = getenv("MESTYS_TEST_CTOR_FILE");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f) {
        fputs("the constructor ran\n", f);
        fclose(f);
    }
}

static int init(mst_instance *inst, const struct mst_host *host, void **s)
{
    (void)inst;
    (void)host;
    *s = NULL;
    return 0;
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1, .struct_size = sizeof(struct mst_plugin), .name = "ctor_writes",
    .version = "1.0.0", .init = init,
};
