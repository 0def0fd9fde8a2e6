/* json_path.h - values in a cJSON tree by path ("a.b[2].c"), read the way
 * the host table's config_* functions promise (mestys/host.h).  The daemon's
 * host table and the SDK's mock host both answer through these, so a plugin
 * reads its config the same way under either. */
#ifndef MST__JSON_PATH_H
#define MST__JSON_PATH_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Looks up "a.b[2].c" below node; NULL if absent. */
cJSON *mst__json_lookup(cJSON *node, const char *path);

/* Each returns 0, MST_ENOENT (absent) or MST_EINVAL (another type, or a
 * number that does not fit the type asked for). */
int mst__json_number_at(cJSON *root, const char *path, double *out);
int mst__json_int_at(cJSON *root, const char *path, int64_t *out);
int mst__json_bool_at(cJSON *root, const char *path, int *out);
/* The string at path, or NULL. */
const char *mst__json_string_at(cJSON *root, const char *path);
/* Members of the array or object at path; 0 for anything else. */
size_t mst__json_count_at(cJSON *root, const char *path);
/* The value at path (the whole tree for "" or NULL) as compact JSON text,
 * to free with free(); NULL if absent. */
char *mst__json_text_at(cJSON *root, const char *path);

#endif
