#!/usr/bin/env bash
# bench/run.sh: runs the workloads of BENCHMARKS.md (B0-B7) against Natter and its peers on one
# machine (server on core 0, natter-load on core 1), 3 runs each, and prints one table of medians.
#
#   bench/run.sh                 everything (about an hour)
#   bench/run.sh --quick         short windows, 1 run each
#   bench/run.sh --only B2,B3    some workloads     --systems natter,mqtt   some systems
#   bench/run.sh --smoke         Natter only, 20 users, 2 rooms, 200 messages; exit 1 unless all
#                                were delivered (ctest bench.smoke; no install, no build)
# Other options: --runs N, --out DIR (keeps results.jsonl and logs), --no-build,
# --quiet-wait S (before each run, wait up to S s (120) for cores 0 and 1 to be >= 90% idle).
# Environment: NATTER_BIN, NATTER_LOAD (binaries; default build-rel/), BENCH_BASE_PORT (18000).
# Everything listens on 127.0.0.1; every wait is bounded; servers we start are killed on exit.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=${NATTER_BENCH_BUILD:-$ROOT/build-rel}
NATTER_BIN=${NATTER_BIN:-$BUILD/server/natter}
NATTER_LOAD=${NATTER_LOAD:-$BUILD/bench/natter-load}
BASE=${BENCH_BASE_PORT:-18000}

# Server on core 0, generator on core 1 (no pinning on a one-core host).
if [ "$(nproc)" -ge 2 ]; then PIN0=(taskset -c 0) PIN1=(taskset -c 1); else PIN0=() PIN1=(); fi
QUIET_WAIT=120 QUICK=0 SMOKE=0 BUILD_IT=1 RUNS=3 ONLY="" SYSTEMS="natter,ws,mqtt,nats" OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1; RUNS=1 ;;
    --smoke) SMOKE=1; RUNS=1; BUILD_IT=0; ONLY=SMOKE; SYSTEMS=natter ;;
    --only) ONLY=$2; shift ;;
    --systems) SYSTEMS=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-build) BUILD_IT=0 ;;
    --quiet-wait) QUIET_WAIT=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$ONLY" ] || ONLY="B0,B1,B2,B3,B4,B5,B6,B7,C19K"

WORK=$(mktemp -d /tmp/natter-bench.XXXXXX)
OUT=${OUT:-$WORK}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
DATA_ROOT=$WORK # where each run's copy of the natter database lives
: >"$RESULTS"
PIDS=()

GEN_PID=""
cleanup() {
    local p
    [ -n "$GEN_PID" ] && kill "$GEN_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "/dev/shm/natter-bench.$$" "$WORK"/natter-* "$WORK/data"
    # Keep the results (and logs) only when they are in $WORK and this is not the smoke test.
    if [ "$OUT" != "$WORK" ] || [ "$SMOKE" = 1 ]; then rm -rf "$WORK"; fi
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[run.sh $(date -u +%H:%M:%S)] $*" >&2; }
has() { case ",$2," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# ---- install and build ----
if [ "$SMOKE" = 0 ]; then
    need=()
    has mqtt "$SYSTEMS" && ! command -v mosquitto >/dev/null && need+=(mosquitto)
    has nats "$SYSTEMS" && ! command -v nats-server >/dev/null && need+=(nats-server)
    if [ ${#need[@]} -gt 0 ]; then
        log "installing ${need[*]}"
        apt-get install -y "${need[@]}" >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && apt-get install -y "${need[@]}" >/dev/null 2>&1; } ||
            log "could not install ${need[*]}"
    fi
    if has ws "$SYSTEMS" && ! (cd "$ROOT" && node -e "require('ws')" 2>/dev/null); then
        log "node ws missing: running npm ci at the repo root"
        (cd "$ROOT" && npm ci --silent) || log "npm ci failed: the ws peer will be skipped"
    fi
fi
if [ "$BUILD_IT" = 1 ]; then
    log "building into $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$WORK/cmake.log" 2>&1
    cmake --build "$BUILD" -j2 --target natter natter-load >>"$WORK/cmake.log" 2>&1 ||
        { tail -20 "$WORK/cmake.log" >&2; exit 1; }
fi
[ -x "$NATTER_BIN" ] && [ -x "$NATTER_LOAD" ] || { echo "run.sh: build $NATTER_BIN and $NATTER_LOAD first" >&2; exit 1; }

SYS_OK=""
for s in ${SYSTEMS//,/ }; do
    case $s in
    natter) SYS_OK+="natter," ;;
    ws) (cd "$ROOT" && node -e "require('ws')" 2>/dev/null) && SYS_OK+="ws," || log "skipping ws: no node ws" ;;
    mqtt) command -v mosquitto >/dev/null && SYS_OK+="mqtt," || log "skipping mosquitto: not installed" ;;
    nats) command -v nats-server >/dev/null && SYS_OK+="nats," || log "skipping nats: not installed" ;;
    *) log "unknown system $s" ;;
    esac
