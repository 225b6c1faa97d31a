#!/bin/sh
# SPDX-License-Identifier: MIT
# ttl-demo.sh: provide a record with a short TTL, find it, show the debug list and the
# counters, wait until it expires, and show that it is gone.
set -eu
. "$(dirname "$0")/dht-lib.sh"

usage() {
    cat <<USAGE
usage: tools/ttl-demo.sh [--spawn] [--cid CID] [--node URI] [--ttl SECONDS] [--addr HOST:PORT]
  --spawn        start a node on free ports for the demo (and stop it afterwards)
  --cid CID      content id to provide (default: b3: + 64 random hex digits)
  --node URI     provider address in the record (default local://demo)
  --ttl SECONDS  record lifetime (default 3)
  --addr H:P     admin address of a running node (default 127.0.0.1:5301; ignored with --spawn)
USAGE
}

spawn=0 cid="" node="local://demo" ttl=3 addr="127.0.0.1:5301"
while [ $# -gt 0 ]; do
    case $1 in
        --spawn) spawn=1 ;;
        --cid) cid=$2; shift ;;
        --node) node=$2; shift ;;
        --ttl) ttl=$2; shift ;;
        --addr) addr=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "ttl-demo.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$cid" ] || cid="b3:$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
command -v curl >/dev/null || die "curl is required"
if [ "$spawn" = 1 ]; then
    need_binary
    trap stop_spawned EXIT INT TERM
    spawn_node
    addr=$NODE_ADMIN
    echo "spawned a node, admin http://$addr"
fi
wait_ready "$addr"

echo "== provide $cid ($node, ttl ${ttl}s)"
curl -s -X POST -H 'content-type: application/json' \
    -d "{\"cid\":\"$cid\",\"node\":\"$node\",\"ttl_secs\":$ttl}" "http://$addr/dht/provide"
echo
echo "== find_providers"
curl -s "http://$addr/dht/find_providers/$cid"
echo
echo "== _debug/list (secs_left counts down)"
curl -s "http://$addr/dht/_debug/list"
echo
echo "== counters"
curl -s "http://$addr/metrics" | grep -E '^dht_(provides_total|lookups_total|provider_records)' || true
wait=$((ttl + 1))
echo "== waiting ${wait}s for the record to expire"
sleep "$wait"
echo "== find_providers after expiry"
after=$(curl -s "http://$addr/dht/find_providers/$cid")
echo "$after"
case $after in
    *'"providers":[]'*) echo "expired as expected" ;;
    *) die "the record is still there after its TTL" ;;
esac
