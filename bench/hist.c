/* Log-linear histogram: see hist.h. */
#include "hist.h"

#include <math.h>

#define SUB (1u << HIST_SUB_BITS)

static unsigned index_of(uint64_t v)
{
    if (v < SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - HIST_SUB_BITS;
    return SUB + shift * SUB + (unsigned)(v >> shift) - SUB;
}

/* The largest value that maps to bucket i. */
static uint64_t upper_of(unsigned i)
{
    if (i < SUB)
        return i;
    unsigned shift = (i - SUB) / SUB, sub = (i - SUB) % SUB;
    return ((uint64_t)(SUB + sub + 1) << shift) - 1;
}

void hist_add(struct hist *h, int64_t v)
{
    uint64_t u = v < 0 ? 0 : (uint64_t)v;
    if (u >= (1ull << HIST_MAX_BITS))
        u = (1ull << HIST_MAX_BITS) - 1;
    h->b[index_of(u)]++;
    h->count++;
    h->sum += u;
    if (u > h->max)
        h->max = u;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)h->count), seen = 0;
    if (want < 1)
        want = 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            uint64_t v = upper_of(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}
