/* store outbound: invites, the mail outbox, password resets, calls, the audit log and the
 * admin's views of users and groups. */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#define RD (&store__rd)
#define W (&tx->conn)

/* ---- Invites */

#define INVITE_COLS                                                                         \
    "SELECT i.id, i.group_id, i.inviter, i.created, i.expires, i.email, i.state, g.name, "  \
    "u.name, ifnull(o.state,''), ifnull(o.attempts,0), ifnull(o.last_error,''), "            \
    "ifnull(o.message_id,'') FROM invites i JOIN chat_groups g ON g.id=i.group_id "          \
    "JOIN users u ON u.id=i.inviter LEFT JOIN outbox o ON o.kind='invite' AND o.ref=i.id "

static void invite_row(sqlite3_stmt *st, void *p)
{
    struct store_invite *v = p;
    v->id = sqlite3_column_int64(st, 0);
    v->group = sqlite3_column_int64(st, 1);
    v->inviter = sqlite3_column_int64(st, 2);
    v->created = sqlite3_column_int64(st, 3);
    v->expires = sqlite3_column_int64(st, 4);
    store__text(st, 5, v->email, sizeof v->email);
    store__text(st, 6, v->state, sizeof v->state);
    store__text(st, 7, v->group_name, sizeof v->group_name);
    store__text(st, 8, v->inviter_name, sizeof v->inviter_name);
    store__text(st, 9, v->delivery, sizeof v->delivery);
    v->attempts = sqlite3_column_int64(st, 10);
    store__text(st, 11, v->last_error, sizeof v->last_error);
    store__text(st, 12, v->message_id, sizeof v->message_id);
}

/* One invite row from st, or -NATTER_ENOTFOUND. */
static int one_invite(sqlite3_stmt *st, struct store_invite *out)
{
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        invite_row(st, out);
    }
    store__done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -NATTER_ENOTFOUND : -NATTER_EINTERNAL;
}

int store_tx_invite_insert(struct store_tx *tx, int64_t group, const char *email, int64_t inviter,
                           const char *code_hash, int64_t now, int64_t expires, int64_t *out_id)
{
    int rc = store__exec(W, "UPDATE invites SET state='revoked' WHERE group_id=? AND email=? AND "
                            "state='pending'", "it", group, email);
    if (rc == 0)
        rc = store__exec(W, "INSERT INTO invites(group_id, email, inviter, code_hash, created, "
                            "expires) VALUES (?,?,?,?,?,?)", "itit" "ii", group, email, inviter,
                         code_hash, now, expires);
    if (rc == 0)
        *out_id = sqlite3_last_insert_rowid(W->db);
    return rc;
}

int store_tx_invite_by_hash(struct store_tx *tx, const char *code_hash, struct store_invite *out)
{
    return one_invite(store__q(W, INVITE_COLS "WHERE i.code_hash=?", "t", code_hash), out);
}

int store_tx_invite_get(struct store_tx *tx, int64_t id, struct store_invite *out)
{
    return one_invite(store__q(W, INVITE_COLS "WHERE i.id=?", "i", id), out);
}

int store_invite_get(int64_t id, struct store_invite *out)
{
    return one_invite(store__q(RD, INVITE_COLS "WHERE i.id=?", "i", id), out);
}

int store_tx_invite_set_state(struct store_tx *tx, int64_t id, const char *state)
{
    return store__exec(W, "UPDATE invites SET state=? WHERE id=?", "ti", state, id);
}

int store_tx_invite_renew(struct store_tx *tx, int64_t id, const char *code_hash, int64_t expires)
{
    return store__exec(W, "UPDATE invites SET code_hash=?, expires=?, state='pending' WHERE id=?",
                       "tii", code_hash, expires, id);
}

int store_invites(int64_t group, const char *state, int limit, struct store_invite **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, INVITE_COLS "WHERE (?1=0 OR i.group_id=?1) AND (?2 IS NULL OR "
                                    "i.state=?2) ORDER BY i.id DESC LIMIT ?3",
                                "iti", group, state, (int64_t)limit);
    return store__collect(st, sizeof **out, invite_row, (void **)out, n);
}

