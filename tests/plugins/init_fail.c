/* A plugin whose init reports an error, after handing back a state as a
 * careless plugin might: the core must not call fini with it. */
#include <stdio.h>

#include <mestys/mestys.h>

static char half_built[] = "half-built";

static int init(mst_instance *inst, const struct mst_host *host, void **s)
{
    *s = half_built;
    host->log(inst, MST_LOG_ERROR, "cannot reach the charging backend");
    return MST_EIO;
}

static void fini(void *s)
{
    fprintf(stderr, "init_fail: fini called after a failed init with %s state\n", (const char *)s);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1, .struct_size = sizeof(struct mst_plugin), .name = "init_fail",
    .version = "1.0.0", .init = init, .fini = fini,
};
