/* cli/bundle_deb.c - `mestys bundle deb PATH [--out DIR]`: a bundle as a
 * Debian package mestys-plugin-NAME, its files in
 * /usr/lib/mestys/plugins/NAME/VERSION/ and its dependency on mestys taken
 * from the host range.  dpkg-deb builds it (--root-owner-group, xz);
 * SOURCE_DATE_EPOCH, when set, fixes its timestamps, and nothing else of
 * this machine (owner, umask, mtimes, readdir order) reaches the package. */
#include "cli/bundle_cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mestys/error.h>

extern char **environ;

#define DEB_PLUGIN_DIR "usr/lib/mestys/plugins"

/* A semver as a Debian upstream version: the prerelease's '-' becomes '~'
 * so that 0.6.0~rc1 sorts below 0.6.0 as 0.6.0-rc1 does; build metadata
 * kept (with_build) or dropped (a range bound: semver ignores it). */
static void deb_upstream(const char *semver, int with_build, char *out, size_t size)
{
    snprintf(out, size, "%s", semver);
    char *plus = strchr(out, '+');
    if (plus && !with_build)
        *plus = '\0';
    char *dash = strchr(out, '-');
    if (dash && (!plus || dash < plus))
        *dash = '~';
}

/* One clause of the host range as Debian relations on mestys.  Debian
 * gives mestys a revision (0.1.0-1) that semver does not have, so a bound
 * that must include or exclude "exactly A" uses "A." instead, which sorts
 * above every A-REV and A+X and below every later release:
 *   >= A  ->  (>= A)          < B  ->  (<< B)
 *   >  A  ->  (>= A.)         <= B ->  (<< B.)
 *   == A  ->  (>= A), (<< A.)
 * != has no Depends form: left out (with a note); the daemon checks it. */
static int deb_relation(const struct mst__range_clause *c, struct mst__buf *out)
{
    char v[80];
    deb_upstream(c->version, 0, v, sizeof v);
    const char *sep = out->len ? ", " : "";
    switch (c->op) {
    case MST__RANGE_ANY: mst__buf_printf(out, "%smestys", sep); return 0;
    case MST__RANGE_GE: mst__buf_printf(out, "%smestys (>= %s)", sep, v); return 0;
    case MST__RANGE_GT: mst__buf_printf(out, "%smestys (>= %s.)", sep, v); return 0;
    case MST__RANGE_LT: mst__buf_printf(out, "%smestys (<< %s)", sep, v); return 0;
    case MST__RANGE_LE: mst__buf_printf(out, "%smestys (<< %s.)", sep, v); return 0;
    case MST__RANGE_EQ: mst__buf_printf(out, "%smestys (>= %s), mestys (<< %s.)", sep, v, v); return 0;
    default: return -1;
    }
}

/* mestys-plugin-NAME: Debian names are lower case, no '_'. */
static char *package_name(const char *name)
{
    char *p = mst__xasprintf("mestys-plugin-%s", name);
    for (char *c = p; *c; c++)
        *c = *c == '_' ? '-' : *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
    return p;
}

/* Copies rel from the bundle (dirfd) to root/rel with mode 0644, making
 * its folders 0755; adds its size in KiB (rounded up) to *kib. */
static int copy_file(int dirfd, const char *rel, const char *root, unsigned long long *kib, struct mst__buf *why)
{
    char *to = mst__path_join(root, rel), *parent = mst__dirname(to);
    int in = openat(dirfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), out = -1, rc = 0;
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || mst__mkdirs(parent, 0755) != 0 ||
        (out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 || fchmod(out, 0644) != 0) {
        mst__buf_printf(why, "%s: %s", rel, strerror(errno));
        rc = MST_EIO;
        goto out;
    }
    char buf[65536];
    for (off_t off = 0;;) {
        ssize_t n = pread(in, buf, sizeof buf, off);
        if (n == 0)
            break;
        if (n < 0 || write(out, buf, (size_t)n) != n) {
            mst__buf_printf(why, "%s: %s", rel, strerror(errno));
            rc = MST_EIO;
            goto out;
        }
        off += n;
    }
    *kib += ((unsigned long long)st.st_size + 1023) / 1024;
out:
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = MST_EIO;
    free(to);
    free(parent);
    return rc;
}

