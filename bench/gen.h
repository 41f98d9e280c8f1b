/* natter-load: shared types. One process, one thread, one epoll set (see README.md).
 *
 * Layers: main.c (options, schedule, phases, report) -> net.c (sockets, handshakes, RFC 6455
 * framing via ws.c) -> adapters.c (natter | ws | mqtt | nats). Adapters report back through
 * the gen_* callbacks declared at the bottom. */
#ifndef NATTER_BENCH_GEN_H
#define NATTER_BENCH_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cstate { CS_IDLE, CS_CONNECTING, CS_HANDSHAKE, CS_SETUP, CS_READY, CS_DEAD };

/* A growable byte buffer; empty ones own no memory (idle sockets stay small). */
struct buf {
    unsigned char *p;
    uint32_t len, cap;
};

struct conn {
    int fd;
    uint32_t idx;
    uint32_t room;        /* index into g.rooms */
    uint8_t state;        /* enum cstate */
    uint8_t msg_op;       /* opcode of the fragmented message being reassembled */
    bool sender, churn, want_out;
    uint32_t inflight;    /* closed loop: sends not yet acked */
    uint32_t tries;       /* connect attempts */
    uint64_t nsent;       /* per-connection counter for request ids and cids */
    struct buf in;        /* bytes not yet parsed (a partial frame or HTTP head) */
    struct buf msg;       /* a fragmented WS message being reassembled */
    struct buf st;        /* adapter stream leftovers (MQTT packet / NATS line across frames) */
    struct buf out;       /* bytes the socket would not take yet */
};

struct room {
    char name[24];        /* natter "r_12"; peers "r12" */
    uint32_t members;     /* counted members (churn connections excluded) */
};

struct adapter {
    const char *name;
    const char *subproto;                                       /* NULL: none offered */
    void (*path)(const struct conn *c, char *out, size_t n);    /* request target */
    void (*on_open)(struct conn *c);                            /* after the 101 */
    void (*on_msg)(struct conn *c, int opcode, const unsigned char *p, size_t n);
    void (*publish)(struct conn *c, int64_t ts);                /* one message, stamped ts */
    bool has_acks;
};

extern const struct adapter adapter_natter, adapter_ws, adapter_mqtt, adapter_nats;

/* ---- net.c ---- */
int net_init(void);
void net_start(struct conn *c);                   /* begin connecting (counts a handshake slot) */
void net_close(struct conn *c, bool polite);      /* polite: send a close frame first */
void net_send_frame(struct conn *c, int opcode, const void *p, size_t n);
int net_poll(int64_t timeout_ns);                 /* one epoll turn; <0 on fatal error */
void net_mark_ready(struct conn *c);
extern uint32_t net_handshakes;                   /* sockets between connect() and ready */
extern uint32_t net_src_addrs;                    /* source addresses 127.0.0.1.. to spread over */
extern uint64_t net_polls, net_events, net_recvs; /* counters for the report */
extern int64_t net_rx_now;                        /* CLOCK_MONOTONIC ns of the latest recv */

/* ---- main.c: the adapters and net.c report here ---- */
void gen_ready(struct conn *c);
void gen_delivery(struct conn *c, const unsigned char *body, size_t n); /* body starts "t=" */
void gen_ack(struct conn *c, const unsigned char *id, size_t n);      /* natter ok re */
void gen_error(struct conn *c, const char *what, const unsigned char *detail, size_t n);
void gen_dead(struct conn *c, const char *why);  /* the connection is gone */
int64_t now_ns(void);
int64_t gen_tick(int64_t now);                   /* sends what is due; next due time */

/* ---- buffers (net.c) ---- */
int buf_add(struct buf *b, const void *p, size_t n); /* 0 or -1 (out of memory / over 64 MB) */
void buf_drop(struct buf *b, size_t n);              /* remove n bytes from the front */
void buf_free(struct buf *b);

/* The run's settings (options.c parses them; README.md describes them). */
struct gen_cfg {
    const char *host, *proto, *tokens, *label;
    int port, server_pid;
    uint32_t size;        /* payload bytes, timestamp included */
    uint32_t conns, room_size, senders, inflight, churn_conns, src_addrs;
    double rate, warmup, duration, drain, setup_timeout, churn_rate, min_share;
    bool strict;
    uint64_t nonce;       /* makes client ids and cids unique across runs */
};
extern struct gen_cfg gcfg;

/* ---- options.c ---- */
int gen_parse_args(int argc, char **argv); /* fills gcfg and g_ad; 0 or -1 (usage printed) */
extern struct room *g_rooms;
extern struct conn *g_conns;
extern char **g_tokens;
extern const struct adapter *g_ad;

/* Writes the payload "t=<ts> <idx> xxxx..." of gcfg.size bytes into out (>= size+1 bytes).
 * Returns its length. */
size_t gen_payload(char *out, size_t cap, int64_t ts, uint32_t idx);

#endif
