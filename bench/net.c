/* natter-load net: non-blocking sockets on one level-triggered epoll set. Connects (with a few
 * retries), upgrades, parses RFC 6455 frames (ws.c), answers pings, reassembles fragmented
 * messages and hands each complete message to the adapter. Writes go straight to the socket;
 * what it will not take waits in the connection's out buffer until EPOLLOUT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "ws.h"

#define RX_CHUNK (64 * 1024)      /* one recv reads up to this much */
#define MSG_MAX (16u << 20)       /* largest server message we accept */
#define BUF_MAX (64u << 20)       /* largest buffer of any kind per connection */
#define CONNECT_TRIES 5

uint32_t net_handshakes;
uint32_t net_src_addrs = 1;
int64_t net_rx_now;
uint64_t net_polls, net_events, net_recvs;
static int ep = -1;
static unsigned char rx[RX_CHUNK];
static struct sockaddr_in dst;

int buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        if (cap > BUF_MAX)
            return -1;
        unsigned char *q = realloc(b->p, cap);
        if (!q)
            return -1;
        b->p = q;
        b->cap = (uint32_t)cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += (uint32_t)n;
    return 0;
}

void buf_drop(struct buf *b, size_t n)
{
    if (n >= b->len) {
        buf_free(b); /* idle sockets keep no buffer */
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= (uint32_t)n;
}

void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int net_init(void)
{
    ep = epoll_create1(EPOLL_CLOEXEC);
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)gcfg.port);
    if (inet_pton(AF_INET, gcfg.host, &dst.sin_addr) != 1) {
        fprintf(stderr, "natter-load: --host must be an IPv4 address\n");
        return -1;
    }
    return ep < 0 ? -1 : 0;
}

static void watch(struct conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u32 = c->idx};
    c->want_out = out;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void release(struct conn *c)
{
    buf_free(&c->in);
    buf_free(&c->msg);
    buf_free(&c->st);
    buf_free(&c->out);
    c->msg_op = 0;
}

/* Leaves the handshake count when a socket stops being "on its way to ready". */
static void set_state(struct conn *c, enum cstate s)
{
    bool was = c->state >= CS_CONNECTING && c->state <= CS_SETUP;
    bool is = s >= CS_CONNECTING && s <= CS_SETUP;
    if (was && !is)
        net_handshakes--;
    else if (!was && is)
        net_handshakes++;
    c->state = (uint8_t)s;
}

void net_mark_ready(struct conn *c) { set_state(c, CS_READY); }

/* Closes the socket now; buffers go later (the caller may be iterating over them). */
static void kill_conn(struct conn *c, const char *why)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    set_state(c, CS_DEAD);
    gen_dead(c, why);
}

void net_close(struct conn *c, bool polite)
{
    if (c->fd >= 0) {
        if (polite && c->state == CS_READY && !c->out.len) {
            unsigned char f[WS_HDR_MAX + 2];
            size_t h = ws_client_header(f, WS_CLOSE, 2);
            f[h] = 1000 >> 8;
            f[h + 1] = 1000 & 0xff;
            (void)send(c->fd, f, h + 2, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        close(c->fd);
    }
    c->fd = -1;
    set_state(c, CS_IDLE);
    release(c);
}

void net_start(struct conn *c)
{
    char why[96];
    release(c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        goto fail;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (net_src_addrs > 1) {
        /* 127.0.0.1, .2, ...: each source address has its own ephemeral port range. */
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + c->idx % net_src_addrs);
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(c->fd, (struct sockaddr *)&src, sizeof src))
            goto fail;
    }
    if (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) && errno != EINPROGRESS)
        goto fail;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = c->idx};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
        goto fail;
    c->tries++;
    set_state(c, CS_CONNECTING);
    return;
fail:
    snprintf(why, sizeof why, "connect: %s", strerror(errno));
    if (c->state == CS_IDLE)
        set_state(c, CS_CONNECTING); /* so that kill_conn balances the count */
    kill_conn(c, why);
}

static void conn_write(struct conn *c, const void *p, size_t n)
{
    size_t done = 0;
    if (c->fd < 0)
        return;
    if (!c->out.len) {
        ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r == (ssize_t)n)
            return;
        if (r < 0 && errno != EAGAIN) {
            kill_conn(c, "send failed");
            return;
        }
        done = r > 0 ? (size_t)r : 0;
    }
    if (buf_add(&c->out, (const unsigned char *)p + done, n - done)) {
        kill_conn(c, "out buffer over 64 MB");
        return;
    }
    if (!c->want_out)
        watch(c, true);
}

void net_send_frame(struct conn *c, int opcode, const void *p, size_t n)
{
    unsigned char f[8192];
    size_t h = ws_client_header(f, opcode, n);
    if (h + n <= sizeof f) {
        memcpy(f + h, p, n);
        conn_write(c, f, h + n);
    } else {
        conn_write(c, f, h);
        conn_write(c, p, n);
    }
}

static void deliver(struct conn *c, int opcode, const unsigned char *p, size_t n)
{
    g_ad->on_msg(c, opcode, p, n);
}

