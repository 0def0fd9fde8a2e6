/* http_listen.c - node.http.listen parsed, resolved and probed. */
#include "http_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mestys/error.h>

static int parse_port(const char *s, int *port)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

/* Splits "host:port" / "[v6]:port" into host (brackets dropped) and port text. */
static int split(const char *text, char *host, size_t hostlen, const char **port)
{
    const char *end;
    if (text[0] == '[') {
        end = strchr(text, ']');
        if (!end || end[1] != ':')
            return -1;
        text++;
    } else {
        end = strrchr(text, ':');
        if (!end || memchr(text, ':', (size_t)(end - text)))
            return -1; /* an IPv6 address goes in brackets */
    }
    size_t n = (size_t)(end - text);
    if (n == 0 || n >= hostlen)
        return -1;
    memcpy(host, text, n);
    host[n] = '\0';
    *port = end + (end[0] == ']' ? 2 : 1);
    return 0;
}

static void set_numeric(struct mst__listen *l, const struct sockaddr *sa, socklen_t len)
{
    memcpy(&l->sa, sa, len);
    l->sa_len = len;
    l->family = sa->sa_family;
    const void *addr = sa->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                                                 : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
    inet_ntop(sa->sa_family, addr, l->ip, sizeof l->ip);
}

int mst__listen_parse(const char *text, struct mst__listen *out, char *err, size_t errlen)
{
    char host[256];
    const char *port_text;
    memset(out, 0, sizeof *out);
    if (split(text, host, sizeof host, &port_text) != 0) {
        snprintf(err, errlen, "\"%s\" is not ADDRESS:PORT (an IPv4 address, [IPv6], a host name or *)", text);
        return MST_ECONFIG;
    }
    if (parse_port(port_text, &out->port) != 0) {
        snprintf(err, errlen, "\"%s\": the port must be a number from 1 to 65535", text);
        return MST_ECONFIG;
    }
    if (strcmp(host, "*") == 0) {
        struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
        any.sin6_port = htons((uint16_t)out->port);
        set_numeric(out, (struct sockaddr *)&any, sizeof any);
        out->ip[0] = '\0';
        out->any = 1;
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
    int rc = getaddrinfo(host, port_text, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "\"%s\": cannot resolve \"%s\": %s", text, host, gai_strerror(rc));
        return MST_ECONFIG;
    }
    set_numeric(out, res->ai_addr, res->ai_addrlen); /* the first address, as documented */
    freeaddrinfo(res);
    return 0;
}

int mst__listen_probe(const struct mst__listen *l)
{
    int fd = socket(l->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, rc = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* as the server does */
    if (bind(fd, (const struct sockaddr *)&l->sa, l->sa_len) != 0)
        rc = -errno;
    close(fd);
    return rc;
}
