/* net: the libwebsockets context (protocols, mounts, TLS), the loop's tick, the wake-up path
 * for other threads (loopq -> lws_cancel_service), and the graceful stop. */
#include "net/net_int.h"

#include <signal.h>
#include <string.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/loopq.h"

struct lws_context *net__ctx;
uint64_t net__next_id = 1;
int net__stopping;
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
    if (net__ctx)
        lws_cancel_service(net__ctx); /* writes to lws's wake pipe */
}

static void wake(void *unused)
{
    (void)unused;
    lws_cancel_service(net__ctx);
}

static void deliver(struct hub_conn *hc, struct frame *f) { net__send((struct api_conn *)hc, f); }

/* The chat protocol also receives the plain-HTTP callbacks of the vhost default protocol. */
static int cb_chat(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        loopq_drain();
        return 0; /* never non-zero here: it would close lws's wake pipe */
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return net__cb_http(wsi, reason, user, in, len);
    default:
        return net__cb_chat(wsi, reason, user, in, len);
    }
}

static struct lws_protocols protocols[] = {
    {"http", net__cb_http, 0, 0, 0, NULL, 0},
    {"natter.v1", cb_chat, sizeof(struct conn), 1024, 0, NULL, 1 << 20},
    {"api", net__cb_api, sizeof(struct http_req), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Bots and tests may offer no subprotocol: natter.v1 is the default. */
static const struct lws_protocol_vhost_options pvo_default = {NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options pvo = {NULL, &pvo_default, "natter.v1", ""};

static struct lws_http_mount m_metrics = {
    .mountpoint = "/metrics", .origin = "api", .origin_protocol = LWSMPRO_CALLBACK, .mountpoint_len = 8};
static struct lws_http_mount m_ready = {.mount_next = &m_metrics, .mountpoint = "/readyz",
    .origin = "api", .origin_protocol = LWSMPRO_CALLBACK, .mountpoint_len = 7};
static struct lws_http_mount m_health = {.mount_next = &m_ready, .mountpoint = "/healthz",
    .origin = "api", .origin_protocol = LWSMPRO_CALLBACK, .mountpoint_len = 8};
static struct lws_http_mount m_api = {.mount_next = &m_health, .mountpoint = "/api",
    .origin = "api", .origin_protocol = LWSMPRO_CALLBACK, .mountpoint_len = 4};
static struct lws_http_mount m_root = {.mount_next = &m_api, .mountpoint = "/",
    .def = "index.html", .origin_protocol = LWSMPRO_FILE, .mountpoint_len = 1,
    .cache_max_age = 60, .cache_reusable = 1, .cache_revalidate = 1};

static const struct api_io io = {
    .find = net__find,
    .send = net__send,
    .send_text = net__send_text,
    .close = net__close,
    .http_reply = net__http_reply,
};

static void lws_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        n--;
    if (level & LLL_ERR)
        LOG_ERR("lws: %.*s", (int)n, line);
    else
        LOG_WARN("lws: %.*s", (int)n, line);
}

/* The loop's tick. lws 4.1.6 on libev services its timers (ours, and its own: handshake and
 * close timeouts, async kills) only after a socket event or when its libev timer fires, and
 * it cannot move that timer earlier while it is armed (it calls ev_timer_set on an active
 * watcher), so a timer scheduled later but due sooner waits for the armed one. A wake-up through
 * lws's own pipe is a socket event: each tick makes one. Our periodic work runs from the
 * tick too, on our clock. */
#define TICK_MS 50
static int64_t next_api, next_sweep;

static void on_tick(void)
{
    int64_t now = now_ms();
    lws_cancel_service(net__ctx);
    if (now >= next_api) {
        api_tick(); /* outbox, call polling */
        next_api = now + 250;
    }
    if (now >= next_sweep) {
        /* heartbeats and identify deadlines: a quarter of the shorter interval, up to 1 s */
        int64_t hb = lim(LIM_HEARTBEAT_MS), auth = lim(LIM_AUTH_TIMEOUT_MS);
        int64_t ms = (hb < auth ? hb : auth) / 4;
        net__sweep();
        next_sweep = now + (ms > 1000 ? 1000 : ms);
    }
}

static bool is_loopback(const char *host)
{
    return !strcmp(host, "127.0.0.1") || !strcmp(host, "localhost") || !strcmp(host, "::1");
}

int net_run(void (*quiesce)(void))
{
    struct lws_context_creation_info info;
    static const lws_retry_bo_t retry; /* all zero: no lws ping timers (see net__sweep) */

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
    map_init(&net__conns);
    map_init(&net__reqs);
    hub_set_sink(deliver);
    m_root.origin = cfg.web_root;

    memset(&info, 0, sizeof info);
    info.port = cfg.listen_port;
    info.iface = strcmp(cfg.listen_host, "0.0.0.0") ? cfg.listen_host : NULL;
    info.protocols = protocols;
    info.pvo = &pvo;
    info.mounts = &m_root;
    info.retry_and_idle_policy = &retry;
    info.max_http_header_data = 8192;
    info.pt_serv_buf_size = 32768;
    void *loops[1] = {net__loop_open(on_tick, TICK_MS)};
    if (!loops[0]) {
        LOG_ERR("cannot create the event loop (epoll)");
        return 1;
    }
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    if (cfg.tls_cert[0]) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg.tls_cert;
        info.ssl_private_key_filepath = cfg.tls_key;
        info.alpn = "http/1.1";
    } else if (!is_loopback(cfg.listen_host)) {
        LOG_WARN("listening on %s without TLS: put a TLS-terminating proxy in front",
                 cfg.listen_host);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!(net__ctx = lws_create_context(&info))) {
        LOG_ERR("cannot listen on %s:%d (or lws could not load its libev plugin: "
                "package libwebsockets-evlib-ev)", cfg.listen_host, cfg.listen_port);
        net__loop_close();
        return 1;
    }
    /* On a foreign loop, lws finishes its start (protocol init, which sets natter.v1 as the
     * default protocol) from a timer that only runs after the first socket event: a client
     * that connects first is bound to the http protocol and never gets hello. Finish it now. */
    lws_state_transition_steps(lws_system_get_state_manager(net__ctx), LWS_SYSTATE_OPERATIONAL);
    loopq_set_wake(wake, NULL);
    if (api_open(&io)) {
        LOG_ERR("cannot start the api");
        loopq_set_wake(NULL, NULL);
        lws_context_destroy(net__ctx);
        net__loop_close();
        return 1;
    }
    LOG_NOTICE("listening on %s://%s:%d (web root %s, public url %s)",
               cfg.tls_cert[0] ? "https" : "http", cfg.listen_host, cfg.listen_port,
               cfg.web_root, cfg.public_url);

    while (!got_signal) {
        net__loop_once();
        loopq_drain();
        net__flush();
    }

    LOG_NOTICE("stopping: closing %llu sockets", (unsigned long long)net__conns.len);
    net__stopping = 1;
    api_draining();
    net__close_all();
    int64_t deadline = now_ms() + 500;
    while (net__conns.len && now_ms() < deadline) {
        net__loop_once();
        loopq_drain();
        net__flush();
    }
    quiesce();
    api_close();
    loopq_set_wake(NULL, NULL);
    lws_context_destroy(net__ctx);
    net__ctx = NULL;
    net__loop_close();
    map_cleanup(&net__conns);
    map_cleanup(&net__reqs);
    net__flush_cleanup();
    LOG_NOTICE("stopped");
    return 0;
}
