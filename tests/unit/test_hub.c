/* test_hub: unit tests for server/hub with a fake sink that records every delivery (taking a
 * reference, as net's does). Online/offline bookkeeping, subscribe/publish/skip, the per-socket
 * seq watermark, topic drop and copy, per-user subscribe, and a randomised run against a plain
 * reference model that checks after every step that each topic's publish reaches exactly the
 * sockets the model says, once each. Everything is taken offline at the end so LeakSanitizer
 * sees any subscription the hub forgot to free. */
#include "hub/hub.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DELIV 256

static struct {
    struct hub_conn *hc;
    struct frame *f;
} deliv[MAX_DELIV];
static int ndeliv;

static void sink(struct hub_conn *hc, struct frame *f)
{
    if (ndeliv < MAX_DELIV) {
        deliv[ndeliv].hc = hc;
        deliv[ndeliv].f = frame_ref(f);
    }
    ndeliv++;
}

static void reset(void)
{
    for (int i = 0; i < ndeliv && i < MAX_DELIV; i++)
        frame_unref(&deliv[i].f);
    ndeliv = 0;
}

/* How many of the recorded deliveries went to hc. */
static int got(const struct hub_conn *hc)
{
    int n = 0;
    for (int i = 0; i < ndeliv && i < MAX_DELIV; i++)
        n += deliv[i].hc == hc;
    return n;
}

/* Publishes a frame with room seq `seq` (0: not a room-log event) and returns the count. */
static size_t pub(uint64_t topic, uint64_t seq, const struct hub_conn *skip)
{
    struct frame *f = frame_new("{}", 2, 0);
    size_t n;

    reset();
    f->seq = seq;
    n = hub_publish(topic, f, skip);
    /* The sink got this very frame (shared, not copied) and holds a reference per delivery. */
    int same = 1;
    for (int i = 0; i < ndeliv; i++)
        same &= deliv[i].f == f;
    CHECK(same && f->refs == 1 + (uint32_t)ndeliv);
    CHECK_EQ_INT(n, ndeliv);
    frame_unref(&f);
    return n;
}

static struct hub_conn conn(int64_t user, int64_t sid)
{
    struct hub_conn c;
    memset(&c, 0, sizeof c);
    c.user = user;
    c.sid = sid;
    return c;
}

static int in_list(struct hub_conn *list, const struct hub_conn *hc)
{
    for (; list; list = list->user_next)
        if (list == hc)
            return 1;
    return 0;
}

static void test_online(void)
{
    struct hub_conn a1 = conn(1, 10), a2 = conn(1, 11), b1 = conn(2, 20), never = conn(3, 30);

    CHECK(hub_user_conns(1) == NULL);
    CHECK_EQ_INT(hub_user_count(1), 0);
    CHECK(hub_conn_online(&a1));  /* first socket of user 1 */
    CHECK(!hub_conn_online(&a2)); /* second */
    CHECK(hub_conn_online(&b1));
    CHECK(a1.online && a2.online);
    CHECK_EQ_INT(hub_user_count(1), 2);
    CHECK_EQ_INT(hub_user_count(2), 1);
    CHECK(in_list(hub_user_conns(1), &a1) && in_list(hub_user_conns(1), &a2));
    CHECK(!in_list(hub_user_conns(1), &b1));
    CHECK(!hub_conn_offline(&a2)); /* user 1 still has a1 */
    CHECK(!a2.online);
    CHECK_EQ_INT(hub_user_count(1), 1);
    CHECK(hub_user_conns(1) == &a1 && a1.user_next == NULL);
    CHECK(!hub_conn_offline(&a2)); /* twice: harmless, and not "last" again */
    CHECK_EQ_INT(hub_user_count(1), 1);
    CHECK(hub_conn_offline(&a1)); /* last one */
    CHECK(hub_user_conns(1) == NULL);
    CHECK_EQ_INT(hub_user_count(1), 0);
    CHECK(!hub_conn_offline(&never)); /* never went online */
    /* Back online: first again. */
    CHECK(hub_conn_online(&a2));
    CHECK(hub_conn_offline(&a2));
    CHECK(hub_conn_offline(&b1));
}

