/* http_static.c - a file of a folder a plugin mounted (host->http_static),
 * answered on the loop: the path is checked (http_static_path.c), symbolic
 * links are resolved and must stay in the folder, the bytes come from the
 * cache (http_static_cache.c), and the headers say how to keep them. */
#include "http_static.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "http_internal.h"
#include "http_mime.h"
#include "http_static_path.h"
#include "log.h"

void mst__static_page_headers(struct mst__http *h, mst_http_request *req)
{
    mst__http_set_header(req, "Content-Security-Policy", mst__static_csp(&h->statics));
    mst__http_set_header(req, "X-Content-Type-Options", "nosniff");
    mst__http_set_header(req, "Referrer-Policy", "same-origin");
}

void mst__static_pages_route(void *arg, mst_http_request *req)
{
    struct mst__http *h = arg;
    struct mst__buf b = {0};
    mst__static_mounts_json(&h->statics, &b);
    mst__http_set_header(req, "Cache-Control", "no-cache");
    mst__http_respond(req, 200, "application/json", b.data, b.len);
    mst__buf_free(&b);
}

static void count(struct mst__http *h, const char *result)
{
    struct mst_metric *m;
    char labels[48];
    snprintf(labels, sizeof labels, "result=\"%s\"", result);
    if (mst__metrics_get(h->metrics, MST_METRIC_COUNTER, "mestys_http_static_total",
                         "static file requests, per answer: file, not_modified, redirect, not_found, "
                         "refused (a path leaving its folder or naming a hidden file), method",
                         labels, &m) == 0)
        mst__metric_add(m, 1);
}

static void not_found(struct mst__http *h, mst_http_request *req)
{
    count(h, "not_found");
    mst__http_set_header(req, "X-Content-Type-Options", "nosniff");
    mst__http_error(req, 404, "no file %s", req->path);
}

/* A path that tries to leave its folder or reach a hidden file: 404 as for
 * any missing file (nothing learnt from the answer), logged once per mount. */
static void refuse(struct mst__http *h, mst_http_request *req, struct mst__static_mount *m, const char *why)
{
    if (!(m->logged & MST__STATIC_LOGGED_ESCAPE)) {
        m->logged |= MST__STATIC_LOGGED_ESCAPE;
        /* quoted and escaped: the path may hold the line breaks it was refused for */
        struct mst__buf path = {0};
        mst__buf_json_string(&path, req->path);
        mst__log_info("http: refused %s %s from %s: %s of %s; further refusals on %s are only counted "
                      "(mestys_http_static_total{result=\"refused\"})",
                      req->method, path.data, req->peer, why, m->dir, m->prefix);
        mst__buf_free(&path);
    }
    count(h, "refused");
    mst__http_set_header(req, "X-Content-Type-Options", "nosniff");
    mst__http_error(req, 404, "no file %s", req->path);
}

static void redirect_to_folder(struct mst__http *h, mst_http_request *req)
{
    struct mst__buf loc = {0};
    mst__buf_percent_encode(&loc, req->path, "/!$&'()*+,;=:@");
    mst__buf_puts(&loc, "/");
    if (req->query && *req->query)
        mst__buf_printf(&loc, "?%s", req->query);
    count(h, "redirect");
    mst__http_set_header(req, "Location", loc.data);
    mst__http_error(req, 301, "moved to %s", loc.data);
    mst__buf_free(&loc);
}

/* Accept-Encoding takes gzip (or x-gzip, or *) with a q above 0. */
static int accepts_gzip(const char *ae)
{
    for (const char *p = ae ? ae : ""; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        size_t n = strcspn(p, ",;");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        int name = (n == 4 && strncasecmp(p, "gzip", 4) == 0) || (n == 6 && strncasecmp(p, "x-gzip", 6) == 0) ||
                   (n == 1 && *p == '*');
        p += strcspn(p, ",;");
        double q = 1;
        if (*p == ';') {
            const char *qs = strstr(p, "q=");
            size_t end = strcspn(p, ",");
            if (qs && qs < p + end)
                q = strtod(qs + 2, NULL);
            p += end;
        }
        if (name && q > 0)
            return 1;
    }
    return 0;
}

