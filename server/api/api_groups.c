/* api groups: group and member operations, the group snapshot every client starts from,
 * and keeping hub subscriptions in step with membership. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#define UNREAD_CAP 1000

cJSON *api__user_json(int64_t id, const char *name)
{
    cJSON *u = cJSON_CreateObject();
    proto_add_id(u, "id", 'u', id);
    cJSON_AddStringToObject(u, "name", name);
    return u;
}

static void add_read_state(cJSON *o, int64_t user, const struct store_room *r)
{
    int64_t last_read = 0, unread = 0;
    store_last_read(user, r->id, &last_read);
    store_unread(user, r->id, last_read, UNREAD_CAP, &unread);
    cJSON_AddNumberToObject(o, "last_seq", (double)r->last_seq);
    cJSON_AddNumberToObject(o, "last_read", (double)last_read);
    cJSON_AddNumberToObject(o, "unread", (double)unread);
}

cJSON *api__room_snap(int64_t user, const struct store_room *r)
{
    cJSON *o = cJSON_CreateObject();
    proto_add_id(o, "id", 'r', r->id);
    cJSON_AddStringToObject(o, "name", r->name);
    add_read_state(o, user, r);
    return o;
}

cJSON *api__group_snap(int64_t user, const struct store_group *g)
{
    struct store_room *rs;
    size_t n;
    cJSON *o = cJSON_CreateObject();
    proto_add_id(o, "id", 'g', g->id);
    cJSON_AddStringToObject(o, "name", g->name);
    cJSON_AddStringToObject(o, "role", role_name(g->role));
    proto_add_id(o, "owner", 'u', g->owner);
    cJSON *rooms = cJSON_AddArrayToObject(o, "rooms");
    if (store_rooms_of_group(g->id, &rs, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(rooms, api__room_snap(user, &rs[i]));
        free(rs);
    }
    return o;
}

cJSON *api__dm_snap(int64_t user, const struct store_room *r)
{
    struct store_user peer;
    int64_t pid = r->dm_a == user ? r->dm_b : r->dm_a;
    cJSON *o = cJSON_CreateObject();
    proto_add_id(o, "id", 'r', r->id);
    if (store_user_by_id(pid, &peer))
        snprintf(peer.name, sizeof peer.name, "?");
    cJSON_AddItemToObject(o, "peer", api__user_json(pid, peer.name));
    add_read_state(o, user, r);
    cJSON_AddBoolToObject(o, "readonly", !store_share_group(user, pid));
    return o;
}

int api__add_snapshot(cJSON *obj, int64_t user)
{
    struct store_group *gs;
    struct store_room *dms;
    size_t ng, nd;
    if (store_groups_of_user(user, &gs, &ng))
        return -1;
    cJSON *groups = cJSON_AddArrayToObject(obj, "groups");
    for (size_t i = 0; i < ng; i++)
        cJSON_AddItemToArray(groups, api__group_snap(user, &gs[i]));
    free(gs);
    if (store_dms_of_user(user, &dms, &nd))
        return -1;
    cJSON *arr = cJSON_AddArrayToObject(obj, "dms");
    for (size_t i = 0; i < nd; i++)
        cJSON_AddItemToArray(arr, api__dm_snap(user, &dms[i]));
    free(dms);
    return 0;
}

/* Subscribes one socket to a group's topic and its rooms, at their current seq. */
static int sub_group(struct hub_conn *hc, int64_t group)
{
    struct store_room *rs;
    size_t n;
    int rc = hub_sub(hc, TOPIC_GROUP(group), 0);
    if (store_rooms_of_group(group, &rs, &n))
        return -1;
    for (size_t i = 0; i < n; i++)
        rc |= hub_sub(hc, TOPIC_ROOM(rs[i].id), (uint64_t)rs[i].last_seq);
    free(rs);
    return rc;
}

int api__conn_subscribe_all(struct api_conn *ac)
{
    struct store_group *gs;
    struct store_room *dms;
    size_t ng, nd;
    int rc = 0;
    if (store_groups_of_user(ac->hc.user, &gs, &ng))
        return -1;
    for (size_t i = 0; i < ng; i++)
        rc |= sub_group(&ac->hc, gs[i].id);
    free(gs);
    if (store_dms_of_user(ac->hc.user, &dms, &nd))
        return -1;
    for (size_t i = 0; i < nd; i++)
        rc |= hub_sub(&ac->hc, TOPIC_ROOM(dms[i].id), (uint64_t)dms[i].last_seq);
    free(dms);
    return rc;
}

