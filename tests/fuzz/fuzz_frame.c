/* fuzz_frame: libFuzzer harness for the proto decoders, which see every client frame and REST
 * body before anything else does. Each input goes through proto_decode_ws whole, and through
 * proto_decode_rest with its first byte choosing the op (from a list that includes WS-only and
 * unknown names) and the rest as the body. Besides crashes and leaks (proto_req_free runs in
 * every case), it aborts when a result breaks proto.h's contract: the return code, the op and
 * id on success, the decoded arguments' own rules, and the error reply built from the result,
 * which must be JSON and, when the input was valid UTF-8 (net/ refuses anything else), valid
 * UTF-8 too, since it goes out as a WebSocket text frame; and no accepted input holds a raw NUL
 * (cJSON would cut the string it sits in). */
#include "proto.h"
#include "core/cfg.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 32 entries, so data[0] % 32 picks one: '{' (123) lands on message.send, ' ' (32) on
 * room.history. */
static const char *const rest_ops[32] = {
    "room.history", "group.create", "auth.signup", "auth.login", "room.read", "member.add",
    "member.role", "profile.get", "group.list", "auth.logout", "identify", "admin.audit.list",
    "typing", "no.such.op", "dm.open", "message.edit", "invite.create", "invite.accept",
    "invite.revoke", "auth.reset.confirm", "call.join", "admin.invites.send",
    "admin.invites.list", "admin.users.disable", "admin.users.list", "admin.bots.create",
    "admin.bots.token.revoke", "message.send", "resume", "ping", "member.remove",
    "message.delete",
};

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_frame: contract broken: %s\n", what);
        abort();
    }
}

static bool utf8(const char *s, size_t len) { return proto_utf8_count(s, len) >= 0; }

/* The arguments a successful decode hands to api/ obey their own rules. */
static void check_args(const struct proto_req *r)
{
    const struct proto_args *a = &r->a;
    const int64_t *ids[] = {&a->room, &a->group, &a->user, &a->msg};
    const char *const strs[] = {a->name, a->email, a->password, a->body, a->cid, a->token,
                                a->refresh, a->role, a->epoch, a->code, a->invite_code,
                                a->state, a->audience};
    const cJSON *emails = proto_has(r, A_EMAILS) ? a->emails : NULL;
    const cJSON *groups = proto_has(r, A_GROUPS) ? a->groups : NULL;
    const cJSON *c;

    for (int s = A_ROOM; s <= A_MSG; s++)
        check(!proto_has(r, (enum arg_slot)s) || *ids[s - A_ROOM] > 0, "id > 0");
    check(!proto_has(r, A_INVITE) || a->invite > 0, "invite id > 0");
    check(!proto_has(r, A_TOKEN_ID) || a->token_id > 0, "token id > 0");
    check(!emails || cJSON_GetArraySize(emails) >= 1, "emails not empty");
    cJSON_ArrayForEach(c, emails)
        check(cJSON_IsString(c) && utf8(c->valuestring, strlen(c->valuestring)),
              "emails are UTF-8 strings");
    cJSON_ArrayForEach(c, groups)
        check(cJSON_IsString(c) && c->valuestring[0] == 'g', "groups are group ids");
    check(!proto_has(r, A_LIMIT) || (a->limit >= 1 && a->limit <= lim(LIM_HISTORY_MAX)),
          "limit in 1..history_max");
    check(a->seq >= 0 && a->before >= 0 && a->after >= 0, "numbers >= 0");
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        check(!strs[i] || utf8(strs[i], strlen(strs[i])), "string arguments are UTF-8");
    if (a->name) {
        long n = proto_utf8_count(a->name, strlen(a->name));
        check(n >= 1 && n <= lim(LIM_MAX_NAME), "name length");
    }
    if (a->body) {
        long n = proto_utf8_count(a->body, strlen(a->body));
        check(n >= 1 && n <= lim(LIM_MAX_BODY), "body length");
    }
    if (a->cid)
        check(strlen(a->cid) >= 1 && (int64_t)strlen(a->cid) <= lim(LIM_MAX_CID), "cid length");
    check(!proto_has(r, A_ROOMS) || cJSON_IsObject(a->rooms), "rooms is an object");
}

/* Builds the reply api/ would send for this result and checks it. */
static void check_reply(const struct proto_req *r, int rc, const char *err, bool rest,
                        bool input_utf8)
{
    struct sbuf b;
    cJSON *j;

    sbuf_init(&b);
    if (rc)
        proto_reply_err(&b, rest, r->has_id ? r->id : NULL, rc, err, 0);
    else
        proto_reply_ok(&b, rest, r->has_id ? r->id : "x", NULL);
    check(!sbuf_failed(&b), "reply built");
    j = cJSON_ParseWithLength(b.p, b.len);
    check(j != NULL, "reply is JSON");
    if (!rest && r->has_id) {
        const char *re = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "re"));
        check(re && strcmp(re, r->id) == 0, "re echoes the id");
    }
    cJSON_Delete(j);
    if (input_utf8)
        check(utf8(b.p, b.len), "reply is valid UTF-8");
    sbuf_cleanup(&b);
}

static void check_result(const struct proto_req *r, int rc, const char *err, bool rest,
                         bool input_utf8)
{
    check(r->op || rc != 0, "op set on success");
    check(!r->has_id || (strlen(r->id) >= 1 && strlen(r->id) <= PROTO_ID_MAX), "id length");
    if (rc == 0) {
        check(rest || r->has_id || (r->op->flags & OPF_NOREPLY), "id present on success");
        check(!rest || !(r->op->flags & OPF_WS_ONLY), "no WS-only op over REST");
        check(rest || !(r->op->flags & OPF_ADMIN), "no admin op over WS");
        check_args(r);
    } else {
        check(rc == -NATTER_EBADREQ || rc == -NATTER_ETOOLARGE || (rest && rc == -NATTER_ENOTFOUND),
              "error code");
        check(err[0] != '\0', "error message set");
    }
    if (rest)
        check(!r->has_id, "REST has no id");
    check_reply(r, rc, err, rest, input_utf8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    char err[NATTER_ERR_LEN];
    struct proto_req r;
    const char *buf = (const char *)data;
    int rc;

    if (!init) {
        if (cfg_parse(1, (char *[]){"natter", NULL}, err) != 0)
            abort();
        init = true;
    }

    err[0] = '\0';
    rc = proto_decode_ws(buf, size, &r, err);
    check_result(&r, rc, err, false, utf8(buf, size));
    /* A raw NUL can only sit inside a string in a frame cJSON accepts (invalid JSON, and it
     * would cut the C string short): an accepted frame has none. */
    check(rc != 0 || !memchr(buf, 0, size), "accepted frame has no raw NUL");
    proto_req_free(&r);

    if (size >= 1) {
        const char *op = rest_ops[data[0] % 32];
        err[0] = '\0';
        rc = proto_decode_rest(op, buf + 1, size - 1, &r, err);
        check_result(&r, rc, err, true, utf8(buf + 1, size - 1));
        check(rc != 0 || !memchr(buf + 1, 0, size - 1), "accepted body has no raw NUL");
        check(rc != 0 || strcmp(r.op->name, op) == 0, "REST op is the path's");
        proto_req_free(&r);
    }
    return 0;
}
