/* password.c - salted PBKDF2-HMAC-SHA256 for charge point passwords,
 * compared in constant time (CRYPTO_memcmp). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <mestys/error.h>

#include "password.h"

#define SALT 16
#define HASH 32
#define PREFIX "pbkdf2-sha256$"

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Exactly 2n lowercase hex digits followed by `end`. */
static int from_hex(const char *s, unsigned char *b, size_t n, char end)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_nibble(s[2 * i]), lo = hi < 0 ? -1 : hex_nibble(s[2 * i + 1]);
        if (lo < 0)
            return -1;
        b[i] = (unsigned char)(hi << 4 | lo);
    }
    return s[2 * n] == end ? 0 : -1;
}

/* The parts of a stored password. */
struct stored {
    unsigned iterations;
    unsigned char salt[SALT], hash[HASH];
};

static int parse(const char *text, struct stored *s)
{
    if (!text || strncmp(text, PREFIX, sizeof PREFIX - 1) != 0)
        return MST_EINVAL;
    const char *p = text + sizeof PREFIX - 1;
    char *end;
    unsigned long it = strtoul(p, &end, 10);
    if (end == p || *end != '$' || it < 1 || it > 10000000)
        return MST_EINVAL;
    s->iterations = (unsigned)it;
    p = end + 1;
    if (from_hex(p, s->salt, SALT, '$') != 0 || from_hex(p + 2 * SALT + 1, s->hash, HASH, '\0') != 0)
        return MST_EINVAL;
    return 0;
}

static int derive(const char *password, size_t len, const struct stored *s, unsigned char out[HASH])
{
    return PKCS5_PBKDF2_HMAC(password, (int)len, s->salt, SALT, (int)s->iterations, EVP_sha256(), HASH, out) == 1
               ? 0
               : MST_ENOMEM;
}

int chg_password_hash(const char *password, size_t len, unsigned iterations, char out[CHG_PASSWORD_TEXT])
{
    if (len < CHG_PASSWORD_MIN || len > CHG_PASSWORD_MAX || iterations < 1)
        return MST_EINVAL;
    struct stored s = {.iterations = iterations};
    if (RAND_bytes(s.salt, SALT) != 1)
        return MST_EIO;
    unsigned char hash[HASH];
    int rc = derive(password, len, &s, hash);
    if (rc != 0)
        return rc;
    char salt_hex[2 * SALT + 1], hash_hex[2 * HASH + 1];
    to_hex(s.salt, SALT, salt_hex);
    to_hex(hash, HASH, hash_hex);
    snprintf(out, CHG_PASSWORD_TEXT, PREFIX "%u$%s$%s", iterations, salt_hex, hash_hex);
    OPENSSL_cleanse(hash, sizeof hash);
    return 0;
}

int chg_password_verify(const char *stored, const char *password, size_t len)
{
    struct stored s;
    unsigned char hash[HASH];
    if (parse(stored, &s) != 0)
        return MST_EINVAL;
    /* a password of any length is hashed: its length tells nothing apart */
    if (derive(password, len, &s, hash) != 0)
        return 0;
    int same = CRYPTO_memcmp(hash, s.hash, HASH) == 0;
    OPENSSL_cleanse(hash, sizeof hash);
    return same;
}

/* The quick digest's key: random, drawn once per process, never stored,
 * so a digest seen outside this process (a core file, a leaked page) is
 * no shortcut to a dictionary attack. */
static unsigned char quick_key[32];
static int quick_key_ok;
static pthread_once_t quick_once = PTHREAD_ONCE_INIT;

static void quick_key_init(void)
{
    quick_key_ok = RAND_bytes(quick_key, sizeof quick_key) == 1;
}

int chg_password_quick(const char *stored, const char *password, size_t len, unsigned char out[32])
{
    struct stored s;
    unsigned char msg[SALT + CHG_PASSWORD_MAX];
    unsigned n = 0;
    if (parse(stored, &s) != 0 || len > CHG_PASSWORD_MAX)
        return MST_EINVAL;
    pthread_once(&quick_once, quick_key_init);
    if (!quick_key_ok)
        return MST_EIO;
    memcpy(msg, s.salt, SALT);
    memcpy(msg + SALT, password, len);
    int ok = HMAC(EVP_sha256(), quick_key, sizeof quick_key, msg, SALT + len, out, &n) != NULL && n == 32;
    OPENSSL_cleanse(msg, sizeof msg);
    return ok ? 0 : MST_ENOMEM;
}
