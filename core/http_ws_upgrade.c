/* http_ws_upgrade.c - a WebSocket upgrade before it happens: the endpoint
 * found by path and subprotocol, the core's role check, the plugin's
 * handshake hook (which sees the verified TLS client certificate's CN), and
 * a refusal as a real HTTP status with a short text/plain reason, counted
 * per status.  What comes after the upgrade is in http_ws.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http_internal.h"
#include "log.h"
#include "role.h"

/* h->ws_logged: what a client can repeat is logged once, then only counted */
#define LOGGED_NO_ENDPOINT 1u

/* The subprotocol lws will bind, the name the server keeps (see
 * mst__ws_pick_subprotocol). */
static const char *picked_subprotocol(struct mst__http *h, const char *offered)
{
    const char *names[h->n_protocols ? h->n_protocols : 1];
    for (size_t i = 0; i < h->n_protocols; i++)
        names[i] = h->protocols[i].name;
    return mst__ws_pick_subprotocol(offered, names, h->n_protocols);
}

static struct ws_endpoint *find_endpoint(struct mst__http *h, const char *uri, const char *proto,
                                         const char **subpath)
{
    struct mst__list *pos;
    for (pos = h->ws_endpoints.next; pos != &h->ws_endpoints; pos = pos->next) {
        struct ws_endpoint *ep = mst__container_of(pos, struct ws_endpoint, link);
        if (!mst__path_matches(ep->path, ep->prefix, uri, subpath))
            continue;
        if ((!ep->subprotocol && !proto) || (ep->subprotocol && proto && strcmp(ep->subprotocol, proto) == 0))
            return ep;
    }
    return NULL;
}

/* Why no endpoint took an upgrade.  A path that is served, but with another subprotocol (a charger set
 * to OCPP 2.0.1, or offering none, on a 1.6 endpoint), is told which one it takes: a bare "not found"
 * reads as a wrong address or id, and sends the installer looking in the wrong place. */
static void no_endpoint_reason(struct mst__http *h, const char *uri, const char *offered, struct mst__buf *why)
{
    struct mst__list *pos;
    const char *subpath;
    for (pos = h->ws_endpoints.next; uri && pos != &h->ws_endpoints; pos = pos->next) {
        struct ws_endpoint *ep = mst__container_of(pos, struct ws_endpoint, link);
        if (!mst__path_matches(ep->path, ep->prefix, uri, &subpath))
            continue;
        if (ep->subprotocol)
            mst__buf_printf(why, "this path takes the WebSocket subprotocol \"%s\"", ep->subprotocol);
        else
            mst__buf_puts(why, "this path takes no WebSocket subprotocol");
        if (offered) /* the client's own words, cut short: the body is small */
            mst__buf_printf(why, "; the client offered \"%.64s\"", offered);
        else
            mst__buf_puts(why, "; the client offered none (Sec-WebSocket-Protocol)");
        return;
    }
    mst__buf_puts(why, "no WebSocket endpoint here for that path and subprotocol");
}

static const char *status_phrase(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 423: return "Locked";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Refused" : "Server Error";
    }
}

/* The answer instead of the upgrade, written at once as lws_return_http_status
 * does (lws allows a write in this callback on HTTP/1, where upgrades live),
 * but as text/plain.  Returns 1, what CONFIRM_UPGRADE returns once it has
 * answered; -1 (drop the connection) if lws could not take it. */
static int refuse(struct mst__http *h, struct lws *wsi, int status, const char *reason, const char *challenge)
{
    char labels[32];
    struct mst_metric *m;
    snprintf(labels, sizeof labels, "status=\"%d\"", status);
    if (mst__metrics_get(h->metrics, MST_METRIC_COUNTER, "mestys_ws_handshakes_refused_total",
                         "WebSocket upgrades answered with an HTTP status instead, per status", labels, &m) == 0)
        mst__metric_add(m, 1);

    char body[320];
    int n = snprintf(body, sizeof body, "%d %s: %s\n", status, status_phrase(status), reason);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof body ? (size_t)n : sizeof body - 1;
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, "text/plain; charset=utf-8", len, &p, end) ||
        (challenge && lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
                                                  (const unsigned char *)challenge, (int)strlen(challenge), &p,
                                                  end)) ||
        lws_finalize_http_header(wsi, &p, end) || (size_t)(end - p) < len)
        return -1;
    memcpy(p, body, len);
    p += len;
    return lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0 ? -1 : 1;
}

/* The subject CN of the client's certificate, if OpenSSL verified it
 * against node.http.tls.client_ca.  A name with a NUL byte in it, or a
 * subject with several CNs, is no name: the plugin could be fooled by it. */
static const char *verified_cn(struct mst__http *h, struct lws *wsi, char *cn, size_t cnlen)
{
    SSL *ssl = h->tls_client_ca && lws_is_ssl(wsi) ? lws_get_ssl(wsi) : NULL;
    if (!ssl)
        return NULL;
    X509 *cert = SSL_get1_peer_certificate(ssl);
    const char *out = NULL;
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
        goto out;
    X509_NAME *subject = X509_get_subject_name(cert);
    int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (at < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0)
        goto out;
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
    if (n > 0 && (size_t)n < cnlen && memchr(utf8, '\0', (size_t)n) == NULL) {
        memcpy(cn, utf8, (size_t)n);
        cn[n] = '\0';
        out = cn;
    }
    OPENSSL_free(utf8);
out:
    X509_free(cert);
    return out;
}

