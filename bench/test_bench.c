/* Unit tests for natter-load's pure parts: RFC 6455 framing (ws.c) and the histogram (hist.c).
 * ctest bench.unit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "ws.h"

static int failures;
#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                                \
        }                                                                              \
    } while (0)

static void test_header(void)
{
    unsigned char h[WS_HDR_MAX];
    CHECK(ws_client_header(h, WS_TEXT, 5) == 6);
    CHECK(h[0] == 0x81 && h[1] == (0x80 | 5) && !h[2] && !h[3] && !h[4] && !h[5]);
    CHECK(ws_client_header(h, WS_BINARY, 126) == 8);
    CHECK(h[0] == 0x82 && h[1] == (0x80 | 126) && h[2] == 0 && h[3] == 126);
    CHECK(ws_client_header(h, WS_TEXT, 70000) == 14);
    CHECK(h[1] == (0x80 | 127) && h[7] == 0x01 && h[8] == 0x11 && h[9] == 0x70);
}

static void test_parse(void)
{
    struct ws_frame f;
    unsigned char a[] = {0x81, 3, 'a', 'b', 'c', 0x02, 1};
    CHECK(ws_parse(a, 1, 1000, &f) == 0);
    CHECK(ws_parse(a, 4, 1000, &f) == 0);
    CHECK(ws_parse(a, sizeof a, 1000, &f) == 5);
    CHECK(f.fin && f.opcode == WS_TEXT && f.len == 3 && !memcmp(f.payload, "abc", 3));
    CHECK(ws_parse(a + 5, 2, 1000, &f) == 0); /* a continuation, incomplete */
    unsigned char m[] = {0x82, 0x82, 1, 2, 3, 4, 'x' ^ 1, 'y' ^ 2};
    CHECK(ws_parse(m, sizeof m, 1000, &f) == 8);
    CHECK(f.opcode == WS_BINARY && f.len == 2 && !memcmp(f.payload, "xy", 2));
    unsigned char *big = calloc(1, 4 + 300);
    big[0] = 0x01; /* text, not final */
    big[1] = 126;
    big[2] = 1;
    big[3] = 44;
    CHECK(ws_parse(big, 4 + 299, 1000, &f) == 0);
    CHECK(ws_parse(big, 4 + 300, 1000, &f) == 304 && !f.fin && f.len == 300);
    CHECK(ws_parse(big, 4 + 300, 299, &f) == -1); /* over max */
    big[0] = 0xC1;                                 /* RSV1 without an extension */
    CHECK(ws_parse(big, 4 + 300, 1000, &f) == -1);
    free(big);
}

static void test_response(void)
{
    const char *ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81";
    const char *no = "HTTP/1.1 403 Forbidden\r\n\r\n";
    CHECK(ws_response((const unsigned char *)ok, 20) == 0);
    CHECK(ws_response((const unsigned char *)ok, strlen(ok)) == (long)strlen(ok) - 1);
    CHECK(ws_response((const unsigned char *)no, strlen(no)) == -1);
    char req[512];
    size_t n = ws_request(req, sizeof req, "127.0.0.1", 80, "/v1/ws", "mqtt");
    CHECK(n > 0 && strstr(req, "Sec-WebSocket-Protocol: mqtt\r\n") && strstr(req, "\r\n\r\n"));
    CHECK(ws_request(req, 16, "127.0.0.1", 80, "/", NULL) == 0);
}

static void test_hist(void)
{
    static struct hist h;
    for (int i = 1; i <= 1000; i++)
        hist_add(&h, i * 1000); /* 1..1000 us */
    CHECK(h.count == 1000 && h.max == 1000000);
    uint64_t p50 = hist_quantile(&h, .5), p99 = hist_quantile(&h, .99);
    CHECK(p50 >= 500000 && p50 <= 504000); /* within one bucket (<1%) */
    CHECK(p99 >= 990000 && p99 <= 998000);
    CHECK(hist_quantile(&h, 1) == 1000000);
    hist_add(&h, -5);
    CHECK(hist_quantile(&h, 0) == 0);
    hist_add(&h, (int64_t)1 << 50); /* clamped, not out of bounds */
    CHECK(hist_quantile(&h, 1) == ((uint64_t)1 << HIST_MAX_BITS) - 1);
}

int main(void)
{
    test_header();
    test_parse();
    test_response();
    test_hist();
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    else
        printf("bench unit tests: ok\n");
    return failures != 0;
}
