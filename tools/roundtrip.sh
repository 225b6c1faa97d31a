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

pa=$(free_port) aa=$(free_port) pb=$(free_port) ab=$(free_port)
spawn_node "$pa" "$aa"
wait_ready "127.0.0.1:$aa"
spawn_node "$pb" "$ab" --bootstrap "127.0.0.1:$pa"
wait_ready "127.0.0.1:$ab"

value=$(mktemp) got=$(mktemp)
trap 'rm -f "$value" "$got"; stop_spawned' EXIT INT TERM
head -c 256 /dev/urandom > "$value"
put=$(curl -sf -X POST --data-binary @"$value" "http://127.0.0.1:$aa/dht/put") || die "put on A failed"
key=$(printf '%s' "$put" | sed -n 's/.*"key":"\(b3:[0-9a-f]*\)".*/\1/p')
[ -n "$key" ] || die "no key in the put answer: $put"
echo "put on A: $put"
curl -sf -o "$got" "http://127.0.0.1:$ab/dht/get/$key" || die "get on B failed"
if cmp -s "$value" "$got"; then
    echo "get on B: $(wc -c < "$got") bytes, equal: round trip OK"
    exit 0
fi
die "get on B returned different bytes"
