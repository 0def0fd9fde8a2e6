/* uplink.c - from a gateway's datagram to `lora/uplink` and `reading`. */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <mestys/time.h>

#include "cayenne.h"
#include "gwmp.h"
#include "lora.h"
#include "text.h"

const char *const lora_reject_names[REJ_COUNT] = {
    "datagram", "json", "rxpk", "crc", "frame", "unknown_device", "mic", "replay", "devnonce", "no_downlink",
    "decoder", "unknown_gateway", "no_memory", "counter_write",
};

static void reject(struct lora *l, enum lora_reject why, size_t n, const char *fmt, va_list ap)
{
    l->host->metric_add(l->rejected[why], (double)n);
    /* once per reason at warning level; the counter tells the rest */
    enum mst_log_level level = (l->logged & (1u << why)) ? MST_LOG_DEBUG : MST_LOG_WARN;
    l->logged |= 1u << why;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    l->host->log(l->inst, level, "refused (%s): %s%s", lora_reject_names[why], msg,
                 level == MST_LOG_WARN ? " (further ones are counted in /metrics)" : "");
}

void lora_reject(struct lora *l, enum lora_reject why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reject(l, why, 1, fmt, ap);
    va_end(ap);
}

void lora_reject_n(struct lora *l, enum lora_reject why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reject(l, why, n, fmt, ap);
    va_end(ap);
}

/* --- gateways ------------------------------------------------------------ */

/* A gateway's `stat` object becomes `lora/gateway` on the bus. */
static void gateway_stat(struct lora *l, struct gateway *g, const cJSON *stat)
{
    struct gwmp_stat s;
    const char *why;
    if (gwmp_parse_stat(stat, &s, &why) != 0) {
        lora_reject(l, REJ_JSON, "gateway %016" PRIX64 ": %s", g->eui, why);
        return;
    }
    if (s.has_location) {
        g->lat = s.lat;
        g->lon = s.lon;
        g->alt = s.alt;
        g->has_location = 1;
    }
    struct text t = {0};
    char seen[32];
    lora_iso_time((int64_t)g->last_seen_ms, seen);
    put(&t, "{\"gateway\":\"%016" PRIX64 "\",\"last_seen\":\"%s\",\"rxnb\":%.0f,\"rxok\":%.0f,\"rxfw\":%.0f,"
            "\"ackr\":%g,\"dwnb\":%.0f,\"txnb\":%.0f",
        g->eui, seen, s.rxnb, s.rxok, s.rxfw, s.ackr, s.dwnb, s.txnb);
    if (g->has_location)
        put(&t, ",\"lat\":%.6f,\"lon\":%.6f,\"alt\":%.1f", g->lat, g->lon, g->alt);
    put(&t, "}");
    if (!t.failed)
        l->host->publish(l->inst, "lora/gateway", t.p, t.len);
    free(t.p);
}

/* --- data frames ---------------------------------------------------------- */

static uint64_t dedup_key(const struct device *d, uint32_t fcnt)
{
    return d->dev_eui * 0x9E3779B97F4A7C15ull ^ fcnt;
}

static int mic_ok(struct lora *l, const struct lw_frame *f, const struct device *d, uint32_t fcnt)
{
    uint32_t mic;
    return lw_data_mic(l->crypto, d->nwk_skey, f->phy, f->phy_len - 4, f->dev_addr, fcnt, 0, &mic) == 0 &&
           mic == f->mic;
}

static void add_gateway(struct pending *p, uint64_t eui, const struct gwmp_rxpk *r)
{
    if (p->n_gw == MAX_RX_GATEWAYS)
        return;
    struct rx_gateway *g = &p->gw[p->n_gw++];
    g->eui = eui;
    g->rssi = r->rssi;
    g->snr = r->lsnr;
    g->tmst = r->tmst;
    g->freq = r->freq;
    memcpy(g->datr, r->datr, sizeof g->datr);
}

/* The time a frame's readings carry: the server's clock, or, when the town
 * trusts its gateways' GPS (gateway_time_max_age_s), the rxpk "time" the
 * gateway stamped: the frame's time on the air, also for a frame a gateway
 * held back while its backhaul was down.  A time in the future (more than
 * a few seconds) or older than the limit is not believed. */
static int64_t reading_time(const struct lora *l, const struct gwmp_rxpk *r)
{
    int64_t now = lora_wall_ms(), t;
    if (l->gateway_time_max_age_ms <= 0 || !r->time[0] || mst_time_parse(r->time, &t) != 0)
        return now;
    return t <= now + 5000 && t >= now - l->gateway_time_max_age_ms ? t : now;
}

