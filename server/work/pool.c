/* work/pool: condition-variable queue feeding N threads. */
#include "work/pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct work_item *head, *tail;
static int queued, max_queued, nthreads;
static bool stopping;
static pthread_t *threads;

static void finish(void *arg)
{
    struct work_item *w = arg;
    w->done(w->arg);
}

static void *worker(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (!head && !stopping)
            pthread_cond_wait(&cv, &mu);
        struct work_item *w = head;
        if (!w) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        head = w->next;
        if (!head)
            tail = NULL;
        queued--;
        pthread_mutex_unlock(&mu);
        w->run(w->arg);
        w->lq.fn = finish;
        w->lq.arg = w;
        loopq_post(&w->lq);
    }
}

int work_pool_open(int n, int queue_max)
{
    threads = calloc((size_t)n, sizeof *threads);
    if (!threads)
        return -1;
    max_queued = queue_max;
    stopping = false;
    for (nthreads = 0; nthreads < n; nthreads++) {
        if (pthread_create(&threads[nthreads], NULL, worker, NULL)) {
            work_pool_close();
            return -1;
        }
    }
    return 0;
}

int work_submit(struct work_item *w)
{
    pthread_mutex_lock(&mu);
    if (queued >= max_queued || stopping) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    w->next = NULL;
    if (tail)
        tail->next = w;
    else
        head = w;
    tail = w;
    queued++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return 0;
}

void work_pool_close(void)
{
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    threads = NULL;
    nthreads = 0;
}
