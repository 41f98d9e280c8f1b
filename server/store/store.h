/* store: Natter's data, behind an interface that knows nothing of the wire. The SQLite
 * implementation (the only includer of <sqlite3.h>) keeps two connections:
 *  - a read-only one for the loop thread: bounded, indexed reads (store_* functions);
 *  - a write one owned by the store writer thread, which runs queued jobs in batches, one
 *    transaction per batch (WAL, synchronous=FULL), then hands each job back to the loop.
 * Write helpers (store_tx_*) may only be called from a job's run function.
 * A later PostgreSQL store implements this same header. */
#ifndef NATTER_STORE_H
#define NATTER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loopq.h"

#define STORE_NAME_LEN 260  /* 64 code points of UTF-8, and a NUL */
#define STORE_EMAIL_LEN 256

enum role { ROLE_NONE = 0, ROLE_MEMBER = 1, ROLE_ADMIN = 2, ROLE_OWNER = 3 };
const char *role_name(enum role r);
enum role role_parse(const char *s); /* ROLE_NONE when unknown */

struct store_user {
    int64_t id;
    char email[STORE_EMAIL_LEN];
    char name[STORE_NAME_LEN];
    char pw_hash[128];
    bool is_admin, is_bot, disabled;
    int64_t created;
};

struct store_group {
    int64_t id, owner;
    char name[STORE_NAME_LEN];
    enum role role; /* the asking user's role */
};

struct store_room {
    int64_t id, group;  /* group 0 for a DM */
    int64_t dm_a, dm_b; /* the DM's users, dm_a < dm_b; 0 for a group room */
    int64_t last_seq;
    char name[STORE_NAME_LEN];
};

struct store_member {
    int64_t user;
    char name[STORE_NAME_LEN];
    enum role role;
};

struct store_event {
    int64_t seq;
    char *payload; /* owned by the array: free with store_events_free */
};

struct store_ack {
    int64_t room, seq, msg, ts;
};

struct store_msg {
    int64_t id, room, seq, sender, ts;
    bool deleted;
};

/* Opens (creating if needed) the database at path, migrates it, and starts the writer.
 * Refuses a database newer than this binary. Returns 0 or -NATTER_EINTERNAL with err set. */
int store_open(const char *path, char err[NATTER_ERR_LEN]);
/* Stops the writer after it has committed everything queued, then closes. */
void store_close(void);
/* The database's epoch (hex), fixed at creation. */
const char *store_epoch(void);

/* ---- Reads on the loop thread. Each returns 0, -NATTER_ENOTFOUND, or -NATTER_EINTERNAL. */
/* Brackets several reads so they see one snapshot (a WAL read transaction). */
void store_read_begin(void);
void store_read_end(void);
int store_user_by_email(const char *email, struct store_user *out);
int store_user_by_id(int64_t id, struct store_user *out);
/* 0 when session sid exists, belongs to user, and has not expired at now_ms. */
int store_session_live(int64_t sid, int64_t user, int64_t now_ms);
enum role store_member_role(int64_t group, int64_t user);
int store_member_count(int64_t group, int64_t *out);
int store_room_get(int64_t room, struct store_room *out);
bool store_share_group(int64_t a, int64_t b);
int store_msg_get(int64_t id, struct store_msg *out);
int store_last_read(int64_t user, int64_t room, int64_t *out);
/* Others' live messages after seq `after`, counted up to `cap`. */
int store_unread(int64_t user, int64_t room, int64_t after, int cap, int64_t *out);
/* Arrays: *out is malloc'd (free()), *n its length. */
int store_groups_of_user(int64_t user, struct store_group **out, size_t *n);
int store_rooms_of_group(int64_t group, struct store_room **out, size_t *n);
int store_dms_of_user(int64_t user, struct store_room **out, size_t *n);
int store_members(int64_t group, struct store_member **out, size_t *n);
/* Events of room with after < seq < before (0: unbounded), at most limit; newest == true
 * takes the newest ones of that range. Always returned in ascending seq. */
int store_events(int64_t room, int64_t after, int64_t before, int limit, bool newest,
                 struct store_event **out, size_t *n);
void store_events_free(struct store_event *ev, size_t n);

/* ---- Writes: a job runs on the writer thread inside the batch's transaction, in its own
 * savepoint; a negative return rolls back just that job, and STORE_UNDO rolls it back but
 * reports success (0). Then `done` runs on the loop thread after the COMMIT (rc is run's
 * result, or -NATTER_EINTERNAL if the commit failed). Jobs finish in submission order.
 * A batch made only of `replayable` jobs first runs without savepoints; if any job then
 * returns nonzero, the whole batch is rolled back and run again with them. So a replayable
 * run must give the same result when it runs twice: it may only write its own outputs. */
#define STORE_UNDO 1
struct store_tx;
struct store_job {
    int (*run)(struct store_tx *tx, void *arg);
    void (*done)(void *arg, int rc);
    void *arg;
    int rc;
    bool replayable;
    struct store_job *next;
    struct loopq_item lq;
};
/* Queues job. Returns 0, or -NATTER_EUNAVAIL when the write queue is full or closing. */
int store_submit(struct store_job *job);

