/* sbuf: a growable byte buffer for building JSON text and responses. Out of memory is
 * sticky: later appends are no-ops and sbuf_failed() tells. Any thread, one owner. */
#ifndef NATTER_SBUF_H
#define NATTER_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

void sbuf_init(struct sbuf *b);
void sbuf_cleanup(struct sbuf *b);
void sbuf_reset(struct sbuf *b); /* len = 0, keeps the memory */
void sbuf_add(struct sbuf *b, const void *p, size_t n);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_add_i64(struct sbuf *b, int64_t v); /* decimal, without printf */
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s[0..n) as a JSON string literal, quotes included. s must be valid UTF-8. */
void sbuf_add_json_str(struct sbuf *b, const char *s, size_t n);
static inline bool sbuf_failed(const struct sbuf *b) { return b->oom; }
/* NUL-terminated contents; "" when empty. */
const char *sbuf_str(struct sbuf *b);

#endif
