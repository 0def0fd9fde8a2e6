/*
 * mestys/plugin.h - what a plugin shared object exports.
 *
 * A plugin exports exactly one symbol:
 *
 *     MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
 *         .abi_version = 1,                       // a literal, never MST_PLUGIN_ABI
 *         .struct_size = sizeof(struct mst_plugin),
 *         ...
 *     };
 *
 * The loader reads abi_version and struct_size before anything else and
 * refuses a plugin whose ABI it does not speak.  Write the number you built
 * against as a literal: a plugin that echoes MST_PLUGIN_ABI would claim the
 * newest ABI after a rebuild without anyone reading the changes.
 *
 * ABI rules: fields are only ever appended; a new field is read only when
 * struct_size says the plugin has it; reserved[] absorbs growth.
 */
#ifndef MESTYS_PLUGIN_H
#define MESTYS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MST_PLUGIN_ABI 1

struct mst_host;
typedef struct mst_instance mst_instance;

/* Types a config key can have.  OBJECT and ARRAY may describe their members
 * through `fields` (object members, or the members of every array item). */
enum mst_config_type {
    MST_CFG_STRING = 1,
    MST_CFG_INT,
    MST_CFG_NUMBER,
    MST_CFG_BOOL,
    MST_CFG_OBJECT,
    MST_CFG_ARRAY,
    MST_CFG_STRING_LIST,
    MST_CFG_ANY,
};

enum mst_config_flags {
    MST_CFG_REQUIRED = 1u << 0,
    MST_CFG_HAS_RANGE = 1u << 1, /* min/max apply (numbers, string length, item count) */
    MST_CFG_SECRET = 1u << 2,    /* never echoed in /api/admin/plugins */
    MST_CFG_SCRIPT = 1u << 3,    /* a string; "lua:<file>" names a Lua script (found like
                                  * host->script_open finds it) that the core compiles when
                                  * it checks the config, so `mestys check` reports a
                                  * missing or broken file at this key's line */
};

/* One row of a plugin's config schema; a table ends with a row whose key is
 * NULL.  `default_json` is the default written as JSON ("5000", "\"info\"",
 * "[]"); NULL means no default. */
struct mst_config_key {
    const char *key;
    enum mst_config_type type;
    uint32_t flags;
    const char *default_json;
    double min;
    double max;
    const char *description;
    const struct mst_config_key *fields;
    const char *choices; /* strings only: allowed values, '|'-separated */
};

/* Lifecycle, all called on the loop thread:
 *   init   - read config, allocate, register bus/HTTP/timers; set *state.
 *   start  - begin work (timers, listeners may be started in init as well).
 *   stop   - stop producing; the host cancels the instance's subscriptions,
 *            routes and timers after stop returns.
 *   fini   - free everything; the instance is gone after this.
 *   reload - optional: the config changed; read it again.  Returning an
 *            error makes the daemon restart the instance instead. */
struct mst_plugin {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *name;
    const char *version;
    const char *description;
    const struct mst_config_key *config;
    const char *const *publishes;  /* topic patterns, NULL-terminated */
    const char *const *subscribes;
    const char *const *serves;
    const char *const *requests;
    int (*init)(mst_instance *inst, const struct mst_host *host, void **state);
    int (*start)(void *state);
    void (*stop)(void *state);
    void (*fini)(void *state);
    int (*reload)(void *state);
    /* Optional, appended (read only when struct_size covers it): checks
     * what a schema table cannot say (IRIs, "one of these two", ...), for
     * `mestys check` and before init.  `config` is the instance's config as
     * JSON with the defaults filled in; no instance exists yet.  On a
     * problem, write the key's path relative to the config
     * ("datasets[0].themes") and a sentence, and return MST_EINVAL. */
    int (*check)(const char *config, char *path, size_t path_len, char *msg, size_t msg_len);
    void *reserved[7];
};

#define MST_PLUGIN_HAS(p, field)                                                                   \
    ((p)->struct_size >= offsetof(struct mst_plugin, field) + sizeof((p)->field))

#define MST_PLUGIN_SYMBOL "mestys_plugin"

/* Plugins build with hidden visibility; this exports the one symbol. */
#if defined(__GNUC__)
#define MST_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define MST_PLUGIN_EXPORT
#endif

#endif /* MESTYS_PLUGIN_H */
