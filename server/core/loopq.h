/* loopq: how other threads hand finished work back to the loop thread. A worker posts a
 * callback; the loop runs every posted callback, in posting order, when it drains the
 * queue. Posting wakes the loop through the hook net/ installs (lws_cancel_service). */
#ifndef NATTER_LOOPQ_H
#define NATTER_LOOPQ_H

struct loopq_item {
    void (*fn)(void *arg); /* runs on the loop thread */
    void *arg;
    struct loopq_item *next;
};

/* The wake hook: called after each post, from the posting thread. */
void loopq_set_wake(void (*wake)(void *), void *ctx);
/* Thread-safe. The item must stay valid until its fn has run (embed it in arg). */
void loopq_post(struct loopq_item *it);
/* Loop thread: runs every queued callback. Returns how many ran. */
int loopq_drain(void);

#endif
