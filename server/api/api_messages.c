/* api messages: send (idempotent by cid, acked after commit), edit, delete (with
 * redaction of the log), history pages, read markers and typing. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

static struct bucket_table send_rate;

/* Room access for writing: DMs turn read-only once the pair shares no group. */
static int writable_room(struct api_call *c, struct store_room *r)
{
    if (api__room_access(c, c->req.a.room, r))
        return -1;
    if (!r->group && !store_share_group(r->dm_a, r->dm_b)) {
        api__fail(c, NATTER_EFORBID, "dm is read-only: you no longer share a group");
        return -1;
    }
    return 0;
}

/* ---- message.send */

/* Replayable: the writer may run it twice (see store.h), so it starts from a clean event. */
static int run_send(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    const struct proto_args *a = &c->req.a;
    int64_t seq, id, now = api__now();
    c->flag = false;
    sbuf_reset(&c->ev);
    int rc = store_tx_next_seq(tx, a->room, &seq);
    if (rc == 0)
        rc = store_tx_msg_insert(tx, a->room, seq, c->user, a->cid, a->body, now, &id);
    if (rc == -NATTER_ECONFLICT) {
        /* This cid was sent before: answer with the original ack, and undo the seq taken. */
        struct store_ack ack;
        if ((rc = store_tx_msg_by_cid(tx, c->user, a->cid, &ack)))
            return rc;
        c->flag = true;
        c->v[0] = ack.room, c->v[1] = ack.seq, c->v[2] = ack.msg, c->v[3] = ack.ts;
        return STORE_UNDO;
    }
    if (rc)
        return rc;
    proto_msg_created(&c->ev, a->room, seq, now, c->user, id, a->cid, a->body);
    if (sbuf_failed(&c->ev))
        return -NATTER_ENOMEM;
    c->v[0] = a->room, c->v[1] = seq, c->v[2] = id, c->v[3] = now;
    return store_tx_event_append(tx, a->room, seq, "message.created", c->user, id, c->ev.p, now);
}

static void done_send(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, "could not store the message");
    metrics.acks_total++;
    int64_t room = c->v[0], seq = c->v[1];
    if (c->flag) /* a resend: the original ack again, and nothing to fan out */
        return api__ok_sent(c, room, seq, c->v[2], c->v[3]);
    metrics.messages_total++;
    /* Take the event out of the call before the reply frees it: ack first, then fan out. */
    struct frame *f = frame_new(c->ev.p, c->ev.len, 0);
    if (f)
        f->seq = (uint64_t)seq;
    api__ok_sent(c, room, seq, c->v[2], c->v[3]);
    if (f) {
        metrics.deliveries_total += hub_publish(TOPIC_ROOM(room), f, NULL);
        frame_unref(&f);
    }
}

void api_message_send(struct api_call *c)
{
    struct store_room r;
    char key[32];
    snprintf(key, sizeof key, "u%lld", (long long)c->user);
    int64_t wait = bucket_table_take(&send_rate, key, (double)lim(LIM_SEND_PER_S),
                                     (double)lim(LIM_SEND_BURST), now_ms());
    struct api_conn *ac = c->rest ? NULL : api__io->find(c->conn);
    if (wait) {
        metrics.rate_limited_total++;
        if (ac && ++ac->rate_strikes >= 20)
            api__io->close(ac, 4008, "rate limit exceeded repeatedly");
        return api__fail_retry(c, NATTER_ERATE, "sending too fast", wait);
    }
    if (ac)
        ac->rate_strikes = 0;
    c->job.replayable = true;
    /* The hot path reads no store: a socket listens to a room only while its user is a member,
     * and a group's room is always writable by its members. */
    int64_t room = c->req.a.room;
    if (ac && api__group_room(room) && hub_conn_listens(&ac->hc, TOPIC_ROOM(room)))
        return api__submit(c, run_send, done_send);
    if (writable_room(c, &r) == 0)
        api__submit(c, run_send, done_send);
}

/* ---- message.edit and message.delete */

/* Rewrites a stored created/edited event of a deleted message without its body. */
static int redact(struct store_tx *tx, int64_t room, const struct store_event *e)
{
    cJSON *root = cJSON_Parse(e->payload);
    cJSON *msg = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "d"), "msg");
    int rc = 0;
    if (msg) {
        cJSON_ReplaceItemInObject(msg, "body", cJSON_CreateNull());
        cJSON_AddBoolToObject(msg, "deleted", true);
        char *s = cJSON_PrintUnformatted(root);
        rc = s ? store_tx_event_set_payload(tx, room, e->seq, s) : -NATTER_ENOMEM;
        cJSON_free(s);
    }
    cJSON_Delete(root);
    return rc;
}

static int run_change(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    const struct proto_args *a = &c->req.a;
    bool del = c->req.op->id == OP_MESSAGE_DELETE;
    struct store_msg m;
    int64_t seq, now = api__now();
    int rc = store_tx_msg_get(tx, a->msg, &m);
    if (rc || m.deleted || m.room != a->room)
        return -NATTER_ENOTFOUND;
    if ((rc = store_tx_next_seq(tx, a->room, &seq)))
        return rc;
    cJSON *d = cJSON_CreateObject();
    proto_add_id(d, "room", 'r', a->room);
    cJSON_AddNumberToObject(d, "seq", (double)seq);
    proto_add_ts(d, "ts", now);
    proto_add_id(d, "actor", 'u', c->user);
    cJSON *msg = cJSON_AddObjectToObject(d, "msg");
    proto_add_id(msg, "id", 'm', a->msg);
    if (!del)
        cJSON_AddStringToObject(msg, "body", a->body);
    proto_event(&c->ev, del ? "message.deleted" : "message.edited", d);
    cJSON_Delete(d);
    if (sbuf_failed(&c->ev))
        return -NATTER_ENOMEM;
    c->v[0] = seq;
    if (del) {
        struct store_event *ev;
        size_t n;
        if ((rc = store_tx_msg_delete(tx, a->msg)) || (rc = store_tx_events_of_msg(tx, a->msg, &ev, &n)))
            return rc;
        for (size_t i = 0; i < n && !rc; i++)
            rc = redact(tx, a->room, &ev[i]);
        store_events_free(ev, n);
    } else {
        rc = store_tx_msg_edit(tx, a->msg, a->body, now);
    }
    if (rc)
        return rc;
    return store_tx_event_append(tx, a->room, seq, del ? "message.deleted" : "message.edited",
                                 c->user, a->msg, c->ev.p, now);
}

