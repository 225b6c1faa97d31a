#!/bin/bash
# SPDX-License-Identifier: MIT
# usage: tools/package-test.sh deb | deb-arm64 | rpm
# Installs what tools/package.sh built (packaging/out/) and checks it as an operator would:
#   deb        dpkg -i on this machine: file list, conffile, unit enabled, man pages render,
#              `svc-dht version`; then the unit's ExecStart line itself, in a network
#              namespace of its own, must answer /readyz and stop on SIGTERM with 0; then
#              dpkg -r and dpkg -P leave nothing behind (a user this test created goes too)
#   deb-arm64  the arm64 .deb unpacked and its daemon run under qemu-user: version, /readyz
#   rpm        rpm -qlp and an unpack: file list, config, scriptlets, man pages, and the
#              unpacked daemon answers /readyz and stops on SIGTERM
# Needs root (dpkg -i, unshare). Every wait is bounded.
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '3,13p' "$0" | cut -c3-; [ -n "${1:-}" ]; exit $?;; esac
cd "$(dirname "$0")/.."
OUT=$(pwd)/packaging/out
VERSION=$(sed -n "s/^ *version : '\([^']*\)'.*/\1/p" meson.build | head -n 1)
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
pass() { echo "package-test: ok: $*"; }

# readyz_in_netns CMD... runs CMD in a new network namespace with only loopback up, waits
# (at most 15 s) for /readyz on 127.0.0.1:5301 to answer 200, sends SIGTERM and returns
# the daemon's exit status.
readyz_in_netns() {
    unshare -n bash -c '
        ip link set lo up
        "$@" >/tmp/package-test-daemon.log 2>&1 &
        pid=$!
        for _ in $(seq 150); do
            code=$(curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:5301/readyz || true)
            [ "$code" = 200 ] && break
            kill -0 $pid 2>/dev/null || break
            sleep 0.1
        done
        [ "$code" = 200 ] || { echo "readyz answered ${code:-nothing}" >&2; kill $pid 2>/dev/null; wait $pid; exit 10; }
        kill -TERM $pid
        wait $pid' _ "$@"
}

case "$1" in
deb)
    arch=$(dpkg --print-architecture)
    deb=$OUT/svc-dht_${VERSION}_$arch.deb
    [ -f "$deb" ] || fail "no $deb (make deb first)"
    had_user=false
    getent passwd svc-dht >/dev/null && had_user=true
    dpkg -s svc-dht >/dev/null 2>&1 && fail "svc-dht is already installed here; this test would disturb it"
    trap 'dpkg -P svc-dht >/dev/null 2>&1 || true; [ $had_user = true ] || userdel svc-dht 2>/dev/null || true' EXIT
    dpkg -i "$deb" >/dev/null
    pass "dpkg -i $deb"
    for f in /usr/bin/svc-dht /etc/svc-dht/svc-dht.conf /lib/systemd/system/svc-dht.service \
             /usr/lib/sysusers.d/svc-dht.conf /usr/lib/tmpfiles.d/svc-dht.conf \
             /usr/share/man/man8/svc-dht.8.gz /usr/share/man/man5/svc-dht.conf.5.gz \
             /usr/share/doc/svc-dht/copyright; do
        dpkg -L svc-dht | grep -qx "$f" || fail "$f is not in the package"
        [ -e "$f" ] || fail "$f was not installed"
    done
    pass "file list"
    dpkg-query -W -f='${Conffiles}\n' svc-dht | grep -q '/etc/svc-dht/svc-dht.conf' || fail "the config is not a conffile"
    pass "conffile"
    getent passwd svc-dht >/dev/null || fail "no svc-dht user after install (sysusers)"
    [ -L /etc/systemd/system/multi-user.target.wants/svc-dht.service ] || fail "the unit is not enabled"
    pass "system user and enabled unit"
    for m in svc-dht.8 svc-dht.conf.5; do
        man -l "/usr/share/man/man${m##*.}/$m.gz" 2>/dev/null | grep -q "svc-dht" || fail "man -l $m renders nothing"
    done
    pass "man pages render"
    /usr/bin/svc-dht version | grep -q "$VERSION" || fail "svc-dht version does not say $VERSION"
    pass "svc-dht version"
    exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/svc-dht.service)
    # shellcheck disable=SC2086 # the ExecStart line is words
    status=0; readyz_in_netns $exec_start || status=$?
    [ $status = 0 ] || { cat /tmp/package-test-daemon.log >&2; fail "ExecStart ($exec_start): /readyz or SIGTERM failed ($status)"; }
    pass "ExecStart answers /readyz and stops with 0 on SIGTERM"
    mkdir -p /var/lib/svc-dht && touch /var/lib/svc-dht/identity.key  # state a macronode leaves
    dpkg -r svc-dht >/dev/null
    [ ! -e /usr/bin/svc-dht ] || fail "dpkg -r left the binary"
    [ -e /etc/svc-dht/svc-dht.conf ] || fail "dpkg -r removed the conffile (only purge should)"
    dpkg -P svc-dht >/dev/null
    [ ! -e /etc/svc-dht/svc-dht.conf ] || fail "purge left the conffile"
    [ ! -e /var/lib/svc-dht ] || fail "purge left /var/lib/svc-dht"
    [ ! -e /etc/systemd/system/multi-user.target.wants/svc-dht.service ] || fail "purge left the unit enabled"
    pass "remove keeps the conffile; purge removes it, the state and the enablement"
    ;;
