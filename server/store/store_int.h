/* store internals shared by the store's files: connections with a cache of prepared
 * statements, and small bind/step helpers so each query reads as one line of SQL. */
#ifndef NATTER_STORE_INT_H
#define NATTER_STORE_INT_H

#include <sqlite3.h>

#include "core/map.h"
#include "store/store.h"

#define STORE_STMT_MAX 96

struct store_conn {
    sqlite3 *db;
    int n;
    struct {
        const char *sql; /* a string literal: the cache key is its address */
        sqlite3_stmt *st;
    } cache[STORE_STMT_MAX];
};

/* Room seqs the writer counts in memory (seqs.c). */
struct store_seqs {
    struct map index; /* room -> 1 + its index in slots */
    struct seq_slot *slots;
    size_t len, cap;
};

struct store_tx {
    struct store_conn conn;
    bool fast; /* a batch without savepoints: seqs come from `seqs` */
    struct store_seqs seqs;
};

extern struct store_conn store__rd; /* the loop thread's read-only connection */

/* The prepared statement for sql (prepared once), bound per fmt: 'i' int64_t, 't' const
 * char * (NULL binds NULL), 'z' int64_t bound as NULL when 0. NULL on failure (logged).
 * Call store__done() when finished reading rows, so no read snapshot stays open. */
sqlite3_stmt *store__q(struct store_conn *c, const char *sql, const char *fmt, ...);
void store__done(sqlite3_stmt *st);
/* Runs a statement that returns no rows: 0, -NATTER_ECONFLICT on a constraint, else
 * -NATTER_EINTERNAL. */
int store__exec(struct store_conn *c, const char *sql, const char *fmt, ...);
/* First column of the single row as int64: 0, -NATTER_ENOTFOUND or -NATTER_EINTERNAL. */
int store__int(struct store_conn *c, int64_t *out, const char *sql, const char *fmt, ...);
/* Steps st to the end, growing an array of `size`-byte elements that `row` fills (zeroed
 * first). *out is malloc'd. Resets st. */
int store__collect(sqlite3_stmt *st, size_t size, void (*row)(sqlite3_stmt *, void *),
                   void **out, size_t *n);
/* store__collect for (seq, payload) rows. */
int store__collect_events(sqlite3_stmt *st, struct store_event **out, size_t *n);
#define MSG_COLS "SELECT id, room, seq, sender, ts, deleted FROM messages "
/* A row of MSG_COLS. */
void store__msg_row(sqlite3_stmt *st, struct store_msg *out);
void store__text(sqlite3_stmt *st, int col, char *dst, size_t cap);
/* vfs: NULL for SQLite's default, or one of vfs.c's. */
int store__conn_open(struct store_conn *c, const char *path, int flags, const char *vfs,
                     char *err);
/* vfs.c's VFS names, registered on first use (NULL if that fails): the checkpointer's, which
 * syncs database-file writes in small chunks, and the writer's, which gathers WAL frames into
 * one write per commit. */
const char *store__paced_vfs(void);
const char *store__gather_vfs(void);
void store__conn_close(struct store_conn *c);

/* A room's last seq is the highest in its log (one seek on room_events' key). STORE_LAST_SEQ
 * has no row when there is no such room. */
#define STORE_ROOM_LAST_SEQ "(SELECT ifnull(max(seq), 0) FROM room_events WHERE room=rooms.id)"
#define STORE_LAST_SEQ "SELECT " STORE_ROOM_LAST_SEQ " FROM rooms WHERE id=?"

/* Room seqs (seqs.c): the next seq from memory; forget them all (after a rollback, or when
 * another connection may have written). */
int store__seq_next(struct store_tx *tx, int64_t room, int64_t *out_seq);
void store__seqs_forget(struct store_tx *tx);

/* Writer thread (writer.c). */
int store__writer_start(const char *path, char *err);
void store__writer_stop(void);
/* Checkpoint thread (checkpoint.c), fed by the writer connection's commits. */
int store__checkpointer_start(sqlite3 *writer, const char *path, char *err);
void store__checkpointer_stop(sqlite3 *writer);

#endif
