/* downlink.c - class A downlinks: an ACK for a confirmed uplink in RX1,
 * a Join-accept after JOIN_ACCEPT_DELAY1, both as PULL_RESP to the
 * gateway that heard the device best. */
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwmp.h"
#include "lora.h"

#define JOIN_ACCEPT_DELAY1_S 5

static const struct rx_gateway *best(const struct pending *p)
{
    const struct rx_gateway *b = &p->gw[0];
    for (int i = 1; i < p->n_gw; i++)
        if (p->gw[i].rssi > b->rssi)
            b = &p->gw[i];
    return b;
}

/* txpk at tmst + delay, on the uplink's frequency and data rate (EU868 RX1
 * with RX1DROffset 0). */
static uint16_t send_at(struct lora *l, struct gateway *gw, uint32_t tmst, double freq, const char *datr,
                        const uint8_t *phy, size_t len)
{
    char *b64 = gwmp_base64_encode(phy, len);
    char json[640];
    snprintf(json, sizeof json,
             "{\"txpk\":{\"imme\":false,\"tmst\":%" PRIu32 ",\"freq\":%.6f,\"rfch\":0,\"powe\":14,"
             "\"modu\":\"LORA\",\"datr\":\"%s\",\"codr\":\"4/5\",\"ipol\":true,\"size\":%zu,\"data\":\"%s\"}}",
             tmst, freq, datr, len, b64 ? b64 : "");
    free(b64);
    uint8_t dgram[700];
    uint16_t token;
    RAND_bytes((unsigned char *)&token, sizeof token);
    int n = gwmp_pull_resp(gw->version ? gw->version : 2, token, json, dgram, sizeof dgram);
    if (n > 0 && l->host->udp_send(l->udp, (const struct sockaddr *)&gw->pull_addr, dgram, (size_t)n) == 0) {
        gw->tx_packets++;
        l->host->metric_add(gw->tx_metric, 1);
        l->host->metric_add(l->downlinks, 1);
    }
    return token;
}

static void send_txpk(struct lora *l, struct gateway *gw, const struct rx_gateway *rx, uint32_t delay_s,
                      const uint8_t *phy, size_t len)
{
    if (!gw || !gw->has_pull_addr) {
        lora_reject(l, REJ_NO_DOWNLINK, "gateway %016" PRIX64 " has not sent PULL_DATA: no downlink path",
                    rx->eui);
        return;
    }
    uint32_t tmst = rx->tmst + delay_s * 1000000u;
    uint16_t token = send_at(l, gw, tmst, rx->freq, rx->datr, phy, len);
    struct sent_downlink *s = &l->sent[token % MAX_SENT_DOWNLINKS];
    if (len <= sizeof s->phy) {
        *s = (struct sent_downlink){token, gw->eui, tmst, l->host->now_ms(l->inst), {0}, len};
        memcpy(s->phy, phy, len);
    }
}

void lora_tx_ack(struct lora *l, struct gateway *gw, uint16_t token, const char *json, size_t len)
{
    struct sent_downlink *s = &l->sent[token % MAX_SENT_DOWNLINKS];
    int error = len && !memmem(json, len, "\"NONE\"", 6);
    if (!s->len || s->token != token || s->gateway != gw->eui) {
        if (error)
            l->host->log(l->inst, MST_LOG_WARN, "gateway %016" PRIX64 " could not send a downlink: %.*s", gw->eui,
                         (int)(len > 200 ? 200 : len), json);
        return;
    }
    if (error && gw->has_pull_addr) {
        /* RX2: one second after RX1, on the fixed RX2 channel */
        l->host->log(l->inst, MST_LOG_INFO, "gateway %016" PRIX64 " refused RX1 (%.*s): sending in RX2", gw->eui,
                     (int)(len > 120 ? 120 : len), json);
        send_at(l, gw, s->rx1_tmst + 1000000u, l->rx2_freq, l->rx2_datr, s->phy, s->len);
        l->host->metric_add(l->rx2_fallbacks, 1);
    }
    s->len = 0;
}

void lora_send_ack(struct lora *l, struct pending *p, struct device *d)
{
    uint8_t phy[32];
    int n = lw_data_frame(l->crypto, d->nwk_skey, d->app_skey, LW_UNCONFIRMED_DOWN, d->dev_addr, d->fcnt_down, 0x20,
                          -1, NULL, 0, phy, sizeof phy);
    if (n < 0)
        return;
    d->fcnt_down++;
    d->dirty = 1;
    const struct rx_gateway *rx = best(p);
    send_txpk(l, u64map_get(&l->gateways, rx->eui), rx, (uint32_t)l->rx1_delay_s, phy, (size_t)n);
}

void lora_answer_join(struct lora *l, struct gateway *gw, const struct rx_gateway *rx, struct device *d,
                      uint16_t dev_nonce)
{
    uint8_t rnd[7];
    RAND_bytes(rnd, sizeof rnd);
    uint32_t app_nonce = (uint32_t)rnd[0] | (uint32_t)rnd[1] << 8 | (uint32_t)rnd[2] << 16;
    /* DevAddr: the NetID's 7-bit NwkID on top, 25 random bits below */
    uint32_t dev_addr = (l->net_id & 0x7f) << 25 |
                        (((uint32_t)rnd[3] | (uint32_t)rnd[4] << 8 | (uint32_t)rnd[5] << 16 | (uint32_t)rnd[6] << 24) &
                         0x01ffffffu);
    uint8_t nwk[16], app[16], phy[33];
    if (lw_derive_keys(l->crypto, d->app_key, app_nonce, l->net_id, dev_nonce, nwk, app) != 0)
        return;
    int n = lw_join_accept(l->crypto, d->app_key, app_nonce, l->net_id, dev_addr, 0x00, (uint8_t)l->rx1_delay_s,
                           NULL, phy, sizeof phy);
    if (n < 0 || registry_set_session(&l->reg, d, dev_addr, nwk, app) != 0)
        return;
    l->host->metric_add(l->joins, 1);
    l->host->log(l->inst, MST_LOG_INFO, "device %016" PRIX64 " joined as %08" PRIX32, d->dev_eui, dev_addr);
    send_txpk(l, gw, rx, JOIN_ACCEPT_DELAY1_S, phy, (size_t)n);
}
