#!/bin/sh
# SPDX-License-Identifier: MIT
# run-local.sh [-n N]: start one local node (or N, the first a seed for the others) with
# sane defaults, wait until every one is ready, print their addresses, and keep them
# running until interrupted.
set -eu
. "$(dirname "$0")/dht-lib.sh"

n=1
while [ $# -gt 0 ]; do
    case $1 in
        -n) n=$2; shift ;;
        -h|--help)
            cat <<USAGE
usage: tools/run-local.sh [-n N]
  Starts N svc-dht nodes (default 1) on loopback ports the kernel picks; node 1 is the
  seed of the others. Waits for every /readyz, prints the peer and admin addresses, and
  stops them all on Ctrl-C. Uses build/svc-dht (override with SVC_DHT_BIN).
USAGE
            exit 0 ;;
        *) echo "run-local.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
need_binary
trap stop_spawned EXIT INT TERM
seed=""
i=1
while [ "$i" -le "$n" ]; do
    if [ -z "$seed" ]; then
        spawn_node
        seed=$NODE_PEER
    else
        spawn_node --bootstrap "$seed"
    fi
    wait_ready "$NODE_ADMIN"
    echo "node $i ready: peer $NODE_PEER  admin http://$NODE_ADMIN"
    i=$((i + 1))
done
echo "all $n node(s) ready; Ctrl-C stops them"
for pid in $SPAWNED_PIDS; do wait "$pid" || true; done
