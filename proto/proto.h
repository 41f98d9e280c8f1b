/* proto: the v1 wire protocol (proto/PROTOCOL.md). It decodes a WebSocket frame or a REST
 * body into a validated request (op, id, typed arguments) and encodes replies and events.
 * WS and REST share every rule. Pure functions over cJSON: no I/O, no globals but the
 * read-only limits in cfg; safe on any thread, and fuzzed (tests/fuzz/fuzz_frame.c). */
#ifndef NATTER_PROTO_H
#define NATTER_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/sbuf.h"

#define PROTO_ID_MAX 64

enum op_id {
    OP_IDENTIFY, OP_RESUME, OP_PING, OP_TYPING,
    OP_AUTH_SIGNUP, OP_AUTH_LOGIN, OP_AUTH_REFRESH, OP_AUTH_LOGOUT,
    OP_PROFILE_GET, OP_PROFILE_UPDATE,
    OP_GROUP_CREATE, OP_GROUP_LIST, OP_GROUP_RENAME, OP_GROUP_DELETE, OP_GROUP_LEAVE,
    OP_MEMBER_LIST, OP_MEMBER_ADD, OP_MEMBER_REMOVE, OP_MEMBER_ROLE,
    OP_ROOM_CREATE, OP_ROOM_RENAME, OP_ROOM_DELETE, OP_DM_OPEN,
    OP_MESSAGE_SEND, OP_MESSAGE_EDIT, OP_MESSAGE_DELETE, OP_ROOM_HISTORY, OP_ROOM_READ,
    OP_INVITE_CREATE, OP_INVITE_LIST, OP_INVITE_REVOKE, OP_INVITE_PENDING, OP_INVITE_ACCEPT,
    OP_INVITE_DECLINE, OP_RESET_REQUEST, OP_RESET_CONFIRM, OP_CALL_JOIN, OP_CALL_LEAVE,
    OP_ADMIN_INVITES_SEND, OP_ADMIN_INVITES_LIST, OP_ADMIN_INVITES_REVOKE, OP_ADMIN_INVITES_RESEND,
    OP_ADMIN_USERS_LIST, OP_ADMIN_USERS_DISABLE, OP_ADMIN_USERS_DELETE, OP_ADMIN_GROUPS_LIST,
    OP_ADMIN_GROUPS_MEMBERS, OP_ADMIN_BOTS_CREATE, OP_ADMIN_BOTS_TOKEN_ISSUE,
    OP_ADMIN_BOTS_TOKEN_REVOKE, OP_ADMIN_AUDIT_LIST,
    OP__COUNT
};

enum op_flags {
    OPF_PREAUTH = 1, /* allowed on a socket before identify */
    OPF_NOTOKEN = 2, /* needs no token at all (REST: no Bearer) */
    OPF_WS_ONLY = 4, /* not reachable over REST */
    OPF_NOREPLY = 8, /* no ok on success (typing) */
    OPF_ADMIN = 16,  /* admin-audience token only; REST only */
};

/* Argument slots: every field of every op lands in one named place. */
enum arg_slot {
    A_ROOM, A_GROUP, A_USER, A_MSG, A_SEQ, A_BEFORE, A_AFTER, A_LIMIT,
    A_NAME, A_EMAIL, A_PASSWORD, A_BODY, A_CID, A_TOKEN, A_REFRESH, A_ROLE, A_EPOCH,
    A_ROOMS, A_INVITE, A_CODE, A_INVITE_CODE, A_STATE, A_AUDIENCE, A_DISABLED, A_EMAILS, A_GROUPS,
    A_TOKEN_ID, A_BOT, A__COUNT
};

struct proto_args {
    uint32_t present; /* bit (1 << slot) for each field that was given */
    int64_t room, group, user, msg, seq, before, after, limit;
    const char *name, *email, *password, *body, *cid, *token, *refresh, *role, *epoch;
    const cJSON *rooms;  /* resume: {"r_1": 42, ...}, validated */
    int64_t invite, token_id;
    const char *code, *invite_code, *state, *audience;
    bool disabled;
    const cJSON *emails; /* array of valid addresses, 1..invite_bulk_max */
    const cJSON *groups; /* array of group ids */
};

struct proto_op {
    const char *name;
    enum op_id id;
    unsigned flags;
};

struct proto_req {
    const struct proto_op *op; /* NULL when the op was missing or unknown */
    char id[PROTO_ID_MAX + 1];
    bool has_id;
    cJSON *root;               /* owns every string in args */
    struct proto_args a;
};

static inline bool proto_has(const struct proto_req *r, enum arg_slot s)
{
    return r->a.present & (1u << s);
}

/* Decodes one client frame {"op","id","d"} of len bytes (no NUL needed).
 * Returns 0, or a negative NATTER_E* with a human message in err; req->id/has_id are set
 * whenever the id could be read, so the error can carry `re`. Free with proto_req_free
 * in every case. */
int proto_decode_ws(const char *buf, size_t len, struct proto_req *req, char err[NATTER_ERR_LEN]);
/* Decodes a REST call: op from the path, body = the op's d (may be empty). Same contract. */
int proto_decode_rest(const char *op, const char *body, size_t len, struct proto_req *req,
                      char err[NATTER_ERR_LEN]);
void proto_req_free(struct proto_req *req);
const struct proto_op *proto_op_find(const char *name, size_t len);

/* Code points in a valid UTF-8 string, or -1 when s is not valid UTF-8. */
long proto_utf8_count(const char *s, size_t len);
/* Ids on the wire: "u_12". prefix is one of u g r m. buf needs 24 bytes. */
const char *proto_id(char buf[24], char prefix, int64_t id);
/* RFC 3339 UTC with milliseconds from unix ms. buf needs 32 bytes. */
const char *proto_ts(char buf[32], int64_t ms);
/* Adds "key":"u_12" to obj. */
void proto_add_id(cJSON *obj, const char *key, char prefix, int64_t id);
void proto_add_ts(cJSON *obj, const char *key, int64_t ms);

/* Replies. `rest` picks the envelope: WS {"op":"ok","re":id,"d":result} or REST
 * {"ok":true,...result}. result may be NULL ({}); it is not freed. */
void proto_reply_ok(struct sbuf *out, bool rest, const char *re, const cJSON *result);
/* Error reply; re may be NULL (no re). retry_after_ms > 0 adds retry_after_ms. */
void proto_reply_err(struct sbuf *out, bool rest, const char *re, int err, const char *msg,
                     int64_t retry_after_ms);
/* An event frame {"op":op,"d":d}; d is not freed. */
void proto_event(struct sbuf *out, const char *op, const cJSON *d);
/* The hot path, without cJSON: message.created. */
void proto_msg_created(struct sbuf *out, int64_t room, int64_t seq, int64_t ts, int64_t actor,
                       int64_t msg, const char *cid, const char *body);
/* The reply to message.send, {room, seq, msg, ts}: the text proto_reply_ok makes, without cJSON. */
void proto_reply_sent(struct sbuf *out, bool rest, const char *re, int64_t room, int64_t seq,
                      int64_t msg, int64_t ts);
/* {"op":"pong","re":id} */
void proto_pong(struct sbuf *out, const char *re);
/* hello: protocol version, server, heartbeat, epoch and every limit. */
void proto_hello(struct sbuf *out, const char *epoch);

#endif
