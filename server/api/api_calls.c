/* api calls: video calls on Twilio. call.join creates the Twilio room (or reuses the one in
 * progress; UniqueName is derived from our room, so a retry after a conflict finds the same
 * room), then answers with an access token. The call ends when its last participant
 * leaves, or when polling finds the Twilio room completed. call.started and call.ended are
 * room-log events with a seq. Twilio calls run on the jobs worker, never on the loop. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/map.h"
#include "jobs/jobs.h"

struct call {
    int64_t room, id;            /* id: calls row, 0 until stored */
    char sid[64], name[128];
    int64_t *users;              /* participants */
    size_t nusers;
    struct api_call **waiting;   /* joins waiting for the room to exist */
    size_t nwaiting;
    int64_t next_poll;
    bool creating, polling;
};

static struct map calls; /* room -> struct call */
static bool loaded;

static bool configured(void)
{
    return cfg.twilio_account_sid[0] && cfg.twilio_api_key[0] && cfg.twilio_api_secret[0];
}

static void unique_name(char *out, size_t cap, int64_t room)
{
    snprintf(out, cap, "natter-%.8s-r_%lld", store_epoch(), (long long)room);
}

static struct job *twilio_job(const char *method, const char *path)
{
    struct job *j = job_new(JOB_HTTP);
    struct sbuf url;
    if (!j)
        return NULL;
    sbuf_init(&url);
    sbuf_printf(&url, "%s%s", cfg.twilio_base_url, path);
    j->method = strdup(method);
    j->url = url.oom ? NULL : strdup(url.p);
    j->user = strdup(cfg.twilio_api_key);
    j->pass = strdup(cfg.twilio_api_secret);
    sbuf_cleanup(&url);
    if (!j->method || !j->url || !j->user || !j->pass) {
        job_free(j);
        return NULL;
    }
    return j;
}

