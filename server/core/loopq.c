/* loopq: a mutex-protected FIFO; drain swaps the whole list out under the lock and runs it
 * outside, because wake-ups coalesce and a callback may post again. */
#include "core/loopq.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct loopq_item *head, *tail;
static void (*wake_fn)(void *);
static void *wake_ctx;

void loopq_set_wake(void (*wake)(void *), void *ctx)
{
    pthread_mutex_lock(&mu);
    wake_fn = wake;
    wake_ctx = ctx;
    pthread_mutex_unlock(&mu);
}

void loopq_post(struct loopq_item *it)
{
    it->next = NULL;
    pthread_mutex_lock(&mu);
    bool was_empty = !head;
    if (tail)
        tail->next = it;
    else
        head = it;
    tail = it;
    void (*w)(void *) = wake_fn;
    void *ctx = wake_ctx;
    pthread_mutex_unlock(&mu);
    /* Only the first item needs a wake-up: the loop drains everything queued by then. */
    if (w && was_empty)
        w(ctx);
}

int loopq_drain(void)
{
    int n = 0;
    for (;;) {
        pthread_mutex_lock(&mu);
        struct loopq_item *it = head;
        head = tail = NULL;
        pthread_mutex_unlock(&mu);
        if (!it)
            return n;
        while (it) {
            struct loopq_item *next = it->next;
            it->fn(it->arg); /* may free it */
            it = next;
            n++;
        }
    }
}
