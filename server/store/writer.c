/* store writer: the one thread that writes. It takes every job queued since its last turn,
 * runs them in one transaction, commits with fsync, and only then hands the jobs back to the
 * loop: an acknowledgement never precedes durability. A batch of replayable jobs (sends, read
 * markers) first runs without savepoints, with room seqs counted in memory; if any of its jobs
 * fails, it is rolled back and run again, each job in a savepoint so one failure rolls back
 * only its own job. When few jobs wait, it first waits up to commit_window_us for more: one
 * fsync then covers several messages (at 2000 messages/s this cut a quarter of the CPU). */
#include "store_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "core/bucket.h"
#include "core/cfg.h"
#include "core/log.h"

#define BATCH_MAX 4096
#define WINDOW_BELOW 16  /* the window opens only when fewer jobs than this wait */
#define WINDOW_ENOUGH 64 /* and closes early once this many do */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv; /* on CLOCK_MONOTONIC, for the window's deadline */
static struct store_job *head, *tail;
static int64_t queued;
static int stopping, started, windowing;
static pthread_t thread;
static struct store_tx tx;
static int64_t data_version; /* of the last fast batch */
static int64_t last_taken;   /* when the last batch was taken, monotonic us */

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

/* One try at the batch, in one transaction. fast: no savepoints, and the first job that does
 * not return 0 fails the whole try. Returns 0 once committed. */
static int attempt(struct store_job *batch, bool fast)
{
    if (exec("BEGIN IMMEDIATE"))
        return -1;
    tx.fast = fast;
    if (fast) {
        /* Seqs in memory hold only while no other connection (an admin command) commits. */
        int64_t v = 0;
        store__int(&tx.conn, &v, "PRAGMA data_version", "");
        if (v != data_version)
            store__seqs_forget(&tx);
        data_version = v;
    }
    for (struct store_job *j = batch; j; j = j->next) {
        if (!fast && exec("SAVEPOINT job")) {
            j->rc = -NATTER_EINTERNAL;
            continue;
        }
        int rc = j->run(&tx, j->arg);
        j->rc = rc < 0 ? rc : 0;
        if (fast && rc)
            goto fail;
        if (fast)
            continue;
        if (rc)
            exec("ROLLBACK TO job");
        exec("RELEASE job");
    }
    if (exec("COMMIT"))
        goto fail;
    return 0;
fail:
    exec("ROLLBACK");
    store__seqs_forget(&tx);
    return -1;
}

static void run_batch(struct store_job *batch)
{
    bool fast = true;
    for (struct store_job *j = batch; j; j = j->next)
        fast &= j->replayable;
    int failed = fast ? attempt(batch, true) : -1;
    if (failed) {
        store__seqs_forget(&tx); /* jobs in savepoints count seqs in SQL: memory goes stale */
        failed = attempt(batch, false);
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

/* Called with mu held and jobs queued. Submits do not wake the writer in the window until
 * WINDOW_ENOUGH jobs wait, so a quiet window costs no thread switches. */
static void wait_window(int64_t now_us, int64_t us)
{
    int64_t end_us = now_us + us;
    struct timespec end = {(time_t)(end_us / 1000000), (long)(end_us % 1000000) * 1000};
    windowing = 1;
    while (queued < WINDOW_ENOUGH && !stopping)
        if (pthread_cond_timedwait(&cv, &mu, &end) == ETIMEDOUT)
            break;
    windowing = 0;
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
        /* The window opens only while commits come often (the last batch was taken less than
         * two windows ago) and few jobs wait: a lone message is not kept waiting. */
        int64_t now = mono_us(), since = now - last_taken;
        int64_t us = lim(LIM_COMMIT_WINDOW_US) < 100000 ? lim(LIM_COMMIT_WINDOW_US) : 100000;
        if (us > 0 && since < 2 * us && queued < WINDOW_BELOW)
            wait_window(now, us);
        last_taken = now;
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
    if (!windowing || queued >= WINDOW_ENOUGH)
        pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return 0;
}

int store__writer_start(const char *path, char *err)
{
    int rc = store__conn_open(&tx.conn, path, SQLITE_OPEN_READWRITE, store__gather_vfs(), err);
    if (rc)
        return rc;
    if ((rc = store__checkpointer_start(tx.conn.db, path, err))) {
        store__conn_close(&tx.conn);
        return rc;
    }
    stopping = 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &ca);
    pthread_condattr_destroy(&ca);
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
    pthread_cond_destroy(&cv);
    started = 0;
    store__checkpointer_stop(tx.conn.db);
    store__seqs_forget(&tx);
    store__conn_close(&tx.conn);
}
