/* api auth: sign-up, login, refresh, logout and the profile. Password hashing runs on the
 * work pool; sessions are rows, so deleting one revokes it. Rate limits follow Synapse's
 * rc_login and rc_registration defaults (see cfg.h). */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

static struct bucket_table login_ip, login_account, signup_ip;
static char dummy_hash[AUTH_PW_HASH_LEN]; /* verified against for unknown emails */

static int64_t take(struct bucket_table *t, const char *key, enum limit_id per_h,
                    enum limit_id burst)
{
    return bucket_table_take(t, key, (double)lim(per_h) / 3600.0, (double)lim(burst), now_ms());
}

/* Starts a session for c->user (c->v[5] = 1 for a password rehash in c->hash). */
static int run_session(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int64_t now = api__now();
    int rc;
    if (c->v[5] && (rc = store_tx_user_set_pw(tx, c->user, c->hash)))
        return rc;
    return store_tx_session_insert(tx, c->user, c->tok_hash, c->aud[0] ? c->aud : "chat", now,
                                   now + lim(LIM_REFRESH_TTL_S) * 1000, &c->sid);
}

/* Replies with a fresh access token for c->user/c->sid and the refresh token in c->tok. */
static void reply_tokens(struct api_call *c)
{
    struct store_user u;
    char access[AUTH_ACCESS_MAX];
    struct auth_claims cl = {.sub = c->user, .sid = c->sid, .aud = "chat"};
    if (c->aud[0])
        snprintf(cl.aud, sizeof cl.aud, "%s", c->aud);
    cl.exp = api__now() / 1000 + lim(LIM_TOKEN_TTL_S);
    if (store_user_by_id(c->user, &u) || auth_access_mint(&cl, access) < 0)
        return api__fail(c, NATTER_EINTERNAL, "could not issue a token");
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "access_token", access);
    cJSON_AddStringToObject(res, "refresh_token", c->tok);
    proto_add_ts(res, "expires_at", cl.exp * 1000);
    cJSON *user = cJSON_AddObjectToObject(res, "user");
    proto_add_id(user, "id", 'u', u.id);
    cJSON_AddStringToObject(user, "name", u.name);
    cJSON_AddStringToObject(user, "email", u.email);
    api__ok(c, res);
}

static void done_session(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, "could not start a session");
    reply_tokens(c);
}

static void new_refresh(struct api_call *c)
{
    auth_token_new(c->tok);
    auth_token_hash(c->tok, strlen(c->tok), c->tok_hash);
}

/* ---- auth.signup */

static void hash_pw(void *arg)
{
    struct api_call *c = arg;
    c->flag = auth_pw_hash(c->req.a.password, strlen(c->req.a.password),
                           (enum auth_cost)cfg.pw_cost, c->hash) == 0;
}

static int run_signup(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int64_t now = api__now();
    int rc = store_tx_user_insert(tx, c->text, c->req.a.name, c->hash, now, &c->user);
    if (!rc)
        rc = store_tx_session_insert(tx, c->user, c->tok_hash, "chat", now,
                                     now + lim(LIM_REFRESH_TTL_S) * 1000, &c->sid);
    if (rc || !proto_has(&c->req, A_INVITE_CODE))
        return rc;
    /* Signing up through an invite link: join in the same transaction, or not at all. */
    struct store_invite inv;
    char hash[AUTH_TOKEN_HASH_LEN];
    auth_token_hash(c->req.a.invite_code, strlen(c->req.a.invite_code), hash);
    if (store_tx_invite_by_hash(tx, hash, &inv)) {
        c->why = "invite not found";
        return -NATTER_ENOTFOUND;
    }
    return api__invite_take(c, tx, &inv, c->text);
}

static void done_signup(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc == -NATTER_ECONFLICT && !c->why)
        return api__fail(c, rc, "that email is already registered");
    if (rc)
        return api__fail(c, rc, c->why ? c->why : "could not create the account");
    if (c->v[4])
        api__joined(c->v[4], c->user, c->v[3]);
    reply_tokens(c);
}

static void hashed_signup(void *arg)
{
    struct api_call *c = arg;
    if (!c->flag)
        return api__fail(c, NATTER_EINTERNAL, "could not hash the password");
    new_refresh(c);
    api__submit(c, run_signup, done_signup);
}

void api_auth_signup(struct api_call *c)
{
    struct store_user u;
    int64_t wait = take(&signup_ip, c->ip, LIM_SIGNUP_PER_H, LIM_SIGNUP_BURST);
    if (wait) {
        metrics.rate_limited_total++;
        return api__fail_retry(c, NATTER_ERATE, "too many sign-ups from this address", wait);
    }
    if (strlen(c->req.a.password) < 8)
        return api__fail(c, NATTER_EBADREQ, "password: at least 8 bytes");
    if (!(c->text = strdup(c->req.a.email)))
        return api__fail(c, NATTER_ENOMEM, "out of memory");
    api__lower(c->text);
    if (store_user_by_email(c->text, &u) == 0)
        return api__fail(c, NATTER_ECONFLICT, "that email is already registered");
    api__work(c, hash_pw, hashed_signup);
}

/* ---- auth.login */

static void verify_pw(void *arg)
{
    struct api_call *c = arg;
    const char *pw = c->req.a.password;
    const char *hash = c->user ? c->hash : dummy_hash;
    c->flag = auth_pw_verify(hash, pw, strlen(pw)) && c->user;
    c->v[5] = 0;
    if (c->flag && auth_pw_needs_rehash(c->hash, (enum auth_cost)cfg.pw_cost))
        c->v[5] = auth_pw_hash(pw, strlen(pw), (enum auth_cost)cfg.pw_cost, c->hash) == 0;
}

