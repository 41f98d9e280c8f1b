/* api: the two doors (WebSocket frames and REST calls), the dispatch table, the call
 * lifecycle and the helpers every handler shares. */
#include "api/api_int.h"
#include "core/map.h"
#include "jobs/jobs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct api_io *api__io;
bool api__draining;

static const api_handler handlers[OP__COUNT] = {
    [OP_AUTH_SIGNUP] = api_auth_signup,     [OP_AUTH_LOGIN] = api_auth_login,
    [OP_AUTH_REFRESH] = api_auth_refresh,   [OP_AUTH_LOGOUT] = api_auth_logout,
    [OP_PROFILE_GET] = api_profile_get,     [OP_PROFILE_UPDATE] = api_profile_update,
    [OP_GROUP_CREATE] = api_group_create,   [OP_GROUP_LIST] = api_group_list,
    [OP_GROUP_RENAME] = api_group_rename,   [OP_GROUP_DELETE] = api_group_delete,
    [OP_GROUP_LEAVE] = api_group_leave,     [OP_MEMBER_LIST] = api_member_list,
    [OP_MEMBER_ADD] = api_member_add,       [OP_MEMBER_REMOVE] = api_member_remove,
    [OP_MEMBER_ROLE] = api_member_role,     [OP_ROOM_CREATE] = api_room_create,
    [OP_ROOM_RENAME] = api_room_rename,     [OP_ROOM_DELETE] = api_room_delete,
    [OP_DM_OPEN] = api_dm_open,             [OP_MESSAGE_SEND] = api_message_send,
    [OP_MESSAGE_EDIT] = api_message_edit,   [OP_MESSAGE_DELETE] = api_message_delete,
    [OP_ROOM_HISTORY] = api_room_history,   [OP_ROOM_READ] = api_room_read,
    [OP_INVITE_CREATE] = api_invite_create, [OP_INVITE_LIST] = api_invite_list,
    [OP_INVITE_REVOKE] = api_invite_revoke, [OP_INVITE_PENDING] = api_invite_pending,
    [OP_INVITE_ACCEPT] = api_invite_accept, [OP_INVITE_DECLINE] = api_invite_decline,
    [OP_RESET_REQUEST] = api_reset_request, [OP_RESET_CONFIRM] = api_reset_confirm,
    [OP_CALL_JOIN] = api_call_join,         [OP_CALL_LEAVE] = api_call_leave,
    [OP_ADMIN_INVITES_SEND] = api_admin_invites_send,
    [OP_ADMIN_INVITES_LIST] = api_admin_invites_list,
    [OP_ADMIN_INVITES_REVOKE] = api_admin_invites_revoke,
    [OP_ADMIN_INVITES_RESEND] = api_admin_invites_resend,
    [OP_ADMIN_USERS_LIST] = api_admin_users_list,
    [OP_ADMIN_USERS_DISABLE] = api_admin_users_disable,
    [OP_ADMIN_USERS_DELETE] = api_admin_users_delete,
    [OP_ADMIN_GROUPS_LIST] = api_admin_groups_list,
    [OP_ADMIN_GROUPS_MEMBERS] = api_admin_groups_members,
    [OP_ADMIN_BOTS_CREATE] = api_admin_bots_create,
    [OP_ADMIN_BOTS_TOKEN_ISSUE] = api_admin_bots_token_issue,
    [OP_ADMIN_BOTS_TOKEN_REVOKE] = api_admin_bots_token_revoke,
    [OP_ADMIN_AUDIT_LIST] = api_admin_audit_list,
};

int64_t api__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void api__lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Rooms seen to belong to a group. A room never changes group and ids are never reused, so
 * this only needs a bound, not invalidation. */
#define GROUP_ROOMS_MAX 65536
static struct map group_rooms;

/* hello is the same for every socket (epoch and limits are fixed at start): one shared frame. */
static struct frame *hello;

/* message.send's acks are built here, on the loop thread, one at a time. */
static struct sbuf ack_buf;

int api_open(const struct api_io *io)
{
    api__io = io;
    api__draining = false;
    hub_init();
    if (api_auth_init())
        return -1;
    if (work_pool_open((int)lim(LIM_PW_WORKERS), (int)lim(LIM_PW_QUEUE)))
        return -1;
    if (jobs_open()) {
        work_pool_close();
        return -1;
    }
    return 0;
}

void api_tick(void)
{
    api__outbox_tick();
    api__calls_tick();
}

