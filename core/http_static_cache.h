/* http_static_cache.h - the bytes of served files kept in memory, with
 * their gzip form and ETag, so a page's files are read, hashed and
 * compressed once, not per request. */
#ifndef MST__HTTP_STATIC_CACHE_H
#define MST__HTTP_STATIC_CACHE_H

#include <stddef.h>
#include <sys/stat.h>

#include "list.h"
#include "metrics.h"
#include "strmap.h"

/* Bytes kept (files and their gzip forms together), and the largest file
 * kept: a bigger one is read for each request and not compressed. */
#define MST__STATIC_CACHE_BYTES ((size_t)32 << 20)
#define MST__STATIC_CACHE_FILE ((size_t)4 << 20)
/* Files larger than this are not served (404): a page's files are small,
 * and the loop reads a file whole. */
#define MST__STATIC_FILE_MAX ((size_t)64 << 20)

struct mst__static_entry {
    struct mst__list lru; /* least recently used first */
    char key[96];         /* dev:ino:size:mtime */
    char *data;
    size_t len;
    char *gz;             /* the gzip form, if smaller; NULL otherwise */
    size_t gz_len;
    int gz_tried;
    char etag[40];        /* "\"<32 hex>\"": SHA-256 of the content, cut */
    char etag_gz[44];     /* the gzip form's: another representation, another tag */
};

struct mst__static_cache {
    struct mst__strmap map;
    struct mst__list lru;
    size_t bytes;
    size_t limit;
    struct mst__static_entry *transient; /* a file too large to keep, freed at the next get */
    struct mst_metric *hits, *misses, *kept;
};

void mst__static_cache_init(struct mst__static_cache *c, struct mst__metrics *metrics);
/* The content of the regular file `file`, whose stat is *st: from memory
 * when (dev, ino, size, mtime) are the same, else read now.  Valid until the
 * next call.  NULL with errno set if it cannot be read. */
struct mst__static_entry *mst__static_cache_get(struct mst__static_cache *c, const char *file,
                                                const struct stat *st);
/* Compresses e once; 1 when a gzip form smaller than the file exists. */
int mst__static_cache_gzip(struct mst__static_cache *c, struct mst__static_entry *e);
void mst__static_cache_free(struct mst__static_cache *c);

#endif
