#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: tools/cross-test.sh BUILD_DIR
# Runs a cross build's tests under qemu-user (make cross-arm64): every test program of the
# quick suite through the cross file's exe_wrapper, then the integration suites that start
# real daemons, with SVC_DHT_BIN pointing at a wrapper script that execs the aarch64
# daemon under qemu (there is no binfmt_misc to do it implicitly). Test scripts that run
# other built programs prefix them with SVC_DHT_EXE_WRAPPER.
# Not run here: the simulator's suites (sim-small, dht-sim-cli, the slow scenarios: the
# engine they exercise is the same code the aarch64 unit tests run, and they take minutes
# natively), the hostile suites (their RSS bounds would measure qemu, not the daemon) and
# integration-embed (it execs the example program, covered by the embed test program).
# Deadlines are scaled by 4 for the emulation.
set -eu
build=${1:?usage: tools/cross-test.sh BUILD_DIR}
build=$(cd "$build" && pwd)
qemu="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
wrap=$build/svc-dht-qemu
cat >"$wrap" <<WRAP
#!/bin/sh
exec $qemu "$build/svc-dht" "\$@"
WRAP
chmod +x "$wrap"
"$wrap" version
log=$build/test-output.txt
status=0
quick=$(meson test -C "$build" --no-rebuild --list --suite quick 2>/dev/null | sed -n 's|.* / ||p')
# shellcheck disable=SC2086 # the test names are words
SVC_DHT_BIN=$wrap SVC_DHT_EXE_WRAPPER="$qemu" SVC_DHT_TEST_TIMEOUT_MULTIPLIER=4 meson test -C "$build" --no-rebuild \
    --print-errorlogs --timeout-multiplier 4 $quick \
    integration-daemon integration-admin integration-scripts integration-cluster \
    >"$log" 2>&1 || status=$?
tail -n 30 "$log"
"$(dirname "$0")/test-summary.py" "$build" || status=1
exit $status
