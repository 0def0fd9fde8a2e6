#include "lorawan.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct lw_crypto {
    EVP_MAC *mac;
    EVP_MAC_CTX *cmac;
    EVP_CIPHER_CTX *aes;
    OSSL_PARAM params[2];
};

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

enum lw_mtype lw_mtype_of(uint8_t mhdr)
{
    return (enum lw_mtype)(mhdr >> 5);
}

int lw_parse_data(const uint8_t *phy, size_t len, struct lw_frame *f, const char **why)
{
    memset(f, 0, sizeof *f);
    if (len < 12) {
        *why = "frame shorter than MHDR+FHDR+MIC (12 bytes)";
        return -1;
    }
    if ((phy[0] & 0x03) != 0) {
        *why = "not LoRaWAN R1 (MHDR major)";
        return -1;
    }
    f->mtype = lw_mtype_of(phy[0]);
    if (f->mtype < LW_UNCONFIRMED_UP || f->mtype > LW_CONFIRMED_DOWN) {
        *why = "not a data frame";
        return -1;
    }
    f->phy = phy;
    f->phy_len = len;
    f->dev_addr = le32(phy + 1);
    f->fctrl = phy[5];
    f->fcnt16 = (uint16_t)(phy[6] | phy[7] << 8);
    f->fopts_len = f->fctrl & 0x0f;
    f->fopts = phy + 8;
    size_t pos = 8 + f->fopts_len;
    if (pos + 4 > len) {
        *why = "FOptsLen runs past the end of the frame";
        return -1;
    }
    f->payload = phy + pos; /* even when empty: callers copy it (memcpy from NULL is undefined) */
    if (pos + 4 < len) {
        f->has_port = 1;
        f->fport = phy[pos++];
        f->payload = phy + pos;
        f->payload_len = len - 4 - pos;
        if (f->fport == 0 && f->fopts_len) {
            *why = "FPort 0 with FOpts";
            return -1;
        }
    }
    f->mic = le32(phy + len - 4);
    return 0;
}

int lw_parse_join_request(const uint8_t *phy, size_t len, struct lw_join_request *j, const char **why)
{
    if (len != 23 || lw_mtype_of(phy[0]) != LW_JOIN_REQUEST) {
        *why = "a Join-request is 23 bytes with MType 000";
        return -1;
    }
    j->join_eui = le64(phy + 1);
    j->dev_eui = le64(phy + 9);
    j->dev_nonce = (uint16_t)(phy[17] | phy[18] << 8);
    j->mic = le32(phy + 19);
    return 0;
}

struct lw_crypto *lw_crypto_new(void)
{
    struct lw_crypto *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    /* Fetched once: fetching per frame costs more than the CMAC itself. */
    c->mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    c->cmac = c->mac ? EVP_MAC_CTX_new(c->mac) : NULL;
    c->aes = EVP_CIPHER_CTX_new();
    c->params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0);
    c->params[1] = OSSL_PARAM_construct_end();
    if (!c->cmac || !c->aes) {
        lw_crypto_free(c);
        return NULL;
    }
    return c;
}

void lw_crypto_free(struct lw_crypto *c)
{
    if (!c)
        return;
    EVP_MAC_CTX_free(c->cmac);
    EVP_MAC_free(c->mac);
    EVP_CIPHER_CTX_free(c->aes);
    free(c);
}

static int cmac4(struct lw_crypto *c, const uint8_t key[16], const uint8_t *a, size_t alen,
                 const uint8_t *b, size_t blen, uint32_t *mic)
{
    uint8_t out[16];
    size_t n = 0;
    if (!EVP_MAC_init(c->cmac, key, 16, c->params) || (alen && !EVP_MAC_update(c->cmac, a, alen)) ||
        (blen && !EVP_MAC_update(c->cmac, b, blen)) || !EVP_MAC_final(c->cmac, out, &n, sizeof out))
        return -1;
    *mic = le32(out);
    return 0;
}

/* AES-128 of whole blocks, in ECB: encrypt (enc = 1) or decrypt (0). */
static int aes_ecb(struct lw_crypto *c, const uint8_t key[16], int enc, const uint8_t *in, uint8_t *out,
                   size_t len)
{
    int n = 0;
    if (!EVP_CipherInit_ex(c->aes, EVP_aes_128_ecb(), NULL, key, NULL, enc))
        return -1;
    EVP_CIPHER_CTX_set_padding(c->aes, 0);
    return EVP_CipherUpdate(c->aes, out, &n, in, (int)len) && (size_t)n == len ? 0 : -1;
}

static void block_b(uint8_t b[16], uint8_t first, int dir, uint32_t dev_addr, uint32_t fcnt, uint8_t last)
{
    memset(b, 0, 16);
    b[0] = first;
    b[5] = (uint8_t)dir;
    put_le32(b + 6, dev_addr);
    put_le32(b + 10, fcnt);
    b[15] = last;
}

int lw_data_mic(struct lw_crypto *c, const uint8_t nwk_skey[16], const uint8_t *msg, size_t msg_len,
                uint32_t dev_addr, uint32_t fcnt, int dir, uint32_t *mic)
{
    uint8_t b0[16];
    if (msg_len > 255)
        return -1;
    block_b(b0, 0x49, dir, dev_addr, fcnt, (uint8_t)msg_len);
    return cmac4(c, nwk_skey, b0, 16, msg, msg_len, mic);
}