void api__user_join_group(int64_t user, int64_t group)
{
    for (struct hub_conn *hc = hub_user_conns(user); hc; hc = hc->user_next)
        sub_group(hc, group);
}

void api__user_leave_group(int64_t user, int64_t group)
{
    struct store_room *rs;
    size_t n;
    hub_user_unsub(user, TOPIC_GROUP(group));
    if (store_rooms_of_group(group, &rs, &n))
        return;
    for (size_t i = 0; i < n; i++)
        hub_user_unsub(user, TOPIC_ROOM(rs[i].id));
    free(rs);
}

/* The caller's view of one group, after a change. */
static cJSON *group_snap_of(int64_t user, int64_t group)
{
    struct store_group *gs;
    size_t n;
    cJSON *snap = NULL;
    if (store_groups_of_user(user, &gs, &n))
        return NULL;
    for (size_t i = 0; i < n && !snap; i++)
        if (gs[i].id == group)
            snap = api__group_snap(user, &gs[i]);
    free(gs);
    return snap;
}

static cJSON *group_event(int64_t group, int64_t actor)
{
    cJSON *d = cJSON_CreateObject();
    proto_add_id(d, "group", 'g', group);
    if (actor)
        proto_add_id(d, "actor", 'u', actor);
    return d;
}

/* ---- group.create */

static int run_group_create(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int64_t now = api__now();
    int rc = store_tx_group_insert(tx, c->req.a.name, c->user, now, &c->v[0]);
    if (!rc)
        rc = store_tx_member_insert(tx, c->v[0], c->user, ROLE_OWNER, now);
    if (!rc)
        rc = api__groups_within_limit(c, tx, c->user);
    if (!rc)
        rc = store_tx_room_insert(tx, c->v[0], "general", now, &c->v[1]);
    return rc;
}

int api__groups_within_limit(struct api_call *c, struct store_tx *tx, int64_t user)
{
    int64_t n = 0;
    int rc = store_tx_groups_of_user_count(tx, user, &n);
    if (rc || n <= lim(LIM_GROUPS_PER_USER))
        return rc;
    c->why = user == c->user ? "you are in as many groups as allowed (groups_per_user)"
                             : "that user is in as many groups as allowed (groups_per_user)";
    return -NATTER_ECONFLICT;
}

/* Every way into a group (member.add, an invite, a bot's groups) goes through here, so that
 * each keeps both limits. */
int api__member_join(struct api_call *c, struct store_tx *tx, int64_t group, int64_t user)
{
    int64_t n = 0;
    int rc = store_tx_member_count(tx, group, &n);
    if (rc)
        return rc;
    if (n >= lim(LIM_GROUP_MEMBERS)) {
        c->why = "the group is full (group_members)";
        return -NATTER_ECONFLICT;
    }
    rc = store_tx_member_insert(tx, group, user, ROLE_MEMBER, api__now());
    return rc ? rc : api__groups_within_limit(c, tx, user);
}

static void done_group_create(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, c->why ? c->why : "could not create the group");
    api__user_join_group(c->user, c->v[0]);
    api__reply_joined(c, c->v[0]);
}

void api__reply_joined(struct api_call *c, int64_t group)
{
    cJSON *snap = group_snap_of(c->user, group);
    if (!snap)
        return api__fail(c, NATTER_EINTERNAL, "could not read the group");
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddItemToObject(ev, "group", cJSON_Duplicate(snap, 1));
    api__to_user(c->user, "group.joined", ev, c->rest ? 0 : c->conn);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "group", snap);
    api__ok(c, res);
}

void api_group_create(struct api_call *c) { api__submit(c, run_group_create, done_group_create); }

/* ---- group.list */

void api_group_list(struct api_call *c)
{
    cJSON *res = cJSON_CreateObject();
    store_read_begin();
    int rc = api__add_snapshot(res, c->user);
    store_read_end();
    if (rc) {
        cJSON_Delete(res);
        return api__fail(c, NATTER_EINTERNAL, "could not read your groups");
    }
    api__ok(c, res);
}

/* ---- group.rename */

static int run_group_rename(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    return store_tx_group_rename(tx, c->req.a.group, c->req.a.name);
}

