/* store writes: helpers for jobs running on the writer thread, inside its transaction. */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#define W (&tx->conn)

int store_tx_user_insert(struct store_tx *tx, const char *email, const char *name,
                         const char *pw_hash, int64_t now, int64_t *out_id)
{
    int rc = store__exec(W, "INSERT INTO users(email, name, pw_hash, created) VALUES (?,?,?,?)",
                         "ttti", email, name, pw_hash, now);
    if (rc == 0)
        *out_id = sqlite3_last_insert_rowid(W->db);
    return rc;
}

int store_tx_user_by_email(struct store_tx *tx, const char *email, struct store_user *out)
{
    sqlite3_stmt *st = store__q(W, "SELECT id, name, disabled FROM users WHERE email=?", "t", email);
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = sqlite3_column_int64(st, 0);
        store__text(st, 1, out->name, sizeof out->name);
        out->disabled = sqlite3_column_int(st, 2);
    }
    store__done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -NATTER_ENOTFOUND : -NATTER_EINTERNAL;
}

int store_tx_user_set_name(struct store_tx *tx, int64_t user, const char *name)
{
    return store__exec(W, "UPDATE users SET name=? WHERE id=?", "ti", name, user);
}

int store_tx_user_set_pw(struct store_tx *tx, int64_t user, const char *pw_hash)
{
    return store__exec(W, "UPDATE users SET pw_hash=? WHERE id=?", "ti", pw_hash, user);
}

int store_tx_user_set_admin(struct store_tx *tx, int64_t user, bool is_admin)
{
    return store__exec(W, "UPDATE users SET is_admin=? WHERE id=?", "ii", (int64_t)is_admin, user);
}

int store_tx_session_insert(struct store_tx *tx, int64_t user, const char *refresh_hash,
                            const char *aud, int64_t now, int64_t expires, int64_t *out_sid)
{
    int rc = store__exec(W, "INSERT INTO sessions(user_id, refresh_hash, aud, created, expires) "
                            "VALUES (?,?,?,?,?)", "ittii",
                         user, refresh_hash, aud, now, expires);
    if (rc == 0)
        *out_sid = sqlite3_last_insert_rowid(W->db);
    return rc;
}

int store_tx_session_rotate(struct store_tx *tx, const char *old_hash, const char *new_hash,
                            int64_t now, int64_t expires, int64_t *out_sid, int64_t *out_user,
                            char out_aud[8])
{
    sqlite3_stmt *st = store__q(W, "SELECT id, user_id, aud FROM sessions WHERE refresh_hash=? "
                                   "AND expires>? AND aud<>'bot'", "ti", old_hash, now);
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out_sid = sqlite3_column_int64(st, 0);
        *out_user = sqlite3_column_int64(st, 1);
        store__text(st, 2, out_aud, 8);
    }
    store__done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? -NATTER_EUNAUTH : -NATTER_EINTERNAL;
    return store__exec(W, "UPDATE sessions SET refresh_hash=?, expires=? WHERE id=?", "tii",
                       new_hash, expires, *out_sid);
}

int store_tx_session_delete(struct store_tx *tx, int64_t sid)
{
    return store__exec(W, "DELETE FROM sessions WHERE id=?", "i", sid);
}

int store_tx_group_insert(struct store_tx *tx, const char *name, int64_t owner, int64_t now,
                          int64_t *out_id)
{
    int rc = store__exec(W, "INSERT INTO chat_groups(name, owner, created) VALUES (?,?,?)", "tii",
                         name, owner, now);
    if (rc == 0)
        *out_id = sqlite3_last_insert_rowid(W->db);
    return rc;
}

int store_tx_group_rename(struct store_tx *tx, int64_t group, const char *name)
{
    return store__exec(W, "UPDATE chat_groups SET name=? WHERE id=?", "ti", name, group);
}

int store_tx_group_set_owner(struct store_tx *tx, int64_t group, int64_t owner)
{
    return store__exec(W, "UPDATE chat_groups SET owner=? WHERE id=?", "ii", owner, group);
}

int store_tx_group_delete(struct store_tx *tx, int64_t group)
{
    return store__exec(W, "DELETE FROM chat_groups WHERE id=?", "i", group);
}

