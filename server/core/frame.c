/* frame: a single allocation per frame: header, headroom, bytes. */
#include "core/frame.h"

#include <stdlib.h>
#include <string.h>

struct frame *frame_new(const void *data, size_t len, uint32_t flags)
{
    struct frame *f = malloc(sizeof *f + FRAME_PRE + len + 1);
    if (!f)
        return NULL;
    f->refs = 1;
    f->flags = flags;
    f->seq = 0;
    f->len = len;
    memcpy(f->buf + FRAME_PRE, data, len);
    f->buf[FRAME_PRE + len] = '\0';
    return f;
}

void frame_unref(struct frame **fp)
{
    struct frame *f = *fp;
    *fp = NULL;
    if (f && --f->refs == 0)
        free(f);
}
