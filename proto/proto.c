/* proto: the op table, argument validation and the encoders. Every rule about what a
 * field may hold lives here, so the WebSocket and REST doors cannot drift apart. */
#include "proto.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/cfg.h"

#define REQ 0x80 /* marks a required slot in an op's field list */

struct op_spec {
    struct proto_op op;
    unsigned char fields[7]; /* arg slots, | REQ when required; ends at 0xff */
};

#define F(...) {__VA_ARGS__, 0xff}
static const struct op_spec ops[OP__COUNT] = {
    {{"identify", OP_IDENTIFY, OPF_PREAUTH | OPF_WS_ONLY}, F(A_TOKEN | REQ)},
    {{"resume", OP_RESUME, OPF_PREAUTH | OPF_WS_ONLY}, F(A_TOKEN | REQ, A_EPOCH, A_ROOMS)},
    {{"ping", OP_PING, OPF_PREAUTH | OPF_WS_ONLY}, F(0xff)},
    {{"typing", OP_TYPING, OPF_WS_ONLY | OPF_NOREPLY}, F(A_ROOM | REQ)},
    {{"auth.signup", OP_AUTH_SIGNUP, OPF_PREAUTH | OPF_NOTOKEN},
     F(A_EMAIL | REQ, A_NAME | REQ, A_PASSWORD | REQ, A_INVITE_CODE)},
    {{"auth.login", OP_AUTH_LOGIN, OPF_PREAUTH | OPF_NOTOKEN},
     F(A_EMAIL | REQ, A_PASSWORD | REQ, A_AUDIENCE)},
    {{"auth.refresh", OP_AUTH_REFRESH, OPF_PREAUTH | OPF_NOTOKEN}, F(A_REFRESH | REQ)},
    {{"auth.logout", OP_AUTH_LOGOUT, 0}, F(A_REFRESH)},
    {{"profile.get", OP_PROFILE_GET, 0}, F(A_USER)},
    {{"profile.update", OP_PROFILE_UPDATE, 0}, F(A_NAME)},
    {{"group.create", OP_GROUP_CREATE, 0}, F(A_NAME | REQ)},
    {{"group.list", OP_GROUP_LIST, 0}, F(0xff)},
    {{"group.rename", OP_GROUP_RENAME, 0}, F(A_GROUP | REQ, A_NAME | REQ)},
    {{"group.delete", OP_GROUP_DELETE, 0}, F(A_GROUP | REQ)},
    {{"group.leave", OP_GROUP_LEAVE, 0}, F(A_GROUP | REQ)},
    {{"member.list", OP_MEMBER_LIST, 0}, F(A_GROUP | REQ)},
    {{"member.add", OP_MEMBER_ADD, 0}, F(A_GROUP | REQ, A_EMAIL | REQ)},
    {{"member.remove", OP_MEMBER_REMOVE, 0}, F(A_GROUP | REQ, A_USER | REQ)},
    {{"member.role", OP_MEMBER_ROLE, 0}, F(A_GROUP | REQ, A_USER | REQ, A_ROLE | REQ)},
    {{"room.create", OP_ROOM_CREATE, 0}, F(A_GROUP | REQ, A_NAME | REQ)},
    {{"room.rename", OP_ROOM_RENAME, 0}, F(A_ROOM | REQ, A_NAME | REQ)},
    {{"room.delete", OP_ROOM_DELETE, 0}, F(A_ROOM | REQ)},
    {{"dm.open", OP_DM_OPEN, 0}, F(A_USER | REQ)},
    {{"message.send", OP_MESSAGE_SEND, 0}, F(A_ROOM | REQ, A_CID | REQ, A_BODY | REQ)},
    {{"message.edit", OP_MESSAGE_EDIT, 0}, F(A_ROOM | REQ, A_MSG | REQ, A_BODY | REQ)},
    {{"message.delete", OP_MESSAGE_DELETE, 0}, F(A_ROOM | REQ, A_MSG | REQ)},
    {{"room.history", OP_ROOM_HISTORY, 0}, F(A_ROOM | REQ, A_BEFORE, A_AFTER, A_LIMIT)},
    {{"room.read", OP_ROOM_READ, 0}, F(A_ROOM | REQ, A_SEQ | REQ)},
    {{"invite.create", OP_INVITE_CREATE, 0}, F(A_GROUP | REQ, A_EMAIL | REQ)},
    {{"invite.list", OP_INVITE_LIST, 0}, F(A_GROUP | REQ)},
    {{"invite.revoke", OP_INVITE_REVOKE, 0}, F(A_INVITE | REQ)},
    {{"invite.pending", OP_INVITE_PENDING, 0}, F(0xff)},
    {{"invite.accept", OP_INVITE_ACCEPT, 0}, F(A_INVITE, A_CODE)},
    {{"invite.decline", OP_INVITE_DECLINE, 0}, F(A_INVITE | REQ)},
    {{"auth.reset.request", OP_RESET_REQUEST, OPF_PREAUTH | OPF_NOTOKEN}, F(A_EMAIL | REQ)},
    {{"auth.reset.confirm", OP_RESET_CONFIRM, OPF_PREAUTH | OPF_NOTOKEN},
     F(A_EMAIL | REQ, A_CODE | REQ, A_PASSWORD | REQ)},
    {{"call.join", OP_CALL_JOIN, 0}, F(A_ROOM | REQ)},
    {{"call.leave", OP_CALL_LEAVE, 0}, F(A_ROOM | REQ)},
    {{"admin.invites.send", OP_ADMIN_INVITES_SEND, OPF_ADMIN}, F(A_GROUP | REQ, A_EMAILS | REQ)},
    {{"admin.invites.list", OP_ADMIN_INVITES_LIST, OPF_ADMIN}, F(A_GROUP, A_STATE, A_LIMIT)},
    {{"admin.invites.revoke", OP_ADMIN_INVITES_REVOKE, OPF_ADMIN}, F(A_INVITE | REQ)},
    {{"admin.invites.resend", OP_ADMIN_INVITES_RESEND, OPF_ADMIN}, F(A_INVITE | REQ)},
    {{"admin.users.list", OP_ADMIN_USERS_LIST, OPF_ADMIN}, F(A_LIMIT, A_AFTER)},
    {{"admin.users.disable", OP_ADMIN_USERS_DISABLE, OPF_ADMIN}, F(A_USER | REQ, A_DISABLED)},
    {{"admin.users.delete", OP_ADMIN_USERS_DELETE, OPF_ADMIN}, F(A_USER | REQ)},
    {{"admin.groups.list", OP_ADMIN_GROUPS_LIST, OPF_ADMIN}, F(0xff)},
    {{"admin.groups.members", OP_ADMIN_GROUPS_MEMBERS, OPF_ADMIN}, F(A_GROUP | REQ)},
    {{"admin.bots.create", OP_ADMIN_BOTS_CREATE, OPF_ADMIN}, F(A_NAME | REQ, A_GROUPS)},
    {{"admin.bots.token.issue", OP_ADMIN_BOTS_TOKEN_ISSUE, OPF_ADMIN}, F(A_USER, A_BOT)},
    {{"admin.bots.token.revoke", OP_ADMIN_BOTS_TOKEN_REVOKE, OPF_ADMIN}, F(A_TOKEN_ID | REQ)},
    {{"admin.audit.list", OP_ADMIN_AUDIT_LIST, OPF_ADMIN}, F(A_LIMIT, A_BEFORE)},
};

