#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: libseg (the SISCI API) between the guests over the pcishm adapter (docs/pcishm.md): the
# ivshmem-doorbell BAR both guests share, found with libpciaccess, doorbells through kernel/osci_ivshmem
# (step 17-ivshmem-wake loads it; without it the driver polls). tests/rdmalab/seg_pair.c as in step 50:
# the server exports a segment, an interrupt and a data interrupt; the client connects, maps the remote
# segment (load/store through the BAR), SCIMemCpy both ways, a DMA queue both ways, interrupts and data
# interrupts, NOTIFY and a reconnect, every byte checked; then this script SIGKILLs the server's process
# and the client must see CB_LOST (the server's heartbeat stops) and exit 0. Before the kill, the idle
# server's CPU over 2 s is recorded; the client records the interrupt round trip beside step 17's raw
# doorbell round trip (TCG: ratios only).
# vmlab-timeout: 150
. "$VMLAB_LIB"
lab_pcishm_node
export OSCI_LOG=${OSCI_LOG:-warn}
[ -c "/dev/osci_ivshmem-$(basename "$dev")" ] || lab_log "no /dev/osci_ivshmem-$(basename "$dev"): the driver polls"

# Idle CPU of a pcishm node: the server waits to be killed, its segment connected, for 2 s.
idle_cpu() {
    local t0 t1 idle
    ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
    t0=$(ticks "$pid") && sleep 2 && t1=$(ticks "$pid") &&
        idle=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) * 100 / hz / 2 }') &&
        lab_log "idle node: ${idle}% of a CPU over 2 s (driver timer 50/s and libseg's heartbeats; TCG)" &&
        lab_result "{\"test\":\"pcishm idle node CPU\",\"unit\":\"%\",\"osci\":$idle}"
}
lab_seg_pair idle_cpu --peer-node "$PEER_NODE_ID" --self-node "$NODE_ID" --sync "$LAB_DIR/sync/$STEP.prog" --iters 20
[ "$ROLE" = client ] || exit 0
# SCI interrupt round trip (median, through the driver) beside step 17's raw doorbell round trip
# (irq mode, the same guests, this run) when step 17 ran
med=$(grep -o 'median [0-9.]* ms' "$OUT/client.txt" | head -1 | cut -d' ' -f2)
raw=$(cat "$LAB_DIR"/results/*/17-ivshmem-wake/irq.txt 2>/dev/null | grep -o 'rtt_us=[0-9.]*' | head -1 | cut -d= -f2)
if [ -n "$med" ] && [ -n "$raw" ]; then
    rec=$(awk -v m="$med" -v r="$raw" 'BEGIN { printf "{\"test\":\"pcishm SCI interrupt rtt / raw doorbell irq rtt\",\"unit\":\"us\",\"osci\":%.1f,\"raw\":%.1f,\"ratio\":%.3g,\"note\":\"TCG: ratios only\"}", m * 1000, r, m * 1000 / r }')
    lab_result "$rec"
    lab_log "$rec"
fi
