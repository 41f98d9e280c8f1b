/* bucket: token-bucket rate limits, one per user or socket, and a bounded table of
 * buckets keyed by a string (an IP, an email). Loop thread only. */
#ifndef NATTER_BUCKET_H
#define NATTER_BUCKET_H

#include <stdint.h>

struct bucket {
    double tokens;
    int64_t last_ms; /* 0: never used, starts full */
};

/* Takes one token at now_ms, refilling `per_s` tokens a second up to `burst`.
 * Returns 0 when allowed, else the milliseconds until a token is due (>= 1). */
int64_t bucket_take(struct bucket *b, double per_s, double burst, int64_t now_ms);

/* A fixed-size table: a key that collides with a full-and-idle entry replaces it, so
 * the table never grows and a forgotten key only ever gets a fresh (full) bucket. */
#define BUCKET_TABLE_SIZE 4096
struct bucket_table {
    struct {
        uint64_t key;
        struct bucket b;
    } slot[BUCKET_TABLE_SIZE];
};

int64_t bucket_table_take(struct bucket_table *t, const char *key, double per_s, double burst,
                          int64_t now_ms);

/* Monotonic clock in milliseconds. */
int64_t now_ms(void);
/* The same clock in microseconds. */
int64_t mono_us(void);

#endif