static const char *const slot_names[A__COUNT] = {
    "room", "group", "user", "msg", "seq", "before", "after", "limit", "name", "email",
    "password", "body", "cid", "token", "refresh_token", "role", "epoch", "rooms",
    "invite", "code", "invite_code", "state", "audience", "disabled", "emails", "groups",
    "token_id", "bot",
};

const struct proto_op *proto_op_find(const char *name, size_t len)
{
    for (int i = 0; i < OP__COUNT; i++)
        if (strlen(ops[i].op.name) == len && !memcmp(ops[i].op.name, name, len))
            return &ops[i].op;
    return NULL;
}

/* Decodes the code point at *p and moves past it; -1 for anything that is not UTF-8 (an
 * overlong form, a surrogate, past U+10FFFF, a sequence cut short). */
static long next_cp(const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp;
    unsigned c = *p++;
    int more;
    unsigned min;
    if (c < 0x80) {
        *pp = p;
        return c;
    } else if ((c & 0xe0) == 0xc0) {
        more = 1, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        more = 2, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        more = 3, min = 0x10000, c &= 0x07;
    } else {
        return -1;
    }
    if (end - p < more)
        return -1;
    while (more--) {
        if ((*p & 0xc0) != 0x80)
            return -1;
        c = (c << 6) | (*p++ & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return -1;
    *pp = p;
    return (long)c;
}

long proto_utf8_count(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    long n = 0;
    while (p < end) {
        if (next_cp(&p, end) < 0)
            return -1;
        n++;
    }
    return n;
}

/* Names show in member lists and headers, where an invisible control can make one name pass
 * for another: C0, DEL and C1 controls, the line and paragraph separators and the bidi
 * embedding, override and isolate controls are refused. Message bodies keep them (RTL text). */
static bool name_has_ctrl(const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    while (p < end) {
        long c = next_cp(&p, end);
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
            (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
            return true;
    }
    return false;
}

static bool has_ctrl(const char *s, bool allow_newlines)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t' || c == '\r'))) || c == 0x7f)
            return true;
    }
    return false;
}

/* A plain ASCII address: a dot-atom local part (no SMTP or RFC 5322 specials, so nothing can
 * split a header or an SMTP command) and a domain of letters, digits, dots and hyphens. */
static bool valid_email(const char *s, size_t len)
{
    const char *at = strchr(s, '@');
    if (len > 254 || !at || at == s || at - s > 64 || !strchr(at + 1, '.'))
        return false;
    for (const char *p = s; p < at; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("()<>[]:;@\\,\"", *p))
            return false;
    const char *d = at + 1;
    if (*d == '.' || *d == '-' || s[len - 1] == '.' || s[len - 1] == '-' || strstr(d, ".."))
        return false;
    for (const char *p = d; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
            return false;
    return true;
}

static char id_prefix(int slot)
{
    switch (slot) {
    case A_ROOM: return 'r';
    case A_GROUP: return 'g';
    case A_USER: return 'u';
    case A_MSG: return 'm';
    case A_INVITE: return 'i';
    case A_TOKEN_ID: return 't';
    case A_BOT: return 'u';
    default: return 0;
    }
}

/* Parses "r_123" (prefix p) into *out. */
static bool parse_id(const char *s, char p, int64_t *out)
{
    if (s[0] != p || s[1] != '_' || !s[2])
        return false;
    int64_t v = 0;
    for (const char *q = s + 2; *q; q++) {
        if (!isdigit((unsigned char)*q) || q - s > 19 || (q == s + 2 && *q == '0'))
            return false;
        v = v * 10 + (*q - '0');
    }
    *out = v;
    return v > 0;
}

static int fail(char *err, int code, const char *field, const char *why)
{
    snprintf(err, NATTER_ERR_LEN, "%s: %s", field, why);
    return code;
}

static int check_rooms(const cJSON *o, char *err)
{
    int n = 0;
    int64_t id;
    if (!cJSON_IsObject(o))
        return fail(err, -NATTER_EBADREQ, "rooms", "expected an object of room id to seq");
    for (const cJSON *c = o->child; c; c = c->next) {
        if (++n > 10000)
            return fail(err, -NATTER_ETOOLARGE, "rooms", "too many rooms");
        if (!parse_id(c->string, 'r', &id) || !cJSON_IsNumber(c) || c->valuedouble < 0 ||
            c->valuedouble > 9007199254740991.0 || floor(c->valuedouble) != c->valuedouble)
            return fail(err, -NATTER_EBADREQ, "rooms", "expected {\"r_1\": seq, ...}");
    }
    return 0;
}

/* An array of email addresses or of group ids, bounded. */
static int take_list(struct proto_args *a, int slot, const cJSON *v, char *err)
{
    const char *name = slot_names[slot];
    int n = 0;
    int64_t id;
    if (!cJSON_IsArray(v))
        return fail(err, -NATTER_EBADREQ, name, "expected an array");
    for (const cJSON *c = v->child; c; c = c->next) {
        if (++n > lim(LIM_INVITE_BULK_MAX))
            return fail(err, -NATTER_ETOOLARGE, name, "more than invite_bulk_max entries");
        if (!cJSON_IsString(c))
            return fail(err, -NATTER_EBADREQ, name, "expected strings");
        size_t len = strlen(c->valuestring);
        bool ok = slot == A_EMAILS ? proto_utf8_count(c->valuestring, len) >= 0 &&
                                         valid_email(c->valuestring, len)
                                   : parse_id(c->valuestring, 'g', &id);
        if (!ok)
            return fail(err, -NATTER_EBADREQ, name,
                        slot == A_EMAILS ? "not a valid email address" : "not a group id");
    }
    if (slot == A_EMAILS && n == 0)
        return fail(err, -NATTER_EBADREQ, name, "empty");
    *(slot == A_EMAILS ? &a->emails : &a->groups) = v;
    return 0;
}

/* Validates one field's JSON value and stores it in its slot. */
static int take(struct proto_args *a, int slot, const cJSON *v, char *err)
{
    const char *name = slot_names[slot];
    char p = id_prefix(slot);
    if (slot == A_ROOMS) {
        int rc = check_rooms(v, err);
        if (rc == 0)
            a->rooms = v;
        return rc;
    }
    if (slot == A_DISABLED) {
        if (!cJSON_IsBool(v))
            return fail(err, -NATTER_EBADREQ, name, "expected true or false");
        a->disabled = cJSON_IsTrue(v);
        return 0;
    }
    if (slot == A_EMAILS || slot == A_GROUPS)
        return take_list(a, slot, v, err);
    if (slot >= A_SEQ && slot <= A_LIMIT) {
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (d < 0 || d > 9007199254740991.0 || floor(d) != d)
            return fail(err, -NATTER_EBADREQ, name, "expected a whole number >= 0");
        int64_t i = (int64_t)d;
        if (slot == A_LIMIT && (i < 1 || i > lim(LIM_HISTORY_MAX)))
            return fail(err, -NATTER_EBADREQ, name, "out of range (1..history_max)");
        int64_t *dst[] = {&a->seq, &a->before, &a->after, &a->limit};
        *dst[slot - A_SEQ] = i;
        return 0;
    }
    if (!cJSON_IsString(v))
        return fail(err, -NATTER_EBADREQ, name, "expected a string");
    const char *s = v->valuestring;
    size_t len = strlen(s);
    long cps = proto_utf8_count(s, len);
    if (cps < 0)
        return fail(err, -NATTER_EBADREQ, name, "not valid UTF-8");
    if (p) {
        int64_t *dst = slot == A_INVITE ? &a->invite : slot == A_TOKEN_ID ? &a->token_id
                     : slot == A_BOT ? &a->user
                     : (int64_t *[]){&a->room, &a->group, &a->user, &a->msg}[slot];
        if (!parse_id(s, p, dst))
            return fail(err, -NATTER_EBADREQ, name, "not a valid id");
        return 0;
    }
    switch (slot) {
    case A_NAME:
        if (cps < 1 || cps > lim(LIM_MAX_NAME) || name_has_ctrl(s))
            return fail(err, -NATTER_EBADREQ, name,
                        "1..max_name characters, no control or bidi override characters");
        a->name = s;
        return 0;
    case A_EMAIL:
        if (!valid_email(s, len))
            return fail(err, -NATTER_EBADREQ, name, "not a valid email address");
        a->email = s;
        return 0;
    case A_PASSWORD:
        if (len < 1 || len > 1024) /* sign-up asks for 8 or more (api_auth.c) */
            return fail(err, -NATTER_EBADREQ, name, "1..1024 bytes");
        a->password = s;
        return 0;
    case A_BODY:
        if (cps > lim(LIM_MAX_BODY))
            return fail(err, -NATTER_ETOOLARGE, name, "longer than max_body characters");
        if (cps < 1 || has_ctrl(s, true))
            return fail(err, -NATTER_EBADREQ, name, "empty, or has control characters");
        a->body = s;
        return 0;
    case A_CID:
        if (len < 1 || (int64_t)len > lim(LIM_MAX_CID) || strspn(s, "abcdefghijklmnopqrstuvwxyz"
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len)
            return fail(err, -NATTER_EBADREQ, name, "1..max_cid bytes of [A-Za-z0-9_-]");
        a->cid = s;
        return 0;
    case A_TOKEN:
    case A_REFRESH:
        if (len < 1 || len > 512)
            return fail(err, -NATTER_EBADREQ, name, "1..512 bytes");
        *(slot == A_TOKEN ? &a->token : &a->refresh) = s;
        return 0;
    case A_ROLE:
        if (len > 16)
            return fail(err, -NATTER_EBADREQ, name, "unknown role");
        a->role = s;
        return 0;
    case A_EPOCH:
    case A_CODE:
    case A_INVITE_CODE:
    case A_STATE:
    case A_AUDIENCE:
        if (len < 1 || len > 64 || has_ctrl(s, false))
            return fail(err, -NATTER_EBADREQ, name, "1..64 bytes, no control characters");
        *(slot == A_EPOCH ? &a->epoch : slot == A_CODE ? &a->code
          : slot == A_INVITE_CODE ? &a->invite_code : slot == A_STATE ? &a->state
          : &a->audience) = s;
        return 0;
    default:
        return fail(err, -NATTER_EINTERNAL, name, "no rule");
    }
}

static int decode_args(struct proto_req *req, const cJSON *d, char *err)
{
    if (d && !cJSON_IsObject(d))
        return fail(err, -NATTER_EBADREQ, "d", "expected an object");
    const struct op_spec *spec = (const struct op_spec *)req->op;
    for (int i = 0; spec->fields[i] != 0xff; i++) {
        int slot = spec->fields[i] & ~REQ;
        const cJSON *v = d ? cJSON_GetObjectItemCaseSensitive(d, slot_names[slot]) : NULL;
        if (!v || cJSON_IsNull(v)) {
            if (spec->fields[i] & REQ)
                return fail(err, -NATTER_EBADREQ, slot_names[slot], "required");
            continue;
        }
        int rc = take(&req->a, slot, v, err);
        if (rc)
            return rc;
        req->a.present |= 1u << slot;
    }
    return 0;
}

/* true when a JSON string in buf escapes a NUL (\u0000): cJSON would cut the string there
 * silently, so "r_1\u0000x" would read as "r_1". */
static bool has_escaped_nul(const char *buf, size_t len)
{
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '"') {
            in_str = !in_str;
        } else if (in_str && buf[i] == '\\' && i + 1 < len) {
            if (buf[i + 1] == 'u' && i + 5 < len && !memcmp(buf + i + 2, "0000", 4))
                return true;
            i++; /* skip the escaped character */
        }
    }
    return false;
}

static bool has_nul(const char *buf, size_t len)
{
    return memchr(buf, 0, len) || has_escaped_nul(buf, len);
}

static cJSON *parse(const char *buf, size_t len, char *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        snprintf(err, NATTER_ERR_LEN, "malformed JSON");
        return NULL;
    }
    while (end && end < buf + len && isspace((unsigned char)*end))
        end++;
    if (end != buf + len) {
        cJSON_Delete(root);
        snprintf(err, NATTER_ERR_LEN, "malformed JSON: trailing bytes");
        return NULL;
    }
    return root;
}