static void data_frame(struct lora *l, uint64_t gw_eui, const struct gwmp_rxpk *r)
{
    struct lw_frame f;
    const char *why;
    if (lw_parse_data(r->phy, r->phy_len, &f, &why) != 0) {
        lora_reject(l, REJ_FRAME, "gateway %016" PRIX64 ": %s", gw_eui, why);
        return;
    }
    struct device *dev = registry_by_addr(&l->reg, f.dev_addr);
    if (!dev) {
        lora_reject(l, REJ_UNKNOWN_DEVICE, "no device has DevAddr %08" PRIX32, f.dev_addr);
        return;
    }
    /* A copy from another gateway, within the window: same device, same
     * counter, same MIC.  Checked before any CMAC, which it makes needless. */
    for (struct device *d = dev; d; d = d->next_same_addr) {
        if (d->fcnt_up < 0)
            continue;
        uint32_t full = lw_fcnt_full((uint32_t)d->fcnt_up, f.fcnt16);
        struct pending *p = u64map_get(&l->pending_by_key, dedup_key(d, full));
        if (p && p->dev == d && p->fcnt == full && p->mic == f.mic) {
            add_gateway(p, gw_eui, r);
            l->host->metric_add(l->duplicates, 1);
            return;
        }
    }
    struct device *match = NULL;
    uint32_t fcnt = 0;
    int reset = 0;
    for (struct device *d = dev; d && !match; d = d->next_same_addr) {
        fcnt = d->fcnt_up < 0 ? f.fcnt16 : lw_fcnt_full((uint32_t)d->fcnt_up, f.fcnt16);
        if (mic_ok(l, &f, d, fcnt))
            match = d;
        else if (d->relax_fcnt && mic_ok(l, &f, d, f.fcnt16))
            match = d, fcnt = f.fcnt16, reset = 1;
    }
    if (!match) {
        lora_reject(l, REJ_MIC, "DevAddr %08" PRIX32 " FCnt %u: the MIC does not verify", f.dev_addr, f.fcnt16);
        return;
    }
    uint64_t key = dedup_key(match, fcnt);
    struct pending *p = u64map_get(&l->pending_by_key, key);
    if (p && p->dev == match && p->fcnt == fcnt) {
        add_gateway(p, gw_eui, r); /* the same frame through another gateway */
        l->host->metric_add(l->duplicates, 1);
        return;
    }
    if (match->fcnt_up >= 0 && fcnt <= (uint32_t)match->fcnt_up && !(reset && fcnt < (uint32_t)match->fcnt_up)) {
        lora_reject(l, REJ_REPLAY, "device %016" PRIX64 ": FCnt %u, last accepted %" PRId64, match->dev_eui, fcnt,
                    match->fcnt_up);
        return;
    }
    struct decoder *decoder = NULL;
    if (match->decoder && strncmp(match->decoder, "lua:", 4) == 0 && !(decoder = lora_decoder(l, match->decoder))) {
        lora_reject(l, REJ_NO_MEMORY, "device %016" PRIX64 " FCnt %u: no memory for its decoder", match->dev_eui, fcnt);
        return;
    }
    /* recycled: one per uplink at tens of thousands a second */
    if (l->spare) {
        p = l->spare;
        l->spare = p->next;
        memset(p, 0, sizeof *p);
    } else if (!(p = calloc(1, sizeof *p))) {
        lora_reject(l, REJ_NO_MEMORY, "device %016" PRIX64 " FCnt %u: no memory to hold the frame", match->dev_eui,
                    fcnt);
        return;
    }
    if (u64map_put(&l->pending_by_key, key, p) != 0) {
        free(p);
        lora_reject(l, REJ_NO_MEMORY, "device %016" PRIX64 " FCnt %u: no memory to hold the frame", match->dev_eui,
                    fcnt);
        return;
    }
    if (reset)
        l->host->log(l->inst, MST_LOG_INFO, "device %016" PRIX64 " restarted its frame counter (relax_fcnt)",
                     match->dev_eui);
    /* in memory at once, so copies and replays meet it; in the registry
     * before the uplink is published (finish.c) */
    match->fcnt_up = fcnt;
    p->key = key;
    p->dev = match;
    p->fcnt = fcnt;
    p->mic = f.mic;
    p->dev_eui = match->dev_eui;
    p->dev_addr = match->dev_addr;
    memcpy(p->nwk_skey, match->nwk_skey, 16);
    memcpy(p->app_skey, match->app_skey, 16);
    if (match->name)
        snprintf(p->name, sizeof p->name, "%s", match->name);
    if (match->tags)
        snprintf(p->tags, sizeof p->tags, "%s", match->tags);
    p->has_location = match->has_location;
    p->lat = match->lat;
    p->lon = match->lon;
    p->cayenne = match->decoder && strcmp(match->decoder, "cayenne") == 0;
    p->decoder = decoder;
    p->mtype = f.mtype;
    p->has_port = f.has_port;
    p->fport = f.fport;
    p->payload_len = f.payload_len;
    memcpy(p->payload, f.payload, f.payload_len);
    p->received_at_ms = reading_time(l, r);
    p->received_ns = lora_mono_ns();
    p->deadline_ms = l->host->now_ms(l->inst) + (uint64_t)l->dedup_ms;
    add_gateway(p, gw_eui, r);
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
}

