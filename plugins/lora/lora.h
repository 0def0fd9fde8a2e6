/* lora.h - the lora plugin's state, shared by its files:
 *   plugin.c   lifecycle, config, the device and gateway HTTP API
 *   uplink.c   datagrams in: GWMP, frames, dedup, decoding, publishing
 *   downlink.c datagrams out: ACKs and Join-accepts through PULL_RESP */
#ifndef LORA_LORA_H
#define LORA_LORA_H

#include <stdint.h>
#include <sys/socket.h>

#include <mestys/mestys.h>

#include "lorawan.h"
#include "registry.h"
#include "u64map.h"

/* Why an input was refused; each is a label of mestys_lora_rejected_total. */
enum lora_reject {
    REJ_DATAGRAM,      /* truncated, unknown version or kind */
    REJ_JSON,          /* PUSH_DATA JSON does not parse */
    REJ_RXPK,          /* rxpk fields missing, bad base64, size mismatch */
    REJ_CRC,           /* the gateway reports a bad CRC */
    REJ_FRAME,         /* not a well-formed LoRaWAN frame */
    REJ_UNKNOWN_DEVICE,/* no device with that DevAddr / DevEUI */
    REJ_MIC,           /* MIC does not verify with any candidate's key */
    REJ_REPLAY,        /* frame counter not above the last accepted one */
    REJ_DEVNONCE,      /* Join-request with a DevNonce used before */
    REJ_NO_DOWNLINK,   /* a downlink was due but the gateway never sent PULL_DATA */
    REJ_DECODER,       /* the payload decoder failed, looped or ran out of memory */
    REJ_UNKNOWN_GATEWAY, /* a packet from a gateway that is not registered */
    REJ_NO_MEMORY,     /* an uplink dropped because memory ran out */
    REJ_COUNTER_WRITE, /* uplinks held back: their frame counters could not be written */
    REJ_COUNT
};

/* A registered gateway (gateways.c) and what it has reported. */
struct gateway {
    uint64_t eui;
    char *name;
    struct sockaddr_storage pull_addr; /* where PULL_RESP goes */
    int has_pull_addr;
    uint8_t version;
    uint64_t last_seen_ms;
    uint64_t rx_packets, tx_packets;
    double lat, lon, alt;
    int has_location;
    mst_metric *rx_metric, *tx_metric, *last_seen_metric;
};

struct rx_gateway {
    uint64_t eui;
    int rssi;
    double snr;
    uint32_t tmst;
    double freq;
    char datr[24];
};

#define MAX_RX_GATEWAYS 8

/* How many unregistered gateways are named in the log (once each). */
#define LORA_STRANGERS_LOGGED 16

/* A frame accepted and waiting out the dedup window for its other copies.
 * It carries a copy of what finishing it needs from its device, because it
 * is finished on a worker thread while the registry may change. */
struct pending {
    struct pending *next;
    uint64_t key;
    uint64_t deadline_ms;
    struct device *dev; /* identity only, for dedup on the loop: never read on the worker */
    uint64_t dev_eui;
    uint32_t dev_addr;
    uint8_t nwk_skey[16], app_skey[16];
    char name[64];
    char tags[LORA_TAGS_MAX]; /* the device's tags as JSON, "" if none: they go on every reading */
    double lat, lon;
    int has_location;
    int cayenne;
    struct decoder *decoder; /* a Lua decoder, or NULL */
    uint32_t fcnt;
    uint32_t mic; /* a copy with the same MIC is the same frame: no CMAC for it */
    enum lw_mtype mtype;
    int has_port;
    uint8_t fport;
    uint8_t payload[256];
    size_t payload_len;
    int64_t received_at_ms; /* wall clock (or the gateway's, gateway_time_max_age_s) */
    double battery;         /* the decoded "battery" reading, if has_battery (status.c) */
    int has_battery;
    char battery_unit[16];
    uint64_t received_ns;   /* monotonic, for latency */
    int n_gw;
    struct rx_gateway gw[MAX_RX_GATEWAYS];
};

/* A Lua decoder, opened once and shared by the devices that name it. */
struct decoder {
    struct decoder *next;
    char *name; /* "lua:decoders/air-quality.lua" */
    mst_script *script; /* NULL if it could not be opened */
};

/* A downlink sent for RX1, kept until the gateway's TX_ACK: if RX1 could
 * not be sent (TOO_LATE, COLLISION...), it goes again in RX2. */
