#!/usr/bin/env bash
# Interop tests: real third-party clients (Python `websockets`, Node `ws`, headless Chromium via
# playwright-core) against the real `ringsocket` binary serving the example apps (echo, chat,
# silly_calc) over ws:// and wss:// on 127.0.0.1. See interop/README.md.
#
# Installs what is missing (bounded in time, each install timed), builds the release binaries,
# generates a test CA + certificates and a configuration on free ports, starts the daemon, runs
# every suite, checks the SIGTERM shutdown (1001 to clients, exit 0), and stops everything it
# started. Exits non-zero on any failure.
#
# Environment: INTEROP_SKIP_INSTALL=1 skips the install steps; INTEROP_SKIP_BUILD=1 the cargo
# build; INTEROP_KEEP=1 keeps the work directory (logs, certs, config, screenshots).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

total_start=$(date +%s)
summary=()
step() {
    local name=$1
    shift
    echo "::: interop $name"
    local start took
    start=$(date +%s)
    if "$@"; then
        took=$(($(date +%s) - start))
        summary+=("$(printf '%-40s %5ss' "$name" "$took")")
        echo "::: interop $name done in ${took}s"
    else
        local rc=$?
        took=$(($(date +%s) - start))
        summary+=("$(printf '%-40s %5ss  FAILED (%s)' "$name" "$took" "$rc")")
        echo "::: interop $name FAILED (exit $rc) after ${took}s"
        return "$rc"
    fi
}

# ---------- cleanup: everything started here is stopped by its PID ----------