int store_invites_pending_for(const char *email, int64_t now, struct store_invite **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, INVITE_COLS "WHERE i.email=? AND i.state='pending' AND "
                                    "i.expires>? ORDER BY i.id DESC LIMIT 100", "ti", email, now);
    return store__collect(st, sizeof **out, invite_row, (void **)out, n);
}

/* ---- The outbox */

int store_tx_outbox_insert(struct store_tx *tx, const char *kind, int64_t ref, const char *rcpt,
                           const char *message_id, const char *sealed, int64_t now)
{
    return store__exec(W, "INSERT INTO outbox(kind, ref, rcpt, message_id, sealed, next_try, "
                           "created, updated) VALUES (?,?,?,?,?,?,?,?)",
                       "titttiii", kind, ref, rcpt, message_id, sealed, now, now, now);
}

static void outbox_row(sqlite3_stmt *st, void *p)
{
    struct store_outbox *o = p;
    o->id = sqlite3_column_int64(st, 0);
    store__text(st, 1, o->kind, sizeof o->kind);
    o->ref = sqlite3_column_int64(st, 2);
    store__text(st, 3, o->rcpt, sizeof o->rcpt);
    store__text(st, 4, o->message_id, sizeof o->message_id);
    const char *s = (const char *)sqlite3_column_text(st, 5);
    o->sealed = s ? strdup(s) : NULL;
    o->attempts = sqlite3_column_int64(st, 6);
}

int store_outbox_due(int64_t now, int limit, struct store_outbox **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, "SELECT id, kind, ref, rcpt, message_id, sealed, attempts "
                                    "FROM outbox WHERE state='queued' AND next_try<=? "
                                    "ORDER BY next_try LIMIT ?", "ii", now, (int64_t)limit);
    return store__collect(st, sizeof **out, outbox_row, (void **)out, n);
}

void store_outbox_free(struct store_outbox *o, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(o[i].sealed);
    free(o);
}

int store_tx_outbox_result(struct store_tx *tx, int64_t id, bool sent, const char *error,
                           int64_t now, int64_t next_try, int64_t max_attempts)
{
    if (sent)
        return store__exec(W, "UPDATE outbox SET state='sent', sealed=NULL, attempts=attempts+1, "
                              "last_error=NULL, updated=? WHERE id=?", "ii", now, id);
    return store__exec(W, "UPDATE outbox SET attempts=attempts+1, last_error=?, updated=?, "
                          "next_try=?, state=CASE WHEN attempts+1>=? THEN 'failed' ELSE 'queued' "
                          "END, sealed=CASE WHEN attempts+1>=? THEN NULL ELSE sealed END "
                          "WHERE id=?", "tiiiii", error, now, next_try, max_attempts,
                       max_attempts, id);
}

int store_tx_outbox_requeue(struct store_tx *tx, const char *kind, int64_t ref,
                            const char *sealed, const char *message_id, int64_t now)
{
    return store__exec(W, "UPDATE outbox SET state='queued', attempts=0, last_error=NULL, "
                          "sealed=?, message_id=?, next_try=?, updated=? WHERE kind=? AND ref=?",
                       "ttiiti", sealed, message_id, now, now, kind, ref);
}

/* ---- Password resets */

int store_tx_reset_insert(struct store_tx *tx, int64_t user, const char *code_hash, int64_t now,
                          int64_t expires, int64_t *out_id)
{
    int rc = store__exec(W, "UPDATE resets SET used=1 WHERE user_id=? AND used=0", "i", user);
    if (rc == 0)
        rc = store__exec(W, "INSERT INTO resets(user_id, code_hash, created, expires) "
                            "VALUES (?,?,?,?)", "itii", user, code_hash, now, expires);
    if (rc == 0)
        *out_id = sqlite3_last_insert_rowid(W->db);
    return rc;
}

