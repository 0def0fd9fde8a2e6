/* cli/bundle.c - `mestys bundle pack DIR`, `verify PATH`, `list [DIR...]`:
 * a plugin folder made into a bundle, and what the daemon would decide
 * about one, and why.  Packing never loads the plugin (a region packs
 * vendors' builds: nothing of theirs runs here); what the files cannot
 * say (name, version, host range) comes from the NAME/VERSION folder or
 * the command line. */
#include "cli/bundle_cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mestys/mestys.h>

#include "loader.h"

int mst__cli_options(const char *cmd, int argc, char **argv, const char *const *keys, const char **values,
                     const char **pos, int max_pos, int *n_pos)
{
    *n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            if (*n_pos == max_pos) {
                fprintf(stderr, "mestys bundle %s: unexpected argument \"%s\"\n", cmd, a);
                return 2;
            }
            pos[(*n_pos)++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        size_t k = 0;
        while (keys[k] && (strlen(keys[k]) != klen || strncmp(keys[k], a + 2, klen) != 0))
            k++;
        if (!keys[k]) {
            fprintf(stderr, "mestys bundle %s: unknown option %.*s\n", cmd, (int)(klen + 2), a);
            return 2;
        }
        if (!eq && i + 1 == argc) {
            fprintf(stderr, "mestys bundle %s: %s needs a value\n", cmd, a);
            return 2;
        }
        values[k] = eq ? eq + 1 : argv[++i];
    }
    return 0;
}

int mst__cli_manifest_read(int dirfd, struct mst__manifest *m, struct mst__buf *why)
{
    memset(m, 0, sizeof *m);
    int fd = openat(dirfd, MST__MANIFEST_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return MST_ENOENT;
        mst__buf_printf(why, "manifest.json: %s", errno == ELOOP ? "is a symbolic link" : strerror(errno));
        return errno == ELOOP ? MST_EINVAL : MST_EIO;
    }
    struct stat st;
    int rc = 0;
    char *text = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 4 * 1024 * 1024) {
        mst__buf_puts(why, "manifest.json is not a regular file of at most 4 MiB");
        rc = MST_EINVAL;
        goto out;
    }
    text = mst__xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = pread(fd, text + got, (size_t)st.st_size - got, (off_t)got);
        if (n <= 0) {
            mst__buf_printf(why, "manifest.json: %s", n < 0 ? strerror(errno) : "shorter than its size");
            rc = MST_EIO;
            goto out;
        }
        got += (size_t)n;
    }
    rc = mst__manifest_parse(text, got, m, why);
out:
    free(text);
    close(fd);
    return rc;
}

/* --- pack ------------------------------------------------------------------ */

/* The last path segment of a real path, into out. */
static void base_name(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    snprintf(out, size, "%s", slash ? slash + 1 : path);
}

/* The Debian architecture of a shared object, from its ELF header only
 * (e_ident and e_machine): nothing of the plugin is run.  NULL if unknown. */
static const char *elf_arch(int dirfd, const char *file)
{
    unsigned char h[20];
    int fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    ssize_t n = fd >= 0 ? pread(fd, h, sizeof h, 0) : -1;
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)sizeof h || memcmp(h, "\177ELF", 4) != 0 || (h[5] != 1 && h[5] != 2))
        return NULL;
    unsigned machine = h[5] == 1 ? (unsigned)(h[18] | h[19] << 8) : (unsigned)(h[18] << 8 | h[19]);
    int is64 = h[4] == 2, le = h[5] == 1;
    static const struct {
        unsigned machine;
        int is64, le;
        const char *arch;
    } map[] = {
        {62, 1, 1, "amd64"},   {183, 1, 1, "arm64"}, {40, 0, 1, "armhf"},  {3, 0, 1, "i386"},
        {243, 1, 1, "riscv64"}, {21, 1, 1, "ppc64el"}, {22, 1, 0, "s390x"}, {8, 0, 1, "mipsel"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].machine == machine && map[i].is64 == is64 && map[i].le == le)
            return map[i].arch;
    return NULL;
}

