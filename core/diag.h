/* diag.h - config diagnostics: "file:line:col: error: key.path: message". */
#ifndef MST__DIAG_H
#define MST__DIAG_H

#include <cjson/cJSON.h>

#include "jsonpos.h"
#include "util.h"

struct mst__diag {
    const char *file;
    const struct mst__jsonpos *pos;
    struct mst__buf text; /* one line per diagnostic */
    int errors;
    int warnings;
    /* Set by config.c: finds and compiles the script a MST_CFG_SCRIPT key
     * names ("lua:" already cut off); 0, or why says what is wrong. */
    int (*check_script)(void *arg, const char *name, char *why, size_t why_len);
    void *script_arg;
};

enum mst__diag_at { MST__AT_VALUE, MST__AT_KEY };

void mst__diag_add(struct mst__diag *d, int is_error, const cJSON *node, enum mst__diag_at at,
                   const char *path, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define mst__diag_error(d, node, at, path, ...) mst__diag_add(d, 1, node, at, path, __VA_ARGS__)
#define mst__diag_warn(d, node, at, path, ...) mst__diag_add(d, 0, node, at, path, __VA_ARGS__)
void mst__diag_free(struct mst__diag *d);

#endif
