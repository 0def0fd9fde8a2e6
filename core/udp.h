/* udp.h - plugin UDP sockets on the loop, with recvmmsg so a burst of
 * datagrams costs one system call, and a large kernel receive buffer so a
 * burst from many gateways is not dropped before the loop gets to it. */
#ifndef MST__UDP_H
#define MST__UDP_H

#include <uv.h>

#include <mestys/host.h>

#include "list.h"

/* On failure, why (why_len bytes) says what the system said, e.g.
 * "Address already in use"; the caller names the address. */
int mst__udp_bind(uv_loop_t *loop, struct mst__list *owner_sockets, const char *address, uint16_t port,
                  size_t rcvbuf, mst_udp_cb cb, void *arg, mst_udp **out, char *why, size_t why_len);
int mst__udp_send(mst_udp *sock, const struct sockaddr *to, const void *data, size_t len);
void mst__udp_close(mst_udp *sock);
void mst__udp_close_all(struct mst__list *owner_sockets);
int mst__udp_port(mst_udp *sock);
/* Adds the datagrams the kernel drops on this socket (its receive queue
 * full) to `drops`, a counter. */
void mst__udp_count_drops(mst_udp *sock, struct mst_metric *drops);

#endif
