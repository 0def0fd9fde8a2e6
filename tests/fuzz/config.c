/* fuzz_config - a town's config file through the whole reader: comments
 * blanked, cJSON, the position index (jsonpos.c), the schema of the core's
 * sections and plugin entries, with every diagnostic written out. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char *file;
static struct mst__loader loader;

static void cleanup(void)
{
    mst__loader_close(&loader);
    remove(file);
    rmdir(dir);
    free(file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* in memory where there is a tmpfs: a file is written per input */
    snprintf(dir, sizeof dir, "%s/mestys-fuzz-config-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    file = mst__path_join(dir, "mestys.json");
    /* no plugins to find: plugin entries are checked up to the lookup */
    setenv("MESTYS_PLUGIN_PATH", dir, 1);
    mst__log_set_level(MST_LOG_ERROR);
    mst__loader_init(&loader);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    struct mst__diag diag = {0};
    struct mst__config *cfg = NULL;
    int rc = mst__config_load(file, &loader, &diag, &cfg);
    /* a refusal always says where and why; an acceptance says no error */
    if (rc != 0 && (!diag.text.data || !strstr(diag.text.data, "error")))
        abort();
    if (rc == 0 && diag.errors)
        abort();
    mst__config_free(cfg);
    mst__diag_free(&diag);
    return 0;
}