static void on_frame(struct conn *c, const struct ws_frame *f)
{
    char why[160];
    switch (f->opcode) {
    case WS_PING:
        net_send_frame(c, WS_PONG, f->payload, f->len);
        return;
    case WS_PONG:
        return;
    case WS_CLOSE: {
        int code = f->len >= 2 ? f->payload[0] << 8 | f->payload[1] : 1005;
        int rl = f->len > 2 ? (int)(f->len - 2 > 100 ? 100 : f->len - 2) : 0;
        snprintf(why, sizeof why, "closed by server: %d %.*s", code, rl,
                 f->len > 2 ? (const char *)f->payload + 2 : "");
        kill_conn(c, why);
        return;
    }
    case WS_CONT:
        if (!c->msg_op || buf_add(&c->msg, f->payload, f->len) || c->msg.len > MSG_MAX) {
            kill_conn(c, "bad continuation frame");
            return;
        }
        if (f->fin) {
            deliver(c, c->msg_op, c->msg.p, c->msg.len);
            c->msg_op = 0;
            buf_free(&c->msg);
        }
        return;
    case WS_TEXT:
    case WS_BINARY:
        if (c->msg_op) {
            kill_conn(c, "data frame inside a fragmented message");
            return;
        }
        if (f->fin) {
            deliver(c, f->opcode, f->payload, f->len);
        } else {
            c->msg_op = (uint8_t)f->opcode;
            if (buf_add(&c->msg, f->payload, f->len))
                kill_conn(c, "out of memory");
        }
        return;
    default:
        kill_conn(c, "unknown opcode");
    }
}

/* Parses what p[0..n) holds; returns the bytes used (the rest is an incomplete frame). */
static size_t process(struct conn *c, unsigned char *p, size_t n)
{
    size_t off = 0;
    if (c->state == CS_HANDSHAKE) {
        long h = ws_response(p, n);
        if (h == 0)
            return 0;
        if (h < 0) {
            char why[120];
            size_t l = strcspn((const char *)p, "\r\n");
            snprintf(why, sizeof why, "upgrade refused: %.*s", (int)(l > 80 ? 80 : l),
                     (const char *)p);
            kill_conn(c, why);
            return n;
        }
        off = (size_t)h;
        set_state(c, CS_SETUP);
        g_ad->on_open(c);
    }
    while (off < n && c->fd >= 0) {
        struct ws_frame f;
        long r = ws_parse(p + off, n - off, MSG_MAX, &f);
        if (r == 0)
            break;
        if (r < 0) {
            kill_conn(c, "malformed frame from server");
            return n;
        }
        off += (size_t)r;
        on_frame(c, &f);
    }
    return c->fd >= 0 ? off : n;
}

static void on_readable(struct conn *c)
{
    ssize_t r = recv(c->fd, rx, sizeof rx, 0);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        kill_conn(c, r == 0 ? "connection closed (EOF)" : strerror(errno));
        return;
    }
    net_rx_now = now_ns();
    net_recvs++;
    if (c->in.len) {
        if (buf_add(&c->in, rx, (size_t)r)) {
            kill_conn(c, "frame over 64 MB");
            return;
        }
        size_t used = process(c, c->in.p, c->in.len);
        buf_drop(&c->in, used);
    } else {
        size_t used = process(c, rx, (size_t)r);
        if (used < (size_t)r && c->fd >= 0 && buf_add(&c->in, rx + used, (size_t)r - used))
            kill_conn(c, "out of memory");
    }
}

static void on_writable(struct conn *c)
{
    if (c->state == CS_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            char why[96];
            close(c->fd);
            c->fd = -1;
            if (c->tries < CONNECT_TRIES) {
                set_state(c, CS_IDLE);
                net_start(c); /* a full accept queue refuses; it clears quickly */
                return;
            }
            snprintf(why, sizeof why, "connect: %s", strerror(err));
            kill_conn(c, why);
            return;
        }
        char path[256], req[1024];
        g_ad->path(c, path, sizeof path);
        size_t n = ws_request(req, sizeof req, gcfg.host, gcfg.port, path, g_ad->subproto);
        set_state(c, CS_HANDSHAKE);
        watch(c, false);
        conn_write(c, req, n);
        return;
    }
    if (!c->out.len) {
        watch(c, false);
        return;
    }
    ssize_t r = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r < 0) {
        if (errno != EAGAIN)
            kill_conn(c, "send failed");
        return;
    }
    buf_drop(&c->out, (size_t)r);
    if (!c->out.len)
        watch(c, false);
}

int net_poll(int64_t timeout_ns)
{
    struct epoll_event ev[512];
    if (timeout_ns < 0)
        timeout_ns = 0;
    struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    int n = epoll_pwait2(ep, ev, 512, &ts, NULL);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    net_polls++;
    net_events += (uint64_t)n;
    for (int i = 0; i < n; i++) {
        struct conn *c = &g_conns[ev[i].data.u32];
        if (c->fd >= 0 && (ev[i].events & (EPOLLOUT | EPOLLERR)) &&
            (c->want_out || c->state == CS_CONNECTING))
            on_writable(c);
        if (c->fd >= 0 && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
            c->state != CS_CONNECTING)
            on_readable(c);
        if (c->fd < 0 && c->state == CS_DEAD)
            release(c);
        if ((i & 31) == 31)
            gen_tick(now_ns());
    }
    return n;
}