int proto_decode_ws(const char *buf, size_t len, struct proto_req *req, char err[NATTER_ERR_LEN])
{
    bool nul = has_nul(buf, len); /* checked after the id is read, so the error can carry re */
    memset(req, 0, sizeof *req);
    if (!(req->root = parse(buf, len, err)))
        return -NATTER_EBADREQ;
    if (!cJSON_IsObject(req->root))
        return fail(err, -NATTER_EBADREQ, "frame", "expected a JSON object");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(req->root, "id");
    if (id) {
        if (!cJSON_IsString(id) || !id->valuestring[0] || strlen(id->valuestring) > PROTO_ID_MAX ||
            has_ctrl(id->valuestring, false) || proto_utf8_count(id->valuestring,
                                                                strlen(id->valuestring)) < 0)
            return fail(err, -NATTER_EBADREQ, "id", "expected a string of 1..64 bytes");
        strcpy(req->id, id->valuestring);
        req->has_id = true;
    }
    if (nul)
        return fail(err, -NATTER_EBADREQ, "frame", "strings may not contain NUL (\\u0000)");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(req->root, "op");
    if (!cJSON_IsString(op))
        return fail(err, -NATTER_EBADREQ, "op", "required string");
    req->op = proto_op_find(op->valuestring, strlen(op->valuestring));
    if (req->op && (req->op->flags & OPF_ADMIN))
        req->op = NULL; /* the admin API is REST only */
    if (!req->op) {
        snprintf(err, NATTER_ERR_LEN, "unknown op"); /* not echoed: it may not be UTF-8-safe to cut */
        return -NATTER_EBADREQ;
    }
    if (!req->has_id && !(req->op->flags & OPF_NOREPLY))
        return fail(err, -NATTER_EBADREQ, "id", "required for a request");
    return decode_args(req, cJSON_GetObjectItemCaseSensitive(req->root, "d"), err);
}