deb-arm64)
    deb=$OUT/svc-dht_${VERSION}_arm64.deb
    [ -f "$deb" ] || fail "no $deb (tools/package.sh deb arm64 first)"
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    dpkg-deb -x "$deb" "$root"
    readelf -h "$root/usr/bin/svc-dht" | grep -q AArch64 || fail "the binary is not aarch64"
    qemu=(qemu-aarch64-static -L /usr/aarch64-linux-gnu)
    "${qemu[@]}" "$root/usr/bin/svc-dht" version | grep -q "$VERSION" || fail "svc-dht version under qemu"
    pass "arm64 svc-dht version under qemu"
    status=0; readyz_in_netns "${qemu[@]}" "$root/usr/bin/svc-dht" run --config "$root/etc/svc-dht/svc-dht.conf" || status=$?
    [ $status = 0 ] || { cat /tmp/package-test-daemon.log >&2; fail "arm64 daemon: /readyz or SIGTERM failed ($status)"; }
    pass "arm64 daemon answers /readyz and stops with 0 under qemu"
    ;;
rpm)
    rpmf=$(ls "$OUT"/svc-dht-"$VERSION"-1.*.rpm 2>/dev/null | head -n 1)
    [ -n "$rpmf" ] || fail "no svc-dht rpm in $OUT (make rpm first)"
    list=$(rpm -qlp "$rpmf" 2>/dev/null)
    for f in /usr/bin/svc-dht /etc/svc-dht/svc-dht.conf /usr/lib/systemd/system/svc-dht.service \
             /usr/lib/sysusers.d/svc-dht.conf /usr/lib/tmpfiles.d/svc-dht.conf; do
        grep -qx "$f" <<<"$list" || fail "$f is not in $rpmf"
    done
    grep -q "^/usr/share/man/man8/svc-dht.8" <<<"$list" || fail "no man page in $rpmf"
    rpm -qp --configfiles "$rpmf" 2>/dev/null | grep -qx /etc/svc-dht/svc-dht.conf || fail "the config is not %config"
    rpm -qp --scripts "$rpmf" 2>/dev/null | grep -q "svc-dht" || fail "no scriptlets for the unit and the user"
    pass "rpm -qlp: file list, %config, scriptlets"
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    (cd "$root" && rpm2cpio "$rpmf" | cpio -idm --quiet)
    "$root/usr/bin/svc-dht" version | grep -q "$VERSION" || fail "the unpacked binary does not run"
    pass "unpacked rpm: svc-dht version"
    for m in "$root"/usr/share/man/man*/svc-dht*; do
        man -l "$m" 2>/dev/null | grep -q "svc-dht" || fail "man -l $m renders nothing"
    done
    pass "unpacked rpm: man pages render"
    status=0; readyz_in_netns "$root/usr/bin/svc-dht" run --config "$root/etc/svc-dht/svc-dht.conf" || status=$?
    [ $status = 0 ] || { cat /tmp/package-test-daemon.log >&2; fail "unpacked rpm daemon: /readyz or SIGTERM failed ($status)"; }
    pass "unpacked rpm: the daemon answers /readyz and stops with 0 on SIGTERM"
    ;;
*) fail "unknown kind '$1' (deb, deb-arm64, rpm)";;
esac