static int file_exists(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* kind from the files: NAME.so or NAME.lua, exactly one of them. */
static const char *infer_kind(int dirfd, const char *name, struct mst__buf *why)
{
    char *so = mst__xasprintf("%s.so", name), *lua = mst__xasprintf("%s.lua", name);
    int has_so = file_exists(dirfd, so), has_lua = file_exists(dirfd, lua);
    if (has_so == has_lua)
        mst__buf_printf(why, has_so ? "both %s and %s are there: say which with --kind so|lua"
                                    : "neither %s nor %s is there (a bundle's entry point)", so, lua);
    free(so);
    free(lua);
    return has_so == has_lua ? NULL : has_so ? "so" : "lua";
}

/* Writes DIR/manifest.json through a temporary file and rename: a reader
 * sees the old bytes or the new ones. */
static int write_manifest(const char *dir, const struct mst__buf *text, struct mst__buf *why)
{
    char *tmp = mst__xasprintf("%s/.manifest.json.XXXXXX", dir);
    char *final = mst__path_join(dir, MST__MANIFEST_NAME);
    int rc = 0, fd = mkstemp(tmp);
    if (fd < 0 || fchmod(fd, 0644) != 0 || write(fd, text->data, text->len) != (ssize_t)text->len ||
        fsync(fd) != 0) {
        mst__buf_printf(why, "%s: %s", final, strerror(errno));
        rc = MST_EIO;
    }
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        mst__buf_printf(why, "%s: %s", final, strerror(errno));
        rc = MST_EIO;
    }
    if (rc == 0 && rename(tmp, final) != 0) {
        mst__buf_printf(why, "%s: %s", final, strerror(errno));
        rc = MST_EIO;
    }
    if (rc != 0 && fd >= 0)
        unlink(tmp);
    free(tmp);
    free(final);
    return rc;
}

/* Fills the manifest's meta from the options and the folder; 0 or 2. */
static int pack_meta(const char *real, int dirfd, const char **v, struct mst__manifest *meta, char *name,
                     char *version)
{
    char *parent = mst__dirname(real);
    base_name(real, version, 80);
    base_name(parent, name, 80);
    free(parent);
    /* DIR is NAME/VERSION/: both come from the path unless given */
    meta->version = (char *)(v[1] ? v[1] : mst__semver_valid(version) ? version : NULL);
    meta->name = (char *)(v[0] ? v[0] : meta->version && mst__valid_name(name) ? name : NULL);
    meta->host = (char *)v[4];
    if (!meta->name || !meta->version || !meta->host) {
        fprintf(stderr, "mestys bundle pack: %s: say %s (the folder is not NAME/VERSION/ or no --host "
                        "range was given, e.g. --host \">= %s, < 0.2.0\")\n", real,
                !meta->host ? "--host RANGE" : !meta->version ? "--version X.Y.Z" : "--name NAME",
                MST_VERSION_STRING);
        return 2;
    }
    if (!mst__valid_name(meta->name)) {
        fprintf(stderr, "mestys bundle pack: name \"%s\" is not 1-64 of [A-Za-z0-9_-]\n", meta->name);
        return 2;
    }
    struct mst__buf why = {0};
    meta->kind = (char *)(v[2] ? v[2] : infer_kind(dirfd, meta->name, &why));
    if (!meta->kind) {
        fprintf(stderr, "mestys bundle pack: %s: %s\n", real, why.data);
        mst__buf_free(&why);
        return 2;
    }
    const char *arch = "all";
    if (strcmp(meta->kind, "so") == 0) {
        char *so = mst__xasprintf("%s.so", meta->name);
        arch = elf_arch(dirfd, so);
        int bad = (v[3] && arch && strcmp(v[3], arch) != 0) || (!arch && !v[3]);
        if (bad && arch)
            fprintf(stderr, "mestys bundle pack: --arch %s, but %s is built for %s\n", v[3], so, arch);
        else if (bad)
            fprintf(stderr, "mestys bundle pack: %s: not an ELF file of a known architecture: say --arch\n", so);
        free(so);
        if (bad)
            return 2;
    }
    meta->arch = (char *)(v[3] ? v[3] : arch);
    meta->abi = MST_PLUGIN_ABI;
    if (v[5]) {
        char *end;
        long abi = strtol(v[5], &end, 10);
        meta->abi = *end || abi < 1 || abi > 1000000 ? -1 : (int)abi;
    }
    return 0;
}

static size_t list_signatures(int dirfd, struct mst__buf *out);

/* Puts the new manifest text in place (unless the bytes are the same) and
 * says what it holds, and whether signatures there are now stale. */
