/* http_auth.c - bearer tokens: which role a request holds, and the core's
 * 401/403 before a handler sees it. */
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "role.h"

/* The role the request's bearer token grants, MST__ROLE_NO_TOKEN or MST__ROLE_UNKNOWN_TOKEN. */
/* auth_len is the header's whole length: a NUL byte inside it (and what
 * follows) is part of what is compared, so "token\0junk" is not "token". */
int mst__http_token_role(struct mst__http *h, const char *auth, size_t auth_len)
{
    if (!auth || !auth_len)
        return MST__ROLE_NO_TOKEN;
    if (auth_len < 7 || strncasecmp(auth, "Bearer ", 7) != 0)
        return MST__ROLE_UNKNOWN_TOKEN;
    const char *tok = auth + 7, *end = auth + auth_len;
    while (tok < end && *tok == ' ')
        tok++;
    size_t tl = (size_t)(end - tok);
    for (size_t i = 0; i < h->n_tokens; i++) {
        const char *want = h->tokens[i].token;
        size_t wl = strlen(want);
        /* Compare every byte so the time taken says nothing of the token. */
        unsigned diff = (unsigned)(wl ^ tl);
        for (size_t j = 0; j < wl; j++)
            diff |= (unsigned char)want[j] ^ (unsigned char)(j < tl ? tok[j] : 0);
        if (diff == 0)
            return h->tokens[i].role;
    }
    return MST__ROLE_UNKNOWN_TOKEN;
}

enum mst_role mst__http_role(mst_http_request *req)
{
    const char *auth = mst__http_header(req, "authorization");
    int role = mst__http_token_role(req->h, auth, auth ? strlen(auth) : 0);
    return role >= MST_ROLE_OPERATOR && role <= MST_ROLE_ADMIN ? (enum mst_role)role : MST_ROLE_PUBLIC;
}

/* 0 if allowed; otherwise answers 401/403 and returns -1. */
int mst__http_authorize(struct mst__http *h, mst_http_request *req, enum mst_role need)
{
    if (need == MST_ROLE_PUBLIC)
        return 0;
    const char *auth = mst__http_header(req, "authorization");
    int role = mst__http_token_role(h, auth, auth ? strlen(auth) : 0); /* no NUL inside: refused before */
    struct mst__buf why = {0};
    int status = mst__route_authorize(role, need, &why);
    if (status) {
        mst__metric_add(h->unauthorized, 1);
        if (status == 401)
            mst__http_set_header(req, "WWW-Authenticate", "Bearer");
        mst__http_error(req, status, "%s", why.data);
    }
    mst__buf_free(&why);
    return status ? -1 : 0;
}
