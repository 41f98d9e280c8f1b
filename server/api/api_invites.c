/* api invites: a group's owner and admins invite by email; the invitee accepts (as an
 * existing user, or by signing up through the link) or declines. The code is 256 random
 * bits, stored only as a hash, bound to the address, and expires. The mail itself goes
 * through the outbox, written in the same transaction as the invite. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

static struct bucket_table invite_rate;

cJSON *api__invite_json(const struct store_invite *inv)
{
    cJSON *o = cJSON_CreateObject();
    bool expired = !strcmp(inv->state, "pending") && inv->expires <= api__now();
    proto_add_id(o, "id", 'i', inv->id);
    proto_add_id(o, "group", 'g', inv->group);
    cJSON_AddStringToObject(o, "email", inv->email);
    proto_add_id(o, "inviter", 'u', inv->inviter);
    cJSON_AddStringToObject(o, "state", expired ? "expired" : inv->state);
    proto_add_ts(o, "created", inv->created);
    proto_add_ts(o, "expires", inv->expires);
    const char *status = inv->delivery[0] ? inv->delivery : "queued";
    cJSON *d = cJSON_AddObjectToObject(o, "delivery");
    cJSON_AddStringToObject(d, "status", status);
    cJSON_AddNumberToObject(d, "attempts", (double)inv->attempts);
    if (inv->last_error[0])
        cJSON_AddStringToObject(d, "last_error", inv->last_error);
    else if (!cfg.smtp_url[0] && !strcmp(status, "queued")) /* waits until mail is set up */
        cJSON_AddStringToObject(d, "last_error", "mail is not configured on this server");
    else
        cJSON_AddNullToObject(d, "last_error");
    cJSON_AddStringToObject(d, "message_id", inv->message_id);
    return o;
}

int api__invite_insert(struct store_tx *tx, int64_t group, const char *email, int64_t inviter,
                       int64_t *out_id)
{
    char code[AUTH_TOKEN_LEN], hash[AUTH_TOKEN_HASH_LEN], sealed[256], mid[160], rnd[33];
    int64_t now = api__now();
    auth_token_new(code);
    auth_token_hash(code, strlen(code), hash);
    auth_random_hex(rnd, 16);
    snprintf(mid, sizeof mid, "<invite.%s@%s>", rnd, cfg_public_host());
    int rc = auth_seal(code, strlen(code), sealed, sizeof sealed) < 0 ? -NATTER_EINTERNAL : 0;
    if (!rc)
        rc = store_tx_invite_insert(tx, group, email, inviter, hash, now,
                                    now + lim(LIM_INVITE_TTL_S) * 1000, out_id);
    if (!rc)
        rc = store_tx_outbox_insert(tx, "invite", *out_id, email, mid, sealed, now);
    memset(code, 0, sizeof code);
    return rc;
}

int api__invite_take(struct api_call *c, struct store_tx *tx, const struct store_invite *inv,
                     const char *email)
{
    if (strcmp(inv->email, email)) {
        c->why = "this invite is for another email address";
        return -NATTER_EFORBID;
    }
    if (!strcmp(inv->state, "revoked")) {
        c->why = "invite revoked";
        return -NATTER_ECONFLICT;
    }
    if (strcmp(inv->state, "pending")) {
        c->why = "invite already used";
        return -NATTER_ECONFLICT;
    }
    if (inv->expires <= api__now()) {
        c->why = "invite expired";
        return -NATTER_ECONFLICT;
    }
    c->v[2] = 1; /* newly joined */
    int rc = api__member_join(c, tx, inv->group, c->user);
    if (rc == -NATTER_ECONFLICT && !c->why)
        rc = 0, c->v[2] = 0; /* already in: accepting still uses up the invite */
    if (!rc)
        rc = store_tx_invite_set_state(tx, inv->id, "accepted");
    c->v[4] = inv->group;
    c->v[3] = inv->inviter;
    return rc;
}

