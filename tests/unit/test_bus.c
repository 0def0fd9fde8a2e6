/* test_bus.c - the bus on a real loop: pub/sub, req/rep, timeouts,
 * backpressure, and the topic ACL through the host table. */
#include "harness.h"

#include "bus.h"

struct fixture {
    uv_loop_t loop;
    struct mst__metrics metrics;
    struct mst__bus bus;
};

static struct fixture *open_bus(size_t queue_depth)
{
    struct fixture *f = mst__xcalloc(1, sizeof *f);
    uv_loop_init(&f->loop);
    mst__metrics_init(&f->metrics);
    struct mst__bus_opts o = {.node_name = "test", .queue_depth = queue_depth, .request_timeout_ms = 1000};
    char err[256];
    assert_int_equal(mst__bus_init(&f->bus, &f->loop, &f->metrics, &o, err, sizeof err), 0);
    return f;
}

static void close_bus(struct fixture *f)
{
    mst__bus_close(&f->bus);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    mst__metrics_free(&f->metrics);
    free(f);
}

struct inbox {
    int count;
    char last_topic[64];
    char last_body[256];
    int done;
    int want;
};

static void on_message(void *arg, const char *topic, const char *body, size_t len)
{
    struct inbox *in = arg;
    in->count++;
    snprintf(in->last_topic, sizeof in->last_topic, "%s", topic);
    snprintf(in->last_body, sizeof in->last_body, "%.*s", (int)len, body);
    in->done = in->count >= in->want;
}

static double metric(struct fixture *f, const char *name, const char *labels)
{
    struct mst_metric *m;
    assert_int_equal(mst__metrics_get(&f->metrics, MST_METRIC_COUNTER, name, NULL, labels, &m), 0);
    return m->value;
}

static void pubsub_patterns(void **state)
{
    (void)state;
    struct fixture *f = open_bus(0);
    struct inbox exact = {.want = 1}, prefix = {.want = 2}, all = {.want = 3};
    int owner;
    assert_int_equal(mst__bus_subscribe(&f->bus, &owner, "lora/uplink", on_message, &exact, NULL), 0);
    assert_int_equal(mst__bus_subscribe(&f->bus, &owner, "lora/#", on_message, &prefix, NULL), 0);
    assert_int_equal(mst__bus_subscribe(&f->bus, &owner, "#", on_message, &all, NULL), 0);
    assert_int_equal(mst__bus_subscribe(&f->bus, &owner, "bad//topic", on_message, &all, NULL), MST_EINVAL);
    assert_int_equal(mst__bus_publish(&f->bus, "lora/uplink", "{\"f\":1}", 7), 0);
    assert_int_equal(mst__bus_publish(&f->bus, "lora/gateway", "{}", 2), 0);
    assert_int_equal(mst__bus_publish(&f->bus, "reading", "[]", 2), 0);
    assert_true(run_until(&f->loop, &all.done, 2000));
    assert_int_equal(exact.count, 1);
    assert_int_equal(prefix.count, 2);
    assert_int_equal(all.count, 3);
    assert_string_equal(exact.last_body, "{\"f\":1}");
    assert_string_equal(all.last_topic, "reading");
    assert_int_equal(metric(f, "mestys_bus_messages_total", "topic=\"lora/uplink\""), 1);
    assert_int_equal(metric(f, "mestys_bus_bytes_total", "topic=\"lora/uplink\""), 7);
    /* unsubscribing stops delivery */
    assert_int_equal(mst__bus_unsubscribe(&f->bus, &owner, "#"), 0);
    assert_int_equal(mst__bus_publish(&f->bus, "reading", "[]", 2), 0);
    exact.done = 0;
    assert_int_equal(mst__bus_publish(&f->bus, "lora/uplink", "x", 1), 0);
    assert_true(run_until(&f->loop, &exact.done, 2000));
    assert_int_equal(all.count, 3);
    close_bus(f);
}

static void serve_upper(void *arg, mst_request *req, const char *topic, const char *body, size_t len)
{
    char out[256];
    for (size_t i = 0; i < len && i < sizeof out; i++)
        out[i] = (char)(body[i] >= 'a' && body[i] <= 'z' ? body[i] - 32 : body[i]);
    mst__bus_respond(req, 0, out, len);
}

static mst_request *held;
static void serve_never(void *arg, mst_request *req, const char *topic, const char *body, size_t len)
{
    held = req;
}

static void request_reply(void **state)
{
    (void)state;
    struct fixture *f = open_bus(0);
    int owner;
    assert_int_equal(mst__bus_serve(&f->bus, &owner, "store/query", serve_upper, NULL), 0);
    assert_int_equal(mst__bus_serve(&f->bus, &owner, "store/query", serve_upper, NULL), MST_EEXIST);
    struct reply r = {0};
    assert_int_equal(mst__bus_request(&f->bus, &owner, "store/query", "brno", 4, 0, on_reply, &r), 0);
    assert_true(run_until(&f->loop, &r.done, 2000));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.body, "BRNO");
    /* no server: refused at once, the callback is never called */
    struct reply none = {0};
    assert_int_equal(mst__bus_request(&f->bus, &owner, "nobody/serves", "x", 1, 0, on_reply, &none),
                     MST_ENOSERVER);
    close_bus(f);
    assert_int_equal(none.done, 0);
}

