#include "json_path.h"

#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "util.h"

cJSON *mst__json_lookup(cJSON *node, const char *path)
{
    const char *p = path;
    while (node && *p) {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            char *end;
            long idx = strtol(p + 1, &end, 10);
            if (*end != ']' || !cJSON_IsArray(node))
                return NULL;
            node = cJSON_GetArrayItem(node, (int)idx);
            p = end + 1;
            continue;
        }
        size_t n = strcspn(p, ".[");
        char *key = mst__xstrndup(p, n);
        node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, key) : NULL;
        free(key);
        p += n;
    }
    return node;
}

int mst__json_number_at(cJSON *root, const char *path, double *out)
{
    cJSON *v = mst__json_lookup(root, path);
    if (!cJSON_IsNumber(v))
        return v ? MST_EINVAL : MST_ENOENT;
    *out = v->valuedouble;
    return 0;
}

int mst__json_int_at(cJSON *root, const char *path, int64_t *out)
{
    double d;
    int rc = mst__json_number_at(root, path, &d);
    if (rc != 0)
        return rc;
    /* 2^63 is the first double past INT64_MAX; casting beyond it is undefined. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return MST_EINVAL;
    *out = (int64_t)d;
    return 0;
}

int mst__json_bool_at(cJSON *root, const char *path, int *out)
{
    cJSON *v = mst__json_lookup(root, path);
    if (!cJSON_IsBool(v))
        return v ? MST_EINVAL : MST_ENOENT;
    *out = cJSON_IsTrue(v);
    return 0;
}

const char *mst__json_string_at(cJSON *root, const char *path)
{
    cJSON *v = mst__json_lookup(root, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

size_t mst__json_count_at(cJSON *root, const char *path)
{
    cJSON *v = mst__json_lookup(root, path);
    return cJSON_IsArray(v) || cJSON_IsObject(v) ? (size_t)cJSON_GetArraySize(v) : 0;
}

char *mst__json_text_at(cJSON *root, const char *path)
{
    cJSON *v = path && *path ? mst__json_lookup(root, path) : root;
    return v ? cJSON_PrintUnformatted(v) : NULL;
}
