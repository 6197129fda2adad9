#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Prepare the two-host QEMU lab: host packages, the guest kernel (bookworm 6.12, unpacked, not
# installed) and an initramfs (busybox-static, the modules soft-RoCE and 9p need, the guest init).
# Idempotent: everything is cached under tests/vmlab/work/ and rebuilt only when an input changes.
# Usage: bash tests/vmlab/setup.sh            (prints the cached paths when done)
set -euo pipefail

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${VMLAB_WORK:-$LAB/work}
KMETA=${VMLAB_KERNEL_META:-linux-image-6.12-amd64}
# Modules loaded in the guest (their dependencies are added by modprobe --show-depends).
# rdma_rxe computes its ICRC through the crypto API ("crc32"), served by crc32_pclmul or crc32_generic.
MODULES="virtio_net 9pnet_virtio 9p crc32_generic crc32_pclmul rdma_rxe ib_uverbs rdma_ucm ib_umad ${VMLAB_EXTRA_MODULES:-}"

say() { echo "vmlab-setup: $*"; }
die() { echo "vmlab-setup: error: $*" >&2; exit 1; }

mkdir -p "$WORK"
exec 9>"$WORK/.setup.lock"
flock 9

# ---- host packages ----
# command -> Debian package providing it
declare -A NEED=(
    [qemu-system-x86_64]=qemu-system-x86 [depmod]=kmod [modprobe]=kmod [cpio]=cpio
    [ibv_devinfo]=ibverbs-utils [rping]=rdmacm-utils [ib_write_bw]=perftest [rdma]=iproute2
    [ip]=iproute2 [ss]=iproute2 [xz]=xz-utils [zstd]=zstd [timeout]=coreutils [gzip]=gzip
    [dpkg-deb]=dpkg [apt-get]=apt
)
missing=()
for c in "${!NEED[@]}"; do
    command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$c" >/dev/null 2>&1 ||
        missing+=("${NEED[$c]}")
done
# busybox must be the static build: it is the guest's only binary before /usr is mounted.
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed"; then
    missing+=(busybox-static)
fi
# libibverbs' rxe provider lives in rdma-core's package set (ibverbs-providers).
[ -e /etc/libibverbs.d/rxe.driver ] || missing+=(ibverbs-providers rdma-core)
if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        die "missing packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
    fi
    say "installing ${missing[*]}"
    apt-get update -q >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
fi
export PATH=$PATH:/usr/sbin:/sbin

