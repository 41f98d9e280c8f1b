/* work/pool: a small fixed pool of threads for slow CPU work that must never run on the
 * loop (Argon2id: ~70 ms and 64 MiB each). The queue is bounded, so a login flood turns
 * into `unavailable` errors instead of unbounded memory. */
#ifndef NATTER_POOL_H
#define NATTER_POOL_H

#include "core/loopq.h"

struct work_item {
    void (*run)(void *arg);  /* on a pool thread */
    void (*done)(void *arg); /* then on the loop thread, through loopq */
    void *arg;
    struct work_item *next;
    struct loopq_item lq;
};

/* Starts `threads` workers and allows `queue_max` waiting items. Returns 0 or -1. */
int work_pool_open(int threads, int queue_max);
/* Queues w (which must live until done has run). Returns 0, or -1 when the queue is full. */
int work_submit(struct work_item *w);
/* Runs what is queued, then joins the workers. Call before the loop stops draining. */
void work_pool_close(void);

#endif
