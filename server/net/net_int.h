/* net internals shared by net.c, ws.c and http.c. */
#ifndef NATTER_NET_INT_H
#define NATTER_NET_INT_H

#include <libwebsockets.h>

#include "api/api.h"
#include "core/map.h"
#include "core/sbuf.h"
#include "net/net.h"

_Static_assert(LWS_PRE <= FRAME_PRE, "frame headroom must fit the WebSocket header");

/* One WebSocket connection (the chat protocol's per-session data). */
struct conn {
    struct api_conn ac;      /* first: api and hub pointers convert to conn */
    struct lws *wsi;
    struct frame **q;        /* ring of queued frames */
    uint32_t qhead, qlen, qcap;
    size_t qbytes;
    unsigned char *rx;       /* reassembly of a fragmented message, on demand */
    size_t rxlen, rxcap;
    int close_code;          /* != 0: close once the queue is written */
    bool close_sent;         /* our close frame is out; waiting for the peer's */
    bool pending;            /* listed for net__flush() */
    bool ping_due;           /* a WebSocket ping goes out with the next write */
    int64_t opened_ms, last_rx_ms, last_ping_ms; /* for net__sweep() */
    char close_reason[64];
};

#define AUTH_HEADER_MAX 640 /* "Bearer " and a 512-byte token, with room to spare */

/* One HTTP request on the api protocol (its per-session data; reused across keep-alive). */
struct http_req {
    struct lws *wsi;
    uint64_t id;
    char op[64];
    char auth[AUTH_HEADER_MAX];
    char ip[48];
    char *body;
    size_t len;
    int pending;      /* an error status decided before the body was read */
    int status;
    struct sbuf resp; /* the answer, once known */
    bool ready, headers_sent;
    const char *ctype;
};

extern struct lws_context *net__ctx;
extern struct map net__conns; /* id -> struct conn */
extern struct map net__reqs;  /* id -> struct http_req */
extern uint64_t net__next_id;
extern int net__stopping;

int net__cb_chat(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len);
int net__cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len);
int net__cb_api(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len);

/* The api's I/O table, implemented by ws.c and http.c. */
struct api_conn *net__find(uint64_t id);
void net__send(struct api_conn *ac, struct frame *f);
void net__send_text(struct api_conn *ac, const char *text, size_t len);
void net__close(struct api_conn *ac, int code, const char *reason);
void net__http_reply(uint64_t id, int status, const char *body, size_t len);
/* Writes every socket that got frames during this loop turn (call after each service pass). */
void net__flush(void);
void net__flush_cleanup(void);
/* The loop lws runs on (loop.c): open returns it for info.foreign_loops (NULL on failure)
 * and calls `tick` every tick_ms; once blocks until something happens and handles it. */
void *net__loop_open(void (*tick)(void), int tick_ms);
void net__loop_once(void);
void net__loop_close(void);
/* Heartbeats and the identify deadline, for every socket in one pass (see ws.c). */
void net__sweep(void);
/* Closes every WebSocket with 1001 (shutdown). */
void net__close_all(void);

/* The client's address: the peer, or X-Forwarded-For's last hop from a trusted proxy. */
void net__client_ip(struct lws *wsi, char *out, size_t cap);
/* true when the Origin header is absent or allowed. */
bool net__origin_ok(struct lws *wsi);

#endif
