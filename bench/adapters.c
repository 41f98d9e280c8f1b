/* natter-load adapters: the same workload spoken in four protocols.
 *   natter  identify with a bench-setup token; message.send; count message.created (and acks).
 *   ws      a plain node `ws` room server: /?room=rN, every frame goes to the whole room.
 *   mqtt    MQTT 3.1.1 over WS (mosquitto): CONNECT, SUBSCRIBE room/rN QoS 0, PUBLISH.
 *   nats    NATS text protocol over WS (nats-server): CONNECT, SUB room.rN 1, PUB; PING->PONG.
 * Every payload is gen_payload(): "t=<send time ns> ..." padded to --size bytes. */
#include <stdio.h>
#include <string.h>

#include "gen.h"
#include "ws.h"

static const unsigned char *find(const unsigned char *p, size_t n, const char *s)
{
    return memmem(p, n, s, strlen(s));
}

static bool starts(const unsigned char *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    return n >= l && !memcmp(p, s, l);
}

/* Feeds a byte stream that may split protocol units across WS messages to parse(), which
 * returns how many bytes it used; the rest waits in c->st for the next message. */
static void stream(struct conn *c, const unsigned char *p, size_t n,
                   size_t (*parse)(struct conn *, const unsigned char *, size_t))
{
    if (c->st.len) {
        if (buf_add(&c->st, p, n)) {
            gen_error(c, "stream buffer over 64 MB", NULL, 0);
            return;
        }
        size_t used = parse(c, c->st.p, c->st.len);
        buf_drop(&c->st, used);
    } else {
        size_t used = parse(c, p, n);
        if (used < n && buf_add(&c->st, p + used, n - used))
            gen_error(c, "stream buffer over 64 MB", NULL, 0);
    }
}

/* ---- natter ---- */

static void natter_path(const struct conn *c, char *out, size_t n)
{
    (void)c;
    snprintf(out, n, "/v1/ws");
}

static void natter_open(struct conn *c)
{
    char f[4096];
    int n = snprintf(f, sizeof f, "{\"op\":\"identify\",\"id\":\"i\",\"d\":{\"token\":\"%s\"}}",
                     g_tokens[c->idx]);
    if (n <= 0 || (size_t)n >= sizeof f) {
        gen_error(c, "token too long", NULL, 0);
        return;
    }
    net_send_frame(c, WS_TEXT, f, (size_t)n);
}

/* One line: a server object. The server writes "op" first, so a prefix test is enough. */
static void natter_line(struct conn *c, const unsigned char *p, size_t n)
{
    if (starts(p, n, "{\"op\":\"message.created\"")) {
        const unsigned char *b = find(p, n, "\"body\":\"t=");
        if (b)
            gen_delivery(c, b + 8, n - (size_t)(b + 8 - p));
        else
            gen_error(c, "message.created without a bench body", p, n);
    } else if (starts(p, n, "{\"op\":\"ok\",\"re\":\"")) {
        const unsigned char *id = p + 17, *e = memchr(id, '"', n - 17);
        if (!e)
            gen_error(c, "bad ok", p, n);
        else if (e - id == 1 && id[0] == 'i')
            gen_ready(c);
        else
            gen_ack(c, id, (size_t)(e - id));
    } else if (starts(p, n, "{\"op\":\"error\"")) {
        gen_error(c, "error", p, n);
    }
    /* hello, presence, and anything else: not counted */
}

static void natter_msg(struct conn *c, int opcode, const unsigned char *p, size_t n)
{
    (void)opcode;
    while (n) {
        const unsigned char *nl = memchr(p, '\n', n);
        size_t l = nl ? (size_t)(nl - p) : n;
        if (l)
            natter_line(c, p, l);
        if (!nl)
            break;
        p += l + 1;
        n -= l + 1;
    }
}