void api__joined(int64_t group, int64_t user, int64_t actor)
{
    struct store_user u;
    if (store_user_by_id(user, &u))
        return;
    cJSON *d = cJSON_CreateObject();
    proto_add_id(d, "group", 'g', group);
    cJSON_AddItemToObject(d, "user", api__user_json(u.id, u.name));
    cJSON_AddStringToObject(d, "role", "member");
    proto_add_id(d, "actor", 'u', actor);
    api__publish_json(TOPIC_GROUP(group), "member.joined", d, 0);
    api__user_join_group(user, group);
}

/* An invite as its invitee sees it (invite.pending, invite.received). */
static cJSON *for_invitee(const struct store_invite *inv)
{
    cJSON *o = cJSON_CreateObject();
    proto_add_id(o, "id", 'i', inv->id);
    cJSON *g = cJSON_AddObjectToObject(o, "group");
    proto_add_id(g, "id", 'g', inv->group);
    cJSON_AddStringToObject(g, "name", inv->group_name);
    cJSON_AddItemToObject(o, "inviter", api__user_json(inv->inviter, inv->inviter_name));
    proto_add_ts(o, "expires", inv->expires);
    return o;
}

/* Tells an invitee who already has an account, on every socket, so that the invite shows
 * without a reload (the mail goes out anyway). */
static void announce(const struct store_invite *inv)
{
    struct store_user u;
    if (store_user_by_email(inv->email, &u) || u.disabled)
        return;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "invite", for_invitee(inv));
    api__to_user(u.id, "invite.received", d, 0);
}

static void reply_invite(struct api_call *c, int64_t id)
{
    struct store_invite inv;
    if (store_invite_get(id, &inv))
        return api__fail(c, NATTER_EINTERNAL, "could not read the invite");
    announce(&inv);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "invite", api__invite_json(&inv));
    api__ok(c, res);
}

/* ---- invite.create */

static int run_create(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    return api__invite_insert(tx, c->req.a.group, c->text, c->user, &c->v[0]);
}

static void done_create(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, "could not create the invite");
    api__outbox_kick();
    reply_invite(c, c->v[0]);
}

void api_invite_create(struct api_call *c)
{
    struct store_user u;
    char key[32];
    if (api__need_role(c, c->req.a.group, ROLE_ADMIN))
        return;
    if (!c->is_admin) {
        snprintf(key, sizeof key, "i%lld", (long long)c->user);
        int64_t wait = bucket_table_take(&invite_rate, key, (double)lim(LIM_INVITES_PER_H) / 3600.0,
                                         (double)lim(LIM_INVITES_PER_H), now_ms());
        if (wait) {
            metrics.rate_limited_total++;
            return api__fail_retry(c, NATTER_ERATE, "too many invites; try later", wait);
        }
    }
    if (!(c->text = strdup(c->req.a.email)))
        return api__fail(c, NATTER_ENOMEM, "out of memory");
    api__lower(c->text);
    if (store_user_by_email(c->text, &u) == 0 &&
        store_member_role(c->req.a.group, u.id) != ROLE_NONE)
        return api__fail(c, NATTER_ECONFLICT, "already a member of this group");
    api__submit(c, run_create, done_create);
}

/* ---- invite.list, invite.pending */

static void reply_invites(struct api_call *c, struct store_invite *v, size_t n, bool mine)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "invites");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, mine ? for_invitee(&v[i]) : api__invite_json(&v[i]));
    }
    free(v);
    api__ok(c, res);
}

void api_invite_list(struct api_call *c)
{
    struct store_invite *v;
    size_t n;
    if (api__need_role(c, c->req.a.group, ROLE_ADMIN))
        return;
    if (store_invites(c->req.a.group, NULL, 500, &v, &n))
        return api__fail(c, NATTER_EINTERNAL, "could not read the invites");
    reply_invites(c, v, n, false);
}

void api_invite_pending(struct api_call *c)
{
    struct store_user u;
    struct store_invite *v;
    size_t n;
    if (store_user_by_id(c->user, &u) || store_invites_pending_for(u.email, api__now(), &v, &n))
        return api__fail(c, NATTER_EINTERNAL, "could not read your invites");
    reply_invites(c, v, n, true);
}

