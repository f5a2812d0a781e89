#!/usr/bin/env bash
# Hostile soak test: the real daemon under legitimate load, with a bounded hostile mix beside it.
#
#   loadgen/soak.sh                    one run: SOAK_SECS (60) of clean + hostile phases (what CI
#                                      runs); report and a JSON line on stdout; exit 1 on failure
#   SOAK_SECS=600 loadgen/soak.sh      the 10-minute soak
#
# What one run does (loadgen/src/soak/ has the details):
#   * a daemon on a fresh configuration in a temporary directory: one ws:// and one wss:// port
#     (a self-signed P-256 certificate for localhost, made here with openssl) on 127.0.0.1,
#     free ports, the admin listener, and four apps: the echo example (/echo on both ports), the
#     chat example (/chat), a second copy of the chat example (/blast, where the slow readers
#     are starved) and loadgen/soak/fatal.c (/fatal: echoes, and fails fatally on "die"),
#     compiled here with cc;
#   * SOAK_CLIENTS legitimate clients from 127.0.0.1, opened in a ramp paced below the
#     handshake limit: echo clients (a message every 100-500 ms, every reply checked: none lost,
#     reordered, duplicated or altered) and a broadcast group of SOAK_BCAST on /chat (every
#     delivery checked per sender at every member); latency histograms per phase;
#   * a warm-up, a clean phase (1/3 of SOAK_SECS), a hostile phase (the rest): slowloris
#     (headers and a WebSocket frame at 1 byte/s), half-open connections, oversized heads and
#     frames, invalid UTF-8, garbage on both ports, RST storms, slow readers, a message flood,
#     a connection flood and a handshake burst from one address each, a global connection
#     flood, and the fatal app's "die";
#   * the end: the legitimate clients drain and close with the close handshake; the daemon's
#     descriptors must come back to their baseline, its RSS (sampled every second) must not
#     have grown by more than 20 % + 8 MiB after the warm-up, and it must still be alive, exit 0
#     on SIGTERM and have logged no panic.
#
# Memory baseline: the daemon runs with small initial rings and read buffers (64 KiB inbound,
# 128 KiB outbound, 256 KiB worker_rbuf_size; rings still grow under bursts), so that the
# warm-up touches their pages, and the warm-up opens and resets as many idle connections as
# the floods will hold (their high-water mark). Growth after the warm-up is then memory the
# daemon kept, not a 64 MiB ring still being paged in (with the default ring sizes RSS climbs
# for minutes under steady traffic, by design).
#
# Limits: with SOAK_LIMITS=1 (the default) the configuration sets max_connections_per_ip
# (clients + 500), max_handshakes_per_second_per_ip (1000), max_messages_per_second (100) and
# max_connections (2 x clients + 1500), and the hostile floods must hit them (429, 429, 1008,
# 503). A daemon without these keys refuses the configuration: run SOAK_LIMITS=0, where those
# four checks report "skipped (SOAK_LIMITS=0)" (the floods still run). With SOAK_LIMITS=0 the
# keys are written as 0 (off) when the daemon knows them, since omitted they default to limits
# tighter than this load from one address, and left out when it does not.
#
# Environment [defaults]: SOAK_SECS [60], SOAK_CLIENTS [2000], SOAK_BCAST [min(100, clients/10)],
# SOAK_LIMITS [1], SOAK_WORKERS (worker_c) [2], SOAK_WARM seconds [3], CARGO_TARGET_DIR,
# BIN (directory with the release binaries) [$CARGO_TARGET_DIR/release], SKIP_BUILD=1 (use BIN
# as it is), KEEP_DIR (keep the configuration, certificate and daemon log there).
# Needs: the Rust toolchain (unless SKIP_BUILD), cc and openssl. Talks to 127.0.0.0/8 only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${BIN:-$TARGET/release}
SOAK_SECS=${SOAK_SECS:-60}
SOAK_CLIENTS=${SOAK_CLIENTS:-2000}
SOAK_BCAST=${SOAK_BCAST:-$(( SOAK_CLIENTS / 10 < 100 ? SOAK_CLIENTS / 10 : 100 ))}
SOAK_LIMITS=${SOAK_LIMITS:-1}
SOAK_WORKERS=${SOAK_WORKERS:-2}
SOAK_WARM=${SOAK_WARM:-3}

case "${1:-}" in
    "") ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 (configured by the environment; see --help)" >&2; exit 2 ;;
