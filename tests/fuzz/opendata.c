/* fuzz_opendata - a client's GET of the opendata plugin's routes: the path
 * below datasets/, the query parameters (from, to, sensor, metric, bbox,
 * limit, cursor, bom), the Accept header, and then the store's page and its
 * next cursor, which the plugin renders as JSON, CSV or GeoJSON.  The
 * plugin runs on the SDK's mock host; HTTP requests are this file's own,
 * since the mock carries no query string.
 *
 * An input is three parts split at the first two newlines: the path below
 * /api/opendata/ with its query ("datasets/air/data.csv?limit=5"), the
 * Accept header (empty: none), and the body of the store's answer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mestys/mock.h>

#include "quiet.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct mst_plugin mestys_plugin;

static const char config[] =
    "{\"base_url\": \"https://data.lhota.example/api/opendata\", \"cache_ms\": 0,"
    " \"rate_limit\": {\"per_second\": 0},"
    " \"catalog\": {\"title\": {\"cs\": \"Data obce\", \"en\": \"Open data\"},"
    "  \"description\": {\"cs\": \"Data z čidel.\", \"en\": \"Sensor data.\"},"
    "  \"publisher\": \"https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00000001\","
    "  \"homepage\": \"https://www.lhota.example/\","
    "  \"contact\": {\"name\": {\"cs\": \"Obecní úřad\"}, \"email\": \"podatelna@lhota.example\"}},"
    " \"datasets\": [{\"id\": \"air\", \"title\": {\"cs\": \"Vzduch\", \"en\": \"Air\"},"
    "  \"description\": {\"cs\": \"Teplota.\", \"en\": \"Temperature.\"},"
    "  \"keywords\": {\"cs\": [\"teplota\"], \"en\": [\"temperature\"]},"
    "  \"themes\": [\"http://publications.europa.eu/resource/authority/data-theme/ENVI\"],"
    "  \"frequency\": \"http://publications.europa.eu/resource/authority/frequency/CONT\","
    "  \"ruian\": [\"https://linked.cuzk.cz/resource/ruian/obec/999999\"],"
    "  \"source\": {\"metrics\": [\"temperature\", \"humidity\"], \"sensors\": [\"s1\", \"s2\"]}},"
    " {\"id\": \"notices\", \"title\": {\"cs\": \"Vývěska\", \"en\": \"Notices\"},"
    "  \"description\": {\"cs\": \"Oznámení.\", \"en\": \"Notices.\"},"
    "  \"keywords\": {\"cs\": [\"oznámení\"], \"en\": [\"notice\"]},"
    "  \"themes\": [\"http://publications.europa.eu/resource/authority/data-theme/GOVE\"],"
    "  \"frequency\": \"http://publications.europa.eu/resource/authority/frequency/IRREG\","
    "  \"ruian\": [\"https://linked.cuzk.cz/resource/ruian/obec/999999\"],"
    "  \"source\": {\"topic\": \"notice\"}, \"fields\": [\"topic\", \"time\", \"body\"]}]}";

/* --- HTTP requests: what the core's http.c gives a route ------------------ */

struct mst_http_request {
    const char *path, *subpath, *query, *accept;
    char param[512]; /* the last parameter asked for, decoded */
    int answered;
};

#define MAX_ROUTES 16
static struct {
    const char *path;
    mst_http_cb cb;
    void *arg;
} routes[MAX_ROUTES];
static size_t n_routes;

static int fz_route(mst_instance *i, const char *method, const char *path, enum mst_role role, mst_http_cb cb,
                    void *arg)
{
    (void)i, (void)role;
    if (strcmp(method, "GET") == 0 && n_routes < MAX_ROUTES) {
        routes[n_routes].path = path;
        routes[n_routes].cb = cb;
        routes[n_routes].arg = arg;
        n_routes++;
    }
    return 0;
}

static const char *fz_method(mst_http_request *r) { (void)r; return "GET"; }
static const char *fz_path(mst_http_request *r) { return r->path; }
static const char *fz_subpath(mst_http_request *r) { return r->subpath; }
static const char *fz_query(mst_http_request *r) { return r->query; }
static const char *fz_peer(mst_http_request *r) { (void)r; return "192.0.2.7"; }
static const void *fz_body(mst_http_request *r, size_t *len) { (void)r; *len = 0; return ""; }
static int fz_set_header(mst_http_request *r, const char *n, const char *v) { (void)r, (void)n, (void)v; return 0; }