int lw_crypt_payload(struct lw_crypto *c, const uint8_t key[16], uint8_t *data, size_t len,
                     uint32_t dev_addr, uint32_t fcnt, int dir)
{
    uint8_t a[16 * 16], s[16 * 16];
    size_t blocks = (len + 15) / 16;
    if (blocks == 0)
        return 0; /* an empty payload: nothing to cipher, no key stream to make */
    if (blocks > 16)
        return -1;
    for (size_t i = 0; i < blocks; i++)
        block_b(a + 16 * i, 0x01, dir, dev_addr, fcnt, (uint8_t)(i + 1));
    if (aes_ecb(c, key, 1, a, s, 16 * blocks) != 0)
        return -1;
    for (size_t i = 0; i < len; i++)
        data[i] ^= s[i];
    return 0;
}

int lw_join_mic(struct lw_crypto *c, const uint8_t app_key[16], const uint8_t *msg, size_t len, uint32_t *mic)
{
    return cmac4(c, app_key, msg, len, NULL, 0, mic);
}

int lw_derive_keys(struct lw_crypto *c, const uint8_t app_key[16], uint32_t app_nonce, uint32_t net_id,
                   uint16_t dev_nonce, uint8_t nwk_skey[16], uint8_t app_skey[16])
{
    uint8_t in[32] = {0}, out[32];
    for (int k = 0; k < 2; k++) {
        uint8_t *b = in + 16 * k;
        b[0] = (uint8_t)(k + 1);
        b[1] = (uint8_t)app_nonce, b[2] = (uint8_t)(app_nonce >> 8), b[3] = (uint8_t)(app_nonce >> 16);
        b[4] = (uint8_t)net_id, b[5] = (uint8_t)(net_id >> 8), b[6] = (uint8_t)(net_id >> 16);
        b[7] = (uint8_t)dev_nonce, b[8] = (uint8_t)(dev_nonce >> 8);
    }
    if (aes_ecb(c, app_key, 1, in, out, 32) != 0)
        return -1;
    memcpy(nwk_skey, out, 16);
    memcpy(app_skey, out + 16, 16);
    return 0;
}

int lw_join_accept(struct lw_crypto *c, const uint8_t app_key[16], uint32_t app_nonce, uint32_t net_id,
                   uint32_t dev_addr, uint8_t dl_settings, uint8_t rx_delay, const uint8_t *cflist,
                   uint8_t *out, size_t out_len)
{
    size_t len = cflist ? 33 : 17;
    if (out_len < len)
        return -1;
    uint8_t m[33];
    m[0] = (uint8_t)(LW_JOIN_ACCEPT << 5);
    m[1] = (uint8_t)app_nonce, m[2] = (uint8_t)(app_nonce >> 8), m[3] = (uint8_t)(app_nonce >> 16);
    m[4] = (uint8_t)net_id, m[5] = (uint8_t)(net_id >> 8), m[6] = (uint8_t)(net_id >> 16);
    put_le32(m + 7, dev_addr);
    m[11] = dl_settings;
    m[12] = rx_delay;
    if (cflist)
        memcpy(m + 13, cflist, 16);
    uint32_t mic;
    if (lw_join_mic(c, app_key, m, len - 4, &mic) != 0)
        return -1;
    put_le32(m + len - 4, mic);
    out[0] = m[0];
    /* The network encrypts with AES decrypt so the device needs only encrypt. */
    return aes_ecb(c, app_key, 0, m + 1, out + 1, len - 1) == 0 ? (int)len : -1;
}

int lw_data_frame(struct lw_crypto *c, const uint8_t nwk_skey[16], const uint8_t app_skey[16], enum lw_mtype mtype,
                  uint32_t dev_addr, uint32_t fcnt, uint8_t fctrl, int fport, const uint8_t *payload, size_t len,
                  uint8_t *out, size_t out_len)
{
    size_t total = 1 + 7 + (fport >= 0 ? 1 + len : 0) + 4;
    int dir = mtype == LW_UNCONFIRMED_DOWN || mtype == LW_CONFIRMED_DOWN;
    if (total > out_len || len > 242 || (fctrl & 0x0f))
        return -1;
    out[0] = (uint8_t)(mtype << 5);
    put_le32(out + 1, dev_addr);
    out[5] = fctrl;
    out[6] = (uint8_t)fcnt, out[7] = (uint8_t)(fcnt >> 8);
    size_t pos = 8;
    if (fport >= 0) {
        out[pos++] = (uint8_t)fport;
        memcpy(out + pos, payload, len);
        if (lw_crypt_payload(c, fport == 0 ? nwk_skey : app_skey, out + pos, len, dev_addr, fcnt, dir) != 0)
            return -1;
        pos += len;
    }
    uint32_t mic;
    if (lw_data_mic(c, nwk_skey, out, pos, dev_addr, fcnt, dir, &mic) != 0)
        return -1;
    put_le32(out + pos, mic);
    return (int)(pos + 4);
}

uint32_t lw_fcnt_full(uint32_t last, uint16_t fcnt16)
{
    uint32_t candidate = (last & 0xffff0000u) | fcnt16;
    if (candidate < last && (uint32_t)(last - candidate) > LW_MAX_FCNT_GAP)
        candidate += 0x10000u; /* the 16 bits wrapped */
    return candidate;
}
