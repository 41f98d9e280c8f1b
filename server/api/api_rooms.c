/* api rooms: creating, renaming and deleting a group's rooms, and opening DMs. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- room.create */

static int run_room_create(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int64_t n = 0;
    int rc = store_tx_room_count(tx, c->req.a.group, &n);
    if (rc)
        return rc;
    if (n >= lim(LIM_ROOMS_PER_GROUP)) {
        c->why = "the group has as many rooms as allowed (rooms_per_group)";
        return -NATTER_ECONFLICT;
    }
    return store_tx_room_insert(tx, c->req.a.group, c->req.a.name, api__now(), &c->v[0]);
}

static void done_room_create(void *arg, int rc)
{
    struct api_call *c = arg;
    struct store_room r;
    if (rc || store_room_get(c->v[0], &r))
        return api__fail(c, rc ? rc : NATTER_EINTERNAL, c->why ? c->why : "could not create the room");
    hub_topic_copy(TOPIC_GROUP(r.group), TOPIC_ROOM(r.id), 0);
    cJSON *d = cJSON_CreateObject();
    proto_add_id(d, "group", 'g', r.group);
    cJSON *room = cJSON_AddObjectToObject(d, "room");
    proto_add_id(room, "id", 'r', r.id);
    cJSON_AddStringToObject(room, "name", r.name);
    cJSON_AddNumberToObject(room, "last_seq", 0);
    proto_add_id(d, "actor", 'u', c->user);
    api__publish_json(TOPIC_GROUP(r.group), "room.created", d, 0);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "room", api__room_snap(c->user, &r));
    api__ok(c, res);
}

void api_room_create(struct api_call *c)
{
    if (api__need_role(c, c->req.a.group, ROLE_ADMIN) == 0)
        api__submit(c, run_room_create, done_room_create);
}

/* A group room the caller administers, or an error reply. */
static int admin_room(struct api_call *c, struct store_room *r)
{
    if (api__room_access(c, c->req.a.room, r))
        return -1;
    if (!r->group) {
        api__fail(c, NATTER_EBADREQ, "a DM cannot be renamed or deleted");
        return -1;
    }
    return api__need_role(c, r->group, ROLE_ADMIN);
}

/* ---- room.rename: a room-log event */

static int run_room_rename(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int64_t seq, now = api__now();
    int rc = store_tx_next_seq(tx, c->req.a.room, &seq);
    if (rc)
        return rc;
    cJSON *d = cJSON_CreateObject();
    proto_add_id(d, "room", 'r', c->req.a.room);
    cJSON_AddNumberToObject(d, "seq", (double)seq);
    proto_add_ts(d, "ts", now);
    proto_add_id(d, "actor", 'u', c->user);
    cJSON_AddStringToObject(d, "name", c->req.a.name);
    proto_event(&c->ev, "room.renamed", d);
    cJSON_Delete(d);
    if (sbuf_failed(&c->ev))
        return -NATTER_ENOMEM;
    c->v[0] = seq;
    if ((rc = store_tx_room_rename(tx, c->req.a.room, c->req.a.name)))
        return rc;
    return store_tx_event_append(tx, c->req.a.room, seq, "room.renamed", c->user, 0, c->ev.p, now);
}

static void done_room_rename(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc)
        return api__fail(c, rc, "could not rename the room");
    api__publish(TOPIC_ROOM(c->req.a.room), c->ev.p, c->ev.len, (uint64_t)c->v[0], 0, NULL);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddNumberToObject(res, "seq", (double)c->v[0]);
    api__ok(c, res);
}

void api_room_rename(struct api_call *c)
{
    struct store_room r;
    if (admin_room(c, &r) == 0)
        api__submit(c, run_room_rename, done_room_rename);
}

/* ---- room.delete */

static int run_room_delete(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int64_t n = 0;
    int rc = store_tx_room_count(tx, c->v[0], &n);
    if (rc)
        return rc;
    if (n <= 1)
        return -NATTER_ECONFLICT;
    return store_tx_room_delete(tx, c->req.a.room);
}

static void done_room_delete(void *arg, int rc)
{
    struct api_call *c = arg;
    if (rc == -NATTER_ECONFLICT)
        return api__fail(c, rc, "a group keeps at least one room");
    if (rc)
        return api__fail(c, rc, "could not delete the room");
    hub_topic_drop(TOPIC_ROOM(c->req.a.room));
    cJSON *d = cJSON_CreateObject();
    proto_add_id(d, "group", 'g', c->v[0]);
    proto_add_id(d, "room", 'r', c->req.a.room);
    proto_add_id(d, "actor", 'u', c->user);
    api__publish_json(TOPIC_GROUP(c->v[0]), "room.deleted", d, 0);
    api__ok(c, NULL);
}

void api_room_delete(struct api_call *c)
{
    struct store_room r;
    if (admin_room(c, &r))
        return;
    c->v[0] = r.group;
    api__submit(c, run_room_delete, done_room_delete);
}

/* ---- dm.open */

static int run_dm_open(struct store_tx *tx, void *arg)
{
    struct api_call *c = arg;
    int rc = store_tx_dm_open(tx, c->user, c->req.a.user, api__now(), &c->v[0], &c->flag);
    /* A new DM counts for both: over dms_per_user for either, it is rolled back. */
    int64_t pair[2] = {c->user, c->req.a.user};
    for (int i = 0; i < 2 && !rc && c->flag; i++) {
        int64_t n = 0;
        rc = store_tx_dms_of_user_count(tx, pair[i], &n);
        if (!rc && n > lim(LIM_DMS_PER_USER)) {
            c->why = i ? "that user has as many DMs as allowed (dms_per_user)"
                       : "you have as many DMs as allowed (dms_per_user)";
            rc = -NATTER_ECONFLICT;
        }
    }
    return rc;
}

static void done_dm_open(void *arg, int rc)
{
    struct api_call *c = arg;
    struct store_room r;
    if (rc || store_room_get(c->v[0], &r))
        return api__fail(c, rc ? rc : NATTER_EINTERNAL, c->why ? c->why : "could not open the DM");
    if (c->flag) {
        int64_t pair[2] = {r.dm_a, r.dm_b};
        for (int i = 0; i < 2; i++) {
            hub_user_sub(pair[i], TOPIC_ROOM(r.id), 0);
            cJSON *d = cJSON_CreateObject();
            cJSON_AddItemToObject(d, "dm", api__dm_snap(pair[i], &r));
            api__to_user(pair[i], "dm.opened", d, 0);
        }
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "dm", api__dm_snap(c->user, &r));
    api__ok(c, res);
}

void api_dm_open(struct api_call *c)
{
    struct store_user u;
    if (c->req.a.user == c->user)
        return api__fail(c, NATTER_EBADREQ, "a DM needs another user");
    if (store_user_by_id(c->req.a.user, &u))
        return api__fail(c, NATTER_ENOTFOUND, "no such user");
    if (!store_share_group(c->user, c->req.a.user))
        return api__fail(c, NATTER_EFORBID, "you can open a DM only with someone in one of your groups");
    api__submit(c, run_dm_open, done_dm_open);
}