static int pack_replace(const char *real, int dirfd, const struct mst__buf *text)
{
    char *path = mst__path_join(real, MST__MANIFEST_NAME);
    size_t old_len = 0;
    char *old = mst__read_file(path, &old_len);
    int same = old && old_len == text->len && memcmp(old, text->data, old_len) == 0, rc = 0;
    struct mst__buf why = {0}, sigs = {0};
    if (!same && write_manifest(real, text, &why) != 0) {
        fprintf(stderr, "mestys bundle pack: %s\n", why.data);
        rc = 1;
    } else {
        struct mst__manifest m;
        mst__cli_manifest_read(dirfd, &m, &why);
        printf("%s: %s %s (%s, %s, host \"%s\"), %zu file(s)%s\n", path, m.name, m.version, m.kind, m.arch,
               m.host, m.n_files, same ? ", unchanged" : "");
        if (list_signatures(dirfd, &sigs) && !same)
            printf("the signatures there (%s) are for the old bytes: sign again\n", sigs.data);
        if (!same || !sigs.len)
            printf("sign it: minisign -S -s KEY.key -m %s\n", path);
        mst__manifest_free(&m);
    }
    mst__buf_free(&why);
    mst__buf_free(&sigs);
    free(old);
    free(path);
    return rc;
}

static int cmd_pack(int argc, char **argv)
{
    static const char *const keys[] = {"name", "version", "kind", "arch", "host", "abi", NULL};
    const char *v[6] = {0}, *pos[1];
    int n_pos, rc = mst__cli_options("pack", argc, argv, keys, v, pos, 1, &n_pos);
    if (rc || n_pos != 1) {
        if (!rc)
            fprintf(stderr, "usage: mestys bundle pack DIR --host RANGE [--name NAME] [--version X.Y.Z] "
                            "[--kind so|lua] [--arch ARCH] [--abi N]\n");
        return 2;
    }
    char *real = realpath(pos[0], NULL);
    int dirfd = real ? open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dirfd < 0) {
        fprintf(stderr, "mestys bundle pack: %s: %s\n", pos[0], strerror(errno));
        free(real);
        return 1;
    }
    struct mst__manifest meta = {0};
    char name[80], version[80];
    struct mst__buf text = {0}, why = {0};
    rc = pack_meta(real, dirfd, v, &meta, name, version);
    if (rc == 0 && mst__manifest_write(real, &meta, &text, &why) != 0) {
        fprintf(stderr, "mestys bundle pack: %s: %s\n", real, why.data);
        rc = 1;
    }
    if (rc == 0)
        rc = pack_replace(real, dirfd, &text);
    mst__buf_free(&text);
    mst__buf_free(&why);
    close(dirfd);
    free(real);
    return rc;
}

/* --- verify and list: what the daemon would decide ---------------------- */

/* The signatures beside the manifest, ", "-separated, into out. */
static size_t list_signatures(int dirfd, struct mst__buf *out)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (mst__bundle_is_meta_file(e->d_name) && strcmp(e->d_name, MST__MANIFEST_NAME) != 0)
            mst__buf_printf(out, "%s%s", n++ ? ", " : "", e->d_name);
    }
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    return n;
}

enum verdict { V_SIGNED, V_UNSIGNED, V_MODIFIED, V_INVALID, V_INCOMPATIBLE };
static const char *const verdict_names[] = {"signed", "unsigned", "modified", "invalid", "incompatible"};

/* The checks that need no key, in the daemon's order: manifest, folder
 * name and version, host range and arch, every file.  The verdict and a
 * reason sentence. */
static enum verdict decide(const char *real, int dirfd, struct mst__manifest *m, struct mst__buf *reason)
{
    int rc = mst__cli_manifest_read(dirfd, m, reason);
    if (rc == MST_ENOENT) {
        mst__buf_puts(reason, "no manifest.json");
        return V_UNSIGNED;
    }
    if (rc < 0)
        return V_INVALID;
    char *parent = mst__dirname(real), folder_name[80], folder_version[80];
    base_name(real, folder_version, sizeof folder_version);
    base_name(parent, folder_name, sizeof folder_name);
    free(parent);
    if (strcmp(m->name, folder_name) != 0 || strcmp(m->version, folder_version) != 0) {
        mst__buf_printf(reason, "the manifest says %s %s but the folder is %s/%s/", m->name, m->version,
                        folder_name, folder_version);
        return V_INVALID;
    }
    struct mst__buf sub = {0};
    int in = mst__range_contains(m->host, MST_VERSION_STRING, &sub);
    if (in != 1 || (strcmp(m->arch, "all") != 0 && strcmp(m->arch, MESTYS_ARCH) != 0)) {
        if (in == 1)
            mst__buf_printf(reason, "built for %s, this daemon runs on %s", m->arch, MESTYS_ARCH);
        else
            mst__buf_printf(reason, "needs mestys %s: this one is %s", m->host, MST_VERSION_STRING);
        mst__buf_free(&sub);
        return V_INCOMPATIBLE;
    }
    rc = mst__bundle_check_files(dirfd, m, reason);
    if (rc < 0)
        return rc == MST_EPERM ? V_MODIFIED : V_INVALID;
    struct mst__buf sigs = {0};
    size_t n = list_signatures(dirfd, &sigs);
    if (n == 0)
        mst__buf_puts(reason, "no signature (manifest.json.minisig)");
    else
        mst__buf_printf(reason, "every file matches the manifest; signatures not checked here: %s", sigs.data);
    mst__buf_free(&sigs);
    return n ? V_SIGNED : V_UNSIGNED;
}