struct sent_downlink {
    uint16_t token;
    uint64_t gateway;
    uint32_t rx1_tmst;
    uint64_t sent_ms;
    uint8_t phy[64];
    size_t len;
};

#define MAX_SENT_DOWNLINKS 256

struct lora {
    mst_instance *inst;
    const struct mst_host *host;
    sqlite3 *db;
    sqlite3 *checkpoint_db; /* a second connection: checkpoints run on a worker */
    struct fcnt_writer fcnt; /* a third, for the finishing worker (registry.h) */
    int checkpointing;
    mst_timer *checkpoint_timer;
    struct registry reg;
    struct lw_crypto *crypto;
    mst_udp *udp;
    mst_timer *dedup_timer, *save_timer;
    struct u64map gateways;
    struct u64map pending_by_key;
    struct pending *head, *tail;
    struct pending *spare; /* finished entries, for reuse */
    struct lw_crypto *worker_crypto; /* contexts are per thread */
    int finishing;                    /* a finish job is on the worker */
    int64_t dedup_ms;
    uint32_t net_id;
    int64_t rx1_delay_s;
    double rx2_freq;
    const char *rx2_datr;
    int64_t max_payload;
    int64_t gateway_time_max_age_ms; /* 0: readings carry the server's time */
    unsigned logged; /* one bit per reject reason already logged */
    uint64_t strangers[LORA_STRANGERS_LOGGED]; /* unregistered gateways named in the log */
    unsigned n_strangers; /* at most LORA_STRANGERS_LOGGED */
    int strangers_untold;  /* the line saying further ones are only counted was written */
    struct decoder *decoders;
    struct sent_downlink sent[MAX_SENT_DOWNLINKS]; /* a ring, by token */
    mst_metric *rx2_fallbacks;

    mst_metric *rejected[REJ_COUNT];
    mst_metric *uplinks, *duplicates, *joins, *readings_metric, *downlinks, *latency;
    mst_metric *imports_refused;
};

/* uplink.c */
extern const char *const lora_reject_names[REJ_COUNT];
void lora_on_datagram(void *arg, mst_udp *sock, const void *data, size_t len, const struct sockaddr *from);
void lora_reject(struct lora *l, enum lora_reject why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* n inputs refused at once (a batch of uplinks), one log line. */
void lora_reject_n(struct lora *l, enum lora_reject why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void lora_drop_all_pending(struct lora *l);

/* finish.c: after the dedup window, on a worker thread: decrypt, decode,
 * write the JSON; back on the loop: publish, ACK, count. */
void lora_flush_pending(void *arg);
void lora_finish_all(struct lora *l);
struct decoder *lora_decoder(struct lora *l, const char *name);
int64_t lora_wall_ms(void);
uint64_t lora_mono_ns(void);
/* "2026-11-22T10:00:00.123Z"; safe on any thread. */
void lora_iso_time(int64_t ms, char out[32]);

/* status.c */
struct lpp_value;
/* An uplink of the device was published: its last seen and battery. */
void status_heard(struct device *d, const struct pending *p);
/* Finds the "battery" among a frame's decoded values (worker thread). */
void status_find_battery(struct pending *p, const struct lpp_value *v, int n);

/* gateways.c */
int gateways_open(struct lora *l, char **err);
void gateways_close(struct lora *l);
/* One gateway object or an array of them ({"gateway": EUI, "name", "lat",
 * "lon"}), all or nothing; on error *index is the entry and *why says why. */
int gateways_register_json(struct lora *l, const cJSON *list, int *index, const char **why);
int gateways_remove(struct lora *l, uint64_t eui);
/* The registered gateway a packet came from, marked as heard; NULL (counted,
 * and named in the log the first time) for a gateway that is not registered. */
struct gateway *gateways_heard(struct lora *l, uint64_t eui);
cJSON *gateway_json(const struct gateway *g);

/* downlink.c */
void lora_send_ack(struct lora *l, struct pending *p, struct device *d);
void lora_answer_join(struct lora *l, struct gateway *gw, const struct rx_gateway *rx, struct device *d,
                      uint16_t dev_nonce);
/* A TX_ACK: on an error for an RX1 downlink, sends it again in RX2. */
void lora_tx_ack(struct lora *l, struct gateway *gw, uint16_t token, const char *json, size_t len);

#endif
