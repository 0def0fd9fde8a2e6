/* quiet.h - a fuzz target's host table: the mock host's, without log
 * lines (it writes each to stderr, which at thousands of inputs a second is
 * most of the run and hides libFuzzer's own report). */
#ifndef MESTYS_FUZZ_QUIET_H
#define MESTYS_FUZZ_QUIET_H

#include <stdarg.h>
#include <stdlib.h>

#include <mestys/host.h>
#include <mestys/mock.h>

static void quiet_vlog(mst_instance *i, enum mst_log_level l, const char *f, va_list ap)
{
    (void)i, (void)l, (void)f, (void)ap;
}

static void quiet_log(mst_instance *i, enum mst_log_level l, const char *f, ...)
{
    (void)i, (void)l, (void)f;
}

/* A mock host for the plugin with its config, and its table without log
 * lines in *host, for a target to adjust and hand to the plugin's init
 * itself.  A config the plugin refuses is the harness's bug: abort. */
static struct mst_mock *quiet_mock(const struct mst_plugin *plugin, const char *config, struct mst_host *host)
{
    struct mst_mock *mock = mst_mock_new(plugin, config);
    if (!mock)
        abort();
    *host = *mst_mock_host(mock);
    host->log = quiet_log;
    host->vlog = quiet_vlog;
    return mock;
}

#endif
