#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one libFuzzer target for a bounded time: tools/fuzz-run.sh BUILD_DIR TARGET SECONDS
# New inputs go to fuzz-out/TARGET/corpus (the committed seeds in fuzz/corpus/TARGET are
# only read); a finding is saved under fuzz-out/TARGET/ and makes this exit non-zero.
set -eu
if [ $# -ne 3 ] || [ "$1" = "--help" ]; then
    echo "usage: tools/fuzz-run.sh BUILD_DIR TARGET SECONDS" >&2
    exit 2
fi
build=$1 target=$2 secs=$3
bin="$build/fuzz/$target"
[ -x "$bin" ] || { echo "fuzz-run: no such target: $bin" >&2; exit 2; }
out="fuzz-out/$target"
mkdir -p "$out/corpus"
log="$out/log.txt"
echo "fuzz-run: $target for ${secs}s"
if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -dict=fuzz/dht.dict \
    -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" "fuzz/corpus/$target" >"$log" 2>&1; then
    echo "fuzz-run: $target FOUND A PROBLEM; last lines of $log:" >&2
    tail -n 60 "$log" >&2
    exit 1
fi
grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" | sed "s/^/  $target /"