/* The plugin's say, if it asked for one; then the connection is made. */
static int run_hook(struct mst__http *h, struct lws *wsi, struct ws_endpoint *ep, const char *uri,
                    const char *subpath, const char *auth)
{
    void *data = NULL;
    if (ep->handlers.handshake) {
        char peer[64] = "", cn[256];
        lws_get_peer_simple(wsi, peer, sizeof peer);
        struct mst_ws_handshake hs = {
            .struct_size = sizeof hs,
            .path = uri,
            .subpath = subpath,
            .subprotocol = ep->subprotocol,
            .authorization = auth,
            .peer = peer,
            .tls = lws_is_ssl(wsi) ? 1 : 0,
            .client_cn = verified_cn(h, wsi, cn, sizeof cn),
        };
        int status = ep->handlers.handshake(ep->arg, &hs, &data);
        if (status != 0) {
            if (status < 400 || status > 599) {
                if (!(ep->logged & WS_LOGGED_BAD_HOOK))
                    mst__log_error("WebSocket endpoint %s%s: its handshake hook returned %d, neither 0 nor an HTTP "
                                   "status 400-599; the client got 500 (said once)", ep->path, ep->prefix ? "*" : "",
                                   status);
                ep->logged |= WS_LOGGED_BAD_HOOK;
                status = 500;
            }
            /* a station proves itself with HTTP Basic (OCPP security profiles 1 and 2) */
            return refuse(h, wsi, status, "the endpoint refused the WebSocket handshake",
                          status == 401 ? "Basic realm=\"mestys\", charset=\"UTF-8\"" : NULL);
        }
    }
    mst__ws_conn_new(h, wsi, ep, data);
    return 0;
}

int mst__ws_on_confirm(struct mst__http *h, struct lws *wsi)
{
    size_t auth_len = 0;
    char *uri = mst__lws_header(wsi, WSI_TOKEN_GET_URI, NULL);
    char *offered = mst__lws_header(wsi, WSI_TOKEN_PROTOCOL, NULL);
    char *auth = mst__lws_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, &auth_len);
    const char *subpath = "";
    struct ws_endpoint *ep = uri ? find_endpoint(h, uri, picked_subprotocol(h, offered), &subpath) : NULL;
    struct mst__buf why = {0};
    int rc, status;
    if (!ep) {
        no_endpoint_reason(h, uri, offered, &why);
        if (!(h->ws_logged & LOGGED_NO_ENDPOINT))
            mst__log_info("WebSocket upgrade of %s refused (404): %s; further ones are only counted",
                          uri ? uri : "?", why.data ? why.data : "no endpoint");
        h->ws_logged |= LOGGED_NO_ENDPOINT;
        rc = refuse(h, wsi, 404, why.data ? why.data : "no WebSocket endpoint here", NULL);
    } else if (auth && strlen(auth) != auth_len) {
        /* RFC 9110 5.5, as for any request: never cut at the NUL */
        mst__metric_add(h->bad_requests, 1);
        rc = refuse(h, wsi, 400, "the Authorization header holds a NUL byte", NULL);
    } else if (ep->role != MST_ROLE_PUBLIC &&
               (status = mst__route_authorize(mst__http_token_role(h, auth, auth_len), ep->role, &why)) != 0) {
        mst__metric_add(h->unauthorized, 1);
        rc = refuse(h, wsi, status, why.data, status == 401 ? "Bearer" : NULL);
    } else {
        rc = run_hook(h, wsi, ep, uri, subpath, auth);
    }
    mst__buf_free(&why);
    free(uri);
    free(offered);
    free(auth);
    return rc;
}

/* After CONFIRM_UPGRADE accepted it, lws has bound the subprotocol that
 * picked_subprotocol foresaw; anything else was not accepted here. */
int mst__ws_on_filter(struct lws *wsi)
{
    mst_ws_conn *c = lws_get_opaque_user_data(wsi);
    if (!c || !c->ep)
        return 1;
    const struct lws_protocols *p = lws_get_protocol(wsi);
    /* protocols[0] is the plain HTTP/WebSocket one: no subprotocol */
    const char *bound = p && strcmp(p->name, "http") != 0 ? p->name : NULL;
    return (!bound && !c->ep->subprotocol) || (bound && c->ep->subprotocol && strcmp(bound, c->ep->subprotocol) == 0)
               ? 0
               : 1;
}

int mst__ws_on_client_cert(int preverify_ok)
{
    return preverify_ok ? 0 : 1;
}

int mst__ws_on_load_verify(struct mst__http *h, void *ssl_ctx)
{
    if (!h->tls_client_ca)
        return 0;
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(h->tls_client_ca);
    if (names)
        SSL_CTX_set_client_CA_list(ssl_ctx, names); /* takes them */
    return 0;
}