int store_tx_user_insert(struct store_tx *tx, const char *email, const char *name,
                         const char *pw_hash, int64_t now, int64_t *out_id);
int store_tx_user_by_email(struct store_tx *tx, const char *email, struct store_user *out);
int store_tx_user_set_name(struct store_tx *tx, int64_t user, const char *name);
int store_tx_user_set_pw(struct store_tx *tx, int64_t user, const char *pw_hash);
int store_tx_user_set_admin(struct store_tx *tx, int64_t user, bool is_admin);
int store_tx_session_insert(struct store_tx *tx, int64_t user, const char *refresh_hash,
                            const char *aud, int64_t now, int64_t expires, int64_t *out_sid);
/* Swaps a live refresh hash for a new one; fills the session, user and audience.
 * -NATTER_EUNAUTH if none. Bot tokens are not refresh tokens and never match. */
int store_tx_session_rotate(struct store_tx *tx, const char *old_hash, const char *new_hash,
                            int64_t now, int64_t expires, int64_t *out_sid, int64_t *out_user,
                            char out_aud[8]);
int store_tx_session_delete(struct store_tx *tx, int64_t sid);

int store_tx_group_insert(struct store_tx *tx, const char *name, int64_t owner, int64_t now,
                          int64_t *out_id);
int store_tx_group_rename(struct store_tx *tx, int64_t group, const char *name);
int store_tx_group_set_owner(struct store_tx *tx, int64_t group, int64_t owner);
int store_tx_group_delete(struct store_tx *tx, int64_t group);
/* -NATTER_ECONFLICT if already a member. */
int store_tx_member_insert(struct store_tx *tx, int64_t group, int64_t user, enum role role,
                           int64_t now);
int store_tx_member_delete(struct store_tx *tx, int64_t group, int64_t user);
int store_tx_member_set_role(struct store_tx *tx, int64_t group, int64_t user, enum role role);
enum role store_tx_member_role(struct store_tx *tx, int64_t group, int64_t user);
int store_tx_member_count(struct store_tx *tx, int64_t group, int64_t *out);
/* For groups_per_user and dms_per_user (rooms_per_group uses store_tx_room_count). */
int store_tx_groups_of_user_count(struct store_tx *tx, int64_t user, int64_t *out);
/* The groups `user` is in, each with the member who takes it over when the user owns it and
 * goes (its longest-standing admin, else its longest-standing member; 0 when no one is left,
 * or when the user does not own it). Freed with free(). */
struct store_heir {
    int64_t group, heir;
};
int store_tx_groups_with_heirs(struct store_tx *tx, int64_t user, struct store_heir **out,
                               size_t *n);
int store_tx_dms_of_user_count(struct store_tx *tx, int64_t user, int64_t *out);

int store_tx_room_insert(struct store_tx *tx, int64_t group, const char *name, int64_t now,
                         int64_t *out_id);
int store_tx_room_rename(struct store_tx *tx, int64_t room, const char *name);
int store_tx_room_delete(struct store_tx *tx, int64_t room);
int store_tx_room_count(struct store_tx *tx, int64_t group, int64_t *out);
/* The DM room of users a and b (any order), created when missing (*out_created). */
int store_tx_dm_open(struct store_tx *tx, int64_t a, int64_t b, int64_t now, int64_t *out_room,
                     bool *out_created);

/* The next seq of room: one above the highest in its log, so append its event
 * (store_tx_event_append) before taking another. */
int store_tx_next_seq(struct store_tx *tx, int64_t room, int64_t *out_seq);
int store_tx_event_append(struct store_tx *tx, int64_t room, int64_t seq, const char *type,
                          int64_t actor, int64_t msg, const char *payload, int64_t now);
/* The events that mention msg, for redaction: ascending seq (free with store_events_free). */
int store_tx_events_of_msg(struct store_tx *tx, int64_t msg, struct store_event **out,
                           size_t *n);
int store_tx_event_set_payload(struct store_tx *tx, int64_t room, int64_t seq,
                               const char *payload);
/* -NATTER_ENOTFOUND when sender has not used cid yet; else the original ack. */
int store_tx_msg_by_cid(struct store_tx *tx, int64_t sender, const char *cid,
                        struct store_ack *out);
int store_tx_msg_insert(struct store_tx *tx, int64_t room, int64_t seq, int64_t sender,
                        const char *cid, const char *body, int64_t ts, int64_t *out_id);
int store_tx_msg_get(struct store_tx *tx, int64_t id, struct store_msg *out);
int store_tx_msg_edit(struct store_tx *tx, int64_t id, const char *body, int64_t ts);
int store_tx_msg_delete(struct store_tx *tx, int64_t id);
/* Raises the user's read marker to seq (never lowers it); *out is the marker after. */
int store_tx_read_set(struct store_tx *tx, int64_t user, int64_t room, int64_t seq,
                      int64_t *out);

