#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Builds OpenSCI's kernel modules (kernel/*/) for the lab's guest kernel, against Debian's headers for it,
# which are fetched with apt-get download and unpacked under WORK (never installed on the host).
# Usage: bash kernel/build.sh WORK KERNEL-VERSION    -> WORK/kmod/<module>.ko
# Rebuilds only when a module's sources change.
set -euo pipefail
WORK=$1
KV=$2
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { echo "kernel/build.sh: $*"; }
die() { echo "kernel/build.sh: error: $*" >&2; exit 1; }

HDR=$WORK/kheaders/usr/src/linux-headers-$KV
if [ ! -f "$HDR/Makefile" ]; then
    deps() { apt-cache depends "linux-headers-$KV" 2>/dev/null | awk '/Depends: linux-(headers-.*-common|kbuild-)/ {print $2}'; }
    pkgs=$(deps)
    if [ -z "$pkgs" ]; then
        say "apt-cache knows no linux-headers-$KV; running apt-get update"
        apt-get update -q >/dev/null || die "apt-get update failed"
        pkgs=$(deps)
    fi
    [ -n "$pkgs" ] || die "apt-cache knows no linux-headers-$KV"
    pkgs="$pkgs linux-headers-$KV"
    say "fetching $(echo $pkgs)"
    rm -rf "$WORK/kheaders" "$WORK/kdebs"
    mkdir -p "$WORK/kheaders" "$WORK/kdebs"
    # shellcheck disable=SC2086
    (cd "$WORK/kdebs" && apt-get download $pkgs >download.log 2>&1) || { cat "$WORK/kdebs/download.log" >&2; die "apt-get download failed"; }
    for d in "$WORK"/kdebs/*.deb; do dpkg-deb -x "$d" "$WORK/kheaders"; done
    # The unpacked tree names its -common and kbuild folders by absolute /usr/src and /usr/lib paths.
    common=$(cd "$WORK/kheaders/usr/src" && ls -d linux-headers-*-common | head -1)
    sed -i "s#/usr/src/$common#$WORK/kheaders/usr/src/$common#g" "$HDR/Makefile"
    for l in "$HDR"/scripts "$HDR"/tools; do
        [ -L "$l" ] || continue
        t=$(readlink "$l")
        case "$t" in /*) ln -sfn "$WORK/kheaders$t" "$l" ;; esac
    done
    [ -f "$HDR/Makefile" ] || die "no $HDR/Makefile after unpacking"
fi

mkdir -p "$WORK/kmod"
for dir in "$SRC"/*/; do
    [ -f "$dir/Kbuild" ] || continue
    mod=$(basename "$dir")
    sum=$(cat "$dir"/* | md5sum | cut -d' ' -f1)
    [ -f "$WORK/kmod/$mod.ko" ] && [ "$(cat "$WORK/kmod/$mod.sum" 2>/dev/null)" = "$sum" ] && continue
    say "building $mod for $KV"
    rm -rf "$WORK/kmod/$mod"
    cp -r "$dir" "$WORK/kmod/$mod"
    # not our make's variables (O= would be kbuild's output folder)
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$HDR" M="$WORK/kmod/$mod" CONFIG_DEBUG_INFO_BTF_MODULES= modules >"$WORK/kmod/$mod.log" 2>&1 ||
        { cat "$WORK/kmod/$mod.log" >&2; die "building $mod failed"; }
    cp "$WORK/kmod/$mod/$mod.ko" "$WORK/kmod/$mod.ko"
    echo "$sum" >"$WORK/kmod/$mod.sum"
done
