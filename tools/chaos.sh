#!/bin/sh
# SPDX-License-Identifier: MIT
# chaos.sh: chaos (churn + partition) and soak runs on real svc-dht processes, bounded in
# time, on loopback or in network namespaces this script creates. tools/chaos.py does the
# work; this wrapper checks what it needs and owns the last-resort cleanup: on any exit,
# Ctrl-C included, every daemon of the run is killed and its namespaces are deleted.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
if [ -z "${SVC_DHT_BIN:-}" ]; then
    SVC_DHT_BIN=$root/build-rel/svc-dht
    [ -x "$SVC_DHT_BIN" ] || SVC_DHT_BIN=$root/build/svc-dht
fi

usage() {
    cat <<USAGE
usage: tools/chaos.sh [--soak] [--nodes N] [--duration SECS] [--churn KILLS_PER_MIN] [OPTIONS]
  Chaos (default): N daemons (16), each in a network namespace of its own on a bridge;
  for SECS (150) one non-seed node is killed (SIGKILL) CHURN times a minute (12) and
  restarted 5 s later, while 8 lookups a second (GET of keys put before, and
  /dht/closest) go to random ready nodes; then the nodes are split in two groups (the
  seeds in the first) by bringing a veth link down: the /readyz red time of the cut-off
  nodes, writes on both sides, the heal, and the time until every node reads the other
  side's writes and finds the true closest nodes.
  Soak (--soak): 32 nodes with persistent data dirs, 600 s, 10 puts/s and 20 gets/s,
  6 kills a minute (nodes 0-3 never), RSS of every daemon every 5 s; at the end every
  acknowledged put is read back and the RSS slopes are reported.
  Other options (tools/chaos.py --help lists them all): --loopback (127.0.0.1, no
  namespaces, no partition), --no-partition, --down SECS, --samples N,
  --partition-secs SECS, --recover-window SECS, --put-rate R (0: reads only),
  --preload N (values put before the soak's clock), --get-rate R, --rss-interval SECS,
  --warmup SECS, --json FILE, --keep (keep logs and data dirs). Namespaces need root.
  Uses build-rel/svc-dht, else build/svc-dht (override with SVC_DHT_BIN).
USAGE
}

mode=chaos
keep=0
loopback=0
set -- "$@" --end-of-options
while [ "$1" != --end-of-options ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --soak) mode=soak; shift; continue ;;
        --keep) keep=1; shift; continue ;;
        --loopback) loopback=1 ;;
    esac
    set -- "$@" "$1"
    shift
done
shift

[ -x "$SVC_DHT_BIN" ] || { echo "chaos.sh: no svc-dht binary at $SVC_DHT_BIN (run 'make release')" >&2; exit 1; }
if [ "$loopback" = 0 ]; then
    if ! command -v ip >/dev/null || ! command -v nsenter >/dev/null; then
        echo "chaos.sh: ip and nsenter are needed (packages iproute2, util-linux), or use --loopback" >&2
        exit 1
    fi
    if ! ip netns add "svcdht-chaos-probe-$$" 2>/dev/null; then
        echo "chaos.sh: network namespaces are not allowed here (root needed); use --loopback" >&2
        exit 1
    fi
    ip netns del "svcdht-chaos-probe-$$"
fi

run_id=$$
state=$(mktemp -d "${TMPDIR:-/tmp}/svc-dht-chaos.XXXXXX")
bin_real=$(readlink -f "$SVC_DHT_BIN")

cleanup() {
    status=$?
    trap - EXIT INT TERM HUP
    # chaos.py stops its daemons and deletes its namespaces itself; this catches what it
    # left when it was killed: daemons it recorded (still running this binary) and the
    # namespaces named after this run.
    if [ -f "$state/pids" ]; then
        while read -r pid; do
            [ -n "$pid" ] || continue
            if [ "$(readlink "/proc/$pid/exe" 2>/dev/null || true)" = "$bin_real" ]; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done <"$state/pids"
    fi
    if [ "$loopback" = 0 ]; then
        for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^svcdht-chaos-$run_id-" || true); do
            for pid in $(ip netns pids "$ns" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || true
        done
    fi
    if [ "$keep" = 1 ] || [ "$status" != 0 ]; then
        echo "chaos.sh: logs kept in $state" >&2
    else
        rm -rf "$state"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ "$mode" = soak ]; then
    defaults="--nodes 32 --duration 600 --churn 6"
else
    defaults="--nodes 16 --duration 150 --churn 12"
fi
# The defaults come first: argparse keeps the last value, so the caller's options win.
# shellcheck disable=SC2086
/usr/bin/python3 "$here/chaos.py" --bin "$SVC_DHT_BIN" --state "$state" --run-id "$run_id" \
    --mode "$mode" $defaults "$@"
