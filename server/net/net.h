/* net: the network edge on libwebsockets (its only includer): one port serving the web
 * client's files, the REST API, health and metrics, and the WebSocket at /v1/ws. It owns
 * the loop thread. Everything else reaches it through api/'s I/O table and loopq. */
#ifndef NATTER_NET_H
#define NATTER_NET_H

/* Runs the server until SIGTERM or SIGINT, then stops gracefully: new work is refused,
 * sockets close with 1001, `quiesce` runs (it must finish all background work, e.g. the
 * store writer and pools), what it handed back is drained, and the context is destroyed.
 * Returns the process exit code. */
int net_run(void (*quiesce)(void));

#endif