int proto_decode_rest(const char *op, const char *body, size_t len, struct proto_req *req,
                      char err[NATTER_ERR_LEN])
{
    memset(req, 0, sizeof *req);
    req->op = proto_op_find(op, strlen(op));
    if (!req->op || (req->op->flags & OPF_WS_ONLY)) {
        req->op = NULL;
        snprintf(err, NATTER_ERR_LEN, "unknown op");
        return -NATTER_ENOTFOUND;
    }
    size_t i = 0;
    while (i < len && isspace((unsigned char)body[i]))
        i++;
    if (has_nul(body, len))
        return fail(err, -NATTER_EBADREQ, "body", "strings may not contain NUL (\\u0000)");
    if (i < len && !(req->root = parse(body, len, err)))
        return -NATTER_EBADREQ;
    return decode_args(req, req->root, err);
}

void proto_req_free(struct proto_req *req)
{
    cJSON_Delete(req->root);
    req->root = NULL;
}

const char *proto_id(char buf[24], char prefix, int64_t id)
{
    snprintf(buf, 24, "%c_%lld", prefix, (long long)id);
    return buf;
}

/* Writes v as n digits, zero-padded. */
static char *digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

/* Every event carries a time, so 1970-9999 is done by hand (days to civil date, after
 * Howard Hinnant's algorithm): gmtime_r + strftime were 3% of a send on the writer. */
