/* A plugin whose init reports an error. */
#include <mestys/mestys.h>
static int init(mst_instance *inst, const struct mst_host *host, void **s)
{
    (void)s;
    host->log(inst, MST_LOG_ERROR, "cannot reach the charging backend");
    return MST_EIO;
}
MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1, .struct_size = sizeof(struct mst_plugin), .name = "init_fail",
    .version = "1.0.0", .init = init,
};
