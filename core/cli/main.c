/* cli/main.c - mestys, the command line companion of mestysd:
 *   mestys check FILE        the daemon's own validation, same messages
 *   mestys plugins [-c FILE] [DIR...]  what each plugin is, its trust status, or why it is not one
 *   mestys new-plugin NAME   a new plugin folder from the SDK template
 *   mestys bundle ...        signed plugin bundles: pack, verify, list, deb */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mestys/mestys.h>
#include <mestys/number.h>

#include "bundle.h"
#include "cli/bundle_cli.h"
#include "config.h"
#include "loader.h"
#include "log.h"
#include "schema.h"
#include "util.h"

#ifndef MESTYS_TEMPLATE_RELDIR
#define MESTYS_TEMPLATE_RELDIR "share/mestys/template"
#endif
#ifndef MESTYS_TEMPLATE_DIR
#define MESTYS_TEMPLATE_DIR "/usr/local/share/mestys/template"
#endif


static int usage(FILE *f, int rc)
{
    fprintf(f, "usage:\n"
               "  mestys check FILE         validate a config exactly as mestysd does\n"
               "  mestys plugins [-c FILE] [DIR...]\n"
               "                            describe the plugins in DIR (default: the search path) and\n"
               "                            their trust status, under FILE's trust settings (default:\n"
               "                            trust.* defaults: /etc/mestys/trust, only signed bundles)\n"
               "  mestys new-plugin NAME    create ./NAME from the plugin template\n"
               "  mestys config-keys        every key of the core config sections\n"
               "  mestys bundle pack DIR --host RANGE [--name NAME] [--version X.Y.Z] [--kind so|lua]\n"
               "                       [--arch ARCH] [--abi N]   write DIR/manifest.json (DIR is NAME/VERSION/)\n"
               "  mestys bundle verify PATH    what mestysd would decide about a bundle folder, and why\n"
               "  mestys bundle list [DIR...]  every bundle in DIR (default: the search path), the candidates\n"
               "  mestys bundle deb PATH [--out DIR] [--maintainer \"NAME <EMAIL>\"]\n"
               "                       a Debian package mestys-plugin-NAME of a bundle (dpkg-deb)\n"
               "  mestys simulate lora [--to HOST:PORT] [--gateways N] [--devices N] [--otaa N]\n"
               "                       [--rate UPLINKS/S] [--seconds S | --count N] [--batch N] [--progress]\n"
               "                       [--devices-json FILE] [--gateways-json FILE]   gateways sending real uplinks\n"
               "  mestys verify voting --audit FILE [--head HEX] [--pb FILE] [--result FILE] [--receipt TEXT]\n"
               "                       a published budget checked from its published files (`mestys verify\n"
               "                       ARGS` alone when one plugin has a verify tool)\n"
               "  mestys region backfill --from DAY [--to DAY] [--url URL] [--token TOKEN]\n"
               "                       refill the uplink's outbox from the town's store (mestys-uplink-backfill)\n"
               "  mestys version, mestys --version\n"
               "  mestys help, mestys --help\n"
               "exit status: 0 done, 1 failed, 2 a config error or a wrong command line\n"
               "see also: mestysd(8), mestys.json(5), mestys(1)\n");
    return rc;
}

static int cmd_check(const char *file)
{
    struct mst__loader loader;
    struct mst__diag diag = {0};
    struct mst__config *cfg = NULL;
    mst__loader_init(&loader);
    int rc = mst__config_load(file, &loader, &diag, &cfg);
    if (diag.text.len)
        fputs(diag.text.data, stderr);
    if (rc == 0)
        printf("%s: OK (%zu plugin instance(s)%s)\n", file, cfg->n_instances,
               diag.warnings ? ", with warnings" : "");
    else
        fprintf(stderr, "%s: %d error(s)\n", file, diag.errors);
    mst__diag_free(&diag);
    mst__config_free(cfg);
    mst__loader_close(&loader);
    return rc == 0 ? 0 : 2;
}

