/* schema.h - checks a JSON object against a plugin's config schema
 * (struct mst_config_key) and fills in the defaults. */
#ifndef MST__SCHEMA_H
#define MST__SCHEMA_H

#include <mestys/plugin.h>

#include "diag.h"

/* Validates `obj` (an object) against `keys`; reports every problem to d and
 * adds defaults for absent keys.  Returns the number of errors found. */
int mst__schema_check(struct mst__diag *d, cJSON *obj, const struct mst_config_key *keys,
                      const char *path);

/* Everything an instance's config must pass before init, as `mestys check`,
 * mestysd and the SDK's mock host all check it: the plugin's schema table
 * (defaults filled in), then, if that passed, the plugin's own `check`
 * reported at the key it names.  `fallback` is where to report if config
 * is NULL.  Returns the number of errors found. */
int mst__schema_check_plugin(struct mst__diag *d, const struct mst_plugin *p, cJSON *config,
                             const cJSON *fallback, const char *cpath);

const char *mst__schema_type_name(enum mst_config_type type);

#endif