static void done_group_rename(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, "could not rename the group");
    cJSON *d = group_event(c->req.a.group, c->user);
    cJSON_AddStringToObject(d, "name", c->req.a.name);
    api__publish_json(TOPIC_GROUP(c->req.a.group), "group.renamed", d, 0);
    cJSON *res = cJSON_CreateObject();
    cJSON *g = cJSON_AddObjectToObject(res, "group");
    proto_add_id(g, "id", 'g', c->req.a.group);
    cJSON_AddStringToObject(g, "name", c->req.a.name);
    api__ok(c, res);
}

void api_group_rename(struct api_call *c)
{
    if (api__need_role(c, c->req.a.group, ROLE_ADMIN) == 0)
        api__submit(c, run_group_rename, done_group_rename);
}

/* ---- group.delete (and the last member leaving) */

static int run_group_delete(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    return store_tx_group_delete(tx, c->req.a.group);
}

static void done_group_delete(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, "could not delete the group");
    api__publish_json(TOPIC_GROUP(c->req.a.group), "group.deleted",
                      group_event(c->req.a.group, c->user), 0);
    hub_topic_drop(TOPIC_GROUP(c->req.a.group));
    for (size_t i = 0; i < c->nids; i++)
        hub_topic_drop(TOPIC_ROOM(c->ids[i]));
    api__ok(c, NULL);
}

