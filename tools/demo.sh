#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# make demo: two nodes on the default simntb fabric (no configuration) share a segment, an interrupt and an
# NvSciIpc INTER_CHIP channel. Node A (server) exports a segment; node B (client) connects, writes a pattern and
# interrupts A; A verifies it. Then both open the channel (each node writes its own NvSciIpc config naming the
# other node, under $TMPDIR = this script's temporary directory), B sends 8 frames, A verifies them and answers.
# Then a doca_mmap step (osci-doca, libopensci-buf): node A exports a memory range (export_pci) and writes the
# descriptor to a file, osci-seginfo --desc decodes it, node B imports it (create_from_export), checks A's data
# and writes its own, A verifies it in its own range and stops the export.
# Usage: tools/demo.sh <build-dir>. Builds nothing (make does). Prints "demo: OK" or exits non-zero.
set -u
O=${1:?usage: demo.sh <build-dir>}
BIN=$O/bin/osci-demo
TIMEOUT=${OSCI_DEMO_TIMEOUT:-30}
if [ ! -x "$BIN" ]; then
    echo "demo: $BIN is not built (run: make)" >&2
    exit 1
fi

dir=$(mktemp -d "/tmp/osci-demo.$(printf 'X%.0s' 1 2 3 4 5 6)")   # template: six X
apid=""; bpid=""
cleanup() {
    for p in $apid $bpid; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# How to run the two roles by hand and watch them.
hand() {
    cat <<EOF

demo: to run it by hand, in two terminals (the same OSCI_FABRIC; unset: the fabric "default"):
        $BIN server --timeout 120        # prints "[A] node N on adapter 0"
        $BIN client --node N
      and, while they run, in a third:
        $O/bin/osci-seginfo -v            # the nodes, the segment and its state
        $O/bin/osci-seginfo --fabrics     # the fabrics running on this host
EOF
}

# One short benchmark line: the two paths the demo used, one-way p50 at 64 bytes (osci-bench, a private
# fabric, a few thousand round trips; docs/bench.md for the whole suite).
bench_line() {
    local bench=$O/bin/osci-bench csv pio chip
    [ -x "$bench" ] || return 0
    csv=$(timeout 60 "$bench" -t seg.pio.lat,ipc.chip.lat.poll -s 64 -n 5000 --units us --csv 2>/dev/null) || return 0
    pio=$(printf '%s\n' "$csv" | awk -F, '$1 == "seg.pio.lat" && $7 != "" { print $7 }')
    chip=$(printf '%s\n' "$csv" | awk -F, '$1 == "ipc.chip.lat.poll" && $7 != "" { print $7 }')
    echo
    echo "demo: bench, one-way p50 at 64 B: segment store ${pio:-n/a} us, NvSciIpc INTER_CHIP ${chip:-n/a} us" \
         "(osci-bench -t seg.pio.lat,ipc.chip.lat.poll -s 64 -n 5000; all tests: osci-bench)"
}

echo "demo: node A (server) and node B (client) on fabric '${OSCI_FABRIC:-default}'"
TMPDIR="$dir" timeout -k 2 "$TIMEOUT" "$BIN" server --timeout "$TIMEOUT" > >(tee "$dir/a.log") 2>&1 &
apid=$!

# A prints its node id first; B needs it.
node=""
for _ in $(seq 1 200); do
    node=$(sed -n 's/^\[A\] node \([0-9][0-9]*\) on adapter.*/\1/p' "$dir/a.log" 2>/dev/null | head -n1)
    [ -n "$node" ] && break
    kill -0 "$apid" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$node" ]; then
    wait "$apid"; rc=$?
    echo "demo: FAILED: node A did not start (exit $rc)" >&2
    exit 1
fi

TMPDIR="$dir" timeout -k 2 "$TIMEOUT" "$BIN" client --node "$node" --timeout "$TIMEOUT" > >(tee "$dir/b.log") 2>&1 &
bpid=$!

wait "$bpid"; brc=$?
wait "$apid"; arc=$?
apid=""; bpid=""
sleep 0.1   # let tee flush
# doca_mmap: export on node A, the descriptor through a file, import on node B.
doca_step() {
    local doca=$O/bin/osci-doca a b
    [ -x "$doca" ] || { echo "demo: $doca is not built" >&2; return 1; }
    echo
    echo "demo: doca_mmap: node A exports a memory range, node B imports it from the descriptor file"
    timeout -k 2 "$TIMEOUT" "$doca" export --desc "$dir/mmap.desc" --timeout "$TIMEOUT" > >(tee "$dir/da.log") 2>&1 &
    apid=$!
    for _ in $(seq 1 200); do
        [ -s "$dir/mmap.desc" ] && break
        kill -0 "$apid" 2>/dev/null || break
        sleep 0.05
    done
    "$O/bin/osci-seginfo" --desc "$dir/mmap.desc" || return 1
    timeout -k 2 "$TIMEOUT" "$doca" import --desc "$dir/mmap.desc" --timeout "$TIMEOUT" > >(tee "$dir/db.log") 2>&1
    b=$?
    wait "$apid"; a=$?
    apid=""
    sleep 0.1
    [ $a -eq 0 ] && [ $b -eq 0 ] && grep -q "^\[A\] the importer's .* verified" "$dir/da.log" \
        && grep -q "^\[B\] the exporter's pattern read and verified" "$dir/db.log"
}

if [ $arc -eq 0 ] && [ $brc -eq 0 ] && grep -q '^\[A\] segment .*pattern verified' "$dir/a.log" \
   && grep -q '^\[A\] channel: .* frames received and verified' "$dir/a.log" \
   && grep -q '^\[B\] channel: reply from node' "$dir/b.log" && doca_step; then
    echo "demo: OK"
    hand
    bench_line
    exit 0
fi
[ $arc -eq 124 ] || [ $brc -eq 124 ] && echo "demo: timed out after ${TIMEOUT}s" >&2
echo "demo: FAILED (node A exit $arc, node B exit $brc)" >&2
exit 1
