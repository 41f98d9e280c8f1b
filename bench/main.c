/* natter-load: an open-loop WebSocket load generator for Natter and its peers (issue #3).
 *
 * Connects --conns sockets (at most 256 handshakes in flight), waits until every one is ready
 * (identified / subscribed), then publishes --rate messages per second spread evenly over the
 * senders on a fixed schedule (open loop: a slow server cannot slow the sending down). Each
 * payload carries its scheduled send time (CLOCK_MONOTONIC ns); latency is measured at every
 * receipt. Phases: settle 0.3 s, --warmup, --duration (the window), then up to --drain for the
 * stragglers. Only messages scheduled inside the window count. With --inflight W it runs closed
 * loop instead: each sender keeps W sends waiting for their acks (natter only; B7).
 * Output: one JSON line on stdout, one human line on stderr. See README.md. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "hist.h"
#include "sys.h"

#define MAX_HANDSHAKES 256
#define SETTLE_NS 300000000LL
#define MAX_LOGGED 10

struct gen_cfg gcfg;
struct room *g_rooms;
struct conn *g_conns;
char **g_tokens;
const struct adapter *g_ad;

struct snap {
    int64_t t, srv_ticks, self_ns;
    uint64_t polls, events, recvs;
    int64_t others;
    uint64_t rss_kb, hwm_kb;
    struct sys_cores cores;
};

enum phase { PH_SETUP, PH_RUN, PH_DRAIN, PH_DONE };

static struct {
    enum phase phase;
    uint32_t nrooms, nready, ndead, nsenders, next_start;
    uint32_t *senders;
    int64_t tsetup, tready, t0, tw, te, tdrain, tlast;
    uint64_t k, kchurn;
    uint64_t sent, sent_window, expected, delivered, other, acks, expected_acks, skipped;
    uint64_t errors, deaths, churns, logged;
    int64_t lag_max;
    uint64_t lag_over_1ms;
    struct hist lat, ack;
    struct snap b, e;
    uint64_t rss_base_kb;
    bool snapped_b, snapped_e, server_gone;
    const char *status;
} s;

static volatile sig_atomic_t stop;

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

size_t gen_payload(char *out, size_t cap, int64_t ts, uint32_t idx)
{
    int n = snprintf(out, cap, "t=%lld c=%u ", (long long)ts, idx);
    size_t len = gcfg.size > (size_t)n ? gcfg.size : (size_t)n;
    if (len >= cap)
        len = cap - 1;
    memset(out + n, 'x', len - (size_t)n);
    out[len] = 0;
    return len;
}

static int64_t parse_i64(const unsigned char *p, size_t n)
{
    int64_t v = 0;
    for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

static void log_once(const struct conn *c, const char *what, const unsigned char *d, size_t n)
{
    if (s.logged++ >= MAX_LOGGED)
        return;
    fprintf(stderr, "natter-load: conn %u: %s%s%.*s\n", c->idx, what, n ? ": " : "",
            (int)(n > 200 ? 200 : n), d ? (const char *)d : "");
    if (s.logged == MAX_LOGGED)
        fprintf(stderr, "natter-load: (further errors are only counted)\n");
}

/* ---- callbacks from net.c and the adapters ---- */

static void publish(struct conn *c, int64_t ts)
{
    if (c->state != CS_READY) {
        s.skipped++;
        return;
    }
    int64_t lag = now_ns() - ts;
    if (lag > s.lag_max)
        s.lag_max = lag;
    if (lag > 1000000)
        s.lag_over_1ms++;
    g_ad->publish(c, ts);
    s.sent++;
    if (gcfg.inflight)
        c->inflight++;
    if (ts >= s.tw && ts < s.te) {
        s.sent_window++;
        s.expected += g_rooms[c->room].members;
        if (g_ad->has_acks)
            s.expected_acks++;
    }
}

void gen_ready(struct conn *c)
{
    if (c->state != CS_SETUP)
        return;
    net_mark_ready(c);
    s.nready++;
    if (gcfg.inflight && s.phase == PH_RUN && c->sender)
        for (uint32_t i = c->inflight; i < gcfg.inflight; i++)
            publish(c, now_ns());
}

void gen_delivery(struct conn *c, const unsigned char *body, size_t n)
{
    if (n < 3 || body[0] != 't' || body[1] != '=') {
        gen_error(c, "delivery without a timestamp", body, n);
        return;
    }
    if (c->churn)
        return;
    int64_t ts = parse_i64(body + 2, n - 2);
    if (ts >= s.tw && ts < s.te && s.tw) {
        s.delivered++;
        hist_add(&s.lat, net_rx_now - ts);
        s.tlast = net_rx_now;
    } else {
        s.other++;
    }
}

