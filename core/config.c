#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_listen.h"
#include "json_path.h"
#include "log.h"
#include "role.h"
#include "schema.h"
#include "script.h"
#include "tlsfiles.h"

#define RANGE MST_CFG_HAS_RANGE

static const struct mst_config_key http_tls_keys[] = {
    {.key = "client_ca", .type = MST_CFG_STRING,
     .description = "PEM CA certificate(s): clients may present a certificate, which must verify against "
                    "them (OCPP security profile 3); needs tls_cert"},
    {0},
};

static const struct mst_config_key http_keys[] = {
    {.key = "listen", .type = MST_CFG_STRING, .default_json = "\"127.0.0.1:8080\"",
     .description = "address:port of the HTTP server; \"\" turns HTTP off"},
    {.key = "body_limit", .type = MST_CFG_INT, .flags = RANGE, .default_json = "1048576",
     .min = 0, .max = 1073741824, .description = "largest request body accepted, in bytes"},
    {.key = "max_connections", .type = MST_CFG_INT, .flags = RANGE, .default_json = "1024",
     .min = 8, .max = 1000000, .description = "file descriptors the HTTP server may use"},
    {.key = "tls_cert", .type = MST_CFG_STRING, .description = "PEM certificate; enables HTTPS"},
    {.key = "tls_key", .type = MST_CFG_STRING, .flags = MST_CFG_SECRET,
     .description = "PEM private key for tls_cert"},
    {.key = "tls", .type = MST_CFG_OBJECT, .fields = http_tls_keys, .description = "more TLS settings"},
    {0},
};

static const struct mst_config_key lua_keys[] = {
    {.key = "instructions", .type = MST_CFG_INT, .flags = RANGE, .default_json = "1000000",
     .min = 1000, .max = 1e10, .description = "Lua instructions one callback may run"},
    {.key = "memory_mb", .type = MST_CFG_INT, .flags = RANGE, .default_json = "16", .min = 1,
     .max = 4096, .description = "memory one Lua plugin instance may hold, in MiB"},
    {0},
};

static const struct mst_config_key node_keys[] = {
    {.key = "name", .type = MST_CFG_STRING, .default_json = "\"mestys\"",
     .description = "this node's name, in logs and on the bus"},
    {.key = "state_dir", .type = MST_CFG_STRING, .default_json = "\"state\"",
     .description = "where instances keep their files (relative to the config file)"},
    {.key = "log_level", .type = MST_CFG_STRING, .default_json = "\"info\"",
     .choices = "error|warn|info|debug", .description = "least severe level logged"},
    {.key = "plugin_path", .type = MST_CFG_STRING_LIST, .default_json = "[]",
     .description = "extra directories searched for plugins, first match wins"},
    {.key = "http", .type = MST_CFG_OBJECT, .fields = http_keys, .description = "HTTP server"},
    {.key = "lua", .type = MST_CFG_OBJECT, .fields = lua_keys,
     .description = "default limits for Lua plugins"},
    {0},
};

static const struct mst_config_key bus_listen_keys[] = {
    {.key = "events", .type = MST_CFG_STRING_LIST, .default_json = "[]",
     .description = "nng URLs where other nodes subscribe to our events (pub)"},
    {.key = "queries", .type = MST_CFG_STRING_LIST, .default_json = "[]",
     .description = "nng URLs where other nodes send us requests (rep)"},
    {0},
};

static const struct mst_config_key bus_peer_keys[] = {
    {.key = "events", .type = MST_CFG_STRING, .description = "a peer's events URL"},
    {.key = "queries", .type = MST_CFG_STRING, .description = "a peer's queries URL"},
    {0},
};

static const struct mst_config_key bus_keys[] = {
    {.key = "listen", .type = MST_CFG_OBJECT, .fields = bus_listen_keys,
     .description = "where this node offers its bus to other nodes"},
    {.key = "peers", .type = MST_CFG_ARRAY, .fields = bus_peer_keys, .default_json = "[]",
     .description = "other nodes whose bus this node joins"},
    {.key = "queue_depth", .type = MST_CFG_INT, .flags = RANGE, .default_json = "4096",
     .min = 16, .max = 8192, .description = "events in flight before publish says MST_EAGAIN"},
    {.key = "request_timeout_ms", .type = MST_CFG_INT, .flags = RANGE, .default_json = "5000",
     .min = 1, .max = 600000, .description = "default timeout of bus requests"},
    {.key = "max_message", .type = MST_CFG_INT, .flags = RANGE, .default_json = "4194304",
     .min = 1024, .max = 268435456, .description = "largest message accepted, in bytes"},
    {0},
};