int store_tx_reset_latest(struct store_tx *tx, int64_t user, struct store_reset *out)
{
    sqlite3_stmt *st = store__q(W, "SELECT id, user_id, attempts, expires, used, code_hash "
                                   "FROM resets WHERE user_id=? ORDER BY id DESC LIMIT 1",
                                "i", user);
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        out->user = sqlite3_column_int64(st, 1);
        out->attempts = sqlite3_column_int64(st, 2);
        out->expires = sqlite3_column_int64(st, 3);
        out->used = sqlite3_column_int(st, 4);
        store__text(st, 5, out->code_hash, sizeof out->code_hash);
    }
    store__done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -NATTER_ENOTFOUND : -NATTER_EINTERNAL;
}

int store_tx_reset_update(struct store_tx *tx, int64_t id, int64_t attempts, bool used)
{
    return store__exec(W, "UPDATE resets SET attempts=?, used=? WHERE id=?", "iii", attempts,
                       (int64_t)used, id);
}

int store_tx_sessions_delete_user(struct store_tx *tx, int64_t user)
{
    return store__exec(W, "DELETE FROM sessions WHERE user_id=?", "i", user);
}

/* ---- Calls */

static void call_row(sqlite3_stmt *st, void *p)
{
    struct store_call *c = p;
    c->id = sqlite3_column_int64(st, 0);
    c->room = sqlite3_column_int64(st, 1);
    c->started = sqlite3_column_int64(st, 2);
    store__text(st, 3, c->sid, sizeof c->sid);
    store__text(st, 4, c->name, sizeof c->name);
}

int store_tx_call_active(struct store_tx *tx, int64_t room, struct store_call *out)
{
    sqlite3_stmt *st = store__q(W, "SELECT id, room, started, twilio_sid, name FROM calls "
                                   "WHERE room=? AND ended IS NULL", "i", room);
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        call_row(st, out);
    store__done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -NATTER_ENOTFOUND : -NATTER_EINTERNAL;
}

int store_tx_call_insert(struct store_tx *tx, int64_t room, const char *sid, const char *name,
                         int64_t now, int64_t *out_id)
{
    int rc = store__exec(W, "INSERT INTO calls(room, twilio_sid, name, started) VALUES (?,?,?,?)",
                         "itti", room, sid, name, now);
    if (rc == 0)
        *out_id = sqlite3_last_insert_rowid(W->db);
    return rc;
}

int store_tx_call_end(struct store_tx *tx, int64_t id, int64_t now)
{
    return store__exec(W, "UPDATE calls SET ended=? WHERE id=? AND ended IS NULL", "ii", now, id);
}

int store_calls_active(struct store_call **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, "SELECT id, room, started, twilio_sid, name FROM calls "
                                    "WHERE ended IS NULL LIMIT 10000", "");
    return store__collect(st, sizeof **out, call_row, (void **)out, n);
}

/* ---- Audit */

int store_tx_audit(struct store_tx *tx, int64_t actor, const char *action, const char *target,
                   const char *detail, int64_t now)
{
    return store__exec(W, "INSERT INTO audit(actor, action, target, detail, created) "
                          "VALUES (?,?,?,?,?)", "ittti", actor, action, target, detail, now);
}

static void audit_row(sqlite3_stmt *st, void *p)
{
    struct store_audit *a = p;
    a->id = sqlite3_column_int64(st, 0);
    a->actor = sqlite3_column_int64(st, 1);
    store__text(st, 2, a->action, sizeof a->action);
    store__text(st, 3, a->target, sizeof a->target);
    const char *d = (const char *)sqlite3_column_text(st, 4);
    a->detail = d ? strdup(d) : NULL;
    a->created = sqlite3_column_int64(st, 5);
}

int store_audit_list(int64_t before, int limit, struct store_audit **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, "SELECT id, actor, action, ifnull(target,''), detail, created "
                                    "FROM audit WHERE id<? ORDER BY id DESC LIMIT ?", "ii",
                                before > 0 ? before : INT64_MAX, (int64_t)limit);
    return store__collect(st, sizeof **out, audit_row, (void **)out, n);
}