const char *proto_ts(char buf[32], int64_t ms)
{
    if (ms < 0 || ms >= 253402300800000LL) {
        time_t s = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, 32 - n, ".%03uZ", (unsigned)(ms % 1000) % 1000u);
        return buf;
    }
    int64_t secs = ms / 1000;
    unsigned sod = (unsigned)(secs % 86400);
    unsigned z = (unsigned)(secs / 86400) + 719468; /* days since 0000-03-01 */
    unsigned era = z / 146097, doe = z - era * 146097;
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    unsigned y = yoe + era * 400 + (m <= 2);
    char *p = digits(buf, y, 4);
    *p++ = '-', p = digits(p, m, 2), *p++ = '-', p = digits(p, d, 2), *p++ = 'T';
    p = digits(p, sod / 3600, 2), *p++ = ':', p = digits(p, sod / 60 % 60, 2), *p++ = ':';
    p = digits(p, sod % 60, 2), *p++ = '.', p = digits(p, (unsigned)(ms % 1000), 3);
    memcpy(p, "Z", 2);
    return buf;
}

void proto_add_id(cJSON *obj, const char *key, char prefix, int64_t id)
{
    char b[24];
    cJSON_AddStringToObject(obj, key, proto_id(b, prefix, id));
}

void proto_add_ts(cJSON *obj, const char *key, int64_t ms)
{
    char b[32];
    cJSON_AddStringToObject(obj, key, proto_ts(b, ms));
}