void api_close(void)
{
    jobs_close();
    work_pool_close();
    loopq_drain(); /* the last results: their sockets are gone, so replies go nowhere */
    hub_cleanup();
    map_cleanup(&group_rooms);
    sbuf_cleanup(&ack_buf);
    if (hello)
        frame_unref(&hello);
}

void api_draining(void) { api__draining = true; }

/* ---- The call lifecycle. */

static struct api_call *call_new(bool rest, uint64_t conn, const char *ip)
{
    struct api_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->rest = rest;
    c->conn = conn;
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    sbuf_init(&c->ev);
    sbuf_init(&c->ev2);
    return c;
}

void api__free(struct api_call *c)
{
    proto_req_free(&c->req);
    free(c->text);
    free(c->ids);
    free(c->heirs);
    sbuf_cleanup(&c->ev);
    sbuf_cleanup(&c->ev2);
    memset(c->hash, 0, sizeof c->hash);
    free(c);
}

static void deliver(struct api_call *c, int status, struct sbuf *b)
{
    if (sbuf_failed(b)) {
        sbuf_reset(b);
        proto_reply_err(b, c->rest, c->req.has_id ? c->req.id : NULL, NATTER_ENOMEM,
                        "out of memory", 0);
        status = 500;
    }
    if (c->rest) {
        api__io->http_reply(c->conn, status, b->p, b->len);
        return;
    }
    struct api_conn *ac = api__io->find(c->conn);
    if (ac)
        api__io->send_text(ac, b->p, b->len);
}

void api__ok(struct api_call *c, cJSON *result)
{
    struct sbuf b;
    sbuf_init(&b);
    proto_reply_ok(&b, c->rest, c->req.id, result);
    deliver(c, 200, &b);
    sbuf_cleanup(&b);
    cJSON_Delete(result);
    api__free(c);
}

void api__ok_sent(struct api_call *c, int64_t room, int64_t seq, int64_t msg, int64_t ts)
{
    sbuf_reset(&ack_buf);
    proto_reply_sent(&ack_buf, c->rest, c->req.id, room, seq, msg, ts);
    deliver(c, 200, &ack_buf);
    api__free(c);
}

void api__fail_retry(struct api_call *c, int err, const char *msg, int64_t retry_ms)
{
    struct sbuf b;
    sbuf_init(&b);
    proto_reply_err(&b, c->rest, c->req.has_id ? c->req.id : NULL, err, msg, retry_ms);
    deliver(c, err_http_status(err), &b);
    sbuf_cleanup(&b);
    api__free(c);
}

void api__fail(struct api_call *c, int err, const char *msg) { api__fail_retry(c, err, msg, 0); }

static void job_done(void *arg, int rc)
{
    struct api_call *c = arg;
    metrics.commits_jobs_total++;
    metrics.commit_wait_us_sum += (uint64_t)(mono_us() - c->t0_us);
    metrics.commit_wait_count++;
    c->job_done(c, rc);
}

void api__submit(struct api_call *c, int (*run)(struct store_tx *, void *),
                 void (*done)(void *, int))
{
    c->job.run = run;
    c->job.done = job_done;
    c->job.arg = c;
    c->job_done = done;
    c->t0_us = mono_us();
    if (store_submit(&c->job))
        api__fail(c, NATTER_EUNAVAIL, "the server is busy; retry shortly");
}

void api__work(struct api_call *c, void (*run)(void *), void (*done)(void *))
{
    c->work.run = run;
    c->work.done = done;
    c->work.arg = c;
    if (api__draining || work_submit(&c->work))
        api__fail(c, NATTER_EUNAVAIL, "the server is busy; retry shortly");
}

/* ---- Publishing. */

void api__publish(uint64_t topic, const char *text, size_t len, uint64_t seq, uint32_t flags,
                  const struct hub_conn *skip)
{
    struct frame *f = frame_new(text, len, flags);
    if (!f)
        return;
    f->seq = seq;
    metrics.deliveries_total += hub_publish(topic, f, skip);
    frame_unref(&f);
}

void api__publish_json(uint64_t topic, const char *op, cJSON *d, uint32_t flags)
{
    struct sbuf b;
    sbuf_init(&b);
    proto_event(&b, op, d);
    if (!sbuf_failed(&b))
        api__publish(topic, b.p, b.len, 0, flags, NULL);
    sbuf_cleanup(&b);
    cJSON_Delete(d);
}