done

# Raised Natter limits (README.md says why). Persistence and acks stay as shipped.
NATTER_LIMITS=(--limit send_per_s=1000000 --limit send_burst=1000000
    --limit identify_per_s=1000000 --limit identify_burst=1000000 --limit conns_per_user=100
    --limit queue_hard=67108864 --limit max_connections=19500)

NATTER_XARGS=() # more server arguments for one workload (B6's small-cache run)

P_NATTER=$BASE P_WS=$((BASE + 1)) P_MQTT_TCP=$((BASE + 2)) P_MQTT=$((BASE + 3))
P_NATS_TCP=$((BASE + 4)) P_NATS=$((BASE + 5))
sed -e "s/^listener 1883 /listener $P_MQTT_TCP /" -e "s/^listener 9001 /listener $P_MQTT /" \
    "$HERE/peers/mosquitto.conf" >"$WORK/mosquitto.conf"
sed -e "s/127.0.0.1:4222/127.0.0.1:$P_NATS_TCP/" -e "s/127.0.0.1:8083/127.0.0.1:$P_NATS/" \
    "$HERE/peers/nats.conf" >"$WORK/nats.conf"

# wait_for LOGFILE PATTERN PID: up to 10 s for the server's ready line.
wait_for() {
    local i
    for i in $(seq 1 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_server SYSTEM LOG [DATADIR]: sets SRV_PID and SRV_PORT.
start_server() {
    case $1 in
    natter)
        "${PIN0[@]}" "$NATTER_BIN" --listen "127.0.0.1:$P_NATTER" --data-dir "$3" \
            --password-cost min "${NATTER_LIMITS[@]}" "${NATTER_XARGS[@]}" 2>"$2" &
        SRV_PID=$! SRV_PORT=$P_NATTER; PIDS+=("$SRV_PID")
        wait_for "$2" "listening on" "$SRV_PID" ;;
    ws)
        (cd "$ROOT" && exec "${PIN0[@]}" node "$HERE/peers/ws-room-server.js" "$P_WS") 2>"$2" &
        SRV_PID=$! SRV_PORT=$P_WS; PIDS+=("$SRV_PID")
        wait_for "$2" "listening on" "$SRV_PID" ;;
    mqtt)
        "${PIN0[@]}" mosquitto -c "$WORK/mosquitto.conf" 2>"$2" &
        SRV_PID=$! SRV_PORT=$P_MQTT; PIDS+=("$SRV_PID")
        local i
        for i in $(seq 1 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$P_MQTT") 2>/dev/null && return 0
            sleep 0.1
        done
        return 1 ;;
    nats)
        GOMAXPROCS=1 "${PIN0[@]}" nats-server -c "$WORK/nats.conf" 2>"$2" &
        SRV_PID=$! SRV_PORT=$P_NATS; PIDS+=("$SRV_PID")
        wait_for "$2" "Server is ready" "$SRV_PID" ;;
    esac
}

stop_server() {
    local i
    kill "$SRV_PID" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
}

# natter_setup USERS GROUP_SIZE: a data dir with USERS bench users and their tokens, made once
# per shape and copied for every run (each run starts from the same fresh database).
natter_setup() {
    local d=$WORK/natter-$1-$2
    if [ ! -f "$d.tokens" ]; then
        "$NATTER_BIN" --data-dir "$d" --log-level error --limit token_ttl_s=86400 \
            admin bench-setup "$1" "$2" "$d.tokens" >/dev/null
    fi
    SETUP_DIR=$d SETUP_TOKENS=$d.tokens
}

# busy_pct: the busier of cores 0 and 1 over the next second, in percent.
busy_pct() {
    local a b
    a=$(grep -E '^cpu[01] ' /proc/stat)
    sleep 1
    b=$(grep -E '^cpu[01] ' /proc/stat)
    printf '%s\n%s\n' "$a" "$b" | awk '
        { t = 0; for (i = 2; i <= 9; i++) t += $i; idle = $5 + $6
          if ($1 in T) { d = t - T[$1]; u = d > 0 ? 100 * (d - (idle - I[$1])) / d : 0; if (u > m) m = u }
          T[$1] = t; I[$1] = idle }
        END { printf "%d\n", m }'
}

