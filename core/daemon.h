/* daemon.h - mestysd: one loop, the bus, the HTTP server, and the plugin
 * instances the config names, started in order and stopped in reverse. */
#ifndef MST__DAEMON_H
#define MST__DAEMON_H

#include <uv.h>

#include "bus.h"
#include "config.h"
#include "http.h"
#include "instance.h"
#include "loader.h"
#include "metrics.h"
#include "timer.h"

struct mst__daemon {
    uv_loop_t loop;
    char *config_file;
    struct mst__config *cfg;
    const char *cfg_state_dir; /* cfg->state_dir */
    struct mst__loader loader;
    struct mst__metrics metrics;
    struct mst__bus bus;
    struct mst__http http;
    struct mst__soon soon;
    struct mst__list instances; /* in start order */
    uv_signal_t sigint, sigterm, sighup;
    int signals_started;
    int stopping;
    int bus_up;
    int loop_ready;
    int state_lock; /* fd holding state_dir/.lock, or -1 */
    uint64_t started_ms;
    struct mst_metric *reloads_ok, *reloads_failed, *lua_instr_hits, *lua_mem_hits;
};

/* Loads and validates the config; on error the diagnostics are in diag. */
int mst__daemon_init(struct mst__daemon *d, const char *config_file, struct mst__diag *diag);
/* Starts everything and runs the loop until a stop signal. */
int mst__daemon_run(struct mst__daemon *d);
/* The two halves of run, for tests that drive the loop themselves:
 * start brings everything up; finish stops it, runs the loop until every
 * handle has closed and closes the loop (0, or a libuv error if a handle
 * was left open). */
int mst__daemon_start(struct mst__daemon *d);
int mst__daemon_finish(struct mst__daemon *d);
/* Re-reads the config file: all or nothing.  On error, why says what. */
int mst__daemon_reload(struct mst__daemon *d, struct mst__buf *why);
void mst__daemon_stop(struct mst__daemon *d);
void mst__daemon_free(struct mst__daemon *d);

struct mst_instance *mst__daemon_find(struct mst__daemon *d, const char *name);

/* admin.c: /health, /metrics and /api/admin/... */
void mst__admin_register(struct mst__daemon *d);

/* instance.c helpers for the host table */
int mst__instance_timer_start(struct mst_instance *inst, uint64_t after_ms, uint64_t repeat_ms,
                              mst_timer_cb cb, void *arg, mst_timer **out);
void mst__instance_timer_stop(mst_timer *t);
int mst__instance_queue_work(struct mst_instance *inst, mst_work_cb fn, mst_after_work_cb after,
                             void *arg);
/* db.c */
int mst__db_open(const char *path, const char *const *migrations, struct sqlite3 **out, char **err);

#endif
