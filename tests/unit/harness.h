/* harness.h - what the unit tests share: temporary directories, files,
 * and a daemon driven in-process on its own loop. */
#ifndef MST_TEST_HARNESS_H
#define MST_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "log.h"
#include "util.h"

static inline const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr, "%s is not set: run the tests through ctest\n", name);
        exit(1);
    }
    return v;
}

static inline char *make_tmpdir(void)
{
    char *dir = mst__xstrdup("/tmp/mestys-test-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    return dir;
}

static inline char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = mst__path_join(dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
    return path;
}

static inline void remove_tmpdir(char *dir)
{
    char *cmd = mst__xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
    free(dir);
}

/* A refusal: rc is code and the reason in why says `words`; why is freed
 * for the next call. */
/* Runs a shell command (a printf format), its output thrown away: the
 * tests that make keys and signatures with the real minisign. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
    struct mst__buf cmd = {0};
    va_list ap;
    va_start(ap, fmt);
    mst__buf_vprintf(&cmd, fmt, ap);
    va_end(ap);
    mst__buf_puts(&cmd, " >/dev/null 2>&1");
    int rc = system(cmd.data);
    mst__buf_free(&cmd);
    return rc;
}

static inline void assert_refused(int rc, int code, struct mst__buf *why, const char *words)
{
    assert_int_equal(rc, code);
    assert_non_null(why->data);
    if (!strstr(why->data, words))
        fail_msg("reason \"%s\" does not say \"%s\"", why->data, words);
    mst__buf_free(why);
}

/* Runs the loop until *flag becomes true or ms pass; returns *flag. */
static inline int run_until(uv_loop_t *loop, const int *flag, uint64_t ms)
{
    uint64_t end = mst__now_ns() + ms * 1000000ull;
    while (!*flag && mst__now_ns() < end)
        uv_run(loop, UV_RUN_NOWAIT), usleep(200);
    return *flag;
}

/* A bus reply, caught for a test to look at. */
struct reply {
    int status;
    char body[256];
    int done;
};

static inline void on_reply(void *arg, int status, const char *body, size_t len)
{
    struct reply *r = arg;
    r->status = status;
    snprintf(r->body, sizeof r->body, "%.*s", (int)len, body);
    r->done = 1;
}

#endif