/* Appends cJSON text; sets the sbuf's sticky failure when printing fails. */
static void add_json(struct sbuf *out, const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    if (!s) {
        out->oom = true;
        return;
    }
    sbuf_adds(out, s);
    cJSON_free(s);
}

void proto_reply_ok(struct sbuf *out, bool rest, const char *re, const cJSON *result)
{
    if (rest) {
        sbuf_adds(out, "{\"ok\":true");
        for (const cJSON *c = result ? result->child : NULL; c; c = c->next) {
            sbuf_adds(out, ",");
            sbuf_add_json_str(out, c->string, strlen(c->string));
            sbuf_adds(out, ":");
            add_json(out, c);
        }
        sbuf_adds(out, "}");
        return;
    }
    sbuf_adds(out, "{\"op\":\"ok\",\"re\":");
    sbuf_add_json_str(out, re, strlen(re));
    sbuf_adds(out, ",\"d\":");
    if (result)
        add_json(out, result);
    else
        sbuf_adds(out, "{}");
    sbuf_adds(out, "}");
}

void proto_reply_err(struct sbuf *out, bool rest, const char *re, int err, const char *msg,
                     int64_t retry_after_ms)
{
    sbuf_adds(out, rest ? "{\"ok\":false,\"error\":{\"code\":\"" : "{\"op\":\"error\",");
    if (!rest) {
        if (re) {
            sbuf_adds(out, "\"re\":");
            sbuf_add_json_str(out, re, strlen(re));
            sbuf_adds(out, ",");
        }
        sbuf_adds(out, "\"d\":{\"code\":\"");
    }
    sbuf_adds(out, err_code(err));
    sbuf_adds(out, "\",\"message\":");
    sbuf_add_json_str(out, msg, strlen(msg));
    sbuf_printf(out, ",\"temporary\":%s", err_is_temporary(err) ? "true" : "false");
    if (retry_after_ms > 0)
        sbuf_printf(out, ",\"retry_after_ms\":%lld", (long long)retry_after_ms);
    sbuf_adds(out, "}}");
}

