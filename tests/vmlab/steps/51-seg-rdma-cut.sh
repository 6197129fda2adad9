#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: a cut link under libseg over the rdma adapter (tests/rdmalab/seg_pair.c --mode cut). The
# client connects to the server's segment, takes eth0 (under rxe0) down for 3 s (idle for 1.5 s, then
# a DMA write into the cut), brings it up, and checks that the cut was seen (CB_NOT_OPERATIONAL or
# CB_LOST), that the DMA ended, and that the segment is usable again (OPERATIONAL, or LOST and then
# reconnected). A blackhole route is no cut: rxe's traffic goes on through it. Two rounds: the
# default grace period (1 s: the cut loses the segment, the client reconnects), then OSCI_GRACE_MS=
# 8000 (the cut must give NOT_OPERATIONAL then OPERATIONAL). libseg's heartbeats (OSCI_HEARTBEAT_MS
# 200, timeout 1500) are what notice the idle cut. Both rounds always run; after a failed round each
# side prints its network, QP (the GSI QP's state) and rxe counters.
# vmlab-timeout: 180
. "$VMLAB_LIB"
lab_prog seg_pair
lab_rdma_node 18519 mr_chunk=256K
export OSCI_LOG=${OSCI_LOG:-info}
# What the network and rdma_cm look like here (after a failed round).
diag() {
    lab_log "state after the failed round:"
    { rdma link show; ip addr show eth0; ip route; ip neigh; rdma resource show qp; rdma resource show cm_id;
      grep . /sys/class/infiniband/rxe0/ports/1/hw_counters/*; } 2>&1 |
        sed 's/^/    /'
}
# Both rounds run whatever the first gives; the step fails if either failed.
failed=""
for grace in 1000 8000; do
    lab_log "round with OSCI_GRACE_MS=$grace"
    args=(--mode cut --peer-node "$PEER_NODE_ID" --self-node "$NODE_ID" --sync "$LAB_DIR/sync/$STEP.g$grace.prog")
    if [ "$ROLE" = server ]; then
        OSCI_GRACE_MS=$grace "$bin" --role server "${args[@]}"
        rc=$?
    else
        OSCI_GRACE_MS=$grace "$bin" --role client "${args[@]}" --cut-cmd "ip link set eth0 down" \
            --heal-cmd "ip link set eth0 up"
        rc=$?
        ip link set eth0 up
    fi
    if [ "$rc" != 0 ]; then
        diag
        lab_log "round with OSCI_GRACE_MS=$grace: $ROLE exited with $rc"
        failed="$failed $grace"
    fi
done
[ -z "$failed" ] || lab_fail "$ROLE failed the round(s) with OSCI_GRACE_MS=${failed# }"
lab_log "passed"
