/* log.h - one line per event: time, level, [source], message. */
#ifndef MST__LOG_H
#define MST__LOG_H

#include <stdarg.h>

#include <mestys/host.h>

void mst__log_set_level(enum mst_log_level level);
enum mst_log_level mst__log_get_level(void);
/* "error", "warn", "info", "debug" -> level; -1 if unknown. */
int mst__log_level_parse(const char *name);

void mst__vlog(enum mst_log_level level, const char *source, const char *fmt, va_list ap);
void mst__log(enum mst_log_level level, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define mst__log_error(...) mst__log(MST_LOG_ERROR, "core", __VA_ARGS__)
#define mst__log_warn(...) mst__log(MST_LOG_WARN, "core", __VA_ARGS__)
#define mst__log_info(...) mst__log(MST_LOG_INFO, "core", __VA_ARGS__)
#define mst__log_debug(...) mst__log(MST_LOG_DEBUG, "core", __VA_ARGS__)

#endif
