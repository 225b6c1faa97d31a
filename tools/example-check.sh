#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: tools/example-check.sh [BUILD_DIR]
# Builds examples/ the way a libsvcdht user does -- against the installed library, found
# with pkg-config, with nothing from the source tree on the include path -- and runs the
# put/get example against a real svc-dht daemon (tests/integration/test_embed.py).
set -eu
case "${1:-}" in -h|--help) sed -n '3,6p' "$0" | cut -c3-; exit 0;; esac
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DEST=$(pwd)/$BUILD/example-install
rm -rf "$DEST"
meson install -C "$BUILD" --destdir "$DEST" --quiet >/dev/null
pc=$(find "$DEST" -name svcdht.pc)
[ -n "$pc" ] || { echo "example-check: no svcdht.pc installed under $DEST" >&2; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$DEST
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
flags=$(pkg-config --cflags --libs svcdht)
echo "example-check: c++ examples/put_get.cc $flags"
# shellcheck disable=SC2086 # the flags are words
${CXX:-c++} -O2 -Wall -Wextra -Werror examples/put_get.cc $flags -o "$DEST/put_get"
python3 tests/integration/test_embed.py "$BUILD/svc-dht" "$DEST/put_get"
