/* cli/trust.c - `mestys trust status` and `mestys trust update FILE`.
 * The trust folder and the revocation list are read by the daemon's own
 * code (trust.c), from the settings of the config file mestysd runs with,
 * so what this prints is what the daemon decides.  Only the config's core
 * sections are read: no plugin is found, checked or loaded here. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mestys/error.h>

#include "cli/trust_cli.h"
#include "config.h"
#include "diag.h"
#include "json_path.h"
#include "jsonpos.h"
#include "schema.h"
#include "trust_path.h"
#include "trust_sig.h"

/* The core sections of the config, checked against the core schema (which
 * fills in the defaults): 0, or 2 with the problems printed. */
static int read_core(const char *file, char **text, cJSON **root)
{
    size_t len, off;
    struct mst__diag d = {.file = file};
    *root = NULL;
    if (!(*text = mst__read_file(file, &len))) {
        fprintf(stderr, "%s: cannot read the config file: %s\n", file, strerror(errno));
        return 2;
    }
    if (mst__json_strip_comments(*text, len, &off) != 0 || !(*root = cJSON_ParseWithLength(*text, len)) ||
        !cJSON_IsObject(*root)) {
        fprintf(stderr, "%s: not a valid config (see `mestys check %s`)\n", file, file);
        return 2;
    }
    struct mst__jsonpos *pos = mst__jsonpos_build(*text, len, *root);
    d.pos = pos;
    mst__schema_check(&d, *root, mst__config_schema, "");
    if (d.errors)
        fputs(d.text.data, stderr);
    int rc = d.errors ? 2 : 0;
    mst__diag_free(&d);
    mst__jsonpos_free(pos);
    return rc;
}

int mst__cli_trust_open(const char *config, struct mst__trust **t, char **dir_out)
{
    /* absolute: the trust folder's files are checked by their real paths */
    char *text = NULL, *rel = mst__dirname(config), *base = realpath(rel, NULL), *dir = NULL, *state = NULL;
    cJSON *root = NULL;
    int rc = read_core(config, &text, &root);
    *t = NULL;
    if (dir_out)
        *dir_out = NULL;
    if (rc != 0)
        goto out;
    if (!base) {
        fprintf(stderr, "%s: %s\n", rel, strerror(errno));
        rc = 2;
        goto out;
    }
    /* the defaults are the schema's: read_core filled them in */
    dir = mst__path_join(base, mst__json_string_at(root, "trust.dir"));
    state = mst__path_join(base, mst__json_string_at(root, "node.state_dir"));
    static const char *const no_dirs[] = {NULL};
    struct mst__trust_cfg tc = {
        .dir = dir,
        /* no plugin is checked here: the policy for plugins does not matter */
        .require = MST__TRUST_REQUIRE_SIGNED,
        .allow_unsigned = NULL,
        .state_dir = state,
        .own_dirs = no_dirs,
        .uid = geteuid(),
    };
    struct mst__buf why = {0};
    if (mst__trust_open(t, &tc, &why) != 0) {
        fprintf(stderr, "mestys trust: %s\n", why.data ? why.data : "cannot open the trust folder");
        rc = 1;
    }
    mst__buf_free(&why);
    if (rc == 0 && dir_out)
        *dir_out = dir, dir = NULL;
out:
    free(state);
    free(dir);
    cJSON_Delete(root);
    free(text);
    free(base);
    free(rel);
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

/* root.pub's key id, read as the daemon reads it (permission walk, strict). */
static void print_root(const char *trust_dir)
{
    char *path = mst__path_join(trust_dir, "root.pub"), *real = realpath(path, NULL);
    struct mst__buf why = {0};
    struct stat st;
    int fd = real ? mst__open_safe(real, geteuid(), &st, &why) : -1;
    if (fd < 0) {
        printf("root key        none (%s): a revocation list cannot be verified\n",
               why.data ? why.data : "no root.pub");
        goto out;
    }
    char *text = mst__xmalloc((size_t)st.st_size + 1);
    struct mst__mkey k;
    char id[17];
    if (pread(fd, text, (size_t)st.st_size, 0) == st.st_size && mst__mkey_parse(text, (size_t)st.st_size, &k, &why) == 0) {
        mst__key_id_hex(k.id, id);
        printf("root key        %s (%s)\n", id, path);
    } else {
        printf("root key        unusable: %s\n", why.data ? why.data : "cannot read it");
    }
    free(text);
    close(fd);
out:
    mst__buf_free(&why);
    free(real);
    free(path);
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
    char *dir;
    int rc = mst__cli_trust_open(config, &t, &dir);
    if (rc != 0)
        return rc;
    int64_t now = (int64_t)time(NULL);
    const char *problems = mst__trust_problems(t);
    printf("trust folder    %s\n", dir);
    print_root(dir);
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
    free(dir);
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
    int rc = mst__cli_trust_open(config, &t, NULL);
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