int store_tx_member_insert(struct store_tx *tx, int64_t group, int64_t user, enum role role,
                           int64_t now)
{
    return store__exec(W, "INSERT INTO members(group_id, user_id, role, joined) VALUES (?,?,?,?)",
                       "iiti", group, user, role_name(role), now);
}

int store_tx_member_delete(struct store_tx *tx, int64_t group, int64_t user)
{
    return store__exec(W, "DELETE FROM members WHERE group_id=? AND user_id=?", "ii", group, user);
}

int store_tx_member_set_role(struct store_tx *tx, int64_t group, int64_t user, enum role role)
{
    return store__exec(W, "UPDATE members SET role=? WHERE group_id=? AND user_id=?", "tii",
                       role_name(role), group, user);
}

enum role store_tx_member_role(struct store_tx *tx, int64_t group, int64_t user)
{
    sqlite3_stmt *st = store__q(W, "SELECT role FROM members WHERE group_id=? AND user_id=?",
                                "ii", group, user);
    enum role r = ROLE_NONE;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        r = role_parse((const char *)sqlite3_column_text(st, 0));
    store__done(st);
    return r;
}

int store_tx_member_count(struct store_tx *tx, int64_t group, int64_t *out)
{
    return store__int(W, out, "SELECT count(*) FROM members WHERE group_id=?", "i", group);
}

int store_tx_groups_of_user_count(struct store_tx *tx, int64_t user, int64_t *out)
{
    return store__int(W, out, "SELECT count(*) FROM members WHERE user_id=?", "i", user);
}

static void heir_row(sqlite3_stmt *st, void *p)
{
    struct store_heir *h = p;
    h->group = sqlite3_column_int64(st, 0);
    h->heir = sqlite3_column_int64(st, 1);
}

int store_tx_groups_with_heirs(struct store_tx *tx, int64_t user, struct store_heir **out,
                               size_t *n)
{
    sqlite3_stmt *st = store__q(W, "SELECT m.group_id, CASE WHEN m.role='owner' THEN "
                                   "coalesce((SELECT x.user_id FROM members x WHERE "
                                   "x.group_id=m.group_id AND x.user_id<>m.user_id ORDER BY "
                                   "x.role='admin' DESC, x.joined, x.user_id LIMIT 1), 0) "
                                   "ELSE 0 END FROM members m WHERE m.user_id=? ORDER BY 1",
                                "i", user);
    return store__collect(st, sizeof **out, heir_row, (void **)out, n);
}

int store_tx_dms_of_user_count(struct store_tx *tx, int64_t user, int64_t *out)
{
    return store__int(W, out, "SELECT count(*) FROM rooms WHERE dm_a=?1 OR dm_b=?1", "i", user);
}

int store_tx_room_insert(struct store_tx *tx, int64_t group, const char *name, int64_t now,
                         int64_t *out_id)
{
    int rc = store__exec(W, "INSERT INTO rooms(group_id, name, created) VALUES (?,?,?)", "iti",
                         group, name, now);
    if (rc == 0)
        *out_id = sqlite3_last_insert_rowid(W->db);
    return rc;
}

int store_tx_room_rename(struct store_tx *tx, int64_t room, const char *name)
{
    return store__exec(W, "UPDATE rooms SET name=? WHERE id=?", "ti", name, room);
}

int store_tx_room_delete(struct store_tx *tx, int64_t room)
{
    return store__exec(W, "DELETE FROM rooms WHERE id=?", "i", room);
}

int store_tx_room_count(struct store_tx *tx, int64_t group, int64_t *out)
{
    return store__int(W, out, "SELECT count(*) FROM rooms WHERE group_id=?", "i", group);
}

int store_tx_dm_open(struct store_tx *tx, int64_t a, int64_t b, int64_t now, int64_t *out_room,
                     bool *out_created)
{
    int64_t lo = a < b ? a : b, hi = a < b ? b : a;
    int rc = store__int(W, out_room, "SELECT id FROM rooms WHERE dm_a=? AND dm_b=?", "ii", lo, hi);
    *out_created = false;
    if (rc != -NATTER_ENOTFOUND)
        return rc;
    rc = store__exec(W, "INSERT INTO rooms(name, dm_a, dm_b, created) VALUES ('dm',?,?,?)", "iii",
                     lo, hi, now);
    if (rc == 0) {
        *out_room = sqlite3_last_insert_rowid(W->db);
        *out_created = true;
    }
    return rc;
}