static const struct mst_config_key lua_override_keys[] = {
    {.key = "instructions", .type = MST_CFG_INT, .flags = RANGE, .min = 1000, .max = 1e10,
     .description = "Lua instructions one callback may run (default: node.lua)"},
    {.key = "memory_mb", .type = MST_CFG_INT, .flags = RANGE, .min = 1, .max = 4096,
     .description = "memory this Lua instance may hold, in MiB (default: node.lua)"},
    {0},
};

static const struct mst_config_key plugin_keys[] = {
    {.key = "use", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED,
     .description = "plugin name or path to a .so/.lua file"},
    {.key = "name", .type = MST_CFG_STRING, .description = "instance name (default: the plugin's)"},
    {.key = "required", .type = MST_CFG_BOOL, .default_json = "true",
     .description = "if the plugin cannot load or init, stop the daemon (true) or skip it"},
    {.key = "config", .type = MST_CFG_OBJECT, .default_json = "{}",
     .description = "the plugin's own settings, checked against its schema"},
    {.key = "lua", .type = MST_CFG_OBJECT, .fields = lua_override_keys,
     .description = "limits for this Lua instance (default: node.lua)"},
    {.key = "version", .type = MST_CFG_STRING,
     .description = "load this version of the plugin's bundle (NAME/VERSION/), not the highest there is"},
    {0},
};

static const struct mst_config_key trust_keys[] = {
    {.key = "dir", .type = MST_CFG_STRING, .default_json = "\"/etc/mestys/trust\"",
     .description = "the trust folder: root.pub, keys/NAME.pub with NAME.scope, revocations.json "
                    "(relative to the config file)"},
    {.key = "require", .type = MST_CFG_STRING, .default_json = "\"signed\"", .choices = "signed|any",
     .description = "plugins outside the daemon's own folders: only signed bundles (signed), or unsigned "
                    "ones too, with a warning (any)"},
    {.key = "allow_unsigned", .type = MST_CFG_STRING_LIST, .default_json = "[]",
     .description = "Lua plugins (by name) loaded unsigned while require is \"signed\"; never a .so"},
    {0},
};

static const struct mst_config_key token_keys[] = {
    {.key = "name", .type = MST_CFG_STRING, .description = "who holds the token, for the log"},
    {.key = "token", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_SECRET | RANGE,
     .min = 16, .max = 512, .description = "the bearer token (at least 16 characters)"},
    {.key = "role", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED,
     .choices = "public|operator|admin", .description = "what the token may do"},
    {0},
};

const struct mst_config_key mst__config_schema[] = {
    {.key = "node", .type = MST_CFG_OBJECT, .fields = node_keys, .description = "this node"},
    {.key = "bus", .type = MST_CFG_OBJECT, .fields = bus_keys, .description = "message bus"},
    {.key = "plugins", .type = MST_CFG_ARRAY, .fields = plugin_keys, .default_json = "[]",
     .description = "plugin instances, started in this order"},
    {.key = "tokens", .type = MST_CFG_ARRAY, .fields = token_keys, .default_json = "[]",
     .description = "API bearer tokens and their roles"},
    {.key = "trust", .type = MST_CFG_OBJECT, .fields = trust_keys,
     .description = "which plugins may load: signatures, keys, revocation"},
    {0},
};

static const char *get_str(cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The core sections are read even when the schema refused them (so plugin
 * errors are reported in the same run): a number out of its key's range has
 * been reported, but must still not be cast past int64, which is undefined
 * behaviour (1e300 from the file; found by fuzz_config). */
static int64_t get_int(cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9223372036854775808.0 && v->valuedouble < 9223372036854775808.0))
        return 0;
    return (int64_t)v->valuedouble;
}

