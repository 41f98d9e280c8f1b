/* net loop: the event loop libwebsockets runs on. lws 4.1.6's own loop is poll(), which scans
 * every socket on every turn: half the server's CPU at 1000 sockets and most of it when idle
 * at 10,000 (bench/RESULTS.md). Here lws runs on libev's epoll backend instead, as a foreign
 * loop that we turn ourselves, so the end-of-turn work (net__flush) stays ours. libev is
 * included nowhere else. */
#include "net/net_int.h"

#include <ev.h>

static struct ev_loop *loop;
static ev_timer tick_w;
static void (*tick_fn)(void);

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l, (void)w, (void)revents;
    tick_fn();
}

void *net__loop_open(void (*tick)(void), int tick_ms)
{
    loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
    if (!loop)
        return NULL;
    tick_fn = tick;
    ev_timer_init(&tick_w, on_tick, tick_ms / 1000.0, tick_ms / 1000.0);
    ev_timer_start(loop, &tick_w);
    return loop;
}

void net__loop_once(void)
{
    ev_run(loop, EVRUN_ONCE);
}

void net__loop_close(void)
{
    if (loop) {
        ev_timer_stop(loop, &tick_w);
        ev_loop_destroy(loop);
    }
    loop = NULL;
}