/* Replies to a join: the call and a fresh access token for the caller. */
static void reply_join(struct api_call *c, struct call *k)
{
    char token[2048], identity[32];
    snprintf(identity, sizeof identity, "u_%lld", (long long)c->user);
    if (auth_twilio_token(cfg.twilio_account_sid, cfg.twilio_api_key, cfg.twilio_api_secret,
                          identity, k->name, api__now() / 1000, 3600, token, sizeof token) < 0)
        return api__fail(c, NATTER_EINTERNAL, "could not mint the call token");
    bool in = false;
    for (size_t i = 0; i < k->nusers; i++)
        in |= k->users[i] == c->user;
    if (!in) {
        int64_t *u = realloc(k->users, (k->nusers + 1) * sizeof *u);
        if (!u)
            return api__fail(c, NATTER_ENOMEM, "out of memory");
        k->users = u;
        k->users[k->nusers++] = c->user;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON *call = cJSON_AddObjectToObject(res, "call");
    proto_add_id(call, "room", 'r', k->room);
    cJSON_AddStringToObject(call, "name", k->name);
    cJSON_AddStringToObject(call, "sid", k->sid);
    cJSON_AddStringToObject(res, "token", token);
    cJSON_AddStringToObject(res, "identity", identity);
    api__ok(c, res);
}

static void drop(struct call *k)
{
    map_del(&calls, (uint64_t)k->room);
    free(k->users);
    free(k->waiting);
    free(k);
}

static void fail_waiting(struct call *k, int err, const char *why)
{
    for (size_t i = 0; i < k->nwaiting; i++)
        api__fail(k->waiting[i], err, why);
    k->nwaiting = 0;
    if (!k->id)
        drop(k);
}

/* ---- Recording start and end in the room log */

struct call_event {
    struct store_job job;
    struct call *k;          /* NULL for an end: the call is gone from memory by then */
    int64_t room, actor, call_id, seq;
    bool start;
    char sid[64], name[128];
    struct sbuf ev;
};

static int run_event(struct store_tx *tx, void *arg)
{
    struct call_event *e = arg;
    int64_t now = api__now();
    int rc = e->start ? store_tx_call_insert(tx, e->room, e->sid, e->name, now, &e->call_id)
                      : store_tx_call_end(tx, e->call_id, now);
    if (!rc)
        rc = store_tx_next_seq(tx, e->room, &e->seq);
    if (rc)
        return rc;
    cJSON *d = cJSON_CreateObject();
    proto_add_id(d, "room", 'r', e->room);
    cJSON_AddNumberToObject(d, "seq", (double)e->seq);
    proto_add_ts(d, "ts", now);
    proto_add_id(d, "actor", 'u', e->actor);
    cJSON *call = cJSON_AddObjectToObject(d, "call");
    if (e->start)
        cJSON_AddStringToObject(call, "name", e->name);
    cJSON_AddStringToObject(call, "sid", e->sid);
    const char *type = e->start ? "call.started" : "call.ended";
    proto_event(&e->ev, type, d);
    cJSON_Delete(d);
    if (sbuf_failed(&e->ev))
        return -NATTER_ENOMEM;
    return store_tx_event_append(tx, e->room, e->seq, type, e->actor, 0, e->ev.p, now);
}

static void done_event(void *arg, int rc)
{
    struct call_event *e = arg;
    struct call *k = e->k;
    if (!rc)
        api__publish(TOPIC_ROOM(e->room), e->ev.p, e->ev.len, (uint64_t)e->seq, 0, NULL);
    if (k) {
        if (rc) {
            fail_waiting(k, NATTER_EINTERNAL, "could not record the call");
        } else {
            k->id = e->call_id;
            k->next_poll = now_ms() + lim(LIM_CALL_POLL_S) * 1000;
            for (size_t i = 0; i < k->nwaiting; i++)
                reply_join(k->waiting[i], k);
            k->nwaiting = 0;
        }
    }
    sbuf_cleanup(&e->ev);
    free(e);
}

static void record_event(struct call *k, bool start, int64_t actor)
{
    struct call_event *e = calloc(1, sizeof *e);
    if (!e)
        return;
    sbuf_init(&e->ev);
    e->k = start ? k : NULL;
    e->room = k->room;
    e->actor = actor;
    e->call_id = k->id;
    e->start = start;
    snprintf(e->sid, sizeof e->sid, "%s", k->sid);
    snprintf(e->name, sizeof e->name, "%s", k->name);
    e->job.run = run_event;
    e->job.done = done_event;
    e->job.arg = e;
    if (store_submit(&e->job)) {
        free(e);
        if (start)
            fail_waiting(k, NATTER_EUNAVAIL, "the server is busy; retry shortly");
    }
}

static void ended(struct job *j)
{
    if (!j->ok || j->status >= 300)
        LOG_WARN("twilio: completing room failed: %s (HTTP %ld)", j->err, j->status);
    job_free(j);
}

/* The last one left: complete the Twilio room too, so nobody is billed for an empty room
 * (best effort: Twilio's own empty-room timeout is the backstop). */
static void complete_room(const struct call *k)
{
    char path[128];
    struct sbuf form;
    snprintf(path, sizeof path, "/v1/Rooms/%s", k->sid);
    struct job *j = twilio_job("POST", path);
    sbuf_init(&form);
    job_form_add(&form, "Status", "completed");
    if (j && !form.oom && (j->form = strdup(form.p))) {
        j->done = ended;
        if (jobs_submit(j) == 0)
            j = NULL;
    }
    job_free(j);
    sbuf_cleanup(&form);
}

static void end_call(struct call *k, int64_t actor)
{
    LOG_INFO("call r_%lld %s ended", (long long)k->room, k->sid);
    if (actor)
        complete_room(k);
    if (k->id)
        record_event(k, false, actor);
    drop(k);
}

/* ---- Twilio's answers */

static bool is_room_sid(const char *s)
{
    return s && strlen(s) == 34 && s[0] == 'R' && s[1] == 'M' &&
           strspn(s + 2, "0123456789abcdefABCDEF") == 32;
}

void api__twilio_answer(long status, const char *body, size_t len, struct twilio_answer *out)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(body, len);
    const char *sid = cJSON_GetStringValue(cJSON_GetObjectItem(root, "sid"));
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(root, "status"));
    const cJSON *code = cJSON_GetObjectItem(root, "code");
    /* The sid goes into later URLs and into call.started: only Twilio's own shape is taken. */
    if ((status == 200 || status == 201) && is_room_sid(sid)) {
        memcpy(out->sid, sid, 35);
        out->completed = state && !strcmp(state, "completed");
    }
    out->exists = status == 400 && cJSON_IsNumber(code) && code->valuedouble == 53113;
    cJSON_Delete(root);
}

/* ---- Creating the Twilio room */

static void fetched(struct job *j);

static void created(struct job *j)
{
    struct call *k = map_get(&calls, (uint64_t)(intptr_t)j->arg);
    struct twilio_answer a;
    api__twilio_answer(j->ok ? j->status : 0, j->body.p, j->body.len, &a);
    if (k && a.exists) {
        /* Already in progress (an earlier try got through): fetch it by its unique name. */
        struct job *g = twilio_job("GET", "/v1/Rooms/");
        if (g) {
            char *url = malloc(strlen(g->url) + strlen(k->name) + 1);
            if (url) {
                sprintf(url, "%s%s", g->url, k->name);
                free(g->url);
                g->url = url;
                g->done = fetched;
                g->arg = j->arg;
                if (jobs_submit(g) == 0)
                    goto out;
            }
            job_free(g);
        }
    }
    if (k && a.sid[0]) {
        snprintf(k->sid, sizeof k->sid, "%s", a.sid);
        k->creating = false;
        record_event(k, true, k->nwaiting ? k->waiting[0]->user : 0);
    } else if (k) {
        LOG_WARN("twilio: creating room %s failed: %s (HTTP %ld)", k->name,
                 j->ok ? "unexpected answer" : j->err, j->status);
        fail_waiting(k, NATTER_EUNAVAIL, "the video service is unavailable; retry shortly");
    }
out:
    job_free(j);
}

