/* api admin: the server admins' REST operations (admin-audience tokens only): users,
 * groups, bots and their tokens, and the audit log that records every admin action. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

int api__audit(struct api_call *c, struct store_tx *tx, const char *target, cJSON *detail)
{
    char t[24] = "";
    const struct proto_args *a = &c->req.a;
    if (!target) {
        if (proto_has(&c->req, A_USER))
            target = proto_id(t, 'u', a->user);
        else if (proto_has(&c->req, A_INVITE))
            target = proto_id(t, 'i', a->invite);
        else if (proto_has(&c->req, A_TOKEN_ID))
            target = proto_id(t, 't', a->token_id);
        else if (proto_has(&c->req, A_GROUP))
            target = proto_id(t, 'g', a->group);
    }
    char *d = detail ? cJSON_PrintUnformatted(detail) : NULL;
    int rc = store_tx_audit(tx, c->user, c->req.op->name, target, d, api__now());
    cJSON_free(d);
    cJSON_Delete(detail);
    return rc;
}

/* ---- Users */

void api_admin_users_list(struct api_call *c)
{
    struct store_user *us;
    size_t n;
    int limit = proto_has(&c->req, A_LIMIT) ? (int)c->req.a.limit : 100;
    if (store_users_list(proto_has(&c->req, A_AFTER) ? c->req.a.after : 0, limit + 1, &us, &n))
        return api__fail(c, NATTER_EINTERNAL, "could not read the users");
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "users");
    for (size_t i = 0; i < n && i < (size_t)limit; i++) {
        cJSON *u = api__user_json(us[i].id, us[i].name);
        cJSON_AddStringToObject(u, "email", us[i].email);
        cJSON_AddBoolToObject(u, "is_admin", us[i].is_admin);
        cJSON_AddBoolToObject(u, "is_bot", us[i].is_bot);
        cJSON_AddBoolToObject(u, "disabled", us[i].disabled);
        proto_add_ts(u, "created", us[i].created);
        cJSON_AddItemToArray(arr, u);
    }
    cJSON_AddBoolToObject(res, "more", n > (size_t)limit);
    free(us);
    api__ok(c, res);
}

/* A deleted account's groups pass to their heirs (store_tx_groups_with_heirs), so that no
 * group is left without an owner. */
static int hand_over_groups(struct api_call *c, struct store_tx *tx, int64_t user)
{
    free(c->heirs);
    int rc = store_tx_groups_with_heirs(tx, user, &c->heirs, &c->nids);
    for (size_t i = 0; i < c->nids && !rc; i++) {
        int64_t g = c->heirs[i].group, heir = c->heirs[i].heir;
        if (heir && !(rc = store_tx_member_set_role(tx, g, heir, ROLE_OWNER)))
            rc = store_tx_group_set_owner(tx, g, heir);
    }
    return rc;
}

static int run_user_change(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    bool del = c->req.op->id == OP_ADMIN_USERS_DELETE;
    bool off = !proto_has(&c->req, A_DISABLED) || c->req.a.disabled;
    int rc = del ? hand_over_groups(c, tx, c->req.a.user) : 0;
    if (!rc)
        rc = del ? store_tx_user_scrub(tx, c->req.a.user)
                 : store_tx_user_set_disabled(tx, c->req.a.user, off);
    cJSON *detail = NULL;
    if (!del) {
        detail = cJSON_CreateObject();
        cJSON_AddBoolToObject(detail, "disabled", off);
    }
    return rc ? rc : api__audit(c, tx, NULL, detail);
}

static void done_user_change(void *arg, int rc)
{
    struct api_call *c = arg;
    int64_t user = c->req.a.user;
    bool closes = c->req.op->id == OP_ADMIN_USERS_DELETE || !proto_has(&c->req, A_DISABLED) ||
                  c->req.a.disabled;
    if (rc)
        return api__fail(c, rc, "could not change the user");
    for (size_t i = 0; c->heirs && i < c->nids; i++)
        api__member_gone(c->heirs[i].group, user, c->user, c->heirs[i].heir);
    api__ok(c, NULL);
    if (closes)
        api__close_session(user, 0, 4003, "account disabled");
}

static void user_change(struct api_call *c)
{
    struct store_user u;
    if (store_user_by_id(c->req.a.user, &u))
        return api__fail(c, NATTER_ENOTFOUND, "no such user");
    if (c->req.a.user == c->user)
        return api__fail(c, NATTER_EBADREQ, "an admin cannot disable or delete themself");
    api__submit(c, run_user_change, done_user_change);
}

void api_admin_users_disable(struct api_call *c) { user_change(c); }
void api_admin_users_delete(struct api_call *c) { user_change(c); }

/* ---- Groups */

void api_admin_groups_list(struct api_call *c)
{
    struct store_group_info *gs;
    size_t n;
    if (store_groups_all(&gs, &n))
        return api__fail(c, NATTER_EINTERNAL, "could not read the groups");
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "groups");
    for (size_t i = 0; i < n; i++) {
        cJSON *g = cJSON_CreateObject();
        proto_add_id(g, "id", 'g', gs[i].id);
        cJSON_AddStringToObject(g, "name", gs[i].name);
        proto_add_id(g, "owner", 'u', gs[i].owner);
        cJSON_AddNumberToObject(g, "members", (double)gs[i].members);
        cJSON_AddItemToArray(arr, g);
    }
    free(gs);
    api__ok(c, res);
}

void api_admin_groups_members(struct api_call *c)
{
    cJSON *res = api__members(c->req.a.group);
    if (!res)
        return api__fail(c, NATTER_EINTERNAL, "could not read the members");
    if (!cJSON_GetArraySize(cJSON_GetObjectItem(res, "members"))) {
        cJSON_Delete(res);
        return api__fail(c, NATTER_ENOTFOUND, "no such group"); /* a group always has its owner */
    }
    api__ok(c, res);
}

