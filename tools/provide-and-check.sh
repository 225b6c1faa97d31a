#!/bin/sh
# SPDX-License-Identifier: MIT
# provide-and-check.sh CID NODE TTL ADDR: provide a record on a running node, find it, and
# show the metrics that moved.
set -eu
. "$(dirname "$0")/dht-lib.sh"

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ] || [ $# -ne 4 ]; then
    cat <<USAGE
usage: tools/provide-and-check.sh CID NODE TTL ADDR
  CID   content id, b3: followed by 64 lowercase hex digits
  NODE  provider URI stored in the record, e.g. tcp://203.0.113.5:9444 or local://nodeA
  TTL   record lifetime in seconds
  ADDR  admin address of the node, e.g. 127.0.0.1:5301
  Exit 0 if the provide succeeded and the record is found, 1 otherwise.
USAGE
    [ $# -eq 4 ] || [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ] || exit 2
    exit 0
fi
cid=$1 node=$2 ttl=$3 addr=$4
command -v curl >/dev/null || die "curl is required"
out=$(curl -s -X POST -H 'content-type: application/json' \
    -d "{\"cid\":\"$cid\",\"node\":\"$node\",\"ttl_secs\":$ttl}" "http://$addr/dht/provide")
echo "provide: $out"
case $out in *'"ok":true'*) ;; *) die "provide failed" ;; esac
found=$(curl -s "http://$addr/dht/find_providers/$cid")
echo "find_providers: $found"
case $found in *"\"node\":\"$node\""*) ;; *) die "the record was not found" ;; esac
echo "metrics:"
curl -s "http://$addr/metrics" | grep -E '^dht_(provides_total|lookups_total|found_total|provider_records|lookup_hops_count)'