# ---- guest kernel: fetch the deb, unpack it, never install it ----
kpkg=""
if [ -s "$WORK/kernel.pkg" ]; then kpkg=$(cat "$WORK/kernel.pkg"); fi
if [ -z "$kpkg" ] || [ ! -d "$WORK/kernel/lib/modules" ]; then
    kpkg=$(apt-cache depends "$KMETA" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
    if [ -z "$kpkg" ]; then
        say "apt-cache knows no $KMETA; running apt-get update"
        apt-get update -q >/dev/null || die "apt-get update failed"
        kpkg=$(apt-cache depends "$KMETA" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
    fi
    [ -n "$kpkg" ] || die "cannot resolve $KMETA to a kernel package (apt-cache depends $KMETA)"
    say "fetching $kpkg"
    rm -rf "$WORK/debs" "$WORK/kernel"
    mkdir -p "$WORK/debs" "$WORK/kernel"
    (cd "$WORK/debs" && apt-get download "$kpkg" >/dev/null 2>"$WORK/debs/download.log") ||
        { cat "$WORK/debs/download.log" >&2; die "apt-get download $kpkg failed"; }
    dpkg-deb -x "$WORK"/debs/*.deb "$WORK/kernel" || die "dpkg-deb -x failed"
    echo "$kpkg" >"$WORK/kernel.pkg"
fi
KV=$(ls "$WORK/kernel/lib/modules" | head -1)
[ -n "$KV" ] && [ -f "$WORK/kernel/boot/vmlinuz-$KV" ] || die "unpacked kernel is incomplete; rm -rf $WORK/kernel"
[ -f "$WORK/kernel/lib/modules/$KV/modules.dep" ] || depmod -b "$WORK/kernel" "$KV"
grep -q '^CONFIG_RDMA_RXE=[ym]' "$WORK/kernel/boot/config-$KV" || die "kernel $KV has no CONFIG_RDMA_RXE"

# ---- OpenSCI's kernel modules (kernel/) for that kernel ----
bash "$LAB/../../kernel/build.sh" "$WORK" "$KV" || die "building the kernel modules failed"

# ---- initramfs ----
# Rebuilt when any input changes: this script, the guest init, the kernel, the module list,
# busybox and the host's dynamic-loader cache (copied in so the host /usr works in the guest).
inputs=$( {
    cat "$LAB/setup.sh" "$LAB/guest/init"
    echo "$KV $MODULES"
    md5sum /bin/busybox /etc/ld.so.cache
    cat /etc/libibverbs.d/*.driver
} | md5sum | cut -d' ' -f1)
if [ -f "$WORK/initramfs.img" ] && [ "$(cat "$WORK/initramfs.stamp" 2>/dev/null)" = "$inputs" ]; then
    :
else
    say "building initramfs for $KV"
    root=$WORK/initramfs-root
    rm -rf "$root"
    mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,lab,usr,etc,root,lib/modules/"$KV"}
    # Debian is merged-/usr: the host's /usr provides libraries and the loader once mounted.
    ln -s usr/lib64 "$root/lib64"
    ln -s /usr/lib/x86_64-linux-gnu "$root/lib/x86_64-linux-gnu"
    cp /bin/busybox "$root/bin/busybox"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
    done
    ln -sf ../bin/busybox "$root/sbin/init"

    kdir=$WORK/kernel/lib/modules/$KV
    mods=$(for m in $MODULES; do
        modprobe -d "$WORK/kernel" -S "$KV" --show-depends "$m" || echo "MISSING $m"
    done)
    if grep -q '^MISSING' <<<"$mods"; then die "modules not found in $KV: $(grep '^MISSING' <<<"$mods" | tr '\n' ' ')"; fi
    while read -r kind path _; do
        [ "$kind" = insmod ] || continue
        rel=${path#"$kdir"/}
        dst=$root/lib/modules/$KV/${rel%.xz}
        dst=${dst%.zst}
        [ -f "$dst" ] && continue
        mkdir -p "$(dirname "$dst")"
        case "$path" in
            *.xz) xz -dc "$path" >"$dst" ;;
            *.zst) zstd -qdc "$path" >"$dst" ;;
            *) cp "$path" "$dst" ;;
        esac
    done <<<"$mods"
    cp "$kdir"/modules.order "$kdir"/modules.builtin "$kdir"/modules.builtin.modinfo "$root/lib/modules/$KV/"
    depmod -b "$root" "$KV"

    cp -a /etc/libibverbs.d "$root/etc/"
    [ -d /etc/rdma ] && cp -a /etc/rdma "$root/etc/"
    cp /etc/ld.so.cache "$root/etc/"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\n' >"$root/etc/group"
    printf '127.0.0.1 localhost\n10.77.0.1 vmlab-a\n10.77.0.2 vmlab-b\n' >"$root/etc/hosts"
    printf 'passwd: files\ngroup: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
    install -m 0755 "$LAB/guest/init" "$root/init"

    (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$WORK/initramfs.img.tmp"
    mv "$WORK/initramfs.img.tmp" "$WORK/initramfs.img"
    echo "$inputs" >"$WORK/initramfs.stamp"
fi
ln -sf "kernel/boot/vmlinuz-$KV" "$WORK/vmlinuz"
echo "$KV" >"$WORK/kernel.version"
say "kernel $WORK/vmlinuz ($KV), initramfs $WORK/initramfs.img ($(du -k "$WORK/initramfs.img" | cut -f1) KiB)"
