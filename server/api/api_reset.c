/* api reset: password reset by an emailed 8-digit code. The code is stored hashed, expires
 * after reset_ttl_s and dies after reset_attempts wrong tries; requests are rate limited per
 * address and per email, and the answer never tells whether an account exists. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

static struct bucket_table reset_ip, reset_email;

static void code_hash(int64_t user, const char *code, char out[AUTH_TOKEN_HASH_LEN])
{
    char salted[64];
    snprintf(salted, sizeof salted, "%lld:%s", (long long)user, code); /* one hash per account */
    auth_token_hash(salted, strlen(salted), out);
}

/* ---- auth.reset.request */

static int run_request(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    char code[16], hex[9], hash[AUTH_TOKEN_HASH_LEN], sealed[256], mid[160];
    int64_t now = api__now(), id;
    auth_random_hex(hex, 4);
    snprintf(code, sizeof code, "%08lu", strtoul(hex, NULL, 16) % 100000000ul);
    code_hash(c->user, code, hash);
    auth_random_hex(hex, 4);
    snprintf(mid, sizeof mid, "<reset.%s.%lld@%s>", hex, (long long)now, cfg_public_host());
    int rc = auth_seal(code, strlen(code), sealed, sizeof sealed) < 0 ? -NATTER_EINTERNAL : 0;
    if (!rc)
        rc = store_tx_reset_insert(tx, c->user, hash, now, now + lim(LIM_RESET_TTL_S) * 1000, &id);
    if (!rc)
        rc = store_tx_outbox_insert(tx, "reset", id, c->text, mid, sealed, now);
    memset(code, 0, sizeof code);
    return rc;
}

static void done_request(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, "could not start the reset");
    api__outbox_kick();
    api__ok(c, NULL);
}

void api_reset_request(struct api_call *c)
{
    struct store_user u;
    int64_t wait = bucket_table_take(&reset_ip, c->ip, (double)lim(LIM_RESET_PER_H) / 3600.0,
                                     (double)lim(LIM_RESET_PER_H), now_ms());
    if (!(c->text = strdup(c->req.a.email)))
        return api__fail(c, NATTER_ENOMEM, "out of memory");
    api__lower(c->text);
    if (!wait)
        wait = bucket_table_take(&reset_email, c->text, (double)lim(LIM_RESET_PER_H) / 3600.0,
                                 (double)lim(LIM_RESET_PER_H), now_ms());
    if (wait) {
        metrics.rate_limited_total++;
        return api__fail_retry(c, NATTER_ERATE, "too many reset requests", wait);
    }
    if (store_user_by_email(c->text, &u) || u.disabled || u.is_bot)
        return api__ok(c, NULL); /* same answer: no account enumeration */
    c->user = u.id;
    api__submit(c, run_request, done_request);
}

/* ---- auth.reset.confirm: check the code (on the writer, so attempts count exactly) */

static void hash_new_pw(void *arg)
{
    struct api_call *c = arg;
    c->flag = auth_pw_hash(c->req.a.password, strlen(c->req.a.password),
                           (enum auth_cost)cfg.pw_cost, c->hash) == 0;
}

static int run_confirm(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    struct store_reset r;
    char hash[AUTH_TOKEN_HASH_LEN];
    int rc = store_tx_reset_latest(tx, c->user, &r);
    if (rc)
        return -NATTER_EUNAUTH;
    code_hash(c->user, c->req.a.code, hash);
    bool live = !r.used && r.expires > api__now() && r.attempts < lim(LIM_RESET_ATTEMPTS);
    bool match = strlen(hash) == strlen(r.code_hash) && auth_equal(hash, r.code_hash, strlen(hash));
    if (!live || !match) {
        /* A wrong try is committed on its own: this job returns 0 and done reports it. */
        c->flag = false;
        return live ? store_tx_reset_update(tx, r.id, r.attempts + 1, false) : 0;
    }
    c->flag = true;
    if ((rc = store_tx_reset_update(tx, r.id, r.attempts, true)) ||
        (rc = store_tx_user_set_pw(tx, c->user, c->hash)))
        return rc;
    return store_tx_sessions_delete_user(tx, c->user);
}

static void done_confirm(void *arg, int rc)
{
    struct api_call *c = arg;
    int64_t user = c->user;
    if (rc || !c->flag)
        return api__fail(c, rc && rc != -NATTER_EUNAUTH ? rc : NATTER_EUNAUTH,
                         "invalid or expired code");
    api__ok(c, NULL);
    api__close_session(user, 0, 4003, "password changed");
}

static void hashed_confirm(void *arg)
{
    struct api_call *c = arg;
    if (!c->flag)
        return api__fail(c, NATTER_EINTERNAL, "could not hash the password");
    api__submit(c, run_confirm, done_confirm);
}

void api_reset_confirm(struct api_call *c)
{
    struct store_user u;
    char email[STORE_EMAIL_LEN];
    snprintf(email, sizeof email, "%s", c->req.a.email);
    api__lower(email);
    if (strlen(c->req.a.password) < 8)
        return api__fail(c, NATTER_EBADREQ, "password: at least 8 bytes");
    if (store_user_by_email(email, &u) || u.disabled)
        return api__fail(c, NATTER_EUNAUTH, "invalid or expired code");
    c->user = u.id;
    api__work(c, hash_new_pw, hashed_confirm);
}
