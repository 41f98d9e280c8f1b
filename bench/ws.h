/* RFC 6455 client framing as pure functions (no I/O), so they are easy to test. */
#ifndef NATTER_BENCH_WS_H
#define NATTER_BENCH_WS_H

#include <stddef.h>
#include <stdint.h>

enum { WS_CONT = 0x0, WS_TEXT = 0x1, WS_BINARY = 0x2, WS_CLOSE = 0x8, WS_PING = 0x9, WS_PONG = 0xA };

/* Largest header a client frame needs: 2 + 8 (length) + 4 (mask key). */
#define WS_HDR_MAX 14

/* Writes the header of a final client frame of n payload bytes, masked with key 0 (which is legal
 * and leaves the payload unchanged). Returns the header length. */
size_t ws_client_header(unsigned char *out, int opcode, size_t n);

/* The upgrade request. Returns its length, or 0 if it did not fit. */
size_t ws_request(char *out, size_t cap, const char *host, int port, const char *path,
                  const char *subproto);

/* Looks for the end of the HTTP response head in p[0..n).
 * Returns the head's length (> 0) when complete and the status is 101, 0 when more bytes are
 * needed, -1 when the head is complete but the upgrade was refused (or the head is too big). */
long ws_response(const unsigned char *p, size_t n);

struct ws_frame {
    int fin, opcode;
    const unsigned char *payload;
    size_t len;
};

/* Parses the frame at the start of p[0..n). Returns the frame's total length when complete
 * (*f filled in, an unmasked payload in place; a masked one is unmasked in place), 0 when more
 * bytes are needed, -1 on a frame over max bytes or a malformed header. */
long ws_parse(unsigned char *p, size_t n, size_t max, struct ws_frame *f);

#endif
