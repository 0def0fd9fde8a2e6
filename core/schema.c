#include "schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/number.h>

#include "json_path.h"

const char *mst__schema_type_name(enum mst_config_type type)
{
    switch (type) {
    case MST_CFG_STRING: return "a string";
    case MST_CFG_INT: return "an integer";
    case MST_CFG_NUMBER: return "a number";
    case MST_CFG_BOOL: return "true or false";
    case MST_CFG_OBJECT: return "an object";
    case MST_CFG_ARRAY: return "an array";
    case MST_CFG_STRING_LIST: return "an array of strings";
    case MST_CFG_ANY: return "any value";
    }
    return "?";
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "?";
}

static char *child_path(const char *path, const char *key)
{
    return path && path[0] ? mst__xasprintf("%s.%s", path, key) : mst__xstrdup(key);
}

static const struct mst_config_key *find_key(const struct mst_config_key *keys, const char *name)
{
    for (const struct mst_config_key *k = keys; k && k->key; k++)
        if (strcmp(k->key, name) == 0)
            return k;
    return NULL;
}

static void list_keys(struct mst__buf *b, const struct mst_config_key *keys)
{
    for (const struct mst_config_key *k = keys; k && k->key; k++)
        mst__buf_printf(b, "%s%s", k == keys ? "" : ", ", k->key);
    if (!keys || !keys->key)
        mst__buf_puts(b, "(none: this takes no keys)");
}

static int choice_allowed(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0)
            return 1;
        p += len + (bar ? 1 : 0);
    }
    return 0;
}

static int type_ok(const struct mst_config_key *k, const cJSON *v)
{
    switch (k->type) {
    case MST_CFG_STRING: return cJSON_IsString(v);
    case MST_CFG_INT:
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
               fabs(v->valuedouble) < 9007199254740992.0;
    case MST_CFG_NUMBER: return cJSON_IsNumber(v);
    case MST_CFG_BOOL: return cJSON_IsBool(v);
    case MST_CFG_OBJECT: return cJSON_IsObject(v);
    case MST_CFG_ARRAY: return cJSON_IsArray(v);
    case MST_CFG_STRING_LIST: {
        if (!cJSON_IsArray(v))
            return 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, v) if (!cJSON_IsString(it)) return 0;
        return 1;
    }
    case MST_CFG_ANY: return 1;
    }
    return 0;
}

static void check_range(struct mst__diag *d, const struct mst_config_key *k, const cJSON *v,
                        const char *path)
{
    if (!(k->flags & MST_CFG_HAS_RANGE))
        return;
    double x;
    const char *what;
    if (cJSON_IsNumber(v))
        x = v->valuedouble, what = "value";
    else if (cJSON_IsString(v))
        x = (double)strlen(v->valuestring), what = "length";
    else if (cJSON_IsArray(v))
        x = cJSON_GetArraySize(v), what = "number of items";
    else
        return;
    if (x >= k->min && x <= k->max)
        return;
    /* as people write numbers: 86400000, not 8.64e+07 */
    char xs[32], lo[32], hi[32];
    mst_number_format(x, xs);
    mst_number_format(k->min, lo);
    mst_number_format(k->max, hi);
    mst__diag_error(d, v, MST__AT_VALUE, path, "%s %s is out of range [%s, %s]", what, xs, lo, hi);
}

static int check_value(struct mst__diag *d, cJSON *v, const struct mst_config_key *k,
                       const char *path)
{
    int before = d->errors;
    if (!type_ok(k, v)) {
        mst__diag_error(d, v, MST__AT_VALUE, path, "expected %s, got %s",
                        mst__schema_type_name(k->type), json_type_name(v));
        return d->errors - before;
    }
    check_range(d, k, v, path);
    if (k->choices && cJSON_IsString(v) && !choice_allowed(k->choices, v->valuestring))
        mst__diag_error(d, v, MST__AT_VALUE, path, "\"%s\" is not one of: %s", v->valuestring,
                        k->choices);
    if ((k->flags & MST_CFG_SCRIPT) && cJSON_IsString(v) && d->check_script &&
        strncmp(v->valuestring, "lua:", 4) == 0) {
        char why[1024] = "";
        if (d->check_script(d->script_arg, v->valuestring + 4, why, sizeof why) != 0)
            mst__diag_error(d, v, MST__AT_VALUE, path, "%s", why);
    }
    if (k->fields && k->type == MST_CFG_OBJECT) {
        mst__schema_check(d, v, k->fields, path);
    } else if (k->fields && k->type == MST_CFG_ARRAY) {
        int i = 0;
        cJSON *item;
        cJSON_ArrayForEach(item, v)
        {
            char *ip = mst__xasprintf("%s[%d]", path, i++);
            if (!cJSON_IsObject(item))
                mst__diag_error(d, item, MST__AT_VALUE, ip, "expected an object, got %s",
                                json_type_name(item));
            else
                mst__schema_check(d, item, k->fields, ip);
            free(ip);
        }
    }
    return d->errors - before;
}

