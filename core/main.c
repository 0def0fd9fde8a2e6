/* main.c - mestysd: the městys daemon. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/mestys.h>
#include <nng/nng.h>
#include <uv.h>

#include "daemon.h"
#include "loader.h"
#include "log.h"

/* nng's and libuv's worker threads are joined before exit, so the process
 * ends with one thread: nothing is mid-exit while the atexit handlers
 * (LeakSanitizer's among them, which stops every thread to scan it) run. */
static void join_library_threads(void)
{
    nng_fini();
    uv_library_shutdown();
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mestysd [-c FILE] [--check]\n"
            "Runs the m\u011bstys daemon: the plugin instances the config names, the bus and the HTTP API.\n"
            "\n"
            "  -c, --config FILE  the town's config (default: mestys.json in the current folder)\n"
            "      --check        validate the config and exit (like `mestys check FILE`)\n"
            "  -V, --version      print the version and the plugin ABI\n"
            "  -h, --help         print this text\n"
            "\n"
            "signals:\n"
            "  SIGINT, SIGTERM    stop: instances stop in reverse start order, then exit 0\n"
            "  SIGHUP             reload the config, all or nothing (like POST /api/admin/reload);\n"
            "                     on an error the running plugins are left as they were\n"
            "\n"
            "files:\n"
            "  config             FILE: JSON with comments, see mestys.json(5)\n"
            "  state folder       node.state_dir (relative to the config; default \"state\"): one folder\n"
            "                     per instance with its SQLite files, and .lock, which keeps a second\n"
            "                     mestysd off the same folder\n");
    /* the folders this binary really searches, not what a manual guesses */
    struct mst__loader loader;
    mst__loader_init(&loader);
    mst__loader_set_path(&loader, ".", NULL, 0);
    fprintf(f, "  plugins            NAME/VERSION/ bundles, .so and .lua files, searched in node.plugin_path,\n"
               "                     then in (the daemon's own folders: status core):\n");
    for (size_t i = 0; i < loader.n_dirs; i++)
        fprintf(f, "                     %s\n", loader.dirs[i]);
    fprintf(f, "  trust folder       trust.dir (default /etc/mestys/trust): root.pub, keys/NAME.pub and\n"
               "                     NAME.scope, revocations.json; the last accepted list is kept in\n"
               "                     node.state_dir/trust/ (see mestys.json(5), TRUST)\n"
               "  Lua modules        %s (require, lua: decoders; also next to the config)\n"
               "\n"
               "environment:\n"
               "  MESTYS_PLUGIN_PATH folders (colon-separated) searched before the installed plugins\n"
               "\n"
               "exit status: 0 stopped cleanly, 1 start-up failed, 2 config error\n"
               "see also: mestys(1), mestys.json(5), mestysd(8)\n",
            loader.lua_dir);
    mst__loader_close(&loader);
}

int main(int argc, char **argv)
{
    const char *config = "mestys.json";
    int check_only = 0;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'k': check_only = 1; break;
        case 'V': printf("mestysd %s (plugin ABI %d)\n", MST_VERSION_STRING, MST_PLUGIN_ABI); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        config = argv[optind];
    /* a peer that hangs up mid-write is an error to handle, not a reason to die */
    signal(SIGPIPE, SIG_IGN);

    struct mst__daemon d;
    struct mst__diag diag = {0};
    int rc = mst__daemon_init(&d, config, &diag);
    if (diag.text.len)
        fputs(diag.text.data, stderr);
    if (rc != 0) {
        fprintf(stderr, "mestysd: %d error(s) in %s; nothing was started\n", diag.errors, config);
        mst__diag_free(&diag);
        mst__daemon_free(&d);
        return 2;
    }
    mst__diag_free(&diag);
    if (check_only) {
        printf("%s: OK\n", config);
        mst__daemon_free(&d);
        return 0;
    }
    rc = mst__daemon_run(&d);
    mst__daemon_free(&d);
    join_library_threads();
    mst__log(MST_LOG_INFO, "core", "stopped");
    return rc == 0 ? 0 : 1;
}