static void print_list(const char *label, const char *const *list)
{
    if (!list || !list[0])
        return;
    printf("  %-11s", label);
    for (size_t i = 0; list[i]; i++)
        printf("%s%s", i ? ", " : "", list[i]);
    printf("\n");
}

static void print_keys(const struct mst_config_key *keys, int depth, const char *prefix)
{
    for (const struct mst_config_key *k = keys; k && k->key; k++) {
        char *name = prefix ? mst__xasprintf("%s.%s", prefix, k->key) : mst__xstrdup(k->key);
        printf("    %-30s %-20s", name, mst__schema_type_name(k->type));
        if (k->flags & MST_CFG_REQUIRED)
            printf(" required");
        else if (k->default_json)
            printf(" default %s", k->default_json);
        if (k->choices)
            printf(" (%s)", k->choices);
        if (k->flags & MST_CFG_HAS_RANGE) {
            char lo[32], hi[32];
            mst_number_format(k->min, lo);
            mst_number_format(k->max, hi);
            printf(" [%s..%s]", lo, hi);
        }
        if (k->description)
            printf("  - %s", k->description);
        printf("\n");
        if (k->fields && depth < 4) {
            char *child = k->type == MST_CFG_ARRAY ? mst__xasprintf("%s[]", name) : mst__xstrdup(name);
            print_keys(k->fields, depth + 1, child);
            free(child);
        }
        free(name);
    }
}

static int describe_file(struct mst__loader *loader, const char *path)
{
    struct mst__module *m = NULL;
    struct mst__buf why = {0};
    enum mst__trust_status st = MST__TRUST_INVALID;
    int rc = mst__module_open_as(loader, NULL, path, &m, &st, &why);
    if (rc != 0) {
        printf("%s: not loadable: %s (%s)\n  trust      %s\n", path, why.data ? why.data : "", mst_strerror(rc),
               mst__trust_status_name(st));
        mst__buf_free(&why);
        return 1;
    }
    const struct mst_plugin *p = m->plugin;
    printf("%s\n  name       %s %s (%s, plugin ABI %u)\n", path, p->name, p->version,
           m->kind == MST__MODULE_LUA ? "Lua" : "shared object", p->abi_version);
    printf("  trust      %s: %s\n", mst__trust_status_name(m->verified.status), m->verified.reason.data);
    if (p->description)
        printf("  about      %s\n", p->description);
    print_list("publishes", p->publishes);
    print_list("subscribes", p->subscribes);
    print_list("serves", p->serves);
    print_list("requests", p->requests);
    printf("  config keys:\n");
    if (!p->config || !p->config->key)
        printf("    (none)\n");
    print_keys(p->config, 0, NULL);
    mst__module_release(m);
    mst__buf_free(&why);
    return 0;
}

/* DIR/NAME/VERSION/ bundles: every version folder of NAME. */
static int describe_bundles(struct mst__loader *loader, const char *name_dir, int *seen)
{
    DIR *dir = opendir(name_dir);
    int bad = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        char *path = mst__path_join(name_dir, e->d_name);
        struct stat st;
        if (mst__semver_valid(e->d_name) && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            bad |= describe_file(loader, path);
            (*seen)++;
        }
        free(path);
    }
    if (dir)
        closedir(dir);
    return bad;
}

static int describe_dir(struct mst__loader *loader, const char *path, int *seen)
{
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    int bad = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        char *p = mst__path_join(path, e->d_name);
        struct stat st;
        if (mst__ends_with(e->d_name, ".so") || mst__ends_with(e->d_name, ".lua")) {
            bad |= describe_file(loader, p);
            (*seen)++;
        } else if (e->d_name[0] != '.' && mst__valid_name(e->d_name) && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            bad |= describe_bundles(loader, p, seen);
        free(p);
    }
    closedir(dir);
    return bad;
}

