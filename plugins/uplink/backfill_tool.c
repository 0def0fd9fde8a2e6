/*
 * mestys-uplink-backfill - `mestys region backfill --from DAY [--to DAY]`.
 *
 * The backfill runs in the daemon (its uplink pages through the store and
 * appends to the outbox); this tool starts it over the uplink's operator
 * route and prints the progress until it ends.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

struct answer {
    char *data;
    size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;
    if (a->len + len > (1u << 20))
        return 0;
    char *p = realloc(a->data, a->len + len + 1);
    if (!p)
        return 0;
    memcpy(p + a->len, data, len);
    a->len += len;
    p[a->len] = '\0';
    a->data = p;
    return len;
}

/* One request; the answer's JSON, or NULL with a message printed. */
static cJSON *call(const char *url, const char *token, const char *body, long *status)
{
    CURL *c = curl_easy_init();
    struct answer a = {0};
    struct curl_slist *h = NULL;
    char auth[600];
    cJSON *out = NULL;
    if (!c)
        return NULL;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    if (body) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        fprintf(stderr, "mestys region backfill: %s: %s\n", url, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    out = cJSON_ParseWithLength(a.data ? a.data : "", a.len);
    if (!out)
        fprintf(stderr, "mestys region backfill: %s answered %ld: %.200s\n", url, *status, a.data ? a.data : "");
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(a.data);
    return out;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: mestys region backfill --from YYYY-MM-DD [--to YYYY-MM-DD] [--url URL] [--token TOKEN]\n"
               "  refills the uplink's outbox from the town's store (days inclusive; --to defaults to today)\n"
               "  --url    the uplink instance's API (default http://127.0.0.1:8080/api/uplink)\n"
               "  --token  an operator token (default: $MESTYS_TOKEN)\n");
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"from", 1, 0, 'f'}, {"to", 1, 0, 't'},   {"url", 1, 0, 'u'},
                                         {"token", 1, 0, 'k'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *from = NULL, *to = NULL, *url = "http://127.0.0.1:8080/api/uplink", *token = getenv("MESTYS_TOKEN");
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'u': url = optarg; break;
        case 'k': token = optarg; break;
        case 'h': return usage(stdout, 0);
        default: return usage(stderr, 2);
        }
    }
    if (!from || !token || optind != argc)
        return usage(stderr, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char target[1024], body[128];
    snprintf(target, sizeof target, "%s/backfill", url);
    if (to)
        snprintf(body, sizeof body, "{\"from\":\"%.10s\",\"to\":\"%.10s\"}", from, to);
    else
        snprintf(body, sizeof body, "{\"from\":\"%.10s\"}", from);
    long status = 0;
    int rc = 1;
    cJSON *s = call(target, token, body, &status);
    if (s && status != 202) {
        fprintf(stderr, "mestys region backfill: refused (%ld): %s\n", status,
                *str(s, "error") ? str(s, "error") : str(s, "state"));
        goto out;
    }
    while (s && strcmp(str(s, "state"), "running") == 0) {
        printf("%s..%s: %.0f page(s), %.0f reading(s) so far\n", str(s, "from"), str(s, "to"), num(s, "pages"),
               num(s, "readings"));
        fflush(stdout);
        cJSON_Delete(s);
        nanosleep(&(struct timespec){0, 200000000}, NULL);
        s = call(target, token, NULL, &status);
    }
    if (!s)
        goto out;
    if (strcmp(str(s, "state"), "done") == 0) {
        printf("%s..%s: %.0f reading(s) in the outbox, on their way to the region\n", str(s, "from"),
               str(s, "to"), num(s, "readings"));
        rc = 0;
    } else {
        fprintf(stderr, "mestys region backfill: %s\n", str(s, "error"));
    }
out:
    cJSON_Delete(s);
    curl_global_cleanup();
    return rc;
}