static void verified_login(void *arg)
{
    struct api_call *c = arg;
    if (!c->flag) {
        metrics.login_failures_total++;
        return api__fail(c, NATTER_EUNAUTH, "invalid email or password");
    }
    if (!strcmp(c->aud, "admin") && !c->is_admin)
        return api__fail(c, NATTER_EFORBID, "not a server admin");
    metrics.logins_total++;
    new_refresh(c);
    api__submit(c, run_session, done_session);
}

void api_auth_login(struct api_call *c)
{
    struct store_user u;
    char email[STORE_EMAIL_LEN];
    snprintf(email, sizeof email, "%s", c->req.a.email);
    api__lower(email);
    int64_t wait = take(&login_ip, c->ip, LIM_LOGIN_PER_H, LIM_LOGIN_BURST);
    if (!wait)
        wait = take(&login_account, email, LIM_LOGIN_PER_H, LIM_LOGIN_BURST);
    if (wait) {
        metrics.rate_limited_total++;
        return api__fail_retry(c, NATTER_ERATE, "too many login attempts", wait);
    }
    /* Unknown, disabled and password-less (bot) accounts verify against a dummy hash, so
     * the answer takes the same time and says the same thing. */
    if (c->req.a.audience && strcmp(c->req.a.audience, "chat") &&
        strcmp(c->req.a.audience, "admin"))
        return api__fail(c, NATTER_EBADREQ, "audience: chat or admin");
    snprintf(c->aud, sizeof c->aud, "%s", c->req.a.audience ? c->req.a.audience : "chat");
    if (store_user_by_email(email, &u) == 0 && !u.disabled && !u.is_bot && u.pw_hash[0]) {
        c->user = u.id;
        c->is_admin = u.is_admin;
        snprintf(c->hash, sizeof c->hash, "%s", u.pw_hash);
    }
    api__work(c, verify_pw, verified_login);
}

/* ---- auth.refresh */

static int run_refresh(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int64_t now = api__now();
    return store_tx_session_rotate(tx, c->text, c->tok_hash, now,
                                   now + lim(LIM_REFRESH_TTL_S) * 1000, &c->sid, &c->user, c->aud);
}

static void done_refresh(void *arg, int rc)
{
    struct api_call *c = arg;
    struct store_user u;
    if (rc == -NATTER_EUNAUTH)
        return api__fail(c, rc, "invalid or expired refresh token");
    if (rc)
        return api__fail(c, rc, "could not refresh the session");
    if (store_user_by_id(c->user, &u) || u.disabled)
        return api__fail(c, NATTER_EUNAUTH, "account disabled");
    reply_tokens(c);
}

void api_auth_refresh(struct api_call *c)
{
    const char *old = c->req.a.refresh;
    if (!(c->text = malloc(AUTH_TOKEN_HASH_LEN)))
        return api__fail(c, NATTER_ENOMEM, "out of memory");
    auth_token_hash(old, strlen(old), c->text);
    new_refresh(c);
    api__submit(c, run_refresh, done_refresh);
}

/* ---- auth.logout */

static int run_logout(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    return store_tx_session_delete(tx, c->sid);
}

static void done_logout(void *arg, int rc)
{
    struct api_call *c = arg;
    int64_t user = c->user, sid = c->sid;
    if (rc)
        return api__fail(c, rc, "could not log out");
    api__ok(c, NULL);
    api__close_session(user, sid, 4003, "logged out");
}

void api_auth_logout(struct api_call *c) { api__submit(c, run_logout, done_logout); }

/* ---- profile.get and profile.update */

static cJSON *profile_json(const struct store_user *u, bool self)
{
    cJSON *o = api__user_json(u->id, u->name);
    if (self)
        cJSON_AddStringToObject(o, "email", u->email);
    proto_add_ts(o, "created", u->created);
    return o;
}

void api_profile_get(struct api_call *c)
{
    struct store_user u;
    int64_t who = proto_has(&c->req, A_USER) ? c->req.a.user : c->user;
    if (who != c->user && !store_share_group(c->user, who))
        return api__fail(c, NATTER_EFORBID, "you can see profiles of people in your groups");
    if (store_user_by_id(who, &u))
        return api__fail(c, NATTER_ENOTFOUND, "no such user");
    cJSON *res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "user", profile_json(&u, who == c->user));
    api__ok(c, res);
}

static int run_profile_update(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    return proto_has(&c->req, A_NAME) ? store_tx_user_set_name(tx, c->user, c->req.a.name) : 0;
}

static void done_profile_update(void *arg, int rc)
{
    struct api_call *c = arg;
    struct store_user u;
    struct store_group *gs;
    size_t n;
    if (rc || store_user_by_id(c->user, &u))
        return api__fail(c, rc ? rc : NATTER_EINTERNAL, "could not update the profile");
    if (proto_has(&c->req, A_NAME) && store_groups_of_user(c->user, &gs, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            cJSON *d = cJSON_CreateObject();
            proto_add_id(d, "group", 'g', gs[i].id);
            cJSON_AddItemToObject(d, "user", api__user_json(u.id, u.name));
            api__publish_json(TOPIC_GROUP(gs[i].id), "member.updated", d, 0);
        }
        free(gs);
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "user", profile_json(&u, true));
    api__ok(c, res);
}

void api_profile_update(struct api_call *c)
{
    api__submit(c, run_profile_update, done_profile_update);
}

/* Called once at start-up, before the loop: makes the dummy hash at the configured cost. */
int api_auth_init(void)
{
    return auth_pw_hash("natter-dummy-password", 21, (enum auth_cost)cfg.pw_cost, dummy_hash);
}