/* The strings of arr; anything else in it was reported by the schema. */
static const char **string_list(cJSON *arr, size_t *n)
{
    const char **out = mst__xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *out);
    size_t i = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it)) out[i++] = it->valuestring;
    *n = i;
    return out;
}

static int parse_text(struct mst__config *cfg, struct mst__diag *d)
{
    size_t err_off;
    if (mst__json_strip_comments(cfg->text, cfg->len, &err_off) != 0) {
        int line, col;
        mst__jsonpos_linecol(cfg->text, err_off, &line, &col);
        mst__buf_printf(&d->text, "%s:%d:%d: error: unterminated /* comment\n", cfg->file, line, col);
        d->errors++;
        return MST_ECONFIG;
    }
    const char *end = NULL;
    cfg->root = cJSON_ParseWithLengthOpts(cfg->text, cfg->len, &end, 0);
    if (!cfg->root) {
        int line, col;
        size_t off = end ? (size_t)(end - cfg->text) : 0;
        mst__jsonpos_linecol(cfg->text, off, &line, &col);
        mst__buf_printf(&d->text, "%s:%d:%d: error: not valid JSON here (a missing comma, quote or bracket?)\n",
                        cfg->file, line, col);
        d->errors++;
        return MST_ECONFIG;
    }
    cfg->pos = mst__jsonpos_build(cfg->text, cfg->len, cfg->root);
    d->pos = cfg->pos;
    if (!cJSON_IsObject(cfg->root)) {
        mst__diag_error(d, cfg->root, MST__AT_VALUE, "", "the file must hold one JSON object");
        return MST_ECONFIG;
    }
    return 0;
}

/* What the HTTP server would fail on at start: an address that does not
 * parse or resolve, or one that is not on this machine.  A port in use is
 * only a warning: `mestys check` runs beside the daemon that holds it. */
static void check_listen(struct mst__diag *d, const cJSON *at, const char *text)
{
    struct mst__listen l;
    char err[384];
    if (mst__listen_parse(text, &l, err, sizeof err) != 0) {
        mst__diag_error(d, at, MST__AT_VALUE, "node.http.listen", "%s", err);
        return;
    }
    int rc = mst__listen_probe(&l);
    if (rc == -EADDRINUSE || rc == -EACCES)
        mst__diag_warn(d, at, MST__AT_VALUE, "node.http.listen", "cannot bind %s now: %s", text,
                       strerror(-rc));
    else if (rc != 0)
        mst__diag_error(d, at, MST__AT_VALUE, "node.http.listen", "cannot bind %s: %s", text,
                        strerror(-rc));
}

/* Read now, so a bad pair stops the start before any plugin runs. */
static void check_tls_files(struct mst__config *cfg, struct mst__diag *d, cJSON *http)
{
    char why[1024];
    int which_key;
    if (mst__tls_files_check(cfg->tls_cert, cfg->tls_key, &which_key, why, sizeof why) == 0)
        return;
    const char *key = which_key ? "tls_key" : "tls_cert";
    char *path = mst__xasprintf("node.http.%s", key);
    mst__diag_error(d, cJSON_GetObjectItemCaseSensitive(http, key), MST__AT_VALUE, path, "%s", why);
    free(path);
}

/* node.http.tls.client_ca: only over HTTPS, and a file of PEM certificates. */
static void check_client_ca(struct mst__config *cfg, struct mst__diag *d, cJSON *http)
{
    cJSON *tls = cJSON_GetObjectItemCaseSensitive(http, "tls");
    const char *ca = get_str(tls, "client_ca");
    if (!ca)
        return;
    cJSON *at = cJSON_GetObjectItemCaseSensitive(tls, "client_ca");
    cfg->tls_client_ca = mst__path_join(cfg->dir, ca);
    char why[1024];
    if (!cfg->tls_cert)
        mst__diag_error(d, at, MST__AT_VALUE, "node.http.tls.client_ca",
                        "client certificates come over HTTPS: set tls_cert and tls_key too");
    else if (mst__tls_ca_check(cfg->tls_client_ca, why, sizeof why) != 0)
        mst__diag_error(d, at, MST__AT_VALUE, "node.http.tls.client_ca", "%s", why);
}

