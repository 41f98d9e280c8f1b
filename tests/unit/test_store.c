/* test_store: unit tests for server/store against a real SQLite file in a mkdtemp directory.
 * Opening creates and migrates (user_version = the migration count) and the epoch survives a
 * reopen; a database from a newer natter is refused. Jobs: completions come back through loopq
 * in submission order; a failing job inside a batch rolls back only itself; the write queue
 * limit answers unavailable; store_close commits what is queued. Then the data helpers: seqs
 * without gaps (a rolled-back job's seq is reused), send idempotency by cid, DM rooms by pair,
 * event range queries, read markers that never go down and unread counts; checkpoints happen
 * while the store is open. The directory is removed at the end. */
#include "core/cfg.h"
#include "core/loopq.h"
#include "store/store.h"
#include "store/store_int.h" /* struct store_tx, to make a COMMIT fail on purpose */
#include "check.h"

#include <dirent.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern const char *const store__migrations[]; /* generated from the schema files */
extern const int store__migration_count;

#define NOW 1795000000000LL
#define MAX_JOBS 64

static char dir[] = "/tmp/natter-test-store-XXXXXX";
static char db_path[128];

/* Strings that outlive the jobs using them, freed at the end. */
static char *pool[256];
static int npool;

static const char *keep(const char *s)
{
    char *p = strdup(s);
    if (p && npool < (int)(sizeof pool / sizeof pool[0]))
        pool[npool++] = p;
    return p;
}

/* ---- a job harness ---- */

struct tjob;
typedef int (*tjob_fn)(struct store_tx *tx, struct tjob *t);

struct tjob {
    struct store_job job;
    tjob_fn fn;
    bool done;
    int rc;
    /* inputs */
    int64_t user, user2, room, seq, n;
    const char *s1, *s2;
    sem_t *gate, *started; /* j_block posts started (if set), then waits on gate */
    /* outputs */
    int64_t id, id2, seqs[16];
    bool created;
    struct store_ack ack;
};

static struct tjob *finished[MAX_JOBS];
static int nfinished;

static int tramp(struct store_tx *tx, void *arg)
{
    struct tjob *t = arg;
    return t->fn(tx, t);
}

static void on_done(void *arg, int rc)
{
    struct tjob *t = arg;
    t->done = true;
    t->rc = rc;
    if (nfinished < MAX_JOBS)
        finished[nfinished] = t;
    nfinished++;
}

static struct tjob *job(struct tjob *t, tjob_fn fn)
{
    memset(t, 0, sizeof *t);
    t->fn = fn;
    t->job.run = tramp;
    t->job.done = on_done;
    t->job.arg = t;
    return t;
}

