/*
 * chain.c - the hash chain over sealed ballots: entry_0 = SHA-256("mestys
 * voting " || budget id), entry_i = SHA-256(entry_{i-1} || sealed_i), where
 * sealed_i is the ballot's line in the published list ("<receipt hash>;
 * <project ids>[;<points>]", UTF-8, no line end).  Pure: `mestys verify
 * voting` links this file and recomputes the same chain.
 */
#include <string.h>

#include <openssl/evp.h>

#include "voting.h"

/* SHA-256 of a || b (OpenSSL 3: EVP, the SHA256_* calls are deprecated). */
static void sha256_two(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 32;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(ctx, a, alen) != 1 ||
        EVP_DigestUpdate(ctx, b, blen) != 1 || EVP_DigestFinal_ex(ctx, out, &n) != 1)
        memset(out, 0, 32); /* out of memory: a link no ballot list matches, so verify says so */
    EVP_MD_CTX_free(ctx);
}

void vote_chain_start(const char *budget, unsigned char out[32])
{
    static const char prefix[] = "mestys voting ";
    sha256_two(prefix, sizeof prefix - 1, budget, strlen(budget), out);
}

void vote_chain_next(const unsigned char prev[32], const char *sealed, size_t len, unsigned char out[32])
{
    sha256_two(prev, 32, sealed, len, out);
}
