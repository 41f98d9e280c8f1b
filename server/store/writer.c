/* store writer: the one thread that writes. It takes every job queued since its last turn,
 * runs them in one transaction (each in a savepoint, so one failure rolls back only its
 * own job), commits with fsync, and only then hands the jobs back to the loop: an
 * acknowledgement never precedes durability. */
#include "store_int.h"

#include <pthread.h>
#include <stdio.h>

#include "core/cfg.h"
#include "core/log.h"

#define BATCH_MAX 1024

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct store_job *head, *tail;
static int64_t queued;
static int stopping, started;
static pthread_t thread;
static struct store_tx tx;

static void finish(void *arg)
{
    struct store_job *j = arg;
    j->done(j->arg, j->rc);
}

/* Runs one of the writer's own statements, prepared once (they run per job, so parsing them
 * each time would cost as much as a small insert). */
static int exec(const char *sql)
{
    if (store__exec(&tx.conn, sql, "") == 0)
        return 0;
    LOG_ERR("store writer: %s failed", sql);
    return -1;
}

static void run_batch(struct store_job *batch)
{
    int failed = exec("BEGIN IMMEDIATE");
    for (struct store_job *j = batch; j; j = j->next) {
        if (failed) {
            j->rc = -NATTER_EINTERNAL;
            continue;
        }
        if (exec("SAVEPOINT job")) {
            j->rc = -NATTER_EINTERNAL;
            continue;
        }
        j->rc = j->run(&tx, j->arg);
        if (j->rc < 0)
            exec("ROLLBACK TO job");
        exec("RELEASE job");
    }
    if (!failed && exec("COMMIT")) {
        exec("ROLLBACK");
        failed = 1;
    }
    for (struct store_job *j = batch, *next; j; j = next) {
        next = j->next;
        if (failed)
            j->rc = -NATTER_EINTERNAL;
        j->lq.fn = finish;
        j->lq.arg = j;
        loopq_post(&j->lq);
    }
}

static void *writer(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (!head && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (!head) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        /* Take up to BATCH_MAX jobs; what arrives meanwhile forms the next batch. */
        struct store_job *batch = head, *last = head;
        int n = 1;
        while (last->next && n < BATCH_MAX) {
            last = last->next;
            n++;
        }
        head = last->next;
        if (!head)
            tail = NULL;
        last->next = NULL;
        queued -= n;
        pthread_mutex_unlock(&mu);
        run_batch(batch);
    }
}

int store_submit(struct store_job *job)
{
    pthread_mutex_lock(&mu);
    if (stopping || queued >= lim(LIM_WRITE_QUEUE)) {
        pthread_mutex_unlock(&mu);
        return -NATTER_EUNAVAIL;
    }
    job->next = NULL;
    if (tail)
        tail->next = job;
    else
        head = job;
    tail = job;
    queued++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return 0;
}

int store__writer_start(const char *path, char *err)
{
    int rc = store__conn_open(&tx.conn, path, SQLITE_OPEN_READWRITE, err);
    if (rc)
        return rc;
    if ((rc = store__checkpointer_start(tx.conn.db, path, err))) {
        store__conn_close(&tx.conn);
        return rc;
    }
    stopping = 0;
    if (pthread_create(&thread, NULL, writer, NULL)) {
        snprintf(err, NATTER_ERR_LEN, "cannot start the store writer thread");
        store__checkpointer_stop(tx.conn.db);
        store__conn_close(&tx.conn);
        return -NATTER_EINTERNAL;
    }
    started = 1;
    return 0;
}

void store__writer_stop(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&mu);
    stopping = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    started = 0;
    store__checkpointer_stop(tx.conn.db);
    store__conn_close(&tx.conn);
}
