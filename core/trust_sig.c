/* trust_sig.c - minisign keys and signatures, read strictly and verified
 * with OpenSSL 3's Ed25519 (EVP_DigestVerify, one-shot: Ed25519 takes no
 * digest and no Update).  The formats are minisign 0.11's (see the header);
 * what minisign itself would refuse is refused here too, and a little more:
 * base64 must be canonical (the only form minisign writes) and nothing but
 * empty lines may follow the last line, so one file has one reading. */
#include "trust_sig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <mestys/error.h>

#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
/* minisign reads an untrusted comment into COMMENTMAXBYTES (1024, NUL included) */
#define UNTRUSTED_MAX 1023

#define KEY_BYTES 42 /* "Ed" ‖ key id[8] ‖ pk[32] */
#define SIG_BYTES 74 /* alg[2] ‖ key id[8] ‖ sig[64] */
#define GLOBAL_BYTES 64

/* A cursor over the file's lines. */
struct lines {
    const char *p, *end;
    int no; /* the number of the line last taken, from 1 */
};

/* Takes the next line (without its LF, or its CRLF as minisign's trim()
 * allows) into *s, *n.  0 at the end of the text, 1 for a line, -1 when the
 * line holds a NUL or a CR other than before its LF (reason in why). */
static int next_line(struct lines *l, const char **s, size_t *n, struct mst__buf *why)
{
    if (l->p >= l->end)
        return 0;
    const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
    const char *stop = nl ? nl : l->end;
    *s = l->p;
    *n = (size_t)(stop - l->p);
    l->p = nl ? nl + 1 : l->end;
    l->no++;
    if (*n > 0 && (*s)[*n - 1] == '\r')
        (*n)--;
    for (size_t i = 0; i < *n; i++) {
        if ((*s)[i] == '\r' || (*s)[i] == '\0') {
            mst__buf_printf(why, "line %d: a %s inside the line", l->no, (*s)[i] ? "carriage return" : "NUL byte");
            return -1;
        }
    }
    return 1;
}

/* The next line, which must be there: what it should hold names it. */
static int need_line(struct lines *l, const char **s, size_t *n, const char *what, struct mst__buf *why)
{
    int rc = next_line(l, s, n, why);
    if (rc == 0)
        mst__buf_printf(why, "line %d missing: expected %s", l->no + 1, what);
    return rc == 1 ? 0 : MST_EINVAL;
}

/* After the last line only empty lines may follow. */
static int no_more_lines(struct lines *l, struct mst__buf *why)
{
    const char *s;
    size_t n;
    int rc;
    while ((rc = next_line(l, &s, &n, why)) == 1) {
        if (n > 0) {
            mst__buf_printf(why, "line %d: text after the last line", l->no);
            return MST_EINVAL;
        }
    }
    return rc == 0 ? 0 : MST_EINVAL;
}

