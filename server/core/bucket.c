/* bucket: the classic continuous-refill token bucket. */
#include "core/bucket.h"

#include <math.h>
#include <string.h>
#include <time.h>

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t bucket_take(struct bucket *b, double per_s, double burst, int64_t now)
{
    if (b->last_ms == 0) {
        b->tokens = burst;
    } else {
        b->tokens += (double)(now - b->last_ms) * per_s / 1000.0;
        if (b->tokens > burst)
            b->tokens = burst;
    }
    b->last_ms = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    if (per_s <= 0)
        return 3600 * 1000;
    int64_t wait = (int64_t)ceil((1.0 - b->tokens) * 1000.0 / per_s);
    return wait < 1 ? 1 : wait;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ? h : 1;
}

int64_t bucket_table_take(struct bucket_table *t, const char *key, double per_s, double burst,
                          int64_t now)
{
    uint64_t h = fnv1a(key);
    size_t i = (size_t)(h % BUCKET_TABLE_SIZE);
    if (t->slot[i].key != h) {
        /* Evict only a bucket that would have refilled anyway, so no key can be reset by a
         * collision while it is still being throttled. Otherwise share the slot. */
        struct bucket *b = &t->slot[i].b;
        double refill = b->last_ms ? b->tokens + (double)(now - b->last_ms) * per_s / 1000.0 : burst;
        if (refill >= burst) {
            t->slot[i].key = h;
            memset(b, 0, sizeof *b);
        }
    }
    return bucket_take(&t->slot[i].b, per_s, burst, now);
}