/* ---- Bots: accounts without a password; their tokens are long-lived 'bot' sessions. */

static int new_bot_token(struct api_call *c, struct store_tx *tx, int64_t bot)
{
    int64_t now = api__now();
    auth_token_new(c->tok);
    auth_token_hash(c->tok, strlen(c->tok), c->tok_hash);
    return store_tx_session_insert(tx, bot, c->tok_hash, "bot", now, INT64_MAX / 2, &c->v[1]);
}

static int run_bot_create(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    char email[64], rnd[17];
    int64_t now = api__now();
    auth_random_hex(rnd, 8);
    snprintf(email, sizeof email, "bot-%s@bots.invalid", rnd);
    int rc = store_tx_user_insert_bot(tx, email, c->req.a.name, now, &c->v[0]);
    for (const cJSON *g = c->req.a.groups ? c->req.a.groups->child : NULL; g && !rc; g = g->next) {
        int64_t gid = strtoll(g->valuestring + 2, NULL, 10);
        rc = api__member_join(c, tx, gid, c->v[0]);
        if (rc == -NATTER_ECONFLICT && !c->why) { /* a foreign key: the group does not exist */
            c->why = "no such group";
            rc = -NATTER_ENOTFOUND;
        }
        if (!rc)
            c->ids[c->nids++] = gid;
    }
    if (!rc)
        rc = new_bot_token(c, tx, c->v[0]);
    return rc ? rc : api__audit(c, tx, NULL, NULL);
}

static void done_bot_create(void *arg, int rc)
{
    struct api_call *c = arg;
    struct store_user u;
    if (rc)
        return api__fail(c, rc, c->why ? c->why : "could not create the bot");
    for (size_t i = 0; i < c->nids; i++)
        api__joined(c->ids[i], c->v[0], c->user);
    if (store_user_by_id(c->v[0], &u))
        return api__fail(c, NATTER_EINTERNAL, "could not read the bot");
    cJSON *res = cJSON_CreateObject();
    cJSON *bot = cJSON_AddObjectToObject(res, "bot");
    proto_add_id(bot, "id", 'u', u.id);
    cJSON_AddStringToObject(bot, "name", u.name);
    cJSON_AddStringToObject(bot, "email", u.email);
    cJSON_AddStringToObject(res, "token", c->tok);
    proto_add_id(res, "token_id", 't', c->v[1]);
    api__ok(c, res);
}

void api_admin_bots_create(struct api_call *c)
{
    size_t n = c->req.a.groups ? (size_t)cJSON_GetArraySize(c->req.a.groups) : 0;
    if (!(c->ids = calloc(n ? n : 1, sizeof *c->ids)))
        return api__fail(c, NATTER_ENOMEM, "out of memory");
    api__submit(c, run_bot_create, done_bot_create);
}

static int run_token_issue(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int rc = new_bot_token(c, tx, c->req.a.user);
    return rc ? rc : api__audit(c, tx, NULL, NULL);
}

static void done_token_issue(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, "could not issue the token");
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "token", c->tok);
    proto_add_id(res, "token_id", 't', c->v[1]);
    api__ok(c, res);
}

void api_admin_bots_token_issue(struct api_call *c)
{
    struct store_user u;
    if (!proto_has(&c->req, A_USER) && !proto_has(&c->req, A_BOT))
        return api__fail(c, NATTER_EBADREQ, "bot: required");
    if (store_user_by_id(c->req.a.user, &u) || !u.is_bot)
        return api__fail(c, NATTER_ENOTFOUND, "no such bot");
    api__submit(c, run_token_issue, done_token_issue);
}

static int run_token_revoke(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int rc = store_tx_session_delete(tx, c->req.a.token_id);
    return rc ? rc : api__audit(c, tx, NULL, NULL);
}

static void done_token_revoke(void *arg, int rc)
{
    struct api_call *c = arg;
    int64_t bot = c->v[0], sid = c->req.a.token_id;
    if (rc)
        return api__fail(c, rc, "could not revoke the token");
    api__ok(c, NULL);
    api__close_session(bot, sid, 4003, "token revoked");
}

void api_admin_bots_token_revoke(struct api_call *c)
{
    char aud[8];
    if (store_session_user(c->req.a.token_id, &c->v[0], aud) || strcmp(aud, "bot"))
        return api__fail(c, NATTER_ENOTFOUND, "no such bot token");
    api__submit(c, run_token_revoke, done_token_revoke);
}

/* ---- Audit */

void api_admin_audit_list(struct api_call *c)
{
    struct store_audit *a;
    size_t n;
    int limit = proto_has(&c->req, A_LIMIT) ? (int)c->req.a.limit : 100;
    if (store_audit_list(proto_has(&c->req, A_BEFORE) ? c->req.a.before : 0, limit, &a, &n))
        return api__fail(c, NATTER_EINTERNAL, "could not read the audit log");
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "entries");
    for (size_t i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "id", (double)a[i].id);
        proto_add_id(e, "actor", 'u', a[i].actor);
        cJSON_AddStringToObject(e, "action", a[i].action);
        if (a[i].target[0])
            cJSON_AddStringToObject(e, "target", a[i].target);
        else
            cJSON_AddNullToObject(e, "target");
        cJSON *d = a[i].detail ? cJSON_Parse(a[i].detail) : NULL;
        cJSON_AddItemToObject(e, "detail", d ? d : cJSON_CreateNull());
        proto_add_ts(e, "ts", a[i].created);
        cJSON_AddItemToArray(arr, e);
    }
    store_audit_free(a, n);
    api__ok(c, res);
}