esac

log() { echo "soak: $*" >&2; }

for tool in cc openssl; do
    command -v "$tool" >/dev/null || { log "needs $tool"; exit 2; }
done

if [ -z "${SKIP_BUILD:-}" ]; then
    log "building release binaries into $TARGET"
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" \
        -p ringsocket-loadgen -p ringsocket-daemon -p echo-app -p chat-app
fi
for f in ringsocket ringsocket-soak libecho.so libchat.so; do
    [ -e "$BIN/$f" ] || { log "missing $BIN/$f (build, or set BIN)"; exit 2; }
done

# Thousands of connections on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ringsocket-soak.XXXXXX")
DAEMON_PID=
SOAK_PID=
cleanup() {
    if [ -n "$SOAK_PID" ]; then
        kill -TERM "$SOAK_PID" 2>/dev/null || true
        wait "$SOAK_PID" 2>/dev/null || true
    fi
    if [ -n "$DAEMON_PID" ]; then
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$DAEMON_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
    if [ -n "${KEEP_DIR:-}" ]; then
        mkdir -p "$KEEP_DIR" && cp -r "$WORK"/. "$KEEP_DIR"/
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The fatal app, and a second instance of the chat app (a copy is loaded on its own).
cc -std=c11 -O2 -Wall -Werror -shared -fPIC -I "$ROOT/app-abi/include" \
    -o "$WORK/libfatal.so" "$ROOT/loadgen/soak/fatal.c"
cp "$BIN/libchat.so" "$WORK/libblast.so"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

TAKEN=" "
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 12000)) # below the usual ephemeral range
        case "$TAKEN" in *" $p "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            TAKEN="$TAKEN$p "
            echo "$p"
            return
        fi
    done
    log "no free port found"
    return 1
}
WS_PORT=$(free_port)
WSS_PORT=$(free_port)
ADMIN_PORT=$(free_port)

PER_IP=$((SOAK_CLIENTS + 500))
HS_RATE=1000
MSG_RATE=100
MAX_CONNS=$((2 * SOAK_CLIENTS + 1500))
MAX_MSG=65536
HANDSHAKE_WAIT=4
FD_ALLOC=$((MAX_CONNS + 1024))
[ "$FD_LIMIT" != unlimited ] && [ "$FD_ALLOC" -gt "$FD_LIMIT" ] && FD_ALLOC=$FD_LIMIT
if [ "$FD_LIMIT" != unlimited ] && [ "$FD_LIMIT" -lt $((MAX_CONNS + 1024)) ]; then
    log "SOAK_CLIENTS=$SOAK_CLIENTS needs an open-file limit of $((MAX_CONNS + 1024)), have $FD_LIMIT"
    exit 2
fi
CFG=$WORK/ringsocket.json
# write_config LIMIT_KEYS: the configuration, with LIMIT_KEYS (JSON members, each followed by a
# comma) among the global keys.
write_config() {
    cat >"$CFG" <<EOF
// generated by loadgen/soak.sh
{
  "ports": [
    { "port_number": $WS_PORT, "is_unencrypted": true, "ip_addrs": ["127.0.0.1"] },
    { "port_number": $WSS_PORT, "ip_addrs": ["127.0.0.1"] }
  ],
  "certs": [{ "hostnames": ["localhost"], "privkey_path": "key.pem", "pubchain_path": "cert.pem" }],
  "apps": [
    { "name": "echo", "app_path": "$BIN/libecho.so", "endpoints": [
      { "endpoint_id": 0, "url": "ws://localhost:$WS_PORT/echo", "allowed_origins": [] },
      { "endpoint_id": 1, "url": "wss://localhost:$WSS_PORT/echo", "allowed_origins": [] } ] },
    { "name": "chat", "app_path": "$BIN/libchat.so", "endpoints": [
      { "endpoint_id": 0, "url": "ws://localhost:$WS_PORT/chat", "allowed_origins": [] } ] },
    { "name": "blast", "app_path": "libblast.so", "endpoints": [
      { "endpoint_id": 0, "url": "ws://localhost:$WS_PORT/blast", "allowed_origins": [] } ] },
    { "name": "fatal", "app_path": "libfatal.so", "endpoints": [
      { "endpoint_id": 0, "url": "ws://localhost:$WS_PORT/fatal", "allowed_origins": [] } ] }
  ],
  "admin": { "port": $ADMIN_PORT },
  $1
  "user": "",
  "log_level": "warning",
  "worker_c": $SOAK_WORKERS,
  "fd_alloc_c": $FD_ALLOC,
  "handshake_wait": $HANDSHAKE_WAIT,
  "shutdown_wait_http": 3,
  "shutdown_wait_ws": 3,
  "max_ws_msg_size": $MAX_MSG,
  "max_client_backlog": 262144,
  "inbound_ring_buf_size": 65536,
  "outbound_ring_buf_size": 131072,
  "worker_rbuf_size": 262144
}
EOF
}