static int cmd_plugins(int argc, char **argv)
{
    struct mst__loader loader;
    struct mst__trust *trust = NULL;
    mst__loader_init(&loader);
    mst__loader_set_path(&loader, ".", NULL, 0);
    if (argc >= 2 && strcmp(argv[0], "-c") == 0) {
        struct mst__buf why = {0};
        int rc = mst__config_trust_open(argv[1], &loader, &trust, &why);
        if (rc != 0) {
            fprintf(stderr, "%s", why.data ? why.data : "");
            mst__buf_free(&why);
            mst__loader_close(&loader);
            return 2;
        }
        mst__buf_free(&why);
        loader.trust = trust;
        argc -= 2;
        argv += 2;
    }
    const char **dirs = argc > 0 ? (const char **)argv : (const char **)loader.dirs;
    size_t n = argc > 0 ? (size_t)argc : loader.n_dirs;
    int bad = 0, seen = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(dirs[i], &st) == 0 && S_ISREG(st.st_mode)) {
            bad |= describe_file(&loader, dirs[i]);
            seen++;
            continue;
        }
        if (stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode) && mst__semver_valid(strrchr(dirs[i], '/') ?
                                                                                 strrchr(dirs[i], '/') + 1 : dirs[i])) {
            bad |= describe_file(&loader, dirs[i]); /* a bundle folder NAME/VERSION */
            seen++;
            continue;
        }
        int r = describe_dir(&loader, dirs[i], &seen);
        if (r < 0 && argc > 0) {
            fprintf(stderr, "%s: %s\n", dirs[i], strerror(errno));
            bad = 1;
        } else if (r > 0)
            bad = 1;
    }
    if (!seen)
        printf("no plugin files (.so, .lua) found\n");
    loader.trust = NULL;
    mst__loader_close(&loader);
    mst__trust_close(trust);
    return bad ? 1 : 0;
}

static char *template_dir(void)
{
    const char *env = getenv("MESTYS_TEMPLATE_DIR");
    if (env)
        return mst__xstrdup(env);
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        char *dir = mst__dirname(buf);
        char *t = mst__path_join(dir, "template");
        char *prefix = mst__path_join(dir, "..");
        char *installed = mst__path_join(prefix, MESTYS_TEMPLATE_RELDIR);
        free(dir);
        free(prefix);
        if (access(t, R_OK) == 0)
            return free(installed), t;
        free(t);
        if (access(installed, R_OK) == 0)
            return installed;
        free(installed);
    }
    return mst__xstrdup(MESTYS_TEMPLATE_DIR);
}

/* `mestys VERB PLUGIN ARGS...` runs the plugin's own tool, installed beside
 * this binary as mestys-PLUGIN-VERB (the LoRa simulator is mestys-lora-simulate):
 * a plugin's tools live in the plugin's folder and never in the core. */
static int cmd_plugin_tool(const char *verb, int argc, char **argv)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "mestys: cannot find my own binary: %s\n", strerror(errno));
        return 1;
    }
    self[n] = '\0';
    char *dir = mst__dirname(self);
    char name[256];
    snprintf(name, sizeof name, "mestys-%s-%s", argv[0], verb);
    char *tool = mst__path_join(dir, name);
    free(dir);
    argv[0] = tool;
    execv(tool, argv);
    int err = errno;
    fprintf(stderr, "mestys: %s: cannot run %s: %s%s\n", verb, tool, strerror(err),
            err == ENOENT ? " (is that plugin's tool built and installed?)" : "");
    free(tool);
    return err == ENOENT ? 2 : 1;
}

/* `mestys verify ARGS...` without a plugin's name: the one plugin tool
 * named mestys-*-verify beside this binary, if there is exactly one. */
