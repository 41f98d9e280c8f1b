/* map: an open-addressing hash map from nonzero uint64 keys to pointers (linear probing,
 * backward-shift deletion, so no tombstones). Single-threaded. */
#ifndef NATTER_MAP_H
#define NATTER_MAP_H

#include <stddef.h>
#include <stdint.h>

struct map {
    uint64_t *keys; /* 0 = empty */
    void **vals;
    size_t cap, len;
};

void map_init(struct map *m);
void map_cleanup(struct map *m);
void *map_get(const struct map *m, uint64_t key);
/* Inserts or replaces. Returns 0, or -1 when out of memory. */
int map_put(struct map *m, uint64_t key, void *val);
void *map_del(struct map *m, uint64_t key);

#endif
