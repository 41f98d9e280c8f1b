/* store seqs: the next seq of each room, counted in the writer's memory during fast batches
 * (see writer.c) and written back once per room per batch, instead of an UPDATE ... RETURNING
 * per event. Valid only while this writer is the only one to commit: writer.c forgets it after
 * a failed batch, before a batch with savepoints, and when another connection has committed. */
#include "store_int.h"

#include <stdlib.h>

#define SEQS_MAX 65536 /* rooms remembered; past it the cache starts again */

struct seq_slot {
    int64_t room, seq;
    bool dirty; /* listed in dirty[] */
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
    if ((*rc = store__int(&tx->conn, &seq, "SELECT last_seq FROM rooms WHERE id=?", "i", room)))
        return NULL;
    if (s->len == SEQS_MAX) {
        if ((*rc = store__seqs_flush(tx)))
            return NULL;
        store__seqs_forget(tx);
    }
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct seq_slot *p = realloc(s->slots, cap * sizeof *p);
        size_t *d = p ? realloc(s->dirty, cap * sizeof *d) : NULL;
        if (p)
            s->slots = p;
        if (!d)
            goto oom;
        s->dirty = d;
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
    if (!sl->dirty) {
        sl->dirty = true;
        tx->seqs.dirty[tx->seqs.ndirty++] = (size_t)(sl - tx->seqs.slots);
    }
    *out_seq = ++sl->seq;
    return 0;
}

int store__seqs_flush(struct store_tx *tx)
{
    struct store_seqs *s = &tx->seqs;
    for (; s->ndirty; s->ndirty--) {
        struct seq_slot *sl = &s->slots[s->dirty[s->ndirty - 1]];
        int rc = store__exec(&tx->conn, "UPDATE rooms SET last_seq=? WHERE id=?", "ii", sl->seq,
                             sl->room);
        if (rc)
            return rc;
        sl->dirty = false;
    }
    return 0;
}

void store__seqs_forget(struct store_tx *tx)
{
    struct store_seqs *s = &tx->seqs;
    free(s->slots);
    free(s->dirty);
    map_cleanup(&s->index);
    *s = (struct store_seqs){0};
}