# wait_quiet: the rig rule "nothing else is running", enforced as far as we can: wait (bounded)
# until both cores are >= 90% idle, and say so in the log when we gave up.
wait_quiet() {
    local i b=100
    [ "$QUIET_WAIT" -gt 0 ] || return 0
    for i in $(seq 1 "$QUIET_WAIT"); do
        b=$(busy_pct)
        [ "$b" -le 10 ] && return 0
    done
    log "cores still ${b}% busy after ${QUIET_WAIT}s of waiting: this run shares the machine"
}

# one LABEL SYSTEM USERS GROUP_SIZE -- natter-load args...: a fresh server, one generator run.
# Appends the JSON line to results.jsonl and leaves it in $LAST.
one() {
    local label=$1 sys=$2 users=$3 gsize=$4 tag
    shift 5
    tag="$label-$sys-$(date +%s%N)"
    [ "$SMOKE" = 1 ] || wait_quiet
    echo "$label $sys $(date -u +%H:%M:%S) $(cat /proc/loadavg)" >>"$OUT/loadavg.log"
    local extra=()
    if [ "$sys" = natter ]; then
        natter_setup "$users" "$gsize"
        rm -rf "$DATA_ROOT/data"
        mkdir -p "$DATA_ROOT"
        cp -a "$SETUP_DIR" "$DATA_ROOT/data"
        extra=(--tokens "$SETUP_TOKENS")
        start_server natter "$OUT/$tag.log" "$DATA_ROOT/data" || { log "$sys did not start"; cat "$OUT/$tag.log" >&2; return 1; }
    else
        start_server "$sys" "$OUT/$tag.log" || { log "$sys did not start"; return 1; }
    fi
    local rc=0
    # In the background with `wait`, so that a signal reaches the cleanup trap at once.
    timeout 600 "${PIN1[@]}" "$NATTER_LOAD" --proto "$sys" --port "$SRV_PORT" \
        --server-pid "$SRV_PID" --label "$label" "${extra[@]}" "$@" >"$OUT/$tag.json" \
        2>>"$OUT/$tag.gen" &
    GEN_PID=$!
    wait "$GEN_PID" || rc=$?
    GEN_PID=""
    LAST=$(tail -1 "$OUT/$tag.json")
    stop_server
    tail -1 "$OUT/$tag.gen" >&2
    if [ -n "$LAST" ]; then
        echo "$LAST" | sed "s/^{/{\"workload\":\"$label\",\"system\":\"$sys\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",/" >>"$RESULTS"
    fi
    return $rc
}

if [ "$QUICK" = 1 ]; then PH=(--warmup 1 --duration 3 --drain 3); else PH=(--warmup 2 --duration 10 --drain 5); fi

# ---- the smoke test ----
if [ "$SMOKE" = 1 ]; then
    one SMOKE natter 20 10 -- --conns 20 --rate 100 --warmup 0.5 --duration 2 --drain 5 \
        --setup-timeout 10 --strict --min-share 1
    exit $?
fi

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
log "load before: $(cat /proc/loadavg); results in $OUT"

