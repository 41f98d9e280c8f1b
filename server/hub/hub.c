/* hub: two indexes kept in step (Redis pub/sub style): topic -> subscribers and
 * socket -> topics. Each side remembers its position in the other, so subscribe and
 * unsubscribe are O(1) with swap-removal. */
#include "hub/hub.h"

#include <stdlib.h>
#include <string.h>

#include "core/map.h"

struct sub {
    struct hub_conn *hc;
    uint32_t link;  /* index in hc->links */
    uint64_t seq;   /* last room seq delivered */
};

struct topic {
    uint64_t key;
    struct sub *subs;
    uint32_t n, cap;
};

struct hub_link {
    struct topic *t;
    uint32_t idx; /* index in t->subs */
};

struct user {
    struct hub_conn *conns;
    size_t n;
};

static struct map topics, users;
static void (*sink)(struct hub_conn *, struct frame *);

void hub_set_sink(void (*deliver)(struct hub_conn *, struct frame *)) { sink = deliver; }

void hub_init(void)
{
    map_init(&topics);
    map_init(&users);
}

static uint64_t ukey(int64_t user) { return (uint64_t)user; }

bool hub_conn_online(struct hub_conn *hc)
{
    struct user *u = map_get(&users, ukey(hc->user));
    if (!u) {
        if (!(u = calloc(1, sizeof *u)) || map_put(&users, ukey(hc->user), u)) {
            free(u);
            return false;
        }
    }
    hc->user_next = u->conns;
    u->conns = hc;
    hc->online = true;
    return ++u->n == 1;
}

struct hub_conn *hub_user_conns(int64_t user)
{
    struct user *u = map_get(&users, ukey(user));
    return u ? u->conns : NULL;
}

size_t hub_user_count(int64_t user)
{
    struct user *u = map_get(&users, ukey(user));
    return u ? u->n : 0;
}

static void unlink_at(struct hub_conn *hc, uint32_t li)
{
    struct hub_link l = hc->links[li];
    struct topic *t = l.t;
    /* Swap-remove the subscription from the topic. */
    t->subs[l.idx] = t->subs[--t->n];
    if (l.idx < t->n)
        t->subs[l.idx].hc->links[t->subs[l.idx].link].idx = l.idx;
    /* Swap-remove the link from the socket. */
    hc->links[li] = hc->links[--hc->nlinks];
    if (li < hc->nlinks)
        hc->links[li].t->subs[hc->links[li].idx].link = li;
    if (!t->n) {
        map_del(&topics, t->key);
        free(t->subs);
        free(t);
    }
}

bool hub_conn_offline(struct hub_conn *hc)
{
    while (hc->nlinks)
        unlink_at(hc, hc->nlinks - 1);
    free(hc->links);
    hc->links = NULL;
    hc->caplinks = 0;
    if (!hc->online)
        return false;
    hc->online = false;
    struct user *u = map_get(&users, ukey(hc->user));
    if (!u)
        return false;
    for (struct hub_conn **p = &u->conns; *p; p = &(*p)->user_next) {
        if (*p == hc) {
            *p = hc->user_next;
            break;
        }
    }
    hc->user_next = NULL;
    if (--u->n)
        return false;
    map_del(&users, ukey(hc->user));
    free(u);
    return true;
}

/* The index of key in hc's links, or -1. Walks the shorter side, the socket's topics or the
 * topic's sockets: walking only the socket's made identify quadratic in its own list (a user in
 * 5000 groups: 40% of a 135 ms identify, in hub_sub's duplicate check). */
static int find_link(const struct hub_conn *hc, uint64_t key)
{
    if (hc->nlinks > 8) {
        const struct topic *t = map_get(&topics, key);
        if (!t)
            return -1;
        if (t->n < hc->nlinks) {
            for (uint32_t i = 0; i < t->n; i++)
                if (t->subs[i].hc == hc)
                    return (int)t->subs[i].link;
            return -1;
        }
    }
    for (uint32_t i = 0; i < hc->nlinks; i++)
        if (hc->links[i].t->key == key)
            return (int)i;
    return -1;
}

int hub_sub(struct hub_conn *hc, uint64_t key, uint64_t seq)
{
    if (find_link(hc, key) >= 0)
        return 0;
    struct topic *t = map_get(&topics, key);
    if (!t) {
        if (!(t = calloc(1, sizeof *t)) || map_put(&topics, key, t)) {
            free(t);
            return -1;
        }
        t->key = key;
    }
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 4;
        struct sub *s = realloc(t->subs, cap * sizeof *s);
        if (!s)
            goto fail;
        t->subs = s;
        t->cap = cap;
    }
    if (hc->nlinks == hc->caplinks) {
        uint32_t cap = hc->caplinks ? hc->caplinks * 2 : 4;
        struct hub_link *l = realloc(hc->links, cap * sizeof *l);
        if (!l)
            goto fail;
        hc->links = l;
        hc->caplinks = cap;
    }
    t->subs[t->n] = (struct sub){hc, hc->nlinks, seq};
    hc->links[hc->nlinks++] = (struct hub_link){t, t->n++};
    return 0;
fail:
    if (!t->n) {
        map_del(&topics, key);
        free(t->subs);
        free(t);
    }
    return -1;
}

void hub_unsub(struct hub_conn *hc, uint64_t key)
{
    int i = find_link(hc, key);
    if (i >= 0)
        unlink_at(hc, (uint32_t)i);
}

int hub_user_sub(int64_t user, uint64_t topic, uint64_t seq)
{
    int rc = 0;
    for (struct hub_conn *c = hub_user_conns(user); c; c = c->user_next)
        rc |= hub_sub(c, topic, seq);
    return rc;
}

void hub_user_unsub(int64_t user, uint64_t topic)
{
    for (struct hub_conn *c = hub_user_conns(user); c; c = c->user_next)
        hub_unsub(c, topic);
}

void hub_topic_drop(uint64_t key)
{
    struct topic *t;
    while ((t = map_get(&topics, key)) && t->n)
        unlink_at(t->subs[t->n - 1].hc, t->subs[t->n - 1].link);
}

size_t hub_publish(uint64_t key, struct frame *f, const struct hub_conn *skip)
{
    struct topic *t = map_get(&topics, key);
    size_t n = 0;
    if (!t)
        return 0;
    for (uint32_t i = 0; i < t->n; i++) {
        struct sub *s = &t->subs[i];
        if (s->hc == skip)
            continue;
        if (f->seq) {
            if (s->seq >= f->seq)
                continue;
            s->seq = f->seq;
        }
        sink(s->hc, f);
        n++;
    }
    return n;
}

int hub_topic_copy(uint64_t from, uint64_t to, uint64_t seq)
{
    struct topic *t = map_get(&topics, from);
    int rc = 0;
    /* hub_sub on `to` never moves entries of `from`, so indexing stays valid. */
    for (uint32_t i = 0; t && i < t->n; i++)
        rc |= hub_sub(t->subs[i].hc, to, seq);
    return rc;
}

size_t hub_topic_count(uint64_t key)
{
    struct topic *t = map_get(&topics, key);
    return t ? t->n : 0;
}

bool hub_conn_listens(const struct hub_conn *hc, uint64_t key) { return find_link(hc, key) >= 0; }

bool hub_topic_has_user(uint64_t key, int64_t user)
{
    for (struct hub_conn *c = hub_user_conns(user); c; c = c->user_next)
        if (find_link(c, key) >= 0)
            return true;
    return false;
}

void hub_cleanup(void)
{
    map_cleanup(&topics);
    map_cleanup(&users);
}
