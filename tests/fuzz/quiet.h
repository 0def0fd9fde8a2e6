/* quiet.h - log functions for a fuzz target's host table: the mock host
 * writes every log line to stderr, which at thousands of inputs a second
 * is most of the run and hides libFuzzer's own report. */
#ifndef MESTYS_FUZZ_QUIET_H
#define MESTYS_FUZZ_QUIET_H

#include <stdarg.h>

#include <mestys/host.h>

static void quiet_vlog(mst_instance *i, enum mst_log_level l, const char *f, va_list ap)
{
    (void)i, (void)l, (void)f, (void)ap;
}

static void quiet_log(mst_instance *i, enum mst_log_level l, const char *f, ...)
{
    (void)i, (void)l, (void)f;
}

#endif