static void request_timeout_and_owner_drop(void **state)
{
    (void)state;
    struct fixture *f = open_bus(0);
    int server, client;
    assert_int_equal(mst__bus_serve(&f->bus, &server, "slow", serve_never, NULL), 0);
    struct reply r = {0};
    assert_int_equal(mst__bus_request(&f->bus, &client, "slow", "x", 1, 50, on_reply, &r), 0);
    assert_true(run_until(&f->loop, &r.done, 2000));
    assert_int_equal(r.status, MST_ETIMEDOUT);
    assert_non_null(held);
    /* the serving instance goes away: what it held is answered for it */
    struct reply r2 = {0};
    assert_int_equal(mst__bus_request(&f->bus, &client, "slow", "y", 1, 2000, on_reply, &r2), 0);
    int one = 0;
    run_until(&f->loop, &one, 100);
    mst__bus_drop_owner(&f->bus, &server);
    assert_true(run_until(&f->loop, &r2.done, 2000));
    assert_int_equal(r2.status, MST_ECLOSED);
    assert_non_null(strstr(r2.body, "stopped"));
    close_bus(f);
}

/* Served on this node, a request never crosses nng; what a plugin sees must
 * not change: the server sees the query on a later loop turn than request(),
 * the requester its reply on a later turn than respond(); an answer after
 * the timeout, or to a requester that went away, goes nowhere. */
static int serving_now;
static void serve_inline_check(void *arg, mst_request *req, const char *topic, const char *body, size_t len)
{
    struct reply *r = arg;
    assert_int_equal(serving_now, 0); /* not from inside request() */
    serving_now = 1;
    int before = r->done;
    mst__bus_respond(req, 0, body, len);
    assert_int_equal(r->done, before); /* not from inside respond() */
    serving_now = 0;
}

static void local_requests_stay_asynchronous(void **state)
{
    (void)state;
    struct fixture *f = open_bus(0);
    int server, client, gone;
    struct reply r = {0};
    assert_int_equal(mst__bus_serve(&f->bus, &server, "echo", serve_inline_check, &r), 0);
    serving_now = 1;
    assert_int_equal(mst__bus_request(&f->bus, &client, "echo", "ahoj", 4, 0, on_reply, &r), 0);
    serving_now = 0;
    assert_int_equal(r.done, 0);
    assert_true(run_until(&f->loop, &r.done, 2000));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.body, "ahoj");
    /* a reply after the timeout is dropped, and the held request freed */
    assert_int_equal(mst__bus_serve(&f->bus, &server, "late", serve_never, NULL), 0);
    struct reply late = {0};
    held = NULL;
    assert_int_equal(mst__bus_request(&f->bus, &client, "late", "x", 1, 20, on_reply, &late), 0);
    assert_true(run_until(&f->loop, &late.done, 2000));
    assert_int_equal(late.status, MST_ETIMEDOUT);
    assert_non_null(held);
    assert_int_equal(mst__bus_respond(held, 0, "too late", 8), 0);
    int one = 0;
    run_until(&f->loop, &one, 50);
    assert_int_equal(late.done, 1);
    /* a requester that went away gets nothing */
    struct reply lost = {0};
    assert_int_equal(mst__bus_request(&f->bus, &gone, "echo", "y", 1, 0, on_reply, &lost), 0);
    mst__bus_drop_owner(&f->bus, &gone);
    run_until(&f->loop, &one, 100);
    assert_int_equal(lost.done, 0);
    close_bus(f);
}

static void backpressure_refuses_and_counts(void **state)
{
    (void)state;
    struct fixture *f = open_bus(16);
    struct inbox in = {.want = 16};
    int owner;
    assert_int_equal(mst__bus_subscribe(&f->bus, &owner, "reading", on_message, &in, NULL), 0);
    int ok = 0, again = 0;
    for (int i = 0; i < 100; i++) {
        int rc = mst__bus_publish(&f->bus, "reading", "{}", 2);
        if (rc == 0)
            ok++;
        else if (rc == MST_EAGAIN)
            again++;
    }
    assert_int_equal(ok, 16);
    assert_int_equal(again, 84);
    assert_int_equal(metric(f, "mestys_bus_backpressure_total", "topic=\"reading\""), 84);
    assert_true(run_until(&f->loop, &in.done, 2000));
    assert_int_equal(in.count, 16);
    /* once delivered, the queue has room again */
    assert_int_equal(mst__bus_publish(&f->bus, "reading", "{}", 2), 0);
    assert_int_equal(metric(f, "mestys_bus_dropped_total", "topic=\"reading\""), 0);
    close_bus(f);
}

static void oversized_and_invalid(void **state)
{
    (void)state;
    struct fixture *f = open_bus(0);
    char *big = mst__xcalloc(1, (4u << 20) + 1);
    assert_int_equal(mst__bus_publish(&f->bus, "reading", big, (4u << 20) + 1), MST_ETOOBIG);
    free(big);
    close_bus(f);
}

int main(void)
{
    mst__log_set_level(MST_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pubsub_patterns),
        cmocka_unit_test(request_reply),
        cmocka_unit_test(request_timeout_and_owner_drop),
        cmocka_unit_test(local_requests_stay_asynchronous),
        cmocka_unit_test(backpressure_refuses_and_counts),
        cmocka_unit_test(oversized_and_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
