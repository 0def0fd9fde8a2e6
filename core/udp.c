#include "udp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include "metrics.h"
#include "util.h"

#define DGRAM_MAX 65536
#define MMSG_COUNT 32 /* datagrams per recvmmsg */

struct mst_udp {
    uv_udp_t handle;
    struct mst__list link;
    mst_udp_cb cb;
    void *arg;
    char *buf; /* one buffer, reused: recvmmsg fills it in chunks */
    int buf_busy;
    struct mst_metric *drops; /* datagrams the kernel dropped: its receive queue was full */
    uint32_t drops_seen;      /* the socket's own count when last read */
};

struct send_req {
    uv_udp_send_t req;
    char data[];
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct mst_udp *u = h->data;
    if (u->buf_busy) {
        /* libuv only asks again once the last chunk was released */
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    u->buf_busy = 1;
    buf->base = u->buf;
    buf->len = (size_t)DGRAM_MAX * MMSG_COUNT;
}

/* The kernel's count of datagrams it dropped on this socket (receive
 * queue full), into the counter.  Read after each burst: a drop means the
 * queue was full, so a burst always follows it.  libuv reads the socket
 * itself, so the SO_RXQ_OVFL control message never reaches us; SO_MEMINFO
 * gives the same sk_drops count. */
static void read_drops(struct mst_udp *u)
{
    uint32_t info[SK_MEMINFO_VARS] = {0};
    socklen_t len = sizeof info;
    uv_os_fd_t fd;
    if (!u->drops || uv_fileno((uv_handle_t *)&u->handle, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) != 0 || len <= SK_MEMINFO_DROPS * sizeof info[0])
        return;
    uint32_t now = info[SK_MEMINFO_DROPS];
    if (now != u->drops_seen)
        mst__metric_add(u->drops, (double)(uint32_t)(now - u->drops_seen));
    u->drops_seen = now;
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags)
{
    struct mst_udp *u = h->data;
    if (n > 0 && from)
        u->cb(u->arg, u, buf->base, (size_t)n, from);
    /* the buffer is ours again unless more chunks of it are coming */
    if (!(flags & UV_UDP_MMSG_CHUNK) || (flags & UV_UDP_MMSG_FREE)) {
        u->buf_busy = 0;
        read_drops(u);
    }
}

static int parse_address(const char *address, uint16_t port, struct sockaddr_storage *ss)
{
    if (uv_ip4_addr(address, port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(address, port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return MST_EINVAL;
}

int mst__udp_bind(uv_loop_t *loop, struct mst__list *owner_sockets, const char *address, uint16_t port,
                  size_t rcvbuf, mst_udp_cb cb, void *arg, mst_udp **out, char *why, size_t why_len)
{
    struct sockaddr_storage ss;
    if (!cb || !address || parse_address(address, port, &ss) != 0) {
        snprintf(why, why_len, "not an IPv4 or IPv6 address");
        return MST_EINVAL;
    }
    struct mst_udp *u = mst__xcalloc(1, sizeof *u);
    u->cb = cb;
    u->arg = arg;
    u->buf = mst__xmalloc((size_t)DGRAM_MAX * MMSG_COUNT);
    mst__list_init(&u->link);
    uv_udp_init_ex(loop, &u->handle, AF_UNSPEC | UV_UDP_RECVMMSG);
    u->handle.data = u;
    int rc = uv_udp_bind(&u->handle, (const struct sockaddr *)&ss, 0);
    if (rc == 0 && rcvbuf) {
        int size = (int)rcvbuf;
        uv_recv_buffer_size((uv_handle_t *)&u->handle, &size);
    }
    if (rc == 0)
        rc = uv_udp_recv_start(&u->handle, on_alloc, on_recv);
    if (rc != 0) {
        mst__udp_close(u);
        /* libuv's codes are -errno on Unix: say it in the system's words */
        snprintf(why, why_len, "%s", strerror(-rc));
        return mst__errno_code(-rc);
    }
    mst__list_push(owner_sockets, &u->link);
    *out = u;
    return 0;
}

static void on_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req->data);
}

int mst__udp_send(mst_udp *u, const struct sockaddr *to, const void *data, size_t len)
{
    if (!u || uv_is_closing((uv_handle_t *)&u->handle))
        return MST_ECLOSED;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_udp_try_send(&u->handle, &b, 1, to);
    if (n == (int)len)
        return 0;
    if (n != UV_EAGAIN)
        return MST_EIO;
    /* the socket is busy: queue a copy */
    struct send_req *r = mst__xmalloc(sizeof *r + len);
    memcpy(r->data, data, len);
    r->req.data = r;
    b = uv_buf_init(r->data, (unsigned)len);
    if (uv_udp_send(&r->req, &u->handle, &b, 1, to, on_sent) != 0) {
        free(r);
        return MST_EIO;
    }
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    struct mst_udp *u = h->data;
    free(u->buf);
    free(u);
}

void mst__udp_close(mst_udp *u)
{
    if (!u || uv_is_closing((uv_handle_t *)&u->handle))
        return;
    mst__list_remove(&u->link);
    uv_udp_recv_stop(&u->handle);
    uv_close((uv_handle_t *)&u->handle, on_closed);
}

void mst__udp_close_all(struct mst__list *owner_sockets)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, owner_sockets)
        mst__udp_close(mst__container_of(pos, struct mst_udp, link));
}

void mst__udp_count_drops(mst_udp *u, struct mst_metric *drops)
{
    u->drops = drops;
    u->drops_seen = 0;
    read_drops(u);
}

int mst__udp_port(mst_udp *u)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_udp_getsockname(&u->handle, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}
