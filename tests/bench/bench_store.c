/* bench_store - the store plugin's schema at tens of millions of rows:
 * insert rate while it grows, then query latency for the queries the
 * open-data API makes, with the store's own writer and query code.
 *   build/tests/bench/bench_store [readings] [dir]
 *   build/tests/bench/bench_store fill <readings> <file> <first-day>
 * Default 10,000,000 readings: 2,000 sensors x 5 metrics, one reading a
 * minute each, i.e. 1,000 minutes (~17 h, from midnight UTC of one day).
 * `fill` only writes them into <file> (a store database other benchmarks
 * serve), starting at <first-day> (YYYY-MM-DD), and keeps it. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../plugins/store/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void time_query(struct store *s, const char *what, const char *q, int runs)
{
    double best = 1e9, sum = 0;
    size_t bytes = 0;
    for (int i = 0; i < runs; i++) {
        int status;
        double t0 = now_s();
        char *reply = store_query(s, s->readers[0], q, strlen(q), &status);
        double dt = now_s() - t0;
        bytes = strlen(reply);
        if (status != 0)
            printf("  query failed: %s\n", reply);
        free(reply);
        best = dt < best ? dt : best;
        sum += dt;
    }
    printf("  %-44s %8.2f ms mean, %8.2f ms best (%zu-byte reply)\n", what, 1000 * sum / runs, 1000 * best, bytes);
}

int main(int argc, char **argv)
{
    int fill = argc > 4 && strcmp(argv[1], "fill") == 0;
    if (fill) {
        argv++;
        argc--;
    }
    long total = argc > 1 ? atol(argv[1]) : 10000000;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    char path[512];
    int64_t t0 = 1795305600000; /* 2026-11-22T00:00:00Z */
    if (fill) {
        snprintf(path, sizeof path, "%s", argv[2]);
        if (mst_time_parse(argv[3], &t0) != 0) {
            fprintf(stderr, "bench_store fill: %s is not a day (YYYY-MM-DD)\n", argv[3]);
            return 2;
        }
    } else {
        snprintf(path, sizeof path, "%s/mestys-bench-store-%d.sqlite", dir, (int)getpid());
    }
    struct store s = {0};
    sqlite3_open(path, &s.writer);
    sqlite3_exec(s.writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    char *err = NULL;
    store_writer_open(&s, &err);
    s.retention_days = s.hourly_days = 36500;
    s.last_retention_ms = (int64_t)time(NULL) * 1000;
    s.max_page = 10000;
    static const char *const metrics[5] = {"temperature", "humidity", "pm2_5", "pm10", "co2"};
    const int sensors = 2000;
    char (*names)[24] = malloc((size_t)sensors * sizeof *names);
    for (int i = 0; i < sensors; i++)
        snprintf(names[i], sizeof names[i], "sensor-%04d", i);
    const long per_batch = 100000;    /* 10 minutes of all sensors */
    struct batch *b = &s.committing;
    b->cap = (size_t)per_batch;
    b->v = calloc(b->cap, sizeof *b->v);
    double start = now_s(), last = start;
    long done = 0;
    printf("bench_store: %ld readings, %d sensors x 5 metrics, one a minute, into %s\n", total, sensors, path);
    while (done < total) {
        b->len = 0;
        for (long i = 0; i < per_batch && done + i < total; i++, b->len++) {
            long k = done + i;
            struct reading *r = &b->v[b->len];
            r->sensor = names[(k / 5) % sensors];
            r->metric = (char *)metrics[k % 5];
            r->unit = NULL;
            r->time_ms = t0 + (k / (5L * sensors)) * 60000;
            r->value = (double)(k % 1000) / 10;
            r->has_location = 0;
        }
        store_commit_work(&s);
        done += (long)b->len;
        if (now_s() - last > 5 || done >= total) {
            last = now_s();
            printf("  %9ld rows, %8.0f rows/s so far\n", done, done / (last - start));
        }
    }
    printf("insert: %.0f readings/s over %ld rows (batches of %ld, sorted, WAL, synchronous=NORMAL)\n",
           total / (now_s() - start), total, per_batch);
    store_writer_close(&s);
    if (fill) {
        sqlite3_close(s.writer);
        free(b->v);
        free(names);
        return 0;
    }
    sqlite3_open_v2(path, &s.readers[0], SQLITE_OPEN_READONLY, NULL);
    printf("queries on %ld rows (the same code store/query runs):\n", total);
    time_query(&s, "one sensor+metric, 1 hour, 60 rows", "{\"sensors\":[\"sensor-1234\"],\"metrics\":[\"co2\"],"
               "\"from\":\"2026-11-22T05:00:00Z\",\"to\":\"2026-11-22T06:00:00Z\"}", 50);
    time_query(&s, "one sensor, all metrics, 1 day, page of 1000", "{\"sensors\":[\"sensor-0042\"],"
               "\"from\":\"2026-11-22T00:00:00Z\",\"to\":\"2026-11-23T00:00:00Z\",\"limit\":1000}", 20);
    time_query(&s, "everything, first page of 100", "{\"limit\":100}", 50);
    time_query(&s, "everything, a page of 100 deep in (cursor)", "{\"limit\":100,\"cursor\":\"20414.1500.3.1795340000000\"}", 50);
    time_query(&s, "latest value of every sensor (page of 10000)", "{\"latest\":true,\"limit\":10000}", 5);
    time_query(&s, "hourly aggregates, one sensor+metric, 1 day", "{\"aggregate\":\"hour\",\"sensors\":[\"sensor-0007\"],"
               "\"metrics\":[\"temperature\"]}", 50);
    time_query(&s, "bounding box (no sensor has a position)", "{\"bbox\":[14,49,15,50],\"limit\":100}", 20);
    store_query_close(&s);
    sqlite3_close(s.readers[0]);
    sqlite3_close(s.writer);
    free(b->v);
    free(names);
    char extra[600];
    unlink(path);
    snprintf(extra, sizeof extra, "%s-wal", path);
    unlink(extra);
    snprintf(extra, sizeof extra, "%s-shm", path);
    unlink(extra);
    return 0;
}