/* Every file the manifest lists, then the manifest and its signatures. */
static int stage_files(int dirfd, const struct mst__manifest *m, const char *dest, unsigned long long *kib,
                       struct mst__buf *why)
{
    for (size_t i = 0; i < m->n_files; i++)
        if (copy_file(dirfd, m->paths[i], dest, kib, why) != 0)
            return MST_EIO;
    int rc = 0, sigs = 0;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    while (rc == 0 && d && (e = readdir(d)))
        if (mst__bundle_is_meta_file(e->d_name)) {
            rc = copy_file(dirfd, e->d_name, dest, kib, why);
            sigs += strcmp(e->d_name, MST__MANIFEST_NAME) != 0;
        }
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    if (rc == 0 && !sigs)
        fprintf(stderr, "mestys bundle deb: note: the bundle is not signed (no manifest.json.minisig): "
                        "a town with trust.require \"signed\" will refuse it\n");
    return rc;
}

static int write_control(const char *path, const struct mst__manifest *m, const char *depends,
                         const char *maintainer, unsigned long long kib, struct mst__buf *why)
{
    char upstream[80];
    deb_upstream(m->version, 1, upstream, sizeof upstream);
    char *pkg = package_name(m->name);
    FILE *f = fopen(path, "w");
    if (!f) {
        mst__buf_printf(why, "%s: %s", path, strerror(errno));
        free(pkg);
        return MST_EIO;
    }
    fprintf(f, "Package: %s\nVersion: %s-1\nArchitecture: %s\nMaintainer: %s\nInstalled-Size: %llu\n"
               "Depends: %s\nSection: misc\nPriority: optional\n"
               "Description: mestys plugin %s %s (%s)\n"
               " The %s plugin for mestysd as a bundle: its files in\n"
               " /usr/lib/mestys/plugins/%s/%s/ with manifest.json (every file's SHA-256)\n"
               " and its minisign signatures, checked by mestysd before it loads them.\n",
            pkg, upstream, m->arch, maintainer, kib, depends, m->name, m->version,
            strcmp(m->kind, "so") == 0 ? "shared object" : "Lua", m->name, m->name, m->version);
    free(pkg);
    if (fchmod(fileno(f), 0644) != 0 || fclose(f) != 0) {
        mst__buf_printf(why, "%s: %s", path, strerror(errno));
        return MST_EIO;
    }
    return 0;
}

