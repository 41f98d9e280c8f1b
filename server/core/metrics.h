/* metrics: process-wide counters for /metrics (Prometheus text). Loop thread only. */
#ifndef NATTER_METRICS_H
#define NATTER_METRICS_H

#include <stdint.h>

struct metrics {
    uint64_t ws_open, ws_opened_total, http_requests_total;
    uint64_t deliveries_total, frames_written_total, bytes_queued;
    uint64_t messages_total, acks_total, commits_jobs_total;
    uint64_t slow_consumer_closes_total, rate_limited_total, malformed_total;
    uint64_t logins_total, login_failures_total;
    uint64_t commit_wait_us_sum, commit_wait_count; /* submit -> done, per job */
};

extern struct metrics metrics;

#endif
