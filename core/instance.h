/* instance.h - one configured instance of a plugin, and everything it has
 * registered with the core, so it can all be taken back when it stops. */
#ifndef MST__INSTANCE_H
#define MST__INSTANCE_H

#include <cjson/cJSON.h>
#include <uv.h>

#include <mestys/host.h>

#include "list.h"
#include "loader.h"
#include "strmap.h"

struct mst__daemon;
struct mst__instance_conf;

enum mst__instance_state {
    MST__INST_NEW = 0,
    MST__INST_READY,   /* init succeeded */
    MST__INST_RUNNING, /* start succeeded */
    MST__INST_STOPPED,
    MST__INST_FAILED,
};

struct mst_instance {
    struct mst__list link;
    struct mst__daemon *d;
    char *name;
    char *source; /* "plugin:instance", for the log */
    struct mst__module *module;
    const struct mst_plugin *plugin;
    cJSON *config;
    char *config_text; /* canonical JSON, to see whether a reload changed it */
    char *state_dir;
    int state_dir_ready;
    void *state;
    enum mst__instance_state state_kind;
    int required;
    int64_t lua_instructions;
    int64_t lua_memory_mb;
    char *error;
    char *problem; /* host->health_set: shown in /health while running, NULL if none */
    struct mst__list timers;
    struct mst__list udp_sockets;
    struct mst__list scripts;
    int works;       /* queued work items not yet back on the loop */
    int destroying;  /* fini and free once works reaches 0 */
    struct mst__strmap refusals_logged;
    struct mst_metric *published, *delivered, *refused, *errors;
};

struct mst_instance *mst__instance_new(struct mst__daemon *d, const struct mst__instance_conf *ic);
/* Calls the plugin's init; on failure the instance is FAILED with error set. */
int mst__instance_init(struct mst_instance *inst);
int mst__instance_start(struct mst_instance *inst);
/* Calls stop and takes back subscriptions, routes and timers. */
void mst__instance_stop(struct mst_instance *inst);
/* Calls fini (when init had succeeded) and frees, once queued work is back. */
void mst__instance_destroy(struct mst_instance *inst);
/* Replaces the config (for the plugin's reload callback). */
void mst__instance_set_config(struct mst_instance *inst, const cJSON *config);
void mst__instance_fail(struct mst_instance *inst, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *mst__instance_state_name(enum mst__instance_state s);
char *mst__json_canonical(const cJSON *v);

/* Logs a refusal once per instance and key; counts it every time. */
void mst__instance_refuse(struct mst_instance *inst, const char *topic, const char *reason,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

extern const struct mst_host mst__host;

#endif
