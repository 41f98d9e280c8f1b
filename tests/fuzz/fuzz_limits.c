/* fuzz_limits: libFuzzer harness for cfg_set_limits, the parser of --limit and NATTER_LIMITS
 * ("name=value,name=value"). Each input starts from the defaults. It must never crash, and it
 * aborts when a result breaks cfg.h's contract: 0, or -1 with a message in err; no limit ever
 * negative; and on success, applying the items one at a time gives the same limits. */
#include "core/cfg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[NATTER_ERR_LEN] = "", *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    for (int i = 0; i < LIM__COUNT; i++)
        cfg.limits[i] = cfg_limit_default(i);
    int rc = cfg_set_limits(s, err);
    if ((rc != 0 && rc != -1) || (rc == -1 && !err[0]) || strnlen(err, sizeof err) == sizeof err)
        abort();
    for (int i = 0; i < LIM__COUNT; i++)
        if (cfg.limits[i] < 0)
            abort();
    if (rc == 0) {
        /* The same items applied one at a time, in order, end in the same limits. */
        int64_t whole[LIM__COUNT];
        memcpy(whole, cfg.limits, sizeof whole);
        for (int i = 0; i < LIM__COUNT; i++)
            cfg.limits[i] = cfg_limit_default(i);
        for (char *item = s, *next; item; item = next) {
            if ((next = strchr(item, ',')))
                *next++ = '\0';
            if (*item && cfg_set_limits(item, err) != 0)
                abort();
        }
        if (memcmp(whole, cfg.limits, sizeof whole) != 0)
            abort();
    }
    free(s);
    return 0;
}
