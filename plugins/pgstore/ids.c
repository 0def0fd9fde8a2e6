/* ids.c - the sensor and metric ids the writer has seen, by key, so a
 * known sensor costs no round trip.  Open addressing, FNV-1a; the writer
 * clears it when a transaction rolls back (ids it gave may be gone). */
#include <stdlib.h>
#include <string.h>

#include "pgstore.h"

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

int32_t pgs_ids_get(const struct pgs_ids *m, const char *key)
{
    if (!m->cap)
        return 0;
    for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return 0;
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    }
}

static int grow(struct pgs_ids *m)
{
    struct pgs_ids g = {.cap = m->cap ? m->cap * 2 : 1024};
    g.keys = calloc(g.cap, sizeof *g.keys);
    g.vals = calloc(g.cap, sizeof *g.vals);
    if (!g.keys || !g.vals) {
        free(g.keys), free(g.vals);
        return MST_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = hash(m->keys[i]) & (g.cap - 1);
        while (g.keys[j])
            j = (j + 1) & (g.cap - 1);
        g.keys[j] = m->keys[i];
        g.vals[j] = m->vals[i];
    }
    g.len = m->len;
    free(m->keys), free(m->vals);
    *m = g;
    return 0;
}

int pgs_ids_put(struct pgs_ids *m, const char *key, int32_t id)
{
    if ((m->len + 1) * 2 > m->cap && grow(m) != 0)
        return MST_ENOMEM;
    size_t i = hash(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        if (!(m->keys[i] = strdup(key)))
            return MST_ENOMEM;
        m->len++;
    }
    m->vals[i] = id;
    return 0;
}

void pgs_ids_clear(struct pgs_ids *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys), free(m->vals);
    memset(m, 0, sizeof *m);
}
