#include "u64map.h"

#include <stdlib.h>

static char tomb;
#define TOMB ((void *)&tomb)

static size_t slot(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

void *u64map_get(const struct u64map *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->values[i])
            return NULL;
        if (m->values[i] != TOMB && m->keys[i] == key)
            return m->values[i];
    }
}

static int grow(struct u64map *m)
{
    struct u64map n = {0};
    n.cap = m->cap ? m->cap * 2 : 64;
    n.keys = calloc(n.cap, sizeof *n.keys);
    n.values = calloc(n.cap, sizeof *n.values);
    if (!n.keys || !n.values) {
        free(n.keys);
        free(n.values);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->values[i] && m->values[i] != TOMB)
            u64map_put(&n, m->keys[i], m->values[i]);
    free(m->keys);
    free(m->values);
    *m = n;
    return 0;
}

int u64map_put(struct u64map *m, uint64_t key, void *value)
{
    /* replacing a value never grows the map, so it cannot fail */
    if ((m->used + 1) * 4 >= m->cap * 3 && !u64map_get(m, key) && grow(m) != 0)
        return -1;
    size_t i = slot(key, m->cap), tomb_at = (size_t)-1;
    for (;; i = (i + 1) & (m->cap - 1)) {
        if (!m->values[i])
            break;
        if (m->values[i] == TOMB) {
            if (tomb_at == (size_t)-1)
                tomb_at = i;
        } else if (m->keys[i] == key) {
            m->values[i] = value;
            return 0;
        }
    }
    if (tomb_at != (size_t)-1)
        i = tomb_at;
    else
        m->used++;
    m->keys[i] = key;
    m->values[i] = value;
    m->len++;
    return 0;
}

void *u64map_del(struct u64map *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->values[i])
            return NULL;
        if (m->values[i] != TOMB && m->keys[i] == key) {
            void *v = m->values[i];
            m->values[i] = TOMB;
            m->len--;
            return v;
        }
    }
}

void u64map_free(struct u64map *m)
{
    free(m->keys);
    free(m->values);
    *m = (struct u64map){0};
}

void u64map_each(const struct u64map *m, void (*fn)(uint64_t key, void *value, void *arg), void *arg)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->values[i] && m->values[i] != TOMB)
            fn(m->keys[i], m->values[i], arg);
}
