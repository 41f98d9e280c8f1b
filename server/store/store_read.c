/* store reads: the loop thread's bounded, indexed queries on the read-only connection. */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#define RD (&store__rd)

void store_read_begin(void) { store__exec(RD, "BEGIN", ""); }
void store_read_end(void) { store__exec(RD, "COMMIT", ""); }

static int step_one(sqlite3_stmt *st)
{
    if (!st)
        return -NATTER_EINTERNAL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 0;
    store__done(st);
    return rc == SQLITE_DONE ? -NATTER_ENOTFOUND : -NATTER_EINTERNAL;
}

static void user_row(sqlite3_stmt *st, struct store_user *u)
{
    u->id = sqlite3_column_int64(st, 0);
    store__text(st, 1, u->email, sizeof u->email);
    store__text(st, 2, u->name, sizeof u->name);
    store__text(st, 3, u->pw_hash, sizeof u->pw_hash);
    u->is_admin = sqlite3_column_int(st, 4);
    u->is_bot = sqlite3_column_int(st, 5);
    u->disabled = sqlite3_column_int(st, 6);
    u->created = sqlite3_column_int64(st, 7);
}

#define USER_COLS "SELECT id, email, name, pw_hash, is_admin, is_bot, disabled, created FROM users "

int store_user_by_email(const char *email, struct store_user *out)
{
    sqlite3_stmt *st = store__q(RD, USER_COLS "WHERE email=?", "t", email);
    int rc = step_one(st);
    if (rc == 0) {
        user_row(st, out);
        store__done(st);
    }
    return rc;
}

int store_user_by_id(int64_t id, struct store_user *out)
{
    sqlite3_stmt *st = store__q(RD, USER_COLS "WHERE id=?", "i", id);
    int rc = step_one(st);
    if (rc == 0) {
        user_row(st, out);
        store__done(st);
    }
    return rc;
}

int store_session_live(int64_t sid, int64_t user, int64_t now)
{
    int64_t v;
    return store__int(RD, &v, "SELECT 1 FROM sessions WHERE id=? AND user_id=? AND expires>?",
                      "iii", sid, user, now);
}

enum role store_member_role(int64_t group, int64_t user)
{
    sqlite3_stmt *st = store__q(RD, "SELECT role FROM members WHERE group_id=? AND user_id=?",
                                "ii", group, user);
    if (step_one(st))
        return ROLE_NONE;
    enum role r = role_parse((const char *)sqlite3_column_text(st, 0));
    store__done(st);
    return r;
}

int store_member_count(int64_t group, int64_t *out)
{
    return store__int(RD, out, "SELECT count(*) FROM members WHERE group_id=?", "i", group);
}

static void room_row(sqlite3_stmt *st, struct store_room *r)
{
    r->id = sqlite3_column_int64(st, 0);
    r->group = sqlite3_column_int64(st, 1);
    r->dm_a = sqlite3_column_int64(st, 2);
    r->dm_b = sqlite3_column_int64(st, 3);
    r->last_seq = sqlite3_column_int64(st, 4);
    store__text(st, 5, r->name, sizeof r->name);
}

#define ROOM_COLS                                                                             \
    "SELECT id, ifnull(group_id,0), ifnull(dm_a,0), ifnull(dm_b,0), " STORE_ROOM_LAST_SEQ      \
    ", name FROM rooms "

int store_room_get(int64_t room, struct store_room *out)
{
    sqlite3_stmt *st = store__q(RD, ROOM_COLS "WHERE id=?", "i", room);
    int rc = step_one(st);
    if (rc == 0) {
        room_row(st, out);
        store__done(st);
    }
    return rc;
}

bool store_share_group(int64_t a, int64_t b)
{
    int64_t v;
    return store__int(RD, &v,
                      "SELECT 1 FROM members x JOIN members y ON x.group_id=y.group_id "
                      "WHERE x.user_id=? AND y.user_id=? LIMIT 1",
                      "ii", a, b) == 0;
}

void store__msg_row(sqlite3_stmt *st, struct store_msg *out)
{
    out->id = sqlite3_column_int64(st, 0);
    out->room = sqlite3_column_int64(st, 1);
    out->seq = sqlite3_column_int64(st, 2);
    out->sender = sqlite3_column_int64(st, 3);
    out->ts = sqlite3_column_int64(st, 4);
    out->deleted = sqlite3_column_int(st, 5);
}

int store_msg_get(int64_t id, struct store_msg *out)
{
    sqlite3_stmt *st = store__q(RD, MSG_COLS "WHERE id=?", "i", id);
    int rc = step_one(st);
    if (rc == 0) {
        store__msg_row(st, out);
        store__done(st);
    }
    return rc;
}

int store_last_read(int64_t user, int64_t room, int64_t *out)
{
    int rc = store__int(RD, out, "SELECT last_read FROM read_state WHERE user_id=? AND room=?",
                        "ii", user, room);
    if (rc == -NATTER_ENOTFOUND) {
        *out = 0;
        return 0;
    }
    return rc;
}