if [ "$SOAK_LIMITS" = 1 ]; then
    write_config "\"max_connections_per_ip\": $PER_IP, \"max_handshakes_per_second_per_ip\": $HS_RATE,
  \"max_messages_per_second\": $MSG_RATE, \"max_connections\": $MAX_CONNS,"
else
    # Limits off: a daemon that knows the keys applies defaults when they are omitted (tighter
    # than this load from one address), so they are set to 0 (off); an older daemon that
    # rejects them gets none.
    write_config "\"max_connections_per_ip\": 0, \"max_handshakes_per_second_per_ip\": 0,
  \"max_messages_per_second\": 0, \"max_connections\": 0,"
    if ! "$BIN/ringsocket" --check "$CFG" >"$WORK/check.log" 2>&1 \
        && grep -q 'unknown key "max_connections_per_ip"' "$WORK/check.log"; then
        write_config ""
    fi
fi

if ! "$BIN/ringsocket" --check "$CFG" >"$WORK/check.log" 2>&1; then
    log "the daemon refuses the configuration:"
    cat "$WORK/check.log" >&2
    if [ "$SOAK_LIMITS" = 1 ] && grep -q 'unknown key "max_' "$WORK/check.log"; then
        log "(this daemon has no limit keys: run SOAK_LIMITS=0)"
    fi
    exit 1
fi

log "daemon: ws://127.0.0.1:$WS_PORT wss://127.0.0.1:$WSS_PORT admin :$ADMIN_PORT, worker_c $SOAK_WORKERS, SOAK_LIMITS=$SOAK_LIMITS"
"$BIN/ringsocket" "$CFG" 2>>"$WORK/daemon.log" &
DAEMON_PID=$!
log "daemon pid $DAEMON_PID, log $WORK/daemon.log"

rc=0
"$BIN/ringsocket-soak" --pid "$DAEMON_PID" --ws-port "$WS_PORT" --wss-port "$WSS_PORT" \
    --admin-port "$ADMIN_PORT" --clients "$SOAK_CLIENTS" --bcast "$SOAK_BCAST" \
    --secs "$SOAK_SECS" --warm "$SOAK_WARM" --limits "$SOAK_LIMITS" --per-ip "$PER_IP" \
    --hs-rate "$HS_RATE" --msg-rate "$MSG_RATE" --max-conns "$MAX_CONNS" --max-msg "$MAX_MSG" \
    --handshake-wait "$HANDSHAKE_WAIT" --openssl "$(command -v openssl)" &
# In the background, so that a signal to this script is handled at once (bash runs traps only
# between foreground commands); the cleanup stops it by PID.
SOAK_PID=$!
wait "$SOAK_PID" || rc=$?
SOAK_PID=

# The daemon must still run, stop on SIGTERM with status 0, and have logged no panic.
if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
    log "FAILED: the daemon is not running any more"
    rc=1
else
    kill -TERM "$DAEMON_PID"
    drc=0
    wait "$DAEMON_PID" || drc=$?
    DAEMON_PID=
    if [ "$drc" != 0 ]; then
        log "FAILED: the daemon exited with $drc on SIGTERM"
        rc=1
    fi
fi
if grep -qi -e panic -e 'fatal runtime' "$WORK/daemon.log"; then
    log "FAILED: the daemon log has a panic:"
    grep -i -e panic -e 'fatal runtime' "$WORK/daemon.log" | head -5 >&2
    rc=1
fi
log "daemon log: $(wc -l <"$WORK/daemon.log") lines ($(grep -c ': warning:' "$WORK/daemon.log" || true) warnings, $(grep -c ': error:' "$WORK/daemon.log" || true) errors)"
if [ "$rc" != 0 ]; then
    log "last daemon log lines:"
    tail -15 "$WORK/daemon.log" >&2
    log "FAILED"
else
    log "passed"
fi
exit "$rc"
