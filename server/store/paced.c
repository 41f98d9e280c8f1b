/* store pacing: a VFS for the checkpoint thread's connection that writes the database file
 * back to the disk a small chunk at a time. A checkpoint copies thousands of pages into the
 * page cache and ends with one fsync; the writer's next WAL fdatasync then queued behind all of
 * them at the disk, and commits stalled for 100-250 ms. Here every CHUNK bytes written to the
 * database file are synced at once (on the checkpoint thread), so at most one chunk stands
 * ahead of a commit. Everything else goes straight to the default VFS. */
#include "store_int.h"

#define CHUNK (128 * 1024)

struct paced_file {
    sqlite3_file base;
    bool paced;            /* the database file (not its WAL) */
    sqlite3_int64 written; /* bytes written since the last sync */
    sqlite3_file *real;    /* the default VFS's file, right after this struct */
};

static sqlite3_vfs paced_vfs, *real_vfs;

#define REAL(f) (((struct paced_file *)(f))->real)

static int p_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    struct paced_file *p = (struct paced_file *)f;
    int rc = p->real->pMethods->xWrite(p->real, buf, n, off);
    if (rc == SQLITE_OK && p->paced && (p->written += n) >= CHUNK) {
        p->written = 0;
        rc = p->real->pMethods->xSync(p->real, SQLITE_SYNC_NORMAL);
    }
    return rc;
}

/* The rest only forwards. */
static int p_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int p_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int p_truncate(sqlite3_file *f, sqlite3_int64 n) { return REAL(f)->pMethods->xTruncate(REAL(f), n); }
static int p_sync(sqlite3_file *f, int fl) { return REAL(f)->pMethods->xSync(REAL(f), fl); }
static int p_size(sqlite3_file *f, sqlite3_int64 *n) { return REAL(f)->pMethods->xFileSize(REAL(f), n); }
static int p_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int p_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int p_reserved(sqlite3_file *f, int *r) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int p_fcntl(sqlite3_file *f, int op, void *a) { return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int p_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int p_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int p_shm_map(sqlite3_file *f, int i, int sz, int ext, void volatile **pp) { return REAL(f)->pMethods->xShmMap(REAL(f), i, sz, ext, pp); }
static int p_shm_lock(sqlite3_file *f, int o, int n, int fl) { return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl); }
static void p_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int p_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int p_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp) { return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp); }
static int p_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) { return REAL(f)->pMethods->xUnfetch(REAL(f), o, p); }

static const sqlite3_io_methods paced_io = {
    3, p_close, p_read, p_write, p_truncate, p_sync, p_size, p_lock, p_unlock, p_reserved,
    p_fcntl, p_sector, p_devchar, p_shm_map, p_shm_lock, p_shm_barrier, p_shm_unmap, p_fetch,
    p_unfetch,
};

static int p_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    struct paced_file *p = (struct paced_file *)f;
    p->real = (sqlite3_file *)(p + 1);
    p->written = 0;
    int rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out);
    if (rc != SQLITE_OK || !p->real->pMethods) {
        f->pMethods = NULL; /* SQLite closes nothing it did not open */
        return rc;
    }
    p->paced = flags & SQLITE_OPEN_MAIN_DB;
    f->pMethods = &paced_io;
    return SQLITE_OK;
}

const char *store__paced_vfs(void)
{
    if (!real_vfs) {
        real_vfs = sqlite3_vfs_find(NULL);
        paced_vfs = *real_vfs;
        paced_vfs.zName = "natter-paced";
        paced_vfs.szOsFile = (int)sizeof(struct paced_file) + real_vfs->szOsFile;
        paced_vfs.xOpen = p_open;
        paced_vfs.pNext = NULL;
        if (sqlite3_vfs_register(&paced_vfs, 0) != SQLITE_OK)
            return NULL;
    }
    return paced_vfs.zName;
}
