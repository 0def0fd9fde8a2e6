/* http_listen.h - node.http.listen: the address the HTTP server binds,
 * parsed and resolved without libwebsockets, so `mestys check` and the
 * daemon read it the same way. */
#ifndef MST__HTTP_LISTEN_H
#define MST__HTTP_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

struct mst__listen {
    int any;                  /* "*:PORT": every interface, IPv6 and IPv4 */
    int family;               /* AF_INET or AF_INET6 (AF_INET6 when any) */
    char ip[64];              /* numeric address, "" when any */
    int port;                 /* 1-65535 */
    struct sockaddr_storage sa;
    socklen_t sa_len;
};

/* Parses "IPv4:PORT", "[IPv6]:PORT", "host.name:PORT" or "*:PORT".  A host
 * name is resolved now (getaddrinfo) and its first address is taken.
 * MST_ECONFIG with a message in err when the text does not parse, the
 * port is outside 1-65535, or the name does not resolve. */
int mst__listen_parse(const char *text, struct mst__listen *out, char *err, size_t errlen);

/* Binds a throw-away socket to the address: 0, or -errno (EADDRNOTAVAIL:
 * not an address of this machine; EADDRINUSE: someone listens there). */
int mst__listen_probe(const struct mst__listen *l);

#endif
