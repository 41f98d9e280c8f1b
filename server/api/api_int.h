/* api internals: the call context every handler receives, and the helpers the handler
 * files share. A call lives from decode to its one reply (ok or error). */
#ifndef NATTER_API_INT_H
#define NATTER_API_INT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "api/api.h"
#include "auth/auth.h"
#include "core/cfg.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/sbuf.h"
#include "proto.h"
#include "store/store.h"
#include "work/pool.h"

struct api_call {
    bool rest;               /* which envelope the reply uses */
    uint64_t conn;           /* socket id (WS) or HTTP request id (REST) */
    int64_t user, sid;       /* 0 until authenticated */
    bool is_admin;
    char ip[48];
    struct proto_req req;
    int64_t t0_us;           /* submit time, for the commit latency metric */
    /* Scratch for async steps: inputs and outputs of jobs. */
    struct store_job job;
    void (*job_done)(void *c, int rc);
    struct work_item work;
    int64_t v[6];
    bool flag;
    char *text;              /* malloc'd; freed with the call */
    char hash[AUTH_PW_HASH_LEN];
    char tok[AUTH_TOKEN_LEN];          /* a new refresh token, shown once */
    char tok_hash[AUTH_TOKEN_HASH_LEN];
    const char *why;                   /* a job's own error message (static text) */
    char aud[8];                       /* audience of tokens to mint: chat or admin */
    int64_t *ids;                      /* malloc'd list (rooms of a deleted group) */
    size_t nids;
    struct store_heir *heirs;          /* malloc'd: groups of a deleted account, nids of them */
    struct sbuf ev;          /* event frame text built by a job */
    struct sbuf ev2;
};

typedef void (*api_handler)(struct api_call *c);

extern const struct api_io *api__io;
extern bool api__draining;

/* Replies, each ends the call (frees c). result is consumed (may be NULL). */
void api__ok(struct api_call *c, cJSON *result);
/* api__ok for message.send's {room, seq, msg, ts}, built without cJSON (the hot path). */
void api__ok_sent(struct api_call *c, int64_t room, int64_t seq, int64_t msg, int64_t ts);
void api__fail(struct api_call *c, int err, const char *msg);
void api__fail_retry(struct api_call *c, int err, const char *msg, int64_t retry_ms);
void api__free(struct api_call *c);

/* Queues c->job (run on the writer, then done on the loop). Fails the call when the
 * write queue is full. */
void api__submit(struct api_call *c, int (*run)(struct store_tx *, void *),
                 void (*done)(void *, int));
/* Queues slow work (password hashing) on the pool. Fails the call when the pool is full. */
void api__work(struct api_call *c, void (*run)(void *), void (*done)(void *));

/* Publishes text to a hub topic as one shared frame; seq > 0 marks a room-log event.
 * skip (may be NULL) is left out. */
void api__publish(uint64_t topic, const char *text, size_t len, uint64_t seq, uint32_t flags,
                  const struct hub_conn *skip);
void api__publish_json(uint64_t topic, const char *op, cJSON *d, uint32_t flags); /* consumes d */
/* Sends an event to every live socket of user (api_conn embeds hub_conn first). */
void api__to_user(int64_t user, const char *op, cJSON *d, uint64_t skip_conn); /* consumes d */

/* Authorisation helpers: 0 or a NATTER_E* with a reply already sent (the call is over). */
int api__need_role(struct api_call *c, int64_t group, enum role min);
/* Loads the room and checks the caller may use it (group member, or one of the DM pair).
 * Sends the error and returns < 0 when not. */
int api__room_access(struct api_call *c, int64_t room, struct store_room *out);
/* true when api__room_access has seen room to be a group's room. */
bool api__group_room(int64_t room);

/* JSON snapshots (api_groups.c). */
cJSON *api__user_json(int64_t id, const char *name);
cJSON *api__room_snap(int64_t user, const struct store_room *r);
cJSON *api__group_snap(int64_t user, const struct store_group *g);
cJSON *api__dm_snap(int64_t user, const struct store_room *r);
/* {"groups":[...], "dms":[...]} for user, added to obj. Returns 0 or -1. */
int api__add_snapshot(cJSON *obj, int64_t user);

/* Replies {group: snapshot} after the caller joined group; their other sockets get group.joined. */
void api__reply_joined(struct api_call *c, int64_t group);
/* {"members":[{user, role, online}]} of group, or NULL. */
cJSON *api__members(int64_t group);

/* Subscribes every socket of user to a group and its rooms (at their current seq). */
void api__user_join_group(int64_t user, int64_t group);
void api__user_leave_group(int64_t user, int64_t group);
/* Subscribes one socket to everything its user belongs to. */
int api__conn_subscribe_all(struct api_conn *ac);

/* Wall clock in unix milliseconds. */
int64_t api__now(void);
/* Lowercases an email in place (ASCII). */
void api__lower(char *s);

