/* api: every operation, written once, reached from a WebSocket frame or a REST call.
 * It authenticates, authorises, validates (through proto/), rate-limits, then reads the
 * store or queues a write job, and answers through the I/O table net/ installs. It never
 * blocks: password hashing goes to the work pool, writes to the store writer.
 * Loop thread only. */
#ifndef NATTER_API_H
#define NATTER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bucket.h"
#include "core/frame.h"
#include "hub/hub.h"

enum api_conn_state { AC_NEW, AC_AUTHING, AC_READY, AC_CLOSING };

/* The api's part of one WebSocket connection; embedded in net's connection. */
struct api_conn {
    struct hub_conn hc;      /* user, sid, subscriptions */
    uint64_t id;             /* stable id: async results find the socket by it */
    enum api_conn_state state;
    bool is_admin;
    char ip[48];
    struct bucket malformed; /* bad frames; empty -> close 4000 */
    struct bucket typing;
    uint32_t rate_strikes;   /* rate-limited sends since the last accepted one */
};

/* What net/ provides to the api. */
struct api_io {
    /* The live connection with this id, or NULL when it has gone. */
    struct api_conn *(*find)(uint64_t id);
    /* Queue a frame (the callee takes its own reference). */
    void (*send)(struct api_conn *ac, struct frame *f);
    /* Send text as a new frame. */
    void (*send_text)(struct api_conn *ac, const char *text, size_t len);
    /* Close with a WebSocket close code once what is queued has been written. */
    void (*close)(struct api_conn *ac, int code, const char *reason);
    /* Answer the pending HTTP request `id` (if it is still there) with a JSON body. */
    void (*http_reply)(uint64_t id, int status, const char *body, size_t len);
};

/* Starts the api: the work pool and the hub. Call after store_open and auth_keys_load. */
int api_open(const struct api_io *io);
/* Joins the pool and runs what it handed back. Call after the store writer has stopped. */
void api_close(void);

/* A new socket (hello is sent from here). */
void api_ws_open(struct api_conn *ac, uint64_t id, const char *ip);
/* One complete text message from the socket. */
void api_ws_message(struct api_conn *ac, const char *buf, size_t len);
/* The auth timer fired: close 4001 if still not identified. */
void api_ws_auth_timeout(struct api_conn *ac);
/* The socket is gone (after any close). */
void api_ws_closed(struct api_conn *ac);
/* A REST call POST /api/v1/<op>. bearer is the token after "Bearer " or NULL.
 * The answer comes through io->http_reply(id, …), maybe later. */
void api_rest(uint64_t id, const char *op, const char *bearer, const char *ip, const char *body,
              size_t len);
/* Called by net/ every 250 ms on the loop thread: outbox sweep, call polling. */
void api_tick(void);
/* Start of a graceful stop: new work is refused with `unavailable`. */
void api_draining(void);

#endif
