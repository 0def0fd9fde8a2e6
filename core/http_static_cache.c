/* http_static_cache.c - served files kept in memory.  Keyed by what says a
 * file changed (device, inode, size, modification time in ns), so an edited
 * or replaced file is read again at once, and the old copy ages out of the
 * LRU.  Bounded by MST__STATIC_CACHE_BYTES; a lookup that hits costs a
 * stat, no read. */
#include "http_static_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "util.h"

void mst__static_cache_init(struct mst__static_cache *c, struct mst__metrics *metrics)
{
    memset(c, 0, sizeof *c);
    mst__list_init(&c->lru);
    c->limit = MST__STATIC_CACHE_BYTES;
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_http_static_cache_total",
                     "static file lookups answered from memory (hit) or read from disk (miss)",
                     "result=\"hit\"", &c->hits);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_http_static_cache_total", NULL, "result=\"miss\"",
                     &c->misses);
    mst__metrics_get(metrics, MST_METRIC_GAUGE, "mestys_http_static_cache_bytes",
                     "bytes of static files (and their gzip forms) kept in memory", "", &c->kept);
}

static void entry_free(struct mst__static_entry *e)
{
    if (!e)
        return;
    free(e->data);
    free(e->gz);
    free(e);
}

static void make_key(char *key, size_t n, const struct stat *st)
{
    snprintf(key, n, "%llx:%llx:%llx:%lld.%09ld", (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino, (unsigned long long)st->st_size, (long long)st->st_mtim.tv_sec,
             st->st_mtim.tv_nsec);
}

static void evict(struct mst__static_cache *c, struct mst__static_entry *keep)
{
    while (c->bytes > c->limit && !mst__list_empty(&c->lru)) {
        struct mst__static_entry *old = mst__container_of(c->lru.next, struct mst__static_entry, lru);
        if (old == keep)
            break;
        mst__list_remove(&old->lru);
        mst__strmap_del(&c->map, old->key);
        c->bytes -= old->len + old->gz_len;
        entry_free(old);
    }
    mst__metric_set(c->kept, (double)c->bytes);
}

/* Reads the file whole; the size it has now must be the size stat saw
 * (else it changed meanwhile: read on the next request). */
static int read_whole(const char *file, const struct stat *st, char **out)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    size_t want = (size_t)st->st_size, got = 0;
    char *data = mst__xmalloc(want ? want : 1);
    int rc = -1;
    while (got < want) {
        ssize_t n = read(fd, data + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        got += (size_t)n;
    }
    rc = 0;
out:
    close(fd);
    if (rc != 0) {
        free(data);
        errno = errno ? errno : EIO;
        return -1;
    }
    *out = data;
    return 0;
}

static void make_etag(struct mst__static_entry *e)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    char h[33];
    if (!EVP_Digest(e->data, e->len, md, &n, EVP_sha256(), NULL) || n < 16)
        memset(md, 0, 16);
    for (int i = 0; i < 16; i++) {
        h[2 * i] = hex[md[i] >> 4];
        h[2 * i + 1] = hex[md[i] & 15];
    }
    h[32] = '\0';
    snprintf(e->etag, sizeof e->etag, "\"%s\"", h);
    snprintf(e->etag_gz, sizeof e->etag_gz, "\"%s-gz\"", h);
}

struct mst__static_entry *mst__static_cache_get(struct mst__static_cache *c, const char *file,
                                                const struct stat *st)
{
    entry_free(c->transient);
    c->transient = NULL;
    char key[96];
    make_key(key, sizeof key, st);
    struct mst__static_entry *e = mst__strmap_get(&c->map, key);
    if (e) {
        mst__metric_add(c->hits, 1);
        mst__list_remove(&e->lru);
        mst__list_push(&c->lru, &e->lru); /* to the tail: the most recently used */
        return e;
    }
    mst__metric_add(c->misses, 1);
    e = mst__xcalloc(1, sizeof *e);
    mst__list_init(&e->lru);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->len = (size_t)st->st_size;
    if (read_whole(file, st, &e->data) != 0) {
        free(e);
        return NULL;
    }
    make_etag(e);
    if (e->len > MST__STATIC_CACHE_FILE) {
        /* too large to keep: served from this copy, freed at the next get */
        c->transient = e;
        e->gz_tried = 1; /* not compressed: that would be per request */
        return e;
    }
    mst__strmap_put(&c->map, e->key, e);
    mst__list_push(&c->lru, &e->lru);
    c->bytes += e->len;
    evict(c, e);
    return e;
}

int mst__static_cache_gzip(struct mst__static_cache *c, struct mst__static_entry *e)
{
    if (e->gz_tried)
        return e->gz != NULL;
    e->gz_tried = 1;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    uLong bound = deflateBound(&z, (uLong)e->len);
    char *out = mst__xmalloc(bound);
    z.next_in = (Bytef *)e->data;
    z.avail_in = (uInt)e->len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t n = bound - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END || n >= e->len) {
        free(out);
        return 0;
    }
    e->gz = out;
    e->gz_len = n;
    c->bytes += n;
    evict(c, e);
    return 1;
}

void mst__static_cache_free(struct mst__static_cache *c)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &c->lru)
    {
        mst__list_remove(pos);
        entry_free(mst__container_of(pos, struct mst__static_entry, lru));
    }
    mst__strmap_free(&c->map, NULL);
    entry_free(c->transient);
    c->transient = NULL;
    c->bytes = 0;
}
