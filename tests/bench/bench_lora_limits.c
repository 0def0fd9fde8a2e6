/* bench_lora_limits - the raw limits the end-to-end LoRa benchmark is
 * measured against, on this machine, in the same run:
 *   - AES-CMAC (MIC) + AES payload decryption per frame, one core;
 *   - batched SQLite inserts into the store plugin's schema (its own
 *     writer code), 1,000 sensors x 3 metrics, sorted batches.
 *   build/tests/bench/bench_lora_limits [frames] [readings] */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../plugins/lora/lorawan.h"
#include "../../plugins/store/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void crypto_limit(long frames)
{
    struct lw_crypto *c = lw_crypto_new();
    uint8_t nwk[16] = {1, 2, 3}, app[16] = {4, 5, 6}, phy[64];
    const uint8_t payload[4] = {0x05, 0xdc, 0x50, 0x32};
    int n = lw_data_frame(c, nwk, app, LW_UNCONFIRMED_UP, 0x26000001, 1, 0, 1, payload, 4, phy, sizeof phy);
    double t0 = now_s();
    uint32_t ok = 0;
    for (long i = 0; i < frames; i++) {
        uint32_t mic;
        uint8_t p[4];
        lw_data_mic(c, nwk, phy, (size_t)n - 4, 0x26000001, 1, 0, &mic);
        memcpy(p, phy + 9, 4);
        lw_crypt_payload(c, app, p, 4, 0x26000001, 1, 0);
        ok += mic == (uint32_t)(phy[n - 4] | phy[n - 3] << 8 | phy[n - 2] << 16 | (uint32_t)phy[n - 1] << 24);
    }
    double dt = now_s() - t0;
    printf("limit: AES-CMAC MIC + payload decrypt  %9.0f frames/s on one core (%u of %ld verified)\n",
           (double)frames / dt, ok, frames);
    lw_crypto_free(c);
}

static void sqlite_limit(long readings)
{
    char path[] = "/tmp/mestys-bench-store-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    struct store s = {0};
    sqlite3_open(path, &s.writer);
    sqlite3_exec(s.writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    char *err = NULL;
    store_writer_open(&s, &err);
    s.retention_days = 36500;
    s.hourly_days = 36500;
    s.last_retention_ms = (int64_t)time(NULL) * 1000; /* no retention pass during the run */
    const long per_batch = 150000; /* one second of the target rate */
    static const char *const metrics[3] = {"temperature", "humidity", "battery"};
    char names[1000][24];
    for (int i = 0; i < 1000; i++)
        snprintf(names[i], sizeof names[i], "00AA%012X", i);
    int64_t t = (int64_t)time(NULL) * 1000;
    double spent = 0;
    long done = 0;
    while (done < readings) {
        struct batch *b = &s.committing;
        b->len = 0;
        if (!b->v) {
            b->cap = (size_t)per_batch;
            b->v = calloc(b->cap, sizeof *b->v);
        }
        for (long i = 0; i < per_batch && done + i < readings; i++, b->len++) {
            struct reading *r = &b->v[b->len];
            long k = done + i;
            r->sensor = names[(k / 3) % 1000];
            r->metric = (char *)metrics[k % 3];
            r->unit = NULL;
            r->time_ms = t + (k / 3000) * 20; /* each sensor reports every 20 ms of simulated time */
            r->value = (double)(k % 100);
        }
        double t0 = now_s();
        store_commit_work(&s);
        spent += now_s() - t0;
        done += (long)b->len;
    }
    printf("limit: SQLite batched insert, store schema %9.0f readings/s (%ld in %ld-reading transactions)\n",
           (double)done / spent, done, per_batch);
    free(s.committing.v);
    store_writer_close(&s);
    sqlite3_close(s.writer);
    unlink(path);
    char wal[64];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
}

int main(int argc, char **argv)
{
    crypto_limit(argc > 1 ? atol(argv[1]) : 1000000);
    sqlite_limit(argc > 2 ? atol(argv[2]) : 1500000);
    return 0;
}
