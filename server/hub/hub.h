/* hub: who is online, and which of their sockets listen to which topic (a room, or a
 * group's member-level events). It fans one shared frame out to every subscriber, with
 * no I/O of its own: it hands each frame to the sink net/ installs. Work is proportional
 * to the recipients; nothing walks all connections. Loop thread only. */
#ifndef NATTER_HUB_H
#define NATTER_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"

#define TOPIC_ROOM(id) ((uint64_t)(id) | (1ull << 62))
#define TOPIC_GROUP(id) ((uint64_t)(id) | (2ull << 62))

struct hub_link;

/* A subscriber: embedded in net's connection. */
struct hub_conn {
    int64_t user, sid;           /* set before hub_conn_online */
    struct hub_link *links;      /* the topics it listens to */
    uint32_t nlinks, caplinks;
    struct hub_conn *user_next;  /* the user's other sockets */
    bool online;
};

/* The sink: queue f (taking a reference) on hc's socket. */
void hub_set_sink(void (*deliver)(struct hub_conn *hc, struct frame *f));

/* Registers hc under its user. Returns true when it is the user's first live socket. */
bool hub_conn_online(struct hub_conn *hc);
/* Unsubscribes hc from everything and unregisters it. Returns true when it was the
 * user's last live socket. Safe on a socket that never went online. */
bool hub_conn_offline(struct hub_conn *hc);
/* The user's live sockets (linked by user_next), or NULL. */
struct hub_conn *hub_user_conns(int64_t user);
size_t hub_user_count(int64_t user);

/* Subscribes hc to topic; seq is what it already has (room events up to seq are skipped).
 * Idempotent. Returns 0 or -1 when out of memory. */
int hub_sub(struct hub_conn *hc, uint64_t topic, uint64_t seq);
void hub_unsub(struct hub_conn *hc, uint64_t topic);
/* Subscribes/unsubscribes every live socket of user. */
int hub_user_sub(int64_t user, uint64_t topic, uint64_t seq);
void hub_user_unsub(int64_t user, uint64_t topic);
/* Drops a topic and all its subscriptions (a deleted room or group). */
void hub_topic_drop(uint64_t topic);
/* Delivers f to every subscriber of topic except `skip` (may be NULL); a frame with a
 * room seq is not delivered twice to the same socket. Returns the number delivered. */
size_t hub_publish(uint64_t topic, struct frame *f, const struct hub_conn *skip);
/* Subscribes every subscriber of `from` to `to` as well (a new room of a group). */
int hub_topic_copy(uint64_t from, uint64_t to, uint64_t seq);
/* Sockets subscribed to topic. */
size_t hub_topic_count(uint64_t topic);
/* true when hc listens to topic. */
bool hub_conn_listens(const struct hub_conn *hc, uint64_t topic);
/* true when one of user's sockets listens to topic. */
bool hub_topic_has_user(uint64_t topic, int64_t user);

void hub_init(void);
void hub_cleanup(void);

#endif
