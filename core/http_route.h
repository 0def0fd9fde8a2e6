/* http_route.h - the routing table: which handler answers a method and a
 * path, and what the core answers when none does (404, 405 with Allow,
 * 401/403 for the role).  Free of libwebsockets, so the SDK's mock host
 * links this very file and answers exactly as the daemon does. */
#ifndef MST__HTTP_ROUTE_H
#define MST__HTTP_ROUTE_H

#include <mestys/host.h>

#include "list.h"
#include "util.h"

struct mst__route {
    struct mst__list link;
    void *owner;
    char method[8];
    char *path; /* without the trailing "*" for prefix routes */
    int prefix; /* path ends in "/" and takes everything below */
    enum mst_role role;
    mst_http_cb cb;
    void *arg;
};

struct mst__routes {
    struct mst__list list; /* exact routes first, so a prefix route never hides one */
};

/* What a lookup found: the route, or the refusal to send. */
struct mst__route_match {
    struct mst__route *route; /* NULL: refused with status */
    const char *subpath;      /* what a prefix route's "*" matched, inside path */
    int status;               /* 0 when found; 404, or 405 */
    struct mst__buf allow;    /* 405: the methods the path takes, "GET, POST" */
    struct mst__buf message;  /* 404/405: the error's text */
};

/* A role a request holds when it has no bearer token, or an unknown one. */
#define MST__ROLE_NO_TOKEN (-1)
#define MST__ROLE_UNKNOWN_TOKEN (-2)

void mst__routes_init(struct mst__routes *t);
/* `path` is absolute; a last segment "*" makes it a prefix route.
 * MST_EINVAL for a bad method, path or role, MST_EEXIST for a duplicate. */
int mst__routes_add(struct mst__routes *t, void *owner, const char *method, const char *path,
                    enum mst_role role, mst_http_cb cb, void *arg);
/* HEAD is looked up as GET; "/a/b/" is the same resource as "/a/b". */
void mst__routes_match(struct mst__routes *t, const char *method, const char *path,
                       struct mst__route_match *m);
void mst__route_match_free(struct mst__route_match *m);
void mst__routes_drop_owner(struct mst__routes *t, void *owner);
void mst__routes_clear(struct mst__routes *t);

/* "/api/<instance>/<path>": where an instance's route or endpoint lives. */
char *mst__route_path(const char *instance, const char *path);
/* Splits a pattern ending in "/(star)" into its prefix (kept with the "/") and a flag. */
void mst__path_pattern(const char *path, char **out, int *prefix);
int mst__path_matches(const char *pattern, int prefix, const char *path, const char **subpath);

/* 0 if `have` (a role, or MST__ROLE_NO_TOKEN/UNKNOWN_TOKEN) may call a
 * route that needs `need`; else 401 or 403 with the reason in message. */
int mst__route_authorize(int have, enum mst_role need, struct mst__buf *message);

/* Every error the core answers: {"error": message, "status": status}. */
void mst__http_error_body(struct mst__buf *body, int status, const char *message);

/* The subprotocol a WebSocket upgrade gets, as lws 4.1 picks it: the first
 * name in the client's Sec-WebSocket-Protocol list (`offered`, comma and
 * space separated) that is one of `known`; the returned pointer is that
 * entry of `known`.  NULL when the client offers none, "" when it offers
 * only unknown ones. */
const char *mst__ws_pick_subprotocol(const char *offered, const char *const *known, size_t n);

#endif
