/* RFC 6455 client framing: see ws.h. */
#include "ws.h"

#include <stdio.h>
#include <string.h>

size_t ws_client_header(unsigned char *out, int opcode, size_t n)
{
    size_t h = 0;
    out[h++] = (unsigned char)(0x80 | (opcode & 0x0f));
    if (n < 126) {
        out[h++] = (unsigned char)(0x80 | n);
    } else if (n <= 0xffff) {
        out[h++] = 0x80 | 126;
        out[h++] = (unsigned char)(n >> 8);
        out[h++] = (unsigned char)n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    memset(out + h, 0, 4); /* mask key 0: XOR with zero is the identity */
    return h + 4;
}

size_t ws_request(char *out, size_t cap, const char *host, int port, const char *path,
                  const char *subproto)
{
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "%s%s%s"
                     "\r\n",
                     path, host, port, subproto ? "Sec-WebSocket-Protocol: " : "",
                     subproto ? subproto : "", subproto ? "\r\n" : "");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

long ws_response(const unsigned char *p, size_t n)
{
    for (size_t i = 3; i < n; i++) {
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r') {
            /* "HTTP/1.1 101 Switching Protocols" */
            if (i < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0)
                return -1;
            return (long)(i + 1);
        }
    }
    return n > 16384 ? -1 : 0;
}

long ws_parse(unsigned char *p, size_t n, size_t max, struct ws_frame *f)
{
    if (n < 2)
        return 0;
    size_t h = 2;
    uint64_t len = p[1] & 0x7f;
    int masked = p[1] & 0x80;
    if (p[0] & 0x70)
        return -1; /* no extension was negotiated: RSV bits must be 0 */
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (uint64_t)p[2] << 8 | p[3];
        h = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        h = 10;
    }
    if (len > max)
        return -1;
    size_t mh = masked ? 4 : 0;
    if (n < h + mh + len)
        return 0;
    unsigned char *pl = p + h + mh;
    if (masked) {
        const unsigned char *k = p + h;
        for (size_t i = 0; i < len; i++)
            pl[i] ^= k[i & 3];
    }
    f->fin = (p[0] & 0x80) != 0;
    f->opcode = p[0] & 0x0f;
    f->payload = pl;
    f->len = (size_t)len;
    return (long)(h + mh + len);
}
