/*
 * mestys/pages.h - a plugin's pages (its www/ folder) at /<instance>/.
 *
 * Header-only.  The convention every plugin with pages keeps
 * (docs/sdk.md, "pages"): a bool config key "pages" (default true) turns
 * them off; the folder is the plugin's name in the daemon's www folder.
 */
#ifndef MESTYS_PAGES_H
#define MESTYS_PAGES_H

#include "error.h"
#include "host.h"

/* Mounts folder `plugin` at /<instance>/ unless the instance's "pages" is
 * false.  Without the folder (not built, not installed) the plugin's API
 * still runs: a warning says the pages are missing and 0 is returned.
 * Any other refusal is logged and returned. */
static inline int mst_pages_mount(const struct mst_host *host, mst_instance *inst, const char *plugin)
{
    int on = 1;
    host->config_bool(inst, "pages", &on);
    if (!on || !MST_HOST_HAS(host, http_static))
        return 0;
    int rc = host->http_static(inst, host->instance_name(inst), plugin, NULL);
    if (rc == MST_ENOENT) {
        host->log(inst, MST_LOG_WARN, "the pages are not served: the folder www/%s is missing (build the %s_www "
                                      "target, or install)", plugin, plugin);
        return 0;
    }
    if (rc != 0)
        host->log(inst, MST_LOG_ERROR, "cannot serve the pages at /%s/: %s", host->instance_name(inst),
                  mst_strerror(rc));
    return rc;
}

#endif
