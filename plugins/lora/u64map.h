/* u64map.h - a small open-addressing map from 64-bit keys to pointers,
 * for the per-frame lookups (DevAddr, dedup keys) on the hot path. */
#ifndef LORA_U64MAP_H
#define LORA_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
    uint64_t *keys;
    void **values; /* NULL: empty slot; TOMB: deleted */
    size_t cap, len, used;
};

void *u64map_get(const struct u64map *m, uint64_t key);
/* 0, or -1 when memory runs out (never when the key is already there). */
int u64map_put(struct u64map *m, uint64_t key, void *value);
void *u64map_del(struct u64map *m, uint64_t key);
void u64map_free(struct u64map *m);
/* Calls fn for every entry; fn must not change the map. */
void u64map_each(const struct u64map *m, void (*fn)(uint64_t key, void *value, void *arg), void *arg);

#endif
