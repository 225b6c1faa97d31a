#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs every package svc-dht needs to build, test, fuzz and benchmark, and on demand
# the tools of one verb: deb (make deb), rpm (make rpm), cross-arm64 (make cross-arm64),
# diagram (make diagram).
# Idempotent and quiet when everything is present; only the package manager speaks
# when something is missing. Debian/Ubuntu (apt) is what CI uses; the Fedora names are
# kept here so a packager on an rpm system has one place to read them from.
#   tools/install-deps.sh [--check] [deb|rpm|cross-arm64|diagram]...
set -eu

# Debian 12 / Ubuntu package names.
DEB_PKGS="build-essential pkg-config meson ninja-build clang-14 libclang-rt-14-dev lld-14
clang-format libuv1-dev node-llhttp libsodium-dev libjansson-dev libtomlplusplus-dev liblmdb-dev
libgtest-dev libbenchmark-dev python3 python3-cbor2 python3-nacl prometheus curl
procps iproute2 time"

# Fedora names for the same things (dnf install ...). llhttp is packaged there as
# llhttp-devel (a real library found through pkg-config), so no source glue is needed.
FEDORA_PKGS="gcc-c++ pkgconf-pkg-config meson ninja-build clang compiler-rt lld
clang-tools-extra libuv-devel llhttp-devel libsodium-devel jansson-devel tomlplusplus-devel lmdb-devel
gtest-devel google-benchmark-devel python3 python3-cbor2 python3-pynacl golang-github-prometheus
curl procps-ng iproute time"

# The tools of one verb, installed only when that verb runs (Debian names).
DEB_GROUP_deb="debhelper dpkg-dev lintian man-db"
DEB_GROUP_rpm="rpm rpmlint cpio"
DEB_GROUP_diagram="graphviz"
# Cross building for aarch64 and running the result under qemu-user. The :arm64 packages
# need the arm64 architecture in dpkg (added on demand); pkgconf:arm64 gives dpkg-buildpackage
# -a arm64 its aarch64-linux-gnu-pkg-config.
DEB_GROUP_cross_arm64="crossbuild-essential-arm64 qemu-user-static pkgconf:arm64 libuv1-dev:arm64
libsodium-dev:arm64 libjansson-dev:arm64 libtomlplusplus-dev:arm64 libgtest-dev:arm64
liblmdb-dev:arm64"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
check_only=false
case "${1:-}" in
    --help|-h)
        echo "usage: tools/install-deps.sh [--check] [deb|rpm|cross-arm64|diagram]..."
        echo "  Installs the build, test and fuzz dependencies (apt, or dnf on Fedora), and"
        echo "  with a group name the tools of that verb too."
        echo "  --check  exit 1 if something is missing, install nothing"
        exit 0;;
    --check) check_only=true; shift;;
esac
for g in "$@"; do
    case "$g" in
        deb) DEB_PKGS="$DEB_PKGS $DEB_GROUP_deb";;
        rpm) DEB_PKGS="$DEB_PKGS $DEB_GROUP_rpm";;
        diagram) DEB_PKGS="$DEB_PKGS $DEB_GROUP_diagram";;
        cross-arm64)
            DEB_PKGS="$DEB_PKGS $DEB_GROUP_cross_arm64"
            if command -v dpkg >/dev/null 2>&1 && ! dpkg --print-foreign-architectures | grep -qx arm64; then
                [ "$check_only" = true ] && { echo "missing: dpkg architecture arm64" >&2; exit 1; }
                $SUDO dpkg --add-architecture arm64
                NEED_UPDATE=1
            fi;;
        *) echo "install-deps: unknown group '$g' (deb, rpm, cross-arm64, diagram)" >&2; exit 2;;
    esac
done

if command -v dpkg-query >/dev/null 2>&1; then
    missing=""
    for p in $DEB_PKGS; do
        st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$st" in
            *"install ok installed"*) ;;
            *) missing="$missing $p" ;;
        esac
    done
    [ -z "$missing" ] && exit 0
    if [ "$check_only" = true ]; then
        echo "missing packages:$missing" >&2
        exit 1
    fi
    echo "install-deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    [ -n "${NEED_UPDATE:-}" ] && $SUDO apt-get update -q >/dev/null
    # Refresh the package lists only when an install fails on stale ones.
    # shellcheck disable=SC2086
    if ! $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null; then
        $SUDO apt-get update -q >/dev/null
        $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
    fi
    exit 0
fi

if command -v dnf >/dev/null 2>&1; then
    missing=""
    for p in $FEDORA_PKGS; do
        rpm -q "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    [ -z "$missing" ] && exit 0
    if [ "$check_only" = true ]; then
        echo "missing packages:$missing" >&2
        exit 1
    fi
    # shellcheck disable=SC2086
    $SUDO dnf install -y -q $missing
    exit 0
fi

echo "install-deps: neither apt nor dnf found; install by hand:" >&2
echo "  $DEB_PKGS" >&2
exit 1
