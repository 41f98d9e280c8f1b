/* store VFS: two thin layers over SQLite's default VFS, each for one connection.
 *
 * "natter-paced", the checkpoint thread's: a checkpoint copies thousands of pages into the
 * page cache and ends with one fsync; the writer's next WAL fdatasync then queued behind all of
 * them at the disk, and commits stalled for 100-250 ms. Here every PACE_CHUNK bytes written to
 * the database file are synced at once (on the checkpoint thread), so at most one chunk stands
 * ahead of a commit.
 *
 * "natter-gather", the writer's: SQLite writes each WAL frame as two pwrite()s (header, page),
 * 20-30 per small commit. Frames are appended in order, so they are gathered in memory and
 * written in one pwrite() before anything can depend on them: before the WAL is synced, read,
 * sized or truncated, and before the commit is published in the wal-index (the database file's
 * xShmBarrier, which SQLite calls between the two copies of the new header). A crash loses
 * only frames of a transaction that had not committed. Everything else is forwarded. */
#include "store_int.h"

#include <string.h>

#define PACE_CHUNK (128 * 1024)
/* Under 128 KiB: the unix VFS masks each write's length to 17 bits (a whole multiple of 128 KiB
 * would be written as nothing and reported as a full disk). */
#define GATHER_MAX (120 * 1024)

struct shim_file {
    sqlite3_file base;
    bool paced;             /* natter-paced's database file: sync every PACE_CHUNK */
    sqlite3_int64 written;  /* bytes written since the last sync (paced) */
    struct shim_file *wal;  /* natter-gather's database file: its open WAL */
    struct shim_file *main; /* natter-gather's WAL: its database file */
    char *buf;              /* natter-gather's WAL: frames not yet written */
    int len;
    sqlite3_int64 off;      /* file offset of buf[0] */
    sqlite3_file *real;     /* the default VFS's file, right after this struct */
};

static sqlite3_vfs paced_vfs, gather_vfs, *real_vfs;

#define SHIM(f) ((struct shim_file *)(f))
#define REAL(f) (SHIM(f)->real)

static int flush(struct shim_file *p)
{
    if (!p || !p->len)
        return SQLITE_OK;
    int rc = p->real->pMethods->xWrite(p->real, p->buf, p->len, p->off);
    p->len = 0;
    return rc;
}

static int s_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    struct shim_file *p = SHIM(f);
    if (p->buf) {
        if (p->len && off == p->off + p->len && p->len + n <= GATHER_MAX) {
            memcpy(p->buf + p->len, buf, (size_t)n);
            p->len += n;
            return SQLITE_OK;
        }
        int rc = flush(p);
        if (rc != SQLITE_OK)
            return rc;
        if (n > GATHER_MAX)
            return p->real->pMethods->xWrite(p->real, buf, n, off);
        memcpy(p->buf, buf, (size_t)n);
        p->len = n;
        p->off = off;
        return SQLITE_OK;
    }
    int rc = p->real->pMethods->xWrite(p->real, buf, n, off);
    if (rc == SQLITE_OK && p->paced && (p->written += n) >= PACE_CHUNK) {
        p->written = 0;
        rc = p->real->pMethods->xSync(p->real, SQLITE_SYNC_NORMAL);
    }
    return rc;
}

static int s_close(sqlite3_file *f)
{
    struct shim_file *p = SHIM(f);
    int rc = flush(p);
    if (p->main)
        p->main->wal = NULL;
    if (p->wal)
        p->wal->main = NULL;
    sqlite3_free(p->buf);
    p->buf = NULL;
    int rc2 = p->real->pMethods->xClose(p->real);
    return rc != SQLITE_OK ? rc : rc2;
}

/* Whatever reads or measures the file, or makes it durable, first writes what is gathered. */
#define FLUSHED(call)                  \
    do {                               \
        int frc = flush(SHIM(f));      \
        if (frc != SQLITE_OK)          \
            return frc;                \
        return REAL(f)->pMethods->call; \
    } while (0)

static int s_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { FLUSHED(xRead(REAL(f), b, n, o)); }
static int s_truncate(sqlite3_file *f, sqlite3_int64 n) { FLUSHED(xTruncate(REAL(f), n)); }
static int s_sync(sqlite3_file *f, int fl) { FLUSHED(xSync(REAL(f), fl)); }
static int s_size(sqlite3_file *f, sqlite3_int64 *n) { FLUSHED(xFileSize(REAL(f), n)); }
static int s_fcntl(sqlite3_file *f, int op, void *a) { FLUSHED(xFileControl(REAL(f), op, a)); }
static void s_shm_barrier(sqlite3_file *f)
{
    /* The commit becomes visible next: its frames must be in the file. (With synchronous=FULL
     * the WAL's xSync has written them already; this covers a connection that does not sync.) */
    flush(SHIM(f)->wal);
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

/* The rest only forwards. */
static int s_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int s_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int s_reserved(sqlite3_file *f, int *r) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int s_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int s_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int s_shm_map(sqlite3_file *f, int i, int sz, int ext, void volatile **pp) { return REAL(f)->pMethods->xShmMap(REAL(f), i, sz, ext, pp); }
static int s_shm_lock(sqlite3_file *f, int o, int n, int fl) { return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl); }
static int s_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int s_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp) { return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp); }
static int s_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) { return REAL(f)->pMethods->xUnfetch(REAL(f), o, p); }

static const sqlite3_io_methods shim_io = {
    3, s_close, s_read, s_write, s_truncate, s_sync, s_size, s_lock, s_unlock, s_reserved,
    s_fcntl, s_sector, s_devchar, s_shm_map, s_shm_lock, s_shm_barrier, s_shm_unmap, s_fetch,
    s_unfetch,
};

static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    struct shim_file *p = SHIM(f);
    memset(p, 0, sizeof *p);
    p->real = (sqlite3_file *)(p + 1);
    int rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out);
    if (rc != SQLITE_OK || !p->real->pMethods) {
        f->pMethods = NULL; /* SQLite closes nothing it did not open */
        return rc;
    }
    if (vfs == &paced_vfs) {
        p->paced = flags & SQLITE_OPEN_MAIN_DB;
    } else if (flags & SQLITE_OPEN_WAL) {
        /* The database file was opened through this VFS first: it is one of ours. */
        p->main = SHIM(sqlite3_database_file_object(name));
        p->buf = sqlite3_malloc(GATHER_MAX);
        if (!p->buf) {
            p->real->pMethods->xClose(p->real);
            f->pMethods = NULL;
            return SQLITE_NOMEM;
        }
        p->main->wal = p;
    }
    f->pMethods = &shim_io;
    return SQLITE_OK;
}

static const char *reg(sqlite3_vfs *v, const char *name)
{
    if (!v->zName) {
        real_vfs = real_vfs ? real_vfs : sqlite3_vfs_find(NULL);
        *v = *real_vfs;
        v->zName = name;
        v->szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile;
        v->xOpen = s_open;
        v->pNext = NULL;
        if (sqlite3_vfs_register(v, 0) != SQLITE_OK) {
            v->zName = NULL;
            return NULL;
        }
    }
    return v->zName;
}

const char *store__paced_vfs(void) { return reg(&paced_vfs, "natter-paced"); }
const char *store__gather_vfs(void) { return reg(&gather_vfs, "natter-gather"); }
