#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

char mst__strmap_tomb;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct mst__strmap_slot *find(const struct mst__strmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct mst__strmap_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != MST__STRMAP_TOMB && strcmp(s->key, key) == 0)
            return s;
    }
}

void *mst__strmap_get(const struct mst__strmap *m, const char *key)
{
    struct mst__strmap_slot *s = find(m, key);
    return s ? s->value : NULL;
}

static void grow(struct mst__strmap *m)
{
    struct mst__strmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->slots = mst__xcalloc(m->cap, sizeof *m->slots);
    m->len = 0;
    for (size_t i = 0; i < old.cap; i++) {
        struct mst__strmap_slot *s = &old.slots[i];
        if (s->key && s->key != MST__STRMAP_TOMB) {
            size_t j = hash(s->key) & (m->cap - 1);
            while (m->slots[j].key)
                j = (j + 1) & (m->cap - 1);
            m->slots[j] = *s;
            m->len++;
        }
    }
    free(old.slots);
}

void mst__strmap_put(struct mst__strmap *m, const char *key, void *value)
{
    struct mst__strmap_slot *s = find(m, key);
    if (s) {
        s->value = value;
        return;
    }
    if ((m->len + 1) * 4 >= m->cap * 3)
        grow(m);
    size_t i = hash(key) & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != MST__STRMAP_TOMB)
        i = (i + 1) & (m->cap - 1);
    m->slots[i].key = mst__xstrdup(key);
    m->slots[i].value = value;
    m->len++;
}

void *mst__strmap_del(struct mst__strmap *m, const char *key)
{
    struct mst__strmap_slot *s = find(m, key);
    if (!s)
        return NULL;
    void *v = s->value;
    free(s->key);
    s->key = MST__STRMAP_TOMB;
    s->value = NULL;
    m->len--;
    return v;
}

void mst__strmap_free(struct mst__strmap *m, void (*fn)(void *value))
{
    struct mst__strmap_slot *s;
    mst__strmap_foreach(m, s)
    {
        if (fn)
            fn(s->value);
        free(s->key);
    }
    free(m->slots);
    memset(m, 0, sizeof *m);
}
