/* test_trust_path.c - the permission walk before a load (core/trust_path.c):
 * a good path passes; a writable parent, a group- or other-writable file, a
 * symbolic link, a file of another user, a FIFO are refused, naming the
 * culprit.  The files live under the build folder, whose parents are safe
 * (a folder under /tmp never is: /tmp is writable by others). */
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <mestys/error.h>

#include "trust_path.h"

static char *root; /* a fresh folder under MESTYS_BUILD_DIR, mode 0755 */

static int setup(void **state)
{
    char *real = realpath(env_or_fail("MESTYS_BUILD_DIR"), NULL);
    if (!real)
        return -1;
    root = mst__xasprintf("%s/trust-path-test-XXXXXX", real);
    free(real);
    if (!mkdtemp(root) || chmod(root, 0755) != 0)
        return -1;
    umask(022);
    return 0;
}

static int teardown(void **state)
{
    remove_tmpdir(root);
    return 0;
}

static char *made(const char *rel, const char *text, mode_t mode)
{
    char *path = mst__path_join(root, rel);
    char *dir = mst__dirname(path);
    assert_int_equal(mst__mkdirs(dir, 0755), 0);
    free(dir);
    free(write_file(root, rel, text));
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void assert_refused(int rc, int code, struct mst__buf *why, const char *words)
{
    assert_int_equal(rc, code);
    assert_non_null(why->data);
    if (!strstr(why->data, words))
        fail_msg("reason \"%s\" does not say \"%s\"", why->data, words);
    mst__buf_free(why);
}

static void good_path_passes_and_opens(void **state)
{
    struct mst__buf why = {0};
    char *file = made("good/lora/1.2.0/lora.so", "bytes", 0644);
    assert_int_equal(mst__path_safe(file, geteuid(), &why), 0);
    char *dir = mst__dirname(file);
    assert_int_equal(mst__path_safe(dir, geteuid(), &why), 0); /* a bundle folder */
    assert_int_equal(mst__path_safe("/", geteuid(), &why), 0);
    assert_null(why.data);
    struct stat st, by_path;
    int fd = mst__open_safe(file, geteuid(), &st, &why);
    assert_true(fd >= 0);
    assert_int_equal(stat(file, &by_path), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_ino, by_path.st_ino);
    assert_int_equal(st.st_size, 5);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
    char buf[8] = "";
    assert_int_equal(read(fd, buf, sizeof buf), 5);
    assert_string_equal(buf, "bytes");
    close(fd);
    /* a folder opens too (for a bundle's dirfd) */
    fd = mst__open_safe(dir, geteuid(), &st, &why);
    assert_true(fd >= 0);
    assert_true(S_ISDIR(st.st_mode));
    close(fd);
    /* read-only and group-readable are fine: only write bits count */
    assert_int_equal(chmod(file, 0444), 0);
    assert_int_equal(mst__path_safe(file, geteuid(), &why), 0);
    free(dir);
    free(file);
}

static void writable_parent_is_refused(void **state)
{
    struct mst__buf why = {0};
    struct stat st;
    char *file = made("parent/lora/1.2.0/lora.so", "x", 0644);
    char *parent = mst__path_join(root, "parent/lora");
    assert_int_equal(chmod(parent, 0775), 0);
    char *expect = mst__xasprintf("unsafe folder %s: writable by its group (mode 0775)", parent);
    assert_refused(mst__path_safe(file, geteuid(), &why), MST_EPERM, &why, expect);
    assert_refused(mst__open_safe(file, geteuid(), &st, &why), MST_EPERM, &why, expect);
    free(expect);
    /* sticky and world-writable (as /tmp) is refused too, as ssh does */
    assert_int_equal(chmod(parent, 01777), 0);
    expect = mst__xasprintf("unsafe folder %s: writable by others (mode 1777)", parent);
    assert_refused(mst__path_safe(file, geteuid(), &why), MST_EPERM, &why, expect);
    free(expect);
    /* so is anything under /tmp */
    char *tmp = make_tmpdir();
    chmod(tmp, 0755);
    char *in_tmp = write_file(tmp, "f", "x");
    assert_refused(mst__path_safe(in_tmp, geteuid(), &why), MST_EPERM, &why, "unsafe folder /tmp: writable by others");
    free(in_tmp);
    remove_tmpdir(tmp);
    free(parent);
    free(file);
}

static void writable_file_is_refused(void **state)
{
    struct mst__buf why = {0};
    struct stat st;
    char *file = made("file/lora.so", "x", 0664);
    char *expect = mst__xasprintf("unsafe file %s: writable by its group (mode 0664)", file);
    assert_refused(mst__path_safe(file, geteuid(), &why), MST_EPERM, &why, expect);
    assert_refused(mst__open_safe(file, geteuid(), &st, &why), MST_EPERM, &why, expect);
    free(expect);
    assert_int_equal(chmod(file, 0646), 0);
    assert_refused(mst__path_safe(file, geteuid(), &why), MST_EPERM, &why, "writable by others (mode 0646)");
    free(file);
}

static void symbolic_link_is_refused(void **state)
{
    struct mst__buf why = {0};
    struct stat st;
    char *target = made("link/real.so", "x", 0644);
    char *link = mst__path_join(root, "link/lora.so");
    assert_int_equal(symlink(target, link), 0);
    char *expect = mst__xasprintf("unsafe path %s: a symbolic link", link);
    assert_refused(mst__path_safe(link, geteuid(), &why), MST_EPERM, &why, expect);
    assert_refused(mst__open_safe(link, geteuid(), &st, &why), MST_EPERM, &why, expect);
    free(expect);
    /* a link among the folders (a path not resolved by realpath) */
    char *dirlink = mst__path_join(root, "dirlink");
    char *linkdir = mst__path_join(root, "link");
    assert_int_equal(symlink(linkdir, dirlink), 0);
    char *through = mst__path_join(dirlink, "real.so");
    expect = mst__xasprintf("unsafe path: %s is a symbolic link", dirlink);
    assert_refused(mst__path_safe(through, geteuid(), &why), MST_EPERM, &why, expect);
    assert_refused(mst__open_safe(through, geteuid(), &st, &why), MST_EPERM, &why, expect);
    free(expect);
    free(through);
    free(linkdir);
    free(dirlink);
    free(link);
    free(target);
}

/* As root, chown gives the file to another uid; as anyone else, the file is
 * ours but the daemon's uid is said to be another one: the same rule. */
static void file_of_another_user_is_refused(void **state)
{
    struct mst__buf why = {0};
    struct stat st;
    char *file = made("owner/lora.so", "x", 0644);
    uid_t self = geteuid(), owner = 4242;
    if (self == 0)
        assert_int_equal(chown(file, owner, (gid_t)-1), 0);
    else
        owner = self, self = self + 1;
    char *expect = mst__xasprintf("unsafe file %s: owned by uid %u, not by root or uid %u", file, (unsigned)owner,
                                  (unsigned)self);
    assert_refused(mst__path_safe(file, self, &why), MST_EPERM, &why, expect);
    assert_refused(mst__open_safe(file, self, &st, &why), MST_EPERM, &why, expect);
    free(expect);
    /* the daemon's own user may own it */
    assert_int_equal(mst__path_safe(file, owner, &why), 0);
    free(file);
}

static void other_kinds_and_missing_files(void **state)
{
    struct mst__buf why = {0};
    struct stat st;
    char *fifo = mst__path_join(root, "fifo.so");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    char *expect = mst__xasprintf("unsafe path %s: not a regular file or folder", fifo);
    assert_refused(mst__path_safe(fifo, geteuid(), &why), MST_EPERM, &why, expect);
    /* opened without blocking on the absent writer, then refused */
    assert_refused(mst__open_safe(fifo, geteuid(), &st, &why), MST_EPERM, &why, expect);
    free(expect);
    char *missing = mst__path_join(root, "missing/lora.so");
    expect = mst__xasprintf("%s: No such file or directory", missing);
    assert_refused(mst__path_safe(missing, geteuid(), &why), MST_ENOENT, &why, expect);
    assert_refused(mst__open_safe(missing, geteuid(), &st, &why), MST_ENOENT, &why, expect);
    free(expect);
    assert_refused(mst__path_safe("relative/lora.so", geteuid(), &why), MST_EPERM, &why, "not absolute");
    assert_refused(mst__open_safe("lora.so", geteuid(), &st, &why), MST_EPERM, &why, "not absolute");
    free(missing);
    free(fifo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_path_passes_and_opens),
        cmocka_unit_test(writable_parent_is_refused),
        cmocka_unit_test(writable_file_is_refused),
        cmocka_unit_test(symbolic_link_is_refused),
        cmocka_unit_test(file_of_another_user_is_refused),
        cmocka_unit_test(other_kinds_and_missing_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