static void test_publish(void)
{
    struct hub_conn a1 = conn(1, 1), a2 = conn(1, 2), b1 = conn(2, 3);
    const uint64_t r10 = TOPIC_ROOM(10), r11 = TOPIC_ROOM(11), g10 = TOPIC_GROUP(10);

    hub_conn_online(&a1);
    hub_conn_online(&a2);
    hub_conn_online(&b1);
    CHECK_EQ_INT(hub_sub(&a1, r10, 0), 0);
    CHECK_EQ_INT(hub_sub(&b1, r10, 0), 0);
    CHECK_EQ_INT(hub_sub(&a2, r11, 0), 0);
    CHECK_EQ_INT(hub_sub(&a2, g10, 0), 0);
    CHECK(r10 != g10);

    CHECK_EQ_INT(pub(r10, 0, NULL), 2);
    CHECK(got(&a1) == 1 && got(&b1) == 1 && got(&a2) == 0);
    CHECK_EQ_INT(pub(r11, 0, NULL), 1);
    CHECK(got(&a2) == 1);
    CHECK_EQ_INT(pub(g10, 0, NULL), 1); /* the group topic of the same id is another topic */
    CHECK(got(&a2) == 1);
    CHECK_EQ_INT(pub(TOPIC_ROOM(12), 0, NULL), 0);
    /* skip: the sender's own socket. */
    CHECK_EQ_INT(pub(r10, 0, &a1), 1);
    CHECK(got(&a1) == 0 && got(&b1) == 1);
    CHECK_EQ_INT(pub(r10, 0, &a2), 2); /* skipping a non-subscriber changes nothing */
    /* Subscribing twice is idempotent. */
    CHECK_EQ_INT(hub_sub(&a1, r10, 0), 0);
    CHECK_EQ_INT(pub(r10, 0, NULL), 2);
    CHECK_EQ_INT(got(&a1), 1);
    CHECK(hub_topic_has_user(r10, 1) && hub_topic_has_user(r10, 2));
    CHECK(!hub_topic_has_user(r11, 2));
    /* Unsubscribe one; unsubscribing again or from an unknown topic is harmless. */
    hub_unsub(&a1, r10);
    hub_unsub(&a1, r10);
    hub_unsub(&a1, TOPIC_ROOM(999));
    CHECK_EQ_INT(pub(r10, 0, NULL), 1);
    CHECK(got(&b1) == 1 && got(&a1) == 0);
    CHECK(!hub_topic_has_user(r10, 1));
    /* Going offline unsubscribes everything. */
    CHECK(!hub_conn_offline(&a2));
    CHECK_EQ_INT(pub(r11, 0, NULL), 0);
    CHECK_EQ_INT(pub(g10, 0, NULL), 0);
    CHECK(a2.nlinks == 0 && a2.links == NULL);
    hub_conn_offline(&a1);
    hub_conn_offline(&b1);
    CHECK_EQ_INT(pub(r10, 0, NULL), 0);
    reset();
}

static void test_seq(void)
{
    struct hub_conn c = conn(1, 1), d = conn(2, 2);
    const uint64_t r = TOPIC_ROOM(5);

    hub_conn_online(&c);
    hub_conn_online(&d);
    CHECK_EQ_INT(hub_sub(&c, r, 10), 0); /* c already has up to seq 10 (resume replayed it) */
    CHECK_EQ_INT(hub_sub(&d, r, 12), 0);
    CHECK_EQ_INT(pub(r, 9, NULL), 0);
    CHECK_EQ_INT(pub(r, 10, NULL), 0);
    CHECK_EQ_INT(pub(r, 11, NULL), 1);
    CHECK(got(&c) == 1 && got(&d) == 0);
    CHECK_EQ_INT(pub(r, 11, NULL), 0); /* the same seq again: a duplicate */
    CHECK_EQ_INT(pub(r, 12, NULL), 1);
    CHECK(got(&c) == 1 && got(&d) == 0);
    CHECK_EQ_INT(pub(r, 13, NULL), 2);
    CHECK_EQ_INT(pub(r, 15, NULL), 2); /* a gap is fine: 15 > 13 */
    CHECK_EQ_INT(pub(r, 14, NULL), 0); /* older than the watermark now */
    /* Frames without a seq (typing, presence) are never deduplicated. */
    CHECK_EQ_INT(pub(r, 0, NULL), 2);
    CHECK_EQ_INT(pub(r, 0, NULL), 2);
    CHECK_EQ_INT(pub(r, 16, NULL), 2);
    /* A skipped socket's watermark does not move: it still gets the next one. */
    CHECK_EQ_INT(pub(r, 17, &c), 1);
    CHECK_EQ_INT(pub(r, 18, NULL), 2);
    /* In order: a run of increasing seqs reaches each socket once each, in that order. */
    for (uint64_t s = 19; s < 40; s++)
        CHECK_EQ_INT(pub(r, s, NULL), 2);
    /* Subscribing again does not reset the watermark (hub_sub is idempotent). */
    CHECK_EQ_INT(hub_sub(&c, r, 0), 0);
    CHECK_EQ_INT(pub(r, 39, NULL), 0);
    hub_conn_offline(&c);
    hub_conn_offline(&d);
    reset();
}

