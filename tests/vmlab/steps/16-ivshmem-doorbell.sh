#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: the ivshmem-doorbell device that osci-ivshmem-server serves to both guests' QEMUs. The guests
# have different peer ids (BAR0 IVPosition), share its memory (BAR2), and ring each other: a write of
# (peer << 16) | vector to the Doorbell register raises that vector in the other guest. Without a guest
# driver a raised vector is seen as its pending bit: MSI-X is enabled with the function masked, so the
# device records the interrupt in the PBA (BAR1) instead of sending it.
# vmlab-timeout: 90
. "$VMLAB_LIB"
dev=$(lab_ivshmem_dev doorbell) || lab_fail "no ivshmem-doorbell device (PCI 1af4:1110 with an MSI-X BAR)"
echo 1 >"$dev/enable" 2>/dev/null
lab_log "ivshmem-doorbell at $(basename "$dev"), BAR2 $(stat -c %s "$dev/resource2") bytes"

# dbell CMD [ARGS]: id | mask | write OFF HEX | read OFF | ring PEER VECTOR | pending (the PBA's first word)
dbell() {
    python3 - "$dev" "$@" <<'PY'
import mmap, os, struct, sys
dev, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
def bar(n, size, flags=os.O_RDWR):
    fd = os.open(f"{dev}/resource{n}", flags | os.O_SYNC)
    return mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
def msix_cap(cfg):
    p = cfg[0x34]
    while p:
        if cfg[p] == 0x11:
            return p
        p = cfg[p + 1]
    sys.exit("no MSI-X capability")
if cmd == "id":
    print(memoryview(bar(0, 256)).cast("i")[2])   # one 32-bit load: registers take only those
elif cmd == "ring":
    memoryview(bar(0, 256)).cast("I")[3] = (int(args[0]) << 16) | int(args[1])   # one 32-bit store
elif cmd == "write":
    m = bar(2, 4096); m[int(args[0]):int(args[0]) + 32] = bytes.fromhex(args[1])
elif cmd == "read":
    print(bar(2, 4096)[int(args[0]):int(args[0]) + 32].hex())
elif cmd in ("mask", "pending"):
    with open(f"{dev}/config", "r+b") as f:
        cfg = f.read(256)
        cap = msix_cap(cfg)
        if cmd == "mask":   # command register: memory space + bus master; MSI-X enable + function mask
            f.seek(4); f.write(struct.pack("<H", struct.unpack_from("<H", cfg, 4)[0] | 0x6))
            f.seek(cap + 2); f.write(struct.pack("<H", struct.unpack_from("<H", cfg, cap + 2)[0] | 0xc000))
        else:
            pba = struct.unpack_from("<I", cfg, cap + 8)[0]
            bir, off = pba & 7, pba & ~7
            size = os.stat(f"{dev}/resource{bir}").st_size
            print(memoryview(bar(bir, size)).cast("I")[off // 4])
PY
}

dbell mask || lab_fail "enabling MSI-X (masked) in config space failed"
id=$(dbell id) || lab_fail "reading IVPosition failed"
lab_log "my peer id: $id"
case "$id" in 0 | 1) ;; *) lab_fail "IVPosition $id: expected peer id 0 or 1 from the server" ;; esac
echo "$id" >"$LAB_DIR/sync/$STEP.id.$ROLE"
lab_signal id
lab_wait id 30 || lab_fail "the peer did not report its id"
if [ "$ROLE" = server ]; then peer=$(cat "$LAB_DIR/sync/$STEP.id.client"); else peer=$(cat "$LAB_DIR/sync/$STEP.id.server"); fi
[ "$peer" != "$id" ] || lab_fail "both guests have peer id $id"
[ "$(dbell pending)" = 0 ] || lab_fail "a vector is pending before anybody rang"

token=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
if [ "$ROLE" = server ]; then
    # the server's memory: written here, read there; then the client rings vector 2 here
    dbell write 512 "$token" || lab_fail "writing BAR2 failed"
    echo "$token" >"$LAB_DIR/sync/$STEP.token"
    lab_signal written
    lab_wait rang 30 || lab_fail "the client did not ring"
    for _ in $(seq 1 50); do p=$(dbell pending); [ "$p" = 0 ] || break; sleep 0.1; done
    [ "$p" = 4 ] || lab_fail "pending vectors $p after the client rang vector 2 (want bit 2 only: 4)"
    lab_log "vector 2 raised by the client's doorbell"
    dbell ring "$peer" 3 || lab_fail "ringing the client failed"
    lab_signal rang-back
else
    lab_wait written 30 || lab_fail "the server did not write"
    got=$(dbell read 512) || lab_fail "reading BAR2 failed"
    [ "$got" = "$(cat "$LAB_DIR/sync/$STEP.token")" ] || lab_fail "BAR2 offset 512 holds $got, not the server's token"
    lab_log "the server's token read through the doorbell device's memory"
    dbell ring "$peer" 2 || lab_fail "ringing the server failed"
    lab_signal rang
    lab_wait rang-back 30 || lab_fail "the server did not ring back"
    for _ in $(seq 1 50); do p=$(dbell pending); [ "$p" = 0 ] || break; sleep 0.1; done
    [ "$p" = 8 ] || lab_fail "pending vectors $p after the server rang vector 3 (want bit 3 only: 8)"
    lab_log "vector 3 raised by the server's doorbell"
fi