int store_tx_next_seq(struct store_tx *tx, int64_t room, int64_t *out_seq)
{
    if (tx->fast)
        return store__seq_next(tx, room, out_seq);
    int rc = store__int(W, out_seq, STORE_LAST_SEQ, "i", room);
    if (rc == 0)
        *out_seq += 1;
    return rc;
}

int store_tx_event_append(struct store_tx *tx, int64_t room, int64_t seq, const char *type,
                          int64_t actor, int64_t msg, const char *payload, int64_t now)
{
    return store__exec(W, "INSERT INTO room_events(room, seq, type, actor, msg, payload, created) "
                          "VALUES (?,?,?,?,?,?,?)",
                       "iitizti", room, seq, type, actor, msg, payload, now);
}

int store_tx_events_of_msg(struct store_tx *tx, int64_t msg, struct store_event **out, size_t *n)
{
    /* The created event by the message's own (room, seq); the later ones by the msg index. */
    sqlite3_stmt *st = store__q(W, "SELECT e.seq, e.payload FROM messages m JOIN room_events e "
                                   "ON e.room=m.room AND e.seq=m.seq WHERE m.id=?1 "
                                   "UNION ALL SELECT seq, payload FROM room_events "
                                   "WHERE msg=?1 AND type<>'message.created' ORDER BY 1",
                                "i", msg);
    return store__collect_events(st, out, n);
}

int store_tx_event_set_payload(struct store_tx *tx, int64_t room, int64_t seq, const char *payload)
{
    return store__exec(W, "UPDATE room_events SET payload=? WHERE room=? AND seq=?", "tii", payload,
                       room, seq);
}

int store_tx_msg_by_cid(struct store_tx *tx, int64_t sender, const char *cid, struct store_ack *out)
{
    sqlite3_stmt *st = store__q(W, "SELECT room, seq, id, ts FROM messages WHERE sender=? AND cid=?",
                                "it", sender, cid);
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->room = sqlite3_column_int64(st, 0);
        out->seq = sqlite3_column_int64(st, 1);
        out->msg = sqlite3_column_int64(st, 2);
        out->ts = sqlite3_column_int64(st, 3);
    }
    store__done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -NATTER_ENOTFOUND : -NATTER_EINTERNAL;
}

int store_tx_msg_insert(struct store_tx *tx, int64_t room, int64_t seq, int64_t sender,
                        const char *cid, const char *body, int64_t ts, int64_t *out_id)
{
    int rc = store__exec(W, "INSERT INTO messages(room, seq, sender, cid, body, ts) "
                            "VALUES (?,?,?,?,?,?)", "iiitti", room, seq, sender, cid, body, ts);
    if (rc == 0)
        *out_id = sqlite3_last_insert_rowid(W->db);
    return rc;
}

int store_tx_msg_get(struct store_tx *tx, int64_t id, struct store_msg *out)
{
    sqlite3_stmt *st = store__q(W, MSG_COLS "WHERE id=?", "i", id);
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        store__msg_row(st, out);
    store__done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -NATTER_ENOTFOUND : -NATTER_EINTERNAL;
}

int store_tx_msg_edit(struct store_tx *tx, int64_t id, const char *body, int64_t ts)
{
    return store__exec(W, "UPDATE messages SET body=?, edited=? WHERE id=?", "tii", body, ts, id);
}

int store_tx_msg_delete(struct store_tx *tx, int64_t id)
{
    return store__exec(W, "UPDATE messages SET body=NULL, deleted=1 WHERE id=?", "i", id);
}

int store_tx_read_set(struct store_tx *tx, int64_t user, int64_t room, int64_t seq, int64_t *out)
{
    return store__int(W, out,
                      "INSERT INTO read_state(user_id, room, last_read) VALUES (?1,?2,?3) "
                      "ON CONFLICT(user_id, room) DO UPDATE SET last_read=max(last_read, ?3) "
                      "RETURNING last_read", "iii", user, room, seq);
}