static void read_core_sections(struct mst__config *cfg, struct mst__diag *d)
{
    cJSON *node = cJSON_GetObjectItemCaseSensitive(cfg->root, "node");
    cJSON *http = cJSON_GetObjectItemCaseSensitive(node, "http");
    cJSON *bus = cJSON_GetObjectItemCaseSensitive(cfg->root, "bus");
    cJSON *listen = cJSON_GetObjectItemCaseSensitive(bus, "listen");

    cfg->node_name = get_str(node, "name");
    if (cfg->node_name && !mst__valid_name(cfg->node_name))
        mst__diag_error(d, cJSON_GetObjectItemCaseSensitive(node, "name"), MST__AT_VALUE, "node.name",
                        "\"%s\" must be 1-64 of [A-Za-z0-9_-]", cfg->node_name);
    /* a wrong type is already an error; the rest of the file is still checked */
    const char *state_dir = get_str(node, "state_dir"), *log_level = get_str(node, "log_level");
    cfg->state_dir = mst__path_join(cfg->dir, state_dir ? state_dir : "state");
    cfg->log_level = mst__log_level_parse(log_level ? log_level : "info");
    cfg->http_listen = get_str(http, "listen");
    if (cfg->http_listen && *cfg->http_listen)
        check_listen(d, cJSON_GetObjectItemCaseSensitive(http, "listen"), cfg->http_listen);
    if (get_str(http, "tls_cert"))
        cfg->tls_cert = mst__path_join(cfg->dir, get_str(http, "tls_cert"));
    if (get_str(http, "tls_key"))
        cfg->tls_key = mst__path_join(cfg->dir, get_str(http, "tls_key"));
    if (!!cfg->tls_cert != !!cfg->tls_key)
        mst__diag_error(d, http, MST__AT_VALUE, "node.http",
                        "tls_cert and tls_key go together: give both or neither");
    else if (cfg->tls_cert)
        check_tls_files(cfg, d, http);
    check_client_ca(cfg, d, http);
    cfg->http_body_limit = get_int(http, "body_limit");
    cfg->http_max_connections = get_int(http, "max_connections");

    cfg->bus_events_listen = string_list(cJSON_GetObjectItemCaseSensitive(listen, "events"),
                                         &cfg->n_bus_events_listen);
    cfg->bus_queries_listen = string_list(cJSON_GetObjectItemCaseSensitive(listen, "queries"),
                                          &cfg->n_bus_queries_listen);
    cJSON *peers = cJSON_GetObjectItemCaseSensitive(bus, "peers");
    cfg->n_bus_peers = (size_t)cJSON_GetArraySize(peers);
    cfg->bus_peers = mst__xcalloc(cfg->n_bus_peers + 1, sizeof *cfg->bus_peers);
    size_t i = 0;
    cJSON *p;
    cJSON_ArrayForEach(p, peers)
    {
        cfg->bus_peers[i].events = get_str(p, "events");
        cfg->bus_peers[i].queries = get_str(p, "queries");
        i++;
    }
    cfg->bus_queue_depth = get_int(bus, "queue_depth");
    cfg->bus_request_timeout_ms = get_int(bus, "request_timeout_ms");
    cfg->bus_max_message = get_int(bus, "max_message");

    cJSON *tokens = cJSON_GetObjectItemCaseSensitive(cfg->root, "tokens");
    cfg->n_tokens = (size_t)cJSON_GetArraySize(tokens);
    cfg->tokens = mst__xcalloc(cfg->n_tokens + 1, sizeof *cfg->tokens);
    i = 0;
    cJSON *t;
    cJSON_ArrayForEach(t, tokens)
    {
        cfg->tokens[i].name = get_str(t, "name") ? get_str(t, "name") : "unnamed";
        cfg->tokens[i].token = get_str(t, "token");
        cfg->tokens[i].role = get_str(t, "role") ? mst__role_parse(get_str(t, "role")) : -1;
        for (size_t j = 0; j < i; j++)
            if (cfg->tokens[i].token && cfg->tokens[j].token && cfg->tokens[i].token[0] &&
                strcmp(cfg->tokens[i].token, cfg->tokens[j].token) == 0) /* "" is said once, as too short */
                mst__diag_error(d, cJSON_GetObjectItemCaseSensitive(t, "token"), MST__AT_VALUE,
                                "tokens", "the same token is given twice");
        i++;
    }
}