/* If-None-Match names tag (weak comparison, as RFC 9110 13.1.2 asks), or "*". */
static int none_match(const char *inm, const char *tag)
{
    size_t tl = strlen(tag);
    for (const char *p = inm ? inm : ""; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t n = strcspn(p, ", \t");
        if (n == tl && strncmp(p, tag, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

static void send_file(struct mst__http *h, mst_http_request *req, struct mst__static_mount *m, const char *real,
                      const char *name, const struct stat *st)
{
    if ((size_t)st->st_size > MST__STATIC_FILE_MAX) {
        if (!(m->logged & MST__STATIC_LOGGED_LARGE))
            mst__log_warn("http: %s is not served: %lld bytes, more than %zu; further ones on %s are only "
                          "counted (mestys_http_static_total{result=\"not_found\"})",
                          real, (long long)st->st_size, MST__STATIC_FILE_MAX, m->prefix);
        m->logged |= MST__STATIC_LOGGED_LARGE;
        return not_found(h, req);
    }
    struct mst__static_entry *e = mst__static_cache_get(&h->static_cache, real, st);
    if (!e) {
        if (!(m->logged & MST__STATIC_LOGGED_READ))
            mst__log_warn("http: cannot read %s: %s; further failures on %s are only counted "
                          "(mestys_http_static_total{result=\"not_found\"})", real, strerror(errno), m->prefix);
        m->logged |= MST__STATIC_LOGGED_READ;
        return not_found(h, req);
    }
    const struct mst__mime *mime = mst__mime_of(name);
    int gz = mime->text && accepts_gzip(mst__http_header(req, "accept-encoding")) &&
             mst__static_cache_gzip(&h->static_cache, e);
    const char *tag = gz ? e->etag_gz : e->etag;
    mst__http_set_header(req, "ETag", tag);
    mst__http_set_header(req, "Cache-Control", "no-cache");
    if (mime->text)
        mst__http_set_header(req, "Vary", "Accept-Encoding");
    mst__static_page_headers(h, req);
    if (none_match(mst__http_header(req, "if-none-match"), tag)) {
        count(h, "not_modified");
        mst__http_respond(req, 304, mime->type, NULL, 0);
        return;
    }
    if (gz)
        mst__http_set_header(req, "Content-Encoding", "gzip");
    count(h, "file");
    req->head_length = gz ? e->gz_len : e->len;
    mst__http_respond(req, 200, mime->type, gz ? e->gz : e->data, gz ? e->gz_len : e->len);
}

/* The folder's file for the clean relative path rel, symbolic links
 * resolved: it must stay inside the folder and name no hidden file. */
static void answer(struct mst__http *h, mst_http_request *req, struct mst__static_mount *m, char *rel,
                   int folder)
{
    size_t dl = strlen(m->dir);
    char real[PATH_MAX];
    for (int index = 0; index < 2; index++) {
        char *path = *rel ? mst__path_join(m->dir, rel) : mst__xstrdup(m->dir);
        char *ok = realpath(path, real);
        free(path);
        if (!ok)
            return not_found(h, req);
        int inside = strncmp(real, m->dir, dl) == 0 && (real[dl] == '\0' || real[dl] == '/');
        if (!inside)
            return refuse(h, req, m, "a symbolic link leading out");
        if (!mst__static_segments_ok(real[dl] ? real + dl + 1 : ""))
            return refuse(h, req, m, "a symbolic link to a hidden file");
        struct stat st;
        if (stat(real, &st) != 0)
            return not_found(h, req);
        if (S_ISREG(st.st_mode) && !folder)
            return send_file(h, req, m, real, rel, &st);
        if (!S_ISDIR(st.st_mode) || index == 1)
            return not_found(h, req); /* a folder's index.html that is a folder, a fifo, ... */
        if (!folder)
            return redirect_to_folder(h, req);
        /* "/p/" is "/p/index.html"; there is no listing */
        size_t rl = strlen(rel);
        if (rl + sizeof "/index.html" > MST__STATIC_PATH_MAX + 1)
            return not_found(h, req);
        memcpy(rel + rl, rl ? "/index.html" : "index.html", rl ? sizeof "/index.html" : sizeof "index.html");
        folder = 0;
    }
}

int mst__static_serve(struct mst__http *h, mst_http_request *req)
{
    const char *rest;
    int bare;
    struct mst__static_mount *m = mst__static_mounts_match(&h->statics, req->path, &rest, &bare);
    if (!m)
        return 0;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        count(h, "method");
        mst__http_set_header(req, "Allow", "GET, HEAD");
        mst__http_error(req, 405, "%s is not allowed on %s; allowed: GET, HEAD", req->method, req->path);
        return 1;
    }
    if (bare) {
        redirect_to_folder(h, req);
        return 1;
    }
    char rel[MST__STATIC_PATH_MAX + 1];
    int folder;
    if (mst__static_path_clean(rest, rel, &folder) != 0) {
        refuse(h, req, m, "a path leading out or to a hidden file");
        return 1;
    }
    answer(h, req, m, rel, folder);
    return 1;
}
