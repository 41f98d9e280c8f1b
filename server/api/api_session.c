/* api session: identify and resume (authenticating a socket, subscribing it, replaying
 * what it missed), presence, and closing the sockets of a revoked session. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

static struct bucket_table identify_ip;

void api__close_session(int64_t user, int64_t sid, int code, const char *reason)
{
    for (struct hub_conn *hc = hub_user_conns(user); hc; hc = hc->user_next)
        if (!sid || hc->sid == sid)
            api__io->close((struct api_conn *)hc, code, reason);
}

void api__presence(int64_t user, const char *status)
{
    struct store_group *gs;
    size_t n;
    if (store_groups_of_user(user, &gs, &n))
        return;
    for (size_t i = 0; i < n; i++) {
        /* Big groups learn presence from member.list: pushing every change to thousands of
         * sockets would cost more than the messages themselves. */
        if ((int64_t)hub_topic_count(TOPIC_GROUP(gs[i].id)) > lim(LIM_PRESENCE_MAX))
            continue;
        cJSON *d = cJSON_CreateObject();
        proto_add_id(d, "user", 'u', user);
        cJSON_AddStringToObject(d, "status", status);
        api__publish_json(TOPIC_GROUP(gs[i].id), "presence", d, FRAME_EPHEMERAL);
    }
    free(gs);
}

/* Replays room events after `from` to ac, when allowed and within the cap; adds the
 * room's entry to `rooms`. Runs inside the identify read snapshot. */
static void resume_room(struct api_conn *ac, const char *key, int64_t from, bool same_epoch,
                        cJSON *rooms)
{
    struct store_room r;
    int64_t id = strtoll(key + 2, NULL, 10);
    cJSON *e = cJSON_AddObjectToObject(rooms, key);
    bool member = store_room_get(id, &r) == 0 &&
                  (r.group ? store_member_role(r.group, ac->hc.user) != ROLE_NONE
                           : (r.dm_a == ac->hc.user || r.dm_b == ac->hc.user));
    if (!member) {
        cJSON_AddBoolToObject(e, "recovered", false);
        cJSON_AddNumberToObject(e, "last_seq", 0);
        cJSON_AddStringToObject(e, "error", "forbidden");
        return;
    }
    bool ok = same_epoch && from <= r.last_seq && r.last_seq - from <= lim(LIM_RESUME_CAP);
    if (ok && r.last_seq > from) {
        struct store_event *ev;
        size_t n;
        if (store_events(r.id, from, 0, (int)lim(LIM_RESUME_CAP), false, &ev, &n)) {
            ok = false;
        } else {
            for (size_t i = 0; i < n; i++)
                api__io->send_text(ac, ev[i].payload, strlen(ev[i].payload));
            store_events_free(ev, n);
        }
    }
    cJSON_AddBoolToObject(e, "recovered", ok);
    cJSON_AddNumberToObject(e, "last_seq", (double)r.last_seq);
}

static void reject(struct api_call *c, struct api_conn *ac, int code, const char *why)
{
    api__fail(c, NATTER_EUNAUTH, why); /* the error frame goes out before the close */
    ac->state = AC_CLOSING;
    api__io->close(ac, code, why);
}

/* Runs inside one read snapshot (api_identify's). */
static void identify(struct api_call *c, struct api_conn *ac)
{
    const struct proto_args *a = &c->req.a;
    struct auth_claims cl;
    struct store_user u;
    char aud[8];
    int v = api__token(a->token, &cl.sub, &cl.sid, aud);
    if (v == AUTH_EXPIRED) {
        reject(c, ac, 4004, "token expired");
        return;
    }
    if ((v != AUTH_OK && v != AUTH_REVOKED) || (v == AUTH_OK && !strcmp(aud, "admin"))) {
        reject(c, ac, 4002, "invalid token");
        return;
    }
    if (v == AUTH_REVOKED || store_user_by_id(cl.sub, &u) || u.disabled) {
        reject(c, ac, 4003, "session revoked");
        return;
    }
    if ((int64_t)hub_user_count(cl.sub) >= lim(LIM_CONNS_PER_USER)) {
        reject(c, ac, 4010, "too many connections for this user");
        return;
    }

    ac->hc.user = cl.sub;
    ac->hc.sid = cl.sid;
    ac->is_admin = u.is_admin;
    ac->state = AC_READY;
    bool first = hub_conn_online(&ac->hc);

    cJSON *res = cJSON_CreateObject();
    cJSON *user = cJSON_AddObjectToObject(res, "user");
    proto_add_id(user, "id", 'u', u.id);
    cJSON_AddStringToObject(user, "name", u.name);
    cJSON_AddStringToObject(user, "email", u.email);

    if (c->req.op->id == OP_RESUME) {
        bool same = a->epoch && !strcmp(a->epoch, store_epoch());
        cJSON *rooms = cJSON_AddObjectToObject(res, "rooms");
        for (const cJSON *r = a->rooms ? a->rooms->child : NULL; r; r = r->next) {
            int64_t from = (int64_t)r->valuedouble;
            resume_room(ac, r->string, from, same, rooms);
        }
    }
    int rc = api__conn_subscribe_all(ac);
    if (rc == 0)
        rc = api__add_snapshot(res, u.id);
    if (rc) {
        cJSON_Delete(res);
        api__fail(c, NATTER_EINTERNAL, "could not load your groups");
        return;
    }
    if (first)
        api__presence(u.id, "online");
    api__ok(c, res);
}

void api_identify(struct api_call *c, struct api_conn *ac)
{
    int64_t wait = bucket_table_take(&identify_ip, ac->ip, (double)lim(LIM_IDENTIFY_PER_S),
                                     (double)lim(LIM_IDENTIFY_BURST), now_ms());
    if (wait) {
        metrics.rate_limited_total++;
        api__fail_retry(c, NATTER_ERATE, "too many identify attempts from this address", wait);
        return;
    }
    /* One read transaction for the session check, the user, the snapshot and presence: each
     * transaction of its own took a shared-memory lock and its release (11 fcntl per identify). */
    store_read_begin();
    identify(c, ac);
    store_read_end();
}