/* trust.*: the folder, the policy, and the list's state copy.  A trust
 * folder that cannot be trusted stops the start (nothing would be checked
 * against what it says). */
static int open_trust(struct mst__config *cfg, struct mst__loader *loader, struct mst__diag *d)
{
    cJSON *trust = cJSON_GetObjectItemCaseSensitive(cfg->root, "trust");
    const char *dir = get_str(trust, "dir"), *req = get_str(trust, "require");
    size_t n = 0;
    const char **allow = string_list(cJSON_GetObjectItemCaseSensitive(trust, "allow_unsigned"), &n);
    cfg->trust_dir = mst__path_join(cfg->dir, dir ? dir : "/etc/mestys/trust");
    for (size_t i = 0; i < n; i++)
        if (mst__ends_with(allow[i], ".so"))
            mst__diag_error(d, cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(trust, "allow_unsigned"), (int)i),
                            MST__AT_VALUE, "trust.allow_unsigned",
                            "\"%s\" is a .so: only Lua plugins may be loaded unsigned", allow[i]);
    struct mst__trust_cfg tc = {
        .dir = cfg->trust_dir,
        .require = req && strcmp(req, "any") == 0 ? MST__TRUST_REQUIRE_ANY : MST__TRUST_REQUIRE_SIGNED,
        .allow_unsigned = allow,
        .state_dir = cfg->state_dir,
        .own_dirs = (const char *const *)loader->own_dirs,
        .uid = geteuid(),
    };
    struct mst__buf why = {0};
    int rc = mst__trust_open(&cfg->trust, &tc, &why);
    if (rc != 0)
        mst__diag_error(d, trust ? cJSON_GetObjectItemCaseSensitive(trust, "dir") : cfg->root, MST__AT_VALUE,
                        "trust.dir", "%s", why.data);
    else /* a refused rollback, a key without scope: said at every load, one line each */
        for (const char *p = mst__trust_problems(cfg->trust), *nl; *p; p = nl + 1) {
            nl = strchr(p, '\n');
            if (!nl) {
                mst__log_warn("trust: %s", p);
                break;
            }
            mst__log_warn("trust: %.*s", (int)(nl - p), p);
        }
    mst__buf_free(&why);
    free(allow);
    return rc;
}

struct script_dirs {
    const char *lua_dir, *config_dir;
};

static int check_script(void *arg, const char *name, char *why, size_t why_len)
{
    const struct script_dirs *sd = arg;
    return mst__script_check(sd->lua_dir, sd->config_dir, name, why, why_len);
}

/* trust.allow_unsigned may name Lua plugins only: a .so runs native code
 * in the daemon, and is never loaded unsigned on a name's say-so. */
static void check_allow_unsigned(struct mst__config *cfg, struct mst__diag *d, const struct mst__instance_conf *ic)
{
    cJSON *list = mst__json_lookup(cfg->root, "trust.allow_unsigned"), *it;
    cJSON_ArrayForEach(it, list)
    {
        if (cJSON_IsString(it) && ic->module->kind == MST__MODULE_SO &&
            strcmp(it->valuestring, ic->module->plugin->name) == 0)
            mst__diag_error(d, it, MST__AT_VALUE, "trust.allow_unsigned",
                            "\"%s\" is a .so plugin: only Lua plugins may be loaded unsigned", it->valuestring);
    }
}

