#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: doorbells that wake a sleeping waiter. Both guests load kernel/osci_ivshmem (built by
# kernel/build.sh for the guest kernel), which binds the ivshmem-doorbell device's MSI-X vectors to
# /dev/osci_ivshmem-<bdf>. Then (tests/rdmalab/ivshmem_wake.c): an idle waiter asleep in poll() for 2 s
# wakes 0 times; a 300-round ping-pong where each side sleeps until the other rings it (mode irq), and the
# same ping-pong spinning on the shared words (mode spin), every number checked. The figures are reported
# as a ratio (irq / spin round trip) with each side's CPU time: under TCG only ratios mean anything.
# vmlab-timeout: 120
. "$VMLAB_LIB"
lab_prog ivshmem_wake
lab_ivshmem_load
[ "$(stat -c %a "$node")" = 600 ] || lab_fail "$node has mode $(stat -c %a "$node"), not 0600"
lab_log "$node: $(dmesg | grep -o 'osci_ivshmem-[^ ]*: [0-9]* MSI-X vectors' | tail -1)"
plain=$(lab_ivshmem_dev) && [ -e "$plain/driver" ] && lab_fail "the module bound the ivshmem-plain device too"

lab_ivshmem_ids

out=$("$bin" "$dev" idle 2) || lab_fail "idle waiter: $out"
lab_log "$out"
lab_signal idle-done
lab_wait idle-done 30 || lab_fail "the peer's idle waiter failed"

for mode in irq spin; do
    out=$("$bin" "$dev" "$side" "$peer" "$mode" 300) || lab_fail "ping-pong ($mode): $out"
    lab_log "$out"
    echo "$out" >"$OUT/$mode.txt"
    lab_signal "$mode-done"
    lab_wait "$mode-done" 60 || lab_fail "the peer's $mode ping-pong failed"
done
if [ "$ROLE" = server ]; then
    irq=$(grep -o 'rtt_us=[0-9.]*' "$OUT/irq.txt" | cut -d= -f2)
    spin=$(grep -o 'rtt_us=[0-9.]*' "$OUT/spin.txt" | cut -d= -f2)
    lab_log "round trip: irq / spin = $(awk -v a="$irq" -v b="$spin" 'BEGIN { printf "%.1f", a / b }') (TCG: ratios only)"
    lab_result "{\"step\":\"$STEP\",\"irq_rtt_us\":$irq,\"spin_rtt_us\":$spin}"
fi
