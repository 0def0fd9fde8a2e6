/*
 * code.c - one-time voting codes and receipts, as people read and type them.
 *
 * Both are Crockford base32 (no I, L, O, U: nothing to misread; typed I and
 * L read as 1, O as 0, lower case as upper), in groups of five:
 *   code     XXXXX-XXXXX-XXXXX-XXXXX-XXXXC  24 random symbols (120 bits) and
 *            a check symbol C: the symbols as a polynomial over GF(32)
 *            evaluated at a primitive element, so every single mistyped
 *            symbol and every swap of two neighbours is caught before it
 *            counts as a wrong code (tests/unit/test_voting_codes.c)
 *   receipt  XXXXX-XXXXX-XXXXX-XXXXX-XXXXX  25 random symbols (125 bits)
 * Only SHA-256 of a code's canonical text is stored.  Pure: the verify tool
 * links this file too.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/sha.h>

#include "voting.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define CODE_SYMBOLS 24
#define RECEIPT_SYMBOLS 25

static int symbol_value(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    if (c == 'I' || c == 'L')
        c = '1';
    if (c == 'O')
        c = '0';
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* a * x in GF(32) = GF(2)[x] / (x^5 + x^2 + 1), where x is primitive
 * (order 31): the weights x^0..x^23 are distinct and non-zero, so one
 * changed symbol changes the sum, and so does a swap of two neighbours
 * (their difference times x^k + x^(k+1), both non-zero). */
static unsigned times_x(unsigned a)
{
    a <<= 1;
    return a & 32 ? a ^ 0x25 : a;
}

/* C = sum of s_i x^(n-i): the whole code then sums to zero with weights
 * x^n..x^0, the check symbol's own included (so a swap of the last symbol
 * with the check symbol is caught too). */
static char check_symbol(const char *canonical, size_t n)
{
    unsigned c = 0;
    for (size_t i = 0; i < n; i++) /* Horner */
        c = times_x(c ^ (unsigned)symbol_value(canonical[i]));
    return alphabet[c];
}

/* n random symbols into out (no NUL). */
static int random_symbols(char *out, size_t n)
{
    unsigned char bytes[32];
    if (n > sizeof bytes || getrandom(bytes, n, 0) != (ssize_t)n)
        return MST_EIO;
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[bytes[i] & 31]; /* 5 of a byte's 8 bits: uniform */
    return 0;
}

/* "ABCDEFGHIJ..." to "ABCDE-FGHIJ-...". */
static void grouped(const char *canonical, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && i % 5 == 0)
            out[o++] = '-';
        out[o++] = canonical[i];
    }
    out[o] = '\0';
}

int vote_code_new(char out[VOTE_CODE_LEN + 1])
{
    char c[CODE_SYMBOLS + 1];
    int rc = random_symbols(c, CODE_SYMBOLS);
    if (rc != 0)
        return rc;
    c[CODE_SYMBOLS] = check_symbol(c, CODE_SYMBOLS);
    grouped(c, CODE_SYMBOLS + 1, out);
    return 0;
}

int vote_receipt_new(char out[VOTE_RECEIPT_LEN + 1])
{
    char c[RECEIPT_SYMBOLS];
    int rc = random_symbols(c, RECEIPT_SYMBOLS);
    if (rc == 0)
        grouped(c, RECEIPT_SYMBOLS, out);
    return rc;
}

/* Canonical symbols of typed text, dashes and white space dropped (a code
 * pasted from the letters' CSV, whose lines end in CR LF, or with a
 * newline); -1 if a character is not base32 or there are not exactly n. */
static int canonical(const char *typed, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    if (!typed || outlen <= n)
        return -1;
    for (const char *p = typed; *p; p++) {
        if (*p == '-' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            continue;
        int v = symbol_value(*p);
        if (v < 0 || o == n)
            return -1;
        out[o++] = alphabet[v];
    }
    out[o] = '\0';
    return o == n ? 0 : -1;
}

int vote_code_normalise(const char *typed, char *out, size_t outlen)
{
    if (canonical(typed, CODE_SYMBOLS + 1, out, outlen) != 0)
        return -1;
    return check_symbol(out, CODE_SYMBOLS) == out[CODE_SYMBOLS] ? 0 : -1;
}

int vote_receipt_normalise(const char *typed, char *out, size_t outlen)
{
    return canonical(typed, RECEIPT_SYMBOLS, out, outlen);
}

void vote_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void vote_hash_hex(const char *text, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)text, strlen(text), md);
    vote_hex(md, sizeof md, out);
}
