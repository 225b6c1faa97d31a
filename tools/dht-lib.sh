# SPDX-License-Identifier: MIT
# Shared helpers for the svc-dht shell tools (sourced, not run): the binary to use, free
# ports, waiting for /readyz with a deadline, and stopping what a script started.

SVC_DHT_BIN=${SVC_DHT_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/svc-dht}
SPAWNED_PIDS=""
SPAWNED_LOGS=""

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

need_binary() {
    [ -x "$SVC_DHT_BIN" ] || die "no svc-dht binary at $SVC_DHT_BIN (run 'make', or set SVC_DHT_BIN)"
    command -v curl >/dev/null || die "curl is required"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# spawn_node PEER_PORT ADMIN_PORT [ARGS...]: start a node in the background, log to a file.
spawn_node() {
    peer=$1 admin=$2
    shift 2
    log=$(mktemp "${TMPDIR:-/tmp}/svc-dht-node.XXXXXX")
    "$SVC_DHT_BIN" --listen "127.0.0.1:$peer" --admin "127.0.0.1:$admin" "$@" >"$log" 2>&1 &
    SPAWNED_PIDS="$SPAWNED_PIDS $!"
    SPAWNED_LOGS="$SPAWNED_LOGS $log"
}

# wait_ready ADMIN_ADDR [SECONDS]: poll /readyz until 200, or fail after the deadline.
wait_ready() {
    addr=$1 secs=${2:-20}
    end=$(( $(date +%s) + secs ))
    while [ "$(date +%s)" -le "$end" ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/readyz" || true)
        [ "$code" = "200" ] && return 0
        sleep 0.1
    done
    echo "not ready after ${secs}s: http://$addr/readyz" >&2
    curl -s "http://$addr/readyz" >&2 || true
    return 1
}

stop_spawned() {
    for pid in $SPAWNED_PIDS; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $SPAWNED_PIDS; do wait "$pid" 2>/dev/null || true; done
    for log in $SPAWNED_LOGS; do rm -f "$log"; done
    SPAWNED_PIDS=""
    SPAWNED_LOGS=""
}
