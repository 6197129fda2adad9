#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: the ivshmem-plain device (PCI 1af4:1110) is a shared window between the guests: the server
# writes a random token at offset 0 of BAR2, the client reads it back and answers at offset 4096.
# vmlab-timeout: 60
. "$VMLAB_LIB"
dev=$(lab_ivshmem_dev) || lab_fail "no ivshmem device (PCI 1af4:1110) in the guest"
lab_log "ivshmem at $(basename "$dev"), BAR2 $(stat -c %s "$dev/resource2") bytes"
echo 1 >"$dev/enable" 2>/dev/null
# bar OFFSET [HEX]: read 32 bytes of BAR2 at OFFSET as hex, or write HEX there.
bar() {
    python3 - "$dev/resource2" "$@" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_SYNC)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
off = int(sys.argv[2])
if len(sys.argv) > 3:
    m[off:off + 32] = bytes.fromhex(sys.argv[3])
else:
    print(m[off:off + 32].hex())
PY
}
token=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
if [ "$ROLE" = server ]; then
    bar 0 "$token" || lab_fail "writing BAR2 failed"
    echo "$token" >"$LAB_DIR/sync/$STEP.token"
    lab_signal written
    lab_wait answered 30 || lab_fail "client did not answer"
    want=$(cat "$LAB_DIR/sync/$STEP.answer")
    got=$(bar 4096) || lab_fail "reading BAR2 failed"
    [ "$got" = "$want" ] || lab_fail "offset 4096 holds $got, the client wrote $want"
    lab_log "client's answer read through the shared window"
else
    lab_wait written 30 || lab_fail "server did not write"
    want=$(cat "$LAB_DIR/sync/$STEP.token")
    got=$(bar 0) || lab_fail "reading BAR2 failed"
    [ "$got" = "$want" ] || lab_fail "offset 0 holds $got, the server wrote $want"
    bar 4096 "$token" || lab_fail "writing BAR2 failed"
    echo "$token" >"$LAB_DIR/sync/$STEP.answer"
    lab_signal answered
    lab_log "server's token read through the shared window"
fi