static void add_default(struct mst__diag *d, cJSON *obj, const struct mst_config_key *k,
                        const char *path)
{
    cJSON *def = cJSON_Parse(k->default_json);
    if (!def) {
        /* A schema bug, not a user error; say so plainly. */
        mst__diag_error(d, obj, MST__AT_VALUE, path, "the plugin's default for \"%s\" is not JSON: %s",
                        k->key, k->default_json);
        return;
    }
    if (k->fields && cJSON_IsObject(def)) {
        char *cp = child_path(path, k->key);
        mst__schema_check(d, def, k->fields, cp);
        free(cp);
    }
    cJSON_AddItemToObject(obj, k->key, def);
}

int mst__schema_check(struct mst__diag *d, cJSON *obj, const struct mst_config_key *keys,
                      const char *path)
{
    int before = d->errors;
    cJSON *v;
    cJSON_ArrayForEach(v, obj)
    {
        char *cp = child_path(path, v->string);
        for (cJSON *prev = obj->child; prev != v; prev = prev->next) {
            if (strcmp(prev->string, v->string) == 0) {
                mst__diag_error(d, v, MST__AT_KEY, cp, "duplicate key \"%s\"", v->string);
                break;
            }
        }
        const struct mst_config_key *k = find_key(keys, v->string);
        if (!k) {
            struct mst__buf valid = {0};
            list_keys(&valid, keys);
            mst__diag_error(d, v, MST__AT_KEY, cp, "unknown key \"%s\"; valid keys: %s", v->string,
                            valid.data);
            mst__buf_free(&valid);
        } else {
            check_value(d, v, k, cp);
        }
        free(cp);
    }
    for (const struct mst_config_key *k = keys; k && k->key; k++) {
        if (cJSON_GetObjectItemCaseSensitive(obj, k->key))
            continue;
        if (k->flags & MST_CFG_REQUIRED) {
            char *cp = child_path(path, k->key);
            mst__diag_error(d, obj, MST__AT_VALUE, cp, "missing required key \"%s\" (%s)", k->key,
                            k->description ? k->description : mst__schema_type_name(k->type));
            free(cp);
        } else if (k->default_json) {
            add_default(d, obj, k, path);
        } else if (k->type == MST_CFG_OBJECT && k->fields) {
            /* An absent section still gets its members' defaults. */
            cJSON *section = cJSON_CreateObject();
            char *cp = child_path(path, k->key);
            mst__schema_check(d, section, k->fields, cp);
            free(cp);
            cJSON_AddItemToObject(obj, k->key, section);
        }
    }
    return d->errors - before;
}

/* The node at key below config, or its nearest ancestor written in the
 * text (a default filled in by the schema has no line of its own). */
static const cJSON *placed_node(const struct mst__diag *d, cJSON *config, const cJSON *fallback, char *key)
{
    int line, col;
    for (;;) {
        cJSON *at = config && key[0] ? mst__json_lookup(config, key) : NULL;
        if (at && mst__jsonpos_value(d->pos, at, &line, &col) == 0)
            return at;
        char *cut = strrchr(key, '.'), *br = strrchr(key, '[');
        if (br > cut)
            cut = br;
        if (!cut)
            return config ? config : fallback;
        *cut = '\0';
    }
}

/* The plugin's own check, for what its schema table cannot say; the
 * problem is reported at the key it names. */
static void plugin_check(struct mst__diag *d, const struct mst_plugin *p, cJSON *config,
                         const cJSON *fallback, const char *cpath)
{
    if (!MST_PLUGIN_HAS(p, check) || !p->check)
        return;
    char *json = config ? cJSON_PrintUnformatted(config) : NULL;
    char key[256] = "", msg[512] = "";
    if (p->check(json ? json : "{}", key, sizeof key, msg, sizeof msg) != 0) {
        char *path = key[0] ? mst__xasprintf("%s.%s", cpath, key) : mst__xstrdup(cpath);
        mst__diag_error(d, placed_node(d, config, fallback, key), MST__AT_VALUE, path, "%s",
                        msg[0] ? msg : "the plugin refused this config");
        free(path);
    }
    free(json);
}

int mst__schema_check_plugin(struct mst__diag *d, const struct mst_plugin *p, cJSON *config,
                             const cJSON *fallback, const char *cpath)
{
    int before = d->errors;
    if (mst__schema_check(d, config, p->config, cpath) == 0)
        plugin_check(d, p, config, fallback, cpath);
    return d->errors - before;
}
