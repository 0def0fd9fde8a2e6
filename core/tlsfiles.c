/* tlsfiles.c - the HTTPS certificate and key, and the CA client
 * certificates are verified against, checked with the config.
 *
 * libwebsockets reads them only when the HTTP server starts, after every
 * plugin has been initialised, and says little more than "failed" (of a CA
 * file it cannot load, not even that).  Reading them here lets `mestys
 * check` and every (re)load refuse a missing, unreadable, non-PEM or
 * mismatched file, naming the file and the reason.
 */
#include "tlsfiles.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mestys/error.h>

#include "util.h"

/* An encrypted key would make OpenSSL ask for a passphrase on the
 * terminal; the daemon has none to give, so say so instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static FILE *open_pem(const char *path, const char *what, char *why, size_t why_len, int *rc)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        *rc = mst__errno_code(errno);
        snprintf(why, why_len, "cannot read the %s %s: %s", what, path, strerror(errno));
    }
    return f;
}

int mst__tls_files_check(const char *cert, const char *key, int *which_key, char *why, size_t why_len)
{
    int rc = 0;
    X509 *x = NULL;
    EVP_PKEY *pk = NULL;
    *which_key = 0;
    FILE *f = open_pem(cert, "certificate", why, why_len, &rc);
    if (!f)
        goto out;
    x = PEM_read_X509(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!x) {
        rc = MST_EINVAL;
        snprintf(why, why_len, "%s holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")", cert);
        goto out;
    }
    *which_key = 1;
    f = open_pem(key, "private key", why, why_len, &rc);
    if (!f)
        goto out;
    pk = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!pk) {
        rc = MST_EINVAL;
        snprintf(why, why_len, "%s holds no PEM private key the daemon can use (missing, or encrypted with a "
                 "passphrase)", key);
        goto out;
    }
    if (X509_check_private_key(x, pk) != 1) {
        rc = MST_EINVAL;
        snprintf(why, why_len, "the private key %s does not belong to the certificate %s", key, cert);
    }
out:
    ERR_clear_error(); /* what OpenSSL queued is said above, in words */
    EVP_PKEY_free(pk);
    X509_free(x);
    return rc;
}

int mst__tls_ca_check(const char *ca, char *why, size_t why_len)
{
    int rc = 0;
    FILE *f = open_pem(ca, "client CA file", why, why_len, &rc);
    if (!f)
        return rc;
    X509 *x = PEM_read_X509(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!x) {
        rc = MST_EINVAL;
        snprintf(why, why_len, "%s holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")", ca);
    }
    ERR_clear_error();
    X509_free(x);
    return rc;
}
