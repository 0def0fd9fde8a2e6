/* A plugin that needs a function nothing provides: dlopen(RTLD_NOW) fails. */
#include <mestys/mestys.h>
extern int mestys_function_that_does_not_exist(void);
static int init(mst_instance *i, const struct mst_host *h, void **s)
{
    (void)i, (void)h, (void)s;
    return mestys_function_that_does_not_exist();
}
MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1, .struct_size = sizeof(struct mst_plugin), .name = "missing_symbol",
    .version = "1.0.0", .init = init,
};
