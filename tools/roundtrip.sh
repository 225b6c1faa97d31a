#!/bin/sh
# SPDX-License-Identifier: MIT
# roundtrip.sh: start two nodes (B joins through A), put a value on A, get it on B, check the
# bytes are equal, stop both. Exit 0 if the round trip worked, 1 otherwise.
set -eu
. "$(dirname "$0")/dht-lib.sh"

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    cat <<USAGE
usage: tools/roundtrip.sh
  Starts two svc-dht nodes on free loopback ports (B bootstraps from A), POSTs a random
  value to A's /dht/put, GETs it from B's /dht/get/{key}, compares the bytes and stops both.
  Exit 0 on equal bytes, 1 otherwise. Uses build/svc-dht (override with SVC_DHT_BIN).
USAGE
    exit 0
fi
need_binary
trap stop_spawned EXIT INT TERM

spawn_node
pa=$NODE_PEER aa=$NODE_ADMIN
wait_ready "$aa"
spawn_node --bootstrap "$pa"
ab=$NODE_ADMIN
wait_ready "$ab"

value=$(mktemp) got=$(mktemp)
trap 'rm -f "$value" "$got"; stop_spawned' EXIT INT TERM
head -c 256 /dev/urandom > "$value"
put=$(curl -sf -X POST --data-binary @"$value" "http://$aa/dht/put") || die "put on A failed"
key=$(printf '%s' "$put" | sed -n 's/.*"key":"\(b3:[0-9a-f]*\)".*/\1/p')
[ -n "$key" ] || die "no key in the put answer: $put"
echo "put on A: $put"
curl -sf -o "$got" "http://$ab/dht/get/$key" || die "get on B failed"
if cmp -s "$value" "$got"; then
    echo "get on B: $(wc -c < "$got") bytes, equal: round trip OK"
    exit 0
fi
die "get on B returned different bytes"