static int has_prefix(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

static int untrusted_comment(struct lines *l, struct mst__buf *why)
{
    const char *s;
    size_t n;
    if (need_line(l, &s, &n, "\"" UNTRUSTED_PREFIX "…\"", why) != 0)
        return MST_EINVAL;
    if (!has_prefix(s, n, UNTRUSTED_PREFIX)) {
        mst__buf_printf(why, "line %d: does not start with \"" UNTRUSTED_PREFIX "\"", l->no);
        return MST_EINVAL;
    }
    if (n > UNTRUSTED_MAX) {
        mst__buf_printf(why, "line %d: the untrusted comment is longer than %d bytes", l->no, UNTRUSTED_MAX);
        return MST_EINVAL;
    }
    return 0;
}

/* Exactly `want` bytes from one line of canonical base64 (the only form
 * minisign writes): the length, the alphabet, the padding and the unused
 * low bits are all checked by encoding the result again and comparing. */
static int base64_line(struct lines *l, uint8_t *out, size_t want, const char *what, struct mst__buf *why)
{
    const char *s;
    size_t n;
    if (need_line(l, &s, &n, what, why) != 0)
        return MST_EINVAL;
    size_t chars = (want + 2) / 3 * 4;
    if (n != chars) {
        mst__buf_printf(why, "line %d: %s is %zu base64 characters, expected %zu", l->no, what, n, chars);
        return MST_EINVAL;
    }
    unsigned char bin[(KEY_BYTES > SIG_BYTES ? KEY_BYTES : SIG_BYTES) + 3];
    unsigned char again[sizeof bin / 3 * 4 + 1];
    int got = EVP_DecodeBlock(bin, (const unsigned char *)s, (int)n);
    if (got < 0 || (size_t)got != chars / 4 * 3 ||
        EVP_EncodeBlock(again, bin, (int)want) != (int)chars || memcmp(again, s, chars) != 0) {
        mst__buf_printf(why, "line %d: %s is not canonical base64", l->no, what);
        return MST_EINVAL;
    }
    memcpy(out, bin, want);
    return 0;
}

/* Two algorithm bytes for a message: printable as they are, else in hex. */
static void put_alg(struct mst__buf *b, const uint8_t alg[2])
{
    if (alg[0] >= 0x21 && alg[0] < 0x7f && alg[1] >= 0x21 && alg[1] < 0x7f)
        mst__buf_printf(b, "\"%c%c\"", alg[0], alg[1]);
    else
        mst__buf_printf(b, "0x%02x%02x", alg[0], alg[1]);
}

int mst__mkey_parse(const char *text, size_t n, struct mst__mkey *out, struct mst__buf *why)
{
    struct lines l = {text, text + n, 0};
    uint8_t raw[KEY_BYTES];
    memset(out, 0, sizeof *out);
    if (untrusted_comment(&l, why) != 0 || base64_line(&l, raw, sizeof raw, "the public key", why) != 0)
        return MST_EINVAL;
    /* minisign's pubkey_load_string insists on "Ed", prehashed signatures too */
    if (raw[0] != 'E' || raw[1] != 'd') {
        mst__buf_printf(why, "line %d: the key's algorithm is ", l.no);
        put_alg(why, raw);
        mst__buf_puts(why, ", expected \"Ed\"");
        return MST_EINVAL;
    }
    if (no_more_lines(&l, why) != 0)
        return MST_EINVAL;
    memcpy(out->id, raw + 2, sizeof out->id);
    memcpy(out->pk, raw + 10, sizeof out->pk);
    return 0;
}

static int trusted_comment(struct lines *l, struct mst__msig *out, struct mst__buf *why)
{
    const char *s;
    size_t n;
    if (need_line(l, &s, &n, "\"" TRUSTED_PREFIX "…\"", why) != 0)
        return MST_EINVAL;
    if (!has_prefix(s, n, TRUSTED_PREFIX)) {
        mst__buf_printf(why, "line %d: does not start with \"" TRUSTED_PREFIX "\"", l->no);
        return MST_EINVAL;
    }
    size_t k = strlen(TRUSTED_PREFIX);
    if (n - k > MST__MSIG_COMMENT_MAX) {
        mst__buf_printf(why, "line %d: the trusted comment is longer than %d bytes", l->no, MST__MSIG_COMMENT_MAX);
        return MST_EINVAL;
    }
    out->trusted_comment = mst__xstrndup(s + k, n - k);
    return 0;
}

int mst__msig_parse(const char *text, size_t n, struct mst__msig *out, struct mst__buf *why)
{
    struct lines l = {text, text + n, 0};
    uint8_t raw[SIG_BYTES];
    memset(out, 0, sizeof *out);
    if (untrusted_comment(&l, why) != 0 || base64_line(&l, raw, sizeof raw, "the signature", why) != 0)
        goto fail;
    if (raw[0] != 'E' || (raw[1] != 'D' && raw[1] != 'd')) {
        mst__buf_printf(why, "line %d: the signature's algorithm is ", l.no);
        put_alg(why, raw);
        mst__buf_puts(why, ", expected \"ED\" or \"Ed\"");
        goto fail;
    }
    if (trusted_comment(&l, out, why) != 0 ||
        base64_line(&l, out->global, sizeof out->global, "the global signature", why) != 0 ||
        no_more_lines(&l, why) != 0)
        goto fail;
    memcpy(out->alg, raw, 2);
    memcpy(out->key_id, raw + 2, sizeof out->key_id);
    memcpy(out->sig, raw + 10, sizeof out->sig);
    return 0;
fail:
    mst__msig_free(out);
    return MST_EINVAL;
}

void mst__msig_free(struct mst__msig *s)
{
    free(s->trusted_comment);
    memset(s, 0, sizeof *s);
}

/* One Ed25519 check: *ok is 1 when sig is pk's signature of msg.  0, or
 * MST_ENOMEM; a key OpenSSL will not take counts as a failed check. */
static int ed25519_check(const uint8_t pk[32], const uint8_t sig[64], const void *msg, size_t n, int *ok)
{
    int rc = 0;
    *ok = 0;
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
    if (!key)
        goto out;
    if (!(ctx = EVP_MD_CTX_new())) {
        rc = MST_ENOMEM;
        goto out;
    }
    /* the digest must be NULL for Ed25519 */
    *ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
          EVP_DigestVerify(ctx, sig, 64, (const unsigned char *)msg, n) == 1;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return rc;
}

/* The file signature: over BLAKE2b-512(msg) for "ED", over msg for "Ed". */
static int file_signature_ok(const struct mst__msig *s, const struct mst__mkey *k, const void *msg, size_t n,
                             int *ok)
{
    if (s->alg[1] == 'd')
        return ed25519_check(k->pk, s->sig, msg, n, ok);
    unsigned char h[64];
    unsigned int hl = 0;
    if (!EVP_Digest(msg, n, h, &hl, EVP_blake2b512(), NULL) || hl != sizeof h) {
        *ok = 0;
        return 0;
    }
    return ed25519_check(k->pk, s->sig, h, sizeof h, ok);
}

/* The global signature: over sig ‖ the trusted comment's bytes. */
static int global_signature_ok(const struct mst__msig *s, const struct mst__mkey *k, int *ok)
{
    size_t tl = strlen(s->trusted_comment);
    uint8_t *both = mst__xmalloc(sizeof s->sig + tl);
    memcpy(both, s->sig, sizeof s->sig);
    memcpy(both + sizeof s->sig, s->trusted_comment, tl);
    int rc = ed25519_check(k->pk, s->global, both, sizeof s->sig + tl, ok);
    free(both);
    return rc;
}

int mst__msig_verify(const struct mst__msig *s, const struct mst__mkey *k, const void *msg, size_t n,
                     struct mst__buf *why)
{
    if (memcmp(s->key_id, k->id, sizeof k->id) != 0) {
        char a[17], b[17];
        mst__key_id_hex(s->key_id, a);
        mst__key_id_hex(k->id, b);
        mst__buf_printf(why, "signed by key %s, not by key %s", a, b);
        return MST_EPERM;
    }
    if (s->alg[0] != 'E' || (s->alg[1] != 'D' && s->alg[1] != 'd')) {
        mst__buf_puts(why, "unknown signature algorithm ");
        put_alg(why, s->alg);
        return MST_EPERM;
    }
    int ok, rc = file_signature_ok(s, k, msg, n, &ok);
    if (rc != 0)
        return rc;
    if (!ok) {
        mst__buf_printf(why, "the %s signature does not match the file", s->alg[1] == 'D' ? "prehashed" : "legacy");
        return MST_EPERM;
    }
    /* both are required: a changed file leaves the global signature valid,
     * and a changed trusted comment leaves the file signature valid */
    if ((rc = global_signature_ok(s, k, &ok)) != 0)
        return rc;
    if (!ok) {
        mst__buf_puts(why, "the global signature does not match the trusted comment");
        return MST_EPERM;
    }
    return 0;
}

void mst__key_id_hex(const uint8_t id[8], char out[17])
{
    static const char hex[] = "0123456789ABCDEF";
    /* little-endian: the last byte holds the most significant digits */
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hex[id[7 - i] >> 4];
        out[2 * i + 1] = hex[id[7 - i] & 15];
    }
    out[16] = '\0';
}

int mst__key_id_parse(const char *hex, uint8_t id[8])
{
    size_t n = strlen(hex);
    if (n == 0 || n > 16)
        return MST_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = mst__hex_value((unsigned char)hex[i]);
        if (d < 0)
            return MST_EINVAL;
        v = v << 4 | (uint64_t)d;
    }
    for (int i = 0; i < 8; i++)
        id[i] = (uint8_t)(v >> (8 * i));
    return 0;
}

int mst__sha256_fd(int fd, uint8_t out[32])
{
    int rc = 0, err = 0;
    unsigned char chunk[32768];
    unsigned int len = 0;
    off_t at = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return MST_ENOMEM;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = MST_ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t got = pread(fd, chunk, sizeof chunk, at);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            err = errno;
            rc = MST_EIO;
            goto out;
        }
        if (got == 0)
            break;
        if (EVP_DigestUpdate(ctx, chunk, (size_t)got) != 1) {
            rc = MST_ENOMEM;
            goto out;
        }
        at += got;
    }
    if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32)
        rc = MST_ENOMEM;
out:
    EVP_MD_CTX_free(ctx);
    if (err)
        errno = err; /* the caller names the file with the system's reason */
    return rc;
}

void mst__hex(const uint8_t *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}
