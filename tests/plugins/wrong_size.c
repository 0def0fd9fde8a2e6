/* A plugin whose struct is smaller than ABI 1's: from a broken build. */
#include <mestys/mestys.h>
static int init(mst_instance *i, const struct mst_host *h, void **s) { (void)i, (void)h, (void)s; return 0; }
MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1, .struct_size = 16, .name = "wrong_size", .version = "1.0.0", .init = init,
};