int store_unread(int64_t user, int64_t room, int64_t after, int cap, int64_t *out)
{
    return store__int(RD, out,
                      "SELECT count(*) FROM (SELECT 1 FROM room_events e JOIN messages m "
                      "ON m.id=e.msg WHERE e.room=? AND e.seq>? AND e.type='message.created' "
                      "AND e.actor<>? AND m.deleted=0 LIMIT ?)",
                      "iiii", room, after, user, (int64_t)cap);
}

/* Collects rows into a growing array of `size`-byte elements filled by `row`. */
int store__collect(sqlite3_stmt *st, size_t size, void (*row)(sqlite3_stmt *, void *),
                   void **out, size_t *n)
{
    size_t cap = 0, len = 0;
    char *arr = NULL;
    int rc;
    *out = NULL;
    *n = 0;
    if (!st)
        return -NATTER_EINTERNAL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8;
            char *p = realloc(arr, cap * size);
            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            arr = p;
        }
        memset(arr + len * size, 0, size);
        row(st, arr + len * size);
        len++;
    }
    store__done(st);
    if (rc != SQLITE_DONE) {
        free(arr);
        return -NATTER_EINTERNAL;
    }
    *out = arr;
    *n = len;
    return 0;
}

static void group_row(sqlite3_stmt *st, void *p)
{
    struct store_group *g = p;
    g->id = sqlite3_column_int64(st, 0);
    store__text(st, 1, g->name, sizeof g->name);
    g->owner = sqlite3_column_int64(st, 2);
    g->role = role_parse((const char *)sqlite3_column_text(st, 3));
}

int store_groups_of_user(int64_t user, struct store_group **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, "SELECT g.id, g.name, g.owner, m.role FROM members m "
                                    "JOIN chat_groups g ON g.id=m.group_id WHERE m.user_id=? "
                                    "ORDER BY g.id", "i", user);
    return store__collect(st, sizeof **out, group_row, (void **)out, n);
}

static void room_row_v(sqlite3_stmt *st, void *p) { room_row(st, p); }

int store_rooms_of_group(int64_t group, struct store_room **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, ROOM_COLS "WHERE group_id=? ORDER BY id", "i", group);
    return store__collect(st, sizeof **out, room_row_v, (void **)out, n);
}

int store_dms_of_user(int64_t user, struct store_room **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, ROOM_COLS "WHERE dm_a=?1 OR dm_b=?1 ORDER BY id", "i", user);
    return store__collect(st, sizeof **out, room_row_v, (void **)out, n);
}

static void member_row(sqlite3_stmt *st, void *p)
{
    struct store_member *m = p;
    m->user = sqlite3_column_int64(st, 0);
    store__text(st, 1, m->name, sizeof m->name);
    m->role = role_parse((const char *)sqlite3_column_text(st, 2));
}

int store_members(int64_t group, struct store_member **out, size_t *n)
{
    sqlite3_stmt *st = store__q(RD, "SELECT u.id, u.name, m.role FROM members m JOIN users u "
                                    "ON u.id=m.user_id WHERE m.group_id=? ORDER BY u.id",
                                "i", group);
    return store__collect(st, sizeof **out, member_row, (void **)out, n);
}

static void event_row(sqlite3_stmt *st, void *p)
{
    struct store_event *e = p;
    e->seq = sqlite3_column_int64(st, 0);
    const char *s = (const char *)sqlite3_column_text(st, 1);
    e->payload = s ? strdup(s) : NULL;
}

int store__collect_events(sqlite3_stmt *st, struct store_event **out, size_t *n)
{
    int rc = store__collect(st, sizeof **out, event_row, (void **)out, n);
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        if (!(*out)[i].payload) {
            store_events_free(*out, *n);
            *out = NULL;
            *n = 0;
            rc = -NATTER_ENOMEM;
        }
    }
    return rc;
}

int store_events(int64_t room, int64_t after, int64_t before, int limit, bool newest,
                 struct store_event **out, size_t *n)
{
    int64_t hi = before > 0 ? before : INT64_MAX;
    sqlite3_stmt *st = newest
        ? store__q(RD, "SELECT seq, payload FROM room_events WHERE room=? AND seq>? AND seq<? "
                       "ORDER BY seq DESC LIMIT ?", "iiii", room, after, hi, (int64_t)limit)
        : store__q(RD, "SELECT seq, payload FROM room_events WHERE room=? AND seq>? AND seq<? "
                       "ORDER BY seq LIMIT ?", "iiii", room, after, hi, (int64_t)limit);
    int rc = store__collect_events(st, out, n);
    if (rc == 0 && newest) {
        for (size_t i = 0, j = *n ? *n - 1 : 0; i < j; i++, j--) {
            struct store_event t = (*out)[i];
            (*out)[i] = (*out)[j];
            (*out)[j] = t;
        }
    }
    return rc;
}

void store_events_free(struct store_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ev[i].payload);
    free(ev);
}