static void natter_publish(struct conn *c, int64_t ts)
{
    char body[4200], f[4600];
    gen_payload(body, sizeof body, ts, c->idx);
    c->nsent++;
    /* The request id carries the send time, so the ack's latency needs no lookup table. */
    int n = snprintf(f, sizeof f,
                     "{\"op\":\"message.send\",\"id\":\"%lld-%llu\",\"d\":{\"room\":\"%s\","
                     "\"cid\":\"b%llx-%u-%llu\",\"body\":\"%s\"}}",
                     (long long)ts, (unsigned long long)c->nsent, g_rooms[c->room].name,
                     (unsigned long long)gcfg.nonce, c->idx, (unsigned long long)c->nsent, body);
    if (n > 0 && (size_t)n < sizeof f)
        net_send_frame(c, WS_TEXT, f, (size_t)n);
}

const struct adapter adapter_natter = {"natter", NULL, natter_path, natter_open, natter_msg,
                                       natter_publish, true};

/* ---- node ws room server ---- */

static void ws_path(const struct conn *c, char *out, size_t n)
{
    snprintf(out, n, "/?room=%s", g_rooms[c->room].name);
}

static void ws_open(struct conn *c) { gen_ready(c); }

static void ws_msg(struct conn *c, int opcode, const unsigned char *p, size_t n)
{
    (void)opcode;
    if (starts(p, n, "t="))
        gen_delivery(c, p, n);
    else
        gen_error(c, "unexpected frame", p, n);
}

static void ws_publish(struct conn *c, int64_t ts)
{
    char body[4200];
    size_t n = gen_payload(body, sizeof body, ts, c->idx);
    net_send_frame(c, WS_TEXT, body, n);
}

const struct adapter adapter_ws = {"ws", NULL, ws_path, ws_open, ws_msg, ws_publish, false};

/* ---- MQTT 3.1.1 over WS ---- */

static size_t mqtt_varint(unsigned char *out, size_t v)
{
    size_t i = 0;
    do {
        unsigned char b = v % 128;
        v /= 128;
        out[i++] = (unsigned char)(b | (v ? 0x80 : 0));
    } while (v);
    return i;
}

static size_t mqtt_str(unsigned char *out, const char *s, size_t n)
{
    out[0] = (unsigned char)(n >> 8);
    out[1] = (unsigned char)n;
    memcpy(out + 2, s, n);
    return n + 2;
}

static void mqtt_path(const struct conn *c, char *out, size_t n)
{
    (void)c;
    snprintf(out, n, "/mqtt");
}

static void mqtt_open(struct conn *c)
{
    unsigned char f[512], body[256];
    char id[48], topic[48];
    size_t n = 0, b = 0;
    /* CONNECT: protocol "MQTT" level 4, clean session, keep-alive off, a unique client id. */
    int il = snprintf(id, sizeof id, "b%llx-%u", (unsigned long long)gcfg.nonce, c->idx);
    b += mqtt_str(body + b, "MQTT", 4);
    body[b++] = 4;
    body[b++] = 0x02;
    body[b++] = 0;
    body[b++] = 0;
    b += mqtt_str(body + b, id, (size_t)il);
    f[n++] = 0x10;
    n += mqtt_varint(f + n, b);
    memcpy(f + n, body, b);
    n += b;
    /* SUBSCRIBE packet id 1, room/rN, QoS 0. It may follow CONNECT before the CONNACK. */
    int tl = snprintf(topic, sizeof topic, "room/%s", g_rooms[c->room].name);
    b = 0;
    body[b++] = 0;
    body[b++] = 1;
    b += mqtt_str(body + b, topic, (size_t)tl);
    body[b++] = 0;
    f[n++] = 0x82;
    n += mqtt_varint(f + n, b);
    memcpy(f + n, body, b);
    n += b;
    net_send_frame(c, WS_BINARY, f, n);
}

