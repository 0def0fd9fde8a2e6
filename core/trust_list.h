/* trust_list.h - the region's revocation list: revoked key ids and, per
 * plugin, a lowest good version with a reason; a serial that only goes up
 * and an expiry.  Signed by the region's offline root key (root.pub). */
#ifndef MST__TRUST_LIST_H
#define MST__TRUST_LIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "trust_sig.h"
#include "util.h"

struct mst__trust_floor {
    char *name;
    char *version; /* NULL: every version is revoked */
    char *reason;
};

struct mst__revlist {
    int64_t serial;
    int64_t expires;  /* Unix seconds */
    char **revoked;   /* key ids, 16 upper-case hex digits */
    size_t n_revoked;
    struct mst__trust_floor *floors;
    size_t n_floors;
    char *bytes;      /* the file as signed, and its signature */
    size_t len;
    char *sig;
    size_t sig_len;
};

/* {"format":1,"serial":N,"expires":"YYYY-MM-DDTHH:MM:SSZ","revoked_keys":[...],
 *  "plugins":{"NAME":{"lowest_good_version":"X.Y.Z"|null,"reason":"..."}}} */
int mst__revlist_parse(const char *json, size_t n, struct mst__revlist *l, struct mst__buf *why);
void mst__revlist_free(struct mst__revlist *l);

/* Reads PATH and PATH.minisig, verifies them with root and parses.  With
 * `walk`, both files and their folders pass the permission walk first.
 * MST_ENOENT when PATH is not there. */
int mst__revlist_load(const char *path, const struct mst__mkey *root, uid_t uid, int walk,
                      struct mst__revlist *l, struct mst__buf *why);
/* The same from bytes in memory (mestys trust update reads a file given). */
int mst__revlist_verify(const char *json, size_t n, const char *sig, size_t sig_n, const struct mst__mkey *root,
                        struct mst__revlist *l, struct mst__buf *why);

/* Writes l (bytes and signature) as DIR/revocations.json(.minisig): a
 * temporary file, fsync, rename, then the folder fsynced. */
int mst__revlist_save(const char *dir, const struct mst__revlist *l, struct mst__buf *why);

int mst__revlist_key_revoked(const struct mst__revlist *l, const char *key_id);
const struct mst__trust_floor *mst__revlist_floor(const struct mst__revlist *l, const char *name);

#endif