/* ---- invite.revoke and invite.decline */

static int run_state(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    struct store_invite inv;
    int rc = store_tx_invite_get(tx, c->req.a.invite, &inv);
    if (rc)
        return rc;
    if (strcmp(inv.state, "pending")) {
        c->why = "the invite is no longer pending";
        return -NATTER_ECONFLICT;
    }
    if ((rc = store_tx_invite_set_state(tx, inv.id, c->text)))
        return rc;
    return c->req.op->flags & OPF_ADMIN ? api__audit(c, tx, NULL, NULL) : 0;
}

static void done_state(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc == -NATTER_ENOTFOUND)
        return api__fail(c, rc, "invite not found");
    if (rc)
        return api__fail(c, rc, c->why ? c->why : "could not update the invite");
    api__ok(c, NULL);
}

static void set_state(struct api_call *c, const char *state)
{
    if (!(c->text = strdup(state)))
        return api__fail(c, NATTER_ENOMEM, "out of memory");
    api__submit(c, run_state, done_state);
}

void api_invite_revoke(struct api_call *c)
{
    struct store_invite inv;
    if (store_invite_get(c->req.a.invite, &inv))
        return api__fail(c, NATTER_ENOTFOUND, "invite not found");
    if (api__need_role(c, inv.group, ROLE_ADMIN))
        return;
    set_state(c, "revoked");
}

void api_admin_invites_revoke(struct api_call *c) { set_state(c, "revoked"); }

void api_invite_decline(struct api_call *c)
{
    struct store_invite inv;
    struct store_user u;
    if (store_invite_get(c->req.a.invite, &inv) || store_user_by_id(c->user, &u) ||
        strcmp(inv.email, u.email))
        return api__fail(c, NATTER_ENOTFOUND, "invite not found");
    set_state(c, "declined");
}

/* ---- invite.accept */

static int run_accept(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    struct store_invite inv;
    int rc;
    if (proto_has(&c->req, A_CODE)) {
        char hash[AUTH_TOKEN_HASH_LEN];
        auth_token_hash(c->req.a.code, strlen(c->req.a.code), hash);
        rc = store_tx_invite_by_hash(tx, hash, &inv);
    } else {
        rc = store_tx_invite_get(tx, c->req.a.invite, &inv);
    }
    if (rc) {
        c->why = "invite not found";
        return rc;
    }
    return api__invite_take(c, tx, &inv, c->text);
}

static void done_accept(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, c->why ? c->why : "could not accept the invite");
    if (c->v[2])
        api__joined(c->v[4], c->user, c->v[3]);
    api__reply_joined(c, c->v[4]);
}

void api_invite_accept(struct api_call *c)
{
    struct store_user u;
    if (proto_has(&c->req, A_CODE) == proto_has(&c->req, A_INVITE))
        return api__fail(c, NATTER_EBADREQ, "give exactly one of invite or code");
    if (store_user_by_id(c->user, &u) || !(c->text = strdup(u.email)))
        return api__fail(c, NATTER_EINTERNAL, "could not read your account");
    api__submit(c, run_accept, done_accept);
}

/* ---- admin.invites.send, .list, .resend */

static int run_bulk(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int64_t id;
    size_t i = 0;
    cJSON *detail = cJSON_CreateObject();
    cJSON_AddNumberToObject(detail, "count", cJSON_GetArraySize(c->req.a.emails));
    for (const cJSON *e = c->req.a.emails->child; e; e = e->next, i++) {
        char email[STORE_EMAIL_LEN];
        snprintf(email, sizeof email, "%s", e->valuestring);
        api__lower(email);
        int rc = api__invite_insert(tx, c->req.a.group, email, c->user, &id);
        if (rc) {
            cJSON_Delete(detail);
            return rc;
        }
        c->ids[i] = id;
    }
    c->nids = i;
    return api__audit(c, tx, NULL, detail);
}

