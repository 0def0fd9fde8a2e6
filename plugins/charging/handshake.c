/* handshake.c - who may open an OCPP connection, decided before the
 * WebSocket upgrade so a refused charger gets a real HTTP status.
 *
 * Security profiles (OCPP 1.6 security whitepaper):
 *   1  HTTP Basic: user = the charge point id, password set by the operator
 *   2  the same, over TLS only
 *   3  TLS with a client certificate the core verified against
 *      node.http.tls.client_ca, whose subject CN is the charge point id
 *
 * A password check is PBKDF2 (milliseconds of CPU on the loop), so a flood
 * of wrong passwords for one id is throttled: after auth_fail_limit wrong
 * ones in a minute, further attempts are refused 429 without hashing --
 * except the station's own password, recognised by the quick digest kept
 * when it last verified, so the real charger still gets in.  Refusals are
 * counted per reason, and logged at most once a minute per station (once a
 * minute in all for unknown ids): a peer must not be able to fill the log. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "charging.h"

#define WINDOW_MS 60000

const char *const chg_refusal_names[CHG_REF_COUNT] = {
    [CHG_REF_UNKNOWN_STATION] = "unknown_station", [CHG_REF_NO_PASSWORD_SET] = "no_password_set",
    [CHG_REF_NO_CREDENTIALS] = "no_credentials",   [CHG_REF_BAD_PASSWORD] = "bad_password",
    [CHG_REF_THROTTLED] = "throttled",             [CHG_REF_TLS_REQUIRED] = "tls_required",
    [CHG_REF_NO_CERTIFICATE] = "no_certificate",   [CHG_REF_WRONG_CERTIFICATE] = "wrong_certificate",
};

static const int refusal_status[CHG_REF_COUNT] = {
    [CHG_REF_UNKNOWN_STATION] = 404, [CHG_REF_NO_PASSWORD_SET] = 401, [CHG_REF_NO_CREDENTIALS] = 401,
    [CHG_REF_BAD_PASSWORD] = 401,    [CHG_REF_THROTTLED] = 429,       [CHG_REF_TLS_REQUIRED] = 403,
    [CHG_REF_NO_CERTIFICATE] = 401,  [CHG_REF_WRONG_CERTIFICATE] = 403,
};

/* "Basic base64(id:password)" decoded into buf; *password points into
 * it.  The user must be the charge point id, which may itself hold colons
 * (as ocpp-rpc allows), so the split is after the id, not at the first
 * colon.  0; 1 for another user; -1 if the header is not Basic. */
static int basic_credentials(const char *header, const char *id, char *buf, size_t size, const char **password)
{
    if (!header || strncasecmp(header, "Basic ", 6) != 0)
        return -1;
    const char *b64 = header + 6;
    while (*b64 == ' ')
        b64++;
    size_t n = strlen(b64);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 >= size)
        return -1;
    int len = EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)b64, (int)n);
    if (len < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding's zero bytes too */
    len -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
    buf[len] = '\0';
    if (memchr(buf, '\0', (size_t)len))
        return -1;
    size_t idlen = strlen(id);
    if (strncmp(buf, id, idlen) != 0 || buf[idlen] != ':')
        return 1;
    *password = buf + idlen + 1;
    return 0;
}

/* A wrong password: one more in this station's window. */
static void count_failure(struct chg_station *st, uint64_t now)
{
    if (now - st->fail_window >= WINDOW_MS) {
        st->fail_window = now;
        st->fails = 0;
    }
    st->fails++;
}

static enum chg_refusal check_password(struct charging *c, struct chg_station *st, const char *header,
                                       uint64_t now, int *ok)
{
    char buf[256];
    const char *password;
    *ok = 0;
    if (!st->password)
        return CHG_REF_NO_PASSWORD_SET;
    int form = basic_credentials(header, st->id, buf, sizeof buf, &password);
    if (form < 0)
        return CHG_REF_NO_CREDENTIALS;
    enum chg_refusal why = CHG_REF_BAD_PASSWORD;
    size_t len = form == 0 ? strlen(password) : 0;
    unsigned char quick[32];
    if (form != 0) {
        count_failure(st, now);
    } else if (st->has_verified && chg_password_quick(st->password, password, len, quick) == 0 &&
               CRYPTO_memcmp(quick, st->verified, sizeof quick) == 0) {
        *ok = 1;
    } else if (now - st->fail_window < WINDOW_MS && st->fails >= (unsigned)c->auth_fail_limit) {
        why = CHG_REF_THROTTLED;
    } else if (chg_password_verify(st->password, password, len) == 1) {
        st->has_verified = chg_password_quick(st->password, password, len, st->verified) == 0;
        *ok = 1;
    } else {
        count_failure(st, now);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return why;
}

/* The reason a registered station is refused, or CHG_REF_COUNT to accept. */
static enum chg_refusal judge(struct charging *c, struct chg_station *st, const struct chg_hello *h, uint64_t now)
{
    if (st->profile >= 2 && !h->tls)
        return CHG_REF_TLS_REQUIRED;
    if (st->profile == 3) {
        if (!h->client_cn)
            return CHG_REF_NO_CERTIFICATE;
        return strcmp(h->client_cn, st->id) == 0 ? CHG_REF_COUNT : CHG_REF_WRONG_CERTIFICATE;
    }
    int ok;
    enum chg_refusal why = check_password(c, st, h->authorization, now, &ok);
    return ok ? CHG_REF_COUNT : why;
}

static void log_refusal(struct charging *c, struct chg_station *st, const char *id, enum chg_refusal why,
                        uint64_t now)
{
    uint64_t *last = st ? &st->refusal_logged : &c->unknown_logged;
    if (*last && now - *last < WINDOW_MS)
        return;
    *last = now;
    if (st && why == CHG_REF_NO_PASSWORD_SET)
        c->host->log(c->inst, MST_LOG_WARN,
                     "charge point %s refused at the handshake: no_password_set; set one with POST"
                     " /api/%s/stations/%s/password {\"password\": ...} (further refusals for it are counted in"
                     " handshakes_refused_total, logged at most once a minute)",
                     st->id, c->host->instance_name(c->inst), st->id);
    else if (st)
        c->host->log(c->inst, MST_LOG_WARN,
                     "charge point %s refused at the handshake: %s (further refusals for it are counted in"
                     " handshakes_refused_total, logged at most once a minute)",
                     st->id, chg_refusal_names[why]);
    else
        c->host->log(c->inst, MST_LOG_WARN,
                     "a charge point with an unregistered id (%.48s) was refused (404); register it with POST"
                     " /api/%s/stations (unknown ids are logged at most once a minute)",
                     chg_station_id_valid(id) ? id : "not a valid id", c->host->instance_name(c->inst));
}

int chg_handshake_decide(struct charging *c, const struct chg_hello *h, struct chg_station **out,
                         enum chg_refusal *why)
{
    uint64_t now = c->host->now_ms(c->inst);
    struct chg_station *st = h->id && chg_station_id_valid(h->id) ? chg_station_find(c, h->id) : NULL;
    *out = NULL;
    enum chg_refusal r = st ? judge(c, st, h, now) : CHG_REF_UNKNOWN_STATION;
    if (r == CHG_REF_COUNT) {
        *out = st;
        return 0;
    }
    *why = r;
    c->host->metric_add(c->refused[r], 1);
    log_refusal(c, st, h->id ? h->id : "", r, now);
    return refusal_status[r];
}