void gen_ack(struct conn *c, const unsigned char *id, size_t n)
{
    int64_t ts = parse_i64(id, n);
    if (ts >= s.tw && ts < s.te && s.tw) {
        s.acks++;
        hist_add(&s.ack, net_rx_now - ts);
    }
    if (gcfg.inflight) {
        if (c->inflight)
            c->inflight--;
        int64_t now = now_ns();
        if (s.phase == PH_RUN && now >= s.t0 && now < s.te)
            publish(c, now);
    }
}

void gen_error(struct conn *c, const char *what, const unsigned char *d, size_t n)
{
    s.errors++;
    log_once(c, what, d, n);
}

void gen_dead(struct conn *c, const char *why)
{
    c->inflight = 0;
    if (s.phase == PH_SETUP)
        s.ndead++;
    else
        s.deaths++;
    log_once(c, why, NULL, 0);
}

/* ---- setup ---- */

static uint32_t room_index(const char *name, uint32_t *table, uint32_t mask)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        if (!table[i]) {
            table[i] = ++s.nrooms;
            memcpy(g_rooms[s.nrooms - 1].name, name, strlen(name) + 1);
            return s.nrooms - 1;
        }
        if (!strcmp(g_rooms[table[i] - 1].name, name))
            return table[i] - 1;
    }
}

/* natter: line i of the bench-setup file is "<access token> <room id>" for connection i. */
static int load_tokens(void)
{
    FILE *f = fopen(gcfg.tokens, "r");
    if (!f) {
        fprintf(stderr, "natter-load: %s: %s\n", gcfg.tokens, strerror(errno));
        return -1;
    }
    uint32_t cap = 1;
    while (cap < 2 * gcfg.conns)
        cap *= 2;
    uint32_t *table = calloc(cap, sizeof *table);
    char line[2048], room[sizeof g_rooms[0].name];
    uint32_t i = 0;
    while (i < gcfg.conns && table && fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        if (!sp || sscanf(sp + 1, "%23s", room) != 1)
            continue;
        *sp = 0;
        g_tokens[i] = strdup(line);
        g_conns[i].room = room_index(room, table, cap - 1);
        i++;
    }
    fclose(f);
    free(table);
    if (i < gcfg.conns) {
        fprintf(stderr, "natter-load: %s has %u usable lines, --conns is %u\n", gcfg.tokens, i,
                gcfg.conns);
        return -1;
    }
    return 0;
}