static void done_change(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc == -NATTER_ENOTFOUND)
        return api__fail(c, rc, "no such message");
    if (rc)
        return api__fail(c, rc, "could not change the message");
    struct frame *f = frame_new(c->ev.p, c->ev.len, 0);
    int64_t room = c->req.a.room;
    cJSON *res = cJSON_CreateObject();
    cJSON_AddNumberToObject(res, "seq", (double)c->v[0]);
    if (f)
        f->seq = (uint64_t)c->v[0];
    api__ok(c, res);
    if (f) {
        metrics.deliveries_total += hub_publish(TOPIC_ROOM(room), f, NULL);
        frame_unref(&f);
    }
}

static void change(struct api_call *c, bool del)
{
    struct store_room r;
    struct store_msg m;
    if (writable_room(c, &r))
        return;
    if (store_msg_get(c->req.a.msg, &m) || m.deleted || m.room != r.id)
        return api__fail(c, NATTER_ENOTFOUND, "no such message");
    bool mod = del && r.group && store_member_role(r.group, c->user) >= ROLE_ADMIN;
    if (m.sender != c->user && !mod)
        return api__fail(c, NATTER_EFORBID, del ? "only the author or a group admin may delete this"
                                                : "only the author may edit this");
    api__submit(c, run_change, done_change);
}

void api_message_edit(struct api_call *c) { change(c, false); }
void api_message_delete(struct api_call *c) { change(c, true); }

/* ---- room.history */

void api_room_history(struct api_call *c)
{
    const struct proto_args *a = &c->req.a;
    struct store_room r;
    struct store_event *ev;
    size_t n;
    if (api__room_access(c, a->room, &r))
        return;
    int limit = proto_has(&c->req, A_LIMIT) ? (int)a->limit : 50;
    bool newest = !proto_has(&c->req, A_AFTER);
    int64_t after = proto_has(&c->req, A_AFTER) ? a->after : 0;
    int64_t before = proto_has(&c->req, A_BEFORE) ? a->before : 0;
    if (proto_has(&c->req, A_BEFORE) && before == 0)
        return api__fail(c, NATTER_EBADREQ, "before: must be >= 1");
    if (store_events(r.id, after, before, limit + 1, newest, &ev, &n))
        return api__fail(c, NATTER_EINTERNAL, "could not read the history");
    bool more = n > (size_t)limit;
    size_t from = more && newest ? 1 : 0, to = more && !newest ? n - 1 : n;
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "events");
    for (size_t i = from; i < to; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateRaw(ev[i].payload));
    cJSON_AddBoolToObject(res, "more", more);
    store_events_free(ev, n);
    api__ok(c, res);
}

/* ---- room.read */

static int run_read(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    return store_tx_read_set(tx, c->user, c->req.a.room, c->v[0], &c->v[1]);
}

static void done_read(void *arg, int rc)
{
    struct api_call *c = arg;
    int64_t unread = 0;
    if (rc)
        return api__fail(c, rc, "could not save the read marker");
    store_unread(c->user, c->req.a.room, c->v[1], 1000, &unread);
    cJSON *res = cJSON_CreateObject();
    proto_add_id(res, "room", 'r', c->req.a.room);
    cJSON_AddNumberToObject(res, "last_read", (double)c->v[1]);
    cJSON_AddNumberToObject(res, "unread", (double)unread);
    api__to_user(c->user, "room.read", cJSON_Duplicate(res, 1), c->rest ? 0 : c->conn);
    api__ok(c, res);
}

void api_room_read(struct api_call *c)
{
    struct store_room r;
    if (api__room_access(c, c->req.a.room, &r))
        return;
    c->v[0] = c->req.a.seq < r.last_seq ? c->req.a.seq : r.last_seq;
    c->job.replayable = true;
    api__submit(c, run_read, done_read);
}

/* ---- typing: ephemeral, throttled, no reply */

void api_typing(struct api_call *c, struct api_conn *ac)
{
    int64_t room = c->req.a.room;
    if (!hub_topic_has_user(TOPIC_ROOM(room), c->user))
        return api__fail(c, NATTER_EFORBID, "not a member of this room");
    if (bucket_take(&ac->typing, (double)lim(LIM_TYPING_PER_S), (double)lim(LIM_TYPING_PER_S),
                    now_ms()) == 0) {
        char buf[96];
        int n = snprintf(buf, sizeof buf, "{\"op\":\"typing\",\"d\":{\"room\":\"r_%lld\",\"user\":\"u_%lld\"}}",
                         (long long)room, (long long)c->user);
        api__publish(TOPIC_ROOM(room), buf, (size_t)n, 0, FRAME_EPHEMERAL, &ac->hc);
    }
    api__free(c);
}