work=$(mktemp -d "${TMPDIR:-/tmp}/ringsocket-interop.XXXXXX")
export INTEROP_WORK="$work"
pids=()
stop_pids() {
    local pid
    for pid in "$@"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "$@"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
}
cleanup() {
    local rc=$?
    trap - INT TERM
    # Ours are in $pids; processes the suites start write their PIDs to $work/*.pid (the
    # browser suite's second daemon). Those are read again after the suites are gone, in case
    # one started something while being stopped.
    local round f more
    for round in 1 2; do
        more=()
        for f in "$work"/*.pid; do
            [ -e "$f" ] && more+=("$(cat "$f")") && rm -f "$f"
        done
        if [ "$round" = 1 ]; then
            stop_pids "${pids[@]}" "${more[@]}"
        elif [ ${#more[@]} != 0 ]; then
            stop_pids "${more[@]}"
        fi
    done
    if [ "$rc" != 0 ] || [ -n "${INTEROP_KEEP:-}" ]; then
        echo "::: interop: logs, certificates and configuration kept in $work"
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs a command bounded in time, in the background so that a signal to this script is handled
# at once (bash runs traps only after a foreground command ends), and registered for cleanup.
bounded() {
    local secs=$1
    shift
    timeout "$secs" "$@" &
    local pid=$!
    pids+=("$pid")
    wait "$pid"
}

# ---------- installs (each bounded and timed) ----------

PY_WEBSOCKETS=15.0.1
pydeps="$here/.pydeps"

install_chromium() {
    if [ -x /usr/bin/chromium ]; then
        echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -q
    timeout 600 apt-get install -y -q --no-install-recommends chromium
}

install_tools() {
    # openssl (certificates) and node/npm; normally already there.
    local missing=()
    command -v openssl >/dev/null || missing+=(openssl)
    # playwright-core needs Node 20 or later (Debian 12's nodejs is 18).
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    command -v python3 >/dev/null || missing+=(python3)
    if [ ${#missing[@]} = 0 ]; then
        echo "openssl, node $(node --version), npm $(npm --version), $(python3 --version) present"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -q
    timeout 600 apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_websockets() {
    # Into interop/.pydeps (PYTHONPATH), not the system's site-packages: no virtualenv module
    # needed, and pip's externally-managed-environment rule does not apply to --target.
    if PYTHONPATH="$pydeps" python3 -c "import websockets, sys; sys.exit(websockets.__version__ != '$PY_WEBSOCKETS')" 2>/dev/null; then
        echo "websockets $PY_WEBSOCKETS present"
        return
    fi
    rm -rf "$pydeps"
    timeout 300 python3 -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore \
        --target "$pydeps" "websockets==$PY_WEBSOCKETS"
}

install_node_modules() {
    # npm ci installs exactly package-lock.json; skipped when node_modules already matches it.
    if [ -f "$here/node_modules/.package-lock.json" ] &&
        node -e '
            const a = require(process.argv[1]).packages, b = require(process.argv[2]).packages;
            for (const k of Object.keys(a)) if (k && (!b[k] || b[k].version !== a[k].version)) process.exit(1);
        ' "$here/package-lock.json" "$here/node_modules/.package-lock.json"; then
        echo "node_modules matches package-lock.json"
        return
    fi
    (cd "$here" && timeout 300 npm ci --no-audit --no-fund --loglevel=error)
}

if [ -z "${INTEROP_SKIP_INSTALL:-}" ]; then
    step "install: openssl/node/python" install_tools
    step "install: chromium (apt)" install_chromium
    step "install: websockets $PY_WEBSOCKETS (pip)" install_websockets
    step "install: ws, playwright-core (npm ci)" install_node_modules
fi
export PYTHONPATH="$pydeps${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1

if [ -z "${INTEROP_SKIP_BUILD:-}" ]; then
    step "build (release)" bounded 1200 cargo build --release --locked \
        -p ringsocket-daemon -p echo-app -p chat-app -p silly-calc-app
fi
bin="$root/target/release"
for f in ringsocket libecho.so libchat.so libsilly_calc.so; do
    [ -e "$bin/$f" ] || { echo "missing $bin/$f (build it or drop INTEROP_SKIP_BUILD)"; exit 1; }
done
# The C example with an upgrade hook (token by query or cookie).
step "build auth_c (gcc)" gcc -std=c11 -Wall -Wextra -Werror -fpic -shared \
    -I "$root/app-abi/include" -o "$work/auth.so" "$root/examples/auth_c/auth.c"

run_start=$(date +%s)

# ---------- certificates: a test CA and two leaves ----------
# The first cert (default: clients that send no SNI, e.g. to an IP address) covers 127.0.0.1,
# the second localhost. Clients trust only the CA.
make_certs() {
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=ringsocket interop test CA" -keyout ca.key -out ca.pem \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
        2>/dev/null
    local name cn san
    for spec in "default:default 127.0.0.1:IP:127.0.0.1" "localhost:localhost:DNS:localhost"; do
        IFS=: read -r name cn san <<<"$spec"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=$cn" -keyout "$name.key" -out "$name.csr" 2>/dev/null
        printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
            "$san" >"$name.ext"
        openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile "$name.ext" -out "$name.pem" 2>/dev/null
    done
    cd "$root"
}
step "certificates (openssl)" make_certs

# ---------- configuration on free ports ----------

read -r WS_PORT WSS_PORT STATIC_PORT REFUSED_PORT RECONNECT_PORT ADMIN_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
')
MAX_MSG=65536
# Endpoints for each app under both host names and both ports (the Host header must match).
# endpoints PATH ORIGINS [FIRST_ID [EXTRA_KEYS]]
endpoints() {
    local path=$1 origins=$2 id=${3:-0} extra=${4:+, $4} sep="" url
    for url in "ws://127.0.0.1:$WS_PORT" "ws://localhost:$WS_PORT" \
        "wss://127.0.0.1:$WSS_PORT" "wss://localhost:$WSS_PORT"; do
        printf '%s\n        { "endpoint_id": %d, "url": "%s%s", "allowed_origins": %s%s }' \
            "$sep" "$id" "$url" "$path" "$origins" "$extra"
        sep=,
        id=$((id + 1))
    done
}
chat_origins="[\"null\", \"http://127.0.0.1:$STATIC_PORT\"]"
cat >"$work/ringsocket.json" <<EOF
// Generated by interop/run.sh.
{
  "ports": [
    { "port_number": $WS_PORT, "is_unencrypted": true, "ip_addrs": ["127.0.0.1"] },
    { "port_number": $WSS_PORT, "ip_addrs": ["127.0.0.1"] }
  ],
  "certs": [
    // First: the default certificate, also for clients that send no SNI.
    { "hostnames": ["127.0.0.1"], "privkey_path": "default.key", "pubchain_path": "default.pem" },
    { "hostnames": ["localhost"], "privkey_path": "localhost.key", "pubchain_path": "localhost.pem" }
  ],
  "apps": [
    { "name": "echo", "app_path": "$bin/libecho.so", "endpoints": [$(endpoints /echo '[]')
      ] },
    // /members: members only (endpoint_id 100 and up), a token by query or cookie (CHAT_TOKENS).
    { "name": "chat", "app_path": "$bin/libchat.so", "endpoints": [$(endpoints /chat "$chat_origins"),$(endpoints /members "$chat_origins" 100)
      ] },
    { "name": "auth_c", "app_path": "$work/auth.so", "endpoints": [$(endpoints /auth '[]' 0 '"subprotocols": ["echo.v1"]')
      ] },
    { "name": "silly_calc", "app_path": "$bin/libsilly_calc.so", "endpoints": [$(endpoints /calc '[]')
      ] }
  ],
  "user": "",
  "log_level": "info",
  "worker_c": 2,
  "max_ws_msg_size": $MAX_MSG,
  "ping_interval": 2,
  "pong_wait": 5,
  "shutdown_wait_ws": 5,
  "fd_alloc_c": 1024,
  // Every suite connects from 127.0.0.1, some in quick bursts: no per-address limits here
  // (ringsocket-daemon/tests/limits.rs and the soak test cover them).
  "max_connections_per_ip": 0, "max_handshakes_per_second_per_ip": 0,
  // permessage-deflate is on by default; the suites check that each client negotiates it and
  // that compressed frames flow both ways (/metrics counts the server's side).
  "admin": { "port": $ADMIN_PORT }
}
EOF
# The browser suite's own daemon (chat only, plain ws), which it stops and restarts to check
# that the page reconnects.
cat >"$work/reconnect.json" <<EOF
// Generated by interop/run.sh.
{
  "ports": [{ "port_number": $RECONNECT_PORT, "is_unencrypted": true, "ip_addrs": ["127.0.0.1"] }],
  "apps": [{ "name": "chat", "app_path": "$bin/libchat.so", "endpoints": [
    { "endpoint_id": 0, "url": "ws://127.0.0.1:$RECONNECT_PORT/chat", "allowed_origins": $chat_origins }
  ] }],
  "user": "", "log_level": "info", "worker_c": 1, "shutdown_wait_ws": 2, "fd_alloc_c": 256
}
EOF
"$bin/ringsocket" --check "$work/ringsocket.json"
"$bin/ringsocket" --check "$work/reconnect.json"

# ---------- the daemon ----------

daemon_log="$work/daemon.log"
# The members' tokens of the chat example and of auth_c.
export CHAT_TOKENS="interop-token:member1,node-token:member2,page-token:pagemember"
export AUTH_TOKENS="c-token:cuser"
start_daemon() {
    "$bin/ringsocket" "$work/ringsocket.json" 2>"$daemon_log" &
    daemon_pid=$!
    pids+=("$daemon_pid")
    for _ in $(seq 200); do
        grep -q 'notice: ready' "$daemon_log" && return 0
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "the daemon did not get ready:"
    cat "$daemon_log"
    return 1
}
step "start daemon" start_daemon
echo "daemon PID $daemon_pid: ws://127.0.0.1:$WS_PORT wss://127.0.0.1:$WSS_PORT wss://localhost:$WSS_PORT" \
    "(echo, chat, calc); max_ws_msg_size $MAX_MSG"

export RS_BIN="$bin/ringsocket" RS_WS_PORT="$WS_PORT" RS_WSS_PORT="$WSS_PORT" RS_CA="$work/ca.pem" \
    RS_MAX_MSG="$MAX_MSG" RS_ALLOWED_ORIGIN="http://127.0.0.1:$STATIC_PORT" \
    RS_STATIC_PORT="$STATIC_PORT" RS_REFUSED_PORT="$REFUSED_PORT" \
    RS_RECONNECT_PORT="$RECONNECT_PORT" RS_RECONNECT_CONFIG="$work/reconnect.json" \
    RS_CHAT_WEB="$root/examples/chat/web" RS_ADMIN_PORT="$ADMIN_PORT"

failed=()
suite() {
    local name=$1
    shift
    step "$name" bounded 150 "$@" || failed+=("$name")
}
suite "python websockets" python3 "$here/test_python.py"
suite "node ws" node "$here/test_node.mjs"
suite "chromium (playwright-core)" node "$here/test_browser.mjs"

# ---------- shutdown: SIGTERM closes every client with 1001 and the daemon exits 0 ----------

shutdown_check() {
    local holder_out="$work/hold.out"
    : >"$holder_out"
    python3 "$here/test_python.py" --hold >"$holder_out" 2>&1 &
    local holder=$!
    pids+=("$holder")
    for _ in $(seq 100); do
        grep -q holding "$holder_out" && break
        sleep 0.1
    done
    grep -q holding "$holder_out" || { cat "$holder_out"; return 1; }
    kill -TERM "$daemon_pid"
    local holder_rc=0 daemon_rc=0
    timeout 30 tail --pid="$holder" -f /dev/null || true
    wait "$holder" || holder_rc=$?
    timeout 30 tail --pid="$daemon_pid" -f /dev/null || true
    wait "$daemon_pid" || daemon_rc=$?
    cat "$holder_out"
    echo "daemon exit status: $daemon_rc"
    [ "$holder_rc" = 0 ] && [ "$daemon_rc" = 0 ]
}
step "shutdown (SIGTERM: 1001, exit 0)" shutdown_check || failed+=("shutdown")

if grep -E 'panic|ringsocket: (error|warning)' "$daemon_log" >/dev/null; then
    echo "::: the daemon logged errors or warnings:"
    grep -E 'panic|ringsocket: (error|warning)' "$daemon_log" | head -20
    failed+=("daemon log")
fi

echo
echo "::: interop durations"
printf '%s\n' "${summary[@]}"
echo "::: interop tests took $(($(date +%s) - run_start))s (total with installs and build: $(($(date +%s) - total_start))s)"
if [ ${#failed[@]} != 0 ]; then
    echo "::: interop FAILED: ${failed[*]}"
    exit 1
fi
echo "::: interop: all suites passed"
