/* tlsfiles.h - the HTTPS certificate, key and client CA, checked before the start. */
#ifndef MST__TLSFILES_H
#define MST__TLSFILES_H

#include <stddef.h>

/* 0 if cert and key can be read, hold PEM and belong together; else a
 * negative MST_E* code, which_key set to 1 when the problem is the key's,
 * and why saying what is wrong in a sentence that names the file. */
int mst__tls_files_check(const char *cert, const char *key, int *which_key, char *why, size_t why_len);

/* 0 if ca can be read and holds at least one PEM certificate (the CAs
 * client certificates are verified against); else a negative MST_E* code
 * and why, naming the file. */
int mst__tls_ca_check(const char *ca, char *why, size_t why_len);

#endif
