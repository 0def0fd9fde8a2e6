/* bench_bus - plugin-to-plugin messages through the SDK, next to raw nng
 * pub/sub inproc measured in the same run on the same machine.
 *
 *   build/tests/bench/bench_bus [count_200B] [count_16KiB]
 *   (MESTYS_BENCH_QUEUE_DEPTH sets bus.queue_depth, default 4096)
 */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "util.h"

struct result {
    double seconds;
    long received;
    long sent;
};

/* --- raw nng: one publisher thread, one subscriber thread --------------- */

struct raw {
    nng_socket sub;
    long want;
    long got;
    size_t size;
    uint64_t end_ns;
};

static void *raw_subscriber(void *arg)
{
    struct raw *r = arg;
    nng_socket_set_ms(r->sub, NNG_OPT_RECVTIMEO, 500);
    while (r->got < r->want) {
        nng_msg *msg;
        if (nng_recvmsg(r->sub, &msg, 0) != 0)
            break; /* nothing for 500 ms: the rest was dropped */
        if (nng_msg_len(msg) == r->size)
            r->got++;
        nng_msg_free(msg);
        r->end_ns = mst__now_ns();
    }
    return NULL;
}

static struct result raw_nng(long count, size_t size)
{
    nng_socket pub, sub;
    nng_pub0_open(&pub);
    nng_sub0_open(&sub);
    nng_socket_set_int(pub, NNG_OPT_SENDBUF, 8192);
    nng_socket_set_int(sub, NNG_OPT_RECVBUF, 8192);
    nng_socket_set_size(sub, NNG_OPT_RECVMAXSZ, 0);
    nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
    nng_listen(pub, "inproc://bench-raw", NULL, 0);
    nng_dial(sub, "inproc://bench-raw", NULL, 0);
    usleep(50000);
    struct raw r = {.sub = sub, .want = count, .size = size};
    pthread_t t;
    pthread_create(&t, NULL, raw_subscriber, &r);
    char *body = mst__xcalloc(1, size);
    uint64_t start = mst__now_ns();
    for (long i = 0; i < count; i++) {
        nng_msg *msg;
        nng_msg_alloc(&msg, size);
        memcpy(nng_msg_body(msg), body, size);
        nng_sendmsg(pub, msg, 0);
    }
    pthread_join(t, NULL);
    free(body);
    nng_close(pub);
    nng_close(sub);
    return (struct result){(double)(r.end_ns - start) / 1e9, r.got, count};
}

/* --- through mestysd: producer and consumer plugin instances ----------- */

static struct result through_sdk(long count, size_t size)
{
    char *dir = mst__xstrdup("/tmp/mestys-bench-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char *cfg = mst__xasprintf(
        "{\"node\": {\"http\": {\"listen\": \"\"}, \"log_level\": \"warn\", \"plugin_path\": [\"%s\"]}, \"bus\": {\"queue_depth\": %s},\n"
        " \"plugins\": [\n"
        "  {\"use\": \"benchplug\", \"name\": \"consumer\", \"config\": {\"role\": \"consumer\", \"count\": %ld, \"size\": %zu}},\n"
        "  {\"use\": \"benchplug\", \"name\": \"producer\", \"config\": {\"role\": \"producer\", \"count\": %ld, \"size\": %zu}}]}\n",
        MESTYS_BENCH_PLUGIN_DIR, getenv("MESTYS_BENCH_QUEUE_DEPTH") ? getenv("MESTYS_BENCH_QUEUE_DEPTH") : "4096",
        count, size, count, size);
    char *path = mst__path_join(dir, "mestys.json");
    FILE *f = fopen(path, "w");
    fputs(cfg, f);
    fclose(f);
    struct mst__daemon d;
    struct mst__diag diag = {0};
    if (mst__daemon_init(&d, path, &diag) != 0) {
        fprintf(stderr, "%s", diag.text.data);
        exit(1);
    }
    mst__diag_free(&diag);
    struct mst_metric *received;
    mst__metrics_get(&d.metrics, MST_METRIC_GAUGE, "mestys_benchplug_received", NULL,
                     "plugin=\"benchplug\",instance=\"consumer\"", &received);
    uint64_t start = mst__now_ns();
    if (mst__daemon_start(&d) != 0)
        exit(1);
    uint64_t deadline = start + 60000000000ull;
    while (received->value < (double)count && mst__now_ns() < deadline)
        uv_run(&d.loop, UV_RUN_ONCE);
    double seconds = (double)(mst__now_ns() - start) / 1e9;
    long got = (long)received->value;
    mst__daemon_finish(&d);
    mst__daemon_free(&d);
    char *cmd = mst__xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
    free(path);
    free(cfg);
    free(dir);
    return (struct result){seconds, got, count};
}

#define ROUNDS 5

static int by_rate(const void *a, const void *b)
{
    const struct result *x = a, *y = b;
    double rx = x->received / x->seconds, ry = y->received / y->seconds;
    return rx < ry ? -1 : rx > ry;
}

static void line(const char *what, const char *who, size_t size, struct result *r, const char *note)
{
    qsort(r, ROUNDS, sizeof *r, by_rate);
    double med = r[ROUNDS / 2].received / r[ROUNDS / 2].seconds;
    printf("%-7s %-11s median %9.0f msg/s %8.1f MB/s  (range %.0f-%.0f msg/s; %ld of %ld delivered%s)\n", what,
           who, med, med * (double)size / 1e6, r[0].received / r[0].seconds,
           r[ROUNDS - 1].received / r[ROUNDS - 1].seconds, r[ROUNDS / 2].received, r[ROUNDS / 2].sent, note);
}

/* Each measurement in a fresh child process: a million small messages
 * leave the heap in a shape that slows the next run's 16-KiB allocations,
 * which would measure the order of the runs, not the bus. */
static struct result isolated(struct result (*fn)(long, size_t), long count, size_t size)
{
    int fds[2];
    struct result r = {0};
    if (pipe(fds) != 0)
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        r = fn(count, size);
        if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &r, sizeof r) != (ssize_t)sizeof r)
        r = (struct result){1, 0, count};
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return r;
}

/* Alternates the two, ROUNDS times, so both see the same machine. */
static void compare(const char *what, long count, size_t size)
{
    struct result sdk[ROUNDS], raw[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        raw[i] = isolated(raw_nng, count, size);
        sdk[i] = isolated(through_sdk, count, size);
    }
    line(what, "mestys SDK", size, sdk, "");
    line(what, "raw nng", size, raw, ", pub/sub inproc, same run");
    double s = sdk[ROUNDS / 2].received / sdk[ROUNDS / 2].seconds;
    double r = raw[ROUNDS / 2].received / raw[ROUNDS / 2].seconds;
    printf("%-7s ratio       %5.0f%% of raw nng, medians (target: at least 70%%)\n\n", what, 100.0 * s / r);
}

int main(int argc, char **argv)
{
    long small = argc > 1 ? atol(argv[1]) : 1000000;
    long large = argc > 2 ? atol(argv[2]) : 100000;
    mst__log_set_level(MST_LOG_WARN);
    printf("bench_bus: plugin-to-plugin through the host table vs raw nng pub/sub inproc, %d rounds each\n\n",
           ROUNDS);
    compare("200 B", small, 200);
    compare("16 KiB", large, 16384);
    return 0;
}
