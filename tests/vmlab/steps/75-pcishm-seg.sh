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
bin=$BUILD/tests/rdmalab/seg_pair
[ -x "$bin" ] || lab_fail "$bin not built (make O=<build> tests)"
dev=$(lab_ivshmem_dev doorbell) || lab_fail "no ivshmem-doorbell device"
echo "adapter 0 pcishm slot=$(basename "$dev") node_id=$NODE_ID" >opensci.conf
export OSCI_CONF=$PWD/opensci.conf OSCI_LOG=${OSCI_LOG:-warn}
unset OSCI_NODE_ID OSCI_HOSTS
[ -c "/dev/osci_ivshmem-$(basename "$dev")" ] || lab_log "no /dev/osci_ivshmem-$(basename "$dev"): the driver polls"
sync_prefix=$LAB_DIR/sync/$STEP.prog
args=(--peer-node "$PEER_NODE_ID" --self-node "$NODE_ID" --sync "$sync_prefix" --iters 20)

if [ "$ROLE" = server ]; then
    "$bin" --role server "${args[@]}" --marker "$OUT/ready-to-die" >"$OUT/server.txt" 2>&1 &
    pid=$!
    i=0
    while [ ! -e "$OUT/ready-to-die" ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            rc=$?
            cat "$OUT/server.txt" >&2
            lab_fail "server exited with $rc before its part was done"
        fi
        i=$((i + 1))
        [ "$i" -le 1200 ] || { kill -9 "$pid"; wait "$pid"; cat "$OUT/server.txt" >&2; lab_fail "server part not done within 120 s"; }
        sleep 0.1
    done
    # Idle CPU of a pcishm node: the server waits to be killed, its segment connected, for 2 s.
    ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
    t0=$(ticks "$pid") && sleep 2 && t1=$(ticks "$pid") &&
        idle=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) * 100 / hz / 2 }') &&
        lab_log "idle node: ${idle}% of a CPU over 2 s (driver timer 50/s and libseg's heartbeats; TCG)" &&
        lab_result "{\"test\":\"pcishm idle node CPU\",\"unit\":\"%\",\"osci\":$idle}"
    kill -9 "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" = 137 ] || lab_fail "server exited with $rc before the SIGKILL"
    lab_log "server SIGKILLed ($(cat "$OUT/ready-to-die"))"
    lab_signal killed
    grep -q ' failed 0$' "$OUT/ready-to-die" || { cat "$OUT/server.txt" >&2; lab_fail "server checks failed: $(cat "$OUT/ready-to-die")"; }
else
    "$bin" --role client "${args[@]}" >"$OUT/client.txt" 2>&1
    rc=$?
    [ "$rc" = 0 ] || { cat "$OUT/client.txt" >&2; lab_fail "client exited with $rc"; }
    lab_log "client passed: $(tail -1 "$OUT/client.txt")"
    # SCI interrupt round trip (median, through the driver) beside step 17's raw doorbell round trip
    # (irq mode, the same guests, this run) when step 17 ran
    med=$(grep -o 'median [0-9.]* ms' "$OUT/client.txt" | head -1 | cut -d' ' -f2)
    raw=$(cat "$LAB_DIR"/results/*/17-ivshmem-wake/irq.txt 2>/dev/null | grep -o 'rtt_us=[0-9.]*' | head -1 | cut -d= -f2)
    if [ -n "$med" ] && [ -n "$raw" ]; then
        rec=$(awk -v m="$med" -v r="$raw" 'BEGIN { printf "{\"test\":\"pcishm SCI interrupt rtt / raw doorbell irq rtt\",\"unit\":\"us\",\"osci\":%.1f,\"raw\":%.1f,\"ratio\":%.3g,\"note\":\"TCG: ratios only\"}", m * 1000, r, m * 1000 / r }')
        lab_result "$rec"
        lab_log "$rec"
    fi
fi
