/* test_bundle.c - semantic versions, PGXN host ranges, manifest.json read
 * strictly and written reproducibly, a bundle folder against its manifest,
 * the newest version folder (core/semver.c, bundle_manifest.c,
 * bundle_files.c). */
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <mestys/error.h>

#include "bundle.h"

/* sha256sum of "hello\n" and of "world\n" */
#define SHA_HELLO "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define SHA_WORLD "e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317"

static void semver_validity(void **state)
{
    static const char *const good[] = {"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1",
                                       "1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0-x-y-z.--", "1.0.0+20130313144700",
                                       "1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3---117B344092BD",
                                       "99999999999999999999.0.0"};
    static const char *const bad[] = {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-",
                                      "1.2.3-01", "1.2.3-a..b", "1.2.3+", "1.2.3+a..b", "v1.2.3", " 1.2.3",
                                      "1.2.3 ", "1.2.3-a_b", "-1.2.3", "1.2.-3", "1.2.3-α",
                                      "1.2.3-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(mst__semver_valid(good[i]) || (fprintf(stderr, "refused %s\n", good[i]), 0));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(mst__semver_valid(bad[i]) && (fprintf(stderr, "accepted %s\n", bad[i]), 1));
    assert_false(mst__semver_valid(NULL));
}

static void semver_precedence(void **state)
{
    /* semver.org §11, in ascending order */
    static const char *const chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                                        "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1",
                                        "1.1.0", "1.10.0", "2.0.0", "10.0.0", "99999999999999999999.0.0"};
    size_t n = sizeof chain / sizeof chain[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int c = mst__semver_cmp(chain[i], chain[j]);
            if ((i < j && c >= 0) || (i == j && c != 0) || (i > j && c <= 0))
                fail_msg("%s vs %s gave %d", chain[i], chain[j], c);
        }
    assert_int_equal(mst__semver_cmp("1.0.0+build.1", "1.0.0+build.2"), 0); /* build ignored */
    assert_int_equal(mst__semver_cmp("1.0.0-2", "1.0.0-10"), -1);        /* numeric identifiers */
    assert_int_equal(mst__semver_cmp("1.0.0-10", "1.0.0-9a"), -1);       /* numeric below alphanumeric */
    assert_true(mst__semver_cmp("junk", "0.0.0") < 0);                   /* invalid sorts first */
    assert_true(mst__semver_cmp("0.0.0", "junk") > 0);
}

static void expect_range(const char *range, const char *version, int want)
{
    struct mst__buf why = {0};
    int got = mst__range_contains(range, version, &why);
    if (want < 0 ? got >= 0 : got != want)
        fail_msg("range \"%s\" with %s: got %d, want %d (%s)", range, version, got, want,
                 why.data ? why.data : "");
    if (got != 1 && !why.len)
        fail_msg("range \"%s\" with %s: %d without a reason", range, version, got);
    mst__buf_free(&why);
}

