/* main.c - mestysd: the městys daemon. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/mestys.h>

#include "daemon.h"
#include "log.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mestysd [-c FILE] [--check]\n"
            "  -c, --config FILE  the town's config (default: mestys.json)\n"
            "      --check        validate the config and exit (like `mestys check`)\n"
            "  -V, --version      print the version\n"
            "exit codes: 0 stopped cleanly, 1 start-up failed, 2 config error\n");
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
    mst__log(MST_LOG_INFO, "core", "stopped");
    return rc == 0 ? 0 : 1;
}
