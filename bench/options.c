/* natter-load options: see usage() and README.md. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static void usage(void)
{
    fprintf(stderr,
        "usage: natter-load --proto natter|ws|mqtt|nats --port N [options]\n"
        "  --host IPV4          server address (127.0.0.1)\n"
        "  --conns N            connections (1000)\n"
        "  --room-size M        members per room for the peers (10); natter reads rooms from --tokens\n"
        "  --tokens FILE        natter: `natter admin bench-setup` output, one line per connection\n"
        "  --rate R             messages per second in all, open loop (0: idle)\n"
        "  --senders S          connections that send (all but the churn pool)\n"
        "  --inflight W         closed loop instead: W unacked sends per sender (natter only)\n"
        "  --size B             payload bytes, timestamp included (100)\n"
        "  --warmup S --duration S --drain S   phases in seconds (2, 10, 5)\n"
        "  --setup-timeout S    connect and identify deadline (60)\n"
        "  --churn-conns C --churn-rate R   the last C connections reconnect R times/s in all\n"
        "  --src-addrs N        spread over 127.0.0.1..N (auto: 1 per 16000 connections)\n"
        "  --server-pid PID     measure this process's CPU and RSS over the window\n"
        "  --label NAME         tag for the JSON line\n"
        "  --min-share X        exit 1 if under this share delivered (0..1)\n"
        "  --strict             exit 1 on any error frame or lost connection\n");
}

int gen_parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
        {"proto", 1, 0, 'P'}, {"host", 1, 0, 'H'}, {"port", 1, 0, 'p'},
        {"conns", 1, 0, 'c'}, {"room-size", 1, 0, 'm'}, {"tokens", 1, 0, 't'},
        {"rate", 1, 0, 'r'}, {"senders", 1, 0, 's'}, {"inflight", 1, 0, 'w'},
        {"size", 1, 0, 'b'}, {"warmup", 1, 0, 'W'}, {"duration", 1, 0, 'd'},
        {"drain", 1, 0, 'D'}, {"setup-timeout", 1, 0, 'T'}, {"churn-conns", 1, 0, 'C'},
        {"churn-rate", 1, 0, 'R'}, {"src-addrs", 1, 0, 'A'}, {"server-pid", 1, 0, 'S'},
        {"label", 1, 0, 'L'}, {"min-share", 1, 0, 'M'}, {"strict", 0, 0, 'X'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    gcfg = (struct gen_cfg){.host = "127.0.0.1", .proto = "natter", .label = "run", .size = 100,
                            .conns = 1000, .room_size = 10, .warmup = 2, .duration = 10,
                            .drain = 5, .setup_timeout = 60};
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'P': gcfg.proto = optarg; break;
        case 'H': gcfg.host = optarg; break;
        case 'p': gcfg.port = atoi(optarg); break;
        case 'c': gcfg.conns = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'm': gcfg.room_size = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 't': gcfg.tokens = optarg; break;
        case 'r': gcfg.rate = atof(optarg); break;
        case 's': gcfg.senders = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'w': gcfg.inflight = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'b': gcfg.size = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'W': gcfg.warmup = atof(optarg); break;
        case 'd': gcfg.duration = atof(optarg); break;
        case 'D': gcfg.drain = atof(optarg); break;
        case 'T': gcfg.setup_timeout = atof(optarg); break;
        case 'C': gcfg.churn_conns = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'R': gcfg.churn_rate = atof(optarg); break;
        case 'A': gcfg.src_addrs = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'S': gcfg.server_pid = atoi(optarg); break;
        case 'L': gcfg.label = optarg; break;
        case 'M': gcfg.min_share = atof(optarg); break;
        case 'X': gcfg.strict = true; break;
        default: usage(); return -1;
        }
    }
    static const struct adapter *const all[] = {&adapter_natter, &adapter_ws, &adapter_mqtt,
                                                &adapter_nats};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(gcfg.proto, all[i]->name))
            g_ad = all[i];
    const char *bad = !g_ad                                 ? "unknown --proto"
                      : gcfg.port <= 0 || gcfg.port > 65535 ? "--port is required"
                      : !gcfg.conns || gcfg.conns > 1000000       ? "--conns out of range"
                      : !gcfg.room_size                        ? "--room-size must be > 0"
                      : gcfg.churn_conns >= gcfg.conns            ? "--churn-conns must leave senders"
                      : gcfg.size < 32 || gcfg.size > 4000  ? "--size must be 32..4000"
                      : gcfg.rate < 0 || gcfg.duration <= 0       ? "bad --rate or --duration"
                      : gcfg.inflight && !g_ad->has_acks       ? "--inflight needs acks (natter)"
                      : !strcmp(gcfg.proto, "natter") && !gcfg.tokens ? "natter needs --tokens"
                                                                   : NULL;
    if (bad) {
        fprintf(stderr, "natter-load: %s\n", bad);
        usage();
        return -1;
    }
    return 0;
}

