/* ingest.c - the towns' routes (docs/plugins/pgstore.md):
 *   POST /api/<instance>/towns/<town>/batches   a batch of the town's outbox
 *   GET  /api/<instance>/towns/<town>/position  {"epoch","committed"}
 * Public routes for the core: a town's token is not a role on the region,
 * so pgstore checks it against its own table, in constant time, and the
 * town comes from the token, never from the body. */
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pgstore.h"

static void answer_json(struct pgstore *p, mst_http_request *req, int status, const char *json)
{
    p->host->http_set_header(req, "Cache-Control", "no-store");
    p->host->http_respond(req, status, "application/json", json, strlen(json));
}

static void answer_error(struct pgstore *p, mst_http_request *req, int status, const char *msg)
{
    char json[600];
    size_t n = (size_t)snprintf(json, sizeof json, "{\"error\":\"");
    for (const char *c = msg; *c && n + 8 < sizeof json; c++) {
        if (*c == '"' || *c == '\\')
            json[n++] = '\\', json[n++] = *c;
        else if ((unsigned char)*c < 0x20)
            n += (size_t)snprintf(json + n, sizeof json - n, "\\u%04x", (unsigned char)*c);
        else
            json[n++] = *c;
    }
    snprintf(json + n, sizeof json - n, "\"}");
    answer_json(p, req, status, json);
}

static void unavailable(struct pgstore *p, mst_http_request *req, const char *why)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRId64, p->retry_after_s > 0 ? p->retry_after_s : 1);
    p->host->http_set_header(req, "Retry-After", s);
    p->host->metric_add(p->m_batches[PGS_B_UNAVAILABLE], 1);
    answer_error(p, req, 503, why);
}

/* The town whose token the request carries: every town's hash is compared,
 * whatever matched, so the time taken says nothing of the tokens. */
