/* lorawan.h - LoRaWAN 1.0.x frames: parsing, MIC, payload encryption,
 * frame-counter reconstruction, OTAA join handling.  AES and CMAC come
 * from OpenSSL 3's libcrypto; nothing here does I/O. */
#ifndef LORA_LORAWAN_H
#define LORA_LORAWAN_H

#include <stddef.h>
#include <stdint.h>

enum lw_mtype {
    LW_JOIN_REQUEST = 0,
    LW_JOIN_ACCEPT = 1,
    LW_UNCONFIRMED_UP = 2,
    LW_UNCONFIRMED_DOWN = 3,
    LW_CONFIRMED_UP = 4,
    LW_CONFIRMED_DOWN = 5,
    LW_PROPRIETARY = 7,
};

#define LW_MAX_PHY 256

/* A data frame, as parsed; pointers point into the caller's buffer. */
struct lw_frame {
    enum lw_mtype mtype;
    uint32_t dev_addr;
    uint8_t fctrl;
    uint16_t fcnt16;
    const uint8_t *fopts;
    size_t fopts_len;
    int has_port;
    uint8_t fport;
    const uint8_t *payload; /* FRMPayload, still encrypted */
    size_t payload_len;
    uint32_t mic;
    const uint8_t *phy;     /* the whole PHYPayload */
    size_t phy_len;
};

struct lw_join_request {
    uint64_t join_eui;
    uint64_t dev_eui;
    uint16_t dev_nonce;
    uint32_t mic;
};

/* 0, or -1 with a reason a person understands in *why. */
int lw_parse_data(const uint8_t *phy, size_t len, struct lw_frame *f, const char **why);
int lw_parse_join_request(const uint8_t *phy, size_t len, struct lw_join_request *j, const char **why);
enum lw_mtype lw_mtype_of(uint8_t mhdr);

/* One per thread: fetched algorithms and reusable contexts. */
struct lw_crypto;
struct lw_crypto *lw_crypto_new(void);
void lw_crypto_free(struct lw_crypto *c);

/* The MIC of a data frame with its full 32-bit counter (dir 0 up, 1 down). */
int lw_data_mic(struct lw_crypto *c, const uint8_t nwk_skey[16], const uint8_t *msg, size_t msg_len,
                uint32_t dev_addr, uint32_t fcnt, int dir, uint32_t *mic);
/* Encrypts or decrypts FRMPayload in place (the same operation). */
int lw_crypt_payload(struct lw_crypto *c, const uint8_t key[16], uint8_t *data, size_t len,
                     uint32_t dev_addr, uint32_t fcnt, int dir);
int lw_join_mic(struct lw_crypto *c, const uint8_t app_key[16], const uint8_t *msg, size_t len,
                uint32_t *mic);
/* Session keys of LoRaWAN 1.0 OTAA. */
int lw_derive_keys(struct lw_crypto *c, const uint8_t app_key[16], uint32_t app_nonce, uint32_t net_id,
                   uint16_t dev_nonce, uint8_t nwk_skey[16], uint8_t app_skey[16]);
/* Builds an encrypted Join-accept PHYPayload (17 bytes, or 33 with a
 * CFList) into out; returns its length or -1. */
int lw_join_accept(struct lw_crypto *c, const uint8_t app_key[16], uint32_t app_nonce, uint32_t net_id,
                   uint32_t dev_addr, uint8_t dl_settings, uint8_t rx_delay, const uint8_t *cflist,
                   uint8_t *out, size_t out_len);
/* Builds a data frame of any direction (from mtype) into out: FCtrl as
 * given (e.g. 0x20 for ACK), FPort -1 for none, payload encrypted and the
 * MIC computed with the full counter.  Returns its length or -1. */
int lw_data_frame(struct lw_crypto *c, const uint8_t nwk_skey[16], const uint8_t app_skey[16], enum lw_mtype mtype,
                  uint32_t dev_addr, uint32_t fcnt, uint8_t fctrl, int fport, const uint8_t *payload, size_t len,
                  uint8_t *out, size_t out_len);

/* The 32-bit counter the 16 bits on the air most likely stand for, given
 * the last one accepted (LoRaWAN 1.0: the next one, within MAX_FCNT_GAP). */
uint32_t lw_fcnt_full(uint32_t last, uint16_t fcnt16);

#define LW_MAX_FCNT_GAP 16384

#endif
