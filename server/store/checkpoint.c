/* store checkpointer: copies the WAL back into the database file on a thread and connection
 * of its own. SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold,
 * on the writer, so every ack of that batch waited for about a thousand page writes and an
 * fsync of the database file. Here the writer only reports the WAL's size (sqlite3_wal_hook,
 * which also turns the automatic checkpoint off) and this thread runs PASSIVE checkpoints,
 * which never block the writer or the readers. Under writes that never pause, a PASSIVE
 * checkpoint never catches up, and the WAL only restarts from its start once one has: so at
 * wal_max_mb the writer itself runs a RESTART checkpoint, and that batch waits for it. */
#include "store_int.h"

#include <pthread.h>
#include <stdio.h>

#include "core/cfg.h"
#include "core/log.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool due, running, stopping, started;
static pthread_t thread;
static struct store_conn ck;
/* wal_max_mb in pages; the thread starts at half of it. A long interval lets a checkpoint write
 * each hot page (a room's last log page, the rooms table) once for many commits: at 1000 pages
 * it took a fifth of the CPU at 1000 messages/s (B1), at 8000 under 2%. */
static int64_t restart_pages;

static int on_commit(void *arg, sqlite3 *db, const char *name, int wal_pages)
{
    (void)arg, (void)name;
    if (wal_pages >= restart_pages) {
        /* A checkpoint already running would make ours return BUSY at once. It copies most of
         * what ours would, so leave it be and try again at a later commit (waiting for it held
         * batches for up to 40 ms); wait only once the WAL is at twice its bound. Then keep
         * the thread from starting another meanwhile. */
        pthread_mutex_lock(&mu);
        if (running && wal_pages < 2 * restart_pages) {
            pthread_mutex_unlock(&mu);
            return SQLITE_OK;
        }
        while (running)
            pthread_cond_wait(&cv, &mu);
        running = true;
        pthread_mutex_unlock(&mu);
        int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        if (rc != SQLITE_OK)
            LOG_WARN("store: restart checkpoint at %d pages: %s", wal_pages, sqlite3_errmsg(db));
        pthread_mutex_lock(&mu);
        running = false;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    } else if (wal_pages >= restart_pages / 2) {
        pthread_mutex_lock(&mu);
        due = true;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    return SQLITE_OK;
}

static void *checkpointer(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&mu);
    for (;;) {
        while ((!due || running) && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (stopping)
            break;
        due = false;
        running = true;
        pthread_mutex_unlock(&mu);
        int rc = sqlite3_wal_checkpoint_v2(ck.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            LOG_WARN("store: checkpoint failed: %s", sqlite3_errmsg(ck.db));
        pthread_mutex_lock(&mu);
        running = false;
        pthread_cond_broadcast(&cv);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int store__checkpointer_start(sqlite3 *writer, const char *path, char *err)
{
    int64_t page = 4096;
    int rc = store__conn_open(&ck, path, SQLITE_OPEN_READWRITE, store__paced_vfs(), err);
    if (rc)
        return rc;
    store__int(&ck, &page, "PRAGMA page_size", "");
    restart_pages = lim(LIM_WAL_MAX_MB) * 1024 * 1024 / (page > 0 ? page : 4096);
    due = stopping = false;
    if (pthread_create(&thread, NULL, checkpointer, NULL)) {
        snprintf(err, NATTER_ERR_LEN, "cannot start the store checkpoint thread");
        store__conn_close(&ck);
        return -NATTER_EINTERNAL;
    }
    started = true;
    sqlite3_wal_hook(writer, on_commit, NULL);
    return 0;
}

void store__checkpointer_stop(sqlite3 *writer)
{
    if (!started)
        return;
    sqlite3_wal_hook(writer, NULL, NULL);
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    started = false;
    store__conn_close(&ck);
}