shape() { # shape LABEL CONNS ROOMSIZE RATE [more natter-load args]
    local label=$1 conns=$2 size=$3 rate=$4 sys r
    shift 4
    for sys in ${SYS_OK//,/ }; do
        for r in $(seq 1 "$RUNS"); do
            one "$label" "$sys" "$conns" "$size" -- --conns "$conns" --room-size "$size" \
                --rate "$rate" "${PH[@]}" "$@" || log "$label $sys run $r failed"
        done
    done
}

# on_tmpfs LABEL CONNS ROOMSIZE RATE: Natter alone with its database on tmpfs, where fsync costs
# nothing, so that a latency tail can be told apart: the disk's, or the server's and the rig's.
on_tmpfs() {
    local label=$1 conns=$2 size=$3 rate=$4 r
    [[ ",$SYS_OK," == *,natter,* && -d /dev/shm ]] || return 0
    DATA_ROOT=/dev/shm/natter-bench.$$
    for r in $(seq 1 "$RUNS"); do
        one "$label" natter "$conns" "$size" -- --conns "$conns" --room-size "$size" --rate "$rate" \
            "${PH[@]}" || log "$label run $r failed"
    done
    rm -rf "$DATA_ROOT"; DATA_ROOT=$WORK
}

# B5: raise the rate of one shape until p99 > 50 ms or under 99.9% delivered. One run per step.
saturate() { # saturate LABEL CONNS ROOMSIZE RATES...
    local label=$1 conns=$2 size=$3 sys rate
    shift 3
    local rates=("$@")
    for sys in ${SYS_OK//,/ }; do
        for rate in "${rates[@]}"; do
            one "$label" "$sys" "$conns" "$size" -- --conns "$conns" --room-size "$size" \
                --rate "$rate" --warmup 1 --duration "$([ "$QUICK" = 1 ] && echo 3 || echo 10)" \
                --drain 3 || true
            echo "$LAST" | grep -q '"status":"ok"' || break
            node -e 'const j=JSON.parse(process.argv[1]); process.exit(j.p99_ms<=50 && j.share>=0.999 ? 0 : 1)' "$LAST" || break
        done
    done
}

for w in ${ONLY//,/ }; do
    case $w in
    B0)
        # Idle: skip the first 12 s (the 10 s auth timers of the last connections), then measure
        # one full 30 s heartbeat period, so idle CPU includes the periodic pings.
        if [ "$QUICK" = 1 ]; then shape B0 10000 10 0 --warmup 1 --duration 5 --drain 0
        else shape B0 10000 10 0 --warmup 12 --duration 31 --drain 0; fi ;;
    B1) shape B1 1000 10 1000; on_tmpfs B1-tmpfs 1000 10 1000 ;;
    B2) shape B2 1000 10 10000 ;;
    B3) shape B3 1000 1000 100 ;;
    B4) shape B4 10000 10 2000; on_tmpfs B4-tmpfs 10000 10 2000 ;;
    B5)
        saturate B5-rooms10 1000 10 1000 2000 3000 4000 5000 6000 8000 10000 12000 15000 20000 30000 40000
        saturate B5-room1000 1000 1000 10 20 30 40 50 60 70 80 100 120 150 200 300 400 ;;
    B6)
        # B1 plus a pool of 200 connections (rooms of their own) that reconnect 200 times/s.
        SYS_SAVE=$SYS_OK; SYS_OK=natter
        d=$([ "$QUICK" = 1 ] && echo 10 || echo 60)
        for r in $(seq 1 "$RUNS"); do
            one B6 natter 1200 10 -- --conns 1200 --churn-conns 200 --churn-rate 200 --rate 1000 \
                --warmup 2 --duration "$d" --drain 5 || log "B6 run $r failed"
        done
        # The same with a 2 MiB page cache: RSS growth above is SQLite's cache filling up to
        # db_cache_mb (64 MiB), not a leak; with a small cache RSS must stay flat.
        NATTER_XARGS=(--limit db_cache_mb=2)
        one B6-cache2 natter 1200 10 -- --conns 1200 --churn-conns 200 --churn-rate 200 --rate 1000 \
            --warmup 2 --duration "$d" --drain 5 || log "B6-cache2 failed"
        NATTER_XARGS=()
        SYS_OK=$SYS_SAVE ;;
    B7)
        # Closed loop: every sender keeps W sends waiting for their acks. Natter only (acks).
        for r in $(seq 1 "$RUNS"); do
            one B7-1room natter 10 10 -- --conns 10 --inflight 64 "${PH[@]}" || true
            one B7-1000rooms natter 1000 1 -- --conns 1000 --inflight 8 "${PH[@]}" || true
        done
        # The same on tmpfs, where fsync costs nothing: the nearest thing to an in-memory store
        # that can be had without changing the server.
        if [ -d /dev/shm ]; then
            DATA_ROOT=/dev/shm/natter-bench.$$
            for r in $(seq 1 "$RUNS"); do
                one B7-1room-tmpfs natter 10 10 -- --conns 10 --inflight 64 "${PH[@]}" || true
                one B7-1000rooms-tmpfs natter 1000 1 -- --conns 1000 --inflight 8 "${PH[@]}" || true
            done
            rm -rf "$DATA_ROOT"; DATA_ROOT=$WORK
        fi ;;
    C19K)
        # 19,000 identified connections in one process (the sandbox's file limit), idle.
        # (The target is about connecting them; the idle window is short.)
        one C19K natter 19000 10 -- --conns 19000 --rate 0 --warmup 1 --duration 3 --drain 0 \
            --strict || log "C19K failed" ;;
    *) log "unknown workload $w" ;;
    esac
done

log "load after: $(cat /proc/loadavg)"
node "$HERE/table.js" "$RESULTS"
