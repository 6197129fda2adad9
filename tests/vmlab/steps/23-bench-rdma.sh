#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: osci-bench's rdma suite between the guests, right after perftest (steps 20-22), with the same
# sizes and iteration counts, and the ratios against perftest's figures of this run:
#   rdma.write.bw  (64 KiB, MB/s)          / ib_write_bw  average MB/s       target >= 0.9
#   rdma.write.lat (8 B, one-way p50)      / ib_write_lat t_typical          target <= 1.2
#   rdma.read.lat  (8 B, one read, p50)    / ib_read_lat  t_typical          target <= 1.2
# The client records one result per ratio ({"test", "osci", "perftest", "ratio", "target", "met"})
# and writes osci-bench's JSON with a "perftest" array added to bench-rdma.json. A missed target is
# reported, not failed; the step fails when osci-bench cannot run.
# vmlab-timeout: 120
. "$VMLAB_LIB"
bin=$BUILD/bin/osci-bench
[ -x "$bin" ] || lab_fail "$bin not built (make O=<build> all)"
lab_rdma_node 18519
export OSCI_LOG=${OSCI_LOG:-warn}

# perftest's record of TOOL in this run (written by the client of steps 20-22), or nothing.
perf_rec() {
    local f
    for f in "$LAB_DIR"/results/*/2[0-2]-*/results.jsonl; do
        [ -f "$f" ] && grep -h "\"test\":\"$1\"" "$f"
    done | head -1
}
# num KEY: the number after "KEY": in the JSON text on stdin (the first one).
num() { sed -n "s/.*\"$1\": *\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p" | head -1; }

if [ "$ROLE" = server ]; then
    "$bin" --suite rdma --role server --peer-node "$PEER_NODE_ID" >server.txt 2>&1
    rc=$?
    cat server.txt
    [ "$rc" = 0 ] || lab_fail "osci-bench rdma server exited with $rc"
    lab_log "server done"
    exit 0
fi

# The same iteration counts as perftest in this run (its defaults when a record is missing).
bw_rec=$(perf_rec ib_write_bw) wl_rec=$(perf_rec ib_write_lat) rl_rec=$(perf_rec ib_read_lat)
it_bw=$(num iters <<<"$bw_rec") it_wl=$(num iters <<<"$wl_rec") it_rl=$(num iters <<<"$rl_rec")
t0=$(date +%s.%N)
"$bin" --suite rdma --role client --peer-node "$PEER_NODE_ID" --json \
    -n "rdma.write.bw=${it_bw:-200}" -n "rdma.write.lat=${it_wl:-100}" -n "rdma.read.lat=${it_rl:-200}" \
    >bench.json 2>client.err
rc=$?
cat bench.json client.err
lab_log "osci-bench client: exit $rc in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
[ "$rc" = 0 ] || lab_fail "osci-bench rdma client exited with $rc"
grep -q '"error"' bench.json && lab_fail "an osci-bench rdma test failed (see above)"

path=$(sed -n 's/.*"path": "\([a-z]*\)".*/\1/p' bench.json | head -1)
row() { grep "\"test\": \"$1\"" bench.json | head -1; }
osci_bw=$(row rdma.write.bw | num bw_MBps)
# lat_p50 TEST: p50 inside the test's "lat_ns" object (rtt_ns follows it on the same line)
lat_p50() { row "$1" | sed -n 's/.*"lat_ns": {\([^}]*\)}.*/\1/p' | num p50; }
osci_wl=$(lat_p50 rdma.write.lat)
osci_rl=$(lat_p50 rdma.read.lat)
perf_bw=$(num bw_MBps <<<"$bw_rec")
# perftest latencies are in microseconds: t_typical is its median (one-way for write, a read for read).
perf_wl=$(num lat_us_typical <<<"$wl_rec")
perf_rl=$(num lat_us_typical <<<"$rl_rec")

# compare NAME OSCI PERFTEST SCALE OP TARGET UNIT: one result record; ratio = osci / (perftest * scale).
compare() {
    local rec
    rec=$(awk -v n="$1" -v o="$2" -v p="$3" -v s="$4" -v op="$5" -v t="$6" -v u="$7" -v path="$path" 'BEGIN {
        ov = (o == "") ? "null" : o; pv = (p == "") ? "null" : sprintf("%.3f", p * s)
        if (o == "" || p == "" || p * s <= 0) { r = "null"; met = "null" }
        else { x = o / (p * s); r = sprintf("%.4g", x); met = (op == ">=" ? x >= t : x <= t) ? "true" : "false" }
        printf "{\"test\":\"%s\",\"unit\":\"%s\",\"osci\":%s,\"perftest\":%s,\"ratio\":%s,\"target\":\"%s %s\",\"met\":%s,\"osci_path\":\"%s\"}", n, u, ov, pv, r, op, t, met, path }')
    lab_result "$rec"
    lab_log "$rec" >&2
    echo "$rec"
}
{
    compare "rdma.write.bw/ib_write_bw@65536" "$osci_bw" "$perf_bw" 1 ">=" 0.9 MB/s
    compare "rdma.write.lat/ib_write_lat@8" "$osci_wl" "$perf_wl" 1000 "<=" 1.2 ns
    compare "rdma.read.lat/ib_read_lat@8" "$osci_rl" "$perf_rl" 1000 "<=" 1.2 ns
} >ratios.jsonl
[ -n "$perf_bw" ] && [ -n "$perf_wl" ] && [ -n "$perf_rl" ] ||
    lab_log "some perftest figures are missing (steps 20-22 did not record them): those ratios are null"
# bench-rdma.json: osci-bench's object with the perftest comparison added.
{
    sed '$d' bench.json | sed '$s/$/,/'
    echo '  "perftest": ['
    sed 's/^/    /; $!s/$/,/' ratios.jsonl
    echo '  ]'
    echo '}'
} >bench-rdma.json
lab_log "combined figures in $OUT/bench-rdma.json"