void proto_event(struct sbuf *out, const char *op, const cJSON *d)
{
    sbuf_adds(out, "{\"op\":");
    sbuf_add_json_str(out, op, strlen(op));
    sbuf_adds(out, ",\"d\":");
    add_json(out, d);
    sbuf_adds(out, "}");
}

void proto_msg_created(struct sbuf *out, int64_t room, int64_t seq, int64_t ts, int64_t actor,
                       int64_t msg, const char *cid, const char *body)
{
    char t[32];
    /* Built by hand, without printf: this runs for every message on the writer. */
    sbuf_adds(out, "{\"op\":\"message.created\",\"d\":{\"room\":\"r_");
    sbuf_add_i64(out, room);
    sbuf_adds(out, "\",\"seq\":");
    sbuf_add_i64(out, seq);
    sbuf_adds(out, ",\"ts\":\"");
    sbuf_adds(out, proto_ts(t, ts));
    sbuf_adds(out, "\",\"actor\":\"u_");
    sbuf_add_i64(out, actor);
    sbuf_adds(out, "\",\"msg\":{\"id\":\"m_");
    sbuf_add_i64(out, msg);
    sbuf_adds(out, "\",\"cid\":");
    sbuf_add_json_str(out, cid, strlen(cid));
    sbuf_adds(out, ",\"body\":");
    sbuf_add_json_str(out, body, strlen(body));
    sbuf_adds(out, "}}}");
}

void proto_reply_sent(struct sbuf *out, bool rest, const char *re, int64_t room, int64_t seq,
                      int64_t msg, int64_t ts)
{
    char t[32];
    if (rest) {
        sbuf_adds(out, "{\"ok\":true,\"room\":\"r_");
    } else {
        sbuf_adds(out, "{\"op\":\"ok\",\"re\":");
        sbuf_add_json_str(out, re, strlen(re));
        sbuf_adds(out, ",\"d\":{\"room\":\"r_");
    }
    sbuf_add_i64(out, room);
    sbuf_adds(out, "\",\"seq\":");
    sbuf_add_i64(out, seq);
    sbuf_adds(out, ",\"msg\":\"m_");
    sbuf_add_i64(out, msg);
    sbuf_adds(out, "\",\"ts\":\"");
    sbuf_adds(out, proto_ts(t, ts));
    sbuf_adds(out, rest ? "\"}" : "\"}}");
}

void proto_pong(struct sbuf *out, const char *re)
{
    sbuf_adds(out, "{\"op\":\"pong\",\"re\":");
    sbuf_add_json_str(out, re, strlen(re));
    sbuf_adds(out, "}");
}

void proto_hello(struct sbuf *out, const char *epoch)
{
    sbuf_printf(out, "{\"op\":\"hello\",\"d\":{\"proto\":1,\"server\":\"natter/%s\","
                     "\"heartbeat_ms\":%lld,\"epoch\":\"%s\",\"limits\":{",
                NATTER_VERSION, (long long)lim(LIM_HEARTBEAT_MS), epoch);
    for (int i = 0; i < LIM__COUNT; i++)
        sbuf_printf(out, "%s\"%s\":%lld", i ? "," : "", cfg_limit_name(i),
                    (long long)cfg.limits[i]);
    sbuf_adds(out, "}}}");
}
