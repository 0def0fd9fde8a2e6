/* fuzz_minisign_parse - a minisign public key and a .minisig file as the
 * trust folder and a bundle hand them over (core/trust_sig.c).  The text is
 * read both as a key and as a signature, from a buffer of exactly its size:
 * a refusal says why and holds nothing; what is accepted writes back in
 * minisign's own form and reads back the same.  An accepted signature is
 * verified with a fixed key over a fixed manifest (the seeds are that
 * key's real signatures, made by `minisign -S` and `-S -l`): it may only
 * pass with one of those signatures and trusted comments, never another. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <mestys/error.h>

#include "trust_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* `minisign -G -W` once; its signatures are the seeds (seeds.py) */
static const char KEY[] = "untrusted comment: minisign public key D06415ADA77151AD\n"
                          "RWStUXGnrRVk0EN3A0+YR3Oea7HvkSvinTARYHfgjGKuhTp7ejpT7SxY\n";
static const char MANIFEST[] = "{\n  \"name\": \"lora\"\n}\n";
static const char *const SIGNED_COMMENTS[] = {"release lora 1.2.0", "timestamp:1795813426\tfile:manifest.json"};

static void put_base64(struct mst__buf *b, const uint8_t *bin, size_t n)
{
    unsigned char out[160];
    EVP_EncodeBlock(out, bin, (int)n);
    mst__buf_printf(b, "%s\n", (char *)out);
}

static void check_key(const char *text, size_t n)
{
    struct mst__mkey k, again;
    struct mst__buf why = {0}, back = {0};
    int rc = mst__mkey_parse(text, n, &k, &why);
    if (rc != 0) {
        if (rc != MST_EINVAL || !why.data || !*why.data)
            abort();
        mst__buf_free(&why);
        return;
    }
    uint8_t raw[42] = {'E', 'd'};
    memcpy(raw + 2, k.id, 8);
    memcpy(raw + 10, k.pk, 32);
    mst__buf_puts(&back, "untrusted comment: again\n");
    put_base64(&back, raw, sizeof raw);
    if (mst__mkey_parse(back.data, back.len, &again, &why) != 0 || memcmp(&k, &again, sizeof k) != 0)
        abort();
    char hex[17];
    uint8_t id[8];
    mst__key_id_hex(k.id, hex);
    if (strlen(hex) != 16 || mst__key_id_parse(hex, id) != 0 || memcmp(id, k.id, 8) != 0)
        abort();
    mst__buf_free(&back);
    mst__buf_free(&why);
}

static void check_verify(const struct mst__msig *s)
{
    struct mst__mkey k;
    struct mst__buf why = {0};
    if (mst__mkey_parse(KEY, strlen(KEY), &k, &why) != 0)
        abort();
    int rc = mst__msig_verify(s, &k, MANIFEST, strlen(MANIFEST), &why);
    if (rc == MST_EPERM && why.data && *why.data) {
        mst__buf_free(&why);
        return;
    }
    if (rc != 0)
        abort();
    /* no forgery: only the comments the key really signed */
    int known = 0;
    for (size_t i = 0; i < sizeof SIGNED_COMMENTS / sizeof *SIGNED_COMMENTS; i++)
        known |= strcmp(s->trusted_comment, SIGNED_COMMENTS[i]) == 0;
    if (!known || memcmp(s->key_id, k.id, 8) != 0)
        abort();
}

static void check_sig(const char *text, size_t n)
{
    struct mst__msig s, again;
    struct mst__buf why = {0}, back = {0};
    int rc = mst__msig_parse(text, n, &s, &why);
    if (rc != 0) {
        if (rc != MST_EINVAL || !why.data || !*why.data || s.trusted_comment)
            abort();
        mst__buf_free(&why);
        return;
    }
    size_t tl = strlen(s.trusted_comment);
    if (s.alg[0] != 'E' || (s.alg[1] != 'D' && s.alg[1] != 'd') || tl > MST__MSIG_COMMENT_MAX ||
        strpbrk(s.trusted_comment, "\r\n"))
        abort();
    uint8_t raw[74];
    memcpy(raw, s.alg, 2);
    memcpy(raw + 2, s.key_id, 8);
    memcpy(raw + 10, s.sig, 64);
    mst__buf_puts(&back, "untrusted comment: again\n");
    put_base64(&back, raw, sizeof raw);
    mst__buf_printf(&back, "trusted comment: %s\n", s.trusted_comment);
    put_base64(&back, s.global, sizeof s.global);
    if (mst__msig_parse(back.data, back.len, &again, &why) != 0 || memcmp(again.alg, s.alg, 2) != 0 ||
        memcmp(again.key_id, s.key_id, 8) != 0 || memcmp(again.sig, s.sig, 64) != 0 ||
        memcmp(again.global, s.global, 64) != 0 || strcmp(again.trusted_comment, s.trusted_comment) != 0)
        abort();
    check_verify(&s);
    mst__msig_free(&again);
    mst__msig_free(&s);
    mst__buf_free(&back);
    mst__buf_free(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exactly size bytes, no NUL after them: a read past the end is caught */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    check_key(text, size);
    check_sig(text, size);
    free(text);
    /* the first line as a key id (minisign prints 1 to 16 hex digits) */
    char id_text[24] = "";
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n = nl ? (size_t)(nl - data) : size;
    if (n < sizeof id_text) {
        memcpy(id_text, data, n); /* a NUL inside ends it early: still a string */
        uint8_t id[8], again[8];
        char hex[17];
        if (mst__key_id_parse(id_text, id) == 0) {
            mst__key_id_hex(id, hex);
            if (mst__key_id_parse(hex, again) != 0 || memcmp(id, again, 8) != 0 || strlen(hex) != 16)
                abort();
        }
    }
    return 0;
}
