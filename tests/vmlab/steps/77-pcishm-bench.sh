#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: osci-bench over the pcishm adapter between the guests (docs/pcishm.md), beside the raw figures
# of the same BAR in the same run:
#   rdma.write.bw  (SCIMemCpy 64 KiB into the peer's segment, MB/s) / raw memcpy of 64 KiB into BAR2 at
#                  the server's window (tests/rdmalab/pcishm_raw.c)
#   rdma.write.lat (8 B one-way p50 through the load/store map) x 2 / the raw load/store ping-pong round
#                  trip on BAR2 words (tests/rdmalab/ivshmem_wake.c, mode spin)
# osci-bench's suite is named rdma but runs over any adapter (--adapter 0; it says so on stderr). The
# client records one result per ratio. Under TCG only the ratios mean anything (the step says so); a
# ratio is reported, never failed; the step fails when a program cannot run or a check fails.
# vmlab-timeout: 240
. "$VMLAB_LIB"
bench=$BUILD/bin/osci-bench wake=$BUILD/tests/rdmalab/ivshmem_wake raw=$BUILD/tests/rdmalab/pcishm_raw
for b in "$bench" "$wake" "$raw"; do [ -x "$b" ] || lab_fail "$b not built (make O=<build> all tests)"; done
lab_pcishm_node
export OSCI_LOG=${OSCI_LOG:-warn}

# 1. osci-bench over pcishm
if [ "$ROLE" = server ]; then
    "$bench" --suite rdma --role server --peer-node "$PEER_NODE_ID" --adapter 0 >server.txt 2>&1 &
    pid=$!
    # osci-seginfo while the nodes run: the pcishm adapter and the peer's link up (the observe ops)
    seen=0
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        if "$BUILD/bin/osci-seginfo" --json >seginfo.json 2>seginfo.err &&
            grep -q "\"node_id\": $PEER_NODE_ID, \"link\": \"up\"" seginfo.json; then
            seen=1
            "$BUILD/bin/osci-seginfo" -v >seginfo.txt 2>&1
            break
        fi
        sleep 0.2
    done
    [ $seen = 1 ] || "$BUILD/bin/osci-seginfo" -v >seginfo.txt 2>&1
    cat seginfo.txt
    wait "$pid"
    rc=$?
    cat server.txt
    [ "$rc" = 0 ] || lab_fail "osci-bench server exited with $rc"
    [ $seen = 1 ] || lab_fail "osci-seginfo never showed node $PEER_NODE_ID's link up: $(cat seginfo.json seginfo.err)"
    grep -q pcishm seginfo.txt || lab_fail "osci-seginfo does not name the pcishm driver"
else
    "$bench" --suite rdma --role client --peer-node "$PEER_NODE_ID" --adapter 0 --json \
        -n rdma.write.bw=100 -n rdma.write.lat=200 -n rdma.read.lat=100 >bench.json 2>client.err
    rc=$?
    cat bench.json client.err
    [ "$rc" = 0 ] || lab_fail "osci-bench client exited with $rc"
    grep -q '"error"' bench.json && lab_fail "an osci-bench test failed (see above)"
fi
lab_signal bench-done
lab_wait bench-done 120 || lab_fail "the peer's osci-bench failed"

# 2. the raw ping-pong on BAR2 words (no driver open now)
lab_ivshmem_ids
out=$("$wake" "$dev" "$side" "$peer" spin 300) || lab_fail "raw ping-pong: $out"
lab_log "$out"
echo "$out" >"$LAB_DIR/sync/$STEP.spin.$ROLE"
lab_signal spin-done
lab_wait spin-done 60 || lab_fail "the peer's raw ping-pong failed"
[ "$ROLE" = server ] && exit 0

# 3. raw memcpy into the server's window (BAR2 + 6 MiB: docs/pcishm.md), 64 KiB chunks
out=$("$raw" "$dev" 6M 64K 500) || lab_fail "raw memcpy: $out"
lab_log "$out"

num() { sed -n "s/.*\"$1\": *\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p" | head -1; }
row() { grep "\"test\": \"$1\"" bench.json | head -1; }
osci_bw=$(row rdma.write.bw | num bw_MBps)
osci_wl=$(row rdma.write.lat | sed -n 's/.*"lat_ns": {\([^}]*\)}.*/\1/p' | num p50)
raw_bw=$(grep -o 'bw_MBps=[0-9.]*' <<<"$out" | cut -d= -f2)
raw_rtt=$(grep -o 'rtt_us=[0-9.]*' "$LAB_DIR/sync/$STEP.spin.server" | cut -d= -f2)
# ratio NAME OSCI RAW SCALE UNIT: osci / (raw * scale)
ratio() {
    local rec
    rec=$(awk -v n="$1" -v o="$2" -v r="$3" -v s="$4" -v u="$5" 'BEGIN {
        ov = (o == "") ? "null" : o; rv = (r == "") ? "null" : sprintf("%.3f", r * s)
        x = (o == "" || r == "" || r * s <= 0) ? "null" : sprintf("%.4g", o / (r * s))
        printf "{\"test\":\"%s\",\"unit\":\"%s\",\"osci\":%s,\"raw\":%s,\"ratio\":%s,\"note\":\"TCG: ratios only\"}", n, u, ov, rv, x }')
    lab_result "$rec"
    lab_log "$rec"
}
ratio "pcishm SCIMemCpy bw / raw memcpy bw @64K" "$osci_bw" "$raw_bw" 1 MB/s
ratio "pcishm PIO write lat x2 / raw ping-pong rtt @8" "$(awk -v a="$osci_wl" 'BEGIN { if (a != "") print a * 2 }')" "$raw_rtt" 1000 ns
lab_log "TCG: ratios only (the absolute figures are an emulator's)"
