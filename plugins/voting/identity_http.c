/*
 * identity_http.c - the HTTP identity hook: the town's own login service
 * says who a voter is.  The ballot is checked first; then a worker POSTs
 * the voter's "credentials" as JSON to the budget's identity_url and reads
 * the answer:
 *
 *     200 {"voter": "<stable id>"}   the voter (keyed by SHA-256 of the budget and id)
 *     anything else                  refused; {"error": "..."} is shown to the voter
 *
 * Plain HTTP/1.0 (http:// only; put the service on this host or behind a
 * TLS-terminating proxy on it), one request per ballot, identity_timeout_ms
 * for connecting, sending and the whole answer.  Back on the loop the
 * identified ballot is cast as any other.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "voting.h"

#define ANSWER_MAX 65536

struct identify {
    struct vote *v;
    struct vote_budget *b;
    mst_http_request *req;
    cJSON *body;
    struct vote_choice *c;
    size_t n;
    char *request;   /* the whole HTTP request */
    char host[256], port[8];
    int timeout_ms;
    int status;      /* the service's HTTP status, or 0 when it could not be asked */
    char voter[256];
    char why[300];
};

/* "http://host[:port]/path" into host, port and path; -1 if not that. */
static int split_url(const char *url, char *host, size_t hl, char *port, size_t pl, const char **path)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7, *slash = strchr(h, '/'), *end = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(end - h));
    size_t n = (size_t)((colon ? colon : end) - h);
    if (n == 0 || n >= hl || (colon && (size_t)(end - colon - 1) >= pl))
        return -1;
    snprintf(host, hl, "%.*s", (int)n, h);
    snprintf(port, pl, "%.*s", colon ? (int)(end - colon - 1) : 2, colon ? colon + 1 : "80");
    *path = slash ? slash : "/";
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for `events` until the deadline; 0 or -1. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    int64_t left = deadline - mono_ms();
    struct pollfd p = {.fd = fd, .events = events};
    return left > 0 && poll(&p, 1, (int)left) == 1 ? 0 : -1;
}

static int connect_to(struct identify *j, int64_t deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(j->host, j->port, &hints, &ai) != 0) {
        snprintf(j->why, sizeof j->why, "the identity service %s cannot be found", j->host);
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    int err = 0;
    socklen_t len = sizeof err;
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
        (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) != 0 ||
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        snprintf(j->why, sizeof j->why, "the identity service does not answer");
    return fd;
}

/* Sends the request and reads the whole answer (the service closes). */
static char *exchange(struct identify *j, int fd, int64_t deadline, size_t *len)
{
    size_t sent = 0, total = strlen(j->request);
    while (sent < total) {
        ssize_t w = wait_fd(fd, POLLOUT, deadline) ? -1 : send(fd, j->request + sent, total - sent, MSG_NOSIGNAL);
        if (w <= 0)
            return NULL;
        sent += (size_t)w;
    }
    char *buf = malloc(ANSWER_MAX + 1);
    *len = 0;
    while (buf && *len < ANSWER_MAX) {
        ssize_t r = wait_fd(fd, POLLIN, deadline) ? -1 : recv(fd, buf + *len, ANSWER_MAX - *len, 0);
        if (r == 0)
            break;
        if (r < 0) {
            free(buf);
            return NULL;
        }
        *len += (size_t)r;
    }
    if (buf)
        buf[*len] = '\0';
    return buf;
}

static void identify_work(void *arg)
{
    struct identify *j = arg;
    int64_t deadline = mono_ms() + j->timeout_ms;
    int fd = connect_to(j, deadline);
    size_t len = 0;
    char *answer = fd >= 0 ? exchange(j, fd, deadline, &len) : NULL;
    if (fd >= 0)
        close(fd);
    if (answer)
        vote_identity_answer(answer, &j->status, j->voter, sizeof j->voter, j->why, sizeof j->why);
    else if (fd >= 0)
        snprintf(j->why, sizeof j->why, "the identity service did not answer in time");
    free(answer);
}

static void identify_free(struct identify *j)
{
    cJSON_Delete(j->body);
    free(j->c);
    free(j->request);
    free(j);
}

static void identify_done(void *arg, int status)
{
    struct identify *j = arg;
    struct vote *v = j->v;
    if (status != 0 || v->stopping) { /* the core answered the request (503) */
        identify_free(j);
        return;
    }
    if (!j->voter[0]) {
        vote_refuse(v, VOTE_R_IDENTITY, "the identity service of budget %s said no: %s", j->b->id, j->why);
        vote_respond_error(v, j->req, j->status ? 403 : 503, "you could not be identified: %s", j->why);
        identify_free(j);
        return;
    }
    char key[65];
    if (vote_identity_register(v, j->b, "http", j->voter, key) != 0)
        vote_respond_error(v, j->req, 500, "the register could not be written");
    else
        vote_cast_request(v, j->b, j->body, key, j->c, j->n, j->req);
    identify_free(j);
}

void vote_identity_http(struct vote *v, struct vote_budget *b, cJSON *body, struct vote_choice *c, size_t n,
                        mst_http_request *req)
{
    struct identify *j = calloc(1, sizeof *j);
    const char *path = NULL;
    char *credentials = NULL;
    const cJSON *cred = cJSON_GetObjectItemCaseSensitive(body, "credentials");
    int rc = j ? 0 : MST_ENOMEM;
    if (j) {
        *j = (struct identify){.v = v, .b = b, .req = req, .body = body, .c = c, .n = n,
                               .timeout_ms = (int)b->identity_timeout_ms};
        body = NULL;
        c = NULL;
    }
    if (rc == 0 && !cJSON_IsObject(cred)) {
        vote_refuse(v, VOTE_R_IDENTITY, "a ballot without credentials");
        vote_respond_error(v, req, 400, "this budget needs \"credentials\": an object your town's login gives you");
        identify_free(j);
        return;
    }
    if (rc == 0 && split_url(b->identity_url, j->host, sizeof j->host, j->port, sizeof j->port, &path) != 0)
        rc = MST_EINVAL; /* check.c refused such a config */
    if (rc == 0 && !(credentials = cJSON_PrintUnformatted(cred)))
        rc = MST_ENOMEM;
    if (rc == 0 && asprintf(&j->request, "POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\n\r\n%s", path, j->host, strlen(credentials), credentials) < 0) {
        j->request = NULL;
        rc = MST_ENOMEM;
    }
    cJSON_free(credentials);
    if (rc == 0)
        rc = v->host->queue_work(v->inst, identify_work, identify_done, j);
    if (rc != 0) {
        vote_respond_error(v, req, 503, "voters cannot be identified now (%s); try again", mst_strerror(rc));
        if (j)
            identify_free(j);
        else {
            cJSON_Delete(body);
            free(c);
        }
    }
}
