/* store: opening, migrating and closing the database; the statement cache and helpers. */
#include "store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "core/log.h"

extern const char *const store__migrations[];
extern const int store__migration_count;

struct store_conn store__rd;
static char epoch[64];

const char *role_name(enum role r)
{
    static const char *const names[] = {"none", "member", "admin", "owner"};
    return names[r];
}

enum role role_parse(const char *s)
{
    if (!s)
        return ROLE_NONE;
    if (!strcmp(s, "owner"))
        return ROLE_OWNER;
    if (!strcmp(s, "admin"))
        return ROLE_ADMIN;
    if (!strcmp(s, "member"))
        return ROLE_MEMBER;
    return ROLE_NONE;
}

static sqlite3_stmt *vq(struct store_conn *c, const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *st = NULL;
    int i;
    for (i = 0; i < c->n; i++) {
        if (c->cache[i].sql == sql) {
            st = c->cache[i].st;
            break;
        }
    }
    if (!st) {
        if (c->n == STORE_STMT_MAX ||
            sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
            LOG_ERR("store: prepare failed: %s: %s", sqlite3_errmsg(c->db), sql);
            return NULL;
        }
        c->cache[c->n].sql = sql;
        c->cache[c->n++].st = st;
    }
    sqlite3_reset(st);
    for (int k = 1; *fmt; fmt++, k++) {
        int rc;
        if (*fmt == 't') {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, k, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, k);
        } else {
            int64_t v = va_arg(ap, int64_t);
            rc = (*fmt == 'z' && v == 0) ? sqlite3_bind_null(st, k) : sqlite3_bind_int64(st, k, v);
        }
        if (rc != SQLITE_OK) {
            LOG_ERR("store: bind %d failed: %s", k, sqlite3_errmsg(c->db));
            return NULL;
        }
    }
    return st;
}

sqlite3_stmt *store__q(struct store_conn *c, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = vq(c, sql, fmt, ap);
    va_end(ap);
    return st;
}

void store__done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

int store__exec(struct store_conn *c, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = vq(c, sql, fmt, ap);
    va_end(ap);
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    store__done(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return -NATTER_ECONFLICT;
    LOG_ERR("store: step failed: %s: %s", sqlite3_errmsg(c->db), sql);
    return -NATTER_EINTERNAL;
}

int store__int(struct store_conn *c, int64_t *out, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = vq(c, sql, fmt, ap);
    va_end(ap);
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        ret = -NATTER_ENOTFOUND;
    else if ((rc & 0xff) == SQLITE_CONSTRAINT)
        ret = -NATTER_ECONFLICT;
    else
        ret = -NATTER_EINTERNAL;
    if (ret == -NATTER_EINTERNAL)
        LOG_ERR("store: step failed: %s: %s", sqlite3_errmsg(c->db), sql);
    store__done(st);
    return ret;
}

void store__text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = s ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

int store__conn_open(struct store_conn *c, const char *path, int flags, const char *vfs,
                     char *err)
{
    memset(c, 0, sizeof *c);
    if (sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, vfs) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(c->db, 5000);
    /* The writer's savepoint journals stay in memory (in a temp file they cost 10k pwrite/s
     * at 10k messages/s), and a batch fits in the page cache, so that SQLite does not spill
     * dirty pages mid-transaction and read them back (2 MiB by default). */
    char sql[160];
    int64_t kib = (flags & SQLITE_OPEN_READONLY) ? 2048 : lim(LIM_DB_CACHE_MB) * 1024;
    snprintf(sql, sizeof sql, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; "
                              "PRAGMA cache_size=-%lld; PRAGMA temp_store=MEMORY;", (long long)kib);
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    return 0;
fail:
    snprintf(err, NATTER_ERR_LEN, "sqlite %s: %s", path,
             c->db ? sqlite3_errmsg(c->db) : "out of memory");
    store__conn_close(c);
    return -NATTER_EINTERNAL;
}

void store__conn_close(struct store_conn *c)
{
    for (int i = 0; i < c->n; i++)
        sqlite3_finalize(c->cache[i].st);
    c->n = 0;
    if (c->db)
        sqlite3_close(c->db);
    c->db = NULL;
}

/* Applies the migrations this database lacks, each in its own transaction. */
static int migrate(sqlite3 *db, char *err)
{
    sqlite3_stmt *st;
    int have = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(st) == SQLITE_ROW)
        have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (have > store__migration_count) {
        snprintf(err, NATTER_ERR_LEN,
                 "the database is at schema version %d, but this natter knows only up to %d: "
                 "run a newer natter (refusing to start)",
                 have, store__migration_count);
        return -NATTER_EINTERNAL;
    }
    for (int v = have; v < store__migration_count; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version=%d;", v + 1);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE;", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, store__migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, bump, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, NATTER_ERR_LEN, "migration %04d failed: %s", v + 1, sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
            return -NATTER_EINTERNAL;
        }
        LOG_INFO("store: applied migration %04d", v + 1);
    }
    return 0;
fail:
    snprintf(err, NATTER_ERR_LEN, "sqlite: %s", sqlite3_errmsg(db));
    return -NATTER_EINTERNAL;
}

int store_open(const char *path, char err[NATTER_ERR_LEN])
{
    struct store_conn boot;
    /* SQLite's allocation statistics take a global mutex on every malloc; nothing reads them.
     * (Only possible before SQLite initialises: a second store_open in a process keeps them.) */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    int rc = store__conn_open(&boot, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL, err);
    if (rc)
        return rc;
    if (sqlite3_exec(boot.db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, NATTER_ERR_LEN, "sqlite %s: cannot use WAL: %s", path, sqlite3_errmsg(boot.db));
        store__conn_close(&boot);
        return -NATTER_EINTERNAL;
    }
    rc = migrate(boot.db, err);
    store__conn_close(&boot);
    if (rc)
        return rc;
    if ((rc = store__conn_open(&store__rd, path, SQLITE_OPEN_READONLY, NULL, err)))
        return rc;
    sqlite3_stmt *st = store__q(&store__rd, "SELECT value FROM meta WHERE key='epoch'", "");
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        store__done(st);
        snprintf(err, NATTER_ERR_LEN, "sqlite %s: no epoch in meta", path);
        store__conn_close(&store__rd);
        return -NATTER_EINTERNAL;
    }
    store__text(st, 0, epoch, sizeof epoch);
    store__done(st);
    if ((rc = store__writer_start(path, err))) {
        store__conn_close(&store__rd);
        return rc;
    }
    return 0;
}

void store_close(void)
{
    store__writer_stop();
    store__conn_close(&store__rd);
}

const char *store_epoch(void) { return epoch; }
