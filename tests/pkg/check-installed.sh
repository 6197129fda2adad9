#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Compiles and runs a SISCI, an NvSciIpc, a doca_mmap and an NvSciBuf program against an installed OpenSCI,
# found through pkg-config (opensci-seg, opensci-ipc, opensci-buf, opensci-nvscibuf) only.
#   tests/pkg/check-installed.sh system            the system's install (packages or make install PREFIX=/usr):
#                                                  no PKG_CONFIG_* and no LD_LIBRARY_PATH
#   tests/pkg/check-installed.sh DESTDIR [PREFIX]  a staged `make install DESTDIR=... PREFIX=...` (default /usr):
#                                                  pkg-config sees DESTDIR as its sysroot, the programs run with
#                                                  LD_LIBRARY_PATH into it (it is not installed)
# Also checks the layout: headers only under include/opensci, the library files, links and sonames.
# Prints "check-installed: OK" or exits non-zero with the failing step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:?usage: check-installed.sh system | DESTDIR [PREFIX]}
CC=${CC:-cc}
say() { echo "check-installed: $*"; }
die() { echo "check-installed: FAILED: $*" >&2; exit 1; }

ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || "$CC" -print-multiarch 2>/dev/null || true)
if [ "$mode" = system ]; then
    root=""; prefix=/usr
    unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH
else
    root=$(cd "$mode" && pwd); prefix=${2:-/usr}
fi
libdir=$prefix/lib
[ "$prefix" = /usr ] && [ -n "$ma" ] && libdir=$prefix/lib/$ma

if [ -n "$root" ]; then
    # Our .pc files from the staging tree; rdma-core's (libibverbs, librdmacm) from the system.
    export PKG_CONFIG_SYSROOT_DIR=$root
    export PKG_CONFIG_LIBDIR=$root$libdir/pkgconfig:/usr/lib/$ma/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig
    export LD_LIBRARY_PATH=$root$libdir
fi

# ---- layout ----
for h in sisci_api.h nvsciipc.h doca_mmap.h nvscibuf.h; do
    [ -f "$root$prefix/include/opensci/$h" ] || die "$prefix/include/opensci/$h is not installed"
    [ ! -e "$root$prefix/include/$h" ] || die "$prefix/include/$h exists: it would collide with the vendor's SDK"
done
for lib in libsisci libnvsciipc libnvscievent libopensci-buf libnvscibuf; do
    so=$root$libdir/$lib.so.0
    [ -L "$so" ] || die "$libdir/$lib.so.0 is not a link (to the versioned file)"
    real=$(readlink "$so")
    case $real in $lib.so.0.*) ;; *) die "$libdir/$lib.so.0 -> $real, expected $lib.so.0.x.y" ;; esac
    [ -f "$root$libdir/$real" ] || die "$libdir/$real is missing"
    soname=$(objdump -p "$root$libdir/$real" | awk '$1 == "SONAME" {print $2}')
    [ "$soname" = "$lib.so.0" ] || die "$libdir/$real has soname '$soname'"
    if objdump -p "$root$libdir/$real" | grep -Eq '^ *(RPATH|RUNPATH) '; then
        die "$libdir/$real carries a run path"
    fi
done

# ---- build and run ----
work=$(mktemp -d /tmp/osci-check-installed.XXXXXX)
trap 'rm -rf "$work"' EXIT
export OSCI_FABRIC=pkgchk-$$
for t in sisci:opensci-seg nvsciipc:opensci-ipc doca:opensci-buf nvscibuf:opensci-nvscibuf; do
    name=hello_${t%%:*}; pc=${t#*:}
    flags=$(pkg-config --cflags --libs "$pc") || die "pkg-config $pc"
    say "$CC $name.c $flags"
    # shellcheck disable=SC2086
    "$CC" -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$work/$name" "$here/$name.c" $flags ||
        die "$name does not build against the installed $pc"
    if [ "$mode" = system ]; then
        # Resolved by the dynamic loader's default paths, nothing else (/lib is /usr/lib on merged-/usr systems).
        got=$(ldd "$work/$name" | awk '$1 == "libsisci.so.0" {print $3}')
        [ -n "$got" ] && [ "$(readlink -f "$got")" = "$(readlink -f "$libdir/libsisci.so.0")" ] ||
            die "$name does not load libsisci from $libdir: $(ldd "$work/$name")"
    fi
    out=$(timeout 60 "$work/$name") || die "$name exited with $?"
    say "$out"
done
leak=$(ls /dev/shm 2>/dev/null | grep -F "$OSCI_FABRIC" || true)
[ -z "$leak" ] || die "left in /dev/shm: $leak"
say OK
