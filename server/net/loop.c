/* net loop: the event loop libwebsockets runs on. lws 4.1.6's own loop is poll(), which scans
 * every socket on every turn: half the server's CPU at 1000 sockets and most of it when idle
 * at 10,000 (bench/RESULTS.md). Here lws runs on libev's epoll backend instead, as a foreign
 * loop that we turn ourselves, so the end-of-turn work (net__flush) stays ours. libev is
 * included nowhere else. */
#include "net/net_int.h"

#include <ev.h>

static struct ev_loop *loop;

void *net__loop_open(void)
{
    loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
    return loop;
}

void net__loop_once(void)
{
    ev_run(loop, EVRUN_ONCE);
}

void net__loop_close(void)
{
    if (loop)
        ev_loop_destroy(loop);
    loop = NULL;
}
