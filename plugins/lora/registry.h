/* registry.h - the devices this network server knows, kept in the
 * plugin's SQLite file and cached in memory for the per-frame path.
 * Keys go in and are used; the HTTP API never gives them back. */
#ifndef LORA_REGISTRY_H
#define LORA_REGISTRY_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdint.h>

#include "u64map.h"

/* Tags travel with every reading: they are kept short. */
#define LORA_TAGS_MAX 256

struct device {
    uint64_t dev_eui;
    uint64_t join_eui;
    uint8_t app_key[16];
    int has_app_key;      /* OTAA */
    uint32_t dev_addr;
    int has_session;      /* ABP, or joined */
    uint8_t nwk_skey[16];
    uint8_t app_skey[16];
    int64_t fcnt_up;      /* last accepted, -1: none yet */
    uint32_t fcnt_down;
    int relax_fcnt;       /* ABP that resets its counter on reboot */
    char *name;
    char *decoder;        /* "cayenne", "none" */
    double lat, lon;
    int has_location;
    char *tags;           /* JSON object text, shorter than LORA_TAGS_MAX */
    int dirty;            /* FCntDown changed: written every save_ms (FCntUp: see fcnt_writer) */
    /* status.c: last heard and battery (written by the fcnt_writer) */
    int64_t last_seen_ms; /* wall clock of its newest uplink, 0: never */
    double battery;
    int has_battery;
    char battery_unit[16];
    struct device *next_same_addr;
};

struct registry {
    sqlite3 *db;
    sqlite3_stmt *upsert, *save_counters, *remove, *nonce_seen, *nonce_add;
    sqlite3_stmt *status_remove; /* status.c */
    struct u64map by_eui;  /* dev_eui -> device */
    struct u64map by_addr; /* dev_addr -> first device with it */
};

int registry_open(struct registry *r, sqlite3 *db, char **err);
void registry_close(struct registry *r);

/* Creates or updates a device from JSON (the API's and the config's shape).
 * On error *why says which field and nothing changed. */
int registry_upsert_json(struct registry *r, const cJSON *dev, const char **why, struct device **out);
/* Only the checks of registry_upsert_json: nothing changes. */
int registry_check_json(const cJSON *dev, const char **why);
int registry_remove(struct registry *r, uint64_t dev_eui);
/* Rebuilds the cache from the file (after a rolled-back import), keeping
 * the in-memory counters of sessions that did not change. */
int registry_reload(struct registry *r, char **err);
struct device *registry_by_eui(struct registry *r, uint64_t dev_eui);
struct device *registry_by_addr(struct registry *r, uint32_t dev_addr);
/* A joined device's new session. */
int registry_set_session(struct registry *r, struct device *d, uint32_t dev_addr, const uint8_t nwk[16],
                         const uint8_t app[16]);
/* 1 if this DevNonce was used by the device before (and records it if not). */
int registry_dev_nonce_used(struct registry *r, uint64_t dev_eui, uint16_t nonce);
/* Writes the counters of every dirty device in one transaction. */
int registry_flush(struct registry *r);
/* Frame counters written before their uplinks are published, on the
 * finishing worker, through a connection of their own that syncs each
 * commit: a frame whose uplink was published is never accepted again, even
 * after kill -9 or a power cut. */
struct fcnt_writer {
    sqlite3 *db;
    sqlite3_stmt *update;
    sqlite3_stmt *status; /* status.c: last seen and battery, in the same transaction */
};

int fcnt_writer_open(struct fcnt_writer *w, sqlite3 *db);
void fcnt_writer_close(struct fcnt_writer *w);
int fcnt_writer_begin(struct fcnt_writer *w);
/* The last accepted FCntUp of the session with that DevAddr. */
int fcnt_writer_put(struct fcnt_writer *w, uint64_t dev_eui, uint32_t dev_addr, uint32_t fcnt_up);
/* Commits if rc is 0, else rolls back; returns 0 or MST_EDB. */
int fcnt_writer_end(struct fcnt_writer *w, int rc);

/* The device as the API shows it: no keys. */
cJSON *registry_device_json(const struct device *d);

/* status.c: the device_status table (last seen, battery) */
int status_open(struct registry *r); /* after the devices are loaded: fills in their status */
void status_close(struct registry *r);
/* In the fcnt_writer's transaction (the finishing worker): the uplink's
 * time and, if it had one, its battery reading. */
int status_writer_open(struct fcnt_writer *w);
int status_write(struct fcnt_writer *w, const char *eui, int64_t seen_ms, const double *battery, const char *unit);
void status_remove(struct registry *r, const char *eui);
/* A device of a rebuilt cache takes the in-memory status if it is newer. */
void status_keep(struct device *to, const struct device *from);
/* Adds "last_seen" and "battery" to the device's JSON. */
void status_json(const struct device *d, cJSON *o);

int hex_to_bytes(const char *hex, uint8_t *out, size_t n);
int hex_to_u64(const char *hex, uint64_t *out);

#endif