static void resolve_plugin(struct mst__config *cfg, struct mst__loader *loader, struct mst__diag *d,
                           struct mst__instance_conf *ic, const char *path)
{
    cJSON *use = cJSON_GetObjectItemCaseSensitive(ic->entry, "use");
    char *file = NULL;
    struct mst__buf why = {0};
    char *upath = mst__xasprintf("%s.use", path);
    int rc = mst__loader_find(loader, ic->use, ic->version, cfg->dir, &file, &why);
    if (rc == 0)
        rc = mst__module_open_as(loader, mst__valid_name(ic->use) ? ic->use : NULL, file, &ic->module,
                                 &ic->trust, &why);
    if (rc == MST_ETRUST) {
        ic->trust_refused = 1;
        ic->trust_reason = mst__xstrdup(why.data);
    }
    if (rc == 0)
        check_allow_unsigned(cfg, d, ic);
    if (rc != 0) {
        if (ic->required)
            mst__diag_error(d, use, MST__AT_VALUE, upath, "cannot load plugin \"%s\": %s%s%s", ic->use,
                            file ? file : "", file ? ": " : "", why.data);
        else
            mst__diag_warn(d, use, MST__AT_VALUE, upath,
                           "skipping optional plugin \"%s\": %s%s%s", ic->use, file ? file : "",
                           file ? ": " : "", why.data);
        ic->module = NULL;
    } else {
        char *cpath = mst__xasprintf("%s.config", path);
        mst__schema_check_plugin(d, ic->module->plugin, ic->config, ic->entry, cpath);
        free(cpath);
    }
    free(upath);
    free(file);
    mst__buf_free(&why);
}

static void read_instances(struct mst__config *cfg, struct mst__loader *loader, struct mst__diag *d)
{
    cJSON *plugins = cJSON_GetObjectItemCaseSensitive(cfg->root, "plugins");
    cJSON *node_lua = mst__json_lookup(cfg->root, "node.lua");
    cfg->n_instances = (size_t)cJSON_GetArraySize(plugins);
    cfg->instances = mst__xcalloc(cfg->n_instances + 1, sizeof *cfg->instances);
    size_t i = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, plugins)
    {
        struct mst__instance_conf *ic = &cfg->instances[i];
        if (!cJSON_IsObject(e)) { /* reported by the schema */
            i++;
            continue;
        }
        char *path = mst__xasprintf("plugins[%zu]", i);
        ic->entry = e;
        ic->use = get_str(e, "use");
        ic->name = get_str(e, "name");
        int explicit_name = ic->name != NULL;
        cJSON *req = cJSON_GetObjectItemCaseSensitive(e, "required");
        ic->required = !cJSON_IsFalse(req);
        ic->config = cJSON_GetObjectItemCaseSensitive(e, "config");
        ic->version = get_str(e, "version");
        cJSON *lua = cJSON_GetObjectItemCaseSensitive(e, "lua");
        ic->lua_instructions = get_int(lua, "instructions");
        ic->lua_memory_mb = get_int(lua, "memory_mb");
        if (!ic->lua_instructions)
            ic->lua_instructions = get_int(node_lua, "instructions");
        if (!ic->lua_memory_mb)
            ic->lua_memory_mb = get_int(node_lua, "memory_mb");
        if (ic->use && !ic->name) {
            /* The instance is named after the plugin unless told otherwise. */
            const char *base = strrchr(ic->use, '/');
            base = base ? base + 1 : ic->use;
            char *nm = mst__xstrndup(base, strcspn(base, "."));
            cJSON_AddStringToObject(e, "name", nm);
            free(nm);
            ic->name = get_str(e, "name");
        }
        /* an implicit name has no place in the file: point at the entry */
        cJSON *name_node = explicit_name ? cJSON_GetObjectItemCaseSensitive(e, "name") : e;
        char *npath = mst__xasprintf("%s.name", path);
        if (ic->name && !mst__valid_name(ic->name))
            mst__diag_error(d, name_node, MST__AT_VALUE, npath,
                            "instance name \"%s\" must be 1-64 of [A-Za-z0-9_-]", ic->name);
        for (size_t j = 0; j < i; j++)
            if (ic->name && cfg->instances[j].name && strcmp(ic->name, cfg->instances[j].name) == 0)
                mst__diag_error(d, name_node, MST__AT_VALUE, npath,
                                "duplicate instance name \"%s\" (also plugins[%zu]); give each instance its own \"name\"",
                                ic->name, j);
        free(npath);
        if (ic->use && cJSON_IsObject(ic->config))
            resolve_plugin(cfg, loader, d, ic, path);
        free(path);
        i++;
    }
}

