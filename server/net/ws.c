/* net ws: the WebSocket side. Reassembles client messages up to max_frame, hands them to
 * the api, and writes each connection's queue of shared frames: one frame as it is
 * (zero-copy), several coalesced into one newline-separated frame (one syscall). */
#include "net/net_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/metrics.h"

#define TX_BATCH (64 * 1024)

struct map net__conns;
static unsigned char txbuf[LWS_PRE + TX_BATCH];
/* Sockets that got frames during this loop turn (by id: a socket may close meanwhile). */
static struct {
    uint64_t *ids;
    size_t n, cap;
} pend;


struct api_conn *net__find(uint64_t id)
{
    struct conn *c = map_get(&net__conns, id);
    return c ? &c->ac : NULL;
}

/* Lists a socket for net__flush(); false when out of memory. */
static bool mark_pending(struct conn *c)
{
    if (c->pending)
        return true;
    if (pend.n == pend.cap) {
        size_t cap = pend.cap ? pend.cap * 2 : 64;
        uint64_t *p = realloc(pend.ids, cap * sizeof *p);
        if (!p)
            return false;
        pend.ids = p;
        pend.cap = cap;
    }
    pend.ids[pend.n++] = c->ac.id;
    c->pending = true;
    return true;
}

static void q_clear(struct conn *c)
{
    while (c->qlen) {
        frame_unref(&c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    metrics.bytes_queued -= c->qbytes;
    c->qbytes = 0;
}

static void slow_consumer(struct conn *c)
{
    metrics.slow_consumer_closes_total++;
    LOG_WARN("ws c#%llu u:%lld slow consumer: %zu bytes queued, closing 4009",
             (unsigned long long)c->ac.id, (long long)c->ac.hc.user, c->qbytes);
    q_clear(c);
    c->close_code = 4009;
    snprintf(c->close_reason, sizeof c->close_reason, "slow consumer");
    /* A reader that stopped entirely never makes the socket writeable again. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 5);
    lws_callback_on_writable(c->wsi);
}

void net__send(struct api_conn *ac, struct frame *f)
{
    struct conn *c = (struct conn *)ac;
    if (c->close_code)
        return;
    if ((f->flags & FRAME_EPHEMERAL) && c->qbytes > (size_t)lim(LIM_QUEUE_SOFT))
        return;
    /* Refused once what waits is over the bound, not for the size of this frame: one large
     * reply (the identify snapshot of a user in many groups) is no sign of a slow reader. */
    if (c->qbytes > (size_t)lim(LIM_QUEUE_HARD)) {
        slow_consumer(c);
        return;
    }
    if (c->qlen == c->qcap) {
        uint32_t cap = c->qcap ? c->qcap * 2 : 8;
        struct frame **q = malloc(cap * sizeof *q);
        if (!q) {
            slow_consumer(c);
            return;
        }
        for (uint32_t i = 0; i < c->qlen; i++)
            q[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = q;
        c->qcap = cap;
        c->qhead = 0;
    }
    c->q[(c->qhead + c->qlen++) % c->qcap] = frame_ref(f);
    c->qbytes += f->len;
    metrics.bytes_queued += f->len;
    /* Written by net__flush() when this loop turn ends, with whatever else arrives. */
    if (!mark_pending(c))
        lws_callback_on_writable(c->wsi);
}

void net__send_text(struct api_conn *ac, const char *text, size_t len)
{
    struct frame *f = frame_new(text, len, 0);
    if (f) {
        net__send(ac, f);
        frame_unref(&f);
    }
}

void net__close(struct api_conn *ac, int code, const char *reason)
{
    struct conn *c = (struct conn *)ac;
    if (c->close_code)
        return;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 5);
    lws_callback_on_writable(c->wsi);
}

/* lws 4.1.6 keeps its timers in one sorted list, and inserting is a walk along it: with a
 * ping timer and an identify timer per socket, 10,000 idle sockets cost 18% of a core and
 * every connect paid a walk. So those two are ours: one pass over the sockets
 * a few times a second. A socket is alive while it sends anything (a pong, an app-level
 * ping, a request); after heartbeat_ms of silence it gets a ping, after 2.5x it is dropped
 * without a close frame, as lws would. */
void net__sweep(void)
{
    int64_t now = now_ms(), hb = lim(LIM_HEARTBEAT_MS), auth = lim(LIM_AUTH_TIMEOUT_MS);
    for (size_t i = 0; i < net__conns.cap; i++) {
        struct conn *c = net__conns.keys[i] ? net__conns.vals[i] : NULL;
        if (!c)
            continue;
        if (now - c->opened_ms >= auth)
            api_ws_auth_timeout(&c->ac);
        int64_t quiet = now - c->last_rx_ms;
        if (quiet >= hb * 5 / 2) {
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        } else if (quiet >= hb && now - c->last_ping_ms >= hb && !c->close_code) {
            c->ping_due = true;
            c->last_ping_ms = now;
            if (!mark_pending(c))
                lws_callback_on_writable(c->wsi);
        }
    }
}

void net__close_all(void)
{
    for (size_t i = 0; i < net__conns.cap; i++)
        if (net__conns.keys[i])
            net__close(net__conns.vals[i], 1001, "server going away");
}

static struct frame *q_pop(struct conn *c)
{
    struct frame *f = c->q[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    c->qbytes -= f->len;
    metrics.bytes_queued -= f->len;
    return f;
}

/* lws 4.1.6 keeps the close opcode out of its public enum (it means lws_close_reason() and a
 * return of -1, which closes at once); the value is the frame type lws_write maps to CLOSE. */
#define LWS_WRITE_CLOSE_INTERNAL ((enum lws_write_protocol)4)

/* Sends our close frame, then waits for the peer's (discarding what it still sends) until
 * lws closes on its reply or after a timeout. Closing the socket at once would turn any
 * unread input into a TCP reset, and the peer would lose our close frame and see 1006. */
static int close_now(struct conn *c)
{
    unsigned char buf[LWS_PRE + 2 + sizeof c->close_reason];
    size_t n = strlen(c->close_reason);
    if (c->close_sent)
        return 0;
    buf[LWS_PRE] = (unsigned char)(c->close_code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
    memcpy(buf + LWS_PRE + 2, c->close_reason, n);
    if (lws_write(c->wsi, buf + LWS_PRE, 2 + n, LWS_WRITE_CLOSE_INTERNAL) < 0)
        return -1;
    c->close_sent = true;
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, 3);
    return 0;
}

static int writeable(struct conn *c);

void net__flush(void)
{
    /* Writing here, at the end of a loop turn, instead of asking for WRITEABLE saves one poll()
     * over every socket per event (the top of the profile with lws's poll loop); every event of
     * the turn still leaves in one frame per socket (Redis's "write before sleep"). */
    for (size_t i = 0; i < pend.n; i++) {
        struct conn *c = map_get(&net__conns, pend.ids[i]);
        if (!c || !c->pending)
            continue;
        c->pending = false;
        if (c->close_code || lws_partial_buffered(c->wsi))
            lws_callback_on_writable(c->wsi);
        else if (writeable(c))
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    pend.n = 0;
}

void net__flush_cleanup(void)
{
    free(pend.ids);
    memset(&pend, 0, sizeof pend);
}

/* Writes what is queued: one lws_write per call; re-arms WRITEABLE when more is left. */
static int writeable(struct conn *c)
{
    if (c->ping_due && !c->close_code) {
        /* Not empty: lws 4.1.6 swallows an empty pong without LWS_CALLBACK_RECEIVE_PONG. */
        unsigned char ping[LWS_PRE + 2] = {[LWS_PRE] = 'h', [LWS_PRE + 1] = 'b'};
        c->ping_due = false;
        if (lws_write(c->wsi, ping + LWS_PRE, 2, LWS_WRITE_PING) < 0)
            return -1;
        if (c->qlen)
            lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (!c->qlen)
        return c->close_code ? close_now(c) : 0;
    struct frame *f = c->q[c->qhead];
    unsigned char *p;
    size_t len;
    if (c->qlen == 1 || f->len >= TX_BATCH / 2) {
        f = q_pop(c); /* zero-copy: the shared frame's own headroom takes the header */
        p = frame_payload(f);
        len = f->len;
        int n = lws_write(c->wsi, p, len, LWS_WRITE_TEXT);
        frame_unref(&f);
        if (n < (int)len)
            return -1;
    } else {
        len = 0;
        while (c->qlen && len + c->q[c->qhead]->len + 1 <= TX_BATCH) {
            f = q_pop(c);
            if (len)
                txbuf[LWS_PRE + len++] = '\n';
            memcpy(txbuf + LWS_PRE + len, frame_payload(f), f->len);
            len += f->len;
            frame_unref(&f);
        }
        if (lws_write(c->wsi, txbuf + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len)
            return -1;
    }
    metrics.frames_written_total++;
    if (c->qlen || c->close_code)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static int receive(struct conn *c, const char *in, size_t len)
{
    size_t max = (size_t)lim(LIM_MAX_FRAME);
    bool first = lws_is_first_fragment(c->wsi), final = lws_is_final_fragment(c->wsi);
    /* No lws_validity_confirmed() here: it re-sorts a timer list as long as the number of
     * sockets on every message (the top entry of the B2 profile). lws's own pings suffice. */
    if (first)
        c->rxlen = 0;
    if (first && final) {
        if (len > max)
            goto too_big;
        if (lws_frame_is_binary(c->wsi)) {
            api_ws_message(&c->ac, "\x01", 1); /* not JSON: answered as malformed */
            return 0;
        }
        api_ws_message(&c->ac, in, len);
        return 0;
    }
    if (c->rxlen + len > max)
        goto too_big;
    if (c->rxlen + len > c->rxcap) {
        /* Sized for the rest of the frame: a small message split across two reads needs one
         * small allocation (a fixed 4 KiB one made malloc consolidate, 2% of B7). */
        size_t cap = c->rxlen + len + lws_remaining_packet_payload(c->wsi);
        if (cap < c->rxcap * 2)
            cap = c->rxcap * 2;
        if (cap > max)
            cap = max;
        unsigned char *p = realloc(c->rx, cap);
        if (!p)
            goto too_big;
        c->rx = p;
        c->rxcap = cap;
    }
    memcpy(c->rx + c->rxlen, in, len);
    c->rxlen += len;
    if (final) {
        if (lws_frame_is_binary(c->wsi))
            api_ws_message(&c->ac, "\x01", 1);
        else
            api_ws_message(&c->ac, (const char *)c->rx, c->rxlen);
        free(c->rx); /* idle sockets keep no buffer */
        c->rx = NULL;
        c->rxlen = c->rxcap = 0;
    }
    return 0;
too_big:
    free(c->rx);
    c->rx = NULL;
    c->rxlen = c->rxcap = 0;
    net__close(&c->ac, 1009, "frame too large");
    return 0;
}

int net__cb_chat(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct conn *c = user;
    char ip[48];
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof *c);
        c->wsi = wsi;
        net__client_ip(wsi, ip, sizeof ip);
        uint64_t id = net__next_id++;
        if (map_put(&net__conns, id, c))
            return -1;
        metrics.ws_open++;
        metrics.ws_opened_total++;
        c->opened_ms = c->last_rx_ms = c->last_ping_ms = now_ms();
        api_ws_open(&c->ac, id, ip);
        if (net__stopping)
            net__close(&c->ac, 1001, "server going away");
        return 0;
    case LWS_CALLBACK_RECEIVE:
        c->last_rx_ms = now_ms();
        if (c->close_code)
            return 0;
        return receive(c, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        c->last_rx_ms = now_ms();
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return writeable(c);
    case LWS_CALLBACK_CLOSED:
        if (!c->ac.id)
            return 0;
        api_ws_closed(&c->ac);
        q_clear(c);
        free(c->q);
        free(c->rx);
        map_del(&net__conns, c->ac.id);
        metrics.ws_open--;
        c->ac.id = 0;
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