static int cmd_verify_only(int argc, char **argv)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return cmd_plugin_tool("verify", argc, argv); /* says why */
    self[n] = '\0';
    char *dir = mst__dirname(self), found[256] = "";
    int count = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "mestys-", 7) == 0 && len > 14 && len < sizeof found &&
            mst__ends_with(e->d_name, "-verify")) {
            snprintf(found, sizeof found, "%.*s", (int)(len - 14), e->d_name + 7);
            count++;
        }
    }
    if (d)
        closedir(d);
    free(dir);
    if (count != 1) {
        fprintf(stderr, "mestys verify: %s; say which: mestys verify PLUGIN ARGS...\n",
                count ? "more than one plugin has a verify tool" : "no plugin's verify tool is installed");
        return 2;
    }
    /* argv[0] ("verify") becomes the plugin's name, as cmd_plugin_tool expects */
    argv[0] = found;
    return cmd_plugin_tool("verify", argc, argv);
}

/* Copies a template file, replacing every "TEMPLATE_NAME" by name. */
static int copy_with_name(const char *from, const char *to, const char *name)
{
    size_t len;
    char *text = mst__read_file(from, &len);
    if (!text)
        return -1;
    FILE *f = fopen(to, "wx");
    if (!f) {
        free(text);
        return -1;
    }
    const char *marker = "TEMPLATE_NAME";
    for (char *p = text; *p;) {
        char *hit = strstr(p, marker);
        size_t n = hit ? (size_t)(hit - p) : strlen(p);
        fwrite(p, 1, n, f);
        if (!hit)
            break;
        fputs(name, f);
        p = hit + strlen(marker);
    }
    free(text);
    return fclose(f);
}

static int cmd_new_plugin(const char *name)
{
    if (!mst__valid_name(name)) {
        fprintf(stderr, "mestys new-plugin: \"%s\" must be 1-64 of [A-Za-z0-9_-]\n", name);
        return 2;
    }
    char *tdir = template_dir();
    static const char *const files[] = {"CMakeLists.txt", "plugin.c", "test_plugin.c", "README.md"};
    if (mkdir(name, 0755) != 0) {
        fprintf(stderr, "mestys new-plugin: cannot create ./%s: %s\n", name, strerror(errno));
        free(tdir);
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *from = mst__path_join(tdir, files[i]);
        char *to = mst__path_join(name, files[i]);
        if (copy_with_name(from, to, name) != 0) {
            fprintf(stderr, "mestys new-plugin: cannot copy %s to %s: %s\n", from, to, strerror(errno));
            rc = 1;
        }
        free(from);
        free(to);
    }
    free(tdir);
    if (rc == 0)
        printf("created ./%s: build it with\n  cmake -S %s -B %s/build && cmake --build %s/build && "
               "ctest --test-dir %s/build\n", name, name, name, name, name);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, 2);
    const char *cmd = argv[1];
    if (strcmp(cmd, "check") == 0 && argc == 3)
        return cmd_check(argv[2]);
    if (strcmp(cmd, "plugins") == 0)
        return cmd_plugins(argc - 2, argv + 2);
    if (strcmp(cmd, "new-plugin") == 0 && argc == 3)
        return cmd_new_plugin(argv[2]);
    if (strcmp(cmd, "simulate") == 0 && argc >= 3)
        return cmd_plugin_tool("simulate", argc - 2, argv + 2);
    if (strcmp(cmd, "verify") == 0 && argc >= 3 && argv[2][0] != '-')
        return cmd_plugin_tool("verify", argc - 2, argv + 2);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify_only(argc - 1, argv + 1);
    if (strcmp(cmd, "bundle") == 0)
        return mst__cli_bundle(argc - 2, argv + 2);
    /* `mestys region backfill ARGS` is the uplink's tool (mestys-uplink-backfill) */
    if (strcmp(cmd, "region") == 0 && argc >= 3 && strcmp(argv[2], "backfill") == 0) {
        argv[2] = "uplink";
        return cmd_plugin_tool("backfill", argc - 2, argv + 2);
    }
    if (strcmp(cmd, "config-keys") == 0) {
        print_keys(mst__config_schema, 0, NULL);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("mestys %s (plugin ABI %d)\n", MST_VERSION_STRING, MST_PLUGIN_ABI);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return usage(stdout, 0);
    return usage(stderr, 2);
}
