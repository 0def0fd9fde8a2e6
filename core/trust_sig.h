/* trust_sig.h - minisign public keys and signatures read and verified
 * (Ed25519 through OpenSSL 3; we sign nothing and write no crypto), and the
 * SHA-256 of an open file.  Pure: no loop, no daemon state, so it is
 * unit-tested against the real `minisign` binary and fuzzed alone.
 *
 * Formats (minisign 0.11, src/minisign.h):
 *   key  "untrusted comment: …\n" base64("Ed" ‖ key id[8] ‖ pk[32]) "\n"
 *   sig  "untrusted comment: …\n" base64(alg[2] ‖ key id[8] ‖ sig[64]) "\n"
 *        "trusted comment: TEXT\n" base64(global[64]) "\n"
 * where alg "ED" means sig is over BLAKE2b-512(message) (minisign's default
 * since 0.10), "Ed" over the message itself (`minisign -S -l`), and global
 * is over sig ‖ TEXT.  A line may end in CRLF (minisign trims it too). */
#ifndef MST__TRUST_SIG_H
#define MST__TRUST_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The longest trusted comment minisign writes or reads (TRUSTEDCOMMENTMAXBYTES
 * 8192, NUL included). */
#define MST__MSIG_COMMENT_MAX 8191

/* A minisign public key. */
struct mst__mkey {
    uint8_t id[8]; /* as in the file: minisign prints it as a little-endian u64 */
    uint8_t pk[32];
};

/* One .minisig file. */
struct mst__msig {
    uint8_t alg[2]; /* "ED" (prehashed) or "Ed" (legacy) */
    uint8_t key_id[8];
    uint8_t sig[64];
    char *trusted_comment; /* without its prefix and line end; NUL-terminated */
    uint8_t global[64];
};

/* Reads a .pub file's text (n bytes, NUL not needed).  0, or MST_EINVAL with
 * the reason appended to why (which line, what is wrong). */
int mst__mkey_parse(const char *text, size_t n, struct mst__mkey *out, struct mst__buf *why);
/* Reads a .minisig file's text.  0, or MST_EINVAL with the reason in why;
 * on success free with mst__msig_free (on failure nothing is held). */
int mst__msig_parse(const char *text, size_t n, struct mst__msig *out, struct mst__buf *why);
void mst__msig_free(struct mst__msig *s);
/* Checks s against the message msg of n bytes with key k, as `minisign -V`
 * does (both "ED" and "Ed" accepted): the key ids agree, the signature over
 * the message (or its BLAKE2b-512) verifies, and the global signature over
 * sig ‖ trusted comment verifies; both signatures are always required.
 * 0, or MST_EPERM with the reason in why (MST_ENOMEM if OpenSSL could not
 * allocate). */
int mst__msig_verify(const struct mst__msig *s, const struct mst__mkey *k, const void *msg, size_t n,
                     struct mst__buf *why);

/* The key id as minisign names it: 16 upper-case hex digits of the 8 id
 * bytes read as a little-endian u64 (minisign itself prints "%lX", without
 * leading zeros; we always print 16). */
void mst__key_id_hex(const uint8_t id[8], char out[17]);
/* The other way: 1 to 16 hex digits (either case, as minisign's own output
 * drops leading zeros) to the 8 id bytes.  0, or MST_EINVAL. */
int mst__key_id_parse(const char *hex, uint8_t id[8]);

/* SHA-256 of everything in fd from offset 0 (pread, so the file offset does
 * not move and the same fd can be used again).  0, MST_EIO (errno says why)
 * or MST_ENOMEM. */
int mst__sha256_fd(int fd, uint8_t out[32]);
/* Lower-case hex of n bytes; out holds 2n+1. */
void mst__hex(const uint8_t *b, size_t n, char *out);

#endif
