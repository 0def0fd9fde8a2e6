/* gwmp.h - the Semtech UDP packet forwarder protocol (GWMP) v1/v2:
 * PUSH_DATA/PUSH_ACK, PULL_DATA/PULL_ACK, PULL_RESP, TX_ACK. */
#ifndef LORA_GWMP_H
#define LORA_GWMP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum gwmp_kind {
    GWMP_PUSH_DATA = 0,
    GWMP_PUSH_ACK = 1,
    GWMP_PULL_DATA = 2,
    GWMP_PULL_RESP = 3,
    GWMP_PULL_ACK = 4,
    GWMP_TX_ACK = 5,
};

struct gwmp_packet {
    uint8_t version;      /* 1 or 2 */
    uint16_t token;
    enum gwmp_kind kind;
    uint64_t gateway_eui; /* PUSH_DATA, PULL_DATA, TX_ACK */
    const char *json;     /* PUSH_DATA, TX_ACK (may be absent) */
    size_t json_len;
};

/* One received LoRa packet of a PUSH_DATA's "rxpk" array. */
struct gwmp_rxpk {
    uint32_t tmst;
    double freq;
    int chan, rfch, stat, rssi;
    double lsnr;
    char datr[24];
    char codr[8];
    char time[40];
    uint8_t phy[256];
    size_t phy_len;
};

/* A PUSH_DATA's "stat" object: where the gateway is and what it counted. */
struct gwmp_stat {
    int has_location;
    double lat, lon, alt;
    double rxnb, rxok, rxfw, ackr, dwnb, txnb;
};

/* 0, or -1 with *why: truncated, unknown version or kind. */
int gwmp_parse(const uint8_t *buf, size_t len, struct gwmp_packet *p, const char **why);
/* The 4-byte PUSH_ACK / PULL_ACK for p. */
size_t gwmp_ack(const struct gwmp_packet *p, uint8_t out[4]);
/* One rxpk object; -1 with *why for missing fields, bad base64, size. */
int gwmp_parse_rxpk(const cJSON *rxpk, struct gwmp_rxpk *r, const char **why);
/* The stat object; -1 with *why for a number out of its range (a position
 * off the globe, a negative or over-32-bit counter, ackr over 100 %). */
int gwmp_parse_stat(const cJSON *stat, struct gwmp_stat *s, const char **why);
/* A PULL_RESP datagram carrying txpk JSON; returns its length or -1. */
int gwmp_pull_resp(uint8_t version, uint16_t token, const char *txpk_json, uint8_t *out, size_t out_len);

int gwmp_base64_decode(const char *in, uint8_t *out, size_t out_len);
/* Returns a malloc'd NUL-terminated string. */
char *gwmp_base64_encode(const uint8_t *in, size_t len);

#endif