/* ---- Issue 4: invites, outbox, resets, calls, audit, admin (store_outbound.c). */

struct store_invite {
    int64_t id, group, inviter, created, expires;
    char email[STORE_EMAIL_LEN];
    char state[16];                 /* pending accepted declined revoked (expired is derived) */
    char group_name[STORE_NAME_LEN], inviter_name[STORE_NAME_LEN];
    char delivery[16];              /* outbox state: queued sent failed ("" when none) */
    int64_t attempts;
    char last_error[256], message_id[128];
};

struct store_outbox {
    int64_t id, ref, attempts;
    char kind[16];
    char rcpt[STORE_EMAIL_LEN];
    char message_id[128];
    char *sealed;                   /* malloc'd, may be NULL */
};

struct store_reset {
    int64_t id, user, attempts, expires;
    bool used;
    char code_hash[80];
};

struct store_call {
    int64_t id, room, started;
    char sid[64], name[128];
};

struct store_audit {
    int64_t id, actor, created;
    char action[64], target[64];
    char *detail;                   /* malloc'd JSON text, may be NULL */
};

struct store_group_info {
    int64_t id, owner, members;
    char name[STORE_NAME_LEN];
};

int store_tx_invite_insert(struct store_tx *tx, int64_t group, const char *email, int64_t inviter,
                           const char *code_hash, int64_t now, int64_t expires, int64_t *out_id);
int store_tx_invite_by_hash(struct store_tx *tx, const char *code_hash, struct store_invite *out);
int store_tx_invite_get(struct store_tx *tx, int64_t id, struct store_invite *out);
int store_tx_invite_set_state(struct store_tx *tx, int64_t id, const char *state);
/* A new code for an invite (resend): new hash and expiry, state pending. */
int store_tx_invite_renew(struct store_tx *tx, int64_t id, const char *code_hash, int64_t expires);
int store_invite_get(int64_t id, struct store_invite *out);
/* Invites of group (0: all groups), optionally of one state, newest first, with delivery. */
int store_invites(int64_t group, const char *state, int limit, struct store_invite **out, size_t *n);
int store_invites_pending_for(const char *email, int64_t now, struct store_invite **out, size_t *n);

int store_tx_outbox_insert(struct store_tx *tx, const char *kind, int64_t ref, const char *rcpt,
                           const char *message_id, const char *sealed, int64_t now);
/* Mail due at now that is not in `skip` (ids in flight). Free with store_outbox_free. */
int store_outbox_due(int64_t now, int limit, struct store_outbox **out, size_t *n);
void store_outbox_free(struct store_outbox *o, size_t n);
/* Records a delivery attempt: sent (wipes the sealed secret), or retry at next_try, or
 * failed once attempts reach max_attempts. */
int store_tx_outbox_result(struct store_tx *tx, int64_t id, bool sent, const char *error,
                           int64_t now, int64_t next_try, int64_t max_attempts);
/* Puts a kind/ref mail back in the queue with a new secret (resend). */
int store_tx_outbox_requeue(struct store_tx *tx, const char *kind, int64_t ref,
                            const char *sealed, const char *message_id, int64_t now);

int store_tx_reset_insert(struct store_tx *tx, int64_t user, const char *code_hash, int64_t now,
                          int64_t expires, int64_t *out_id);
int store_tx_reset_latest(struct store_tx *tx, int64_t user, struct store_reset *out);
int store_tx_reset_update(struct store_tx *tx, int64_t id, int64_t attempts, bool used);
int store_tx_sessions_delete_user(struct store_tx *tx, int64_t user);

int store_tx_call_active(struct store_tx *tx, int64_t room, struct store_call *out);
int store_tx_call_insert(struct store_tx *tx, int64_t room, const char *sid, const char *name,
                         int64_t now, int64_t *out_id);
int store_tx_call_end(struct store_tx *tx, int64_t id, int64_t now);
int store_calls_active(struct store_call **out, size_t *n);

int store_tx_audit(struct store_tx *tx, int64_t actor, const char *action, const char *target,
                   const char *detail, int64_t now);
int store_audit_list(int64_t before, int limit, struct store_audit **out, size_t *n);
void store_audit_free(struct store_audit *a, size_t n);

int store_users_list(int64_t after, int limit, struct store_user **out, size_t *n);
int store_tx_user_insert_bot(struct store_tx *tx, const char *email, const char *name,
                             int64_t now, int64_t *out_id);
int store_tx_user_set_disabled(struct store_tx *tx, int64_t user, bool disabled);
/* Deletes an account but keeps its messages: personal data scrubbed, sessions, memberships
 * and read state removed. */
int store_tx_user_scrub(struct store_tx *tx, int64_t user);
/* The live session whose token hash is hash and audience aud. */
int store_session_by_hash(const char *hash, const char *aud, int64_t now, int64_t *out_sid,
                          int64_t *out_user);
int store_session_user(int64_t sid, int64_t *out_user, char aud[8]);
int store_groups_all(struct store_group_info **out, size_t *n);

#endif
