/* cli/trust.c - `mestys trust status` and `mestys trust update FILE`.
 * The trust folder and the revocation list are read by the daemon's own
 * code (trust.c), from the settings of the config file mestysd runs with
 * (mst__config_trust_open), so what this prints is what the daemon
 * decides.  No plugin is found, checked or loaded here. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mestys/error.h>

#include "cli/trust_cli.h"
#include "config.h"
#include "loader.h"
#include "log.h"

int mst__cli_trust_open(const char *config, struct mst__trust **t)
{
    struct mst__loader loader;
    struct mst__buf why = {0};
    /* absolute, so the trust folder's files are walked by their real paths
     * whatever folder this runs in */
    char *abs = realpath(config, NULL);
    int rc = 0;
    *t = NULL;
    if (!abs) {
        fprintf(stderr, "%s: cannot read the config file: %s\n", config, strerror(errno));
        return 2;
    }
    mst__loader_init(&loader);
    /* the problems met while opening (a key without a scope…) are the
     * daemon's warnings; `trust status` prints them as a list of its own */
    enum mst_log_level was = mst__log_get_level();
    mst__log_set_level(MST_LOG_ERROR);
    if (mst__config_trust_open(abs, &loader, t, &why) != 0) {
        fputs(why.data ? why.data : "the config's trust settings cannot be used\n", stderr);
        rc = 2;
    }
    mst__log_set_level(was);
    mst__loader_close(&loader);
    mst__buf_free(&why);
    free(abs);
    return rc;
}

/* "2027-01-31T00:00:00Z" */
static void utc_time(int64_t s, char out[32])
{
    time_t tt = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "@%lld", (long long)s);
}

/* "12 d 3 h", "5 h 2 min", "40 s" */
static void span(int64_t s, char out[32])
{
    if (s >= 86400)
        snprintf(out, 32, "%lld d %lld h", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(out, 32, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(out, 32, "%lld s", (long long)s);
}

static void print_keys(const struct mst__trust *t)
{
    size_t n = mst__trust_n_keys(t);
    printf("release keys    %zu\n", n);
    for (size_t i = 0; i < n; i++) {
        struct mst__trust_key_info k;
        mst__trust_key(t, i, &k);
        printf("  %-14s %s%s  ", k.name, k.id, k.revoked ? " REVOKED" : "");
        if (k.has_scope && k.scope)
            printf("scope %s\n", k.scope);
        else
            printf("no scope file: covers nothing\n");
    }
}

static void print_list(const struct mst__trust *t, int64_t now)
{
    int64_t serial, expires;
    char when[32], left[32];
    if (!mst__trust_list_info(t, &serial, &expires)) {
        printf("revocation list no revocation list\n");
        return;
    }
    utc_time(expires, when);
    if (mst__trust_expired(t, now)) {
        span(now - expires, left);
        printf("revocation list serial %lld, EXPIRED at %s (%s ago): still used; get a newer one from the region\n",
               (long long)serial, when, left);
    } else {
        span(expires - now, left);
        printf("revocation list serial %lld, expires %s (in %s, %lld s)\n", (long long)serial, when, left,
               (long long)(expires - now));
    }
    size_t n = mst__trust_n_floors(t);
    for (size_t i = 0; i < n; i++) {
        const char *name = mst__trust_floor_name(t, i), *version, *reason;
        if (!mst__trust_floor(t, name, &version, &reason))
            continue;
        if (version)
            printf("  %-14s below %s revoked: %s\n", name, version, reason ? reason : "");
        else
            printf("  %-14s every version revoked: %s\n", name, reason ? reason : "");
    }
}

static const char *config_option(int argc, char **argv, const char *cmd, int *first_arg)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'}, {0}};
    const char *config = "mestys.json";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c != 'c') {
            fprintf(stderr, "mestys trust %s: unknown option\n", cmd);
            return NULL;
        }
        config = optarg;
    }
    *first_arg = optind;
    return config;
}

static int cmd_status(int argc, char **argv)
{
    int at;
    const char *config = config_option(argc, argv, "status", &at);
    if (!config || at != argc)
        return fprintf(stderr, "usage: mestys trust status [-c CONFIG]\n"), 2;
    struct mst__trust *t;
    int rc = mst__cli_trust_open(config, &t);
    if (rc != 0)
        return rc;
    int64_t now = (int64_t)time(NULL);
    const char *problems = mst__trust_problems(t);
    print_keys(t);
    print_list(t, now);
    if (*problems) {
        printf("problems:\n");
        for (const char *p = problems; *p;) {
            size_t n = strcspn(p, "\n");
            printf("  %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
    }
    mst__trust_close(t);
    return 0;
}

static int cmd_update(int argc, char **argv)
{
    int at;
    const char *config = config_option(argc, argv, "update", &at);
    if (!config || at != argc - 1)
        return fprintf(stderr, "usage: mestys trust update FILE [-c CONFIG]   (FILE.minisig beside it)\n"), 2;
    const char *file = argv[at];
    struct mst__trust *t;
    int rc = mst__cli_trust_open(config, &t);
    if (rc != 0)
        return rc;
    int64_t before = -1, after = -1, expires;
    int had = mst__trust_list_info(t, &before, &expires);
    struct mst__buf why = {0};
    rc = mst__trust_update(t, file, &why);
    if (rc != 0) {
        fprintf(stderr, "mestys trust update: %s refused: %s\n", file, why.data ? why.data : mst_strerror(rc));
        rc = 1;
    } else if (mst__trust_list_info(t, &after, &expires) && had && after == before) {
        printf("%s: serial %lld is the list in use already (same bytes): nothing to do\n", file, (long long)after);
    } else {
        char when[32];
        utc_time(expires, when);
        char was[48] = "no list before";
        if (had)
            snprintf(was, sizeof was, "was serial %lld", (long long)before);
        printf("%s: revocation list serial %lld installed (%s), expires %s\n", file, (long long)after, was, when);
        if (mst__trust_expired(t, (int64_t)time(NULL)))
            printf("warning: this list expired at %s already: /health stays degraded until a newer one comes\n",
                   when);
        printf("reload mestysd to use it: systemctl reload mestysd, or POST /api/admin/reload\n");
    }
    mst__buf_free(&why);
    mst__trust_close(t);
    return rc;
}

int mst__cli_trust(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "status") == 0)
        return cmd_status(argc, argv);
    if (argc >= 1 && strcmp(argv[0], "update") == 0)
        return cmd_update(argc, argv);
    fprintf(stderr, "usage: mestys trust status [-c CONFIG]\n"
                    "       mestys trust update FILE [-c CONFIG]\n");
    return 2;
}