static void test_drop_copy_user(void)
{
    struct hub_conn a1 = conn(1, 1), a2 = conn(1, 2), b1 = conn(2, 3), c1 = conn(3, 4);
    const uint64_t g = TOPIC_GROUP(1), r7 = TOPIC_ROOM(7), r20 = TOPIC_ROOM(20);

    hub_conn_online(&a1);
    hub_conn_online(&a2);
    hub_conn_online(&b1);
    hub_conn_online(&c1);

    /* hub_user_sub reaches every live socket of the user, and only them. */
    CHECK_EQ_INT(hub_user_sub(1, g, 0), 0);
    CHECK_EQ_INT(hub_user_sub(2, g, 0), 0);
    CHECK_EQ_INT(hub_user_sub(99, g, 0), 0); /* nobody online: nothing */
    CHECK_EQ_INT(pub(g, 0, NULL), 3);
    CHECK(got(&a1) == 1 && got(&a2) == 1 && got(&b1) == 1 && got(&c1) == 0);

    /* hub_topic_copy: every subscriber of the group joins a new room of it. */
    CHECK_EQ_INT(hub_sub(&c1, r20, 0), 0); /* already there: stays once */
    CHECK_EQ_INT(hub_sub(&a1, r20, 0), 0);
    CHECK_EQ_INT(hub_topic_copy(g, r20, 4), 0);
    CHECK_EQ_INT(pub(r20, 0, NULL), 4);
    CHECK(got(&a1) == 1 && got(&a2) == 1 && got(&b1) == 1 && got(&c1) == 1);
    /* the copy's seq is the newcomers' watermark; the existing subs kept theirs (0) */
    CHECK_EQ_INT(pub(r20, 4, NULL), 2);
    CHECK(got(&a1) == 1 && got(&c1) == 1);
    CHECK_EQ_INT(pub(r20, 5, NULL), 4);
    CHECK_EQ_INT(hub_topic_copy(TOPIC_GROUP(42), r20, 0), 0); /* no such topic: nothing */
    CHECK_EQ_INT(pub(r20, 0, NULL), 4);
    CHECK_EQ_INT(hub_topic_copy(g, g, 0), 0); /* onto itself: nothing changes */
    CHECK_EQ_INT(pub(g, 0, NULL), 3);

    hub_user_unsub(1, r20);
    CHECK_EQ_INT(pub(r20, 0, NULL), 2);
    CHECK(got(&a1) == 0 && got(&a2) == 0);
    CHECK(!hub_topic_has_user(r20, 1) && hub_topic_has_user(r20, 3));

    /* hub_topic_drop: the room goes, the sockets' other topics stay. */
    hub_sub(&a1, r7, 0);
    hub_sub(&b1, r7, 0);
    hub_sub(&c1, r7, 0);
    CHECK_EQ_INT(pub(r7, 0, NULL), 3);
    hub_topic_drop(r7);
    CHECK_EQ_INT(pub(r7, 0, NULL), 0);
    CHECK(!hub_topic_has_user(r7, 1) && !hub_topic_has_user(r7, 2) && !hub_topic_has_user(r7, 3));
    CHECK_EQ_INT(pub(g, 0, NULL), 3);
    CHECK_EQ_INT(pub(r20, 0, NULL), 2);
    hub_topic_drop(r7);            /* again: harmless */
    hub_topic_drop(TOPIC_ROOM(8)); /* never existed */
    /* A dropped topic can be subscribed afresh. */
    CHECK_EQ_INT(hub_sub(&b1, r7, 0), 0);
    CHECK_EQ_INT(pub(r7, 0, NULL), 1);

    hub_conn_offline(&a1);
    hub_conn_offline(&a2);
    hub_conn_offline(&b1);
    hub_conn_offline(&c1);
    CHECK_EQ_INT(pub(g, 0, NULL), 0);
    CHECK_EQ_INT(pub(r20, 0, NULL), 0);
    reset();
}

