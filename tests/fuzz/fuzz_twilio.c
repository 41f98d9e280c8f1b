/* fuzz_twilio: libFuzzer harness for api__twilio_answer, the one reader of what Twilio's Rooms
 * API (or whatever answers at --twilio-base-url) sends back. The first byte picks the HTTP
 * status ('0'..'7': none, 200, 201, 400, 404, 429, 500, 503), the rest is the body. It must never
 * crash, and it aborts when a result breaks the header's contract: a sid only from a 200 or 201
 * and only in Twilio's own shape (it goes into later URLs and into call.started), "exists" only
 * from a 400, "completed" only with a sid, and the same answer every time. */
#include "api/api_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[8] = {0, 200, 201, 400, 404, 429, 500, 503};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct twilio_answer a, again;
    long status = size ? statuses[data[0] % 8] : 0;
    const char *body = size ? (const char *)data + 1 : "";
    size_t len = size ? size - 1 : 0;

    api__twilio_answer(status, body, len, &a);
    size_t n = strnlen(a.sid, sizeof a.sid);
    if (n == sizeof a.sid)
        abort(); /* not terminated */
    if (n && (n != 34 || memcmp(a.sid, "RM", 2) != 0 ||
              strspn(a.sid + 2, "0123456789abcdefABCDEF") != 32 || (status != 200 && status != 201)))
        abort();
    if ((a.exists && status != 400) || (a.completed && !n))
        abort();
    api__twilio_answer(status, body, len, &again);
    if (memcmp(&a, &again, sizeof a) != 0)
        abort();
    return 0;
}
