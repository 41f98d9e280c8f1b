/* A log-linear latency histogram in the style of HdrHistogram: 128 linear sub-buckets per power
 * of two, so every recorded value is kept to within 0.8%. Values are nanoseconds. */
#ifndef NATTER_BENCH_HIST_H
#define NATTER_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_MAX_BITS 40 /* values up to 2^40 ns (18 minutes); larger ones are clamped */
#define HIST_BUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS + 1) << HIST_SUB_BITS)

struct hist {
    uint64_t count, max, sum;
    uint64_t b[HIST_BUCKETS];
};

void hist_add(struct hist *h, int64_t v);
/* The value at quantile q (0..1): the upper edge of the bucket holding it, never above max. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
