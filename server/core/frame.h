/* frame: one serialised server frame, refcounted so a fan-out shares a single copy among
 * every recipient queue. The bytes sit after FRAME_PRE bytes of headroom that the
 * WebSocket layer may use for its header. Loop thread only (the count is not atomic). */
#ifndef NATTER_FRAME_H
#define NATTER_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_PRE 32 /* >= LWS_PRE; net/ checks this at compile time */

enum frame_flags {
    FRAME_EPHEMERAL = 1, /* typing, presence: dropped first under backpressure, never replayed */
};

struct frame {
    uint32_t refs;
    uint32_t flags;
    uint64_t seq;        /* room seq for room-log events, else 0: lets a socket skip duplicates */
    size_t len;
    unsigned char buf[]; /* FRAME_PRE headroom, then len bytes, then a NUL */
};

/* A frame holding a copy of data[0..len) with one reference. NULL when out of memory. */
struct frame *frame_new(const void *data, size_t len, uint32_t flags);
static inline unsigned char *frame_payload(struct frame *f) { return f->buf + FRAME_PRE; }
static inline struct frame *frame_ref(struct frame *f) { f->refs++; return f; }
/* Drops one reference, frees at zero, and NULLs *fp. */
void frame_unref(struct frame **fp);

#endif