/* Handlers, one per op (api_auth.c, api_groups.c, api_rooms.c, api_messages.c). */
void api_auth_signup(struct api_call *c);
void api_auth_login(struct api_call *c);
void api_auth_refresh(struct api_call *c);
void api_auth_logout(struct api_call *c);
void api_profile_get(struct api_call *c);
void api_profile_update(struct api_call *c);
void api_group_create(struct api_call *c);
void api_group_list(struct api_call *c);
void api_group_rename(struct api_call *c);
void api_group_delete(struct api_call *c);
void api_group_leave(struct api_call *c);
void api_member_list(struct api_call *c);
void api_member_add(struct api_call *c);
void api_member_remove(struct api_call *c);
void api_member_role(struct api_call *c);
void api_room_create(struct api_call *c);
void api_room_rename(struct api_call *c);
void api_room_delete(struct api_call *c);
void api_dm_open(struct api_call *c);
void api_message_send(struct api_call *c);
void api_message_edit(struct api_call *c);
void api_message_delete(struct api_call *c);
void api_room_history(struct api_call *c);
void api_room_read(struct api_call *c);
void api_typing(struct api_call *c, struct api_conn *ac);

/* Makes the dummy password hash (start-up; api_auth.c). */
int api_auth_init(void);

/* Issue 4 handlers. */
void api_invite_create(struct api_call *c);
void api_invite_list(struct api_call *c);
void api_invite_revoke(struct api_call *c);
void api_invite_pending(struct api_call *c);
void api_invite_accept(struct api_call *c);
void api_invite_decline(struct api_call *c);
void api_reset_request(struct api_call *c);
void api_reset_confirm(struct api_call *c);
void api_call_join(struct api_call *c);
void api_call_leave(struct api_call *c);
void api_admin_invites_send(struct api_call *c);
void api_admin_invites_list(struct api_call *c);
void api_admin_invites_revoke(struct api_call *c);
void api_admin_invites_resend(struct api_call *c);
void api_admin_users_list(struct api_call *c);
void api_admin_users_disable(struct api_call *c);
void api_admin_users_delete(struct api_call *c);
void api_admin_groups_list(struct api_call *c);
void api_admin_groups_members(struct api_call *c);
void api_admin_bots_create(struct api_call *c);
void api_admin_bots_token_issue(struct api_call *c);
void api_admin_bots_token_revoke(struct api_call *c);
void api_admin_audit_list(struct api_call *c);

/* Invites inside a write job (api_invites.c): creates the invite and its outbox row.
 * Returns 0 or a negated error; *out_id is the invite. */
int api__invite_insert(struct store_tx *tx, int64_t group, const char *email, int64_t inviter,
                       int64_t *out_id);
/* Inside a job that has just added user to a group: -NATTER_ECONFLICT, with c->why, when that
 * puts the user over groups_per_user (the job is then rolled back). */
int api__groups_within_limit(struct api_call *c, struct store_tx *tx, int64_t user);
/* Inside a job: adds user to group as a member, within group_members and groups_per_user.
 * -NATTER_ECONFLICT with c->why set when a limit stops it; without, the insert's own conflict
 * (already a member, or no such group). */
int api__member_join(struct api_call *c, struct store_tx *tx, int64_t group, int64_t user);
/* Tells a group that `who` left it (actor: who made them go) and, when heir is not 0, that the
 * group passed to heir. */
void api__member_gone(int64_t group, int64_t who, int64_t actor, int64_t heir);

/* What an answer of Twilio's Rooms API says (POST /v1/Rooms, GET /v1/Rooms/{sid or name}); the
 * only place such an answer is read, so a malformed or hostile one can only fail the call. */
struct twilio_answer {
    char sid[35];   /* "RM" and 32 hex digits, from a 200 or 201; "" otherwise */
    bool exists;    /* a 400 with Twilio error 53113: that unique name is in progress */
    bool completed; /* the room's status is "completed" */
};
void api__twilio_answer(long status, const char *body, size_t len, struct twilio_answer *out);
/* Accepts invite inv for user inside a job: membership, state. c->why explains failures. */
int api__invite_take(struct api_call *c, struct store_tx *tx, const struct store_invite *inv,
                     const char *email);
cJSON *api__invite_json(const struct store_invite *inv);
/* After a commit that added user to group through an invite: events and subscriptions. */
void api__joined(int64_t group, int64_t user, int64_t actor);
/* Appends an audit row for an admin call (inside its job). */
int api__audit(struct api_call *c, struct store_tx *tx, const char *target, cJSON *detail);

/* The outbox (api_outbox.c): look for due mail now (after a commit that queued some). */
void api__outbox_kick(void);
/* Periodic work: the outbox sweep and call polling (api_outbox.c, api_calls.c). */
void api__outbox_tick(void);
void api__calls_tick(void);

/* Checks any token (PASETO access token or opaque bot token) and its session.
 * Returns AUTH_OK, an auth_verdict, or AUTH_REVOKED. */
#define AUTH_REVOKED (-10)
int api__token(const char *tok, int64_t *out_user, int64_t *out_sid, char aud[8]);

/* Session ops (api_session.c). */
void api_identify(struct api_call *c, struct api_conn *ac);
/* Closes every live socket of session sid (or of the user when sid is 0) with code. */
void api__close_session(int64_t user, int64_t sid, int code, const char *reason);
/* Tells the user's groups (up to presence_max online sockets) that the user is online/offline. */
void api__presence(int64_t user, const char *status);

#endif