static void pgxn_ranges(void **state)
{
    /* "0" is any version; a bare version means "at least" (PGXN Meta Spec) */
    expect_range("0", "0.0.0", 1);
    expect_range("0", "123.0.0-rc.1", 1);
    expect_range(" 0 ", "1.0.0", 1);
    expect_range("1.2.0", "1.2.0", 1);
    expect_range("1.2.0", "1.10.0", 1);
    expect_range("1.2.0", "1.1.9", 0);
    /* the spec's own example, ANDed */
    const char *r = ">= 1.2.0, != 1.5.0, < 2.0.0";
    expect_range(r, "1.2.0", 1);
    expect_range(r, "1.4.99", 1);
    expect_range(r, "1.5.0", 0);
    expect_range(r, "1.5.1", 1);
    expect_range(r, "2.0.0", 0);
    expect_range(r, "1.1.0", 0);
    expect_range("== 0.1.0", "0.1.0", 1);
    expect_range("== 0.1.0", "0.1.0+build7", 1);
    expect_range("== 0.1.0", "0.1.1", 0);
    expect_range("> 0.1.0", "0.1.0", 0);
    expect_range("> 0.1.0", "0.1.1-rc.1", 1);
    expect_range("<= 0.1.0", "0.1.0", 1);
    expect_range("<= 0.1.0", "0.1.1", 0);
    expect_range(">=0.1.0,<0.2.0", "0.1.5", 1); /* spaces optional */
    expect_range(">=   0.1.0 ,  <   0.2.0", "0.2.0", 0);
    /* the range; a prerelease of the bound sorts below it, as Debian's ~ does */
    expect_range(">= 0.4.0, < 0.6.0", "0.5.9", 1);
    expect_range(">= 0.4.0, < 0.6.0", "0.6.0", 0);
    expect_range(">= 0.4.0, < 0.6.0", "0.6.0-rc1", 1);
    expect_range(">= 0.4.0, < 0.6.0", "0.4.0-rc1", 0);
    /* bad ranges and versions */
    static const char *const bad[] = {"", "   ", ">= 1.2", "=> 1.0.0", ">= 1.0.0 < 2.0.0", ",", ">= 1.0.0,",
                                      "~1.0.0", "^1.0.0", "0, < 1.0.0", "= 1.0.0", ">== 1.0.0", "1.0.0 1.1.0",
                                      ">= 1.0.0,,< 2.0.0", "*", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_range(bad[i], "1.0.0", -1);
    expect_range(">= 1.0.0", "1.0", -1);

    struct mst__buf why = {0};
    assert_int_equal(mst__range_contains(">= 0.1.0, < 0.2.0", "0.2.0", &why), 0);
    assert_string_equal(why.data, "0.2.0 is outside \">= 0.1.0, < 0.2.0\" (not < 0.2.0)");
    mst__buf_free(&why);
    struct mst__range_clause c[MST__RANGE_MAX_CLAUSES];
    assert_int_equal(mst__range_parse(">= 0.1.0, != 0.1.3, <= 0.2.0-rc.1", c, MST__RANGE_MAX_CLAUSES, &why), 3);
    assert_int_equal(c[0].op, MST__RANGE_GE);
    assert_int_equal(c[1].op, MST__RANGE_NE);
    assert_int_equal(c[2].op, MST__RANGE_LE);
    assert_string_equal(c[2].version, "0.2.0-rc.1");
    assert_int_equal(mst__range_parse("1.0.0,1.0.0,1.0.0", c, 2, &why), MST_EINVAL);
    assert_non_null(strstr(why.data, "more than 2 clauses"));
    mst__buf_free(&why);
}

static const char good_manifest[] =
    "{\n"
    "  \"abi\": 1,\n"
    "  \"arch\": \"amd64\",\n"
    "  \"files\": {\n"
    "    \"doc/README.md\": \"" SHA_WORLD "\",\n"
    "    \"lora.so\": \"" SHA_HELLO "\"\n"
    "  },\n"
    "  \"format\": 1,\n"
    "  \"host\": \">= 0.1.0, < 0.2.0\",\n"
    "  \"kind\": \"so\",\n"
    "  \"name\": \"lora\",\n"
    "  \"version\": \"1.2.0\"\n"
    "}\n";

static void manifest_reads_and_writes_back(void **state)
{
    struct mst__manifest m;
    struct mst__buf why = {0}, out = {0};
    assert_int_equal(mst__manifest_parse(good_manifest, strlen(good_manifest), &m, &why), 0);
    assert_string_equal(m.name, "lora");
    assert_string_equal(m.version, "1.2.0");
    assert_string_equal(m.kind, "so");
    assert_string_equal(m.arch, "amd64");
    assert_string_equal(m.host, ">= 0.1.0, < 0.2.0");
    assert_int_equal(m.abi, 1);
    assert_int_equal(m.format, 1);
    assert_int_equal(m.n_files, 2);
    assert_string_equal(m.paths[0], "doc/README.md");
    assert_string_equal(m.paths[1], "lora.so");
    assert_int_equal(m.sha[1][0], 0x58);
    mst__manifest_emit(&m, &out);
    assert_string_equal(out.data, good_manifest); /* the canonical form reads back byte for byte */
    mst__manifest_free(&m);
    mst__buf_free(&out);

    /* key order and spacing in the input do not matter; files come out sorted */
    const char *shuffled = "{\"version\":\"1.2.0\",\"name\":\"lora\",\"kind\":\"so\",\"host\":\">= 0.1.0, < 0.2.0\","
                           "\"format\":1,\"files\":{\"lora.so\":\"" SHA_HELLO "\",\"doc/README.md\":\"" SHA_WORLD
                           "\"},\"arch\":\"amd64\",\"abi\":1}";
    assert_int_equal(mst__manifest_parse(shuffled, strlen(shuffled), &m, &why), 0);
    mst__manifest_emit(&m, &out);
    assert_string_equal(out.data, good_manifest);
    mst__manifest_free(&m);
    mst__buf_free(&out);
    mst__buf_free(&why);
}

/* good_manifest with `from` replaced by `to`, refused with `reason` in why */
static void expect_refused(const char *from, const char *to, const char *reason)
{
    const char *at = strstr(good_manifest, from);
    if (!at)
        fail_msg("\"%s\" is not in the manifest", from);
    char *text = mst__xasprintf("%.*s%s%s", (int)(at - good_manifest), good_manifest, to, at + strlen(from));
    struct mst__manifest m;
    struct mst__buf why = {0};
    int rc = mst__manifest_parse(text, strlen(text), &m, &why);
    if (rc != MST_EINVAL || !why.data || !strstr(why.data, reason))
        fail_msg("%s -> %s: rc %d, \"%s\" (wanted \"%s\")", from, to, rc, why.data ? why.data : "", reason);
    mst__manifest_free(&m);
    mst__buf_free(&why);
    free(text);
}

static void manifest_refusals(void **state)
{
    expect_refused("\"abi\": 1,", "\"abi\": 1, \"extra\": true,", "unknown key \"extra\"");
    expect_refused("\"abi\": 1,", "\"abi\": 1, \"abi\": 1,", "\"abi\" appears twice");
    expect_refused("\"abi\": 1,\n", "", "key \"abi\" is missing");
    expect_refused("\"abi\": 1", "\"abi\": \"1\"", "\"abi\" must be a whole number");
    expect_refused("\"abi\": 1", "\"abi\": 1.5", "\"abi\" must be a whole number");
    expect_refused("\"abi\": 1", "\"abi\": 0", "abi 0");
    expect_refused("\"format\": 1", "\"format\": 2", "format 2 is not known");
    expect_refused("\"name\": \"lora\"", "\"name\": \"lo/ra\"", "name \"lo/ra\"");
    expect_refused("\"name\": \"lora\"", "\"name\": 7", "\"name\" must be a string");
    expect_refused("\"version\": \"1.2.0\"", "\"version\": \"1.2\"", "version \"1.2\"");
    expect_refused("\"kind\": \"so\"", "\"kind\": \"dll\"", "kind \"dll\"");
    expect_refused("\"arch\": \"amd64\"", "\"arch\": \"all\"", "does not fit kind");
    expect_refused("\"arch\": \"amd64\"", "\"arch\": \"AMD64\"", "not a Debian architecture");
    expect_refused("\">= 0.1.0, < 0.2.0\"", "\">= 0.1\"", "host: range");
    expect_refused("\"lora.so\"", "\"lora2.so\"", "no lora.so");
    expect_refused("\"doc/README.md\"", "\"../README.md\"", "\"../README.md\" is not a path");
    expect_refused("\"doc/README.md\"", "\"/etc/passwd\"", "is not a path");
    expect_refused("\"doc/README.md\"", "\"doc//README.md\"", "is not a path");
    expect_refused("\"doc/README.md\"", "\"doc/./README.md\"", "is not a path");
    expect_refused("\"doc/README.md\"", "\"doc\\\\README.md\"", "is not a path");
    expect_refused("\"doc/README.md\"", "\"manifest.json\"", "is not a path");
    expect_refused("\"doc/README.md\"", "\"manifest.json.alice.minisig\"", "is not a path");
    expect_refused("\"doc/README.md\"", "\"lora.so\"", "\"lora.so\" is listed twice");
    expect_refused(SHA_HELLO, "5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03", "64 lower-case hex");
    expect_refused(SHA_HELLO, "5891b5", "64 lower-case hex");
    expect_refused("\"files\": {", "\"files\": [], \"x\": {", "unknown key \"x\"");
    expect_refused("}\n", "} []\n", "text after its object");
    expect_refused("\"name\": \"lora\"", "\"name\": \"lora\\u0000x\"", "NUL");
    expect_refused("{", "[", "not JSON");

    struct mst__manifest m;
    struct mst__buf why = {0};
    assert_int_equal(mst__manifest_parse("[1]", 3, &m, &why), MST_EINVAL);
    assert_non_null(strstr(why.data, "one JSON object"));
    mst__buf_free(&why);
    const char *no_files = "{\"abi\":1,\"arch\":\"all\",\"files\":{},\"format\":1,\"host\":\"0\",\"kind\":\"lua\","
                           "\"name\":\"x\",\"version\":\"1.0.0\"}";
    assert_int_equal(mst__manifest_parse(no_files, strlen(no_files), &m, &why), MST_EINVAL);
    assert_non_null(strstr(why.data, "1 to 4096 files"));
    assert_null(m.name); /* nothing half-read is left behind */
    assert_int_equal(m.n_files, 0);
    mst__buf_free(&why);
}

static void put(const char *dir, const char *rel, const char *text)
{
    char *path = mst__path_join(dir, rel);
    char *parent = mst__dirname(path);
    assert_int_equal(mst__mkdirs(parent, 0755), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(parent);
    free(path);
}

static void set_mtime(const char *dir, const char *rel, long sec)
{
    char *path = mst__path_join(dir, rel);
    struct timeval tv[2] = {{sec, 0}, {sec, 0}};
    assert_int_equal(utimes(path, tv), 0);
    free(path);
}

static const struct mst__manifest lora_meta = {
    .abi = 1, .name = "lora", .version = "1.2.0", .kind = "so", .host = ">= 0.1.0, < 0.2.0", .arch = "amd64",
};

static void manifest_write_is_reproducible(void **state)
{
    char *a = make_tmpdir(), *b = make_tmpdir();
    /* the same files, made in another order with other mtimes and modes */
    put(a, "lora.so", "hello\n");
    put(a, "doc/README.md", "world\n");
    put(b, "doc/README.md", "world\n");
    put(b, "lora.so", "hello\n");
    set_mtime(b, "lora.so", 1000);
    set_mtime(b, "doc/README.md", 2000000000);
    char *mode = mst__path_join(b, "lora.so");
    chmod(mode, 0600);
    free(mode);
    /* what the manifest never lists: itself and its signatures */
    put(a, "manifest.json", "old");
    put(a, "manifest.json.minisig", "sig");
    put(b, "manifest.json.region-2027.minisig", "sig");

    struct mst__buf out1 = {0}, out2 = {0}, out3 = {0}, why = {0};
    assert_int_equal(mst__manifest_write(a, &lora_meta, &out1, &why), 0);
    assert_int_equal(mst__manifest_write(a, &lora_meta, &out2, &why), 0);
    assert_int_equal(mst__manifest_write(b, &lora_meta, &out3, &why), 0);
    assert_string_equal(out1.data, good_manifest);
    assert_string_equal(out2.data, good_manifest);
    assert_string_equal(out3.data, good_manifest);
    mst__buf_free(&out1);

    /* no entry point, a bad meta, a symlink: refused with a sentence */
    struct mst__manifest meta = lora_meta;
    meta.name = "other";
    assert_int_equal(mst__manifest_write(a, &meta, &out1, &why), MST_EINVAL);
    assert_non_null(strstr(why.data, "no other.so"));
    mst__buf_free(&why);
    meta = lora_meta;
    meta.host = "any";
    assert_int_equal(mst__manifest_write(a, &meta, &out1, &why), MST_EINVAL);
    assert_non_null(strstr(why.data, "host: "));
    mst__buf_free(&why);
    char *link = mst__path_join(a, "doc/link");
    assert_int_equal(symlink("/etc/passwd", link), 0);
    assert_int_equal(mst__manifest_write(a, &lora_meta, &out1, &why), MST_EINVAL);
    assert_string_equal(why.data, "doc/link is a symbolic link: a bundle holds only regular files and folders");
    mst__buf_free(&why);
    free(link);
    mst__buf_free(&out1);
    mst__buf_free(&out2);
    mst__buf_free(&out3);
    remove_tmpdir(a);
    remove_tmpdir(b);
}

static int check_dir(const char *dir, struct mst__buf *why)
{
    struct mst__manifest m;
    struct mst__buf perr = {0};
    assert_int_equal(mst__manifest_parse(good_manifest, strlen(good_manifest), &m, &perr), 0);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    int rc = mst__bundle_check_files(fd, &m, why);
    close(fd);
    mst__manifest_free(&m);
    return rc;
}

static void folder_against_manifest(void **state)
{
    char *d = make_tmpdir();
    put(d, "lora.so", "hello\n");
    put(d, "doc/README.md", "world\n");
    put(d, "manifest.json", good_manifest);
    put(d, "manifest.json.minisig", "not checked here");
    struct mst__buf why = {0};
    assert_int_equal(check_dir(d, &why), 0);
    assert_int_equal(why.len, 0);

    put(d, "lora.so", "hellO\n"); /* a flipped byte */
    assert_int_equal(check_dir(d, &why), MST_EPERM);
    assert_string_equal(why.data, "lora.so differs from the manifest (SHA-256 mismatch)");
    mst__buf_free(&why);
    put(d, "lora.so", "hello\n");

    put(d, "doc/extra.md", "x"); /* an unlisted file */
    assert_int_equal(check_dir(d, &why), MST_EPERM);
    assert_string_equal(why.data, "doc/extra.md is in the folder but not in the manifest");
    mst__buf_free(&why);
    char *p = mst__path_join(d, "doc/extra.md");
    unlink(p);
    free(p);

    p = mst__path_join(d, "doc/README.md"); /* a missing file */
    unlink(p);
    free(p);
    assert_int_equal(check_dir(d, &why), MST_EPERM);
    assert_string_equal(why.data, "doc/README.md is listed in the manifest but missing");
    mst__buf_free(&why);

    /* a symlink where the file was, even to the right bytes */
    p = mst__path_join(d, "doc/README.md");
    char *outside = make_tmpdir();
    put(outside, "README.md", "world\n");
    char *real = mst__path_join(outside, "README.md");
    assert_int_equal(symlink(real, p), 0);
    assert_int_equal(check_dir(d, &why), MST_EINVAL);
    assert_string_equal(why.data, "doc/README.md is a symbolic link: a bundle holds only regular files and folders");
    mst__buf_free(&why);
    unlink(p);
    free(p);
    /* a symlinked folder */
    char *doc = mst__path_join(d, "doc");
    assert_int_equal(rmdir(doc), 0);
    assert_int_equal(symlink(outside, doc), 0);
    assert_int_equal(check_dir(d, &why), MST_EINVAL);
    assert_non_null(strstr(why.data, "doc is a symbolic link"));
    mst__buf_free(&why);
    unlink(doc);
    put(d, "doc/README.md", "world\n");
    /* a FIFO */
    char *fifo = mst__path_join(d, "pipe");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    assert_int_equal(check_dir(d, &why), MST_EINVAL);
    assert_string_equal(why.data, "pipe is a FIFO: a bundle holds only regular files and folders");
    mst__buf_free(&why);
    unlink(fifo);
    /* a name no manifest could list */
    put(d, "doc/has space.md", "x");
    assert_int_equal(check_dir(d, &why), MST_EINVAL);
    assert_non_null(strstr(why.data, "\"doc/has space.md\": a bundle's file names are"));
    mst__buf_free(&why);
    p = mst__path_join(d, "doc/has space.md");
    unlink(p);
    free(p);
    /* a signature of another name is a file like any other */
    put(d, "other.minisig", "x");
    assert_int_equal(check_dir(d, &why), MST_EPERM);
    assert_non_null(strstr(why.data, "other.minisig is in the folder"));
    mst__buf_free(&why);
    p = mst__path_join(d, "other.minisig");
    unlink(p);
    free(p);
    assert_int_equal(check_dir(d, &why), 0);

    free(fifo);
    free(doc);
    free(real);
    remove_tmpdir(outside);
    remove_tmpdir(d);
}

static void meta_file_names(void **state)
{
    assert_true(mst__bundle_is_meta_file("manifest.json"));
    assert_true(mst__bundle_is_meta_file("manifest.json.minisig"));
    assert_true(mst__bundle_is_meta_file("manifest.json.region-2027.minisig"));
    assert_false(mst__bundle_is_meta_file("manifest.json..minisig"));
    assert_false(mst__bundle_is_meta_file("manifest.json.a.b.minisig"));
    assert_false(mst__bundle_is_meta_file("manifest.jsonx"));
    assert_false(mst__bundle_is_meta_file("lora.so.minisig"));
}

static void latest_version_folder(void **state)
{
    char *d = make_tmpdir();
    char *v = NULL;
    assert_int_equal(mst__bundle_latest(d, &v), MST_ENOENT);
    assert_null(v);
    static const char *const dirs[] = {"1.0.0", "1.9.0", "1.10.0", "1.10.0-rc.1", "01.99.0", "latest", "2.0.0-rc.1"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char *p = mst__path_join(d, dirs[i]);
        assert_int_equal(mkdir(p, 0755), 0);
        free(p);
    }
    assert_int_equal(mst__bundle_latest(d, &v), 0);
    assert_string_equal(v, "2.0.0-rc.1"); /* a prerelease of 2.0.0 is above every 1.x */
    free(v);
    char *p = mst__path_join(d, "2.0.0-rc.1");
    rmdir(p);
    free(p);
    assert_int_equal(mst__bundle_latest(d, &v), 0);
    assert_string_equal(v, "1.10.0");
    free(v);
    char *missing = mst__path_join(d, "nothing-here");
    assert_int_equal(mst__bundle_latest(missing, &v), MST_ENOENT);
    free(missing);
    remove_tmpdir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(semver_validity),
        cmocka_unit_test(semver_precedence),
        cmocka_unit_test(pgxn_ranges),
        cmocka_unit_test(manifest_reads_and_writes_back),
        cmocka_unit_test(manifest_refusals),
        cmocka_unit_test(manifest_write_is_reproducible),
        cmocka_unit_test(folder_against_manifest),
        cmocka_unit_test(meta_file_names),
        cmocka_unit_test(latest_version_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
