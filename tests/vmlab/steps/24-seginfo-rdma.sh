#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: osci-seginfo on each guest while an rdma node runs there (osci-bench's rdma suite between the
# guests, 300 write ping-pongs so the nodes stay up a while). Each side polls `osci-seginfo --json` until its
# own node and the peer's link show up, then checks the rdma fields (device rxe0, port 1, a GID, state
# ACTIVE), its own node (pid, the bench segment) and the peer (link up, its segments not readable from
# here), and keeps the text and JSON output in its results (seginfo.txt, seginfo.json).
# vmlab-timeout: 150
. "$VMLAB_LIB"
bench=$BUILD/bin/osci-bench seginfo=$BUILD/bin/osci-seginfo
[ -x "$bench" ] && [ -x "$seginfo" ] || lab_fail "osci-bench / osci-seginfo not built (make O=<build> all)"
lab_rdma_node 18521
export OSCI_LOG=${OSCI_LOG:-warn}

if [ "$ROLE" = server ]; then
    "$bench" --suite rdma --role server --peer-node "$PEER_NODE_ID" >bench.txt 2>&1 &
    seg=2848     # 0x0B20: the server's segment
else
    # (osci-bench's client retries connecting for 60 s while the server starts)
    "$bench" --suite rdma --role client --peer-node "$PEER_NODE_ID" --json -n rdma.write.bw=20 \
        -n rdma.write.lat=300 -n rdma.read.lat=20 >bench.txt 2>&1 &
    seg=2849     # 0x0B21: the client's segment
fi
pid=$!

# Poll until this node shows with its segment and the peer's link is up (at most 60 s).
ok=0
for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    if "$seginfo" --json >seginfo.json 2>seginfo.err &&
        grep -q "\"node_id\": $PEER_NODE_ID, \"link\": \"up\"" seginfo.json &&
        grep -q "\"segment_id\": $seg, \"node_id\": $NODE_ID" seginfo.json; then
        ok=1
        break
    fi
    sleep 0.2
done
"$seginfo" -v >seginfo.txt 2>&1
src=$?
cat seginfo.txt seginfo.json seginfo.err
cp seginfo.txt seginfo.json "$OUT/" 2>/dev/null
wait "$pid"
rc=$?
[ "$rc" = 0 ] || { cat bench.txt; lab_fail "osci-bench exited with $rc"; }
[ "$ok" = 1 ] || lab_fail "osci-seginfo never showed node $NODE_ID's segment $seg with node $PEER_NODE_ID's link up"
check() { grep -q "$1" seginfo.json || lab_fail "osci-seginfo --json lacks $1"; }
check '"driver": "rdma"'
check '"device": "rxe0"'
check '"port": "1"'
check '"gid": "[0-9a-f:.]*"'
check '"link_state": "ACTIVE"'
check "\"node_id\": $NODE_ID, \"link\": \"up\", \"epoch\": \"0x[0-9a-f]*\", \"pid\": $pid"
check "\"node_id\": $PEER_NODE_ID, \"link\": \"up\", \"epoch\": \"0x[0-9a-f]*\", \"pid\": null.*\"segments\": null"
[ "$src" = 0 ] || [ "$src" = 3 ] || lab_fail "osci-seginfo -v exited with $src"
lab_result "{\"test\":\"seginfo-rdma\",\"ok\":true,\"gid\":\"$(sed -n 's/.*"gid": "\([^"]*\)".*/\1/p' seginfo.json | head -1)\"}"
lab_log "osci-seginfo shows node $NODE_ID (pid $pid) and node $PEER_NODE_ID over rdma"