/* Drains loopq until every job in js is done (10 s at most). Returns 1 when all finished. */
static int wait_all(struct tjob *const *js, int n)
{
    for (int spin = 0; spin < 10000; spin++) {
        int left = 0;
        loopq_drain();
        for (int i = 0; i < n; i++)
            left += !js[i]->done;
        if (!left)
            return 1;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    fprintf(stderr, "jobs did not finish\n");
    return 0;
}

/* Submits one job, waits for it and returns its rc. */
static int run1(struct tjob *t)
{
    int rc = store_submit(&t->job);
    if (rc)
        return rc;
    CHECK(wait_all(&t, 1));
    return t->rc;
}

/* ---- job bodies (writer thread) ---- */

static int j_user(struct store_tx *tx, struct tjob *t)
{
    return store_tx_user_insert(tx, t->s1, t->s2 ? t->s2 : "Name", "hash", NOW, &t->id);
}

/* Inserts s1 and notes whether a reader (another connection) already sees s2: it does only
 * once s2's job has committed, so `created` says "s2 was in an earlier transaction". */
static int j_user_sees(struct store_tx *tx, struct tjob *t)
{
    struct store_user su;
    t->created = store_user_by_email(t->s2, &su) == 0;
    return store_tx_user_insert(tx, t->s1, "Name", "hash", NOW, &t->id);
}

/* Inserts s1 (new), then s2; when s2 is taken the whole job must vanish, s1 included. */
static int j_user_pair(struct store_tx *tx, struct tjob *t)
{
    int rc = store_tx_user_insert(tx, t->s1, "First", "hash", NOW, &t->id);
    if (rc == 0)
        rc = store_tx_user_insert(tx, t->s2, "Second", "hash", NOW, &t->id2);
    return rc;
}

/* Defers foreign keys and breaks one, so the job itself succeeds but the batch's COMMIT
 * fails: then every job of the batch must report -NATTER_EINTERNAL and none may persist. */
static int j_bad_commit(struct store_tx *tx, struct tjob *t)
{
    (void)t;
    if (sqlite3_exec(tx->conn.db, "PRAGMA defer_foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK)
        return -NATTER_EINTERNAL;
    return store_tx_member_insert(tx, 999999, 999999, ROLE_MEMBER, NOW);
}

static int j_block(struct store_tx *tx, struct tjob *t)
{
    (void)tx;
    if (t->started)
        sem_post(t->started);
    sem_wait(t->gate);
    return 0;
}

/* A group owned by user with user2 as a member, and its room s1 (-> room). */
static int j_group(struct store_tx *tx, struct tjob *t)
{
    int rc = store_tx_group_insert(tx, "Team", t->user, NOW, &t->id);
    if (!rc)
        rc = store_tx_member_insert(tx, t->id, t->user, ROLE_OWNER, NOW);
    if (!rc && t->user2)
        rc = store_tx_member_insert(tx, t->id, t->user2, ROLE_MEMBER, NOW);
    if (!rc)
        rc = store_tx_room_insert(tx, t->id, t->s1, NOW, &t->room);
    return rc;
}

/* Takes n seqs, each followed by its log event, as every event does. */
static int j_seqs(struct store_tx *tx, struct tjob *t)
{
    for (int64_t i = 0; i < t->n; i++) {
        int rc = store_tx_next_seq(tx, t->room, &t->seqs[i]);
        if (!rc)
            rc = store_tx_event_append(tx, t->room, t->seqs[i], "room.renamed", 1, 0, "{}", NOW);
        if (rc)
            return rc;
    }
    return 0;
}

/* Takes a seq, then fails: the seq must be given out again. */
static int j_seq_fail(struct store_tx *tx, struct tjob *t)
{
    int rc = store_tx_next_seq(tx, t->room, &t->seqs[0]);
    return rc ? rc : -NATTER_ECONFLICT;
}

/* What message.send does: seq, log event, message row (cid s1, body s2) -> ack. */
static int j_send(struct store_tx *tx, struct tjob *t)
{
    char payload[128];
    int rc = store_tx_next_seq(tx, t->room, &t->ack.seq);
    if (rc)
        return rc;
    t->ack.room = t->room;
    t->ack.ts = NOW + t->ack.seq;
    rc =
        store_tx_msg_insert(tx, t->room, t->ack.seq, t->user, t->s1, t->s2, t->ack.ts, &t->ack.msg);
    if (rc)
        return rc;
    snprintf(payload, sizeof payload, "{\"seq\":%lld}", (long long)t->ack.seq);
    return store_tx_event_append(tx, t->room, t->ack.seq, "message.created", t->user, t->ack.msg,
                                 payload, t->ack.ts);
}

/* Takes a seq and logs an event, then asks for all of it to be undone (STORE_UNDO). */
static int j_undo(struct store_tx *tx, struct tjob *t)
{
    int rc = store_tx_next_seq(tx, t->room, &t->seqs[0]);
    if (!rc)
        rc = store_tx_event_append(tx, t->room, t->seqs[0], "room.renamed", t->user, 0, "{}", NOW);
    return rc ? rc : STORE_UNDO;
}

static int j_cid(struct store_tx *tx, struct tjob *t)
{
    return store_tx_msg_by_cid(tx, t->user, t->s1, &t->ack);
}

static int j_dm(struct store_tx *tx, struct tjob *t)
{
    return store_tx_dm_open(tx, t->user, t->user2, NOW, &t->room, &t->created);
}

/* n plain events (no message) in room. */
static int j_events(struct store_tx *tx, struct tjob *t)
{
    char payload[64];
    for (int64_t i = 0; i < t->n; i++) {
        int64_t seq;
        int rc = store_tx_next_seq(tx, t->room, &seq);
        if (rc)
            return rc;
        snprintf(payload, sizeof payload, "{\"n\":%lld}", (long long)seq);
        if ((rc =
                 store_tx_event_append(tx, t->room, seq, "room.renamed", t->user, 0, payload, NOW)))
            return rc;
    }
    return 0;
}

static int j_read(struct store_tx *tx, struct tjob *t)
{
    return store_tx_read_set(tx, t->user, t->room, t->seq, &t->id);
}

static int j_msg_delete(struct store_tx *tx, struct tjob *t)
{
    return store_tx_msg_delete(tx, t->id);
}

/* ---- tests ---- */

static int64_t user_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_open(void)
{
    char err[NATTER_ERR_LEN] = "", epoch[64], newer[160];
    sqlite3 *db = NULL;

    CHECK(store__migration_count >= 1);
    CHECK_EQ_INT(store_open(db_path, err), 0);
    if (err[0])
        fprintf(stderr, "store_open: %s\n", err);
    snprintf(epoch, sizeof epoch, "%s", store_epoch());
    CHECK_EQ_INT(strlen(epoch), 32);
    CHECK_EQ_INT(strspn(epoch, "0123456789abcdef"), 32);
    store_close();
    CHECK_EQ_INT(user_version(db_path), store__migration_count);
    /* Reopening migrates nothing and keeps the epoch. */
    CHECK_EQ_INT(store_open(db_path, err), 0);
    CHECK_STREQ(store_epoch(), epoch);
    store_close();
    CHECK_EQ_INT(user_version(db_path), store__migration_count);

    /* A database from a newer natter is refused, and left alone. */
    snprintf(newer, sizeof newer, "%s/newer.db", dir);
    CHECK_EQ_INT(sqlite3_open(newer, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d;", store__migration_count + 1);
    CHECK_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    err[0] = '\0';
    CHECK(store_open(newer, err) != 0);
    CHECK(strstr(err, "schema version") != NULL);
    CHECK(strstr(err, "newer") != NULL);
    CHECK_EQ_INT(user_version(newer), store__migration_count + 1);
    /* A path that cannot be opened. */
    err[0] = '\0';
    CHECK(store_open("/nonexistent-dir/x/natter.db", err) != 0);
    CHECK(err[0] != '\0');
}

/* Schema 0005 drops rooms.last_seq: a database written before it reads the same seqs after. */
static void test_migrate_seqs_from_log(void)
{
    char err[NATTER_ERR_LEN] = "", old[160];
    sqlite3 *db = NULL;
    struct store_room r;

    snprintf(old, sizeof old, "%s/schema4.db", dir);
    CHECK_EQ_INT(sqlite3_open(old, &db), SQLITE_OK);
    for (int v = 0; v < 4; v++)
        CHECK_EQ_INT(sqlite3_exec(db, store__migrations[v], NULL, NULL, NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db,
                              "INSERT INTO users(email, name, created) VALUES ('a@x.org', 'A', 0);"
                              "INSERT INTO chat_groups(name, owner, created) VALUES ('g', 1, 0);"
                              "INSERT INTO rooms(group_id, name, last_seq, created) VALUES (1, 'r', 3, 0);"
                              "INSERT INTO rooms(group_id, name, created) VALUES (1, 'empty', 0);"
                              "INSERT INTO room_events(room, seq, type, actor, payload, created) VALUES"
                              " (1, 1, 'room.renamed', 1, '{}', 0), (1, 2, 'room.renamed', 1, '{}', 0),"
                              " (1, 3, 'room.renamed', 1, '{}', 0);"
                              "PRAGMA user_version=4;",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    CHECK_EQ_INT(store_open(old, err), 0);
    if (err[0])
        fprintf(stderr, "store_open: %s\n", err);
    CHECK_EQ_INT(store_room_get(1, &r), 0);
    CHECK_EQ_INT(r.last_seq, 3);
    CHECK_EQ_INT(store_room_get(2, &r), 0);
    CHECK_EQ_INT(r.last_seq, 0);
    store_close();
    CHECK_EQ_INT(user_version(old), store__migration_count);
}

static void test_jobs(void)
{
    static struct tjob blk, u[6], pair, big[MAX_JOBS];
    struct tjob *all[8];
    sem_t gate, started;
    char email[64];
    struct store_user su;

    CHECK_EQ_INT(sem_init(&gate, 0, 0), 0);
    CHECK_EQ_INT(sem_init(&started, 0, 0), 0);
    /* Hold the writer inside a job so the next ones queue up and form one batch. */
    job(&blk, j_block)->gate = &gate;
    CHECK_EQ_INT(store_submit(&blk.job), 0);
    nfinished = 0;
    job(&u[0], j_user)->s1 = "ada@example.org";
    job(&u[1], j_user)->s1 = "bob@example.org";
    job(&pair, j_user_pair);
    pair.s1 = "zed@example.org"; /* new: rolled back with its job */
    pair.s2 = "ada@example.org"; /* taken by u[0] in the same batch */
    job(&u[2], j_user)->s1 = "cyd@example.org";
    job(&u[3], j_user)->s1 = "bob@example.org"; /* duplicate of u[1]: conflict */
    job(&u[4], j_user)->s1 = "dee@example.org";
    struct tjob *order[] = {&u[0], &u[1], &pair, &u[2], &u[3], &u[4]};
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(store_submit(&order[i]->job), 0);
    CHECK_EQ_INT(sem_post(&gate), 0);
    all[0] = &blk;
    for (int i = 0; i < 6; i++)
        all[i + 1] = order[i];
    CHECK(wait_all(all, 7));
    /* Completion order is submission order. */
    CHECK_EQ_INT(nfinished, 7);
    for (int i = 0; i < 7 && i < nfinished; i++)
        CHECK(finished[i] == all[i]);
    CHECK_EQ_INT(blk.rc, 0);
    CHECK_EQ_INT(u[0].rc, 0);
    CHECK_EQ_INT(u[1].rc, 0);
    CHECK_EQ_INT(pair.rc, -NATTER_ECONFLICT);
    CHECK_EQ_INT(u[2].rc, 0);
    CHECK_EQ_INT(u[3].rc, -NATTER_ECONFLICT);
    CHECK_EQ_INT(u[4].rc, 0);
    /* The failures rolled back only themselves. */
    CHECK_EQ_INT(store_user_by_email("ada@example.org", &su), 0);
    CHECK_EQ_INT(su.id, u[0].id);
    CHECK_STREQ(su.name, "Name");
    CHECK_EQ_INT(store_user_by_email("bob@example.org", &su), 0);
    CHECK_EQ_INT(su.id, u[1].id);
    CHECK_EQ_INT(store_user_by_email("cyd@example.org", &su), 0);
    CHECK_EQ_INT(store_user_by_email("dee@example.org", &su), 0);
    CHECK_EQ_INT(store_user_by_email("zed@example.org", &su), -NATTER_ENOTFOUND);
    CHECK_EQ_INT(store_user_by_id(u[4].id, &su), 0);
    CHECK_STREQ(su.email, "dee@example.org");
    CHECK_EQ_INT(su.created, NOW);

    /* A batch whose COMMIT fails: no job of it is acknowledged as done, none persists. */
    struct tjob a, bad, c, after;
    job(&blk, j_block)->gate = &gate;
    CHECK_EQ_INT(store_submit(&blk.job), 0);
    job(&a, j_user)->s1 = "commit1@example.org";
    job(&bad, j_bad_commit);
    job(&c, j_user)->s1 = "commit2@example.org";
    CHECK_EQ_INT(store_submit(&a.job), 0);
    CHECK_EQ_INT(store_submit(&bad.job), 0);
    CHECK_EQ_INT(store_submit(&c.job), 0);
    CHECK_EQ_INT(sem_post(&gate), 0);
    all[0] = &blk;
    all[1] = &a;
    all[2] = &bad;
    all[3] = &c;
    CHECK(wait_all(all, 4));
    CHECK_EQ_INT(a.rc, -NATTER_EINTERNAL);
    CHECK_EQ_INT(bad.rc, -NATTER_EINTERNAL);
    CHECK_EQ_INT(c.rc, -NATTER_EINTERNAL);
    CHECK_EQ_INT(store_user_by_email("commit1@example.org", &su), -NATTER_ENOTFOUND);
    CHECK_EQ_INT(store_user_by_email("commit2@example.org", &su), -NATTER_ENOTFOUND);
    job(&after, j_user)->s1 = "commit1@example.org"; /* the writer carries on */
    CHECK_EQ_INT(run1(&after), 0);
    CHECK_EQ_INT(store_user_by_email("commit1@example.org", &su), 0);

    /* The write queue limit: with the writer held, write_queue jobs fit and the next is refused. */
    char err[NATTER_ERR_LEN];
    CHECK_EQ_INT(cfg_set_limits("write_queue=3", err), 0);
    job(&blk, j_block)->gate = &gate;
    blk.started = &started;
    CHECK_EQ_INT(store_submit(&blk.job), 0);
    CHECK_EQ_INT(sem_wait(&started), 0); /* the writer has taken blk: the queue is empty */
    for (int i = 0; i < 4; i++) {
        snprintf(email, sizeof email, "q%d@example.org", i);
        job(&big[i], j_user)->s1 = keep(email);
    }
    CHECK_EQ_INT(store_submit(&big[0].job), 0);
    CHECK_EQ_INT(store_submit(&big[1].job), 0);
    CHECK_EQ_INT(store_submit(&big[2].job), 0);
    CHECK_EQ_INT(store_submit(&big[3].job), -NATTER_EUNAVAIL);
    CHECK_EQ_INT(sem_post(&gate), 0);
    all[0] = &blk;
    all[1] = &big[0];
    all[2] = &big[1];
    all[3] = &big[2];
    CHECK(wait_all(all, 4));
    CHECK(!big[3].done);
    CHECK_EQ_INT(cfg_set_limits("write_queue=65536", err), 0);

    /* Many jobs from one burst, in order, all committed. */
    nfinished = 0;
    for (int i = 0; i < MAX_JOBS; i++) {
        snprintf(email, sizeof email, "many%d@example.org", i);
        job(&big[i], j_user)->s1 = keep(email);
        CHECK_EQ_INT(store_submit(&big[i].job), 0);
    }
    struct tjob *many[MAX_JOBS];
    for (int i = 0; i < MAX_JOBS; i++)
        many[i] = &big[i];
    CHECK(wait_all(many, MAX_JOBS));
    int in_order = nfinished == MAX_JOBS, ok = 1;
    for (int i = 0; in_order && i < MAX_JOBS; i++)
        in_order = finished[i] == &big[i];
    for (int i = 0; i < MAX_JOBS; i++)
        ok &= big[i].rc == 0 && store_user_by_email(big[i].s1, &su) == 0 && su.id == big[i].id;
    CHECK(in_order);
    CHECK(ok);
    sem_destroy(&gate);
    sem_destroy(&started);
}

/* The commit window: while commits come often, a job that arrives within commit_window_us
 * of the one before shares its transaction; without a window it gets its own. */
static void test_commit_window(void)
{
    static struct tjob first, a, b;
    struct tjob *both[] = {&a, &b};
    char err[NATTER_ERR_LEN];
    for (int window = 0; window < 2; window++) {
        CHECK_EQ_INT(cfg_set_limits(window ? "commit_window_us=100000" : "commit_window_us=0", err), 0);
        job(&first, j_user)->s1 = keep(window ? "w1-first@example.org" : "w0-first@example.org");
        CHECK_EQ_INT(run1(&first), 0); /* so commits are "frequent" when a arrives */
        job(&a, j_user)->s1 = keep(window ? "w1-a@example.org" : "w0-a@example.org");
        job(&b, j_user_sees)->s1 = keep(window ? "w1-b@example.org" : "w0-b@example.org");
        b.s2 = a.s1;
        CHECK_EQ_INT(store_submit(&a.job), 0);
        nanosleep(&(struct timespec){0, 20 * 1000000}, NULL);
        CHECK_EQ_INT(store_submit(&b.job), 0);
        CHECK(wait_all(both, 2));
        CHECK_EQ_INT(a.rc, 0);
        CHECK_EQ_INT(b.rc, 0);
        CHECK(b.created == !window); /* with the window, a was not yet committed when b ran */
    }
    CHECK_EQ_INT(cfg_set_limits("commit_window_us=500", err), 0);
}

/* Users for the data tests: ada, bob, cyd (created above). */
static int64_t uid(const char *email)
{
    struct store_user su;
    return store_user_by_email(email, &su) == 0 ? su.id : 0;
}

static void test_seqs_and_messages(void)
{
    struct tjob g, t, t2, f;
    int64_t ada = uid("ada@example.org"), bob = uid("bob@example.org"),
            cyd = uid("cyd@example.org");
    struct store_room room;

    CHECK(ada && bob && cyd);
    job(&g, j_group);
    g.user = ada;
    g.user2 = bob;
    g.s1 = "general";
    CHECK_EQ_INT(run1(&g), 0);
    CHECK(g.room > 0);
    CHECK_EQ_INT(store_member_role(g.id, ada), ROLE_OWNER);
    CHECK_EQ_INT(store_member_role(g.id, bob), ROLE_MEMBER);
    CHECK_EQ_INT(store_member_role(g.id, cyd), ROLE_NONE);
    CHECK(store_share_group(ada, bob));
    CHECK(!store_share_group(ada, cyd));

    /* Contiguous seqs within a job and across jobs; a failed job's seq is given out again. */
    job(&t, j_seqs);
    t.room = g.room;
    t.n = 5;
    CHECK_EQ_INT(run1(&t), 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(t.seqs[i], i + 1);
    job(&f, j_seq_fail)->room = g.room;
    CHECK_EQ_INT(run1(&f), -NATTER_ECONFLICT);
    CHECK_EQ_INT(f.seqs[0], 6);
    job(&t2, j_seqs);
    t2.room = g.room;
    t2.n = 2;
    CHECK_EQ_INT(run1(&t2), 0);
    CHECK(t2.seqs[0] == 6 && t2.seqs[1] == 7);
    CHECK_EQ_INT(store_room_get(g.room, &room), 0);
    CHECK_EQ_INT(room.last_seq, 7);
    CHECK_EQ_INT(room.group, g.id);
    CHECK_STREQ(room.name, "general");
    CHECK_EQ_INT(store_room_get(g.room + 1000, &room), -NATTER_ENOTFOUND);
    job(&f, j_seqs);
    f.room = g.room + 1000; /* no such room: no seq */
    f.n = 1;
    CHECK(run1(&f) != 0);

    /* Idempotent sends: the cid finds the original ack. */
    struct tjob s1, s2, c, dup;
    job(&s1, j_send);
    s1.room = g.room;
    s1.user = ada;
    s1.s1 = "cid-1";
    s1.s2 = "hello";
    CHECK_EQ_INT(run1(&s1), 0);
    CHECK_EQ_INT(s1.ack.seq, 8);
    job(&s2, j_send);
    s2.room = g.room;
    s2.user = bob;
    s2.s1 = "cid-1"; /* the same cid from someone else is another message */
    s2.s2 = "hi";
    CHECK_EQ_INT(run1(&s2), 0);
    CHECK_EQ_INT(s2.ack.seq, 9);
    CHECK(s2.ack.msg != s1.ack.msg);
    job(&c, j_cid);
    c.user = ada;
    c.s1 = "cid-1";
    CHECK_EQ_INT(run1(&c), 0);
    CHECK(c.ack.room == s1.ack.room && c.ack.seq == s1.ack.seq && c.ack.msg == s1.ack.msg &&
          c.ack.ts == s1.ack.ts);
    job(&c, j_cid);
    c.user = ada;
    c.s1 = "cid-2";
    CHECK_EQ_INT(run1(&c), -NATTER_ENOTFOUND);
    job(&c, j_cid);
    c.user = cyd;
    c.s1 = "cid-1";
    CHECK_EQ_INT(run1(&c), -NATTER_ENOTFOUND);
    /* Inserting the same (sender, cid) twice is a conflict, and takes no seq. */
    job(&dup, j_send);
    dup.room = g.room;
    dup.user = ada;
    dup.s1 = "cid-1";
    dup.s2 = "again";
    CHECK_EQ_INT(run1(&dup), -NATTER_ECONFLICT);
    CHECK_EQ_INT(store_room_get(g.room, &room), 0);
    CHECK_EQ_INT(room.last_seq, 9);
    struct store_msg m;
    CHECK_EQ_INT(store_msg_get(s1.ack.msg, &m), 0);
    CHECK(m.room == g.room && m.seq == 8 && m.sender == ada && !m.deleted);
}

/* The room's log holds exactly seqs 1..last. */
static int events_gapless(int64_t room, int64_t last)
{
    struct store_event *ev = NULL;
    size_t n = 0;
    int ok = store_events(room, 0, 0, 100, false, &ev, &n) == 0 && n == (size_t)last;
    for (size_t i = 0; ok && i < n; i++)
        ok = ev[i].seq == (int64_t)i + 1;
    if (!ok)
        fprintf(stderr, "room %lld: %zu events, want 1..%lld\n", (long long)room, n, (long long)last);
    store_events_free(ev, n);
    return ok;
}

/* A replayable j_send (as message.send submits it). */
static struct tjob *fast_send(struct tjob *t, int64_t room, int64_t user, const char *cid)
{
    job(t, j_send);
    t->job.replayable = true;
    t->room = room;
    t->user = user;
    t->s1 = cid;
    t->s2 = "hi";
    return t;
}

/* Batches of replayable jobs run without savepoints, with seqs counted in memory. When one
 * job fails, the batch runs again with savepoints: the failure alone is rolled back and the
 * others keep gapless seqs in submission order. A commit by another connection is noticed. */
static void test_fast_batches(void)
{
    static struct tjob blk, s[6], undo, late;
    struct tjob *all[8];
    sem_t gate;
    struct store_room room;
    int64_t ada = uid("ada@example.org"), bob = uid("bob@example.org");
    struct tjob g;

    job(&g, j_group);
    g.user = ada;
    g.user2 = bob;
    g.s1 = "fast";
    CHECK_EQ_INT(run1(&g), 0);
    CHECK_EQ_INT(sem_init(&gate, 0, 0), 0);
    for (int round = 0; round < 2; round++) {
        /* round 0: all succeed in one fast batch; round 1: s[2] repeats s[0]'s cid */
        job(&blk, j_block)->gate = &gate;
        CHECK_EQ_INT(store_submit(&blk.job), 0);
        all[0] = &blk;
        for (int i = 0; i < 6; i++) {
            char cid[32];
            snprintf(cid, sizeof cid, "fast-%d-%d", round, round && i == 2 ? 0 : i);
            CHECK_EQ_INT(store_submit(&fast_send(&s[i], g.room, ada, keep(cid))->job), 0);
            all[i + 1] = &s[i];
        }
        CHECK_EQ_INT(sem_post(&gate), 0);
        CHECK(wait_all(all, 7));
        int64_t want = 1 + round * 6;
        for (int i = 0; i < 6; i++) {
            if (round && i == 2) {
                CHECK_EQ_INT(s[i].rc, -NATTER_ECONFLICT);
                continue;
            }
            CHECK_EQ_INT(s[i].rc, 0);
            CHECK_EQ_INT(s[i].ack.seq, want++);
        }
        CHECK_EQ_INT(store_room_get(g.room, &room), 0);
        CHECK_EQ_INT(room.last_seq, want - 1);
        CHECK(events_gapless(g.room, want - 1));
    }
    /* STORE_UNDO: reported as done, nothing kept, its seq given out again. */
    job(&undo, j_undo);
    undo.job.replayable = true;
    undo.room = g.room;
    undo.user = ada;
    CHECK_EQ_INT(run1(&undo), 0);
    CHECK_EQ_INT(undo.seqs[0], 12);
    CHECK_EQ_INT(store_room_get(g.room, &room), 0);
    CHECK_EQ_INT(room.last_seq, 11);
    CHECK(events_gapless(g.room, 11));

    /* Another connection (an admin command) commits a seq: the writer's count follows. */
    /* a fast batch first, so the writer holds the room's seq (12) */
    CHECK_EQ_INT(run1(fast_send(&late, g.room, ada, "fast-warm")), 0);
    CHECK_EQ_INT(late.ack.seq, 12);
    sqlite3 *other;
    char sql[192];
    CHECK_EQ_INT(sqlite3_open(db_path, &other), SQLITE_OK);
    sqlite3_busy_timeout(other, 5000);
    snprintf(sql, sizeof sql,
             "INSERT INTO room_events(room, seq, type, actor, payload, created) "
             "VALUES (%lld, 20, 'room.renamed', %lld, '{}', 0)",
             (long long)g.room, (long long)ada);
    CHECK_EQ_INT(sqlite3_exec(other, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    CHECK_EQ_INT(run1(fast_send(&late, g.room, ada, "fast-late")), 0);
    CHECK_EQ_INT(late.ack.seq, 21);
    sem_destroy(&gate);
}

static void test_dm(void)
{
    struct tjob a, b, c;
    int64_t ada = uid("ada@example.org"), bob = uid("bob@example.org"),
            cyd = uid("cyd@example.org");
    struct store_room r;
    struct store_room *dms = NULL;
    size_t n = 0;

    job(&a, j_dm);
    a.user = bob;
    a.user2 = ada;
    CHECK_EQ_INT(run1(&a), 0);
    CHECK(a.created);
    job(&b, j_dm);
    b.user = ada;
    b.user2 = bob;
    CHECK_EQ_INT(run1(&b), 0);
    CHECK(!b.created);
    CHECK_EQ_INT(b.room, a.room);
    job(&c, j_dm);
    c.user = ada;
    c.user2 = cyd;
    CHECK_EQ_INT(run1(&c), 0);
    CHECK(c.created && c.room != a.room);
    CHECK_EQ_INT(store_room_get(a.room, &r), 0);
    CHECK_EQ_INT(r.group, 0);
    CHECK(r.dm_a == (ada < bob ? ada : bob) && r.dm_b == (ada < bob ? bob : ada));
    CHECK_EQ_INT(store_dms_of_user(ada, &dms, &n), 0);
    CHECK_EQ_INT(n, 2);
    free(dms);
    CHECK_EQ_INT(store_dms_of_user(bob, &dms, &n), 0);
    CHECK(n == 1 && dms && dms[0].id == a.room);
    free(dms);
}

static int events_are(int64_t room, int64_t after, int64_t before, int limit, bool newest,
                      int64_t first, int64_t count)
{
    struct store_event *ev = NULL;
    size_t n = 0;
    int ok = store_events(room, after, before, limit, newest, &ev, &n) == 0 && n == (size_t)count;
    for (size_t i = 0; ok && i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "{\"n\":%lld}", (long long)(first + (int64_t)i));
        ok = ev[i].seq == first + (int64_t)i && ev[i].payload && strcmp(ev[i].payload, want) == 0;
    }
    if (!ok)
        fprintf(stderr, "store_events(after %lld, before %lld, limit %d, newest %d): %zu events\n",
                (long long)after, (long long)before, limit, newest, n);
    store_events_free(ev, n);
    return ok;
}

static void test_events(void)
{
    struct tjob g, e;
    int64_t ada = uid("ada@example.org");

    job(&g, j_group);
    g.user = ada;
    g.s1 = "log";
    CHECK_EQ_INT(run1(&g), 0);
    job(&e, j_events);
    e.room = g.room;
    e.user = ada;
    e.n = 10;
    CHECK_EQ_INT(run1(&e), 0);
    CHECK(events_are(g.room, 0, 0, 100, false, 1, 10));
    CHECK(events_are(g.room, 0, 0, 100, true, 1, 10));
    CHECK(events_are(g.room, 0, 0, 3, false, 1, 3));  /* oldest page */
    CHECK(events_are(g.room, 0, 0, 3, true, 8, 3));   /* newest page, still ascending */
    CHECK(events_are(g.room, 3, 0, 4, false, 4, 4));  /* after is exclusive */
    CHECK(events_are(g.room, 0, 8, 3, true, 5, 3));   /* before is exclusive */
    CHECK(events_are(g.room, 0, 8, 100, true, 1, 7));
    CHECK(events_are(g.room, 3, 8, 100, false, 4, 4));
    CHECK(events_are(g.room, 3, 8, 2, true, 6, 2));
    CHECK(events_are(g.room, 10, 0, 100, false, 0, 0));
    CHECK(events_are(g.room, 0, 1, 100, true, 0, 0));
    CHECK(events_are(g.room, 9, 0, 100, true, 10, 1));
    CHECK(events_are(g.room + 999, 0, 0, 100, true, 0, 0));
}

static void test_read_and_unread(void)
{
    struct tjob g, s[7], r, del;
    int64_t ada = uid("ada@example.org"), bob = uid("bob@example.org"), v = -1;
    char cid[16];

    job(&g, j_group);
    g.user = ada;
    g.user2 = bob;
    g.s1 = "chat";
    CHECK_EQ_INT(run1(&g), 0);
    /* seqs 1..3 from ada, 4..7 from bob. */
    for (int i = 0; i < 7; i++) {
        job(&s[i], j_send);
        s[i].room = g.room;
        s[i].user = i < 3 ? ada : bob;
        snprintf(cid, sizeof cid, "u%d", i);
        s[i].s1 = keep(cid);
        s[i].s2 = "x";
        CHECK_EQ_INT(run1(&s[i]), 0);
        CHECK_EQ_INT(s[i].ack.seq, i + 1);
    }
    job(&del, j_msg_delete)->id = s[5].ack.msg; /* bob's seq 6 */
    CHECK_EQ_INT(run1(&del), 0);
    struct store_msg m;
    CHECK_EQ_INT(store_msg_get(s[5].ack.msg, &m), 0);
    CHECK(m.deleted);

    CHECK_EQ_INT(store_unread(ada, g.room, 0, 1000, &v), 0);
    CHECK_EQ_INT(v, 3); /* bob's 4, 5, 7: not ada's own, not the deleted one */
    CHECK_EQ_INT(store_unread(bob, g.room, 0, 1000, &v), 0);
    CHECK_EQ_INT(v, 3); /* ada's 1..3 */
    CHECK_EQ_INT(store_unread(ada, g.room, 4, 1000, &v), 0);
    CHECK_EQ_INT(v, 2); /* 5, 7 */
    CHECK_EQ_INT(store_unread(ada, g.room, 7, 1000, &v), 0);
    CHECK_EQ_INT(v, 0);
    CHECK_EQ_INT(store_unread(ada, g.room, 0, 2, &v), 0);
    CHECK_EQ_INT(v, 2); /* capped */

    /* Read markers: start at 0, go up, never down. */
    CHECK_EQ_INT(store_last_read(ada, g.room, &v), 0);
    CHECK_EQ_INT(v, 0);
    int64_t steps[][2] = {{5, 5}, {3, 5}, {5, 5}, {7, 7}, {0, 7}, {6, 7}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        job(&r, j_read);
        r.user = ada;
        r.room = g.room;
        r.seq = steps[i][0];
        CHECK_EQ_INT(run1(&r), 0);
        CHECK_EQ_INT(r.id, steps[i][1]);
        CHECK_EQ_INT(store_last_read(ada, g.room, &v), 0);
        CHECK_EQ_INT(v, steps[i][1]);
    }
    CHECK_EQ_INT(store_last_read(bob, g.room, &v), 0); /* bob's is his own */
    CHECK_EQ_INT(v, 0);
}

/* store_close commits everything still queued; afterwards submitting is refused. */
static void test_close_flushes(void)
{
    static struct tjob q[8];
    struct tjob *all[8];
    char email[64], err[NATTER_ERR_LEN];
    struct store_user su;

    for (int i = 0; i < 8; i++) {
        snprintf(email, sizeof email, "late%d@example.org", i);
        job(&q[i], j_user)->s1 = keep(email);
        CHECK_EQ_INT(store_submit(&q[i].job), 0);
        all[i] = &q[i];
    }
    store_close();
    CHECK(wait_all(all, 8));
    struct tjob extra;
    job(&extra, j_user)->s1 = "after@example.org";
    CHECK_EQ_INT(store_submit(&extra.job), -NATTER_EUNAVAIL);
    CHECK_EQ_INT(store_open(db_path, err), 0);
    for (int i = 0; i < 8; i++) {
        CHECK_EQ_INT(q[i].rc, 0);
        CHECK_EQ_INT(store_user_by_email(q[i].s1, &su), 0);
    }
    store_close();
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (f)
        fclose(f);
    return n;
}

/* The WAL is copied back into the database file while the store is open (by the checkpoint
 * thread: the writer's own automatic checkpoint is off), so the file grows by what was
 * written without a close. And the WAL itself stays near wal_max_mb (1 MiB here, set in
 * main), below the 1000 pages (4 MB) at which the checkpoint thread starts. */
static void test_checkpoints(void)
{
    static struct tjob q[40];
    struct tjob *all[40];
    static char big[100 * 1024];
    char email[64], wal[160];
    long before = file_size(db_path), wal_max = 0;

    snprintf(wal, sizeof wal, "%s-wal", db_path);
    memset(big, 'x', sizeof big - 1);
    for (int wave = 0; wave < 8; wave++) { /* 4 MB in 8 commits of 500 KB at most */
        for (int i = wave * 5; i < wave * 5 + 5; i++) {
            snprintf(email, sizeof email, "big%d@example.org", i);
            job(&q[i], j_user)->s1 = keep(email);
            q[i].s2 = big;
            CHECK_EQ_INT(store_submit(&q[i].job), 0);
            all[i] = &q[i];
        }
        CHECK(wait_all(&all[wave * 5], 5));
        long n = file_size(wal);
        wal_max = n > wal_max ? n : wal_max;
    }
    /* wal_max_mb=1: the writer checkpoints at 1 MiB unless the thread is at it, and waits at 2 */
    CHECK(wal_max > 0 && wal_max < 2 * 1024 * 1024 + 700 * 1024);
    long after = before;
    /* Up to 30 s: the checkpoint syncs every 128 KiB, and CI runs this beside Chromium and the
     * container build, where one fsync can take a second. */
    for (int spin = 0; spin < 3000 && after < before + 3 * 1024 * 1024; spin++) {
        nanosleep(&(struct timespec){0, 10000000}, NULL);
        after = file_size(db_path);
    }
    CHECK(after >= before + 3 * 1024 * 1024);
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    CHECK_EQ_INT(rmdir(dir), 0);
}

int main(void)
{
    char err[NATTER_ERR_LEN];

    CHECK_EQ_INT(cfg_parse(1, (char *[]){"natter", NULL}, err), 0);
    CHECK_EQ_INT(cfg_set_limits("wal_max_mb=1", err), 0);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(db_path, sizeof db_path, "%s/natter.db", dir);
    test_open();
    test_migrate_seqs_from_log();
    CHECK_EQ_INT(store_open(db_path, err), 0);
    test_jobs();
    test_commit_window();
    test_seqs_and_messages();
    test_fast_batches();
    test_dm();
    test_events();
    test_read_and_unread();
    test_checkpoints();
    store_close();
    CHECK_EQ_INT(store_open(db_path, err), 0);
    test_close_flushes();
    remove_dir();
    while (npool)
        free(pool[--npool]);
    CHECK_MAIN_END();
}
