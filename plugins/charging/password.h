/* password.h - charge point passwords (OCPP security profiles 1 and 2).
 *
 * Stored as "pbkdf2-sha256$<iterations>$<salt, 32 hex>$<hash, 64 hex>":
 * PBKDF2-HMAC-SHA256 over a random 16-byte salt, compared in constant
 * time.  The text never leaves the plugin (no API returns it, no log line
 * names it). */
#ifndef CHARGING_PASSWORD_H
#define CHARGING_PASSWORD_H

#include <stddef.h>

#define CHG_PASSWORD_TEXT 128 /* room for the stored form and its NUL */
#define CHG_PASSWORD_MIN 16   /* OCPP 1.6 security whitepaper: 16 to 40 characters */
#define CHG_PASSWORD_MAX 40

/* Hashes password with a fresh salt into out[CHG_PASSWORD_TEXT].  0, or
 * MST_EINVAL (length outside CHG_PASSWORD_MIN..MAX), MST_EIO (no random). */
int chg_password_hash(const char *password, size_t len, unsigned iterations, char out[CHG_PASSWORD_TEXT]);

/* 1 if password is the one `stored` was made from, 0 if not, MST_EINVAL if
 * stored is not in the form above. */
int chg_password_verify(const char *stored, const char *password, size_t len);

/* A quick digest of (salt, password): HMAC-SHA256 under a random key drawn
 * once per process.  Kept in memory after a successful PBKDF2 check, so a
 * station that logs in again (10,000 of them after a power cut, or one
 * while someone floods its id with wrong passwords) is recognised in
 * microseconds instead of PBKDF2's milliseconds of the loop.  0, MST_EINVAL
 * (stored not in the form above, or a password over CHG_PASSWORD_MAX: no
 * stored one is longer), MST_EIO (no random for the key). */
int chg_password_quick(const char *stored, const char *password, size_t len, unsigned char out[32]);

#endif
