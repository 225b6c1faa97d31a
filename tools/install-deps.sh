#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs every package svc-dht needs to build, test, fuzz and benchmark.
# Idempotent and quiet when everything is present; only the package manager speaks
# when something is missing. Debian/Ubuntu (apt) is what CI uses; the Fedora names are
# kept here so a packager on an rpm system has one place to read them from.
set -eu

# Debian 12 / Ubuntu package names.
DEB_PKGS="build-essential pkg-config meson ninja-build clang-14 libclang-rt-14-dev lld-14
clang-format libuv1-dev node-llhttp libsodium-dev libjansson-dev libtomlplusplus-dev
libgtest-dev libbenchmark-dev python3 python3-cbor2 python3-nacl prometheus curl
procps iproute2 time"

# Fedora names for the same things (dnf install ...). llhttp is packaged there as
# llhttp-devel (a real library found through pkg-config), so no source glue is needed.
FEDORA_PKGS="gcc-c++ pkgconf-pkg-config meson ninja-build clang compiler-rt lld
clang-tools-extra libuv-devel llhttp-devel libsodium-devel jansson-devel tomlplusplus-devel
gtest-devel google-benchmark-devel python3 python3-cbor2 python3-pynacl golang-github-prometheus
curl procps-ng iproute time"

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    echo "usage: tools/install-deps.sh [--check]"
    echo "  Installs the build, test and fuzz dependencies (apt, or dnf on Fedora)."
    echo "  --check  exit 1 if something is missing, install nothing"
    exit 0
fi

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
    if [ "${1:-}" = "--check" ]; then
        echo "missing packages:$missing" >&2
        exit 1
    fi
    echo "install-deps: installing$missing" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
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
    if [ "${1:-}" = "--check" ]; then
        echo "missing packages:$missing" >&2
        exit 1
    fi
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    # shellcheck disable=SC2086
    $SUDO dnf install -y -q $missing
    exit 0
fi

echo "install-deps: neither apt nor dnf found; install by hand:" >&2
echo "  $DEB_PKGS" >&2
exit 1