/* Peers: connection i is in room i / room_size; the churn pool gets rooms of its own. */
static void assign_rooms(uint32_t nreg)
{
    for (uint32_t i = 0; i < gcfg.conns; i++) {
        uint32_t r = i < nreg ? i / gcfg.room_size
                              : (nreg + gcfg.room_size - 1) / gcfg.room_size + (i - nreg) / gcfg.room_size;
        g_conns[i].room = r;
        snprintf(g_rooms[r].name, sizeof g_rooms[r].name, "r%u", r);
        if (r + 1 > s.nrooms)
            s.nrooms = r + 1;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Senders in an order that visits every room before any room twice, so consecutive messages
 * go to different rooms and no room gets its share in one burst. */
static int pick_senders(uint32_t nreg)
{
    uint32_t n = gcfg.senders && gcfg.senders < nreg ? gcfg.senders : nreg;
    uint32_t *rank = calloc(s.nrooms ? s.nrooms : 1, sizeof *rank);
    uint64_t *key = calloc(n ? n : 1, sizeof *key);
    s.senders = calloc(n ? n : 1, sizeof *s.senders);
    if (!rank || !key || !s.senders)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ci = (uint32_t)((uint64_t)i * nreg / n);
        g_conns[ci].sender = true;
        uint32_t r = g_conns[ci].room;
        key[i] = (uint64_t)rank[r]++ << 42 | (uint64_t)r << 21 | ci; /* rank, room, index */
    }
    qsort(key, n, sizeof *key, cmp_u64);
    for (uint32_t i = 0; i < n; i++)
        s.senders[i] = (uint32_t)(key[i] & ((1u << 21) - 1));
    s.nsenders = n;
    free(rank);
    free(key);
    return 0;
}

/* ---- the run ---- */

static void snap(struct snap *p, bool begin)
{
    if (begin)
        sys_others_begin(gcfg.server_pid, getpid());
    else
        p->others = sys_others_end();
    p->t = now_ns();
    p->self_ns = sys_self_cpu_ns();
    p->polls = net_polls;
    p->events = net_events;
    p->recvs = net_recvs;
    sys_cores_read(&p->cores);
    if (gcfg.server_pid) {
        p->srv_ticks = sys_proc_ticks(gcfg.server_pid);
        if (p->srv_ticks < 0 || sys_proc_mem(gcfg.server_pid, &p->rss_kb, &p->hwm_kb))
            s.server_gone = true;
    }
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Sends every message due by now (open loop); returns when the next one is due. Also called
 * from inside a long batch of events, so that reading cannot hold the schedule up. */
int64_t gen_tick(int64_t now)
{
    if (s.phase != PH_RUN || gcfg.inflight || gcfg.rate <= 0 || !s.nsenders || now < s.t0)
        return INT64_MAX;
    for (;;) {
        int64_t t = s.t0 + (int64_t)((double)s.k * 1e9 / gcfg.rate);
        if (t >= s.te)
            return INT64_MAX;
        if (t > now)
            return t;
        publish(&g_conns[s.senders[s.k % s.nsenders]], t);
        s.k++;
    }
}

/* One turn of the schedule; returns when it next needs to run. */
static int64_t step(int64_t now)
{
    int64_t next = now + 100000000; /* wake at least every 100 ms */
    switch (s.phase) {
    case PH_SETUP:
        while (s.next_start < gcfg.conns && net_handshakes < MAX_HANDSHAKES)
            net_start(&g_conns[s.next_start++]);
        if (s.nready == gcfg.conns) {
            s.tready = now;
            fprintf(stderr, "natter-load: %u connections ready in %.3f s\n", gcfg.conns,
                    (double)(now - s.tsetup) / 1e9);
            s.t0 = now + SETTLE_NS;
            s.tw = s.t0 + (int64_t)(gcfg.warmup * 1e9);
            s.te = s.tw + (int64_t)(gcfg.duration * 1e9);
            s.phase = PH_RUN;
            return s.t0;
        }
        if (s.nready + s.ndead == gcfg.conns || now - s.tsetup > (int64_t)(gcfg.setup_timeout * 1e9)) {
            s.status = "setup_failed";
            s.phase = PH_DONE;
        }
        return now + 10000000;
    case PH_RUN:
        if (now < s.t0)
            return s.t0;
        if (gcfg.inflight && !s.k) { /* closed loop: fill every sender's window once */
            s.k = 1;
            for (uint32_t i = 0; i < s.nsenders; i++)
                for (uint32_t j = g_conns[s.senders[i]].inflight; j < gcfg.inflight; j++)
                    publish(&g_conns[s.senders[i]], now_ns());
        }
        next = min64(next, gen_tick(now));
        if (gcfg.churn_conns && gcfg.churn_rate > 0) {
            for (;;) {
                int64_t t = s.t0 + (int64_t)((double)s.kchurn * 1e9 / gcfg.churn_rate);
                if (t >= s.te)
                    break;
                if (t > now) {
                    next = min64(next, t);
                    break;
                }
                /* Close one churn connection and open it again: one disconnect, one connect. */
                struct conn *c = &g_conns[gcfg.conns - gcfg.churn_conns + s.kchurn % gcfg.churn_conns];
                s.kchurn++;
                if (c->state == CS_READY) {
                    net_close(c, true);
                    s.nready--;
                    net_start(c);
                    s.churns++;
                }
            }
        }
        if (!s.snapped_b && now >= s.tw) {
            snap(&s.b, true);
            s.snapped_b = true;
        }
        if (now >= s.te) {
            snap(&s.e, false);
            s.snapped_e = true;
            s.phase = PH_DRAIN;
            s.tdrain = s.te + (int64_t)(gcfg.drain * 1e9);
            return now;
        }
        next = min64(next, s.snapped_b ? s.te : s.tw);
        return next;
    case PH_DRAIN:
        if ((s.delivered >= s.expected && s.acks >= s.expected_acks) || now >= s.tdrain)
            s.phase = PH_DONE;
        return min64(next, s.tdrain);
    case PH_DONE:
        break;
    }
    return now;
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static void report(void)
{
    double win = s.snapped_e ? (double)(s.e.t - s.b.t) / 1e9 : 0;
    double share = s.expected ? (double)s.delivered / (double)s.expected : (gcfg.rate > 0 ? 0 : 1);
    double dps = gcfg.duration > 0 ? (double)s.delivered / gcfg.duration : 0;
    double srv = -1, gen = -1, tps = (double)sys_ticks_per_s();
    if (win > 0) {
        gen = (double)(s.e.self_ns - s.b.self_ns) / 1e9 / win * 100;
        if (gcfg.server_pid && !s.server_gone)
            srv = (double)(s.e.srv_ticks - s.b.srv_ticks) / tps / win * 100;
    }
    double per_conn = gcfg.server_pid && s.e.rss_kb > s.rss_base_kb
                          ? (double)(s.e.rss_kb - s.rss_base_kb) * 1024.0 / gcfg.conns
                          : 0;
    const struct hist *h = &s.lat, *a = &s.ack;
    printf("{\"label\":\"%s\",\"proto\":\"%s\",\"status\":\"%s\",\"conns\":%u,\"rooms\":%u,"
           "\"senders\":%u,\"rate\":%.1f,\"inflight\":%u,\"size\":%u,\"window_s\":%.3f,"
           "\"connect_s\":%.3f,\"sent\":%" PRIu64 ",\"sent_window\":%" PRIu64
           ",\"expected\":%" PRIu64 ",\"delivered\":%" PRIu64 ",\"share\":%.6f,"
           "\"deliveries_per_s\":%.1f,\"msgs_per_s\":%.1f,",
           gcfg.label, g_ad->name, s.status, gcfg.conns, s.nrooms, s.nsenders, gcfg.rate, gcfg.inflight,
           gcfg.size, win, s.tready ? (double)(s.tready - s.tsetup) / 1e9 : -1, s.sent,
           s.sent_window, s.expected, s.delivered, share, dps,
           gcfg.duration > 0 ? (double)s.sent_window / gcfg.duration : 0);
    printf("\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
           "\"mean_ms\":%.3f,",
           ms(hist_quantile(h, .5)), ms(hist_quantile(h, .9)), ms(hist_quantile(h, .99)),
           ms(hist_quantile(h, .999)), ms(h->max), h->count ? ms(h->sum / h->count) : 0);
    printf("\"acks\":%" PRIu64 ",\"acks_per_s\":%.1f,\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,"
           "\"ack_max_ms\":%.3f,",
           s.acks, gcfg.duration > 0 ? (double)s.acks / gcfg.duration : 0, ms(hist_quantile(a, .5)),
           ms(hist_quantile(a, .99)), ms(a->max));
    printf("\"errors\":%" PRIu64 ",\"deaths\":%" PRIu64 ",\"skipped\":%" PRIu64
           ",\"other_deliveries\":%" PRIu64 ",\"churns\":%" PRIu64 ",\"drain_s\":%.3f,"
           "\"send_lag_max_ms\":%.3f,\"send_lag_over_1ms\":%" PRIu64 ",\"polls_per_s\":%.0f,"
           "\"events_per_poll\":%.2f,\"recvs_per_s\":%.0f,",
           s.errors, s.deaths, s.skipped, s.other, s.churns,
           s.tlast > s.te ? (double)(s.tlast - s.te) / 1e9 : 0, ms((uint64_t)s.lag_max),
           s.lag_over_1ms, win > 0 ? (double)(s.e.polls - s.b.polls) / win : 0,
           s.e.polls > s.b.polls ? (double)(s.e.events - s.b.events) / (double)(s.e.polls - s.b.polls) : 0,
           win > 0 ? (double)(s.e.recvs - s.b.recvs) / win : 0);
    printf("\"server_pid\":%d,\"server_cpu_pct\":%.1f,\"gen_cpu_pct\":%.1f,\"rss_base_kb\":%" PRIu64
           ",\"rss_start_kb\":%" PRIu64 ",\"rss_kb\":%" PRIu64 ",\"hwm_kb\":%" PRIu64
           ",\"rss_per_conn_b\":%.0f,\"other_cpu_pct\":%.1f,\"cores\":[",
           gcfg.server_pid, srv, gen, s.rss_base_kb, s.b.rss_kb, s.e.rss_kb, s.e.hwm_kb, per_conn,
           win > 0 ? (double)s.e.others / tps / win * 100 : -1);
    for (int i = 0; win > 0 && i < s.e.cores.n && i < s.b.cores.n; i++) {
        double tot = (double)(s.e.cores.total[i] - s.b.cores.total[i]);
        if (tot <= 0)
            tot = 1;
        printf("%s{\"busy\":%.1f,\"softirq\":%.1f}", i ? "," : "",
               (double)(s.e.cores.busy[i] - s.b.cores.busy[i]) / tot * 100,
               (double)(s.e.cores.softirq[i] - s.b.cores.softirq[i]) / tot * 100);
    }
    printf("]}\n");
    fflush(stdout);
    fprintf(stderr,
            "%s %s: %s, %.0f deliveries/s, %.2f%% delivered, latency ms p50 %.3f p90 %.3f "
            "p99 %.3f p99.9 %.3f max %.3f; acks/s %.0f; server CPU %.1f%%, generator CPU %.1f%%, "
            "RSS %" PRIu64 " kB (%.0f B/conn); errors %" PRIu64 ", deaths %" PRIu64 "\n",
            gcfg.label, g_ad->name, s.status, dps, share * 100, ms(hist_quantile(h, .5)),
            ms(hist_quantile(h, .9)), ms(hist_quantile(h, .99)), ms(hist_quantile(h, .999)),
            ms(h->max), gcfg.duration > 0 ? (double)s.acks / gcfg.duration : 0, srv, gen, s.e.rss_kb,
            per_conn, s.errors, s.deaths);
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (gen_parse_args(argc, argv))
        return 2;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl)) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < gcfg.conns + 32) {
            fprintf(stderr, "natter-load: %u connections need more than the %llu open files allowed\n",
                    gcfg.conns, (unsigned long long)rl.rlim_cur);
            return 2;
        }
    }
    gcfg.nonce = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 40);
    net_src_addrs = gcfg.src_addrs ? gcfg.src_addrs : 1 + gcfg.conns / 16000;

    uint32_t nreg = gcfg.conns - gcfg.churn_conns;
    g_conns = calloc(gcfg.conns, sizeof *g_conns);
    g_rooms = calloc(gcfg.conns, sizeof *g_rooms); /* at most one room per connection */
    g_tokens = calloc(gcfg.conns, sizeof *g_tokens);
    if (!g_conns || !g_rooms || !g_tokens || net_init())
        return 2;
    for (uint32_t i = 0; i < gcfg.conns; i++) {
        g_conns[i].fd = -1;
        g_conns[i].idx = i;
        g_conns[i].churn = i >= nreg;
    }
    if (gcfg.tokens && !strcmp(gcfg.proto, "natter")) {
        if (load_tokens())
            return 2;
    } else {
        assign_rooms(nreg);
    }
    for (uint32_t i = 0; i < nreg; i++)
        g_rooms[g_conns[i].room].members++;
    for (uint32_t i = nreg; i < gcfg.conns; i++)
        if (g_rooms[g_conns[i].room].members) {
            fprintf(stderr, "natter-load: churn connection %u shares a room with senders\n", i);
            return 2;
        }
    if (pick_senders(nreg))
        return 2;

    if (gcfg.server_pid) {
        uint64_t hwm;
        if (sys_proc_mem(gcfg.server_pid, &s.rss_base_kb, &hwm)) {
            fprintf(stderr, "natter-load: no process %d\n", gcfg.server_pid);
            return 2;
        }
    }
    s.status = "ok";
    s.tsetup = now_ns();
    while (s.phase != PH_DONE) {
        if (stop) {
            s.status = "interrupted";
            break;
        }
        int64_t now = now_ns(), next = step(now);
        if (s.phase == PH_DONE)
            break;
        if (net_poll(next - now_ns()) < 0) {
            s.status = "epoll_failed";
            break;
        }
    }
    if (!s.snapped_e && s.snapped_b)
        snap(&s.e, false);
    if (s.server_gone)
        s.status = "server_gone";
    if (!strcmp(s.status, "setup_failed"))
        fprintf(stderr, "natter-load: only %u of %u connections became ready (%u failed)\n",
                s.nready, gcfg.conns, s.ndead);
    report();
    double share = s.expected ? (double)s.delivered / (double)s.expected : 1;
    if (strcmp(s.status, "ok"))
        return 1;
    if (share < gcfg.min_share) {
        fprintf(stderr, "natter-load: %.4f%% delivered, under --min-share\n", share * 100);
        return 1;
    }
    if (gcfg.strict && (s.errors || s.deaths || s.skipped)) {
        fprintf(stderr, "natter-load: --strict: %" PRIu64 " errors, %" PRIu64 " lost connections\n",
                s.errors, s.deaths);
        return 1;
    }
    return 0;
}