static size_t mqtt_parse(struct conn *c, const unsigned char *p, size_t n)
{
    size_t off = 0;
    while (off + 2 <= n) {
        size_t len = 0, h = 1;
        unsigned mul = 1;
        for (;;) {
            if (off + h >= n)
                return off;
            unsigned char b = p[off + h++];
            len += (b & 127u) * mul;
            mul *= 128;
            if (!(b & 128))
                break;
            if (h > 4) {
                gen_error(c, "bad MQTT length", NULL, 0);
                return n;
            }
        }
        if (off + h + len > n)
            return off;
        const unsigned char *q = p + off + h;
        switch (p[off] >> 4) {
        case 2: /* CONNACK */
            if (len < 2 || q[1] != 0)
                gen_error(c, "CONNACK refused", q, len);
            break;
        case 9: /* SUBACK */
            if (len < 3 || q[2] == 0x80)
                gen_error(c, "SUBACK refused", q, len);
            else
                gen_ready(c);
            break;
        case 3: { /* PUBLISH */
            size_t tl = len >= 2 ? (size_t)(q[0] << 8 | q[1]) : len;
            size_t skip = 2 + tl + (((p[off] >> 1) & 3) ? 2 : 0);
            if (skip <= len)
                gen_delivery(c, q + skip, len - skip);
            break;
        }
        default:
            break;
        }
        off += h + len;
    }
    return off;
}

static void mqtt_msg(struct conn *c, int opcode, const unsigned char *p, size_t n)
{
    (void)opcode;
    stream(c, p, n, mqtt_parse);
}

static void mqtt_publish(struct conn *c, int64_t ts)
{
    unsigned char f[4400];
    char body[4200], topic[48];
    size_t bl = gen_payload(body, sizeof body, ts, c->idx), n = 0;
    int tl = snprintf(topic, sizeof topic, "room/%s", g_rooms[c->room].name);
    f[n++] = 0x30;
    n += mqtt_varint(f + n, 2 + (size_t)tl + bl);
    n += mqtt_str(f + n, topic, (size_t)tl);
    memcpy(f + n, body, bl);
    net_send_frame(c, WS_BINARY, f, n + bl);
}

const struct adapter adapter_mqtt = {"mqtt", "mqtt", mqtt_path, mqtt_open, mqtt_msg,
                                     mqtt_publish, false};

/* ---- NATS over WS ---- */

static void nats_path(const struct conn *c, char *out, size_t n)
{
    (void)c;
    snprintf(out, n, "/");
}

static void nats_open(struct conn *c)
{
    char f[256];
    int n = snprintf(f, sizeof f,
                     "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":true}\r\n"
                     "SUB room.%s 1\r\nPING\r\n",
                     g_rooms[c->room].name);
    net_send_frame(c, WS_BINARY, f, (size_t)n);
}

static size_t nats_parse(struct conn *c, const unsigned char *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        const unsigned char *l = p + off, *e = find(l, n - off, "\r\n");
        if (!e)
            return off;
        size_t ll = (size_t)(e - l);
        if (starts(l, ll, "MSG ")) {
            /* MSG <subject> <sid> [reply-to] <#bytes>: the size is the last field. */
            const unsigned char *s = e;
            while (s > l && s[-1] != ' ')
                s--;
            size_t len = 0;
            for (; s < e && *s >= '0' && *s <= '9'; s++)
                len = len * 10 + (size_t)(*s - '0');
            if (off + ll + 2 + len + 2 > n)
                return off;
            gen_delivery(c, e + 2, len);
            off += ll + 2 + len + 2;
            continue;
        }
        if (starts(l, ll, "PING"))
            net_send_frame(c, WS_BINARY, "PONG\r\n", 6);
        else if (starts(l, ll, "PONG") && c->state == CS_SETUP)
            gen_ready(c);
        else if (starts(l, ll, "-ERR"))
            gen_error(c, "nats", l, ll);
        off += ll + 2;
    }
    return off;
}

static void nats_msg(struct conn *c, int opcode, const unsigned char *p, size_t n)
{
    (void)opcode;
    stream(c, p, n, nats_parse);
}

static void nats_publish(struct conn *c, int64_t ts)
{
    char f[4400], body[4200];
    size_t bl = gen_payload(body, sizeof body, ts, c->idx);
    int h = snprintf(f, sizeof f, "PUB room.%s %zu\r\n", g_rooms[c->room].name, bl);
    memcpy(f + h, body, bl);
    memcpy(f + (size_t)h + bl, "\r\n", 2);
    net_send_frame(c, WS_BINARY, f, (size_t)h + bl + 2);
}

const struct adapter adapter_nats = {"nats", NULL, nats_path, nats_open, nats_msg, nats_publish,
                                     false};
