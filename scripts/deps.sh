#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Installs the Debian packages a task needs, when any is missing (as root; otherwise prints the command).
#   scripts/deps.sh          the build, make demo and make check: compiler, rdma-core headers (not with
#                            OSCI_RDMA=no, which make RDMA=no passes), libpciaccess-dev (not with
#                            OSCI_PCISHM=no, which make PCISHM=no passes), cmocka
#   scripts/deps.sh fuzz     make fuzz: clang and its libFuzzer runtime, whichever version the release offers
#   scripts/deps.sh bench    osci-bench's peers (ucx_perftest, perftest) and gnuplot for --plot
#   scripts/deps.sh pkg      dpkg-buildpackage's build dependencies (debian/control) and lintian
# Several may be given: scripts/deps.sh fuzz bench. The vmlab installs its own (tests/vmlab/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "deps: $*" >&2; }
die() { echo "deps: $*" >&2; exit 1; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# The version apt would install, empty when the release has no such package.
candidate() { apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" {print $2}'; }

updated=0
apt_update() {
    [ $updated = 1 ] && return 0
    apt-get update -q >&2
    updated=1
}

need_root() {
    [ "$(id -u)" = 0 ] || die "missing packages and not root; run: sudo apt-get install $*$(case " $* " in
        *" libibverbs-dev "*|*" librdmacm-dev "*) echo " (or build without the rdma driver: make RDMA=no)";; esac)"
}

install_missing() {
    local missing=() p
    for p in "$@"; do installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    need_root "${missing[@]}"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_update
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# clang and libFuzzer: the release's default clang (the "clang" package depends on clang-NN), with the
# runtime package of that version: libclang-rt-NN-dev (LLVM 14 and later), libclang-common-NN-dev before.
fuzz_packages() {
    local nn="" rt
    if [ -z "$(candidate clang)" ]; then
        need_root clang
        apt_update
    fi
    [ -n "$(candidate clang)" ] || die "this release offers no clang package"
    nn=$(apt-cache depends clang 2>/dev/null | sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n1)
    [ -n "$nn" ] || die "cannot tell which clang-NN the clang package installs (apt-cache depends clang)"
    for rt in "libclang-rt-$nn-dev" "libclang-common-$nn-dev"; do
        if [ -n "$(candidate "$rt")" ]; then
            echo clang "$rt"
            return 0
        fi
    done
    die "clang-$nn has no libFuzzer runtime package (libclang-rt-$nn-dev or libclang-common-$nn-dev)"
}

# debian/control's Build-Depends (dpkg-checkbuilddeps names the unmet ones), then lintian.
pkg_deps() {
    install_missing dpkg-dev debhelper lintian
    if ! dpkg-checkbuilddeps debian/control >/dev/null 2>&1; then
        need_root "(the build dependencies of debian/control)"
        say "installing debian/control's build dependencies"
        export DEBIAN_FRONTEND=noninteractive
        apt_update
        apt-get build-dep -y -q --no-install-recommends ./ >&2
    fi
}

# rdma-core's headers, unless the build leaves the rdma driver out (the Makefile passes OSCI_RDMA=no for RDMA=no).
RDMA_PKGS="libibverbs-dev librdmacm-dev"
[ "${OSCI_RDMA:-yes}" = no ] && RDMA_PKGS=""
# libpciaccess's headers (the pcishm driver and INTER_VM's device layer), unless the build leaves it out (make PCISHM=no).
PCI_PKGS="libpciaccess-dev"
[ "${OSCI_PCISHM:-yes}" = no ] && PCI_PKGS=""

[ $# -eq 0 ] && set -- build
for task in "$@"; do
    case $task in
        # shellcheck disable=SC2086
        build) install_missing build-essential pkg-config libcmocka-dev $RDMA_PKGS $PCI_PKGS ;;
        fuzz)
            pkgs=$(fuzz_packages)
            # shellcheck disable=SC2086
            install_missing build-essential $RDMA_PKGS $PCI_PKGS $pkgs
            ;;
        bench) install_missing ucx-utils perftest gnuplot-nox ;;
        pkg) pkg_deps ;;
        *) echo "usage: scripts/deps.sh [build|fuzz|bench|pkg]..." >&2; exit 2 ;;
    esac
done