static void delete_group(struct api_call *c)
{
    struct store_room *rs;
    size_t n;
    if (store_rooms_of_group(c->req.a.group, &rs, &n))
        return api__fail(c, NATTER_EINTERNAL, "could not read the group");
    c->ids = malloc((n ? n : 1) * sizeof *c->ids);
    if (!c->ids) {
        free(rs);
        return api__fail(c, NATTER_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        c->ids[i] = rs[i].id;
    c->nids = n;
    free(rs);
    api__submit(c, run_group_delete, done_group_delete);
}

void api_group_delete(struct api_call *c)
{
    if (api__need_role(c, c->req.a.group, ROLE_OWNER) == 0)
        delete_group(c);
}

/* ---- group.leave and member.remove share the removal */

static int run_member_remove(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    return store_tx_member_delete(tx, c->req.a.group, c->v[0]);
}

static void done_member_remove(void *arg, int rc)
{
    struct api_call *c = arg;
    int64_t group = c->req.a.group, who = c->v[0];
    if (rc)
        return api__fail(c, rc, "could not remove the member");
    api__member_gone(group, who, c->user, 0);
    api__to_user(who, "group.left", group_event(group, c->user), 0);
    api__ok(c, NULL);
}

void api__member_gone(int64_t group, int64_t who, int64_t actor, int64_t heir)
{
    api__user_leave_group(who, group);
    cJSON *d = group_event(group, actor);
    proto_add_id(d, "user", 'u', who);
    api__publish_json(TOPIC_GROUP(group), "member.left", d, 0);
    if (heir) {
        d = group_event(group, actor);
        proto_add_id(d, "user", 'u', heir);
        cJSON_AddStringToObject(d, "role", role_name(ROLE_OWNER));
        api__publish_json(TOPIC_GROUP(group), "member.role", d, 0);
    }
}

void api_group_leave(struct api_call *c)
{
    int64_t count = 0;
    enum role r = store_member_role(c->req.a.group, c->user);
    if (r == ROLE_NONE)
        return api__fail(c, NATTER_ENOTFOUND, "no such group");
    if (r == ROLE_OWNER) {
        if (store_member_count(c->req.a.group, &count) || count > 1)
            return api__fail(c, NATTER_ECONFLICT,
                             "the owner must hand over ownership (member.role) or delete the group");
        return delete_group(c);
    }
    c->v[0] = c->user;
    api__submit(c, run_member_remove, done_member_remove);
}

void api_member_remove(struct api_call *c)
{
    if (api__need_role(c, c->req.a.group, ROLE_ADMIN))
        return;
    enum role mine = store_member_role(c->req.a.group, c->user);
    enum role theirs = store_member_role(c->req.a.group, c->req.a.user);
    if (c->req.a.user == c->user)
        return api__fail(c, NATTER_EBADREQ, "use group.leave to leave a group");
    if (theirs == ROLE_NONE)
        return api__fail(c, NATTER_ENOTFOUND, "not a member of this group");
    if (theirs >= mine)
        return api__fail(c, NATTER_EFORBID, "admins may remove members only");
    c->v[0] = c->req.a.user;
    api__submit(c, run_member_remove, done_member_remove);
}

/* ---- member.list */

cJSON *api__members(int64_t group)
{
    struct store_member *ms;
    size_t n;
    if (store_members(group, &ms, &n))
        return NULL;
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "members");
    for (size_t i = 0; i < n; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddItemToObject(m, "user", api__user_json(ms[i].user, ms[i].name));
        cJSON_AddStringToObject(m, "role", role_name(ms[i].role));
        cJSON_AddBoolToObject(m, "online", hub_user_count(ms[i].user) > 0);
        cJSON_AddItemToArray(arr, m);
    }
    free(ms);
    return res;
}

void api_member_list(struct api_call *c)
{
    if (api__need_role(c, c->req.a.group, ROLE_MEMBER))
        return;
    cJSON *res = api__members(c->req.a.group);
    if (!res)
        return api__fail(c, NATTER_EINTERNAL, "could not read the members");
    api__ok(c, res);
}

/* ---- member.add */

static int run_member_add(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    return api__member_join(c, tx, c->req.a.group, c->v[0]);
}

static void done_member_add(void *arg, int rc)
{
    struct api_call *c = arg;
    int64_t group = c->req.a.group, who = c->v[0];
    if (rc == -NATTER_ECONFLICT)
        return api__fail(c, rc, c->why ? c->why : "already a member of this group");
    if (rc)
        return api__fail(c, rc, "could not add the member");
    cJSON *d = group_event(group, c->user);
    cJSON_AddItemToObject(d, "user", api__user_json(who, c->text));
    cJSON_AddStringToObject(d, "role", "member");
    api__publish_json(TOPIC_GROUP(group), "member.joined", d, 0);
    api__user_join_group(who, group);
    cJSON *snap = group_snap_of(who, group);
    if (snap) {
        cJSON *ev = cJSON_CreateObject();
        cJSON_AddItemToObject(ev, "group", snap);
        api__to_user(who, "group.joined", ev, 0);
    }
    cJSON *res = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(res, "member");
    cJSON_AddItemToObject(m, "user", api__user_json(who, c->text));
    cJSON_AddStringToObject(m, "role", "member");
    api__ok(c, res);
}

void api_member_add(struct api_call *c)
{
    struct store_user u;
    char email[STORE_EMAIL_LEN];
    if (api__need_role(c, c->req.a.group, ROLE_ADMIN))
        return;
    snprintf(email, sizeof email, "%s", c->req.a.email);
    api__lower(email);
    if (store_user_by_email(email, &u) || u.disabled)
        return api__fail(c, NATTER_ENOTFOUND, "no user with that email");
    c->v[0] = u.id;
    if (!(c->text = strdup(u.name)))
        return api__fail(c, NATTER_ENOMEM, "out of memory");
    api__submit(c, run_member_add, done_member_add);
}

/* ---- member.role */

static int run_member_role(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    const struct proto_args *a = &c->req.a;
    int rc;
    if (c->v[0] != ROLE_OWNER)
        return store_tx_member_set_role(tx, a->group, a->user, (enum role)c->v[0]);
    if ((rc = store_tx_member_set_role(tx, a->group, a->user, ROLE_OWNER)) ||
        (rc = store_tx_member_set_role(tx, a->group, c->user, ROLE_ADMIN)))
        return rc;
    return store_tx_group_set_owner(tx, a->group, a->user);
}

static void role_event(struct api_call *c, int64_t who, enum role r)
{
    cJSON *d = group_event(c->req.a.group, c->user);
    proto_add_id(d, "user", 'u', who);
    cJSON_AddStringToObject(d, "role", role_name(r));
    api__publish_json(TOPIC_GROUP(c->req.a.group), "member.role", d, 0);
}

static void done_member_role(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, "could not change the role");
    role_event(c, c->req.a.user, (enum role)c->v[0]);
    if (c->v[0] == ROLE_OWNER)
        role_event(c, c->user, ROLE_ADMIN);
    api__ok(c, NULL);
}

void api_member_role(struct api_call *c)
{
    enum role r = role_parse(c->req.a.role);
    if (r == ROLE_NONE)
        return api__fail(c, NATTER_EBADREQ, "role: expected owner, admin or member");
    if (api__need_role(c, c->req.a.group, ROLE_OWNER))
        return;
    if (c->req.a.user == c->user)
        return api__fail(c, NATTER_EBADREQ, "hand ownership to another member instead");
    if (store_member_role(c->req.a.group, c->req.a.user) == ROLE_NONE)
        return api__fail(c, NATTER_ENOTFOUND, "not a member of this group");
    c->v[0] = r;
    api__submit(c, run_member_role, done_member_role);
}