void api__to_user(int64_t user, const char *op, cJSON *d, uint64_t skip_conn)
{
    struct sbuf b;
    sbuf_init(&b);
    proto_event(&b, op, d);
    if (!sbuf_failed(&b)) {
        for (struct hub_conn *hc = hub_user_conns(user); hc; hc = hc->user_next)
            if (((struct api_conn *)hc)->id != skip_conn)
                api__io->send_text((struct api_conn *)hc, b.p, b.len);
    }
    sbuf_cleanup(&b);
    cJSON_Delete(d);
}

/* ---- Authorisation helpers. */

int api__need_role(struct api_call *c, int64_t group, enum role min)
{
    enum role r = store_member_role(group, c->user);
    if (r == ROLE_NONE) {
        api__fail(c, NATTER_ENOTFOUND, "no such group");
        return -NATTER_ENOTFOUND;
    }
    if (r < min) {
        api__fail(c, NATTER_EFORBID, min == ROLE_OWNER ? "only the group's owner may do that"
                                                       : "only the group's owner and admins may do that");
        return -NATTER_EFORBID;
    }
    return 0;
}

bool api__group_room(int64_t room) { return map_get(&group_rooms, (uint64_t)room) != NULL; }

int api__room_access(struct api_call *c, int64_t room, struct store_room *out)
{
    if (store_room_get(room, out)) {
        api__fail(c, NATTER_ENOTFOUND, "no such room");
        return -NATTER_ENOTFOUND;
    }
    bool ok = out->group ? store_member_role(out->group, c->user) != ROLE_NONE
                         : (out->dm_a == c->user || out->dm_b == c->user);
    if (!ok) {
        api__fail(c, NATTER_EFORBID, "not a member of this room");
        return -NATTER_EFORBID;
    }
    if (out->group && !api__group_room(room)) {
        if (group_rooms.len >= GROUP_ROOMS_MAX)
            map_cleanup(&group_rooms);
        map_put(&group_rooms, (uint64_t)room, (void *)1); /* a cache: no room for it is fine */
    }
    return 0;
}

/* ---- The WebSocket door. */

void api_ws_open(struct api_conn *ac, uint64_t id, const char *ip)
{
    memset(ac, 0, sizeof *ac);
    ac->id = id;
    ac->state = AC_NEW;
    snprintf(ac->ip, sizeof ac->ip, "%s", ip);
    if (!hello) {
        struct sbuf b;
        sbuf_init(&b);
        proto_hello(&b, store_epoch());
        if (!sbuf_failed(&b))
            hello = frame_new(b.p, b.len, 0);
        sbuf_cleanup(&b);
    }
    if (hello)
        api__io->send(ac, hello);
}

void api_ws_auth_timeout(struct api_conn *ac)
{
    if (ac->state == AC_NEW)
        api__io->close(ac, 4001, "identify timeout");
}

static void ws_error(struct api_conn *ac, const struct proto_req *req, int err, const char *msg)
{
    struct sbuf b;
    sbuf_init(&b);
    proto_reply_err(&b, false, req->has_id ? req->id : NULL, err, msg, 0);
    if (!sbuf_failed(&b))
        api__io->send_text(ac, b.p, b.len);
    sbuf_cleanup(&b);
}

void api_ws_message(struct api_conn *ac, const char *buf, size_t len)
{
    struct proto_req req;
    char err[NATTER_ERR_LEN];
    if (ac->state == AC_CLOSING)
        return;
    int rc = proto_decode_ws(buf, len, &req, err);
    if (rc) {
        metrics.malformed_total++;
        if (bucket_take(&ac->malformed, 1.0, (double)lim(LIM_MALFORMED_BURST), now_ms())) {
            api__io->close(ac, 4000, "too many malformed frames");
        } else {
            ws_error(ac, &req, rc, err);
        }
        proto_req_free(&req);
        return;
    }
    const struct proto_op *op = req.op;
    if (ac->state != AC_READY && !(op->flags & OPF_PREAUTH)) {
        proto_req_free(&req);
        api__io->close(ac, 4001, "identify first");
        return;
    }
    if (ac->state != AC_NEW && (op->id == OP_IDENTIFY || op->id == OP_RESUME)) {
        proto_req_free(&req);
        api__io->close(ac, 4005, "already identified");
        return;
    }
    if (op->id == OP_PING) {
        struct sbuf b;
        sbuf_init(&b);
        proto_pong(&b, req.id);
        api__io->send_text(ac, b.p, b.len);
        sbuf_cleanup(&b);
        proto_req_free(&req);
        return;
    }
    struct api_call *c = call_new(false, ac->id, ac->ip);
    if (!c) {
        ws_error(ac, &req, NATTER_ENOMEM, "out of memory");
        proto_req_free(&req);
        return;
    }
    c->req = req;
    c->user = ac->hc.user;
    c->sid = ac->hc.sid;
    c->is_admin = ac->is_admin;
    if (op->id == OP_TYPING)
        api_typing(c, ac);
    else if (op->id == OP_IDENTIFY || op->id == OP_RESUME)
        api_identify(c, ac);
    else if (api__draining)
        api__fail(c, NATTER_EUNAVAIL, "the server is shutting down");
    else if (!handlers[op->id])
        api__fail(c, NATTER_ENOTFOUND, "unknown op");
    else
        handlers[op->id](c);
}