static void join_request(struct lora *l, struct gateway *gw, const struct gwmp_rxpk *r)
{
    struct lw_join_request j;
    const char *why;
    if (lw_parse_join_request(r->phy, r->phy_len, &j, &why) != 0) {
        lora_reject(l, REJ_FRAME, "gateway %016" PRIX64 ": %s", gw->eui, why);
        return;
    }
    struct device *d = registry_by_eui(&l->reg, j.dev_eui);
    if (!d || !d->has_app_key || (d->join_eui && d->join_eui != j.join_eui)) {
        lora_reject(l, REJ_UNKNOWN_DEVICE, "Join-request from unknown DevEUI %016" PRIX64 " (JoinEUI %016" PRIX64 ")",
                    j.dev_eui, j.join_eui);
        return;
    }
    uint32_t mic;
    if (lw_join_mic(l->crypto, d->app_key, r->phy, 19, &mic) != 0 || mic != j.mic) {
        lora_reject(l, REJ_MIC, "Join-request from %016" PRIX64 ": the MIC does not verify", j.dev_eui);
        return;
    }
    if (registry_dev_nonce_used(&l->reg, j.dev_eui, j.dev_nonce)) {
        /* also every extra copy of the same request from another gateway */
        lora_reject(l, REJ_DEVNONCE, "Join-request from %016" PRIX64 ": DevNonce %04X was used before", j.dev_eui,
                    j.dev_nonce);
        return;
    }
    struct rx_gateway rx = {gw->eui, r->rssi, r->lsnr, r->tmst, r->freq, {0}};
    memcpy(rx.datr, r->datr, sizeof rx.datr);
    lora_answer_join(l, gw, &rx, d, j.dev_nonce);
}

static void rxpk(struct lora *l, struct gateway *gw, const cJSON *o)
{
    struct gwmp_rxpk r;
    const char *why;
    if (gwmp_parse_rxpk(o, &r, &why) != 0) {
        lora_reject(l, REJ_RXPK, "gateway %016" PRIX64 ": %s", gw->eui, why);
        return;
    }
    gw->rx_packets++;
    l->host->metric_add(gw->rx_metric, 1);
    if (r.stat == -1) {
        lora_reject(l, REJ_CRC, "gateway %016" PRIX64 " reports a bad CRC", gw->eui);
        return;
    }
    if (r.phy_len > (size_t)l->max_payload + 13) {
        lora_reject(l, REJ_FRAME, "gateway %016" PRIX64 ": %zu-byte frame is over the limit", gw->eui, r.phy_len);
        return;
    }
    switch (lw_mtype_of(r.phy[0])) {
    case LW_JOIN_REQUEST: join_request(l, gw, &r); break;
    case LW_UNCONFIRMED_UP:
    case LW_CONFIRMED_UP: data_frame(l, gw->eui, &r); break;
    default: lora_reject(l, REJ_FRAME, "gateway %016" PRIX64 ": not an uplink (MType %d)", gw->eui,
                         lw_mtype_of(r.phy[0]));
    }
}

static void push_data(struct lora *l, struct gateway *gw, const struct gwmp_packet *pk)
{
    cJSON *root = cJSON_ParseWithLength(pk->json, pk->json_len);
    if (!cJSON_IsObject(root)) {
        lora_reject(l, REJ_JSON, "gateway %016" PRIX64 ": PUSH_DATA JSON does not parse", pk->gateway_eui);
        cJSON_Delete(root);
        return;
    }
    const cJSON *stat = cJSON_GetObjectItemCaseSensitive(root, "stat");
    if (cJSON_IsObject(stat))
        gateway_stat(l, gw, stat);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "rxpk"), *o;
    cJSON_ArrayForEach(o, list) rxpk(l, gw, o);
    cJSON_Delete(root);
}

void lora_on_datagram(void *arg, mst_udp *sock, const void *data, size_t len, const struct sockaddr *from)
{
    struct lora *l = arg;
    struct gwmp_packet pk;
    const char *why;
    if (gwmp_parse(data, len, &pk, &why) != 0) {
        lora_reject(l, REJ_DATAGRAM, "%zu-byte datagram: %s", len, why);
        return;
    }
    if (pk.kind != GWMP_PUSH_DATA && pk.kind != GWMP_PULL_DATA && pk.kind != GWMP_TX_ACK) {
        lora_reject(l, REJ_DATAGRAM, "a gateway sent packet kind %d, which only servers send", pk.kind);
        return;
    }
    /* a gateway that is not registered gets no answer and leaves nothing behind */
    struct gateway *gw = gateways_heard(l, pk.gateway_eui);
    if (!gw)
        return;
    gw->version = pk.version;
    uint8_t ack[4];
    switch (pk.kind) {
    case GWMP_PUSH_DATA:
        /* acknowledge first: the forwarder's statistics count late ACKs as lost */
        l->host->udp_send(sock, from, ack, gwmp_ack(&pk, ack));
        push_data(l, gw, &pk);
        break;
    case GWMP_PULL_DATA:
        memcpy(&gw->pull_addr, from, from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                 : sizeof(struct sockaddr_in));
        gw->has_pull_addr = 1;
        l->host->udp_send(sock, from, ack, gwmp_ack(&pk, ack));
        break;
    default: /* GWMP_TX_ACK */
        lora_tx_ack(l, gw, pk.token, pk.json, pk.json_len);
        break;
    }
}