/* One bundle folder: a line, or several with `detail`; 1 if it would not load. */
static int report(const char *path, const char *label, int detail)
{
    char *real = realpath(path, NULL);
    int dirfd = real ? open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dirfd < 0) {
        printf("%s: invalid: %s\n", path, strerror(errno));
        free(real);
        return 1;
    }
    struct mst__manifest m;
    struct mst__buf reason = {0};
    enum verdict v = decide(real, dirfd, &m, &reason);
    printf("%s: %s: %s\n", label ? label : real, verdict_names[v], reason.data);
    if (detail && m.name) {
        printf("  plugin     %s %s (%s, %s, abi %d)\n  host       %s (this mestys: %s on %s)\n  files      %zu\n",
               m.name, m.version, m.kind, m.arch, m.abi, m.host, MST_VERSION_STRING, MESTYS_ARCH, m.n_files);
    }
    mst__manifest_free(&m);
    mst__buf_free(&reason);
    close(dirfd);
    free(real);
    return v == V_SIGNED ? 0 : 1;
}

static int cmd_verify(int argc, char **argv)
{
    static const char *const keys[] = {NULL};
    const char *v[1], *pos[1];
    int n_pos, rc = mst__cli_options("verify", argc, argv, keys, v, pos, 1, &n_pos);
    if (rc || n_pos != 1) {
        if (!rc)
            fprintf(stderr, "usage: mestys bundle verify PATH\n");
        return 2;
    }
    return report(pos[0], NULL, 1);
}

/* Every NAME/VERSION/ bundle of one search folder, newest first per name:
 * the newest is the one the daemon would take. */
static int list_dir(const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort), bad = 0;
    for (int i = 0; i < n; i++) {
        char *sub = mst__path_join(dir, names[i]->d_name), *latest = NULL;
        if (names[i]->d_name[0] != '.' && mst__bundle_latest(sub, &latest) == 0) {
            printf("%s/\n", sub);
            struct dirent **vs = NULL;
            int nv = scandir(sub, &vs, NULL, alphasort);
            for (int j = 0; j < nv; j++) {
                if (mst__semver_valid(vs[j]->d_name)) {
                    char *p = mst__path_join(sub, vs[j]->d_name);
                    char *label = mst__xasprintf("  %s%s", vs[j]->d_name,
                                                 strcmp(vs[j]->d_name, latest) == 0 ? " (candidate)" : "");
                    int r = report(p, label, 0);
                    bad |= strcmp(vs[j]->d_name, latest) == 0 ? r : 0;
                    free(label);
                    free(p);
                }
                free(vs[j]);
            }
            free(vs);
        } else if (mst__ends_with(names[i]->d_name, ".so") || mst__ends_with(names[i]->d_name, ".lua")) {
            printf("%s: unsigned: a flat file, not a bundle\n", sub);
        }
        free(latest);
        free(sub);
        free(names[i]);
    }
    free(names);
    return bad;
}

static int cmd_list(int argc, char **argv)
{
    struct mst__loader loader;
    mst__loader_init(&loader);
    mst__loader_set_path(&loader, ".", NULL, 0);
    const char **dirs = argc > 0 ? (const char **)argv : (const char **)loader.dirs;
    size_t n = argc > 0 ? (size_t)argc : loader.n_dirs;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(dirs[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "mestys bundle list: %s: %s\n", dirs[i], errno ? strerror(errno) : "not a folder");
            bad = 1;
            continue;
        }
        bad |= list_dir(dirs[i]);
    }
    mst__loader_close(&loader);
    return bad ? 1 : 0;
}

int mst__cli_bundle(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "pack") == 0)
        return cmd_pack(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "list") == 0)
        return cmd_list(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "deb") == 0)
        return mst__cli_bundle_deb(argc - 1, argv + 1);
    fprintf(stderr, "usage: mestys bundle pack|verify|list|deb ... (mestys help)\n");
    return 2;
}