void api_ws_closed(struct api_conn *ac)
{
    int64_t user = ac->hc.user;
    bool was_ready = ac->state == AC_READY;
    ac->state = AC_CLOSING;
    if (hub_conn_offline(&ac->hc) && was_ready)
        api__presence(user, "offline"); /* the user's last socket */
}

/* ---- The REST door. */

int api__token(const char *tok, int64_t *out_user, int64_t *out_sid, char aud[8])
{
    struct auth_claims cl;
    char hash[AUTH_TOKEN_HASH_LEN];
    int64_t now = api__now();
    if (strncmp(tok, "v4.public.", 10)) {
        /* Not a PASETO: an opaque bot token, stored hashed as a 'bot' session. */
        auth_token_hash(tok, strlen(tok), hash);
        if (store_session_by_hash(hash, "bot", now, out_sid, out_user))
            return AUTH_BAD_SIG;
        strcpy(aud, "bot");
        return AUTH_OK;
    }
    enum auth_verdict v = auth_access_verify(tok, strlen(tok), now / 1000, &cl);
    if (v != AUTH_OK)
        return v;
    if (store_session_live(cl.sid, cl.sub, now))
        return AUTH_REVOKED;
    *out_user = cl.sub;
    *out_sid = cl.sid;
    snprintf(aud, 8, "%s", cl.aud);
    return AUTH_OK;
}

/* 0 when bearer may call c's op: admin ops need an admin-audience token of an admin, the
 * rest a chat or bot token. Else the error to answer. */
static int rest_auth(struct api_call *c, const struct proto_op *op, const char *bearer)
{
    struct store_user u;
    char aud[8];
    bool admin_op = op->flags & OPF_ADMIN;
    if (!bearer || !*bearer || api__token(bearer, &c->user, &c->sid, aud) != AUTH_OK ||
        store_user_by_id(c->user, &u) || u.disabled)
        return NATTER_EUNAUTH;
    c->is_admin = u.is_admin;
    if (admin_op != !strcmp(aud, "admin") || (admin_op && !u.is_admin))
        return NATTER_EFORBID;
    return 0;
}

void api_rest(uint64_t id, const char *op, const char *bearer, const char *ip, const char *body,
              size_t len)
{
    char err[NATTER_ERR_LEN];
    struct api_call *c = call_new(true, id, ip);
    if (!c) {
        static const char oom[] = "{\"ok\":false,\"error\":{\"code\":\"internal\","
                                  "\"message\":\"out of memory\",\"temporary\":true}}";
        api__io->http_reply(id, 500, oom, sizeof oom - 1);
        return;
    }
    metrics.http_requests_total++;
    /* Who may call comes before what the body says: no schema hints for strangers. */
    const struct proto_op *o = proto_op_find(op, strlen(op));
    int rc = 0;
    if (o && !(o->flags & (OPF_NOTOKEN | OPF_WS_ONLY)) && (rc = rest_auth(c, o, bearer))) {
        api__fail(c, rc, rc == NATTER_EFORBID
                             ? "this token's audience cannot call this operation"
                             : "a valid access token is required (Authorization: Bearer)");
        return;
    }
    if ((rc = proto_decode_rest(op, body, len, &c->req, err))) {
        api__fail(c, rc, err);
        return;
    }
    if (api__draining) {
        api__fail(c, NATTER_EUNAVAIL, "the server is shutting down");
        return;
    }
    handlers[c->req.op->id](c);
}
