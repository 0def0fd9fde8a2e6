/* config.h - the town's config file: JSON with comments, validated as a
 * whole (core sections and every plugin's schema) before anything starts. */
#ifndef MST__CONFIG_H
#define MST__CONFIG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "diag.h"
#include "loader.h"
#include "role.h"
#include "trust.h"

struct mst__instance_conf {
    const char *use;
    const char *name;
    int required;
    cJSON *config;              /* validated, defaults filled; owned by the tree */
    cJSON *entry;               /* the whole plugins[i] entry */
    struct mst__module *module; /* NULL when an optional plugin could not load */
    int64_t lua_instructions;
    int64_t lua_memory_mb;
    const char *version;        /* a pinned bundle version, or NULL */
    int trust_refused;          /* the trust check refused it (optional: skipped) */
    enum mst__trust_status trust;
    char *trust_reason;         /* why, when refused */
};

struct mst__peer {
    const char *events;
    const char *queries;
};

struct mst__config {
    char *file;
    char *dir;
    char *text;
    size_t len;
    cJSON *root;
    struct mst__jsonpos *pos;

    const char *node_name;
    char *state_dir; /* resolved against the config file's directory */
    int log_level;
    const char *http_listen;
    char *tls_cert;
    char *tls_key;
    char *tls_client_ca; /* node.http.tls.client_ca, resolved */
    int64_t http_body_limit;
    int64_t http_max_connections;

    const char **bus_events_listen;
    size_t n_bus_events_listen;
    const char **bus_queries_listen;
    size_t n_bus_queries_listen;
    struct mst__peer *bus_peers;
    size_t n_bus_peers;
    int64_t bus_queue_depth;
    int64_t bus_request_timeout_ms;
    int64_t bus_max_message;

    char *trust_dir; /* trust.dir, resolved */
    struct mst__trust *trust;

    struct mst__instance_conf *instances;
    size_t n_instances;
    struct mst__token *tokens;
    size_t n_tokens;
};

/* Reads and validates `file`.  Every problem is reported to diag (which
 * this sets up for the file); returns 0, MST_ECONFIG or MST_EIO.  Plugin
 * modules are opened through the loader and referenced by the config. */
int mst__config_load(const char *file, struct mst__loader *loader, struct mst__diag *diag,
                     struct mst__config **out);
void mst__config_free(struct mst__config *cfg);
/* Only the trust settings of `file` (trust.*, node.state_dir), opened
 * without loading any plugin: for `mestys plugins -c`, `mestys trust`.
 * 0, or MST_ECONFIG / MST_EIO with the diagnostics in why. */
int mst__config_trust_open(const char *file, struct mst__loader *loader, struct mst__trust **out,
                           struct mst__buf *why);

/* The core's own part of the schema (node, bus, plugins, tokens). */
extern const struct mst_config_key mst__config_schema[];

#endif
