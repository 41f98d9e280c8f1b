/* store seqs: the last seq of each room, counted in the writer's memory during fast batches
 * (see writer.c) instead of a read of the log per event. Nothing stores a room's last seq but
 * its log (schema 0005). Valid only while this writer is the only one to commit: writer.c
 * forgets it after a failed batch, before a batch with savepoints, and when another connection
 * has committed. */
#include "store_int.h"

#include <stdlib.h>

#define SEQS_MAX 65536 /* rooms remembered; past it the cache starts again */

struct seq_slot {
    int64_t room, seq;
};

static struct seq_slot *slot_of(struct store_seqs *s, int64_t room)
{
    size_t i = (size_t)(uintptr_t)map_get(&s->index, (uint64_t)room);
    return i ? &s->slots[i - 1] : NULL;
}

static struct seq_slot *load(struct store_tx *tx, int64_t room, int *rc)
{
    struct store_seqs *s = &tx->seqs;
    int64_t seq;
    if ((*rc = store__int(&tx->conn, &seq, STORE_LAST_SEQ, "i", room)))
        return NULL;
    if (s->len == SEQS_MAX)
        store__seqs_forget(tx);
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct seq_slot *p = realloc(s->slots, cap * sizeof *p);
        if (!p)
            goto oom;
        s->slots = p;
        s->cap = cap;
    }
    if (map_put(&s->index, (uint64_t)room, (void *)(uintptr_t)(s->len + 1)))
        goto oom;
    s->slots[s->len] = (struct seq_slot){.room = room, .seq = seq};
    return &s->slots[s->len++];
oom:
    *rc = -NATTER_ENOMEM;
    return NULL;
}

int store__seq_next(struct store_tx *tx, int64_t room, int64_t *out_seq)
{
    int rc = 0;
    struct seq_slot *sl = slot_of(&tx->seqs, room);
    if (!sl && !(sl = load(tx, room, &rc)))
        return rc;
    *out_seq = ++sl->seq;
    return 0;
}

void store__seqs_forget(struct store_tx *tx)
{
    struct store_seqs *s = &tx->seqs;
    free(s->slots);
    map_cleanup(&s->index);
    *s = (struct store_seqs){0};
}