/* ---- randomised, against a reference model ---- */

#define NSOCK 40
#define NUSER 8
#define NTOPIC 24

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static uint64_t topic_of(unsigned t)
{
    return t % 2 ? TOPIC_GROUP(t / 2 + 1) : TOPIC_ROOM(t / 2 + 1);
}

static void test_random(void)
{
    static struct hub_conn socks[NSOCK];
    static bool online[NSOCK], subbed[NSOCK][NTOPIC];
    int bad_publish = 0, bad_count = 0, bad_has = 0;

    for (int s = 0; s < NSOCK; s++)
        socks[s] = conn(s % NUSER + 1, s + 1);
    for (int step = 0; step < 4000; step++) {
        unsigned s = rnd(NSOCK), t = rnd(NTOPIC), op = rnd(100);
        int64_t user = socks[s].user;

        if (op < 10) { /* online / offline */
            if (online[s]) {
                hub_conn_offline(&socks[s]);
                memset(subbed[s], 0, sizeof subbed[s]);
            } else {
                hub_conn_online(&socks[s]);
            }
            online[s] = !online[s];
        } else if (op < 55) {
            if (online[s]) {
                CHECK_EQ_INT(hub_sub(&socks[s], topic_of(t), 0), 0);
                subbed[s][t] = true;
            }
        } else if (op < 85) {
            hub_unsub(&socks[s], topic_of(t));
            subbed[s][t] = false;
        } else if (op < 90) {
            CHECK_EQ_INT(hub_user_sub(user, topic_of(t), 0), 0);
            for (int k = 0; k < NSOCK; k++)
                if (socks[k].user == user && online[k])
                    subbed[k][t] = true;
        } else if (op < 94) {
            hub_user_unsub(user, topic_of(t));
            for (int k = 0; k < NSOCK; k++)
                if (socks[k].user == user)
                    subbed[k][t] = false;
        } else if (op < 97) {
            hub_topic_drop(topic_of(t));
            for (int k = 0; k < NSOCK; k++)
                subbed[k][t] = false;
        } else {
            unsigned to = rnd(NTOPIC);
            CHECK_EQ_INT(hub_topic_copy(topic_of(t), topic_of(to), 0), 0);
            for (int k = 0; k < NSOCK; k++)
                if (subbed[k][t])
                    subbed[k][to] = true;
        }

        /* Every topic reaches exactly its model subscribers, once each. */
        for (unsigned tt = 0; tt < NTOPIC; tt++) {
            int want = 0, ok = 1;
            size_t n = pub(topic_of(tt), 0, NULL);
            for (int k = 0; k < NSOCK; k++) {
                want += subbed[k][tt];
                if (got(&socks[k]) != (subbed[k][tt] ? 1 : 0))
                    ok = 0;
            }
            if (!ok || n != (size_t)want)
                bad_publish++;
        }
        for (int64_t u = 1; u <= NUSER; u++) {
            size_t live = 0;
            for (int k = 0; k < NSOCK; k++)
                live += socks[k].user == u && online[k];
            if (hub_user_count(u) != live)
                bad_count++;
            for (unsigned tt = 0; tt < NTOPIC; tt++) {
                bool any = false;
                for (int k = 0; k < NSOCK; k++)
                    any = any || (socks[k].user == u && subbed[k][tt]);
                if (hub_topic_has_user(topic_of(tt), u) != any)
                    bad_has++;
            }
        }
        if (bad_publish || bad_count || bad_has) {
            fprintf(stderr, "hub diverged from the model at step %d\n", step);
            break;
        }
    }
    CHECK_EQ_INT(bad_publish, 0);
    CHECK_EQ_INT(bad_count, 0);
    CHECK_EQ_INT(bad_has, 0);
    for (int s = 0; s < NSOCK; s++)
        if (online[s])
            hub_conn_offline(&socks[s]);
    for (unsigned t = 0; t < NTOPIC; t++)
        CHECK_EQ_INT(pub(topic_of(t), 0, NULL), 0);
    reset();
}

int main(void)
{
    hub_init();
    hub_set_sink(sink);
    test_online();
    test_publish();
    test_seq();
    test_drop_copy_user();
    test_random();
    hub_cleanup();
    CHECK_MAIN_END();
}