static const struct pgs_town *token_town(struct pgstore *p, mst_http_request *req)
{
    const char *auth = p->host->http_header(req, "authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    const char *tok = auth + 7;
    while (*tok == ' ')
        tok++;
    uint8_t sha[32];
    unsigned n = sizeof sha;
    if (!EVP_Digest(tok, strlen(tok), sha, &n, EVP_sha256(), NULL))
        return NULL;
    const struct pgs_town *found = NULL;
    for (size_t i = 0; i < p->n_towns; i++)
        if (CRYPTO_memcmp(sha, p->towns[i].token_sha256, sizeof sha) == 0)
            found = &p->towns[i];
    return found;
}

/* "<town>/<what>" of the subpath; NULL if it is not that. */
static char *split(const char *sub, const char *what)
{
    const char *slash = strchr(sub, '/');
    if (!slash || slash == sub || strcmp(slash + 1, what) != 0)
        return NULL;
    return strndup(sub, (size_t)(slash - sub));
}

/* 0 and the token's town, or the request answered 401/403. */
static const struct pgs_town *authorize(struct pgstore *p, mst_http_request *req, const char *path)
{
    /* the path is the peer's: logged only if it is a town's name */
    int named = *path && strlen(path) <= 64 &&
                strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(path);
    const char *path_town = named ? path : "(not a town's name)";
    const struct pgs_town *t = token_town(p, req);
    if (!t) {
        pgs_refuse(p, PGS_R_TOKEN, "a request for town \"%s\" from %s without a known town token", path_town,
                   p->host->http_peer(req));
        p->host->http_set_header(req, "WWW-Authenticate", "Bearer");
        answer_error(p, req, 401, "a known town's bearer token is needed");
        return NULL;
    }
    if (strcmp(t->town, path) != 0) {
        pgs_refuse(p, PGS_R_TOWN, "town %s's token used for town \"%s\" from %s", t->town, path_town,
                   p->host->http_peer(req));
        answer_error(p, req, 403, "this token is another town's");
        return NULL;
    }
    return t;
}

static void on_batch(void *arg, mst_http_request *req)
{
    struct pgstore *p = arg;
    char *town = split(p->host->http_subpath(req), "batches");
    if (!town) {
        answer_error(p, req, 404, "POST towns/<town>/batches");
        return;
    }
    const struct pgs_town *t = authorize(p, req, town);
    free(town);
    if (!t)
        return;
    const char *enc = p->host->http_header(req, "content-encoding");
    int gzip = enc && (strcasecmp(enc, "gzip") == 0 || strcasecmp(enc, "x-gzip") == 0);
    if (enc && !gzip && strcasecmp(enc, "identity") != 0) {
        pgs_refuse(p, PGS_R_FORMAT, "town %s: Content-Encoding \"%.32s\" is not taken (gzip or none)", t->town, enc);
        answer_error(p, req, 400, "line 1: Content-Encoding must be gzip (or none)");
        return;
    }
    size_t len;
    const void *body = p->host->http_body(req, &len);
    if (!gzip && (int64_t)len > p->max_batch_bytes) {
        pgs_refuse(p, PGS_R_SIZE, "town %s: a batch of %zu bytes (max_batch_mb)", t->town, len);
        answer_error(p, req, 413, "the batch is larger than max_batch_mb");
        return;
    }
    if (!p->db_up) {
        unavailable(p, req, "PostgreSQL is unreachable: the batch is not stored, send it again later");
        return;
    }
    if (p->pending_bytes + (int64_t)len > p->max_pending_bytes) {
        unavailable(p, req, "the region is busy (max_pending_mb): send it again later");
        return;
    }
    struct pgs_job *j = calloc(1, sizeof *j);
    if (j) {
        j->town = strdup(t->town);
        j->body = malloc(len ? len : 1);
    }
    if (!j || !j->town || !j->body) {
        pgs_job_free(j);
        unavailable(p, req, "out of memory");
        return;
    }
    memcpy(j->body, body, len);
    j->len = len;
    j->gzip = gzip;
    j->req = req;
    j->kind = PGS_JOB_BATCH;
    pgs_enqueue(p, j);
}

static void on_position(void *arg, mst_http_request *req)
{
    struct pgstore *p = arg;
    char *town = split(p->host->http_subpath(req), "position");
    if (!town) {
        answer_error(p, req, 404, "GET towns/<town>/position");
        return;
    }
    const struct pgs_town *t = authorize(p, req, town);
    free(town);
    if (!t)
        return;
    if (!p->db_up) {
        unavailable(p, req, "PostgreSQL is unreachable");
        return;
    }
    struct pgs_job *j = calloc(1, sizeof *j);
    if (!j || !(j->town = strdup(t->town))) {
        pgs_job_free(j);
        unavailable(p, req, "out of memory");
        return;
    }
    j->kind = PGS_JOB_POSITION;
    j->req = req;
    pgs_enqueue(p, j);
}

static void answer_local(struct pgstore *p, struct pgs_job *j)
{
    if (j->refused)
        p->host->metric_add(p->m_local_dropped, (double)j->refused);
    if (j->status == 200) {
        p->host->metric_add(p->m_stored, (double)j->stored);
        p->host->metric_add(p->m_out_of_window, (double)j->out_of_window);
    } else
        p->host->log(p->inst, MST_LOG_ERROR, "local messages dropped: %s", j->why);
}

void pgs_answer(struct pgstore *p, struct pgs_job *j)
{
    if (j->kind == PGS_JOB_LOCAL) {
        answer_local(p, j);
        return;
    }
    char json[256];
    if (j->status == 503) {
        unavailable(p, j->req, "PostgreSQL is unavailable: the batch is not stored, send it again later");
        return;
    }
    if (j->kind == PGS_JOB_POSITION) {
        if (j->has_epoch)
            snprintf(json, sizeof json, "{\"epoch\":%" PRId64 ",\"committed\":%" PRId64 "}\n", j->epoch, j->committed);
        else
            snprintf(json, sizeof json, "{\"epoch\":null,\"committed\":0}\n");
        answer_json(p, j->req, 200, json);
        return;
    }
    if (j->status != 200) {
        pgs_refuse(p, j->status == 413 ? PGS_R_SIZE : PGS_R_FORMAT, "town %s: batch refused (%d): %s", j->town,
                   j->status, j->why);
        answer_error(p, j->req, j->status, j->why);
        return;
    }
    p->host->metric_add(p->m_stored, (double)j->stored);
    p->host->metric_add(p->m_duplicate, (double)j->duplicate);
    p->host->metric_add(p->m_out_of_window, (double)j->out_of_window);
    p->host->metric_add(p->m_batches[j->stored == 0 && j->duplicate > 0 ? PGS_B_DUPLICATE : PGS_B_COMMITTED], 1);
    /* town names are [A-Za-z0-9_-] (config), so they need no escaping */
    snprintf(json, sizeof json,
             "{\"town\":\"%s\",\"epoch\":%" PRId64 ",\"committed\":%" PRId64 ",\"stored\":%" PRId64
             ",\"duplicate\":%" PRId64 ",\"out_of_window\":%" PRId64 "}\n",
             j->town, j->b.epoch, j->committed, j->stored, j->duplicate, j->out_of_window);
    answer_json(p, j->req, 200, json);
}

int pgs_ingest_routes(struct pgstore *p)
{
    int rc = p->host->http_route(p->inst, "POST", "towns/*", MST_ROLE_PUBLIC, on_batch, p);
    if (rc == 0)
        rc = p->host->http_route(p->inst, "GET", "towns/*", MST_ROLE_PUBLIC, on_position, p);
    return rc;
}
