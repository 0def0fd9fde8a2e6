/* lru.c - a string-keyed hash map that remembers use order, bounded by
 * entries and bytes: the response cache and the rate limiter's buckets. */
#include <stdlib.h>
#include <string.h>

#include "opendata.h"

struct node {
    struct node *next_in_slot;
    struct node *newer, *older;
    uint64_t hash;
    void *value;
    size_t bytes;
    char key[];
};

struct od_lru {
    struct node **slots;
    size_t n_slots, count, bytes, max_entries, max_bytes;
    struct node *newest, *oldest;
    od_lru_free_cb free_value;
};

static uint64_t hash_key(const char *s) { return od_hash(s, strlen(s)); }

struct od_lru *od_lru_new(size_t max_entries, size_t max_bytes, od_lru_free_cb free_value)
{
    struct od_lru *l = calloc(1, sizeof *l);
    l->n_slots = 64;
    while (l->n_slots < max_entries)
        l->n_slots *= 2;
    l->slots = calloc(l->n_slots, sizeof *l->slots);
    l->max_entries = max_entries;
    l->max_bytes = max_bytes;
    l->free_value = free_value;
    return l;
}

static void unlink_order(struct od_lru *l, struct node *n)
{
    if (n->newer)
        n->newer->older = n->older;
    else
        l->newest = n->older;
    if (n->older)
        n->older->newer = n->newer;
    else
        l->oldest = n->newer;
    n->newer = n->older = NULL;
}

static void link_newest(struct od_lru *l, struct node *n)
{
    n->older = l->newest;
    n->newer = NULL;
    if (l->newest)
        l->newest->newer = n;
    l->newest = n;
    if (!l->oldest)
        l->oldest = n;
}

static struct node **find(struct od_lru *l, const char *key, uint64_t h)
{
    struct node **pp = &l->slots[h & (l->n_slots - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next_in_slot;
    return pp;
}

static void drop(struct od_lru *l, struct node *n)
{
    struct node **pp = find(l, n->key, n->hash);
    *pp = n->next_in_slot;
    unlink_order(l, n);
    l->count--;
    l->bytes -= n->bytes;
    l->free_value(n->value);
    free(n);
}

void *od_lru_get(struct od_lru *l, const char *key)
{
    struct node *n = *find(l, key, hash_key(key));
    if (!n)
        return NULL;
    unlink_order(l, n);
    link_newest(l, n);
    return n->value;
}

void od_lru_put(struct od_lru *l, const char *key, void *value, size_t bytes)
{
    uint64_t h = hash_key(key);
    struct node *old = *find(l, key, h);
    if (old)
        drop(l, old);
    size_t kl = strlen(key);
    struct node *n = malloc(sizeof *n + kl + 1);
    memcpy(n->key, key, kl + 1);
    n->hash = h;
    n->value = value;
    n->bytes = bytes + sizeof *n + kl + 1;
    struct node **slot = &l->slots[h & (l->n_slots - 1)];
    n->next_in_slot = *slot;
    *slot = n;
    link_newest(l, n);
    l->count++;
    l->bytes += n->bytes;
    while (l->oldest != n && (l->count > l->max_entries || l->bytes > l->max_bytes))
        drop(l, l->oldest);
}

void od_lru_trim_old(struct od_lru *l, int (*should_drop)(void *value, void *arg), void *arg)
{
    while (l->oldest && should_drop(l->oldest->value, arg))
        drop(l, l->oldest);
}

size_t od_lru_bytes(const struct od_lru *l) { return l->bytes; }
size_t od_lru_count(const struct od_lru *l) { return l->count; }

void od_lru_free(struct od_lru *l)
{
    if (!l)
        return;
    while (l->oldest)
        drop(l, l->oldest);
    free(l->slots);
    free(l);
}
