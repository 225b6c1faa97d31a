#!/bin/bash
# SPDX-License-Identifier: MIT
# usage: tools/package.sh deb [amd64|arm64] | rpm
# Builds the packages from the tree as it is checked out (tracked files and new files
# that are not ignored; never build/ or other local output), into packaging/out/:
#   deb        svc-dht_<version>_<arch>.deb and libsvcdht-dev_..., then lintian on them
#              (arm64: cross-built with dpkg-buildpackage -a arm64, tests off)
#   rpm        svc-dht-<version>-1.<arch>.rpm from packaging/rpm/svc-dht.spec, then rpmlint
# The tools each needs are installed on demand (tools/install-deps.sh deb|rpm|cross-arm64).
# NOCHECK=1 builds without the test programs and skips the packages' own test runs
# (CI does, having run every test on the same tree already).
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '3,12p' "$0" | cut -c3-; [ -n "${1:-}" ]; exit $?;; esac
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/packaging/out
VERSION=$(sed -n "s/^ *version : '\([^']*\)'.*/\1/p" meson.build | head -n 1)
kind=$1
arch=${2:-$(dpkg --print-architecture 2>/dev/null || uname -m)}

# stage DIR copies the source tree into DIR: what git tracks, plus new files git does not
# ignore, so a package is built from exactly the sources a commit would hold.
stage() {
    rm -rf "$1"
    mkdir -p "$1"
    git ls-files -z --cached --others --exclude-standard |
        (while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
        tar -c --null -T - -f - | tar -x -C "$1"
}

mkdir -p "$OUT"
case "$kind" in
deb)
    groups=deb
    [ "$arch" = arm64 ] && [ "$(dpkg --print-architecture)" != arm64 ] && groups="deb cross-arm64"
    # shellcheck disable=SC2086 # the groups are words
    tools/install-deps.sh $groups
    src=$OUT/build-deb-$arch/svc-dht-$VERSION
    stage "$src"
    cp -r packaging/debian "$src/debian"
    cp packaging/systemd/svc-dht.sysusers "$src/debian/svc-dht.sysusers"
    cp packaging/systemd/svc-dht.tmpfiles "$src/debian/svc-dht.tmpfiles"
    flags="-us -uc -b"
    profiles=""
    [ -n "${NOCHECK:-}" ] && profiles=nocheck
    [ "$arch" != "$(dpkg --print-architecture)" ] && { flags="$flags -a $arch"; profiles=cross,nocheck; }
    if [ -n "$profiles" ]; then
        flags="$flags -P$profiles"
        export DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}"
    fi
    # shellcheck disable=SC2086
    (cd "$src" && dpkg-buildpackage $flags >"$OUT/build-deb-$arch.log" 2>&1) || {
        tail -n 40 "$OUT/build-deb-$arch.log" >&2
        echo "package: dpkg-buildpackage failed; the whole log is $OUT/build-deb-$arch.log" >&2
        exit 1
    }
    for f in "$src"/../*.deb; do mv "$f" "$OUT/"; done
    debs="$OUT/svc-dht_${VERSION}_$arch.deb $OUT/libsvcdht-dev_${VERSION}_$arch.deb"
    echo "package: built $debs"
    # Errors fail the build; the warnings that remain are explained in packaging/README.md.
    # shellcheck disable=SC2086
    lintian --fail-on error --suppress-tags-from-file packaging/lintian-suppress $debs
    ;;
rpm)
    tools/install-deps.sh rpm
    top=$OUT/build-rpm
    rm -rf "$top"
    mkdir -p "$top/SOURCES" "$top/SPECS"
    stage "$top/svc-dht-$VERSION"
    tar -C "$top" -czf "$top/SOURCES/svc-dht-$VERSION.tar.gz" "svc-dht-$VERSION"
    cp packaging/rpm/svc-dht.spec "$top/SPECS/"
    cp packaging/systemd/svc-dht.sysusers "$top/SOURCES/"
    # Debian's rpm lacks the distribution's meson and systemd macros: load stand-ins.
    load=()
    [ "$(rpm --eval '%{?meson:yes}')" = yes ] || load=(--load "$ROOT/packaging/rpm/macros.fallback")
    [ -n "${NOCHECK:-}" ] && load+=(--without check)
    rpmbuild -bb --define "_topdir $top" --nodeps "${load[@]}" "$top/SPECS/svc-dht.spec" \
        >"$OUT/build-rpm.log" 2>&1 || {
        tail -n 40 "$OUT/build-rpm.log" >&2
        echo "package: rpmbuild failed; the whole log is $OUT/build-rpm.log" >&2
        exit 1
    }
    find "$top/RPMS" -name '*.rpm' -exec mv {} "$OUT/" \;
    echo "package: built $(ls "$OUT"/*.rpm)"
    rpmlint -c packaging/rpm/rpmlint.toml "$OUT"/*svc*.rpm
    ;;
*) echo "package: unknown kind '$kind' (deb or rpm)" >&2; exit 2;;
esac