static void done_bulk(void *arg, int rc)
{
    struct api_call *c = arg;
    struct store_invite inv;
    if (rc)
        return api__fail(c, rc, "could not create the invites");
    api__outbox_kick();
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "invites");
    for (size_t i = 0; i < c->nids; i++) {
        if (store_invite_get(c->ids[i], &inv) == 0) {
            announce(&inv);
            cJSON_AddItemToArray(arr, api__invite_json(&inv));
        }
    }
    api__ok(c, res);
}

void api_admin_invites_send(struct api_call *c)
{
    struct store_room *rs;
    size_t n;
    if (store_rooms_of_group(c->req.a.group, &rs, &n))
        return api__fail(c, NATTER_EINTERNAL, "could not read the group");
    free(rs);
    if (!n) /* every group has a room */
        return api__fail(c, NATTER_ENOTFOUND, "no such group");
    if (!(c->ids = calloc((size_t)cJSON_GetArraySize(c->req.a.emails), sizeof *c->ids)))
        return api__fail(c, NATTER_ENOMEM, "out of memory");
    api__submit(c, run_bulk, done_bulk);
}

void api_admin_invites_list(struct api_call *c)
{
    static const char *const states[] = {"pending", "accepted", "declined", "revoked", "expired"};
    struct store_invite *v;
    size_t n, kept = 0;
    const char *state = c->req.a.state;
    bool known = !state;
    for (size_t i = 0; i < 5 && !known; i++)
        known = !strcmp(state, states[i]);
    if (!known)
        return api__fail(c, NATTER_EBADREQ, "state: pending, accepted, declined, revoked or expired");
    /* "expired" is a pending invite past its time; "pending" means still usable. */
    bool expired = state && !strcmp(state, "expired"), pending = state && !strcmp(state, "pending");
    int limit = proto_has(&c->req, A_LIMIT) ? (int)c->req.a.limit : 100;
    if (store_invites(proto_has(&c->req, A_GROUP) ? c->req.a.group : 0,
                      expired ? "pending" : state, expired || pending ? 500 : limit, &v, &n))
        return api__fail(c, NATTER_EINTERNAL, "could not read the invites");
    int64_t now = api__now();
    for (size_t i = 0; i < n && (int)kept < limit; i++)
        if (!(expired || pending) || (v[i].expires <= now) == expired)
            v[kept++] = v[i];
    reply_invites(c, v, kept, false);
}

static int run_resend(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    struct store_invite inv;
    char code[AUTH_TOKEN_LEN], hash[AUTH_TOKEN_HASH_LEN], sealed[256], mid[160], rnd[33];
    int64_t now = api__now();
    int rc = store_tx_invite_get(tx, c->req.a.invite, &inv);
    if (rc)
        return rc;
    if (!strcmp(inv.state, "accepted") || !strcmp(inv.state, "declined")) {
        c->why = "invite already used";
        return -NATTER_ECONFLICT;
    }
    auth_token_new(code);
    auth_token_hash(code, strlen(code), hash);
    rc = auth_seal(code, strlen(code), sealed, sizeof sealed) < 0 ? -NATTER_EINTERNAL : 0;
    memset(code, 0, sizeof code);
    if (!rc)
        rc = store_tx_invite_renew(tx, inv.id, hash, now + lim(LIM_INVITE_TTL_S) * 1000);
    if (!rc) {
        /* A new mail, not a retry: a new Message-ID, so no mail system drops it as a copy. */
        auth_random_hex(rnd, 16);
        snprintf(mid, sizeof mid, "<invite.%s@%s>", rnd, cfg_public_host());
        rc = store_tx_outbox_requeue(tx, "invite", inv.id, sealed, mid, now);
    }
    return rc ? rc : api__audit(c, tx, NULL, NULL);
}

static void done_resend(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc == -NATTER_ENOTFOUND)
        return api__fail(c, rc, "invite not found");
    if (rc)
        return api__fail(c, rc, c->why ? c->why : "could not resend the invite");
    api__outbox_kick();
    reply_invite(c, c->req.a.invite);
}

void api_admin_invites_resend(struct api_call *c) { api__submit(c, run_resend, done_resend); }
