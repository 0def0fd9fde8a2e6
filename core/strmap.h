/* strmap.h - a small string-keyed hash map (open addressing). */
#ifndef MST__STRMAP_H
#define MST__STRMAP_H

#include <stddef.h>

struct mst__strmap_slot {
    char *key;
    void *value;
};

struct mst__strmap {
    struct mst__strmap_slot *slots;
    size_t cap;
    size_t len;
};

void *mst__strmap_get(const struct mst__strmap *m, const char *key);
/* Inserts or replaces; the map keeps its own copy of key. */
void mst__strmap_put(struct mst__strmap *m, const char *key, void *value);
void *mst__strmap_del(struct mst__strmap *m, const char *key);
/* Calls fn for every value, then frees the map's memory. */
void mst__strmap_free(struct mst__strmap *m, void (*fn)(void *value));

#define mst__strmap_foreach(m, slot)                                                               \
    for ((slot) = (m)->slots; (m)->slots && (slot) < (m)->slots + (m)->cap; (slot)++)              \
        if ((slot)->key && (slot)->key != MST__STRMAP_TOMB)

extern char mst__strmap_tomb;
#define MST__STRMAP_TOMB (&mst__strmap_tomb)

#endif