int mst__config_trust_open(const char *file, struct mst__loader *loader, struct mst__trust **out,
                           struct mst__buf *why)
{
    struct mst__config *cfg = mst__xcalloc(1, sizeof *cfg);
    struct mst__diag d = {0};
    int rc = MST_EIO;
    *out = NULL;
    cfg->file = mst__xstrdup(file);
    cfg->dir = mst__dirname(file);
    d.file = cfg->file;
    cfg->text = mst__read_file(file, &cfg->len);
    if (!cfg->text) {
        mst__buf_printf(why, "%s: cannot read the config file: %s\n", file, strerror(errno));
        goto out;
    }
    rc = parse_text(cfg, &d);
    if (rc == 0 && mst__schema_check(&d, cfg->root, mst__config_schema, "") != 0)
        rc = MST_ECONFIG;
    if (rc == 0) {
        const char *state_dir = get_str(cJSON_GetObjectItemCaseSensitive(cfg->root, "node"), "state_dir");
        cfg->state_dir = mst__path_join(cfg->dir, state_dir ? state_dir : "state");
        rc = open_trust(cfg, loader, &d) == 0 && !d.errors ? 0 : MST_ECONFIG;
    }
    if (d.text.len)
        mst__buf_append(why, d.text.data, d.text.len);
    if (rc == 0)
        *out = cfg->trust, cfg->trust = NULL;
out:
    d.pos = NULL;
    d.file = NULL;
    mst__diag_free(&d);
    mst__config_free(cfg);
    return rc;
}

int mst__config_load(const char *file, struct mst__loader *loader, struct mst__diag *d,
                     struct mst__config **out)
{
    struct mst__config *cfg = mst__xcalloc(1, sizeof *cfg);
    cfg->file = mst__xstrdup(file);
    cfg->dir = mst__dirname(file);
    d->file = cfg->file;
    *out = NULL;
    cfg->text = mst__read_file(file, &cfg->len);
    if (!cfg->text) {
        mst__buf_printf(&d->text, "%s: error: cannot read the config file: %s\n", file, strerror(errno));
        d->errors++;
        mst__config_free(cfg);
        return MST_EIO;
    }
    if (parse_text(cfg, d) != 0) {
        /* diag still points at cfg's strings: keep the file name alive. */
        d->pos = NULL;
        d->file = NULL;
        mst__config_free(cfg);
        return MST_ECONFIG;
    }
    /* Core and plugin sections are checked in the same run, whatever the
     * other found: one `mestys check` lists every problem of the file. */
    mst__schema_check(d, cfg->root, mst__config_schema, "");
    read_core_sections(cfg, d);
    cJSON *pp = mst__json_lookup(cfg->root, "node.plugin_path");
    size_t n;
    const char **dirs = string_list(pp, &n);
    mst__loader_set_path(loader, cfg->dir, dirs, n);
    free(dirs);
    struct script_dirs sd = {loader->lua_dir, cfg->dir};
    d->check_script = check_script;
    d->script_arg = &sd;
    /* the plugins are checked under this config's trust settings */
    if (open_trust(cfg, loader, d) == 0) {
        loader->trust = cfg->trust;
        read_instances(cfg, loader, d);
        loader->trust = NULL;
    }
    d->check_script = NULL;
    d->script_arg = NULL;
    if (d->errors) {
        d->pos = NULL;
        d->file = NULL;
        mst__config_free(cfg);
        return MST_ECONFIG;
    }
    *out = cfg;
    return 0;
}

void mst__config_free(struct mst__config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_instances; i++) {
        mst__module_release(cfg->instances[i].module);
        free(cfg->instances[i].trust_reason);
    }
    mst__trust_close(cfg->trust);
    free(cfg->trust_dir);
    free(cfg->instances);
    free(cfg->tokens);
    free(cfg->bus_peers);
    free(cfg->bus_events_listen);
    free(cfg->bus_queries_listen);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->tls_client_ca);
    free(cfg->state_dir);
    mst__jsonpos_free(cfg->pos);
    cJSON_Delete(cfg->root);
    free(cfg->text);
    free(cfg->dir);
    free(cfg->file);
    free(cfg);
}