void store_audit_free(struct store_audit *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].detail);
    free(a);
}

/* ---- Users and groups for the admin */

static void user_row(sqlite3_stmt *st, void *p)
{
    struct store_user *u = p;
    u->id = sqlite3_column_int64(st, 0);
    store__text(st, 1, u->email, sizeof u->email);
    store__text(st, 2, u->name, sizeof u->name);
    u->is_admin = sqlite3_column_int(st, 3);
    u->is_bot = sqlite3_column_int(st, 4);
    u->disabled = sqlite3_column_int(st, 5);
    u->created = sqlite3_column_int64(st, 6);
}

int store_users_list(int64_t after, int limit, struct store_user **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, "SELECT id, email, name, is_admin, is_bot, disabled, created "
                                    "FROM users WHERE id>? ORDER BY id LIMIT ?", "ii", after,
                                (int64_t)limit);
    return store__collect(st, sizeof **out, user_row, (void **)out, n);
}

int store_tx_user_insert_bot(struct store_tx *tx, const char *email, const char *name, int64_t now,
                             int64_t *out_id)
{
    int rc = store__exec(W, "INSERT INTO users(email, name, is_bot, created) VALUES (?,?,1,?)",
                         "tti", email, name, now);
    if (rc == 0)
        *out_id = sqlite3_last_insert_rowid(W->db);
    return rc;
}

int store_tx_user_set_disabled(struct store_tx *tx, int64_t user, bool disabled)
{
    return store__exec(W, "UPDATE users SET disabled=? WHERE id=?", "ii", (int64_t)disabled, user);
}

int store_tx_user_scrub(struct store_tx *tx, int64_t user)
{
    int rc = store__exec(W, "UPDATE users SET name='Deleted user', email='deleted-'||id||"
                            "'@deleted.invalid', pw_hash=NULL, disabled=1, is_admin=0 WHERE id=?",
                         "i", user);
    if (rc == 0)
        rc = store__exec(W, "DELETE FROM sessions WHERE user_id=?", "i", user);
    if (rc == 0)
        rc = store__exec(W, "DELETE FROM members WHERE user_id=?", "i", user);
    if (rc == 0)
        rc = store__exec(W, "DELETE FROM read_state WHERE user_id=?", "i", user);
    return rc;
}

int store_session_by_hash(const char *hash, const char *aud, int64_t now, int64_t *out_sid,
                          int64_t *out_user)
{
    sqlite3_stmt *st = store__q(RD, "SELECT id, user_id FROM sessions WHERE refresh_hash=? AND "
                                    "aud=? AND expires>?", "tti", hash, aud, now);
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out_sid = sqlite3_column_int64(st, 0);
        *out_user = sqlite3_column_int64(st, 1);
    }
    store__done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -NATTER_ENOTFOUND : -NATTER_EINTERNAL;
}

int store_session_user(int64_t sid, int64_t *out_user, char aud[8])
{
    sqlite3_stmt *st = store__q(RD, "SELECT user_id, aud FROM sessions WHERE id=?", "i", sid);
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out_user = sqlite3_column_int64(st, 0);
        store__text(st, 1, aud, 8);
    }
    store__done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -NATTER_ENOTFOUND : -NATTER_EINTERNAL;
}

static void group_info_row(sqlite3_stmt *st, void *p)
{
    struct store_group_info *g = p;
    g->id = sqlite3_column_int64(st, 0);
    store__text(st, 1, g->name, sizeof g->name);
    g->owner = sqlite3_column_int64(st, 2);
    g->members = sqlite3_column_int64(st, 3);
}

int store_groups_all(struct store_group_info **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, "SELECT g.id, g.name, g.owner, (SELECT count(*) FROM members m "
                                    "WHERE m.group_id=g.id) FROM chat_groups g ORDER BY g.id "
                                    "LIMIT 10000", "");
    return store__collect(st, sizeof **out, group_info_row, (void **)out, n);
}