static const char *fz_header(mst_http_request *r, const char *name)
{
    return strcasecmp(name, "accept") == 0 && r->accept[0] ? r->accept : NULL;
}

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The first name=value of the query, percent-decoded, as http.c does. */
static const char *fz_query_param(mst_http_request *r, const char *name)
{
    size_t nl = strlen(name);
    for (const char *q = r->query; *q;) {
        size_t n = strcspn(q, "&");
        if (n >= nl && strncmp(q, name, nl) == 0 && (n == nl || q[nl] == '=')) {
            const char *v = q + nl + (n > nl), *end = q + n;
            size_t k = 0;
            while (v < end && k + 1 < sizeof r->param) {
                if (*v == '%' && end - v >= 3 && hex(v[1]) >= 0 && hex(v[2]) >= 0) {
                    r->param[k++] = (char)(hex(v[1]) << 4 | hex(v[2]));
                    v += 3;
                } else {
                    r->param[k++] = *v == '+' ? ' ' : *v;
                    v++;
                }
            }
            r->param[k] = '\0';
            return r->param;
        }
        q += n;
        q += *q == '&';
    }
    return NULL;
}

static int fz_respond(mst_http_request *r, int status, const char *ctype, const void *body, size_t len)
{
    (void)ctype, (void)body, (void)len;
    if (r->answered || status < 100 || status > 599)
        abort(); /* answered twice, or with no HTTP status */
    r->answered = 1;
    return 0;
}

/* --- the store ------------------------------------------------------------- */

static const char *store_page;
static size_t store_page_len;

static int store(void *arg, const char *body, size_t len, char **reply, size_t *reply_len)
{
    (void)arg, (void)body, (void)len;
    *reply = malloc(store_page_len + 1);
    memcpy(*reply, store_page, store_page_len);
    (*reply)[store_page_len] = '\0';
    *reply_len = store_page_len;
    return 0;
}

/* ----------------------------------------------------------------------- */

static struct mst_mock *mock;
static struct mst_host host;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mock = quiet_mock(&mestys_plugin, config, &host);
    host.http_route = fz_route;
    host.http_method = fz_method;
    host.http_path = fz_path;
    host.http_subpath = fz_subpath;
    host.http_query = fz_query;
    host.http_query_param = fz_query_param;
    host.http_header = fz_header;
    host.http_body = fz_body;
    host.http_set_header = fz_set_header;
    host.http_respond = fz_respond;
    host.http_peer = fz_peer;
    mst_mock_serve(mock, "store/query", store, NULL);
    void *state;
    if (mestys_plugin.init(mst_mock_instance(mock), &host, &state) != 0 ||
        (mestys_plugin.start && mestys_plugin.start(state) != 0))
        abort();
    return 0;
}

/* The route for path, as the core picks it ("x/ *" takes what is below x/). */
static int route_of(const char *path, const char **subpath)
{
    for (size_t i = 0; i < n_routes; i++) {
        const char *rp = routes[i].path;
        size_t n = strlen(rp);
        if (n >= 2 && strcmp(rp + n - 2, "/*") == 0) {
            if (strncmp(path, rp, n - 1) == 0) {
                *subpath = path + n - 1;
                return (int)i;
            }
        } else if (strcmp(path, rp) == 0) {
            *subpath = "";
            return (int)i;
        }
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 3);
    memcpy(text, data, size);
    text[size] = text[size + 1] = text[size + 2] = '\0';
    /* a NUL cannot come in a path or header: read each part up to it */
    char *path = text, *accept = path + strcspn(path, "\n");
    if (*accept)
        *accept++ = '\0';
    char *page = accept + strcspn(accept, "\n");
    if (*page)
        *page++ = '\0';
    store_page = page;
    store_page_len = size - (size_t)(page - text); /* page is at most text + size */
    char *query = strchr(path, '?');
    if (query)
        *query++ = '\0';
    struct mst_http_request req = {path, "", query ? query : "", accept, {0}, 0};
    int r = route_of(path, &req.subpath);
    if (r >= 0) {
        routes[r].cb(routes[r].arg, &req);
        if (!req.answered)
            abort(); /* the mock host runs work and store queries at once: an answer is due */
    }
    free(text);
    return 0;
}