static void fetched(struct job *j) { created(j); }

static void create_room(struct call *k)
{
    struct job *j = twilio_job("POST", "/v1/Rooms");
    struct sbuf form;
    sbuf_init(&form);
    job_form_add(&form, "UniqueName", k->name);
    job_form_add(&form, "Type", "group");
    if (!j || form.oom || !(j->form = strdup(form.p))) {
        sbuf_cleanup(&form);
        job_free(j);
        return fail_waiting(k, NATTER_EINTERNAL, "out of memory");
    }
    sbuf_cleanup(&form);
    j->done = created;
    j->arg = (void *)(intptr_t)k->room;
    k->creating = true;
    if (jobs_submit(j)) {
        job_free(j);
        fail_waiting(k, NATTER_EUNAVAIL, "the server is shutting down");
    }
}

/* Loads calls that were active before a restart, so they are polled and can end. */
static void load(void)
{
    struct store_call *a;
    size_t n;
    loaded = true;
    map_init(&calls);
    if (store_calls_active(&a, &n))
        return;
    for (size_t i = 0; i < n; i++) {
        struct call *k = calloc(1, sizeof *k);
        if (!k || map_put(&calls, (uint64_t)a[i].room, k)) {
            free(k);
            continue;
        }
        k->room = a[i].room;
        k->id = a[i].id;
        snprintf(k->sid, sizeof k->sid, "%s", a[i].sid);
        snprintf(k->name, sizeof k->name, "%s", a[i].name);
    }
    free(a);
}

void api_call_join(struct api_call *c)
{
    struct store_room r;
    if (!loaded)
        load();
    if (!configured())
        return api__fail(c, NATTER_EUNAVAIL, "calls are not configured on this server");
    if (api__room_access(c, c->req.a.room, &r))
        return;
    struct call *k = map_get(&calls, (uint64_t)r.id);
    if (k && k->id && !k->creating)
        return reply_join(c, k);
    if (!k) {
        if (!(k = calloc(1, sizeof *k)) || map_put(&calls, (uint64_t)r.id, k)) {
            free(k);
            return api__fail(c, NATTER_ENOMEM, "out of memory");
        }
        k->room = r.id;
        unique_name(k->name, sizeof k->name, r.id);
    }
    struct api_call **w = realloc(k->waiting, (k->nwaiting + 1) * sizeof *w);
    if (!w)
        return api__fail(c, NATTER_ENOMEM, "out of memory");
    k->waiting = w;
    k->waiting[k->nwaiting++] = c;
    if (!k->creating && k->nwaiting == 1)
        create_room(k);
}

void api_call_leave(struct api_call *c)
{
    struct store_room r;
    if (!loaded)
        load();
    if (api__room_access(c, c->req.a.room, &r))
        return;
    struct call *k = map_get(&calls, (uint64_t)r.id);
    if (!k || !k->id)
        return api__fail(c, NATTER_ENOTFOUND, "no call in progress in this room");
    for (size_t i = 0; i < k->nusers; i++) {
        if (k->users[i] == c->user) {
            k->users[i] = k->users[--k->nusers];
            break;
        }
    }
    int64_t user = c->user;
    api__ok(c, NULL);
    if (!k->nusers && !k->nwaiting)
        end_call(k, user);
}

/* ---- Polling: a Twilio room can end without us (everyone's media dropped, timeouts). */

static void polled(struct job *j)
{
    struct call *k = map_get(&calls, (uint64_t)(intptr_t)j->arg);
    struct twilio_answer a;
    api__twilio_answer(j->ok ? j->status : 0, j->body.p, j->body.len, &a);
    if (k) {
        k->polling = false;
        if (a.completed)
            end_call(k, 0);
    }
    job_free(j);
}

void api__calls_tick(void)
{
    if (!loaded)
        load();
    if (!configured() || api__draining)
        return;
    int64_t now = now_ms();
    for (size_t i = 0; i < calls.cap; i++) {
        struct call *k = calls.keys[i] ? calls.vals[i] : NULL;
        if (!k || !k->id || k->polling || now < k->next_poll)
            continue;
        k->next_poll = now + lim(LIM_CALL_POLL_S) * 1000;
        char path[128];
        snprintf(path, sizeof path, "/v1/Rooms/%s", k->sid);
        struct job *j = twilio_job("GET", path);
        if (!j)
            continue;
        j->done = polled;
        j->arg = (void *)(intptr_t)k->room;
        k->polling = true;
        if (jobs_submit(j)) {
            k->polling = false;
            job_free(j);
        }
    }
}
