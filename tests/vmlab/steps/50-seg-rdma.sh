#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: libseg (the SISCI API) between the guests over the rdma adapter (tests/rdmalab/seg_pair.c).
# Both are OpenSCI nodes on `adapter 0 rdma dev=rxe0`; the server exports a segment, an interrupt
# and a data interrupt; the client connects, checks that SCIMapRemoteSegment is not supported,
# SCIMemCpy both ways, a DMA queue both ways, interrupts and data interrupts, then the server sets
# the segment unavailable with NOTIFY, the client reconnects, and this script SIGKILLs the server:
# the client must see CB_LOST and exit 0. (The link cut is step 51-seg-rdma-cut.) The programs sync through files in the lab's shared dir.
# vmlab-timeout: 150
. "$VMLAB_LIB"
bin=$BUILD/tests/rdmalab/seg_pair
[ -x "$bin" ] || lab_fail "$bin not built (make O=<build> tests)"
lab_rdma_node 18517 mr_chunk=256K
export OSCI_LOG=${OSCI_LOG:-warn}
sync_prefix=$LAB_DIR/sync/$STEP.prog
args=(--peer-node "$PEER_NODE_ID" --self-node "$NODE_ID" --sync "$sync_prefix" --iters 20)

if [ "$ROLE" = server ]; then
    "$bin" --role server "${args[@]}" --marker "$OUT/ready-to-die" &
    pid=$!
    i=0
    while [ ! -e "$OUT/ready-to-die" ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            lab_fail "server exited with $? before its part was done"
        fi
        i=$((i + 1))
        [ "$i" -le 1200 ] || { kill -9 "$pid"; wait "$pid"; lab_fail "server part not done within 120 s"; }
        sleep 0.1
    done
    kill -9 "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" = 137 ] || lab_fail "server exited with $rc before the SIGKILL"
    lab_log "server SIGKILLed ($(cat "$OUT/ready-to-die"))"
    lab_signal killed
    grep -q ' failed 0$' "$OUT/ready-to-die" || lab_fail "server checks failed: $(cat "$OUT/ready-to-die")"
else
    "$bin" --role client "${args[@]}"
    rc=$?
    [ "$rc" = 0 ] || lab_fail "client exited with $rc"
    lab_log "client passed"
fi
