/* fuzz_benchws: libFuzzer harness for natter-load's reading side (bench/ws.h): ws_response on
 * the upgrade answer and ws_parse on the frames that follow, as the load tool reads whatever a
 * server sends. It must never crash, and it aborts when a result breaks ws.h's contract: a head
 * length only for a complete "HTTP/1.1 101" head; each frame inside the bytes given, no payload
 * over max, and progress on every frame. */
#include "ws.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    long head = ws_response(buf, size);
    if (head > 0 && ((size_t)head > size || head < 16 || memcmp(buf, "HTTP/1.1 101", 12) != 0 ||
                     buf[head - 1] != '\n'))
        abort();
    /* The frames: after a 101 head, or the whole input when there is none. */
    size_t at = head > 0 ? (size_t)head : 0;
    struct ws_frame f;
    long n;
    while (at < size && (n = ws_parse(buf + at, size - at, MAX, &f)) > 0) {
        if ((size_t)n > size - at || f.len > MAX || f.payload < buf + at ||
            f.payload + f.len > buf + at + n || f.opcode < 0 || f.opcode > 15)
            abort();
        at += (size_t)n;
    }
    free(buf);
    return 0;
}
