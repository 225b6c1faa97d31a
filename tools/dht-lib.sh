# SPDX-License-Identifier: MIT
# Shared helpers for the svc-dht shell tools (sourced, not run): the binary to use, starting
# nodes on ports the kernel picks, waiting for /readyz with a deadline, and stopping what a
# script started.

SVC_DHT_BIN=${SVC_DHT_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/svc-dht}
SPAWNED_PIDS=""
SPAWNED_LOGS=""

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

need_binary() {
    [ -x "$SVC_DHT_BIN" ] || die "no svc-dht binary at $SVC_DHT_BIN (run 'make', or set SVC_DHT_BIN)"
    command -v curl >/dev/null || die "curl is required"
}

# spawn_node [ARGS...]: start a node in the background on 127.0.0.1 port 0 (peer and admin),
# log to a file, and wait for its "svc-dht started" line, which names the ports the kernel
# chose; sets NODE_PEER and NODE_ADMIN (HOST:PORT). Ports picked in advance could be taken
# by another node's outbound connection before the node binds them.
spawn_node() {
    log=$(mktemp "${TMPDIR:-/tmp}/svc-dht-node.XXXXXX")
    "$SVC_DHT_BIN" --listen 127.0.0.1:0 --admin 127.0.0.1:0 "$@" >"$log" 2>&1 &
    pid=$!
    SPAWNED_PIDS="$SPAWNED_PIDS $pid"
    SPAWNED_LOGS="$SPAWNED_LOGS $log"
    end=$(( $(date +%s) + 20 ))
    while :; do
        line=$(grep -m1 'svc-dht started' "$log" || true)
        [ -n "$line" ] && break
        if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -gt "$end" ]; then
            cat "$log" >&2
            die "svc-dht did not start"
        fi
        sleep 0.05
    done
    NODE_PEER="127.0.0.1:$(printf '%s\n' "$line" | sed -n 's/.* port=\([0-9]*\).*/\1/p')"
    NODE_ADMIN="127.0.0.1:$(printf '%s\n' "$line" | sed -n 's/.* admin_port=\([0-9]*\).*/\1/p')"
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