static int run_dpkg_deb(const char *root, const char *deb)
{
    char *argv[] = {"dpkg-deb", "--root-owner-group", "-Zxz", "--build", (char *)root, (char *)deb, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, "dpkg-deb", NULL, NULL, argv, environ), status;
    if (err) {
        fprintf(stderr, "mestys bundle deb: cannot run dpkg-deb: %s (is dpkg-dev installed?)\n", strerror(err));
        return 1;
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* The Depends line from the range; notes on stderr what cannot be said. */
static int depends_from_range(const struct mst__manifest *m, struct mst__buf *depends)
{
    struct mst__range_clause c[MST__RANGE_MAX_CLAUSES];
    struct mst__buf why = {0};
    int n = mst__range_parse(m->host, c, MST__RANGE_MAX_CLAUSES, &why);
    for (int i = 0; i < n; i++)
        if (deb_relation(&c[i], depends) != 0)
            fprintf(stderr, "mestys bundle deb: note: \"%s %s\" has no Debian Depends form; left to the "
                            "daemon, which refuses that version at load\n", mst__range_op_text(c[i].op),
                    c[i].version);
    if (!depends->len)
        mst__buf_puts(depends, "mestys");
    mst__buf_free(&why);
    return n < 0 ? n : 0;
}

static int build(int dirfd, const struct mst__manifest *m, const char *out_dir, const char *maintainer)
{
    char tmpl[] = "/tmp/mestys-deb-XXXXXX";
    const char *tmpdir = getenv("TMPDIR");
    char *work = tmpdir && *tmpdir ? mst__xasprintf("%s/mestys-deb-XXXXXX", tmpdir) : mst__xstrdup(tmpl);
    if (!mkdtemp(work)) {
        fprintf(stderr, "mestys bundle deb: %s: %s\n", work, strerror(errno));
        free(work);
        return 1;
    }
    mode_t old_umask = umask(022);
    char *root = mst__path_join(work, "root");
    char *dest = mst__xasprintf("%s/" DEB_PLUGIN_DIR "/%s/%s", root, m->name, m->version);
    char *debian = mst__path_join(root, "DEBIAN"), *control = mst__path_join(debian, "control");
    char *pkg = package_name(m->name), upstream[80];
    deb_upstream(m->version, 1, upstream, sizeof upstream);
    char *deb = mst__xasprintf("%s/%s_%s-1_%s.deb", out_dir, pkg, upstream, m->arch);
    struct mst__buf why = {0}, depends = {0};
    unsigned long long kib = 0;
    int rc = 1;
    if (mst__mkdirs(dest, 0755) != 0 || mst__mkdirs(debian, 0755) != 0) {
        fprintf(stderr, "mestys bundle deb: %s: %s\n", work, strerror(errno));
        goto out;
    }
    if (stage_files(dirfd, m, dest, &kib, &why) != 0 || depends_from_range(m, &depends) != 0 ||
        write_control(control, m, depends.data, maintainer, kib, &why) != 0) {
        fprintf(stderr, "mestys bundle deb: %s\n", why.data ? why.data : "cannot stage the package");
        goto out;
    }
    rc = run_dpkg_deb(root, deb);
    if (rc == 0)
        printf("%s\n  Package: %s\n  Version: %s-1\n  Architecture: %s\n  Depends: %s\n", deb, pkg, upstream,
               m->arch, depends.data);
out:
    umask(old_umask);
    nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    mst__buf_free(&why);
    mst__buf_free(&depends);
    free(work);
    free(root);
    free(dest);
    free(debian);
    free(control);
    free(pkg);
    free(deb);
    return rc;
}

int mst__cli_bundle_deb(int argc, char **argv)
{
    static const char *const keys[] = {"out", "maintainer", NULL};
    const char *v[2] = {0}, *pos[1];
    int n_pos, rc = mst__cli_options("deb", argc, argv, keys, v, pos, 1, &n_pos);
    if (rc || n_pos != 1) {
        if (!rc)
            fprintf(stderr, "usage: mestys bundle deb PATH [--out DIR] [--maintainer \"NAME <EMAIL>\"]\n");
        return 2;
    }
    const char *maintainer = v[1] ? v[1] : "mestys region <region@mestys.invalid>";
    if (strchr(maintainer, '\n')) {
        fprintf(stderr, "mestys bundle deb: --maintainer is one line\n");
        return 2;
    }
    int dirfd = open(pos[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        fprintf(stderr, "mestys bundle deb: %s: %s\n", pos[0], strerror(errno));
        return 1;
    }
    /* only what the manifest vouches for is packaged: a modified bundle is refused here already */
    struct mst__manifest m;
    struct mst__buf why = {0};
    rc = mst__cli_manifest_read(dirfd, &m, &why);
    if (rc == MST_ENOENT)
        mst__buf_puts(&why, "no manifest.json: run `mestys bundle pack` first");
    if (rc == 0)
        rc = mst__bundle_check_files(dirfd, &m, &why);
    if (rc != 0) {
        fprintf(stderr, "mestys bundle deb: %s: %s\n", pos[0], why.data);
        rc = 1;
    } else {
        rc = build(dirfd, &m, v[0] ? v[0] : ".", maintainer);
    }
    mst__manifest_free(&m);
    mst__buf_free(&why);
    close(dirfd);
    return rc;
}
