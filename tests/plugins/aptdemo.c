/* aptdemo - the plugin tests/integration/test_apt_channel.sh ships through
 * a region's apt channel, built there twice (APTDEMO_VERSION 1.0.0 and
 * 1.1.0) to show an upgrade and a rollback: each version is its own bundle
 * folder, aptdemo/VERSION/, and its own package version. */
#include <mestys/mestys.h>

#ifndef APTDEMO_VERSION
#define APTDEMO_VERSION "1.0.0"
#endif

static int init(mst_instance *inst, const struct mst_host *host, void **s)
{
    host->log(inst, MST_LOG_INFO, "aptdemo " APTDEMO_VERSION " running");
    *s = NULL;
    return 0;
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1, .struct_size = sizeof(struct mst_plugin), .name = "aptdemo",
    .version = APTDEMO_VERSION, .description = "a plugin shipped through the apt channel test", .init = init,
};
