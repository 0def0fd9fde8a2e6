/* http_route.c - the routing table and the core's refusals. */
#include "http_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "role.h"

char *mst__route_path(const char *instance, const char *path)
{
    while (path && *path == '/')
        path++;
    return mst__xasprintf("/api/%s%s%s", instance, path && *path ? "/" : "", path ? path : "");
}

int mst__path_matches(const char *pattern, int prefix, const char *path, const char **subpath)
{
    size_t n = strlen(pattern);
    if (!prefix) {
        /* "/api/x/" is the same resource as "/api/x" */
        size_t pl = strlen(path);
        if (pl > 1 && path[pl - 1] == '/')
            pl--;
        if (pl != n || strncmp(pattern, path, n) != 0)
            return 0;
        *subpath = "";
        return 1;
    }
    /* pattern "/api/x/devices/" takes "/api/x/devices" and everything below */
    if (strncmp(pattern, path, n) == 0) {
        *subpath = path + n;
        return 1;
    }
    if (strncmp(pattern, path, n - 1) == 0 && path[n - 1] == '\0') {
        *subpath = "";
        return 1;
    }
    return 0;
}

void mst__path_pattern(const char *path, char **out, int *prefix)
{
    if (mst__ends_with(path, "/*")) {
        *out = mst__xstrndup(path, strlen(path) - 1);
        *prefix = 1;
    } else {
        *out = mst__xstrdup(path);
        *prefix = 0;
    }
}

void mst__routes_init(struct mst__routes *t)
{
    mst__list_init(&t->list);
}

static void route_free(struct mst__route *r)
{
    free(r->path);
    free(r);
}

int mst__routes_add(struct mst__routes *t, void *owner, const char *method, const char *path,
                    enum mst_role role, mst_http_cb cb, void *arg)
{
    if (!cb || !method || !path || path[0] != '/' || strlen(method) >= 8 ||
        role < MST_ROLE_PUBLIC || role > MST_ROLE_ADMIN)
        return MST_EINVAL;
    struct mst__route *r = mst__xcalloc(1, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", method);
    for (char *m = r->method; *m; m++)
        if (*m >= 'a' && *m <= 'z')
            *m = (char)(*m - 32);
    mst__path_pattern(path, &r->path, &r->prefix);
    struct mst__list *pos;
    for (pos = t->list.next; pos != &t->list; pos = pos->next) {
        struct mst__route *o = mst__container_of(pos, struct mst__route, link);
        if (strcmp(o->method, r->method) == 0 && strcmp(o->path, r->path) == 0 && o->prefix == r->prefix) {
            route_free(r);
            return MST_EEXIST;
        }
    }
    r->owner = owner;
    r->role = role;
    r->cb = cb;
    r->arg = arg;
    /* Exact routes first, so a prefix route never hides one. */
    if (r->prefix) {
        mst__list_push(&t->list, &r->link);
    } else {
        r->link.next = t->list.next;
        r->link.prev = &t->list;
        t->list.next->prev = &r->link;
        t->list.next = &r->link;
    }
    return 0;
}

void mst__routes_match(struct mst__routes *t, const char *method, const char *path,
                       struct mst__route_match *m)
{
    memset(m, 0, sizeof *m);
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    struct mst__list *pos;
    for (pos = t->list.next; pos != &t->list; pos = pos->next) {
        struct mst__route *r = mst__container_of(pos, struct mst__route, link);
        const char *sub;
        if (!mst__path_matches(r->path, r->prefix, path, &sub))
            continue;
        if (strcmp(r->method, want) == 0) {
            m->route = r;
            m->subpath = sub;
            mst__buf_free(&m->allow);
            return;
        }
        mst__buf_printf(&m->allow, "%s%s", m->allow.len ? ", " : "", r->method);
    }
    if (m->allow.len) {
        m->status = 405;
        mst__buf_printf(&m->message, "%s is not allowed on %s; allowed: %s", method, path, m->allow.data);
    } else {
        m->status = 404;
        mst__buf_printf(&m->message, "no route %s", path);
    }
}

void mst__route_match_free(struct mst__route_match *m)
{
    mst__buf_free(&m->allow);
    mst__buf_free(&m->message);
}

void mst__routes_drop_owner(struct mst__routes *t, void *owner)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &t->list)
    {
        struct mst__route *r = mst__container_of(pos, struct mst__route, link);
        if (r->owner == owner) {
            mst__list_remove(pos);
            route_free(r);
        }
    }
}

void mst__routes_clear(struct mst__routes *t)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &t->list)
    {
        mst__list_remove(pos);
        route_free(mst__container_of(pos, struct mst__route, link));
    }
}

int mst__route_authorize(int have, enum mst_role need, struct mst__buf *message)
{
    if (need == MST_ROLE_PUBLIC || have >= (int)need)
        return 0;
    if (have < 0) {
        mst__buf_printf(message, "%s; this route needs a bearer token with the %s role",
                        have == MST__ROLE_NO_TOKEN ? "no bearer token" : "unknown bearer token",
                        mst__role_name((int)need));
        return 401;
    }
    mst__buf_printf(message, "your token's role (%s) may not call this route, which needs %s",
                    mst__role_name(have), mst__role_name((int)need));
    return 403;
}

void mst__http_error_body(struct mst__buf *body, int status, const char *message)
{
    mst__buf_puts(body, "{\"error\":");
    mst__buf_json_string(body, message ? message : "");
    mst__buf_printf(body, ",\"status\":%d}\n", status);
}

const char *mst__ws_pick_subprotocol(const char *offered, const char *const *known, size_t n)
{
    if (!offered)
        return NULL;
    for (const char *p = offered; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        for (size_t i = 0; len && i < n; i++)
            if (strlen(known[i]) == len && strncmp(known[i], p, len) == 0)
                return known[i];
        p += len;
    }
    return "";
}
