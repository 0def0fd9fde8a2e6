/* A plugin built for an ABI this daemon does not speak. */
#include <mestys/mestys.h>
static int init(mst_instance *i, const struct mst_host *h, void **s) { (void)i, (void)h, (void)s; return 0; }
MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 99, .struct_size = sizeof(struct mst_plugin), .name = "abi_mismatch",
    .version = "1.0.0", .init = init,
};
